import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, storageFrom } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import { createColSum, createMatmul } from "../lib/model/matmul.ts";
import { cpuMatmulWgsl } from "../lib/model/matmul_codegen.ts";
import {
  colSumReference,
  type ColSumSpec,
  lastElement,
  matmulReference,
  type MatmulSpec,
  type MatmulVariant,
  normalizeMatmul,
  storedShape,
} from "../lib/model/matmul_spec.ts";
import { uniforms } from "./support/random.ts";

const maxAbs = (x: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
};

const VARIANTS: MatmulVariant[] = ["reference", "cpu", "gpu"];

interface Shape {
  M: number;
  N: number;
  K: number;
  /** Offsets, lds and slice strides multiples of 4 (the cpu family's vec4 paths) or deliberately odd. */
  aligned: boolean;
  /** Rows padded beyond their width (ld > width). */
  pad?: boolean;
  batch?: [number, number];
  alpha?: number;
  accumulate?: boolean;
  bias?: boolean;
  cpuTile?: MatmulSpec["cpuTile"];
  /** sumBatch1: A and B vary over both levels, C and bias over level 0 only. */
  sum?: boolean;
}

/**
 * Builds a spec with offsets, padding and batch strides (A shared across level 1, B across level 0; with
 * `sum`, A and B have slices of their own for every (z0, z1) and level 1 is summed).
 */
function makeSpec(sh: Shape, transA: boolean, transB: boolean, variant: MatmulVariant): MatmulSpec {
  const up = (x: number) => (sh.aligned ? Math.ceil(x / 4) * 4 : x);
  const b1 = sh.batch?.[1] ?? 1;
  const extra = sh.pad ? (sh.aligned ? 4 : 3) : 0;
  const lay = (rows: number, cols: number, off: number) => {
    const ld = cols + extra;
    const slice = up(rows * ld + (sh.pad ? 5 : 0));
    return { offset: up(off), ld, slice };
  };
  const A = lay(transA ? sh.K : sh.M, transA ? sh.M : sh.K, 5);
  const B = lay(transB ? sh.N : sh.K, transB ? sh.K : sh.N, 7);
  const C = lay(sh.M, sh.N, 3);
  return {
    label: `mm ${sh.M}×${sh.N}×${sh.K} ${transA ? "T" : "N"}${transB ? "T" : "N"} ${variant}`,
    M: sh.M,
    N: sh.N,
    K: sh.K,
    transA,
    transB,
    alpha: sh.alpha,
    accumulate: sh.accumulate,
    batch: sh.batch,
    a: { offset: A.offset, ld: A.ld, stride: sh.sum ? [b1 * A.slice, A.slice] : [A.slice, 0] },
    b: { offset: B.offset, ld: B.ld, stride: sh.sum ? [b1 * B.slice, B.slice] : [0, B.slice] },
    c: { offset: C.offset, ld: C.ld, stride: sh.sum ? [C.slice, 0] : [b1 * C.slice, C.slice] },
    bias: sh.bias
      ? { offset: up(2), stride: sh.sum ? [up(sh.N + 1), 0] : [b1 * up(sh.N + 1), up(sh.N + 1)] }
      : undefined,
    sumBatch1: sh.sum,
    variant,
    cpuTile: sh.cpuTile,
  };
}

/** Runs a spec on the GPU and returns max |gpu − f64| over the whole C buffer and the error bound. */
async function runMatmul(spec: MatmulSpec, seed: number): Promise<{ diff: number; bound: number }> {
  const gpu = await getGpu();
  const s = normalizeMatmul(spec);
  const end = (name: "a" | "b" | "c") => {
    const [r, c] = storedShape(s, name);
    return lastElement(s[name], s.batch, r, c, s[name].ld) + 1;
  };
  const aData = uniforms(end("a") + 3, seed);
  const bData = uniforms(end("b") + 2, seed + 1);
  const cData = uniforms(end("c") + 6, seed + 2);
  const biasData = s.bias ? uniforms(lastElement(s.bias, s.batch, 1, s.N, s.N) + 1, seed + 3) : undefined;
  const a = storageFrom(gpu, "a", aData);
  const b = storageFrom(gpu, "b", bData);
  const c = storageFrom(gpu, "c", cData);
  const bias = biasData ? storageFrom(gpu, "bias", biasData) : undefined;
  try {
    submitDispatches(gpu, await createMatmul(gpu, spec, a, b, c, bias));
    const got = await readF32(gpu, c, 0, cData.length * 4);
    const want = matmulReference(spec, aData, bData, cData, biasData);
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
    // Bound: f32 accumulation of K products of size ≤ max|a|·max|b| (random signs: error grows like √K; with
    // sumBatch1 there are K·batch[1] products), plus one rounding of the added bias and old C.
    const products = s.K * (s.sumBatch1 ? s.batch[1] : 1);
    const bound =
      1e-5 * Math.sqrt(products) * maxAbs(aData) * maxAbs(bData) * Math.max(1, Math.abs(s.alpha)) +
      1e-6 * (maxAbs(cData) + (biasData ? maxAbs(biasData) : 0));
    return { diff, bound };
  } finally {
    for (const x of [a, b, c, bias]) x?.destroy();
  }
}

const SHAPES: Shape[] = [
  { M: 1, N: 1, K: 1, aligned: false },
  { M: 3, N: 17, K: 5, aligned: false, pad: true },
  { M: 17, N: 33, K: 65, aligned: false, alpha: -0.75 },
  { M: 33, N: 3, K: 129, aligned: false, pad: true, accumulate: true },
  { M: 65, N: 129, K: 33, aligned: false, bias: true, batch: [2, 3] },
  { M: 64, N: 64, K: 64, aligned: true },
  { M: 36, N: 20, K: 44, aligned: true, pad: true, alpha: 0.5, accumulate: true, bias: true, batch: [2, 2] },
  { M: 129, N: 68, K: 132, aligned: true, batch: [1, 2] },
  { M: 260, N: 100, K: 36, aligned: true, pad: true, bias: true },
  // Small M·N with long K: the cpu family splits K across the lanes of a workgroup.
  { M: 16, N: 20, K: 2052, aligned: true, accumulate: true },
  { M: 5, N: 7, K: 1029, aligned: false, alpha: 2 },
  // Narrow N with A shared across level 1: the cpu family folds level 1 into n (untransposed B).
  { M: 40, N: 16, K: 24, aligned: true, bias: true, batch: [3, 4] },
  { M: 21, N: 12, K: 10, aligned: false, bias: true, accumulate: true, batch: [2, 3] },
];

for (const variant of VARIANTS) {
  Deno.test(`matmul ${variant}: all transposes, odd shapes, batches, offsets, ld, alpha, accumulate, bias`, async () => {
    let seed = 1;
    for (const sh of SHAPES) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const spec = makeSpec(sh, tA, tB, variant);
        const { diff, bound } = await runMatmul(spec, seed += 10);
        console.log(
          `  ${spec.label}: max |gpu − f64| = ${diff.toExponential(2)} (bound ${bound.toExponential(2)})`,
        );
        assert.ok(diff <= bound, `${spec.label}: max diff ${diff} > bound ${bound}`);
      }
    }
  });
}

Deno.test("matmul cpu: forced tiles and split-K agree with f64 (edge tiles, clamped columns)", async () => {
  const tiles: Array<MatmulSpec["cpuTile"]> = [
    { tm: 8, tn: 16, wx: 8, wy: 1 },
    { tm: 32, tn: 16 },
    { tm: 3, tn: 8, wx: 2, wy: 4 },
    { tm: 4, tn: 4, ks: 4 },
    { tm: 8, tn: 8, ks: 8 },
  ];
  let seed = 500;
  for (const cpuTile of tiles) {
    for (const sh of [SHAPES[2], SHAPES[3], SHAPES[7], SHAPES[8]]) {
      for (const [tA, tB] of [[false, false], [true, true], [true, false]]) {
        const spec = makeSpec({ ...sh, cpuTile }, tA, tB, "cpu");
        spec.label += ` tile ${JSON.stringify(cpuTile)}`;
        const { diff, bound } = await runMatmul(spec, seed += 10);
        assert.ok(diff <= bound, `${spec.label}: max diff ${diff} > bound ${bound}`);
      }
    }
    console.log(`  cpu tile ${JSON.stringify(cpuTile)}: 12 cases within bound`);
  }
});

/** sumBatch1 cases, batch [3, 4] unless noted: C[z0] = alpha·Σ_z1 op(A[z0, z1])·op(B[z0, z1]) (+ bias, + C). */
const SUM_SHAPES: Shape[] = ([
  { M: 17, N: 13, K: 7, aligned: false, pad: true, alpha: -0.75 },
  { M: 33, N: 3, K: 21, aligned: false, accumulate: true, bias: true },
  { M: 36, N: 20, K: 44, aligned: true, pad: true, alpha: 0.5, accumulate: true, bias: true },
  { M: 64, N: 64, K: 16, aligned: true },
  // Split-K forced (the cpu family; the others ignore cpuTile): lanes share each z1's k blocks, k tail included.
  { M: 16, N: 20, K: 66, aligned: true, accumulate: true, cpuTile: { ks: 2 } },
  { M: 5, N: 7, K: 29, aligned: false, bias: true, cpuTile: { ks: 2 } },
  // Small M·N with K·batch[1] = 792: the cpu family splits K by itself (ks 3), the gpu family its dispatches.
  { M: 8, N: 8, K: 198, aligned: true, batch: [1, 4] },
] as Shape[]).map((sh) => ({ batch: [3, 4], ...sh, sum: true }));

for (const variant of VARIANTS) {
  Deno.test(`matmul ${variant}: sumBatch1 sums batch level 1 (transposes, odd shapes, vec4, alpha, accumulate, bias, split-K)`, async () => {
    let seed = 3000;
    for (const sh of SUM_SHAPES) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const spec = makeSpec(sh, tA, tB, variant);
        spec.label += ` sum batch [${sh.batch}]${sh.cpuTile ? ` tile ${JSON.stringify(sh.cpuTile)}` : ""}`;
        const { diff, bound } = await runMatmul(spec, seed += 10);
        console.log(
          `  ${spec.label}: max |gpu − f64| = ${diff.toExponential(2)} (bound ${bound.toExponential(2)})`,
        );
        assert.ok(diff <= bound, `${spec.label}: max diff ${diff} > bound ${bound}`);
      }
    }
  });
}

/**
 * The transformer's input gradient of the query projection, at a small size: d(in)[c] (R×D) = Σ_h dq[c, h]
 * (R×E) · W_Q[c, h]ᵀ, dq dense [C, H, R, E], W_Q[h] (D×E) inside each copy's P parameters at `off`.
 */
function transformerSumSpec(variant: MatmulVariant): MatmulSpec {
  const C = 3, R = 40, D = 24, H = 4, E = 16, off = 9, P = off + H * D * E + 11;
  return {
    label: `transformer dQ·W_Qᵀ ${variant}`,
    M: R,
    N: D,
    K: E,
    transB: true,
    batch: [C, H],
    sumBatch1: true,
    a: { ld: E, stride: [H * R * E, R * E] },
    b: { offset: off, ld: E, stride: [P, D * E] },
    c: { ld: D, stride: [R * D, 0] },
    variant,
  };
}

Deno.test("matmul: sumBatch1 on the transformer's Σ_h dQ[h]·W_Q[h]ᵀ shape matches f64 (every variant; cpu in one dispatch)", async () => {
  const gpu = await getGpu();
  for (const variant of VARIANTS) {
    const spec = transformerSumSpec(variant);
    const { diff, bound } = await runMatmul(spec, 4242);
    console.log(
      `  ${spec.label}: max |gpu − f64| = ${diff.toExponential(2)} (bound ${bound.toExponential(2)})`,
    );
    assert.ok(diff <= bound, `${spec.label}: max diff ${diff} > bound ${bound}`);
  }
  // The point of the field on llvmpipe: one dispatch instead of one per head.
  const spec = transformerSumSpec("cpu");
  const x = storageFrom(gpu, "x", new Float32Array(4 * 4096));
  const w = storageFrom(gpu, "w", new Float32Array(3 * 1600));
  const out = storageFrom(gpu, "out", new Float32Array(3 * 40 * 24));
  assert.equal((await createMatmul(gpu, spec, x, w, out)).length, 1);
  assert.equal((await createMatmul(gpu, { ...spec, variant: "reference" }, x, w, out)).length, 4);
  for (const b of [x, w, out]) b.destroy();
});

Deno.test("matmul cpu: level 1 folded into n (per-head Q = X·W_Q[h] + b_Q[h]) gives the bits of one op per head", async () => {
  const gpu = await getGpu();
  for (const [E, aligned] of [[16, true], [8, true], [12, false]] as const) {
    const C = 3, R = 40, D = 24, H = 4, off = aligned ? 8 : 9, P = off + H * D * E + 16;
    const spec = (h0: number, heads: number): MatmulSpec => ({
      label: `Q E=${E}`,
      M: R,
      N: E,
      K: D,
      batch: [C, heads],
      variant: "cpu",
      a: { ld: D, stride: [R * D, 0] },
      b: { offset: off + h0 * D * E, ld: E, stride: [P, D * E] },
      c: { offset: h0 * R * E, ld: E, stride: [H * R * E, R * E] },
      bias: { offset: h0 * E, stride: [P, E] },
    });
    const wgsl = cpuMatmulWgsl(spec(0, H));
    assert.match(wgsl, /level 1 folded into n/, `E=${E}: the kernel does not fold`);
    assert.doesNotMatch(cpuMatmulWgsl(spec(0, 1)), /folded/);
    const x = storageFrom(gpu, "x", uniforms(C * R * D, 1));
    const w = storageFrom(gpu, "w", uniforms(C * P, 2));
    const folded = storageFrom(gpu, "q folded", new Float32Array(C * H * R * E));
    submitDispatches(gpu, await createMatmul(gpu, spec(0, H), x, w, folded, w));
    const perHead = storageFrom(gpu, "q per head", new Float32Array(C * H * R * E));
    for (let h = 0; h < H; h++) submitDispatches(gpu, await createMatmul(gpu, spec(h, 1), x, w, perHead, w));
    assert.deepEqual(await readF32(gpu, folded), await readF32(gpu, perHead), `E=${E}: bits differ`);
    for (const b of [x, w, folded, perHead]) b.destroy();
  }
});

Deno.test("matmul gpu: split-K agrees with f64 (forced and automatic chunks, transposes, batches, ld, accumulate)", async () => {
  const shapes: Shape[] = [
    { M: 16, N: 20, K: 256, aligned: true, pad: true, alpha: -0.5, accumulate: true, batch: [3, 1] },
    { M: 70, N: 9, K: 384, aligned: false, pad: true },
    { M: 64, N: 64, K: 1024, aligned: true, batch: [4, 1] },
    // Batch on level 1 only: moved to level 0 so that level 1 can index the chunks.
    { M: 16, N: 12, K: 512, aligned: true, pad: true, accumulate: true, batch: [1, 3] },
  ];
  let seed = 900;
  for (const sh of shapes) {
    for (const splitK of [undefined, 1, 2, 4, 8]) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const spec = { ...makeSpec(sh, tA, tB, "gpu"), splitK };
        spec.label += ` splitK ${splitK ?? "auto"}`;
        const { diff, bound } = await runMatmul(spec, seed += 10);
        assert.ok(diff <= bound, `${spec.label}: max diff ${diff} > bound ${bound}`);
      }
    }
    console.log(`  gpu split-K ${sh.M}×${sh.N}×${sh.K} batch ${sh.batch ?? [1, 1]}: 20 cases within bound`);
  }
  const gpu = await getGpu();
  const buf = storageFrom(gpu, "x", new Float32Array(4096));
  const out = storageFrom(gpu, "y", new Float32Array(4096));
  const spec: MatmulSpec = {
    M: 8,
    N: 8,
    K: 60,
    a: {},
    b: {},
    c: {},
    variant: "gpu",
    splitK: 7,
    label: "bad",
  };
  await assert.rejects(
    createMatmul(gpu, spec, buf, buf, out),
    /matmul "bad": splitK must be a divisor of K = 60/,
  );
  buf.destroy();
  out.destroy();
});

Deno.test("matmul: a large batch folds the grid into y·z (every variant)", async () => {
  for (const variant of VARIANTS) {
    // 300·250 = 75000 (row block, batch) pairs > 65535 per grid dimension.
    const spec: MatmulSpec = {
      label: `fold ${variant}`,
      M: 2,
      N: 3,
      K: 2,
      batch: [300, 250],
      a: { stride: [250 * 4, 4] },
      b: { stride: [0, 6] },
      c: { stride: [250 * 6, 6] },
      variant,
      // A small workgroup tile: 75000 workgroups of the default 256 invocations take ~20 s on llvmpipe.
      gpuTile: { bm: 8, bn: 8, bk: 4, tm: 2, tn: 2 },
    };
    const { diff, bound } = await runMatmul(spec, 77);
    console.log(
      `  ${spec.label}: max |gpu − f64| = ${diff.toExponential(2)} (bound ${bound.toExponential(2)})`,
    );
    assert.ok(diff <= bound, `${spec.label}: max diff ${diff}`);
  }
});

Deno.test("matmul: a and b may be the same buffer (X·Xᵀ)", async () => {
  const gpu = await getGpu();
  const M = 24, K = 40;
  const x = uniforms(M * K, 9);
  const xb = storageFrom(gpu, "x", x);
  for (const variant of VARIANTS) {
    const c = storageFrom(gpu, "c", new Float32Array(M * M));
    const spec: MatmulSpec = { M, N: M, K, transB: true, a: {}, b: {}, c: {}, variant };
    submitDispatches(gpu, await createMatmul(gpu, spec, xb, xb, c));
    const got = await readF32(gpu, c);
    const want = matmulReference(spec, x, x);
    const diff = Math.max(...Array.from(got, (g, i) => Math.abs(g - want[i])));
    console.log(
      `  X·Xᵀ ${variant}: max diff ${diff.toExponential(2)} (bound ${
        (1e-5 * Math.sqrt(K)).toExponential(2)
      })`,
    );
    assert.ok(diff <= 1e-5 * Math.sqrt(K));
    c.destroy();
  }
  xb.destroy();
});

Deno.test("matmul: bad specs and buffers give errors naming the field", async () => {
  const gpu = await getGpu();
  const a = storageFrom(gpu, "a", new Float32Array(64));
  const b = storageFrom(gpu, "b", new Float32Array(64));
  const c = storageFrom(gpu, "c", new Float32Array(64));
  const ok: MatmulSpec = { M: 4, N: 4, K: 4, a: {}, b: {}, c: {} };
  const bad = async (spec: Partial<MatmulSpec> & Record<string, unknown>, re: RegExp, bufs = [a, b, c]) => {
    await assert.rejects(
      () => createMatmul(gpu, { ...ok, ...spec } as MatmulSpec, bufs[0], bufs[1], bufs[2], bufs[3]),
      re,
    );
  };
  await bad({ M: 0 }, /: M must be a positive integer, got 0/);
  await bad({ K: 2.5 }, /: K must be a positive integer/);
  await bad({ alpha: NaN }, /alpha must be a finite number/);
  await bad({ transA: 1 as unknown as boolean }, /transA must be a boolean/);
  await bad({ a: { ld: 3 } }, /a\.ld \(3\) must be at least the stored row length 4/);
  await bad({ b: { offset: -1 } }, /b\.offset must be a non-negative integer/);
  await bad({ batch: [2, 1], c: { stride: [0, 0] } }, /c\.stride\[0\] is 0 while batch\[0\] = 2/);
  await bad({ batch: [2, 0] }, /batch\[1\] must be a positive integer/);
  await bad({ b: { offset: 60 } }, /operand b .* runs to element 75 but its buffer holds 64/);
  await bad({ variant: "fast" as MatmulVariant }, /variant must be "auto"/);
  await bad({ cpuTile: { tn: 6 }, variant: "cpu" }, /cpuTile\.tn must be a multiple of 4/);
  await bad({ gpuTile: { bm: 60, tm: 8 }, variant: "gpu" }, /gpuTile\.bm \(60\) must be a multiple of tm 8/);
  await bad({}, /buffer c is the same buffer as a/, [a, b, a]);
  await bad({}, /buffer c is the same buffer as b/, [a, b, b]);
  await bad({ bias: {} }, /bias layout is given but no bias buffer/);
  await bad({}, /bias buffer was passed but spec\.bias is missing/, [a, b, c, b]);
  await bad({ bias: { offset: 62 } }, /operand bias .* runs to element 65/, [a, b, c, b]);
  // sumBatch1: C and bias have no level-1 slices; level 0 is still checked for distinct outputs.
  const sum = { sumBatch1: true, batch: [1, 2] as const, a: { stride: [0, 16] as const } };
  await bad({ sumBatch1: "yes" as unknown as boolean }, /sumBatch1 must be a boolean/);
  await bad({ ...sum, c: { stride: [0, 16] } }, /: c\.stride\[1\] must be 0 with sumBatch1/);
  await bad({ ...sum, bias: { stride: [0, 4] } }, /: bias\.stride\[1\] must be 0 with sumBatch1/, [
    a,
    b,
    c,
    b,
  ]);
  await bad({ ...sum, batch: [2, 2], c: { stride: [0, 0] } }, /c\.stride\[0\] is 0 while batch\[0\] = 2/);
  assert.equal(normalizeMatmul({ ...ok, ...sum, c: { stride: [0, 0] } }).sumBatch1, true);
  for (const x of [a, b, c]) x.destroy();
});

interface ColCase {
  M: number;
  N: number;
  batch?: [number, number];
  ld?: number;
  alpha?: number;
  accumulate?: boolean;
}

Deno.test("colsum: matches f64 (one pass and two passes, batches, offsets, ld, alpha, accumulate)", async () => {
  const gpu = await getGpu();
  const cases: ColCase[] = [
    { M: 1, N: 1 },
    { M: 3, N: 5, ld: 7, alpha: -2 },
    { M: 256, N: 64, batch: [2, 3], accumulate: true },
    { M: 257, N: 130, ld: 131, alpha: 0.5, batch: [1, 2] },
    { M: 1000, N: 3, batch: [3, 1], accumulate: true, alpha: 1.5 },
    { M: 65536, N: 8 },
  ];
  let seed = 900;
  for (const k of cases) {
    const [b0, b1] = k.batch ?? [1, 1];
    const ld = k.ld ?? k.N;
    const slice = k.M * ld + 3;
    const spec: ColSumSpec = {
      label: `colsum ${k.M}×${k.N}`,
      M: k.M,
      N: k.N,
      alpha: k.alpha,
      accumulate: k.accumulate,
      batch: k.batch,
      src: { offset: 5, ld, stride: [b1 * slice, slice] },
      dst: { offset: 2, stride: [b1 * (k.N + 1), k.N + 1] },
    };
    const srcData = uniforms(5 + b0 * b1 * slice + 4, seed += 3);
    const dstData = uniforms(2 + b0 * b1 * (k.N + 1) + 3, seed + 1);
    const src = storageFrom(gpu, "src", srcData);
    const dst = storageFrom(gpu, "dst", dstData);
    const ops = await createColSum(gpu, spec, src, dst);
    submitDispatches(gpu, ops);
    const got = await readF32(gpu, dst, 0, dstData.length * 4);
    const want = colSumReference(spec, srcData, dstData);
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
    // Bound: f32 summation of M values ≤ max|src| (worst case grows like M·ε·|partial sum|; this is looser).
    const bound = 1e-6 * k.M * maxAbs(srcData) * Math.abs(k.alpha ?? 1) + 1e-6 * maxAbs(dstData);
    console.log(
      `  ${spec.label} batch [${b0},${b1}] (${ops.length} pass${ops.length > 1 ? "es" : ""}): ` +
        `max |gpu − f64| = ${diff.toExponential(2)} (bound ${bound.toExponential(2)})`,
    );
    assert.ok(diff <= bound, `${spec.label}: max diff ${diff} > bound ${bound}`);
    src.destroy();
    dst.destroy();
  }
});

Deno.test("colsum: bad specs and buffers give errors naming the field", async () => {
  const gpu = await getGpu();
  const src = storageFrom(gpu, "src", new Float32Array(64));
  const dst = storageFrom(gpu, "dst", new Float32Array(8));
  const ok: ColSumSpec = { M: 8, N: 8, src: {}, dst: {} };
  const bad = (spec: Partial<ColSumSpec>, re: RegExp, d = dst) =>
    assert.rejects(() => createColSum(gpu, { ...ok, ...spec } as ColSumSpec, src, d), re);
  await bad({ N: 0 }, /colsum "colsum": N must be a positive integer/);
  await bad({ src: { ld: 4 } }, /src\.ld \(4\) must be at least the stored row length 8/);
  await bad({ M: 9 }, /operand src .* runs to element 71 but its buffer holds 64/);
  await bad({ dst: { offset: 1 } }, /operand dst/);
  await bad({ batch: [1, 2], src: { stride: [0, 0] }, dst: { stride: [0, 0] } }, /dst\.stride\[1\] is 0/);
  await bad({}, /buffer dst is the same buffer as src/, src);
  src.destroy();
  dst.destroy();
});
