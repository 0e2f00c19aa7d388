/**
 * LayerNorm with TransformerLens semantics (biased variance, eps = 1e-5 inside the square root), batched over
 * C parameter copies (kernels/layernorm.wgsl). Activations [C, B, T, D] (row r = b·T + t inside a copy,
 * R = B·T rows per copy), params and grads [C, P] with w and b [D] (and W_pos for the optional second output)
 * at offsets inside a copy.
 *
 *   forward   y = (x − μ)·rstd·w + b, stats [C, R, 2] = (μ, rstd); optionally y2 = y + W_pos[t] (shortformer's
 *             query/key input, so the addition costs no extra pass over the activations)
 *   backward  with g = dy (+ dy2): dx += rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)); dw += Σ_rows g·x̂; db += Σ_rows g
 *
 * dx accumulates because it is the residual-stream gradient that other paths also feed; dw and db accumulate
 * so that several contributions can add. The column sums over up to 65536 rows are deterministic: per-block
 * partial sums into a scratch buffer owned by the op, then a second pass in block order (no atomics).
 */
import type { Gpu } from "../gpu/device.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { storageBuffer } from "../gpu/buffers.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { type ParamLayout, tensor } from "./params.ts";
import { requireDistinct, requireFinite, requireInt, requireMultiple, requireSpan } from "../gpu/checks.ts";
import { foldGrid } from "../gpu/grid.ts";
import { uniformStruct } from "../gpu/uniform.ts";

/** TransformerLens' LayerNorm epsilon. */
export const LN_EPS = 1e-5;

/** Invocations per workgroup of the column passes. */
const WG = 64;

export interface LayerNormSpec {
  copies: number;
  /** Sequences per copy B; or give `rows` instead. */
  batch?: number;
  /** Rows per copy R = B·T (a multiple of seqLen); an alternative to `batch`. */
  rows?: number;
  seqLen: number;
  /** d_model; a multiple of 4 (the kernels move vec4s). */
  dModel: number;
  /** Element offsets of w and b [D] inside one parameter copy; multiples of 4. */
  wOffset: number;
  bOffset: number;
  /** Element offset of pos_embed.W_pos [n_ctx, D] inside a copy; required for the second output y2. */
  posOffset?: number;
  /** Elements between parameter (and gradient) copies; a multiple of 4. */
  paramStride: number;
  /** Default 1e-5 (TransformerLens). */
  eps?: number;
  /**
   * Invocations per row, a power of two ≤ 64. Default: 1 on CPU adapters (llvmpipe runs a workgroup on one
   * thread and every barrier costs a coroutine switch), up to 32 on GPUs (coalesced row reads).
   */
  lanes?: number;
  /**
   * Backward as one fused pass for dx and the dw/db partial sums (then the reduce) instead of two passes.
   * Default: fused with one lane per row when D/4 ≤ 256 (see columnBlocking); requires that when true.
   */
  fuseBackward?: boolean;
  /** Element offsets (multiples of 4, default 0): x; y (forward) and dy (backward); y2 and dy2; dx. */
  xOffset?: number;
  yOffset?: number;
  y2Offset?: number;
  dxOffset?: number;
  /** Element offset of stats [C, R, 2] (default 0). */
  statsOffset?: number;
  /**
   * Run on copies [firstCopy, firstCopy + copies) of buffers laid out for more copies (default 0): params and
   * grads start firstCopy·paramStride further in, activations firstCopy·R·D (stats firstCopy·R·2), on top of
   * the offsets above.
   */
  firstCopy?: number;
}

interface Checked {
  C: number;
  R: number;
  T: number;
  D: number;
  P: number;
  w: number;
  b: number;
  pos: number | undefined;
  eps: number;
  lanes: number;
  fuse: boolean | undefined;
  rows: number;
  x: number;
  y: number;
  y2: number;
  dx: number;
  stats: number;
  /** Copies from the buffers' start to the end of this op's: params and grads must hold span·P elements. */
  span: number;
}

/** R from `batch` (B·T) or `rows`; exactly one is needed (both are accepted when they agree). */
function rowsPerCopy(spec: LayerNormSpec, T: number): number {
  if (spec.batch === undefined && spec.rows === undefined) {
    throw new RangeError("layernorm batch: expected the sequences per copy (or rows, the rows per copy)");
  }
  const fromBatch = spec.batch === undefined ? undefined : T * requireInt("layernorm batch", spec.batch, 1);
  if (spec.rows === undefined) return fromBatch!;
  const R = requireInt("layernorm rows", spec.rows, 1);
  if (R % T !== 0) throw new RangeError(`layernorm rows: ${R} is not a multiple of seqLen ${T}`);
  if (fromBatch !== undefined && fromBatch !== R) {
    throw new RangeError(`layernorm rows: ${R} disagrees with batch·seqLen = ${fromBatch}`);
  }
  return R;
}

function checkSpec(gpu: Gpu, spec: LayerNormSpec): Checked {
  if (typeof spec !== "object" || spec === null) throw new RangeError("layernorm spec: expected an object");
  const C = requireInt("layernorm copies", spec.copies, 1);
  const T = requireInt("layernorm seqLen", spec.seqLen, 1);
  const R = rowsPerCopy(spec, T);
  const D = requireMultiple("layernorm dModel", requireInt("layernorm dModel", spec.dModel, 4));
  const P = requireMultiple(
    "layernorm paramStride",
    requireInt("layernorm paramStride", spec.paramStride, 1),
  );
  const offset = (name: string, v: number | undefined, span: number) => {
    const o = requireMultiple(`layernorm ${name}`, requireInt(`layernorm ${name}`, v ?? 0));
    if (o + span > P) {
      throw new RangeError(`layernorm ${name}: ${span} elements at ${o} overrun the copy stride ${P}`);
    }
    return o;
  };
  const w = offset("wOffset", spec.wOffset, D);
  const b = offset("bOffset", spec.bOffset, D);
  const pos = spec.posOffset === undefined ? undefined : offset("posOffset", spec.posOffset, T * D);
  const eps = requireFinite("layernorm eps", spec.eps ?? LN_EPS);
  if (eps <= 0) throw new RangeError(`layernorm eps: expected a positive number, got ${eps}`);
  const lanes = requireInt("layernorm lanes", spec.lanes ?? defaultLanes(gpu, D), 1);
  if (lanes > 64 || (lanes & (lanes - 1)) !== 0) {
    throw new RangeError(`layernorm lanes: expected a power of two ≤ 64, got ${lanes}`);
  }
  const first = requireInt("layernorm firstCopy", spec.firstCopy ?? 0);
  const span = first + C;
  if (span * R * D >= 2 ** 32 || span * P >= 2 ** 32) {
    throw new RangeError(`layernorm: C·B·T·D = ${span * R * D} or C·paramStride exceeds u32 indexing`);
  }
  // Element offsets inside the whole buffers: the op's first copy starts `first` copies in.
  const act = (name: string, v: number | undefined) =>
    requireMultiple(`layernorm ${name}`, requireInt(`layernorm ${name}`, v ?? 0)) + first * R * D;
  const params = first * P;
  return {
    C,
    R,
    T,
    D,
    P,
    w: w + params,
    b: b + params,
    pos: pos === undefined ? undefined : pos + params,
    eps,
    lanes,
    fuse: spec.fuseBackward,
    rows: C * R,
    x: act("xOffset", spec.xOffset),
    y: act("yOffset", spec.yOffset),
    y2: act("y2Offset", spec.y2Offset),
    dx: act("dxOffset", spec.dxOffset),
    stats: requireInt("layernorm statsOffset", spec.statsOffset ?? 0) + first * R * 2,
    span,
  };
}

/** Lanes per row: 1 on CPU adapters; on GPUs the power of two nearest D/4, capped at 32 (≥ 1 vec4 per lane). */
function defaultLanes(gpu: Gpu, D: number): number {
  if (gpu.kind === "cpu") return 1;
  let lanes = 1;
  while (lanes * 2 <= Math.min(32, D / 4)) lanes *= 2;
  return lanes;
}

/** Rows per workgroup: 64 invocations on CPU adapters, 256 on GPUs. */
function rowsPerGroup(gpu: Gpu, lanes: number): number {
  return Math.max(1, (gpu.kind === "cpu" ? 64 : 256) / lanes);
}

/**
 * Rows per column block of the dw/db reduction: the power of two nearest √R, so that both passes loop about
 * √R times (R = 8192: 128 rows × 64 blocks; R = 65536: 256 × 256).
 */
export function columnBlockRows(R: number): number {
  return 2 ** Math.ceil(Math.log2(Math.sqrt(R)));
}

export interface ColumnBlocking {
  /** Backward in two dispatches (fused dx and column partials, then the reduce) instead of three. */
  fused: boolean;
  /** Invocations per workgroup of the column entries (and of the fused one: one row, then one column each). */
  wg: number;
  /** Rows per block of the dw/db partial sums (the fused entry needs a multiple of wg). */
  blockRows: number;
  /** Blocks per copy: ceil(R / blockRows). */
  nBlocks: number;
}

/**
 * How the backward cuts each copy's R rows for the dw/db sums. With one lane per row (CPU adapters) the fused
 * entry computes dx and the column partials in one pass over the activations instead of two. On llvmpipe
 * (R = 8192, D = 256, with dy2) both take about 25 ms (fused 22-29 ms, unfused 23-31 ms over six runs on a
 * loaded 2-core machine): the fused pass saves memory traffic, the gain is within the noise there. It needs
 * D/4 ≤ its workgroup size ≤ 256.
 */
export function columnBlocking(R: number, D: number, lanes: number, fuse?: boolean): ColumnBlocking {
  const D4 = D / 4;
  let wg = WG;
  while (wg < D4) wg *= 2;
  const fusable = lanes === 1 && wg <= 256;
  if (fuse && !fusable) {
    throw new RangeError(
      `layernorm fuseBackward: needs lanes = 1 and dModel ≤ 1024, got lanes ${lanes}, dModel ${D}`,
    );
  }
  const fused = fuse ?? fusable;
  if (!fused) wg = WG;
  const rows = columnBlockRows(R);
  const blockRows = fused ? Math.ceil(rows / wg) * wg : rows;
  return { fused, wg, blockRows, nBlocks: Math.ceil(R / blockRows) };
}

/** The uniform shared by every entry point (field order of `Params` in the kernel). */
function uniformFor(gpu: Gpu, s: Checked, blocking: ColumnBlocking, label: string): GPUBuffer {
  return uniformStruct(gpu, label, [
    ["u32", s.rows],
    ["u32", s.R],
    ["u32", s.T],
    ["u32", s.D / 4],
    ["f32", 1 / s.D],
    ["f32", s.eps],
    ["u32", s.P / 4],
    ["u32", s.w / 4],
    ["u32", s.b / 4],
    ["u32", (s.pos ?? 0) / 4],
    ["u32", s.x / 4],
    ["u32", s.y / 4],
    ["u32", s.y2 / 4],
    ["u32", s.dx / 4],
    ["u32", s.stats],
    ["u32", blocking.blockRows],
    ["u32", blocking.nBlocks],
  ]);
}

/** A LayerNormSpec for ln1 of a block ("blocks.0.ln1") or the final one ("ln_final") of a model layout. */
export function layerNormSpecFor(
  layout: ParamLayout,
  prefix: string,
  shape: { copies: number; batch: number; seqLen: number },
): LayerNormSpec {
  const cfg = layout.config;
  if (shape.seqLen > cfg.n_ctx) {
    throw new RangeError(`layernorm seqLen: ${shape.seqLen} exceeds the model's n_ctx ${cfg.n_ctx}`);
  }
  return {
    ...shape,
    dModel: cfg.d_model,
    wOffset: tensor(layout, `${prefix}.w`).offset,
    bOffset: tensor(layout, `${prefix}.b`).offset,
    posOffset: tensor(layout, "pos_embed.W_pos").offset,
    paramStride: layout.stride,
  };
}

/**
 * Prepares the forward (one dispatch): y (and y2 when given: y + W_pos[t], needs spec.posOffset) and the
 * stats (μ, rstd) the backward needs; all outputs overwritten.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayerNorm, getGpu, initParams, paramLayout, readF32, storageBuffer, storageFrom, submitProgram, TINY_CONFIG } from "chi";
 * import { layerNormSpecFor } from "chi/lib/model/layernorm.ts";
 *
 * const gpu = await getGpu();
 * const layout = paramLayout(TINY_CONFIG);
 * const spec = layerNormSpecFor(layout, "blocks.0.ln1", { copies: 1, batch: 1, seqLen: 2 });
 * const D = TINY_CONFIG.d_model, R = 2; // rows
 * const x = storageFrom(gpu, "x", Float32Array.from({ length: R * D }, (_, i) => Math.sin(i)));
 * const params = storageFrom(gpu, "params", initParams(TINY_CONFIG, 0)); // w = 1, b = 0
 * const y = storageBuffer(gpu, "y", R * D * 4), stats = storageBuffer(gpu, "stats", R * 2 * 4);
 * submitProgram(gpu, await createLayerNorm(gpu, spec, x, params, y, stats));
 * const row = (await readF32(gpu, y)).subarray(0, D);
 * assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) / D) < 1e-5); // mean 0
 * assert.ok(Math.abs(row.reduce((s, v) => s + v * v, 0) / D - 1) < 1e-3); // variance 1
 * ```
 */
export async function createLayerNorm(
  gpu: Gpu,
  spec: LayerNormSpec,
  x: GPUBuffer,
  params: GPUBuffer,
  y: GPUBuffer,
  stats: GPUBuffer,
  y2?: GPUBuffer,
): Promise<Dispatch[]> {
  const s = checkSpec(gpu, spec);
  const n = s.rows * s.D;
  requireSpan(gpu, "layernorm x", x, s.x + n);
  requireSpan(gpu, "layernorm params", params, s.span * s.P);
  requireSpan(gpu, "layernorm y", y, s.y + n);
  requireSpan(gpu, "layernorm stats", stats, s.stats + 2 * s.rows);
  const reads: Array<[string, GPUBuffer]> = [["layernorm x", x], ["layernorm params", params]];
  requireDistinct(["layernorm y", y], reads);
  requireDistinct(["layernorm stats", stats], reads);
  if (y2 !== undefined) {
    if (s.pos === undefined) throw new RangeError("layernorm posOffset: required for the second output y2");
    requireSpan(gpu, "layernorm y2", y2, s.y2 + n);
    requireDistinct(["layernorm y2", y2], reads);
  }
  const ROWS = rowsPerGroup(gpu, s.lanes);
  const kernel = await loadKernel(gpu, "layernorm", {
    entry: "forward",
    consts: { LANES: s.lanes, ROWS, WITH_Y2: y2 !== undefined },
  });
  const u = uniformFor(gpu, s, columnBlocking(s.R, s.D, s.lanes, s.fuse), "layernorm params");
  // Without y2 the kernel never touches binding 5, but the pipeline layout still has it.
  const y2Buf = y2 ?? storageBuffer(gpu, "layernorm unused y2", 16);
  return [
    prepare(
      kernel,
      [u, x, params, y, stats, y2Buf],
      foldGrid(Math.ceil(s.rows / ROWS), "layernorm"),
      "layernorm forward",
    ),
  ];
}

/**
 * Prepares the backward: dx += input gradient, grads[w] += dw and grads[b] += db through a deterministic
 * two-pass column sum (two dispatches on CPU adapters, three otherwise: see columnBlocking). dy2, when given, is the gradient w.r.t. the second output y2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createLayerNorm,
 *   createLayerNormBackward,
 *   getGpu,
 *   initParams,
 *   paramLayout,
 *   readF32,
 *   storageBuffer,
 *   storageFrom,
 *   submitProgram,
 *   tensor,
 *   TINY_CONFIG,
 * } from "chi";
 * import { layerNormSpecFor } from "chi/lib/model/layernorm.ts";
 *
 * const gpu = await getGpu();
 * const layout = paramLayout(TINY_CONFIG);
 * const spec = layerNormSpecFor(layout, "blocks.0.ln1", { copies: 1, batch: 1, seqLen: 2 });
 * const D = TINY_CONFIG.d_model, R = 2; // rows
 * const x = storageFrom(gpu, "x", Float32Array.from({ length: R * D }, (_, i) => Math.sin(i)));
 * const params = storageFrom(gpu, "params", initParams(TINY_CONFIG, 0)); // w = 1, b = 0
 * const y = storageBuffer(gpu, "y", R * D * 4), stats = storageBuffer(gpu, "stats", R * 2 * 4);
 * const dy = storageFrom(gpu, "dy", new Float32Array(R * D).fill(1));
 * const dx = storageBuffer(gpu, "dx", R * D * 4), grads = storageBuffer(gpu, "grads", layout.stride * 4);
 * submitProgram(gpu, [
 *   ...(await createLayerNorm(gpu, spec, x, params, y, stats)),
 *   ...(await createLayerNormBackward(gpu, spec, dy, x, stats, params, dx, grads)),
 * ]);
 * // db = Σ_rows dy = 2 in every column; dx = 0 for a constant dy (LayerNorm removes the mean).
 * const g = await readF32(gpu, grads);
 * assert.equal(g[tensor(layout, "blocks.0.ln1.b").offset], 2);
 * assert.ok((await readF32(gpu, dx)).every((v) => Math.abs(v) < 1e-5));
 * ```
 */
export async function createLayerNormBackward(
  gpu: Gpu,
  spec: LayerNormSpec,
  dy: GPUBuffer,
  x: GPUBuffer,
  stats: GPUBuffer,
  params: GPUBuffer,
  dx: GPUBuffer,
  grads: GPUBuffer,
  dy2?: GPUBuffer,
): Promise<Dispatch[]> {
  const s = checkSpec(gpu, spec);
  const n = s.rows * s.D;
  requireSpan(gpu, "layernorm backward dy", dy, s.y + n);
  if (dy2 !== undefined) requireSpan(gpu, "layernorm backward dy2", dy2, s.y2 + n);
  requireSpan(gpu, "layernorm backward x", x, s.x + n);
  requireSpan(gpu, "layernorm backward stats", stats, s.stats + 2 * s.rows);
  requireSpan(gpu, "layernorm backward params", params, s.span * s.P);
  requireSpan(gpu, "layernorm backward dx", dx, s.dx + n);
  requireSpan(gpu, "layernorm backward grads", grads, s.span * s.P);
  requireDistinct(["layernorm backward dx", dx], [
    ["layernorm backward dy", dy],
    ["layernorm backward dy2", dy2],
    ["layernorm backward x", x],
    ["layernorm backward stats", stats],
    ["layernorm backward params", params],
  ]);
  const WITH_DY2 = dy2 !== undefined;
  const blocking = columnBlocking(s.R, s.D, s.lanes, s.fuse);
  const u = uniformFor(gpu, s, blocking, "layernorm backward params");
  const partial = storageBuffer(gpu, "layernorm dw/db partial sums", s.C * blocking.nBlocks * 2 * s.D * 4);
  // Without dy2 the kernels never read its binding; dy stands in for it (read-only).
  const dy2Buf = dy2 ?? dy;
  const D4 = s.D / 4;
  const reduce = prepare(
    await loadKernel(gpu, "layernorm", { entry: "backward_reduce", consts: { WG: blocking.wg } }),
    [u, partial, grads],
    foldGrid(Math.ceil((s.C * 2 * D4) / blocking.wg), "layernorm backward reduce"),
    "layernorm backward dw/db reduce",
  );
  if (blocking.fused) {
    const kernel = await loadKernel(gpu, "layernorm", {
      entry: "backward_fused",
      consts: { WG: blocking.wg, WITH_DY2 },
    });
    return [
      prepare(
        kernel,
        [u, x, params, stats, dy, dy2Buf, dx, partial],
        foldGrid(s.C * blocking.nBlocks, "layernorm backward"),
        "layernorm backward dx + dw/db partial",
      ),
      reduce,
    ];
  }
  const ROWS = rowsPerGroup(gpu, s.lanes);
  const [kdx, kpart] = await Promise.all([
    loadKernel(gpu, "layernorm", { entry: "backward_dx", consts: { LANES: s.lanes, ROWS, WITH_DY2 } }),
    loadKernel(gpu, "layernorm", { entry: "backward_partial", consts: { WG: blocking.wg, WITH_DY2 } }),
  ]);
  return [
    prepare(
      kdx,
      [u, x, params, stats, dy, dy2Buf, dx],
      foldGrid(Math.ceil(s.rows / ROWS), "layernorm backward"),
      "layernorm backward dx",
    ),
    prepare(
      kpart,
      [u, x, stats, dy, dy2Buf, partial],
      foldGrid(Math.ceil((s.C * blocking.nBlocks * D4) / blocking.wg), "layernorm backward partial"),
      "layernorm backward dw/db partial",
    ),
    reduce,
  ];
}

// ---- float64 references ----

export interface LayerNormReference {
  /** [rows, D] */
  y: Float64Array;
  /** [rows, 2]: (μ, rstd) */
  stats: Float64Array;
}

/**
 * Float64 forward over `rows` compact rows of D: x [rows, D], w and b [D]. TransformerLens semantics.
 */
export function layerNormReference(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  D: number,
  eps = LN_EPS,
): LayerNormReference {
  if (x.length % D !== 0) {
    throw new RangeError(`layerNormReference x: ${x.length} is not a multiple of D = ${D}`);
  }
  const rows = x.length / D;
  const y = new Float64Array(rows * D);
  const stats = new Float64Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let d = 0; d < D; d++) mean += x[r * D + d];
    mean /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[r * D + d] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / D + eps);
    stats[2 * r] = mean;
    stats[2 * r + 1] = rstd;
    for (let d = 0; d < D; d++) y[r * D + d] = (x[r * D + d] - mean) * rstd * w[d] + b[d];
  }
  return { y, stats };
}

export interface LayerNormGradients {
  /** [rows, D] */
  dx: Float64Array;
  /** [D] */
  dw: Float64Array;
  /** [D] */
  db: Float64Array;
}

/**
 * Float64 backward over compact rows: gradients of Σ g·y w.r.t. x, w and b, for the upstream gradient
 * g = dy [rows, D] (add dy2 before calling: y2 = y + W_pos has the same derivative w.r.t. x, w, b).
 */
export function layerNormBackwardReference(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  D: number,
  eps = LN_EPS,
): LayerNormGradients {
  const { stats } = layerNormReference(x, w, new Float64Array(D), D, eps);
  const rows = x.length / D;
  const dx = new Float64Array(rows * D);
  const dw = new Float64Array(D);
  const db = new Float64Array(D);
  const xh = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    const mean = stats[2 * r], rstd = stats[2 * r + 1];
    let sg = 0, sgx = 0;
    for (let d = 0; d < D; d++) {
      const g = dy[r * D + d];
      xh[d] = (x[r * D + d] - mean) * rstd;
      sg += g * w[d];
      sgx += g * w[d] * xh[d];
      dw[d] += g * xh[d];
      db[d] += g;
    }
    for (let d = 0; d < D; d++) {
      dx[r * D + d] = rstd * (dy[r * D + d] * w[d] - sg / D - xh[d] * sgx / D);
    }
  }
  return { dx, dw, db };
}
