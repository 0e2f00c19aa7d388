/**
 * The batched matmul and column-sum specifications: types, validation with errors that name the field, and the
 * float64 references the tests compare the kernels against. No GPU code here.
 *
 * Addressing (all in f32 elements): for batch index (z0, z1) the stored matrix of an operand starts at
 * offset + z0·stride[0] + z1·stride[1], and element (row, col) of the stored matrix is at start + row·ld + col.
 * A is stored M×K (or K×M with transA), B is stored K×N (or N×K with transB), C is M×N, bias is a row of N.
 *
 * With sumBatch1, batch level 1 is a reduction instead of an output batch:
 *   C[z0] = alpha · Σ_{z1 < batch[1]} op(A[z0, z1]) · op(B[z0, z1]) (+ bias[z0]) (+ C[z0] if accumulate),
 * so C and bias have no level-1 slices (their stride[1] must be 0). Why: a sum of products whose K dimensions
 * are not one dense run (the transformer's input gradient Σ_h dQ[h] · W_Q[h]ᵀ over heads) becomes one dispatch
 * instead of one accumulating dispatch per term.
 */

/** Where one operand's matrices live inside its buffer. */
export interface OperandLayout {
  /** Element offset of batch (0, 0). Default 0. */
  offset?: number;
  /** Row stride of the stored matrix. Default: the stored row length (dense). */
  ld?: number;
  /** Element stride per batch level [z0, z1]; 0 shares the operand across that level. Default [0, 0]. */
  stride?: readonly [number, number];
}

/** Where the bias rows live: bias[z][n] = buffer[offset + z0·stride[0] + z1·stride[1] + n]. */
export interface BiasLayout {
  offset?: number;
  stride?: readonly [number, number];
}

/** Kernel family: "auto" picks by the adapter kind; the others force one (tests exercise all on any adapter). */
export type MatmulVariant = "auto" | "cpu" | "gpu" | "reference";

/** Register tile of the CPU family (see matmul_codegen.ts); fields left out are chosen from the shape. */
export interface CpuTile {
  /** Output rows per invocation. */
  tm: number;
  /** Output columns per invocation (a multiple of 4). */
  tn: number;
  /** Invocations per workgroup along n (the SIMD lanes of llvmpipe run along x). */
  wx: number;
  /** Invocations per workgroup along m. */
  wy: number;
  /** Split-K: invocations of one workgroup that share a tile and each reduce a part of K (then wx = wy = 1). */
  ks: number;
}

/** Workgroup tile of the GPU family (see matmul_codegen.ts). */
export interface GpuTile {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
}

export interface MatmulSpec {
  M: number;
  N: number;
  K: number;
  /** A is stored K×M (read transposed). */
  transA?: boolean;
  /** B is stored N×K (read transposed). */
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Add into C instead of overwriting it. Default false. */
  accumulate?: boolean;
  /** [batch0, batch1]. Default [1, 1]. */
  batch?: readonly [number, number];
  /**
   * Sum the products over batch level 1 into one C[z0] (see the file comment); c.stride[1] and bias.stride[1]
   * must then be 0. Default false.
   */
  sumBatch1?: boolean;
  a: OperandLayout;
  b: OperandLayout;
  c: OperandLayout;
  /** Required exactly when a bias buffer is passed. */
  bias?: BiasLayout;
  variant?: MatmulVariant;
  cpuTile?: Partial<CpuTile>;
  gpuTile?: Partial<GpuTile>;
  /** "gpu" family: split K into this many chunks (a divisor of K; 1 = never); default: chosen from the grid. */
  splitK?: number;
  /** Names the op in errors and dispatch labels. */
  label?: string;
}

export interface Layout {
  offset: number;
  ld: number;
  stride: readonly [number, number];
}

/** A validated spec with every default filled in. */
export interface NormalizedMatmul {
  label: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  accumulate: boolean;
  batch: readonly [number, number];
  /** Batch level 1 is summed into C (c.stride[1] = bias.stride[1] = 0), not an output batch. */
  sumBatch1: boolean;
  a: Layout;
  b: Layout;
  c: Layout;
  bias?: { offset: number; stride: readonly [number, number] };
}

/** Thrown for a bad matmul / column-sum spec or buffer; names the op and the field. */
export class MatmulSpecError extends Error {
  constructor(readonly op: string, readonly field: string, message: string) {
    super(`${op}: ${field} ${message}`);
    this.name = "MatmulSpecError";
  }
}

const MAX_U32 = 0xffffffff;

function positiveInt(op: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_U32) {
    throw new MatmulSpecError(op, field, `must be a positive integer, got ${String(v)}`);
  }
  return v;
}

function nonNegInt(op: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_U32) {
    throw new MatmulSpecError(op, field, `must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

function pair(op: string, field: string, v: unknown, def: readonly [number, number], positive: boolean) {
  if (v === undefined) return def;
  if (!Array.isArray(v) || v.length !== 2) {
    throw new MatmulSpecError(op, field, `must be a pair [level0, level1], got ${JSON.stringify(v)}`);
  }
  const check = positive ? positiveInt : nonNegInt;
  return [check(op, `${field}[0]`, v[0]), check(op, `${field}[1]`, v[1])] as const;
}

function bool(op: string, field: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new MatmulSpecError(op, field, `must be a boolean, got ${String(v)}`);
  return v;
}

function layout(op: string, name: string, v: unknown, cols: number): Layout {
  if (typeof v !== "object" || v === null) {
    throw new MatmulSpecError(op, name, `must be an object {offset, ld, stride}, got ${String(v)}`);
  }
  const o = v as OperandLayout;
  const offset = o.offset === undefined ? 0 : nonNegInt(op, `${name}.offset`, o.offset);
  const ld = o.ld === undefined ? cols : positiveInt(op, `${name}.ld`, o.ld);
  if (ld < cols) {
    throw new MatmulSpecError(op, `${name}.ld`, `(${ld}) must be at least the stored row length ${cols}`);
  }
  return { offset, ld, stride: pair(op, `${name}.stride`, o.stride, [0, 0], false) };
}

/** Stored rows × columns of each operand of a matmul. */
export function storedShape(s: NormalizedMatmul, operand: "a" | "b" | "c"): [number, number] {
  if (operand === "a") return s.transA ? [s.K, s.M] : [s.M, s.K];
  if (operand === "b") return s.transB ? [s.N, s.K] : [s.K, s.N];
  return [s.M, s.N];
}

/** Validates a spec (types, ranges, leading dimensions, distinct output slices) and fills the defaults. */
export function normalizeMatmul(spec: MatmulSpec): NormalizedMatmul {
  if (typeof spec !== "object" || spec === null) {
    throw new MatmulSpecError("matmul", "spec", `must be an object, got ${String(spec)}`);
  }
  const op = `matmul "${spec.label ?? "matmul"}"`;
  const M = positiveInt(op, "M", spec.M);
  const N = positiveInt(op, "N", spec.N);
  const K = positiveInt(op, "K", spec.K);
  const transA = bool(op, "transA", spec.transA);
  const transB = bool(op, "transB", spec.transB);
  const accumulate = bool(op, "accumulate", spec.accumulate);
  const alpha = spec.alpha ?? 1;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
    throw new MatmulSpecError(op, "alpha", `must be a finite number, got ${String(alpha)}`);
  }
  const batch = pair(op, "batch", spec.batch, [1, 1], true);
  const sumBatch1 = bool(op, "sumBatch1", spec.sumBatch1);
  const a = layout(op, "a", spec.a, transA ? M : K);
  const b = layout(op, "b", spec.b, transB ? K : N);
  const c = layout(op, "c", spec.c, N);
  if (sumBatch1) noLevel1(op, "c", c.stride);
  // Summed over level 1, C has only level-0 slices: those must still be distinct.
  checkDistinctOutputs(op, "c", c.stride, sumBatch1 ? [batch[0], 1] : batch);
  let bias: NormalizedMatmul["bias"];
  if (spec.bias !== undefined) {
    if (typeof spec.bias !== "object" || spec.bias === null) {
      throw new MatmulSpecError(op, "bias", `must be an object {offset, stride}, got ${String(spec.bias)}`);
    }
    bias = {
      offset: spec.bias.offset === undefined ? 0 : nonNegInt(op, "bias.offset", spec.bias.offset),
      stride: pair(op, "bias.stride", spec.bias.stride, [0, 0], false),
    };
    if (sumBatch1) noLevel1(op, "bias", bias.stride);
  }
  if (spec.variant !== undefined && !["auto", "cpu", "gpu", "reference"].includes(spec.variant)) {
    throw new MatmulSpecError(
      op,
      "variant",
      `must be "auto", "cpu", "gpu" or "reference", got ${spec.variant}`,
    );
  }
  return {
    label: spec.label ?? "matmul",
    M,
    N,
    K,
    transA,
    transB,
    alpha,
    accumulate,
    batch,
    sumBatch1,
    a,
    b,
    c,
    bias,
  };
}

/** With sumBatch1 an output (C, bias) has no level-1 slices: its stride[1] must be 0. */
function noLevel1(op: string, name: string, stride: readonly [number, number]): void {
  if (stride[1] !== 0) {
    throw new MatmulSpecError(
      op,
      `${name}.stride[1]`,
      `must be 0 with sumBatch1 (batch level 1 is summed into one ${name} slice per z0), got ${stride[1]}`,
    );
  }
}

/**
 * Rejects output layouts where a batch level with more than one entry has stride 0: every batch of that level
 * would write the same elements (a race). Interleaved slices (stride < span with ld > N, e.g. per-head column
 * blocks) are legitimate and not checked further.
 */
function checkDistinctOutputs(
  op: string,
  name: string,
  stride: readonly [number, number],
  batch: readonly [number, number],
): void {
  for (const lvl of [0, 1] as const) {
    if (batch[lvl] > 1 && stride[lvl] === 0) {
      throw new MatmulSpecError(
        op,
        `${name}.stride[${lvl}]`,
        `is 0 while batch[${lvl}] = ${batch[lvl]}: every batch would write the same output slice`,
      );
    }
  }
}

/** The last element (inclusive) an operand touches over all batches: offset + Σ (batch−1)·stride + span − 1. */
export function lastElement(
  l: { offset: number; stride: readonly [number, number] },
  batch: readonly [number, number],
  rows: number,
  cols: number,
  ld: number,
): number {
  return l.offset + (batch[0] - 1) * l.stride[0] + (batch[1] - 1) * l.stride[1] + (rows - 1) * ld + cols - 1;
}

/** Checks that every operand's slices lie inside its buffer (`elements` = buffer size / 4). */
export function checkExtents(
  s: NormalizedMatmul,
  elements: { a: number; b: number; c: number; bias?: number },
) {
  const op = `matmul "${s.label}"`;
  for (const name of ["a", "b", "c"] as const) {
    const [rows, cols] = storedShape(s, name);
    const last = lastElement(s[name], s.batch, rows, cols, s[name].ld);
    if (last >= elements[name]) {
      throw new MatmulSpecError(
        op,
        `operand ${name}`,
        `(${rows}×${cols}, ld ${s[name].ld}, offset ${s[name].offset}, stride [${s[name].stride}], batch ` +
          `[${s.batch}]) runs to element ${last} but its buffer holds ${elements[name]} f32 elements`,
      );
    }
  }
  if (s.bias) {
    const n = elements.bias ?? 0;
    const last = lastElement(s.bias, s.batch, 1, s.N, s.N);
    if (last >= n) {
      throw new MatmulSpecError(
        op,
        "operand bias",
        `(offset ${s.bias.offset}, stride [${s.bias.stride}], N ${s.N}) runs to element ${last} but its buffer ` +
          `holds ${n} f32 elements`,
      );
    }
  }
}

type Data = Float32Array | Float64Array;

/**
 * Float64 reference of the matmul: returns a copy of `cData` (as float64; zeros of the needed length when
 * omitted) in which every C[z] slice is replaced by alpha·op(A)·op(B) + bias (+ the old C when accumulating);
 * with sumBatch1 the products of all z1 are summed (in f64) before alpha, bias and the old C are applied.
 * Elements outside the slices are copied unchanged, so a test can compare whole buffers.
 */
export function matmulReference(
  spec: MatmulSpec,
  aData: Data,
  bData: Data,
  cData?: Data,
  biasData?: Data,
): Float64Array {
  const s = normalizeMatmul(spec);
  const cLen = lastElement(s.c, s.batch, s.M, s.N, s.c.ld) + 1;
  if (s.bias && !biasData) {
    throw new MatmulSpecError(`matmul "${s.label}"`, "biasData", "is required by spec.bias");
  }
  checkExtents(s, { a: aData.length, b: bData.length, c: cData?.length ?? cLen, bias: biasData?.length });
  const out = new Float64Array(cData ? cData.length : cLen);
  if (cData) out.set(cData);
  const { M, N, K, transA, transB, alpha } = s;
  const row = new Float64Array(N);
  // Row m of op(A[z0, z1])·op(B[z0, z1]) added into `row`.
  const addProduct = (z0: number, z1: number, m: number) => {
    const a = s.a.offset + z0 * s.a.stride[0] + z1 * s.a.stride[1];
    const b = s.b.offset + z0 * s.b.stride[0] + z1 * s.b.stride[1];
    for (let k = 0; k < K; k++) {
      const av = transA ? aData[a + k * s.a.ld + m] : aData[a + m * s.a.ld + k];
      if (av === 0) continue;
      if (transB) {
        for (let n = 0; n < N; n++) row[n] += av * bData[b + n * s.b.ld + k];
      } else {
        const bk = b + k * s.b.ld;
        for (let n = 0; n < N; n++) row[n] += av * bData[bk + n];
      }
    }
  };
  // Output slices per z0: one summing every z1 (sumBatch1), else one per z1.
  const outputs1 = s.sumBatch1 ? 1 : s.batch[1];
  for (let z0 = 0; z0 < s.batch[0]; z0++) {
    for (let z1 = 0; z1 < outputs1; z1++) {
      const c = s.c.offset + z0 * s.c.stride[0] + z1 * s.c.stride[1];
      const bias = s.bias ? s.bias.offset + z0 * s.bias.stride[0] + z1 * s.bias.stride[1] : 0;
      for (let m = 0; m < M; m++) {
        row.fill(0);
        if (s.sumBatch1) { for (let t = 0; t < s.batch[1]; t++) addProduct(z0, t, m); }
        else addProduct(z0, z1, m);
        const cm = c + m * s.c.ld;
        for (let n = 0; n < N; n++) {
          let v = alpha * row[n];
          if (s.bias) v += biasData![bias + n];
          out[cm + n] = s.accumulate ? out[cm + n] + v : v;
        }
      }
    }
  }
  return out;
}

/** Column sum: dst[z][n] (+)= alpha · Σ_m src[z][m, n] over M rows (bias gradients). */
export interface ColSumSpec {
  M: number;
  N: number;
  /** Default 1. */
  alpha?: number;
  /** Add into dst instead of overwriting it. Default false. */
  accumulate?: boolean;
  /** [batch0, batch1]. Default [1, 1]. */
  batch?: readonly [number, number];
  /** src[z][m, n] = src[offset + z0·stride[0] + z1·stride[1] + m·ld + n]. */
  src: OperandLayout;
  /** dst[z][n] = dst[offset + z0·stride[0] + z1·stride[1] + n]. */
  dst: { offset?: number; stride?: readonly [number, number] };
  label?: string;
}

export interface NormalizedColSum {
  label: string;
  M: number;
  N: number;
  alpha: number;
  accumulate: boolean;
  batch: readonly [number, number];
  src: Layout;
  dst: { offset: number; stride: readonly [number, number] };
}

/** Validates a column-sum spec and fills the defaults. */
export function normalizeColSum(spec: ColSumSpec): NormalizedColSum {
  if (typeof spec !== "object" || spec === null) {
    throw new MatmulSpecError("colsum", "spec", `must be an object, got ${String(spec)}`);
  }
  const op = `colsum "${spec.label ?? "colsum"}"`;
  const M = positiveInt(op, "M", spec.M);
  const N = positiveInt(op, "N", spec.N);
  const alpha = spec.alpha ?? 1;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
    throw new MatmulSpecError(op, "alpha", `must be a finite number, got ${String(alpha)}`);
  }
  const accumulate = bool(op, "accumulate", spec.accumulate);
  const batch = pair(op, "batch", spec.batch, [1, 1], true);
  const src = layout(op, "src", spec.src, N);
  if (typeof spec.dst !== "object" || spec.dst === null) {
    throw new MatmulSpecError(op, "dst", `must be an object {offset, stride}, got ${String(spec.dst)}`);
  }
  const dst = {
    offset: spec.dst.offset === undefined ? 0 : nonNegInt(op, "dst.offset", spec.dst.offset),
    stride: pair(op, "dst.stride", spec.dst.stride, [0, 0], false),
  };
  checkDistinctOutputs(op, "dst", dst.stride, batch);
  return { label: spec.label ?? "colsum", M, N, alpha, accumulate, batch, src, dst };
}

/** Checks that src and dst slices lie inside their buffers (`elements` = buffer size / 4). */
export function checkColSumExtents(s: NormalizedColSum, elements: { src: number; dst: number }): void {
  const op = `colsum "${s.label}"`;
  const lastSrc = lastElement(s.src, s.batch, s.M, s.N, s.src.ld);
  if (lastSrc >= elements.src) {
    throw new MatmulSpecError(
      op,
      "operand src",
      `(${s.M}×${s.N}, ld ${s.src.ld}, offset ${s.src.offset}, stride [${s.src.stride}], batch [${s.batch}]) ` +
        `runs to element ${lastSrc} but its buffer holds ${elements.src} f32 elements`,
    );
  }
  const lastDst = lastElement(s.dst, s.batch, 1, s.N, s.N);
  if (lastDst >= elements.dst) {
    throw new MatmulSpecError(
      op,
      "operand dst",
      `(offset ${s.dst.offset}, stride [${s.dst.stride}], N ${s.N}) runs to element ${lastDst} but its buffer ` +
        `holds ${elements.dst} f32 elements`,
    );
  }
}

/** Float64 reference of the column sum: a copy of `dstData` with every dst[z] row replaced (or added to). */
export function colSumReference(spec: ColSumSpec, srcData: Data, dstData?: Data): Float64Array {
  const s = normalizeColSum(spec);
  const len = lastElement(s.dst, s.batch, 1, s.N, s.N) + 1;
  checkColSumExtents(s, { src: srcData.length, dst: dstData?.length ?? len });
  const out = new Float64Array(dstData ? dstData.length : len);
  if (dstData) out.set(dstData);
  for (let z0 = 0; z0 < s.batch[0]; z0++) {
    for (let z1 = 0; z1 < s.batch[1]; z1++) {
      const src = s.src.offset + z0 * s.src.stride[0] + z1 * s.src.stride[1];
      const dst = s.dst.offset + z0 * s.dst.stride[0] + z1 * s.dst.stride[1];
      for (let n = 0; n < s.N; n++) {
        let sum = 0;
        for (let m = 0; m < s.M; m++) sum += srcData[src + m * s.src.ld + n];
        out[dst + n] = s.accumulate ? out[dst + n] + s.alpha * sum : s.alpha * sum;
      }
    }
  }
  return out;
}

/** `layout` moved forward by `first` steps of its batch level 0 (its copy stride). */
function shiftLevel0<T extends { offset?: number; stride?: readonly [number, number] }>(
  layout: T,
  first: number,
): T {
  return { ...layout, offset: (layout.offset ?? 0) + first * (layout.stride?.[0] ?? 0) };
}

/**
 * The same product on copies [first, first + count) only, for a spec whose batch level 0 is the copy (as in
 * every op of the transformer): level 0 shrinks to `count` and each operand starts `first` copies further in.
 * Operands shared across copies (level-0 stride 0) stay where they are.
 */
export function matmulOnCopies(spec: MatmulSpec, first: number, count: number): MatmulSpec {
  const batch1 = spec.batch?.[1] ?? 1;
  return {
    ...spec,
    batch: [count, batch1],
    a: shiftLevel0(spec.a, first),
    b: shiftLevel0(spec.b, first),
    c: shiftLevel0(spec.c, first),
    bias: spec.bias ? shiftLevel0(spec.bias, first) : undefined,
  };
}

/** The column sum on copies [first, first + count) only (see matmulOnCopies). */
export function colSumOnCopies(spec: ColSumSpec, first: number, count: number): ColSumSpec {
  const batch1 = spec.batch?.[1] ?? 1;
  return {
    ...spec,
    batch: [count, batch1],
    src: shiftLevel0(spec.src, first),
    dst: shiftLevel0(spec.dst, first),
  };
}
