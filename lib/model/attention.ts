/**
 * Fused causal multi-head attention (TransformerLens semantics: scores q·k / sqrt(d_head), key j visible to
 * query i iff j ≤ i, softmax over keys), forward and backward, batched over C copies (SGLD chains).
 *
 * Layouts (elements are f32; every operand sits at an element offset in its buffer):
 *   q, k, v, dq, dk, dv  [C, H, B, T, E]   head-major inside a copy: sequence (c,h,b) starts at ((c·H+h)·B+b)·T·E
 *   z, dz                [C, B, T, H, E]   so that z viewed [C][B·T, H·E] multiplies W_O viewed [H·E, D]
 *   lse, d               [C, H, B, T]      row log-sum-exp of the scores; D = rowsum(dz∘z) (backward scratch)
 *
 * Forward: kernels/attention_forward.wgsl (FlashAttention-2 style online softmax, stores lse). Backward, two
 * dispatches and no atomics: kernels/attention_backward_dq.wgsl (D = rowsum(dz∘z) and dq, looping over keys for
 * a fixed query) then kernels/attention_backward_dkdv.wgsl (dk and dv, looping over queries for a fixed key). P
 * is recomputed from lse. Outputs are overwritten. Each invocation handles QB rows (AttentionOptions.rows).
 *
 * Head subsets: `shape.heads = {first, count}` computes only heads [first, first + count) of every copy (default
 * all H). The operands keep the layout of all H heads above; the grid covers only the C·count·B·T computed rows,
 * which the kernels map to their storage rows (rowAt in kernels/attention_params.wgsl), and the other heads'
 * outputs (z, lse forward; dq, dk, dv, d backward) are left as they were, neither written nor zeroed. Heads are
 * independent, so a computed head's results are bit-identical to those of the all-heads run. Why: an SGLD copy
 * restricted to one head h of a layer needs only that head's dq, dk, dv (heads: {first: h, count: 1}).
 *
 * Float64 references for tests: attentionReference, attentionBackwardReference (both honour `shape.heads`: the
 * other heads' outputs are 0).
 */
import type { Gpu } from "../gpu/device.ts";
import { params, storageFrom, uniformFrom } from "../gpu/buffers.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { TileCacheError, timeDispatches, tunedTile, tuningSummary } from "./matmul_tune.ts";
import {
  composeWgsl,
  type Kernel,
  kernelFromSource,
  readWgsl,
  repeatBlocks,
  specialize,
} from "../gpu/kernel.ts";

/** C copies, B sequences, T positions, H heads, E = d_head; optionally a subset of the heads to compute. */
export interface AttentionShape {
  C: number;
  B: number;
  T: number;
  H: number;
  E: number;
  /**
   * Compute only heads [first, first + count) of every copy (default: all H). Operands keep the layout of all H
   * heads; the other heads' outputs are not written.
   */
  heads?: AttentionHeads;
}

/**
 * How the kernels are laid out (not what they compute: every choice gives the same bits). `rows`: the most
 * rows (query rows in the forward and dq, key rows in dk/dv) one invocation handles; the kernels use the largest
 * power of two up to it that divides T. Default: 8 on CPU adapters, where it makes the kernels 1.8-2.5× faster
 * (see rowsPerInvocation), and 1 on GPUs, whose registers would not hold 8 rows' state (not measured on a GPU).
 */
export interface AttentionOptions {
  rows?: number;
}

/** A contiguous range of heads: integers with 0 ≤ first, count ≥ 1, first + count ≤ H. */
export interface AttentionHeads {
  first: number;
  count: number;
}

/** A tensor inside a GPU buffer: `offset` is in f32 elements (default 0). */
export interface Operand {
  buffer: GPUBuffer;
  offset?: number;
}

export interface AttentionForwardIO {
  q: Operand;
  k: Operand;
  v: Operand;
  /** Output [C, B, T, H, E] (overwritten). */
  z: Operand;
  /** Output [C, H, B, T] (overwritten): log-sum-exp of each query row's scaled scores. */
  lse: Operand;
}

export interface AttentionBackwardIO {
  q: Operand;
  k: Operand;
  v: Operand;
  /** The forward output O, [C, B, T, H, E]. */
  z: Operand;
  /** The forward's log-sum-exp, [C, H, B, T]. */
  lse: Operand;
  /** dLoss/dz, [C, B, T, H, E]. */
  dz: Operand;
  /** Outputs [C, H, B, T, E] (overwritten, not accumulated). */
  dq: Operand;
  dk: Operand;
  dv: Operand;
  /** Scratch [C, H, B, T] for D = rowsum(dz∘z) (overwritten). */
  d: Operand;
}

/** Thrown for an unusable shape or operand; names the argument. */
export class AttentionError extends Error {
  constructor(readonly argument: string, message: string) {
    super(`attention: ${argument}: ${message}`);
    this.name = "AttentionError";
  }
}

/** Invocations per workgroup (one row each). */
const WG = 64;
/** Most rows per invocation a caller may ask for (AttentionOptions.rows): the kernel text grows with it. */
const MAX_ROWS = 64;
/** Largest d_head: the kernels keep a few rows of E floats per invocation in registers. */
const MAX_E = 128;

/**
 * Checks the shape (heads included); throws AttentionError naming the field. Returns the row count C·H·B·T of
 * the layout (all heads), which sizes the operands whatever `heads` says.
 */
export function validateAttentionShape(shape: AttentionShape): number {
  if (typeof shape !== "object" || shape === null) {
    throw new AttentionError("shape", "expected {C, B, T, H, E}");
  }
  for (const f of ["C", "B", "T", "H", "E"] as const) {
    const v = shape[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new AttentionError(`shape.${f}`, `expected a positive integer, got ${v}`);
    }
  }
  if (shape.E % 4 !== 0 || shape.E > MAX_E) {
    throw new AttentionError(
      "shape.E",
      `d_head must be a multiple of 4 and at most ${MAX_E}, got ${shape.E}`,
    );
  }
  const rows = shape.C * shape.H * shape.B * shape.T;
  if (rows * shape.E >= 2 ** 32) {
    throw new AttentionError("shape", `C·H·B·T·E = ${rows * shape.E} elements exceeds u32 indexing`);
  }
  const heads = shape.heads;
  if (heads !== undefined) {
    if (typeof heads !== "object" || heads === null) {
      throw new AttentionError("shape.heads", `expected {first, count} or undefined, got ${heads}`);
    }
    const { first, count } = heads;
    if (typeof first !== "number" || !Number.isInteger(first) || first < 0) {
      throw new AttentionError("shape.heads.first", `expected a non-negative integer, got ${first}`);
    }
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1) {
      throw new AttentionError("shape.heads.count", `expected a positive integer, got ${count}`);
    }
    if (first + count > shape.H) {
      throw new AttentionError(
        "shape.heads.count",
        `heads [${first}, ${first + count}) exceed the H = ${shape.H} heads (first + count must be ≤ H)`,
      );
    }
  }
  return rows;
}

/** The heads a (validated) shape computes: `shape.heads`, or all H. */
function headRange(shape: AttentionShape): AttentionHeads {
  return shape.heads ?? { first: 0, count: shape.H };
}

/** Whether sequence seq = (c·H + h)·B + b of the layout belongs to a computed head. */
function computesSeq(shape: AttentionShape, seq: number): boolean {
  const { first, count } = headRange(shape);
  const h = Math.floor(seq / shape.B) % shape.H;
  return h >= first && h < first + count;
}

/**
 * The head of every attention Params (struct Rows of kernels/attention_params.wgsl): computed rows C·count·B·T,
 * T, B, H, first head, head count, two zero pads (a uniform struct member spans a multiple of 16 bytes).
 */
function rowsHead(shape: AttentionShape): { n: number; head: Array<["u32", number]> } {
  const { first, count } = headRange(shape);
  const n = shape.C * count * shape.B * shape.T;
  return {
    n,
    head: [
      ["u32", n],
      ["u32", shape.T],
      ["u32", shape.B],
      ["u32", shape.H],
      ["u32", first],
      ["u32", count],
      ["u32", 0],
      ["u32", 0],
    ],
  };
}

/**
 * Floating-point operations counted the usual way (two per multiply-add over the causal pairs), over the
 * computed heads (`shape.heads`, default all H).
 */
export function attentionFlops(shape: AttentionShape): { forward: number; backward: number } {
  const pairs = shape.C * headRange(shape).count * shape.B * (shape.T * (shape.T + 1)) / 2;
  // forward: q·k and p·v (2 products of E); backward: q·k recompute, dz·v, p·dz, ds·q, ds·k (5 products).
  return { forward: pairs * 4 * shape.E, backward: pairs * 10 * shape.E };
}

interface Bound {
  name: string;
  buffer: GPUBuffer;
  /** First element of the operand. */
  offset: number;
  /** Elements it spans. */
  length: number;
  vec4: boolean;
  write: boolean;
}

function operand(
  io: Record<string, Operand | undefined>,
  name: string,
  length: number,
  vec4: boolean,
  write: boolean,
): Bound {
  const op = io[name];
  if (typeof op !== "object" || op === null || !(op.buffer instanceof GPUBuffer)) {
    throw new AttentionError(name, "expected {buffer: GPUBuffer, offset: number}");
  }
  const offset = op.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new AttentionError(name, `offset must be a non-negative integer element count, got ${offset}`);
  }
  if (vec4 && offset % 4 !== 0) {
    throw new AttentionError(
      name,
      `offset ${offset} must be a multiple of 4 elements (the kernels read vec4s)`,
    );
  }
  const need = (offset + length) * 4;
  if (need > op.buffer.size) {
    throw new AttentionError(
      name,
      `needs ${length} f32 at element offset ${offset} (${need} bytes) but buffer "${op.buffer.label}" has ` +
        `${op.buffer.size} bytes`,
    );
  }
  if (!(op.buffer.usage & GPUBufferUsage.STORAGE)) {
    throw new AttentionError(name, `buffer "${op.buffer.label}" lacks STORAGE usage`);
  }
  return { name, buffer: op.buffer, offset, length, vec4, write };
}

/** Outputs must not overlap any other operand: reading and writing the same elements would race. */
function checkOverlaps(ops: Bound[]): void {
  for (let a = 0; a < ops.length; a++) {
    for (let b = a + 1; b < ops.length; b++) {
      const x = ops[a], y = ops[b];
      if (!x.write && !y.write) continue;
      if (x.buffer !== y.buffer) continue;
      if (x.offset < y.offset + y.length && y.offset < x.offset + x.length) {
        throw new AttentionError(
          x.write ? x.name : y.name,
          `overlaps ${x.write ? y.name : x.name} in buffer "${x.buffer.label}" (elements ` +
            `[${x.offset}, ${x.offset + x.length}) and [${y.offset}, ${y.offset + y.length}))`,
        );
      }
    }
  }
}

/**
 * Binds the smallest aligned range holding the operand (so that tensors inside buffers larger than the
 * per-binding limit still bind); returns the binding and the operand's offset inside it, in vec4s or f32s.
 */
function bindRange(gpu: Gpu, op: Bound): { binding: GPUBufferBinding; offset: number } {
  const align = gpu.device.limits.minStorageBufferOffsetAlignment;
  const base = Math.floor((op.offset * 4) / align) * align;
  const rel = op.offset - base / 4;
  const size = (rel + op.length) * 4;
  const max = gpu.device.limits.maxStorageBufferBindingSize;
  if (size > max) {
    throw new AttentionError(
      op.name,
      `spans ${size} bytes, over the device's maxStorageBufferBindingSize ${max}: split the copies (C) ` +
        `into several calls`,
    );
  }
  return { binding: { buffer: op.buffer, offset: base, size }, offset: op.vec4 ? rel / 4 : rel };
}

/**
 * Compiles `file` for d_head E, with the block the three attention kernels share appended
 * (kernels/attention_params.wgsl: the Params head Rows, bindings 0-3, the row addressing). When a buffer is
 * bound both read-only and writable in one dispatch (WebGPU forbids that mix), every storage binding is declared
 * read_write instead; overlaps were rejected already.
 */
function attentionKernel(gpu: Gpu, file: string, E: number, qb: number, ops: Bound[]): Promise<Kernel> {
  const readBufs = new Set(ops.filter((o) => !o.write).map((o) => o.buffer));
  const aliased = ops.some((o) => o.write && readBufs.has(o.buffer));
  const own = repeatBlocks(file, specialize(file, readWgsl(file), { E4: E / 4, WG, QB: qb }), { U: qb });
  let source = composeWgsl(own, ["attention_params"]);
  if (aliased) source = source.replaceAll("var<storage, read>", "var<storage, read_write>");
  return kernelFromSource(gpu, aliased ? `${file} (aliased)` : file, source);
}

/**
 * Rows per invocation (QB in the kernels): the largest power of two up to `opts.rows` (default 8 on CPU
 * adapters, 1 on GPUs) that divides T, so that an invocation's rows are consecutive positions of one sequence.
 * Each key (or query) row an invocation loads then serves QB rows. On CPU adapters the kernels are bound by their
 * loads from storage buffers (issued per SIMD lane), and that reuse is what their speed rests on. Measured on
 * llvmpipe (2-core EPYC, 2026-12-01), C 2, B 2, T 1024, H 8, d_head 32, forward / dq / dk dv in ms: 1 row 316 /
 * 331 / 409, 8 rows 132 / 124 / 166, 16 rows 113 / 106 / 140. But llvmpipe compiles a kernel at its first
 * dispatch, and that time grows faster than the rows: 0.9 s for the three kernels with 1 row, 7.4 s with 8, 28 s
 * with 16 (d_head 32), once per process. Hence 8 as the CPU default.
 */
function rowsPerInvocation(gpu: Gpu, T: number, opts: AttentionOptions): number {
  const max = opts.rows ?? (gpu.kind === "cpu" ? 8 : 1);
  if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > MAX_ROWS) {
    throw new AttentionError("opts.rows", `expected an integer in [1, ${MAX_ROWS}], got ${max}`);
  }
  let qb = 1;
  while (qb * 2 <= max && T % (qb * 2) === 0) qb *= 2;
  return qb;
}

/** Workgroup grid for `rows` rows, folded into 2D when it exceeds the per-dimension limit. */
function grid(gpu: Gpu, rows: number): [number, number, number] {
  const groups = Math.ceil(rows / WG);
  const max = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y, 1];
}

/**
 * Prepares the causal attention forward (one dispatch) writing z and lse (of the heads `shape.heads`, default
 * all; the other heads' z and lse are not written).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAttentionForward, getGpu, readF32, storageBuffer, storageFrom, submitProgram } from "chi";
 *
 * const gpu = await getGpu();
 * const shape = { C: 1, B: 1, T: 2, H: 1, E: 4 }; // one sequence of 2 positions, one head of d_head 4
 * const buf = (label: string, data: number[]) => ({ buffer: storageFrom(gpu, label, new Float32Array(data)) });
 * // q = k = 0: every visible key gets the same weight.
 * const q = buf("q", [0, 0, 0, 0, 0, 0, 0, 0]), k = buf("k", [0, 0, 0, 0, 0, 0, 0, 0]);
 * const v = buf("v", [1, 2, 3, 4, 3, 2, 1, 0]);
 * const z = { buffer: storageBuffer(gpu, "z", 8 * 4) }, lse = { buffer: storageBuffer(gpu, "lse", 2 * 4) };
 * submitProgram(gpu, await createAttentionForward(gpu, shape, { q, k, v, z, lse }));
 * // Position 0 sees only itself; position 1 averages both values.
 * assert.deepEqual(await readF32(gpu, z.buffer), new Float32Array([1, 2, 3, 4, 2, 2, 2, 2]));
 * ```
 */
export async function createAttentionForward(
  gpu: Gpu,
  shape: AttentionShape,
  io: AttentionForwardIO,
  opts: AttentionOptions = {},
): Promise<Dispatch[]> {
  const rows = validateAttentionShape(shape);
  if (typeof io !== "object" || io === null) throw new AttentionError("io", "expected {q, k, v, z, lse}");
  const n = rows * shape.E;
  const r = io as unknown as Record<string, Operand>;
  const ops = [
    operand(r, "q", n, true, false),
    operand(r, "k", n, true, false),
    operand(r, "v", n, true, false),
    operand(r, "z", n, true, true),
    operand(r, "lse", rows, false, true),
  ];
  checkOverlaps(ops);
  const qb = opts.rows !== undefined
    ? rowsPerInvocation(gpu, shape.T, opts)
    : await tunedRows(gpu, "forward", shape);
  return [await forwardDispatch(gpu, shape, ops, qb)];
}

/** The forward's dispatch over checked operands (q, k, v, z, lse) with QB = qb. */
async function forwardDispatch(gpu: Gpu, shape: AttentionShape, ops: Bound[], qb: number): Promise<Dispatch> {
  const kernel = await attentionKernel(gpu, "attention_forward", shape.E, qb, ops);
  const b = ops.map((o) => bindRange(gpu, o));
  const computed = rowsHead(shape);
  const uniform = uniformFrom(
    gpu,
    "attention_forward params",
    params([
      ...computed.head,
      ...b.map((x) => ["u32", x.offset] as ["u32", number]),
      ["f32", 1 / Math.sqrt(shape.E)],
    ]),
  );
  return prepare(
    kernel,
    [uniform, ...b.map((x) => x.binding)],
    grid(gpu, computed.n / qb),
    "attention forward",
  );
}

/**
 * Prepares the causal attention backward (two dispatches: D and dq, then dk and dv), overwriting dq, dk,
 * dv and the scratch d. With `shape.heads = {first, count}` only those heads are computed (the grid covers
 * C·count·B·T rows) and written; the other heads' dq, dk, dv and d are left as they were. z, lse and dz need to
 * hold valid values only for the computed heads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createAttentionBackward,
 *   createAttentionForward,
 *   getGpu,
 *   readF32,
 *   storageBuffer,
 *   storageFrom,
 *   submitProgram,
 * } from "chi";
 *
 * const gpu = await getGpu();
 * const shape = { C: 1, B: 1, T: 2, H: 1, E: 4 }; // one sequence of 2 positions, one head of d_head 4
 * const buf = (label: string, data: number[]) => ({ buffer: storageFrom(gpu, label, new Float32Array(data)) });
 * // q = k = 0: every visible key gets the same weight.
 * const q = buf("q", [0, 0, 0, 0, 0, 0, 0, 0]), k = buf("k", [0, 0, 0, 0, 0, 0, 0, 0]);
 * const v = buf("v", [1, 2, 3, 4, 3, 2, 1, 0]);
 * const z = { buffer: storageBuffer(gpu, "z", 8 * 4) }, lse = { buffer: storageBuffer(gpu, "lse", 2 * 4) };
 * submitProgram(gpu, await createAttentionForward(gpu, shape, { q, k, v, z, lse }));
 * const dz = buf("dz", [1, 1, 1, 1, 1, 1, 1, 1]);
 * const [dq, dk, dv, d] = ["dq", "dk", "dv", "d"].map((label) => ({ buffer: storageBuffer(gpu, label, 8 * 4) }));
 * submitProgram(gpu, await createAttentionBackward(gpu, shape, { q, k, v, z, lse, dz, dq, dk, dv, d }));
 * // dv[j] = Σ_i P[i, j]·dz[i]: key 0 has weight 1 (from position 0) and 1/2 (from position 1), key 1 has 1/2.
 * assert.deepEqual(await readF32(gpu, dv.buffer), new Float32Array([1.5, 1.5, 1.5, 1.5, 0.5, 0.5, 0.5, 0.5]));
 * ```
 */
export async function createAttentionBackward(
  gpu: Gpu,
  shape: AttentionShape,
  io: AttentionBackwardIO,
  opts: AttentionOptions = {},
): Promise<Dispatch[]> {
  const rows = validateAttentionShape(shape);
  if (typeof io !== "object" || io === null) {
    throw new AttentionError("io", "expected {q, k, v, z, lse, dz, dq, dk, dv, d}");
  }
  const n = rows * shape.E;
  const r = io as unknown as Record<string, Operand>;
  const q = operand(r, "q", n, true, false);
  const k = operand(r, "k", n, true, false);
  const v = operand(r, "v", n, true, false);
  const z = operand(r, "z", n, true, false);
  const lse = operand(r, "lse", rows, false, false);
  const dz = operand(r, "dz", n, true, false);
  const dq = operand(r, "dq", n, true, true);
  const dk = operand(r, "dk", n, true, true);
  const dv = operand(r, "dv", n, true, true);
  const d = operand(r, "d", rows, false, true);
  checkOverlaps([q, k, v, z, lse, dz, dq, dk, dv, d]);
  const qb = opts.rows !== undefined
    ? rowsPerInvocation(gpu, shape.T, opts)
    : await tunedRows(gpu, "backward", shape);
  return await backwardDispatches(gpu, shape, { q, k, v, z, lse, dz, dq, dk, dv, d }, qb);
}

/** The backward's two dispatches over checked operands with QB = qb. */
async function backwardDispatches(
  gpu: Gpu,
  shape: AttentionShape,
  { q, k, v, z, lse, dz, dq, dk, dv, d }: Record<keyof AttentionBackwardIO, Bound>,
  qb: number,
): Promise<Dispatch[]> {
  const scale = 1 / Math.sqrt(shape.E);
  // Params.rows (struct Rows of kernels/attention_params.wgsl), then the offsets, then scale.
  const { n: computed, head } = rowsHead(shape);

  // Pass 1: D = rowsum(dz∘z) and dq. The kernel writes d, so d counts as an output here.
  const opsQ = [q, k, v, z, dz, lse, d, dq];
  const bq = opsQ.map((o) => bindRange(gpu, o));
  const kq = await attentionKernel(gpu, "attention_backward_dq", shape.E, qb, opsQ);
  const uq = uniformFrom(
    gpu,
    "attention_backward_dq params",
    params([...head, ...bq.map((x) => ["u32", x.offset] as ["u32", number]), ["f32", scale]]),
  );
  // Pass 2: dk and dv; d is an input here.
  const dIn: Bound = { ...d, write: false };
  const opsK = [q, k, v, dz, lse, dIn, dk, dv];
  const bk = opsK.map((o) => bindRange(gpu, o));
  const kk = await attentionKernel(gpu, "attention_backward_dkdv", shape.E, qb, opsK);
  const uk = uniformFrom(
    gpu,
    "attention_backward_dkdv params",
    params([...head, ...bk.map((x) => ["u32", x.offset] as ["u32", number]), ["f32", scale]]),
  );
  return [
    prepare(kq, [uq, ...bq.map((x) => x.binding)], grid(gpu, computed / qb), "attention backward dq"),
    prepare(kk, [uk, ...bk.map((x) => x.binding)], grid(gpu, computed / qb), "attention backward dkdv"),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Rows per invocation under the tile autotuner (--tiles tuned, docs/tiles.md).

/** Most rows per invocation the tuner tries (past it llvmpipe's compile time runs to minutes). */
const TUNED_MAX_ROWS = 16;
/** Elements of each scratch operand the tuner times on (as the matmul tuner's scratch twins). */
const SCRATCH_ELEMENTS = 1 << 23;

/**
 * The rows per invocation for `pass` of `shape`: the adapter's default, or under `--tiles tuned` the fastest of
 * it and its doubles and halves (up to TUNED_MAX_ROWS, dividing T), timed once per adapter, pass, T and d_head
 * and remembered in the tile cache as family "attention". Every choice gives the same bits (the kernels sum each
 * row in the same order whatever QB is; tests/gpu_attention_test.ts), so tuning changes only the speed.
 */
async function tunedRows(gpu: Gpu, pass: "forward" | "backward", shape: AttentionShape): Promise<number> {
  const base = rowsPerInvocation(gpu, shape.T, {});
  // Allocated at the first timing only (a remembered choice, or tuning off, allocates nothing), then shared by
  // every candidate.
  let scratch: ScratchOperands | undefined;
  let pick: { rows: number };
  try {
    pick = await tunedTile(gpu, {
      family: "attention",
      shape: `${pass} T ${shape.T} E ${shape.E}`,
      base: { rows: base },
      neighbours: (t) =>
        [t.rows * 2, t.rows / 2]
          .filter((r) => Number.isInteger(r) && r >= 1 && r <= TUNED_MAX_ROWS && shape.T % r === 0)
          .map((rows) => ({ rows })),
      time: async (t) => {
        scratch ??= scratchOperands(gpu, shape);
        const ops = pass === "forward"
          ? [await forwardDispatch(gpu, scratch.shape, scratch.forward, t.rows)]
          : await backwardDispatches(gpu, scratch.shape, scratch.backward, t.rows);
        return await timeDispatches(gpu, ops);
      },
    });
  } finally {
    for (const b of scratch?.buffers ?? []) b.destroy();
  }
  // A choice read back from the cache file must still keep an invocation's rows inside one sequence.
  const rows = pick.rows;
  if (!Number.isInteger(rows) || rows < 1 || rows > MAX_ROWS || shape.T % rows !== 0) {
    throw new TileCacheError(
      tuningSummary(gpu).cacheFile ?? "tile cache",
      `entry "attention ${pass} T ${shape.T} E ${shape.E}" has rows ${rows}, not an integer in [1, ${MAX_ROWS}] ` +
        `dividing T`,
    );
  }
  return rows;
}

/** Operands the tuner times candidates on, for the forward and the backward, and the buffers that hold them. */
interface ScratchOperands {
  shape: AttentionShape;
  forward: Bound[];
  backward: Record<keyof AttentionBackwardIO, Bound>;
  buffers: GPUBuffer[];
}

/**
 * Scratch operands for `shape`'s kernels: one copy and one head of sequences of length T and d_head E (a row's
 * work depends on nothing else), as many sequences as the real op has, capped so that each operand holds at most
 * SCRATCH_ELEMENTS.
 */
function scratchOperands(gpu: Gpu, shape: AttentionShape): ScratchOperands {
  const { T, E } = shape;
  const sequences = shape.C * headRange(shape).count * shape.B;
  const B = Math.max(1, Math.min(sequences, Math.floor(SCRATCH_ELEMENTS / (T * E))));
  const n = B * T * E;
  const buffers: GPUBuffer[] = [];
  // Scores of order one, so that the online softmax rescales as on real data.
  const bound = (name: string, len: number, vec4: boolean, write: boolean, seed: number): Bound => {
    const data = Float32Array.from({ length: len }, (_, i) => Math.sin(i * 0.37 + seed));
    const buffer = storageFrom(gpu, `attention tuning ${name}`, data);
    buffers.push(buffer);
    return { name, buffer, offset: 0, length: len, vec4, write };
  };
  const q = bound("q", n, true, false, 1),
    k = bound("k", n, true, false, 2),
    v = bound("v", n, true, false, 3);
  const z = bound("z", n, true, true, 4), lse = bound("lse", B * T, false, true, 5);
  const backward = {
    q,
    k,
    v,
    z: { ...z, write: false },
    lse: { ...lse, write: false },
    dz: bound("dz", n, true, false, 6),
    dq: bound("dq", n, true, true, 7),
    dk: bound("dk", n, true, true, 8),
    dv: bound("dv", n, true, true, 9),
    d: bound("d", B * T, false, true, 10),
  };
  return { shape: { C: 1, B, T, H: 1, E }, forward: [q, k, v, z, lse], backward, buffers };
}

// ---------------------------------------------------------------------------------------------------------
// Float64 references.

function checkArray(name: string, a: ArrayLike<number>, length: number): void {
  if (!a || typeof a.length !== "number") throw new AttentionError(name, "expected an array of numbers");
  if (a.length !== length) throw new AttentionError(name, `expected ${length} elements, got ${a.length}`);
}

/** Element offset of row (seq, i) in the z layout [C, B, T, H, E], seq = (c·H + h)·B + b. */
function zRow(shape: AttentionShape, seq: number, i: number): number {
  const { B, T, H, E } = shape;
  const b = seq % B, h = Math.floor(seq / B) % H, c = Math.floor(seq / (B * H));
  return (((c * B + b) * T + i) * H + h) * E;
}

/** Scaled causal scores of query row i of sequence seq against keys 0..i, normalized to probabilities. */
function softmaxRow(
  shape: AttentionShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  seq: number,
  i: number,
  p: Float64Array,
): number {
  const { T, E } = shape;
  const scale = 1 / Math.sqrt(E);
  const qi = (seq * T + i) * E;
  let max = -Infinity;
  for (let j = 0; j <= i; j++) {
    const kj = (seq * T + j) * E;
    let s = 0;
    for (let e = 0; e < E; e++) s += q[qi + e] * k[kj + e];
    p[j] = s * scale;
    if (p[j] > max) max = p[j];
  }
  let sum = 0;
  for (let j = 0; j <= i; j++) sum += p[j] = Math.exp(p[j] - max);
  for (let j = 0; j <= i; j++) p[j] /= sum;
  return max + Math.log(sum);
}

/**
 * Float64 causal attention forward: z [C, B, T, H, E] and lse [C, H, B, T] from q, k, v [C, H, B, T, E]; only
 * the heads `shape.heads` (default all), the others' z and lse 0.
 */
export function attentionReference(
  shape: AttentionShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
): { z: Float64Array; lse: Float64Array } {
  const rows = validateAttentionShape(shape);
  const { T, E } = shape;
  checkArray("q", q, rows * E);
  checkArray("k", k, rows * E);
  checkArray("v", v, rows * E);
  const z = new Float64Array(rows * E);
  const lse = new Float64Array(rows);
  const p = new Float64Array(T);
  for (let seq = 0; seq < rows / T; seq++) {
    if (!computesSeq(shape, seq)) continue;
    for (let i = 0; i < T; i++) {
      lse[seq * T + i] = softmaxRow(shape, q, k, seq, i, p);
      const zi = zRow(shape, seq, i);
      for (let j = 0; j <= i; j++) {
        const vj = (seq * T + j) * E;
        for (let e = 0; e < E; e++) z[zi + e] += p[j] * v[vj + e];
      }
    }
  }
  return { z, lse };
}

/**
 * Float64 attention probabilities [C, H, B, T, T] (row i: query position i, zero past i) from q, k; only the
 * heads `shape.heads` (default all), the others' rows 0.
 */
export function attentionPatternReference(
  shape: AttentionShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
): Float64Array {
  const rows = validateAttentionShape(shape);
  const { T, E } = shape;
  checkArray("q", q, rows * E);
  checkArray("k", k, rows * E);
  const p = new Float64Array(rows * T);
  for (let row = 0; row < rows; row++) {
    if (!computesSeq(shape, Math.floor(row / T))) continue;
    softmaxRow(shape, q, k, Math.floor(row / T), row % T, p.subarray(row * T, (row + 1) * T));
  }
  return p;
}

/**
 * Float64 causal attention backward: dq, dk, dv [C, H, B, T, E] of the loss Σ dz·z, dz [C, B, T, H, E]; only
 * the heads `shape.heads` (default all), the others' gradients 0.
 */
export function attentionBackwardReference(
  shape: AttentionShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dz: ArrayLike<number>,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const rows = validateAttentionShape(shape);
  const { T, E } = shape;
  checkArray("q", q, rows * E);
  checkArray("k", k, rows * E);
  checkArray("v", v, rows * E);
  checkArray("dz", dz, rows * E);
  const scale = 1 / Math.sqrt(E);
  const dq = new Float64Array(rows * E);
  const dk = new Float64Array(rows * E);
  const dv = new Float64Array(rows * E);
  const p = new Float64Array(T);
  const dp = new Float64Array(T);
  for (let seq = 0; seq < rows / T; seq++) {
    if (!computesSeq(shape, seq)) continue;
    for (let i = 0; i < T; i++) {
      softmaxRow(shape, q, k, seq, i, p);
      const gi = zRow(shape, seq, i);
      const qi = (seq * T + i) * E;
      // dp_j = dz_i·v_j; dLoss/ds_j = p_j (dp_j − Σ_l p_l dp_l).
      let dot = 0;
      for (let j = 0; j <= i; j++) {
        const vj = (seq * T + j) * E;
        let s = 0;
        for (let e = 0; e < E; e++) {
          s += dz[gi + e] * v[vj + e];
          dv[vj + e] += p[j] * dz[gi + e];
        }
        dp[j] = s;
        dot += p[j] * s;
      }
      for (let j = 0; j <= i; j++) {
        const kj = (seq * T + j) * E;
        const ds = p[j] * (dp[j] - dot) * scale;
        for (let e = 0; e < E; e++) {
          dq[qi + e] += ds * k[kj + e];
          dk[kj + e] += ds * q[qi + e];
        }
      }
    }
  }
  return { dq, dk, dv };
}
