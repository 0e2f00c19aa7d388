/**
 * Per-token contexts chosen as in the paper's appendix C.2: the probe dataset's documents in a seeded random
 * order, the first `count` of them, each context starting at its document's first token. (The paper shuffles
 * the tokenized dataset with `datasets.Dataset.shuffle(seed=0)` and takes 160 rows; chi's order comes from its
 * own seeded generator, so the same seed picks other documents than Hugging Face's permutation would.)
 *
 * Contexts have a fixed length T here (the per-token observable evaluates [count, T] rows): a document shorter
 * than T continues into the documents after it in the shard, across the separator, as packed training batches
 * do, where the paper's context would end with its document. Only documents that start at least T tokens before
 * the end of the shard can start a context.
 */

import { ShardError } from "./errors.ts";
import { Rng } from "../util/random.ts";

/** Offsets of the documents of a token stream: 0 and every position right after a separator. */
export function documentStarts(tokens: ArrayLike<number>, separatorId: number | null): number[] {
  const out = tokens.length > 0 ? [0] : [];
  if (separatorId === null) return out;
  for (let i = 0; i < tokens.length - 1; i++) if (tokens[i] === separatorId) out.push(i + 1);
  return out;
}

/** How many documents can start a context of T tokens. */
export function documentContextCount(
  tokens: ArrayLike<number>,
  separatorId: number | null,
  T: number,
): number {
  return documentStarts(tokens, separatorId).filter((s) => s + T <= tokens.length).length;
}

/** `count` contexts [count, T] row-major, from the first `count` documents in a seeded order (module comment). */
export function documentContexts(
  tokens: ArrayLike<number>,
  separatorId: number | null,
  T: number,
  count: number,
  seed: number,
): Int32Array {
  const starts = documentStarts(tokens, separatorId).filter((s) => s + T <= tokens.length);
  if (starts.length < count) {
    throw new ShardError(
      `${count} document contexts of ${T} tokens were asked for, but only ${starts.length} documents start ` +
        `${T} tokens before the end of the stream`,
    );
  }
  const rng = new Rng(seed).fork("documentContexts");
  for (let i = starts.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [starts[i], starts[j]] = [starts[j], starts[i]];
  }
  const out = new Int32Array(count * T);
  for (let c = 0; c < count; c++) {
    for (let t = 0; t < T; t++) out[c * T + t] = tokens[starts[c] + t];
  }
  return out;
}
