/**
 * Errors of the data layer. Each names the file, field or flag at fault and what was expected, so a user
 * sees one clear line instead of a stack trace from deep inside a parser. Each is named after its class
 * (ChiInputError sets the name).
 */

import { ChiInputError } from "../util/errors.ts";

/** Base class: any failure turning text into token batches. */
export class DataError extends ChiInputError {}

/** A tokenizer file or call that cannot be honoured (bad tokenizer.json, unknown id, unsupported option). */
export class TokenizerError extends DataError {}

/** A corpus file that cannot be read as the requested format (missing field, wrong type, corrupt file). */
export class ReaderError extends DataError {}

/** A token shard or context file whose bytes disagree with its metadata, or a bad sampling request. */
export class ShardError extends DataError {}

/** A mixing request that Algorithm 1 (appendix C.4) cannot satisfy. */
export class MixError extends DataError {}
