import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readBuffers, storageFrom, upload } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import { ADAMW_DEFAULTS, adamWReference, type AdamWState, createAdamW } from "../lib/model/adamw.ts";
import { rng } from "./support/random.ts";

const U = 2 ** -24;

/**
 * One parameter copy of P = 40 elements: tensors [0, 10) and [12, 37); [10, 12) and [37, 40) are layout
 * padding (always 0 parameters and gradients).
 */
const P = 40;
const isPadding = (i: number) => (i >= 10 && i < 12) || i >= 37;
const C = 2;
/** The updated range starts at OFF; the buffers hold 8 more elements after it, untouched. */
const OFF = 8;
const N = C * P;

/** Gradients over the whole range: mostly O(1), some large, some tiny, some exactly 0; 0 on padding. */
function gradsFor(step: number): Float32Array {
  const r = rng(1000 + step);
  const g = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    if (isPadding(i % P)) continue;
    const u = 2 * r() - 1;
    g[i] = i % 7 === 0 ? 100 * u : i % 11 === 0 ? 1e-6 * u : i % 13 === 0 ? 0 : u;
  }
  return g;
}

function padded(data: ArrayLike<number>): Float32Array {
  const out = new Float32Array(OFF + N + 8).fill(7); // sentinels outside the range
  out.set(Array.from(data), OFF);
  return out;
}

Deno.test("adamw reference: the first step moves each parameter by lr·sign(g) after decay (hand value)", () => {
  // t = 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) ≈ lr·sign(g); decay first: p·(1 − lr·wd).
  const s = adamWReference(
    ADAMW_DEFAULTS,
    { params: Float64Array.of(1), m: Float64Array.of(0), v: Float64Array.of(0) },
    [0.5],
    1,
    1e-3,
  );
  const want = 1 * (1 - 1e-3 * 0.05) - 1e-3 * 0.5 / (0.5 + 1e-8);
  console.log(`  p = ${s.params[0]} (hand value ${want})`);
  assert.ok(Math.abs(s.params[0] - want) < 1e-15);
  assert.ok(Math.abs(s.m[0] - 0.05) < 1e-15 && Math.abs(s.v[0] - 0.00025) < 1e-15);
});

Deno.test("adamw: several steps match the f64 reference (C=2, bias correction, changing lr), padding stays 0", async () => {
  const gpu = await getGpu();
  const r = rng(5);
  const p0 = new Float32Array(N);
  for (let i = 0; i < N; i++) p0[i] = isPadding(i % P) ? 0 : 2 * r() - 1;
  const spec = { size: N, offset: OFF, ...ADAMW_DEFAULTS };
  const pBuf = storageFrom(gpu, "params", padded(p0));
  const gBuf = storageFrom(gpu, "grads", padded(new Float32Array(N)));
  const mBuf = storageFrom(gpu, "m", padded(new Float32Array(N)));
  const vBuf = storageFrom(gpu, "v", padded(new Float32Array(N)));
  const opt = await createAdamW(gpu, spec, pBuf, gBuf, mBuf, vBuf);
  let ref: AdamWState = { params: Float64Array.from(p0), m: new Float64Array(N), v: new Float64Array(N) };
  const steps = [[1, 1e-3], [2, 1e-3], [3, 5e-4], [4, 2e-3], [5, 1e-3], [6, 1e-2]] as const;
  // Per-element error scales of m and v: Σ_steps |g| and Σ_steps g².
  const sumG = new Float64Array(N), sumG2 = new Float64Array(N);
  for (const [t, lr] of steps) {
    const g = gradsFor(t);
    for (let i = 0; i < N; i++) {
      sumG[i] += Math.abs(g[i]);
      sumG2[i] += g[i] * g[i];
    }
    upload(gpu, gBuf, padded(g));
    opt.setStep(t, lr);
    submitDispatches(gpu, opt.dispatches);
    ref = adamWReference(ADAMW_DEFAULTS, ref, g, t, lr);
  }
  const [p, m, v, gAfter] = (await readBuffers(gpu, [{ buffer: pBuf }, { buffer: mBuf }, { buffer: vBuf }, {
    buffer: gBuf,
  }])).map((b) => new Float32Array(b));
  let dp = 0, dm = 0, dv = 0;
  for (let i = 0; i < N; i++) {
    if (isPadding(i % P)) {
      assert.ok(p[OFF + i] === 0 && m[OFF + i] === 0 && v[OFF + i] === 0, `padding element ${i} left 0`);
    }
    dp = Math.max(dp, Math.abs(p[OFF + i] - ref.params[i]));
    dm = Math.max(dm, Math.abs(m[OFF + i] - ref.m[i]) / (sumG[i] + 1e-30));
    dv = Math.max(dv, Math.abs(v[OFF + i] - ref.v[i]) / (sumG2[i] + 1e-30));
  }
  for (const buf of [p, m, v, gAfter]) {
    for (let i = 0; i < OFF; i++) assert.equal(buf[i], 7);
    for (let i = OFF + N; i < buf.length; i++) assert.equal(buf[i], 7);
  }
  // Per step ≤ 4 roundings of p (|p| ≤ 1.1) plus a few ulp of the update (≤ 1.3·lr ≤ 1.3e-2); m and v:
  // ≤ 3 roundings per step, relative to Σ_steps |g| and Σ_steps g² of the element.
  const n = steps.length;
  const bp = n * 4 * U * (1.1 + 1.3e-2), bm = 3 * U, bv = 3 * U;
  console.log(
    `  max |Δp| = ${dp.toExponential(2)} (bound ${bp.toExponential(1)}), |Δm|/Σ|g| = ${
      dm.toExponential(2)
    } ` +
      `(bound ${bm.toExponential(1)}), |Δv|/Σg² = ${dv.toExponential(2)} (bound ${bv.toExponential(1)})`,
  );
  assert.ok(dp < bp && dm < bm && dv < bv);
  // The parameters moved by far more than the bound: the comparison is not vacuous.
  let moved = 0;
  for (let i = 0; i < N; i++) moved = Math.max(moved, Math.abs(p[OFF + i] - p0[i]));
  assert.ok(moved > 100 * bp, `parameters moved only ${moved}`);
  for (const b of [pBuf, gBuf, mBuf, vBuf]) b.destroy();
});

Deno.test("adamw: a late step (t = 20000, bias corrections near 1) from a given state matches f64", async () => {
  const gpu = await getGpu();
  const r = rng(9);
  const state = {
    params: Float32Array.from({ length: N }, () => 2 * r() - 1),
    m: Float32Array.from({ length: N }, () => 0.1 * (2 * r() - 1)),
    v: Float32Array.from({ length: N }, () => 0.01 * r()),
  };
  const g = gradsFor(77);
  const spec = { size: N, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 };
  const bufs = [state.params, g, state.m, state.v].map((a, i) => storageFrom(gpu, `b${i}`, a));
  const opt = await createAdamW(gpu, spec, bufs[0], bufs[1], bufs[2], bufs[3]);
  opt.setStep(20000, 3e-3);
  submitDispatches(gpu, opt.dispatches);
  const [p, m, v] = (await readBuffers(gpu, [{ buffer: bufs[0] }, { buffer: bufs[2] }, { buffer: bufs[3] }]))
    .map((b) => new Float32Array(b));
  const ref = adamWReference(
    spec,
    {
      params: Float64Array.from(state.params),
      m: Float64Array.from(state.m),
      v: Float64Array.from(state.v),
    },
    g,
    20000,
    3e-3,
  );
  let dp = 0, dm = 0, dv = 0;
  for (let i = 0; i < N; i++) {
    dp = Math.max(dp, Math.abs(p[i] - ref.params[i]));
    dm = Math.max(dm, Math.abs(m[i] - ref.m[i]) / (0.1 + Math.abs(g[i])));
    dv = Math.max(dv, Math.abs(v[i] - ref.v[i]) / (0.01 + g[i] * g[i]));
  }
  console.log(
    `  max |Δp| = ${dp.toExponential(2)}, |Δm|/(0.1 + |g|) = ${dm.toExponential(2)}, ` +
      `|Δv|/(0.01 + g²) = ${dv.toExponential(2)} (bounds 4·2⁻²⁴·1.1 = 2.6e-7, 3·2⁻²⁴ = 1.8e-7)`,
  );
  assert.ok(dp < 4 * U * 1.1 && dm < 3 * U && dv < 3 * U);
  for (const b of bufs) b.destroy();
});

Deno.test("adamw: without setStep the update writes NaN (a forgotten step number is loud)", async () => {
  const gpu = await getGpu();
  const bufs = [0, 1, 2, 3].map((i) => storageFrom(gpu, `b${i}`, new Float32Array(8).fill(0.5)));
  const opt = await createAdamW(gpu, { size: 8 }, bufs[0], bufs[1], bufs[2], bufs[3]);
  submitDispatches(gpu, opt.dispatches);
  const [p] = (await readBuffers(gpu, [{ buffer: bufs[0] }])).map((b) => new Float32Array(b));
  assert.ok(p.every(Number.isNaN));
  for (const b of bufs) b.destroy();
});

Deno.test("adamw: bad arguments give errors naming them", async () => {
  const gpu = await getGpu();
  const [a, b, c, d] = [0, 1, 2, 3].map((i) => storageFrom(gpu, `b${i}`, new Float32Array(16)));
  await assert.rejects(
    () => createAdamW(gpu, { size: 10 }, a, b, c, d),
    /adamw size: 10 must be a multiple of 4/,
  );
  await assert.rejects(
    () => createAdamW(gpu, { size: 20 }, a, b, c, d),
    /adamw params: .* holds 16 elements/,
  );
  await assert.rejects(() => createAdamW(gpu, { size: 8, offset: 12 }, a, b, c, d), /adamw params/);
  await assert.rejects(() => createAdamW(gpu, { size: 8, beta1: 1 }, a, b, c, d), /adamw beta1/);
  await assert.rejects(() => createAdamW(gpu, { size: 8, beta2: -0.1 }, a, b, c, d), /adamw beta2/);
  await assert.rejects(() => createAdamW(gpu, { size: 8, eps: 0 }, a, b, c, d), /adamw eps/);
  await assert.rejects(
    () => createAdamW(gpu, { size: 8, weightDecay: NaN }, a, b, c, d),
    /adamw weightDecay/,
  );
  await assert.rejects(() => createAdamW(gpu, { size: 8 }, a, b, c, a), /same buffer/);
  const opt = await createAdamW(gpu, { size: 8 }, a, b, c, d);
  assert.throws(() => opt.setStep(0, 1e-3), /adamw step t: expected an integer ≥ 1/);
  assert.throws(() => opt.setStep(1.5, 1e-3), /adamw step t/);
  assert.throws(() => opt.setStep(1, NaN), /adamw lr: expected a finite number/);
  assert.throws(() => opt.setStep(1, -1), /adamw lr: expected ≥ 0/);
  for (const x of [a, b, c, d]) x.destroy();
});
