import assert from "node:assert/strict";
import { bin2d, extent, histogram, linearFit, pearson, StatsError } from "../lib/analysis/stats.ts";

Deno.test("pearson: exact ±1 for linear data, known value for a small hand-computed case", () => {
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [3, 5, 7, 9]) - 1) < 1e-15);
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-15);
  // x = 1,2,3; y = 1,3,2: sxy = 1, sxx = 2, syy = 2 → r = 0.5.
  assert.ok(Math.abs(pearson([1, 2, 3], [1, 3, 2]) - 0.5) < 1e-15);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  assert.throws(() => pearson([1, 2], [1]), StatsError);
});

Deno.test("linearFit: recovers slope and intercept of exact data; equal x is an error", () => {
  const fit = linearFit([0, 1, 2, 3], [1, 3.5, 6, 8.5]);
  assert.ok(Math.abs(fit.slope - 2.5) < 1e-14 && Math.abs(fit.intercept - 1) < 1e-14);
  // Least squares on (0,0), (1,1), (2,1): slope 0.5, intercept 1/6.
  const ls = linearFit([0, 1, 2], [0, 1, 1]);
  assert.ok(Math.abs(ls.slope - 0.5) < 1e-15 && Math.abs(ls.intercept - 1 / 6) < 1e-15);
  assert.throws(() => linearFit([2, 2], [1, 3]), /slope is undefined/);
});

Deno.test("histogram: equal-width bins with the top edge in the last bin; counts sum to the finite values", () => {
  const h = histogram([0, 0.1, 0.5, 0.99, 1, NaN], 2);
  assert.deepEqual(h.map((b) => b.count), [2, 3]);
  assert.deepEqual(h.map((b) => [b.x0, b.x1]), [[0, 0.5], [0.5, 1]]);
  const single = histogram([3, 3, 3], 4);
  assert.equal(single.reduce((a, b) => a + b.count, 0), 3);
  assert.ok(single[0].x1 > single[0].x0);
  assert.throws(() => histogram([1], 0), /bins must be a positive integer/);
});

Deno.test("bin2d: counts land in the right cells and only non-empty cells are returned", () => {
  const cells = bin2d([0, 0.1, 0.9, 1], [0, 0.2, 0.8, 1], 2, 2, [0, 1], [0, 1]);
  assert.deepEqual(cells.map((c) => [c.x0, c.y0, c.count]), [[0, 0, 2], [0.5, 0.5, 2]]);
  assert.equal(bin2d([5], [7], 3, 3).reduce((a, c) => a + c.count, 0), 1);
  assert.deepEqual(extent([3, -1, NaN, 2]), [-1, 3]);
});
