/**
 * Tokenizes a stream of documents into a token shard. The documents may come from any reader (an async
 * iterable) or a generator; only one document and the writer's buffer are held at a time, so the size of
 * the input does not bound memory.
 */

import { type ShardMeta, ShardWriter } from "./shard.ts";
import { ShardError } from "./errors.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface BuildShardOptions {
  /** Description of the input, recorded in the metadata. */
  source: string;
  seed?: number | null;
  /** Facts for the metadata's `extra`; a function is called once the documents are exhausted. */
  extra?: Record<string, unknown> | (() => Record<string, unknown>);
  /** Called every `progressEvery` documents (default 1000) with the counts so far. */
  onProgress?: (p: { documents: number; tokens: number; chars: number }) => void;
  progressEvery?: number;
}

/**
 * Encodes each document with `tokenizer` and appends it (plus "<|endoftext|>" when the tokenizer has it)
 * to the shard at `path`. On error the partial shard is removed and the error is rethrown.
 */
export async function buildShard(
  documents: Iterable<string> | AsyncIterable<string>,
  tokenizer: Tokenizer,
  path: string,
  opts: BuildShardOptions,
): Promise<ShardMeta> {
  const writer = await ShardWriter.create(path, {
    vocabSize: tokenizer.vocabSize,
    tokenizerSha256: tokenizer.hash,
    source: opts.source,
    separatorId: tokenizer.endOfTextId,
    seed: opts.seed ?? null,
  });
  const every = opts.progressEvery ?? 1000;
  let chars = 0;
  try {
    for await (const doc of documents) {
      await writer.writeDocument(tokenizer.encode(doc));
      chars += doc.length;
      if (opts.onProgress && writer.documents % every === 0) {
        opts.onProgress({ documents: writer.documents, tokens: writer.tokens, chars });
      }
    }
    if (writer.tokens === 0) {
      // An empty shard would be taken as valid input later and fail far from its cause.
      throw new ShardError(`${path}: the input gave no documents (nothing to tokenize); no shard written`);
    }
    writer.setExtra({ chars, ...(typeof opts.extra === "function" ? opts.extra() : opts.extra) });
    return await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
