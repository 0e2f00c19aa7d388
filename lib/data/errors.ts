/**
 * Errors of the data layer. Each names the file, field or flag at fault and what was expected, so a user
 * sees one clear line instead of a stack trace from deep inside a parser.
 */

import { ChiInputError } from "../util/errors.ts";

/** Base class: any failure turning text into token batches. */
export class DataError extends ChiInputError {
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}

/** A tokenizer file or call that cannot be honoured (bad tokenizer.json, unknown id, unsupported option). */
export class TokenizerError extends DataError {
  constructor(message: string) {
    super(message);
    this.name = "TokenizerError";
  }
}

/** A corpus file that cannot be read as the requested format (missing field, wrong type, corrupt file). */
export class ReaderError extends DataError {
  constructor(message: string) {
    super(message);
    this.name = "ReaderError";
  }
}

/** A token shard or context file whose bytes disagree with its metadata, or a bad sampling request. */
export class ShardError extends DataError {
  constructor(message: string) {
    super(message);
    this.name = "ShardError";
  }
}

/** A mixing request that Algorithm 1 (appendix C.4) cannot satisfy. */
export class MixError extends DataError {
  constructor(message: string) {
    super(message);
    this.name = "MixError";
  }
}
