import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, storageBuffer } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import { createNormalFill, philoxBlocksGpu } from "./support/noise.ts";
import { boxMuller4, mulhi32, philox4x32, seedKey, sgldNormal } from "../lib/util/philox.ts";
import { uint32s } from "./support/random.ts";

/** Random123's known-answer vectors for Philox4x32-10: counter, key, expected output. */
const KAT: Array<[number[], number[], number[]]> = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [0xffffffff, 0xffffffff],
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  ],
  [
    [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    [0xa4093822, 0x299f31d0],
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  ],
];

const hex = (a: ArrayLike<number>) => Array.from(a, (x) => x.toString(16).padStart(8, "0")).join(" ");

Deno.test("mulhi32: equals the BigInt 64-bit product's high word on edge and random operands", () => {
  const vals = [0, 1, 0xffff, 0x10000, 0xffffffff, 0xD2511F53, 0xCD9E8D57, 0x80000000];
  const next = uint32s(12345);
  for (let i = 0; i < 200; i++) vals.push(next());
  for (const a of vals) {
    for (const b of vals) {
      const want = Number((BigInt(a) * BigInt(b)) >> 32n);
      assert.equal(mulhi32(a, b), want, `mulhi32(${a}, ${b})`);
    }
  }
});

Deno.test("philox4x32 (TS): Random123 known-answer vectors", () => {
  for (const [ctr, key, want] of KAT) {
    const got = philox4x32(ctr, key);
    console.log(`  TS   ${hex(ctr)} / ${hex(key)} → ${hex(got)}`);
    assert.deepEqual([...got], want);
  }
});

Deno.test("philox4x32_10 (WGSL): known-answer vectors bit-exact, 4096 random (counter, key) pairs equal to TS", async () => {
  const gpu = await getGpu();
  const n = KAT.length + 4096;
  const counters = new Uint32Array(4 * n);
  const keys = new Uint32Array(2 * n);
  KAT.forEach(([c, k], i) => {
    counters.set(c, 4 * i);
    keys.set(k, 2 * i);
  });
  // Random inputs from the TS Philox itself (a different stream than anything checked).
  for (let i = KAT.length; i < n; i++) {
    counters.set(philox4x32([i, 1, 2, 3], [7, 7]), 4 * i);
    keys.set(philox4x32([i, 4, 5, 6], [7, 7]).subarray(0, 2), 2 * i);
  }
  const got = await philoxBlocksGpu(gpu, counters, keys);
  KAT.forEach(([c, k, want], i) => {
    console.log(`  WGSL ${hex(c)} / ${hex(k)} → ${hex(got.subarray(4 * i, 4 * i + 4))}`);
    assert.deepEqual([...got.subarray(4 * i, 4 * i + 4)], want);
  });
  let mismatches = 0;
  for (let i = KAT.length; i < n; i++) {
    const want = philox4x32(counters.subarray(4 * i, 4 * i + 4), keys.subarray(2 * i, 2 * i + 2));
    for (let j = 0; j < 4; j++) if (got[4 * i + j] !== want[j]) mismatches++;
  }
  console.log(`  ${4096 * 4} random words: ${mismatches} mismatches`);
  assert.equal(mismatches, 0);
});

Deno.test("philox normals (WGSL fill): element i at step s regenerates on the host; mean≈0, var≈1 over 1e6 draws", async () => {
  const gpu = await getGpu();
  const n = 1 << 20;
  const out = storageBuffer(gpu, "normals", n * 4);
  const seed = 2 ** 40 + 17; // exercises seed_hi
  const stream = 5;
  const step = 123;
  const fill = await createNormalFill(gpu, out, n, { seed, stream });
  fill.setStep(step);
  submitDispatches(gpu, [fill.dispatch]);
  const z = await readF32(gpu, out);
  fill.destroy();
  out.destroy();

  // Host regeneration of every element (f64 Box-Muller on the same bits).
  let maxDiff = 0;
  const key = seedKey(seed);
  const bits = new Uint32Array(4);
  const host = new Float64Array(4);
  for (let b = 0; b < n / 4; b++) {
    boxMuller4(philox4x32([b, step, stream, 0], key, bits), host);
    for (let j = 0; j < 4; j++) maxDiff = Math.max(maxDiff, Math.abs(z[4 * b + j] - host[j]));
  }
  assert.equal(z[12345], Math.fround(z[12345]));
  assert.ok(Math.abs(z[777] - sgldNormal(seed, stream, step, 777)) < 1e-4);

  let s1 = 0, s2 = 0, s4 = 0, lag = 0;
  for (let i = 0; i < n; i++) {
    s1 += z[i];
    s2 += z[i] * z[i];
    s4 += z[i] ** 4;
    if (i > 0) lag += z[i] * z[i - 1];
  }
  const mean = s1 / n, variance = s2 / n - mean * mean, kurt = s4 / n, corr = lag / (n - 1);
  console.log(
    `  GPU vs host max |Δz| = ${maxDiff.toExponential(2)}; over ${n} draws: mean ${mean.toFixed(5)} ` +
      `(SE ${(1 / Math.sqrt(n)).toFixed(5)}), var ${variance.toFixed(5)} (SE ${
        Math.sqrt(2 / n).toFixed(5)
      }), ` +
      `E[z⁴] ${kurt.toFixed(4)} (3), lag-1 corr ${corr.toFixed(5)}`,
  );
  assert.ok(maxDiff < 1e-4, `GPU normals differ from the host regeneration by ${maxDiff}`);
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / n), `variance ${variance}`);
  assert.ok(Math.abs(kurt - 3) < 5 * Math.sqrt(96 / n), `fourth moment ${kurt}`);
  assert.ok(Math.abs(corr) < 5 / Math.sqrt(n), `lag-1 correlation ${corr}`);
});
