import assert from "node:assert/strict";
import { Rng, RngError } from "../lib/util/random.ts";

Deno.test("Rng.uint32 matches the reference xoshiro128** outputs for state [1,2,3,4]", () => {
  // Outputs of the reference C implementation (prng.di.unimi.it/xoshiro128starstar.c) from s = {1,2,3,4}.
  const rng = Rng.fromState(1, 2, 3, 4);
  const got = Array.from({ length: 6 }, () => rng.uint32());
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

Deno.test("Rng is deterministic from its seed and differs between seeds", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 20 }, () => a.uint32());
  const xb = Array.from({ length: 20 }, () => b.uint32());
  const xc = Array.from({ length: 20 }, () => c.uint32());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  // Seeds beyond 32 bits are not truncated to the same stream.
  assert.notEqual(new Rng(2 ** 40 + 1).uint32(), new Rng(1).uint32());
});

Deno.test("Rng.float stays in [0,1) and is roughly uniform over 10 bins", () => {
  const rng = new Rng(7);
  const bins = new Array(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const x = rng.float();
    assert.ok(x >= 0 && x < 1);
    bins[Math.floor(x * 10)]++;
  }
  // Chi-square with 9 degrees of freedom: 27.9 is the 0.999 quantile.
  const chi2 = bins.reduce((s, b) => s + (b - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi2 < 27.9, `chi2 ${chi2}`);
});

Deno.test("Rng.int covers [0,n) uniformly and rejects bad n", () => {
  const rng = new Rng(3);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[rng.int(7)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `count ${c}`);
  assert.equal(rng.int(1), 0);
  assert.throws(() => rng.int(0), RngError);
  assert.throws(() => rng.int(2.5), RngError);
});

Deno.test("Rng.normal has mean 0 and variance 1", () => {
  const rng = new Rng(11);
  const n = 50_000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    s += x;
    s2 += x * x;
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.03, `variance ${variance}`);
});

Deno.test("Rng.shuffle permutes in place, deterministically", () => {
  const a = Array.from({ length: 50 }, (_, i) => i);
  const b = Int32Array.from(a);
  new Rng(5).shuffle(a);
  new Rng(5).shuffle(b);
  assert.deepEqual(a, Array.from(b));
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i));
});

Deno.test("Rng.fork gives independent named substreams that ignore the parent's draws", () => {
  const parent = new Rng(9);
  const f1 = parent.fork("tokens").uint32();
  parent.uint32();
  parent.uint32();
  assert.equal(parent.fork("tokens").uint32(), f1);
  assert.notEqual(parent.fork("other").uint32(), f1);
  assert.notEqual(parent.fork(1).uint32(), parent.fork("1").uint32());
  assert.notEqual(new Rng(10).fork("tokens").uint32(), f1);
});

Deno.test("Rng.weighted follows the weights and rejects all-zero weights", () => {
  const rng = new Rng(1);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30_000; i++) counts[rng.weighted([1, 0, 2])]++;
  assert.equal(counts[1], 0);
  assert.ok(Math.abs(counts[2] / counts[0] - 2) < 0.1);
  assert.throws(() => rng.weighted([0, 0]), RngError);
  assert.throws(() => new Rng(1.5), RngError);
});
