/** Per-token contexts chosen as documents (appendix C.2; lib/data/document_contexts.ts). */
import assert from "node:assert/strict";
import { documentContextCount, documentContexts, documentStarts } from "../lib/data/document_contexts.ts";
import { ShardError } from "../lib/data/errors.ts";

// Documents [10 11 12], [20 21], [30 31 32 33], [40], each followed by the separator 0.
const STREAM = [10, 11, 12, 0, 20, 21, 0, 30, 31, 32, 33, 0, 40, 0];

Deno.test("document contexts: documents start at 0 and after each separator", () => {
  assert.deepStrictEqual(documentStarts(STREAM, 0), [0, 4, 7, 12]);
  assert.deepStrictEqual(documentStarts(STREAM, null), [0]);
  assert.deepStrictEqual(documentStarts([], 0), []);
  // With T = 3, the document at 12 starts only 2 tokens before the end.
  assert.equal(documentContextCount(STREAM, 0, 3), 3);
});

Deno.test("document contexts: each row is a document's first T tokens, in a seeded order without repeats", () => {
  const T = 3;
  const rows = (c: Int32Array) =>
    Array.from({ length: c.length / T }, (_, i) => Array.from(c.subarray(i * T, i * T + T)));
  const all = rows(documentContexts(STREAM, 0, T, 3, 7));
  // Every document that fits appears once; a short document runs on into the next one.
  assert.deepStrictEqual([...all].sort((a, b) => a[0] - b[0]), [[10, 11, 12], [20, 21, 0], [30, 31, 32]]);
  assert.deepStrictEqual(rows(documentContexts(STREAM, 0, T, 3, 7)), all, "same seed, same contexts");
  const firsts = new Set<number>();
  for (let seed = 0; seed < 20; seed++) firsts.add(documentContexts(STREAM, 0, T, 1, seed)[0]);
  assert.deepStrictEqual([...firsts].sort(), [10, 20, 30], "the seed chooses among all documents");
  assert.throws(
    () => documentContexts(STREAM, 0, T, 4, 0),
    (e: unknown) => e instanceof ShardError && /only 3/.test(String(e)),
  );
});
