import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readBuffers, storageFrom } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import {
  columnBlocking,
  createLayerNorm,
  createLayerNormBackward,
  layerNormBackwardReference,
  layerNormReference,
  type LayerNormSpec,
  layerNormSpecFor,
} from "../lib/model/layernorm.ts";
import { paramLayout } from "../lib/model/params.ts";
import { TINY_CONFIG } from "../lib/model/config.ts";
import { uniforms } from "./support/random.ts";

const U = 2 ** -24;

interface Case {
  B: number;
  T: number;
  D: number;
  lanes: number;
  /** Added to every x: rows with a large mean test the two-pass variance. */
  shift: number;
  withY2: boolean;
  /** Backward: force the fused (true) or the unfused (false) passes; default as the op chooses. */
  fuse?: boolean;
}

/** A spec for C = 2 copies with w, b, W_pos at offsets inside a copy and activations at offsets. */
function specFor(k: Case): LayerNormSpec {
  const D = k.D, w = 8, b = 8 + D + 4, pos = b + D + 8;
  return {
    copies: 2,
    batch: k.B,
    seqLen: k.T,
    dModel: D,
    wOffset: w,
    bOffset: b,
    posOffset: pos,
    paramStride: pos + k.T * D + 4,
    lanes: k.lanes,
    fuseBackward: k.fuse,
    xOffset: 4,
    yOffset: 8,
    y2Offset: 12,
    dxOffset: 16,
    statsOffset: 3,
  };
}

interface Data {
  spec: LayerNormSpec;
  n: number;
  rows: number;
  x: Float32Array;
  params: Float32Array;
}

function makeData(k: Case, seed: number): Data {
  const spec = specFor(k);
  const rows = 2 * k.B * k.T, n = rows * k.D;
  const x = uniforms(4 + n + 4, seed, k.shift - 1, k.shift + 1);
  const params = uniforms(2 * spec.paramStride, seed + 1, -1.5, 1.5);
  return { spec, n, rows, x, params };
}

/** The f64 forward of copy c's rows: (y, y2, stats). */
function referenceCopy(d: Data, c: number) {
  const s = d.spec, D = s.dModel, R = s.batch! * s.seqLen, P = s.paramStride;
  const xs = d.x.subarray(4 + c * R * D, 4 + (c + 1) * R * D);
  const w = d.params.subarray(c * P + s.wOffset, c * P + s.wOffset + D);
  const b = d.params.subarray(c * P + s.bOffset, c * P + s.bOffset + D);
  const ref = layerNormReference(xs, w, b, D);
  const y2 = new Float64Array(ref.y);
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < D; i++) y2[r * D + i] += d.params[c * P + s.posOffset! + (r % s.seqLen) * D + i];
  }
  return { ...ref, y2, xs, w };
}

const CASES: Case[] = [
  { B: 3, T: 8, D: 20, lanes: 1, shift: 0, withY2: true },
  { B: 3, T: 8, D: 20, lanes: 4, shift: 3, withY2: false }, // D/4 = 5 vec4s over 4 lanes: a ragged split
  { B: 8, T: 125, D: 64, lanes: 8, shift: 3, withY2: true }, // R = 1000: 32 column blocks, the last one partial
  { B: 8, T: 125, D: 64, lanes: 1, shift: 0, withY2: false },
  { B: 8, T: 125, D: 64, lanes: 1, shift: 3, withY2: true, fuse: false }, // one lane per row, three passes
];

for (const k of CASES) {
  Deno.test(`layernorm forward: matches f64 (C=2, B·T=${k.B * k.T}, D=${k.D}, lanes ${k.lanes}, shift ${k.shift}, y2 ${k.withY2})`, async () => {
    const gpu = await getGpu();
    const d = makeData(k, 100 + k.D + k.lanes);
    const xBuf = storageFrom(gpu, "x", d.x);
    const pBuf = storageFrom(gpu, "params", d.params);
    const yInit = uniforms(8 + d.n + 4, 5),
      y2Init = uniforms(12 + d.n + 4, 6),
      sInit = uniforms(3 + 2 * d.rows + 2, 7);
    const yBuf = storageFrom(gpu, "y", yInit);
    const y2Buf = storageFrom(gpu, "y2", y2Init);
    const sBuf = storageFrom(gpu, "stats", sInit);
    const ops = await createLayerNorm(gpu, d.spec, xBuf, pBuf, yBuf, sBuf, k.withY2 ? y2Buf : undefined);
    submitDispatches(gpu, ops);
    const [y, y2, stats] = (await readBuffers(gpu, [{ buffer: yBuf }, { buffer: y2Buf }, { buffer: sBuf }]))
      .map(
        (b) => new Float32Array(b),
      );
    const R = k.B * k.T, D = k.D;
    let maxY = 0, maxY2 = 0, maxMean = 0, maxRstd = 0;
    for (let c = 0; c < 2; c++) {
      const ref = referenceCopy(d, c);
      for (let i = 0; i < R * D; i++) {
        maxY = Math.max(maxY, Math.abs(y[8 + c * R * D + i] - ref.y[i]));
        if (k.withY2) maxY2 = Math.max(maxY2, Math.abs(y2[12 + c * R * D + i] - ref.y2[i]));
      }
      for (let r = 0; r < R; r++) {
        const g = 3 + 2 * (c * R + r);
        maxMean = Math.max(maxMean, Math.abs(stats[g] - ref.stats[2 * r]));
        maxRstd = Math.max(maxRstd, Math.abs(stats[g + 1] / ref.stats[2 * r + 1] - 1));
      }
    }
    // Untouched outside the written ranges (and y2 not written at all without it).
    for (let i = 0; i < 8; i++) assert.equal(y[i], yInit[i]);
    for (let i = 8 + d.n; i < yInit.length; i++) assert.equal(y[i], yInit[i]);
    for (let i = 0; i < 3; i++) assert.equal(stats[i], sInit[i]);
    for (let i = 3 + 2 * d.rows; i < sInit.length; i++) assert.equal(stats[i], sInit[i]);
    if (!k.withY2) assert.deepEqual(y2, y2Init);
    // f32 rounding: the mean of D values ≤ |shift| + 1 errs by ≲ D·2⁻²⁴·(|shift| + 1); x̂ = (x − μ)·rstd then
    // errs by that times rstd (≤ 2 here) plus a few ulp; y = x̂·w + b (|w| ≤ 1.5) a few ulp of |y| ≤ 5 more.
    const bound = (D * (k.shift + 1) * 2 * 1.5 + 64) * U;
    console.log(
      `  max |Δy| = ${maxY.toExponential(2)}, |Δy2| = ${maxY2.toExponential(2)}, |Δμ| = ${
        maxMean.toExponential(2)
      }, rel Δrstd = ${maxRstd.toExponential(2)} (bound ${bound.toExponential(1)})`,
    );
    assert.ok(maxY < bound && maxY2 < bound && maxMean < bound && maxRstd < bound);
    for (const b of [xBuf, pBuf, yBuf, y2Buf, sBuf]) b.destroy();
  });
}

Deno.test("layernorm backward reference: matches central finite differences of the f64 forward", () => {
  // L(x, w, b) = Σ g·y: its gradient is the backward applied to g.
  const D = 12, rows = 3;
  const x = Float64Array.from(uniforms(rows * D, 1, 0.5, 2.5));
  const w = Float64Array.from(uniforms(D, 2, -1.5, 1.5));
  const b = Float64Array.from(uniforms(D, 3));
  const g = Float64Array.from(uniforms(rows * D, 4));
  const loss = () => {
    const { y } = layerNormReference(x, w, b, D);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += g[i] * y[i];
    return s;
  };
  const fd = (v: Float64Array, i: number) => {
    const h = 1e-5, v0 = v[i];
    v[i] = v0 + h;
    const up = loss();
    v[i] = v0 - h;
    const down = loss();
    v[i] = v0;
    return (up - down) / (2 * h);
  };
  const an = layerNormBackwardReference(g, x, w, D);
  let maxErr = 0;
  for (const [v, grad] of [[x, an.dx], [w, an.dw], [b, an.db]] as const) {
    for (let i = 0; i < v.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(fd(v, i) - grad[i]) / (1 + Math.abs(grad[i])));
    }
  }
  // Central differences err by O(h²·|L'''|) ≈ 1e-10 plus O(ε·|L|/h) ≈ 1e-11.
  console.log(`  max |FD − analytic| / (1 + |analytic|) = ${maxErr.toExponential(2)} (bound 1e-7)`);
  assert.ok(maxErr < 1e-7, `max error ${maxErr}`);
});

for (const k of CASES) {
  Deno.test(
    `layernorm backward: matches f64 (C=2, B·T=${k.B * k.T}, D=${k.D}, lanes ${k.lanes}${
      k.lanes === 1 ? " fused" : ""
    }, dy2 ${k.withY2}), accumulating`,
    async () => {
      const gpu = await getGpu();
      const d = makeData(k, 300 + k.D + k.lanes);
      const s = d.spec, D = k.D, R = k.B * k.T, P = s.paramStride;
      const dy = uniforms(8 + d.n + 4, 11), dy2 = uniforms(12 + d.n + 4, 12);
      const dx0 = uniforms(16 + d.n + 4, 13), grads0 = uniforms(2 * P, 14);
      const xBuf = storageFrom(gpu, "x", d.x);
      const pBuf = storageFrom(gpu, "params", d.params);
      const yBuf = storageFrom(gpu, "y", new Float32Array(8 + d.n));
      const sBuf = storageFrom(gpu, "stats", new Float32Array(3 + 2 * d.rows));
      const dyBuf = storageFrom(gpu, "dy", dy);
      const dy2Buf = storageFrom(gpu, "dy2", dy2);
      const dxBuf = storageFrom(gpu, "dx", dx0);
      const gBuf = storageFrom(gpu, "grads", grads0);
      const fwd = await createLayerNorm(gpu, s, xBuf, pBuf, yBuf, sBuf);
      const bwd = await createLayerNormBackward(
        gpu,
        s,
        dyBuf,
        xBuf,
        sBuf,
        pBuf,
        dxBuf,
        gBuf,
        k.withY2 ? dy2Buf : undefined,
      );
      const blocking = columnBlocking(R, D, k.lanes, k.fuse);
      assert.equal(bwd.length, blocking.fused ? 2 : 3);
      // The backward twice: every output accumulates, so the increments double.
      submitDispatches(gpu, [...fwd, ...bwd, ...bwd]);
      const [dx, grads] = (await readBuffers(gpu, [{ buffer: dxBuf }, { buffer: gBuf }])).map((b) =>
        new Float32Array(b)
      );
      const m = blocking.blockRows + blocking.nBlocks;
      let maxDx = 0, ratioDx = 0, maxDw = 0, ratioDw = 0;
      for (let c = 0; c < 2; c++) {
        const ref = referenceCopy(d, c);
        const g = new Float64Array(R * D);
        for (let i = 0; i < R * D; i++) {
          g[i] = dy[8 + c * R * D + i] + (k.withY2 ? dy2[12 + c * R * D + i] : 0);
        }
        const an = layerNormBackwardReference(g, ref.xs, ref.w, D);
        // Error scale of dw and db: Σ_rows |g|·(1 + |x̂|) per column.
        const colScale = new Float64Array(D);
        for (let r = 0; r < R; r++) {
          const mean = ref.stats[2 * r], rstd = ref.stats[2 * r + 1];
          for (let i = 0; i < D; i++) {
            colScale[i] += Math.abs(g[r * D + i]) * (1 + Math.abs((ref.xs[r * D + i] - mean) * rstd));
          }
        }
        for (let r = 0; r < R; r++) {
          let rowScale = 0;
          for (let i = 0; i < D; i++) {
            rowScale += Math.abs(g[r * D + i] * ref.w[i]) * (1 + Math.abs(ref.xs[r * D + i]));
          }
          rowScale *= ref.stats[2 * r + 1] / D;
          for (let i = 0; i < D; i++) {
            const at = 16 + (c * R + r) * D + i;
            const diff = Math.abs(dx[at] - (dx0[at] + 2 * an.dx[r * D + i]));
            maxDx = Math.max(maxDx, diff);
            // A row sum of D terms, then three terms; the start value and the two adds: ulp(|dx|).
            const bound = (D + 64) * U * (rowScale + Math.abs(an.dx[r * D + i])) * 2 +
              4 * U * Math.abs(dx[at]);
            ratioDx = Math.max(ratioDx, diff / bound);
          }
        }
        for (const [off, grad] of [[s.wOffset, an.dw], [s.bOffset, an.db]] as const) {
          for (let i = 0; i < D; i++) {
            const at = c * P + off + i;
            const diff = Math.abs(grads[at] - (grads0[at] + 2 * grad[i]));
            maxDw = Math.max(maxDw, diff);
            // Twice (the op ran twice) a two-pass sum of m terms, each term's x̂ off by ≲ 4 ulp of
            // (|x| + |μ|)·rstd ≤ 16, then the start value: ulp(|grads|).
            const bound = 2 * (m + 4 * 16) * U * colScale[i] + 4 * U * Math.abs(grads[at]);
            ratioDw = Math.max(ratioDw, diff / bound);
          }
        }
      }
      // Everything else in grads is untouched.
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < P; i++) {
          const inW = i >= s.wOffset && i < s.wOffset + D, inB = i >= s.bOffset && i < s.bOffset + D;
          if (!inW && !inB) assert.equal(grads[c * P + i], grads0[c * P + i], `grads[${c * P + i}]`);
        }
      }
      for (let i = 0; i < 16; i++) assert.equal(dx[i], dx0[i]);
      for (let i = 16 + d.n; i < dx0.length; i++) assert.equal(dx[i], dx0[i]);
      console.log(
        `  max |Δdx| = ${maxDx.toExponential(2)} (${ratioDx.toFixed(3)} of its bound), max |Δdw|, |Δdb| = ${
          maxDw.toExponential(2)
        } (${ratioDw.toFixed(3)} of its bound)`,
      );
      assert.ok(ratioDx <= 1 && ratioDw <= 1, `dx ${ratioDx}, dw/db ${ratioDw} of the bounds`);
      for (const b of [xBuf, pBuf, yBuf, sBuf, dyBuf, dy2Buf, dxBuf, gBuf]) b.destroy();
    },
  );
}

Deno.test("layernorm backward: GPU dx, dw, db match central finite differences of the f64 forward", async () => {
  // The chain end to end: the GPU gradient of L = Σ dy·y against FD of the float64 forward.
  const gpu = await getGpu();
  const k: Case = { B: 2, T: 3, D: 8, lanes: 2, shift: 1, withY2: false };
  const d = makeData(k, 77);
  const s = { ...d.spec, copies: 1, xOffset: 0, yOffset: 0, dxOffset: 0, statsOffset: 0 };
  const n = k.B * k.T * k.D, P = s.paramStride, D = k.D;
  const x = d.x.subarray(0, n), params = d.params.subarray(0, P);
  const dy = uniforms(n, 5);
  const xBuf = storageFrom(gpu, "x", x);
  const pBuf = storageFrom(gpu, "params", params);
  const yBuf = storageFrom(gpu, "y", new Float32Array(n));
  const sBuf = storageFrom(gpu, "stats", new Float32Array(2 * k.B * k.T));
  const dyBuf = storageFrom(gpu, "dy", dy);
  const dxBuf = storageFrom(gpu, "dx", new Float32Array(n));
  const gBuf = storageFrom(gpu, "grads", new Float32Array(P));
  submitDispatches(gpu, [
    ...await createLayerNorm(gpu, s, xBuf, pBuf, yBuf, sBuf),
    ...await createLayerNormBackward(gpu, s, dyBuf, xBuf, sBuf, pBuf, dxBuf, gBuf),
  ]);
  const [dx, grads] = (await readBuffers(gpu, [{ buffer: dxBuf }, { buffer: gBuf }])).map((b) =>
    new Float32Array(b)
  );
  const xs = Float64Array.from(x);
  const w = Float64Array.from(params.subarray(s.wOffset, s.wOffset + D));
  const b = Float64Array.from(params.subarray(s.bOffset, s.bOffset + D));
  const loss = () => layerNormReference(xs, w, b, D).y.reduce((acc, y, i) => acc + dy[i] * y, 0);
  const fd = (v: Float64Array, i: number) => {
    const h = 1e-5, v0 = v[i];
    v[i] = v0 + h;
    const up = loss();
    v[i] = v0 - h;
    const down = loss();
    v[i] = v0;
    return (up - down) / (2 * h);
  };
  let maxErr = 0;
  for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(dx[i] - fd(xs, i)));
  for (let i = 0; i < D; i++) {
    maxErr = Math.max(maxErr, Math.abs(grads[s.wOffset + i] - fd(w, i)));
    maxErr = Math.max(maxErr, Math.abs(grads[s.bOffset + i] - fd(b, i)));
  }
  // f32 kernels on O(1) values: a few hundred ulp at most; the FD error (≈1e-10) is negligible.
  console.log(`  max |gpu − FD| = ${maxErr.toExponential(2)} (bound 2e-5)`);
  assert.ok(maxErr < 2e-5, `max error ${maxErr}`);
  for (const buf of [xBuf, pBuf, yBuf, sBuf, dyBuf, dxBuf, gBuf]) buf.destroy();
});

Deno.test("layernorm: spec from a model layout; bad arguments give errors naming them", async () => {
  const gpu = await getGpu();
  const layout = paramLayout(TINY_CONFIG);
  const spec = layerNormSpecFor(layout, "blocks.1.ln1", { copies: 2, batch: 2, seqLen: 4 });
  assert.equal(spec.wOffset, layout.byName.get("blocks.1.ln1.w")!.offset);
  assert.throws(
    () => layerNormSpecFor(layout, "blocks.9.ln1", { copies: 1, batch: 1, seqLen: 4 }),
    /blocks\.9/,
  );
  const n = 2 * 2 * 4 * 64;
  const x = storageFrom(gpu, "x", new Float32Array(n));
  const p = storageFrom(gpu, "params", new Float32Array(2 * layout.stride));
  const y = storageFrom(gpu, "y", new Float32Array(n));
  const st = storageFrom(gpu, "stats", new Float32Array(2 * 16));
  await createLayerNorm(gpu, spec, x, p, y, st, y); // fine as given
  await assert.rejects(
    () => createLayerNorm(gpu, { ...spec, dModel: 66 }, x, p, y, st),
    /layernorm dModel: 66/,
  );
  await assert.rejects(() => createLayerNorm(gpu, { ...spec, lanes: 3 }, x, p, y, st), /layernorm lanes/);
  await assert.rejects(
    () => createLayerNormBackward(gpu, { ...spec, lanes: 2, fuseBackward: true }, x, x, st, p, y, p),
    /layernorm fuseBackward: needs lanes = 1/,
  );
  await createLayerNorm(gpu, { ...spec, batch: undefined, rows: 8 }, x, p, y, st); // rows instead of batch
  await assert.rejects(
    () => createLayerNorm(gpu, { ...spec, batch: undefined }, x, p, y, st),
    /layernorm batch/,
  );
  await assert.rejects(
    () => createLayerNorm(gpu, { ...spec, rows: 6 }, x, p, y, st),
    /layernorm rows: 6 is not/,
  );
  await assert.rejects(
    () => createLayerNorm(gpu, { ...spec, rows: 12 }, x, p, y, st),
    /layernorm rows: 12 disagrees/,
  );
  await assert.rejects(() => createLayerNorm(gpu, { ...spec, eps: 0 }, x, p, y, st), /layernorm eps/);
  await assert.rejects(() => createLayerNorm(gpu, { ...spec, wOffset: 2 }, x, p, y, st), /layernorm wOffset/);
  await assert.rejects(() => createLayerNorm(gpu, { ...spec, xOffset: 4 }, x, p, y, st), /layernorm x:/);
  await assert.rejects(
    () => createLayerNorm(gpu, { ...spec, statsOffset: 1 }, x, p, y, st),
    /layernorm stats:/,
  );
  await assert.rejects(
    () => createLayerNorm(gpu, { ...spec, posOffset: undefined }, x, p, y, st, y),
    /layernorm posOffset: required/,
  );
  await assert.rejects(() => createLayerNorm(gpu, spec, x, p, x, st), /same buffer/);
  await assert.rejects(() => createLayerNormBackward(gpu, spec, y, x, st, p, y, p), /same buffer/);
  await assert.rejects(
    () => createLayerNormBackward(gpu, { ...spec, batch: 3 }, y, x, st, p, y, p),
    /layernorm backward dy:/,
  );
  for (const b of [x, p, y, st]) b.destroy();
});
