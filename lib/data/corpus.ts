/**
 * Corpus → token shard: what scripts/corpus.ts runs. Reads documents with any reader, tokenizes them with
 * a loaded tokenizer.json or one trained on the first `trainChars` characters of the same input, and
 * streams them into a shard. Everything here is a function of its options, so the CLI stays a thin layer.
 */

import { buildShard } from "./build_shard.ts";
import { DataError } from "./errors.ts";
import { readDocuments, READER_FORMATS, type ReaderFormat } from "./readers/mod.ts";
import type { TextSplit } from "./readers/text.ts";
import { type ShardMeta, shardPaths } from "./shard.ts";
import { loadTokenizer, type Tokenizer, trainBpe } from "./tokenizer.ts";
import { writeTextFileAtomic } from "../util/files.ts";

export interface CorpusOptions {
  input: string;
  format: ReaderFormat;
  field?: string;
  split?: TextSplit;
  /** Use at most this many documents. */
  limit?: number;
  /** Output shard path ("NAME", "NAME.tokens" or "NAME.json"). */
  out: string;
  /** Path of a tokenizer.json to load; exclusive with `train`. */
  tokenizer?: string;
  /** Train a byte-level BPE tokenizer on the input first, and save it to `savePath`. */
  train?: { vocabSize: number; trainChars?: number; savePath?: string };
  onProgress?: (p: { documents: number; tokens: number; chars: number }) => void;
  /** Refuse text or JSONL input with bytes that are not UTF-8 (else they are counted: `invalidUtf8`). */
  strictUtf8?: boolean;
}

export interface CorpusResult {
  meta: ShardMeta;
  tokenizerPath: string;
  tokenizer: Tokenizer;
  /** Byte sequences of the input that were not UTF-8 and became U+FFFD (0 with strictUtf8). */
  invalidUtf8: number;
}

/** Default characters of input a trained tokenizer sees (bounded memory for any input size). */
export const DEFAULT_TRAIN_CHARS = 20_000_000;

async function trainOnInput(opts: CorpusOptions, vocabSize: number, trainChars: number): Promise<Tokenizer> {
  const texts: string[] = [];
  let chars = 0;
  const utf8 = opts.strictUtf8 ? { strict: true, invalid: 0 } : undefined;
  for await (const doc of readDocuments(opts.format, opts.input, { ...opts, utf8 })) {
    texts.push(doc);
    chars += doc.length;
    if (chars >= trainChars) break;
  }
  if (texts.length === 0) throw new DataError(`${opts.input}: no documents to train a tokenizer on`);
  return trainBpe(texts, vocabSize);
}

/** Builds the shard (and the tokenizer when training). */
export async function buildCorpus(opts: CorpusOptions): Promise<CorpusResult> {
  if (!READER_FORMATS.includes(opts.format)) {
    throw new DataError(`format must be one of ${READER_FORMATS.join(", ")}, got "${opts.format}"`);
  }
  if ((opts.tokenizer === undefined) === (opts.train === undefined)) {
    throw new DataError("give exactly one of a tokenizer to load or tokenizer training options");
  }
  let tokenizer: Tokenizer;
  let tokenizerPath: string;
  if (opts.train) {
    const trainChars = opts.train.trainChars ?? DEFAULT_TRAIN_CHARS;
    tokenizer = await trainOnInput(opts, opts.train.vocabSize, trainChars);
    tokenizerPath = opts.train.savePath ??
      shardPaths(opts.out).tokens.replace(/\.tokens$/, ".tokenizer.json");
    await writeTextFileAtomic(tokenizerPath, tokenizer.toHfJson());
  } else {
    tokenizerPath = opts.tokenizer!;
    tokenizer = await loadTokenizer(tokenizerPath);
  }
  const source = `${opts.format}:${opts.input}${opts.field ? ` field=${opts.field}` : ""}` +
    (opts.limit !== undefined ? ` limit=${opts.limit}` : "");
  const utf8 = { strict: opts.strictUtf8 ?? false, invalid: 0 };
  const meta = await buildShard(
    readDocuments(opts.format, opts.input, { ...opts, utf8 }),
    tokenizer,
    opts.out,
    {
      source,
      extra: { tokenizerPath },
      onProgress: opts.onProgress,
    },
  );
  return { meta, tokenizerPath, tokenizer, invalidUtf8: utf8.invalid };
}
