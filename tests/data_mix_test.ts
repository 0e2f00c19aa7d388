import assert from "node:assert/strict";
import { isProbePosition, mixContexts, mixPattern } from "../lib/data/mix.ts";

/** n contexts of length nCtx where every token of context j is `tag + j` (so the source is visible). */
function contexts(n: number, nCtx: number, tag: number): Int32Array {
  return Int32Array.from({ length: n * nCtx }, (_, i) => tag + Math.floor(i / nCtx));
}

Deno.test("mixPattern follows Algorithm 1: probe at j iff floor((j+1)δh) > floor(jδh)", () => {
  for (const dh of [0, 0.1, 0.25, 1 / 3, 0.5, 0.7, 1]) {
    const p = mixPattern(200, dh);
    for (let j = 0; j < 200; j++) assert.equal(p[j] === 1, isProbePosition(j, dh), `δh=${dh} j=${j}`);
  }
  assert.deepEqual([...mixPattern(8, 0.25)], [0, 0, 0, 1, 0, 0, 0, 1]);
  assert.deepEqual([...mixPattern(4, 0.5)], [0, 1, 0, 1]);
  assert.deepEqual([...mixPattern(3, 0)], [0, 0, 0]);
  assert.deepEqual([...mixPattern(3, 1)], [1, 1, 1]);
  assert.throws(() => mixPattern(3, 1.5), /deltaH must be a number in \[0, 1\], got 1.5/);
  assert.throws(() => mixPattern(3, NaN), /deltaH must be/);
});

Deno.test("mixing is deterministic and evenly interleaved (every prefix holds floor(kδh) probes)", () => {
  const base = contexts(500, 4, 0), probe = contexts(500, 4, 10000);
  for (const dh of [0.01, 0.1, 0.37, 0.9]) {
    const a = mixContexts(base, probe, 4, dh), b = mixContexts(base, probe, 4, dh);
    assert.deepEqual(a, b);
    let seen = 0;
    for (let k = 1; k <= 500; k++) {
      seen += a.fromProbe[k - 1];
      assert.ok(Math.abs(seen - k * dh) <= 1, `δh=${dh}: prefix ${k} has ${seen} probes`);
    }
    // Context j is row j of its source, unchanged.
    for (let j = 0; j < 500; j++) {
      const expected = a.fromProbe[j] ? 10000 + j : j;
      assert.deepEqual([...a.contexts.subarray(j * 4, j * 4 + 4)], [expected, expected, expected, expected]);
    }
  }
});

Deno.test("mixing q' = q gives the base dataset exactly, for every δh", () => {
  const base = contexts(300, 5, 7);
  for (const dh of [0, 0.05, 0.5, 1]) assert.deepEqual(mixContexts(base, base.slice(), 5, dh).contexts, base);
});

Deno.test("the realized probe fraction is δh within 1/N", () => {
  for (const n of [1, 7, 100, 1013]) {
    const base = contexts(n, 2, 0), probe = contexts(n + 50, 2, 5000);
    for (let i = 0; i <= 40; i++) {
      const dh = i / 40 + (i % 3) * 0.0017 * (i < 40 ? 1 : 0);
      const r = mixContexts(base, probe, 2, dh);
      assert.equal(r.contexts.length, n * 2, "min(N, M) contexts");
      assert.ok(Math.abs(r.probeCount / n - dh) <= 1 / n, `N=${n} δh=${dh}: ${r.probeCount}`);
    }
  }
  assert.throws(
    () => mixContexts([1, 2, 3], [1, 2], 2, 0.5),
    /base has 3 tokens, not a whole number of 2-token/,
  );
});
