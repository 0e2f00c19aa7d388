/**
 * The batched matmul C[z] = alpha·op(A[z])·op(B[z]) (+ bias[z]) (+ C[z]) and the column sum dst[z] (+)= alpha·Σ_m
 * src[z][m, :], prepared once as dispatches and replayed every step. Specs, validation and the float64 references
 * live in matmul_spec.ts.
 *
 * Three kernel families, chosen by spec.variant ("auto": "cpu" on a CPU adapter, "gpu" otherwise):
 *   "reference"  kernels/matmul.wgsl, one output per invocation, plain and readable;
 *   "cpu"        register-blocked, generated per shape by matmul_codegen.ts (fast on llvmpipe);
 *   "gpu"        kernels/matmul_tiled.wgsl, workgroup-memory tiles (for real GPUs).
 * Every family runs on every adapter, so the tests check all of them on llvmpipe.
 *
 * A summed batch level 1 (spec.sumBatch1) is a loop inside the "cpu" family's kernel (the case it was made for:
 * many short products on llvmpipe); the uniform-driven families run it as batch[1] dispatches, one per z1 (see
 * perZ1Dispatches).
 */
import type { Gpu } from "../gpu/device.ts";
import { kernelFromSource, loadKernel } from "../gpu/kernel.ts";
import { storageBuffer } from "../gpu/buffers.ts";
import { type TileSearch, timeDispatches, tunedTile } from "./matmul_tune.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { uniformStruct } from "../gpu/uniform.ts";
import {
  chooseCpuTile,
  cpuMatmulSource,
  cpuUniformFields,
  type CpuVectorization,
  planCpu,
  vectorization,
} from "./matmul_codegen.ts";
import {
  checkColSumExtents,
  checkExtents,
  type ColSumSpec,
  type CpuTile,
  type GpuTile,
  type MatmulSpec,
  MatmulSpecError,
  type MatmulVariant,
  normalizeColSum,
  type NormalizedMatmul,
  normalizeMatmul,
} from "./matmul_spec.ts";

/** The family a spec runs on this adapter. */
export function resolveVariant(gpu: Gpu, variant: MatmulVariant | undefined): "cpu" | "gpu" | "reference" {
  const v = variant ?? "auto";
  return v === "auto" ? (gpu.kind === "cpu" ? "cpu" : "gpu") : v;
}

/** Number of f32 elements a buffer holds, after checking that it can be bound whole. */
function bindable(gpu: Gpu, op: string, name: string, buffer: GPUBuffer): number {
  if (!(buffer instanceof GPUBuffer)) {
    throw new MatmulSpecError(op, name, `must be a GPUBuffer, got ${String(buffer)}`);
  }
  const max = gpu.device.limits.maxStorageBufferBindingSize;
  if (buffer.size > max) {
    throw new MatmulSpecError(
      op,
      name,
      `buffer "${buffer.label}" has ${buffer.size} bytes, more than this device binds at once ` +
        `(maxStorageBufferBindingSize ${max}); split the op into chunks`,
    );
  }
  return Math.floor(buffer.size / 4);
}

/** Grid of (row block, batch) pairs folded into y·z (each ≤ maxDim). */
function foldPairs(total: number, maxDim: number): { gridY: number; gridZ: number } {
  const gridY = Math.min(total, maxDim);
  return { gridY, gridZ: Math.ceil(total / gridY) };
}

/**
 * Prepares C[z] = alpha·op(A[z])·op(B[z]) (+ bias[z]) (+ C[z]) for every batch index z (one dispatch). `a` and `b`
 * may be the same buffer; `c` must differ from both (and from `bias`). Throws MatmulSpecError naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMatmul, getGpu, readF32, storageBuffer, storageFrom, submitProgram } from "chi";
 *
 * const gpu = await getGpu();
 * const a = storageFrom(gpu, "a", new Float32Array([1, 2, 3, 4, 5, 6])); // 2×3
 * const b = storageFrom(gpu, "b", new Float32Array([1, 0, 0, 1, 1, 1])); // 3×2
 * const c = storageBuffer(gpu, "c", 4 * 4);
 * submitProgram(gpu, await createMatmul(gpu, { M: 2, N: 2, K: 3, a: {}, b: {}, c: {} }, a, b, c));
 * assert.deepEqual(await readF32(gpu, c), new Float32Array([4, 5, 10, 11]));
 * ```
 */
export async function createMatmul(
  gpu: Gpu,
  spec: MatmulSpec,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  bias?: GPUBuffer,
): Promise<Dispatch[]> {
  const s = normalizeMatmul(spec);
  const op = `matmul "${s.label}"`;
  if ((bias === undefined) !== (s.bias === undefined)) {
    throw new MatmulSpecError(
      op,
      "bias",
      bias === undefined
        ? "layout is given but no bias buffer was passed"
        : "buffer was passed but spec.bias is missing",
    );
  }
  const elements = {
    a: bindable(gpu, op, "buffer a", a),
    b: bindable(gpu, op, "buffer b", b),
    c: bindable(gpu, op, "buffer c", c),
    bias: bias === undefined ? undefined : bindable(gpu, op, "buffer bias", bias),
  };
  for (const [name, buf] of [["a", a], ["b", b], ["bias", bias]] as const) {
    if (buf === c) {
      throw new MatmulSpecError(
        op,
        "buffer c",
        `is the same buffer as ${name} ("${c.label}"): the op writes c while it reads ${name}, which one ` +
          "dispatch cannot do; use separate buffers",
      );
    }
  }
  checkExtents(s, elements);
  const variant = resolveVariant(gpu, spec.variant);
  if (variant === "cpu") return [await cpuMatmul(gpu, s, spec, a, b, c, bias)];
  if (!s.sumBatch1) return await paramFamily(gpu, s, variant, spec, a, b, c, bias);
  const out: Dispatch[] = [];
  for (const [one, withBias] of perZ1Dispatches(s)) {
    out.push(...await paramFamily(gpu, one, variant, spec, a, b, c, withBias ? bias : undefined));
  }
  return out;
}

/**
 * A summed level 1 as plain matmuls with batch [batch0, 1], one per z1, each with A and B moved to its z1: the
 * first overwrites C (or adds to it when accumulating) and carries the bias, the others add to C; alpha
 * applies to each. Returns each spec with whether it takes the bias. Why dispatches and not a loop in
 * kernels/matmul*.wgsl: those families are for real GPUs, where the op is rare and one dispatch per term is
 * cheap; this keeps their kernels and split-K unchanged.
 */
function perZ1Dispatches(s: NormalizedMatmul): Array<[NormalizedMatmul, boolean]> {
  const at = (l: NormalizedMatmul["a"], z1: number) => ({
    ...l,
    offset: l.offset + z1 * l.stride[1],
    stride: [l.stride[0], 0] as const,
  });
  const out: Array<[NormalizedMatmul, boolean]> = [];
  for (let z1 = 0; z1 < s.batch[1]; z1++) {
    out.push([{
      ...s,
      label: `${s.label} z1 ${z1}`,
      batch: [s.batch[0], 1],
      sumBatch1: false,
      accumulate: s.accumulate || z1 > 0,
      a: at(s.a, z1),
      b: at(s.b, z1),
      bias: z1 === 0 ? s.bias : undefined,
    }, z1 === 0]);
  }
  return out;
}

/** The "reference" or "gpu" family's dispatches of `s` (the "gpu" family may split K). */
async function paramFamily(
  gpu: Gpu,
  s: NormalizedMatmul,
  variant: "reference" | "gpu",
  spec: MatmulSpec,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  bias?: GPUBuffer,
): Promise<Dispatch[]> {
  if (variant === "gpu" && bias === undefined) {
    const one = singleBatchLevel(s);
    const chunks = splitKChunks(one, gpuTile(gpu, `matmul "${s.label}"`, spec.gpuTile ?? {}), spec.splitK);
    if (chunks > 1) return await splitKMatmul(gpu, one, chunks, spec.gpuTile ?? {}, a, b, c);
  }
  return [await paramMatmul(gpu, s, variant, spec.gpuTile ?? {}, a, b, c, bias)];
}

/**
 * Below this many workgroups a "gpu" matmul leaves much of a real GPU idle (an H200 has 132 multiprocessors,
 * each running several workgroups): split K to fill it, up to 4× this many.
 */
const SPLIT_K_WORKGROUPS = 256;

/** The same matmul with its batch on level 0 when level 1 is the only one used (swapping levels is exact). */
function singleBatchLevel(s: NormalizedMatmul): NormalizedMatmul {
  if (s.batch[0] !== 1 || s.batch[1] === 1) return s;
  const swap = (l: NormalizedMatmul["a"]) => ({ ...l, stride: [l.stride[1], l.stride[0]] as const });
  return { ...s, batch: [s.batch[1], 1], a: swap(s.a), b: swap(s.b), c: swap(s.c) };
}

/**
 * How many K chunks the "gpu" family splits a matmul into: 1 (no split) unless its grid is small and K large,
 * as in the weight gradients dW = Xᵀ·dY, whose K = batch·tokens runs serially in 1-8 workgroups otherwise
 * (4.75 ms each on an H200, most of a tiny training step). Chunks divide K exactly, keep ≥ 64 rows each, and
 * need the second batch level free (it indexes the chunks). `force` (MatmulSpec.splitK) overrides the choice.
 */
export function splitKChunks(s: NormalizedMatmul, t: GpuTile, force?: number): number {
  if (s.batch[1] !== 1) return 1;
  if (force !== undefined) {
    if (!Number.isInteger(force) || force < 1 || s.K % force !== 0) {
      throw new MatmulSpecError(
        `matmul "${s.label}"`,
        "splitK",
        `must be a divisor of K = ${s.K}, got ${force}`,
      );
    }
    return force;
  }
  const workgroups = Math.ceil(s.M / t.bm) * Math.ceil(s.N / t.bn) * s.batch[0];
  let chunks = 1;
  while (
    workgroups * chunks * 2 <= 4 * SPLIT_K_WORKGROUPS && s.K % (chunks * 2) === 0 && s.K / (chunks * 2) >= 64
  ) chunks *= 2;
  return workgroups < SPLIT_K_WORKGROUPS ? chunks : 1;
}

/**
 * Split-K: pass 1 computes the partial products of `chunks` slices of K into a scratch buffer
 * [chunks, batch0, M, N] (the slices are the second batch level, addressed by shifting A and B along K);
 * pass 2 sums the slices into C with alpha and accumulate (the column sum, one C row per batch entry).
 */
async function splitKMatmul(
  gpu: Gpu,
  s: NormalizedMatmul,
  chunks: number,
  tile: Partial<GpuTile>,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
): Promise<Dispatch[]> {
  const { M, N, batch } = s;
  const Kc = s.K / chunks;
  const mn = M * N;
  // [chunks, batch0, M, N] partial products, dense.
  const scratch = storageBuffer(gpu, `${s.label} split-K partials`, chunks * batch[0] * mn * 4);
  const partial: NormalizedMatmul = {
    ...s,
    label: `${s.label} split-K ×${chunks}`,
    K: Kc,
    alpha: 1,
    accumulate: false,
    batch: [batch[0], chunks],
    // Chunk z1 starts Kc further along K: rows of a stored K×M (transA) or K×N (not transB), else columns.
    a: { ...s.a, stride: [s.a.stride[0], s.transA ? Kc * s.a.ld : Kc] },
    b: { ...s.b, stride: [s.b.stride[0], s.transB ? Kc : Kc * s.b.ld] },
    c: { offset: 0, ld: N, stride: [mn, batch[0] * mn] },
  };
  const first = await paramMatmul(gpu, partial, "gpu", tile, a, b, scratch);
  const sum = await createColSum(
    gpu,
    {
      label: `${s.label} split-K sum`,
      M: chunks,
      N,
      batch: [batch[0], M],
      alpha: s.alpha,
      accumulate: s.accumulate,
      src: { offset: 0, ld: batch[0] * mn, stride: [mn, N] },
      dst: { offset: s.c.offset, stride: [s.c.stride[0], s.c.ld] },
    },
    scratch,
    c,
  );
  return [first, ...sum];
}

async function cpuMatmul(
  gpu: Gpu,
  s: NormalizedMatmul,
  spec: MatmulSpec,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  bias?: GPUBuffer,
): Promise<Dispatch> {
  const vec = vectorization(s);
  const cores = navigator.hardwareConcurrency || 2;
  const base = chooseCpuTile(s, vec, spec.cpuTile ?? {}, cores);
  // A tile the spec names is used as it is; otherwise the tuner may time the heuristic's neighbours.
  const tile = Object.keys(spec.cpuTile ?? {}).length > 0 ? base : await tuneOnScratch(
    gpu,
    s,
    cpuSearch(s, vec, base, cores),
    (twin, t) => cpuDispatch(gpu, twin.spec, t, vec, twin.a, twin.b, twin.c, twin.bias),
  );
  return await cpuDispatch(gpu, s, tile, vec, a, b, c, bias);
}

/** The "cpu" family's dispatch of `s` with a given tile and vectorization. */
async function cpuDispatch(
  gpu: Gpu,
  s: NormalizedMatmul,
  tile: CpuTile,
  vec: CpuVectorization,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  bias?: GPUBuffer,
): Promise<Dispatch> {
  const plan = planCpu(s, tile, vec, bias !== undefined, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const kernel = await kernelFromSource(gpu, `matmul_cpu "${s.label}"`, cpuMatmulSource(s, plan));
  const u = uniformStruct(gpu, `${s.label} params`, cpuUniformFields(s, plan));
  const buffers = bias ? [u, a, b, c, bias] : [u, a, b, c];
  return prepare(kernel, buffers, [plan.gridX, plan.gridY, plan.gridZ], `${s.label} (matmul cpu)`);
}

/**
 * What the tuners key a shape by: everything but the tile that the generated kernel's speed depends on. A
 * summed level 1 is keyed as "batch B0 sum B1" (B0 output batches, B1 terms each), so its tiles never mix with
 * those of B0·B1 output batches; other shapes keep the keys cache files already hold.
 */
function shapeKey(s: NormalizedMatmul, extra: string): string {
  const t = (v: boolean) => (v ? "T" : "N");
  const batch = s.sumBatch1 ? `${s.batch[0]} sum ${s.batch[1]}` : `${s.batch[0] * s.batch[1]}`;
  return `${s.M}x${s.N}x${s.K} ${t(s.transA)}${t(s.transB)} ld ${s.a.ld},${s.b.ld},${s.c.ld} ` +
    `batch ${batch}${s.bias ? " bias" : ""}${s.accumulate ? " acc" : ""}${extra}`;
}

/** Doubles and halves of each named field of `t` (the candidates of one coordinate-descent round). */
function doublesAndHalves<T extends object>(t: T, fields: readonly (keyof T)[]): T[] {
  const out: T[] = [];
  for (const f of fields) {
    const v = t[f] as number;
    for (const w of [v * 2, Math.floor(v / 2)]) if (w >= 1 && w !== v) out.push({ ...t, [f]: w });
  }
  return out;
}

/**
 * The "cpu" family's candidates next to tile t: tm, tn and wx doubled or halved (wy follows from wx), fitted
 * to the shape by chooseCpuTile, with split-K factor ks kept.
 */
export function cpuTileNeighbours(
  s: NormalizedMatmul,
  vec: CpuVectorization,
  ks: number,
  cores: number,
  t: CpuTile,
): CpuTile[] {
  const fields = ks > 1 ? (["tm", "tn"] as const) : (["tm", "tn", "wx"] as const);
  const out = new Map<string, CpuTile>();
  for (const c of doublesAndHalves(t, fields)) {
    // Past 32×16 outputs per invocation the unrolled kernel takes seconds to compile and spills registers.
    if (c.tn % 4 !== 0 || c.tm * c.tn > 512 || c.wx > 16) continue;
    const fitted = chooseCpuTile(s, vec, { tm: c.tm, tn: c.tn, wx: c.wx, ks }, cores);
    if (JSON.stringify(fitted) !== JSON.stringify(t)) out.set(JSON.stringify(fitted), fitted);
  }
  return [...out.values()];
}

/** The "gpu" family's candidates next to tile t: bm, bn, bk, tm and tn doubled or halved, within the limits. */
export function gpuTileNeighbours(gpu: Gpu, op: string, t: GpuTile): GpuTile[] {
  return doublesAndHalves(t, ["bm", "bn", "bk", "tm", "tn"] as const).filter((c) => {
    if (c.bm > 256 || c.bn > 256 || c.bk > 64 || c.tm > 16 || c.tn > 16) return false;
    try {
      gpuTile(gpu, op, c);
      return true;
    } catch (err) {
      if (err instanceof MatmulSpecError) return false;
      throw err;
    }
  });
}

/** The "cpu" family's tile search; ks stays the heuristic's (it sets the order of summation). */
function cpuSearch(
  s: NormalizedMatmul,
  vec: CpuVectorization,
  base: CpuTile,
  cores: number,
): Omit<TileSearch<CpuTile>, "time"> {
  const flags = (["a", "b", "c", "bias"] as const).filter((k) => vec[k]).join("");
  return {
    family: "cpu",
    shape: shapeKey(s, ` vec4 ${flags || "-"} ks ${base.ks}`),
    base,
    neighbours: (t) => cpuTileNeighbours(s, vec, base.ks, cores, t),
  };
}

/**
 * Scratch operands shaped like a matmul's own: the same M, N, K, transposes and leading dimensions (so the
 * same generated kernel and vec4 alignment), dense from offset 0, with as many batch entries as fit in
 * SCRATCH_ELEMENTS per operand (at least one). An operand the real op shares over the batch stays shared.
 * A summed level 1 (sumBatch1) is kept whole, since the kernel loops over it: an entry of A or B then holds
 * its batch[1] matrices (one, when the real op shares the operand over level 1), and only level 0 shrinks.
 */
interface ScratchTwin {
  spec: NormalizedMatmul;
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
}

const SCRATCH_ELEMENTS = 1 << 23;

/**
 * The tile tunedTile picks for `s`, timing each candidate as `build` prepares it on a scratch twin of `s`. The
 * twin is allocated at the first timing only, so shapes whose tile is remembered (or tuning off) allocate
 * nothing; a twin that would not fit the device, or a candidate it cannot build, leaves the base tile.
 */
async function tuneOnScratch<T extends object>(
  gpu: Gpu,
  s: NormalizedMatmul,
  search: Omit<TileSearch<T>, "time">,
  build: (twin: ScratchTwin, t: T) => Promise<Dispatch>,
): Promise<T> {
  let twin: ScratchTwin | null | undefined; // undefined: not built yet; null: does not fit the device
  const time = async (t: T) => {
    if (twin === undefined) twin = scratchTwin(gpu, s);
    if (twin === null) return undefined;
    let d: Dispatch;
    try {
      d = await build(twin, t);
    } catch (err) {
      if (err instanceof MatmulSpecError) return undefined; // e.g. a grid past the device's limits
      throw err;
    }
    return await timeDispatches(gpu, [d]);
  };
  try {
    return await tunedTile(gpu, { ...search, time });
  } finally {
    if (twin) { for (const b of [twin.a, twin.b, twin.c, twin.bias]) b?.destroy(); }
  }
}

/** Allocates the scratch twin of `s`, or null when one of its operands would pass the device's binding size. */
function scratchTwin(gpu: Gpu, s: NormalizedMatmul): ScratchTwin | null {
  // The summed level's length (1 when there is none) and the output batches, which the twin may shrink.
  const terms = s.sumBatch1 ? s.batch[1] : 1;
  const outputs = s.sumBatch1 ? s.batch[0] : s.batch[0] * s.batch[1];
  const per = {
    a: (s.transA ? s.K : s.M) * s.a.ld,
    b: (s.transB ? s.N : s.K) * s.b.ld,
    c: s.M * s.c.ld,
  };
  // Shared over the output batches; with a summed level 1, its terms are level 1 alone.
  const shared = (l: { stride: readonly [number, number] }) =>
    l.stride[0] === 0 && (s.sumBatch1 || l.stride[1] === 0);
  // Elements of one output batch entry: the matrices of every term unless the operand is shared over level 1.
  const span = (l: NormalizedMatmul["a"], n: number) => (terms > 1 && l.stride[1] !== 0 ? n * terms : n);
  const spans = { a: span(s.a, per.a), b: span(s.b, per.b), c: per.c };
  const bt = Math.max(
    1,
    Math.min(outputs, Math.floor(SCRATCH_ELEMENTS / Math.max(spans.a, spans.b, spans.c))),
  );
  const layout = (l: NormalizedMatmul["a"], n: number, entry: number) => ({
    offset: 0,
    ld: l.ld,
    stride: [shared(l) ? 0 : entry, terms > 1 && l.stride[1] !== 0 ? n : 0] as const,
  });
  const spec: NormalizedMatmul = {
    ...s,
    batch: [bt, terms],
    a: layout(s.a, per.a, spans.a),
    b: layout(s.b, per.b, spans.b),
    c: layout(s.c, per.c, spans.c),
    bias: s.bias ? { offset: 0, stride: [shared(s.bias) ? 0 : s.N, 0] } : undefined,
  };
  const elements = (n: number, l: NormalizedMatmul["a"]) => (shared(l) ? n : n * bt);
  const sizes = [elements(spans.a, s.a), elements(spans.b, s.b), per.c * bt, s.bias ? s.N * bt : 0];
  if (Math.max(...sizes) * 4 > gpu.device.limits.maxStorageBufferBindingSize) return null;
  // Checked like a real op's operands: a sizing slip would otherwise read out of range silently (WebGPU clamps).
  checkExtents(spec, { a: sizes[0], b: sizes[1], c: sizes[2], bias: sizes[3] });
  const buf = (name: string, n: number) =>
    storageBuffer(gpu, `${s.label} tuning ${name}`, Math.max(4, n * 4));
  return {
    spec,
    a: buf("a", sizes[0]),
    b: buf("b", sizes[1]),
    c: buf("c", sizes[2]),
    bias: s.bias ? buf("bias", sizes[3]) : undefined,
  };
}

const DEFAULT_GPU_TILE: GpuTile = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 };

/** Fills and checks the workgroup tile of the "gpu" family against the device limits. */
export function gpuTile(gpu: Gpu, op: string, override: Partial<GpuTile>): GpuTile {
  const t = { ...DEFAULT_GPU_TILE };
  for (const f of ["bm", "bn", "bk", "tm", "tn"] as const) {
    const v = override[f];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 1024) {
      throw new MatmulSpecError(op, `gpuTile.${f}`, `must be an integer in [1, 1024], got ${String(v)}`);
    }
    t[f] = v;
  }
  if (t.bm % t.tm !== 0) {
    throw new MatmulSpecError(op, "gpuTile.bm", `(${t.bm}) must be a multiple of tm ${t.tm}`);
  }
  if (t.bn % t.tn !== 0) {
    throw new MatmulSpecError(op, "gpuTile.bn", `(${t.bn}) must be a multiple of tn ${t.tn}`);
  }
  const threads = (t.bm / t.tm) * (t.bn / t.tn);
  const lim = gpu.device.limits;
  if (threads > lim.maxComputeInvocationsPerWorkgroup) {
    throw new MatmulSpecError(
      op,
      "gpuTile",
      `needs ${threads} invocations per workgroup, more than the device's ${lim.maxComputeInvocationsPerWorkgroup}`,
    );
  }
  const bytes = (t.bm + t.bn) * t.bk * 4;
  if (bytes > lim.maxComputeWorkgroupStorageSize) {
    throw new MatmulSpecError(
      op,
      "gpuTile",
      `needs ${bytes} bytes of workgroup memory, more than the device's ${lim.maxComputeWorkgroupStorageSize}`,
    );
  }
  return t;
}

/** The "gpu" family's tile search; the split-K chunk count was fixed before (it sets the order of summation). */
function gpuSearch(gpu: Gpu, s: NormalizedMatmul, base: GpuTile): Omit<TileSearch<GpuTile>, "time"> {
  return {
    family: "gpu",
    shape: shapeKey(s, ""),
    base,
    neighbours: (t) => gpuTileNeighbours(gpu, `matmul "${s.label}"`, t),
  };
}

/**
 * The shared blocks kernels/matmul.wgsl and kernels/matmul_tiled.wgsl include: their Params and bindings (the
 * uniform packed below follows that struct's field order), and the (row block, batch) addressing.
 */
const PARAM_MATMUL_INCLUDE = ["matmul_params", "matmul_batch"];

/** The "reference" and "gpu" families: one WGSL file each, shapes in the uniform (Params of matmul_params.wgsl). */
async function paramMatmul(
  gpu: Gpu,
  s: NormalizedMatmul,
  variant: "reference" | "gpu",
  tileOverride: Partial<GpuTile>,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  bias?: GPUBuffer,
): Promise<Dispatch> {
  const op = `matmul "${s.label}"`;
  const maxDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  let kernel, bm, bn;
  if (variant === "reference") {
    kernel = await loadKernel(gpu, "matmul", { include: PARAM_MATMUL_INCLUDE });
    bm = bn = 8;
  } else {
    const given = gpuTile(gpu, op, tileOverride);
    // A tile the spec names is used as it is; otherwise the tuner may time the default's neighbours.
    const t = Object.keys(tileOverride).length > 0 ? given : await tuneOnScratch(
      gpu,
      s,
      gpuSearch(gpu, s, given),
      (twin, tile) => paramMatmul(gpu, twin.spec, "gpu", tile, twin.a, twin.b, twin.c, twin.bias),
    );
    kernel = await loadKernel(gpu, "matmul_tiled", {
      consts: { BM: t.bm, BN: t.bn, BK: t.bk, TM: t.tm, TN: t.tn },
      include: PARAM_MATMUL_INCLUDE,
    });
    bm = t.bm;
    bn = t.bn;
  }
  const mBlocks = Math.ceil(s.M / bm);
  const total = mBlocks * s.batch[0] * s.batch[1];
  const { gridY, gridZ } = foldPairs(total, maxDim);
  const gridX = Math.ceil(s.N / bn);
  if (gridX > maxDim || gridZ > maxDim) {
    throw new MatmulSpecError(
      op,
      "shape",
      `needs a ${gridX}×${gridY}×${gridZ} grid, more than ${maxDim} per dimension`,
    );
  }
  const bl = s.bias ?? { offset: 0, stride: [0, 0] as const };
  const u = uniformStruct(gpu, `${s.label} params`, [
    ["u32", s.M],
    ["u32", s.N],
    ["u32", s.K],
    ["u32", s.transA ? 1 : 0],
    ["u32", s.transB ? 1 : 0],
    ["u32", s.accumulate ? 1 : 0],
    ["u32", bias ? 1 : 0],
    ["u32", s.batch[1]],
    ["u32", mBlocks],
    ["u32", total],
    ["u32", gridY],
    ...layoutFields(s.a),
    ...layoutFields(s.b),
    ...layoutFields(s.c),
    ["u32", bl.offset],
    ["u32", bl.stride[0]],
    ["u32", bl.stride[1]],
    ["f32", s.alpha],
  ]);
  // Without a bias the binding still needs a buffer: A is read-only there too, so it can stand in.
  return prepare(kernel, [a, b, c, bias ?? a, u], [gridX, gridY, gridZ], `${s.label} (matmul ${variant})`);
}

function layoutFields(
  l: { offset: number; ld: number; stride: readonly [number, number] },
): Array<["u32", number]> {
  return [["u32", l.offset], ["u32", l.ld], ["u32", l.stride[0]], ["u32", l.stride[1]]];
}

/** Rows one invocation of the column sum adds before a second pass takes over. */
const COLSUM_ROWS = 256;
const COLSUM_WG = 64;

/**
 * Prepares dst[z][n] (+)= alpha·Σ_m src[z][m, n]. Up to COLSUM_ROWS rows: one dispatch straight into dst. More:
 * pass 1 sums chunks of COLSUM_ROWS rows into a scratch buffer owned by the op, pass 2 sums the chunks into dst
 * (deterministic, and M = 65536 gives 256 chunks × N/64 workgroups of parallel work instead of N/64).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createColSum, getGpu, readF32, storageBuffer, storageFrom, submitProgram } from "chi";
 *
 * const gpu = await getGpu();
 * const src = storageFrom(gpu, "src", new Float32Array([1, 2, 3, 4, 5, 6])); // 2×3
 * const dst = storageBuffer(gpu, "dst", 3 * 4);
 * submitProgram(gpu, await createColSum(gpu, { M: 2, N: 3, src: {}, dst: {} }, src, dst));
 * assert.deepEqual(await readF32(gpu, dst), new Float32Array([5, 7, 9]));
 * ```
 */
export async function createColSum(
  gpu: Gpu,
  spec: ColSumSpec,
  src: GPUBuffer,
  dst: GPUBuffer,
): Promise<Dispatch[]> {
  const s = normalizeColSum(spec);
  const op = `colsum "${s.label}"`;
  const elements = { src: bindable(gpu, op, "buffer src", src), dst: bindable(gpu, op, "buffer dst", dst) };
  if (src === dst) {
    throw new MatmulSpecError(
      op,
      "buffer dst",
      `is the same buffer as src ("${dst.label}"): one dispatch cannot read and write it; use separate buffers`,
    );
  }
  checkColSumExtents(s, elements);
  const kernel = await loadKernel(gpu, "matmul_colsum", { consts: { WG: COLSUM_WG } });
  const maxDim = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  const nb = s.batch[0] * s.batch[1];
  const gridX = Math.ceil(s.N / COLSUM_WG);
  const pass = (
    label: string,
    input: GPUBuffer,
    output: GPUBuffer,
    f: {
      M: number;
      R: number;
      chunks: number;
      src: { offset: number; ld: number; stride: readonly [number, number] };
      out: { offset: number; stride: readonly [number, number]; chunk: number };
      alpha: number;
      accumulate: boolean;
    },
  ): Dispatch => {
    const total = f.chunks * nb;
    const { gridY, gridZ } = foldPairs(total, maxDim);
    if (gridZ > maxDim) throw new MatmulSpecError(op, "batch", `needs more than ${maxDim}² workgroups`);
    const u = uniformStruct(gpu, `${s.label} ${label} params`, [
      ["u32", s.N],
      ["u32", f.M],
      ["u32", f.R],
      ["u32", f.chunks],
      ["u32", s.batch[1]],
      ["u32", total],
      ["u32", gridY],
      ["u32", f.accumulate ? 1 : 0],
      ["u32", f.src.offset],
      ["u32", f.src.ld],
      ["u32", f.src.stride[0]],
      ["u32", f.src.stride[1]],
      ["u32", f.out.offset],
      ["u32", f.out.stride[0]],
      ["u32", f.out.stride[1]],
      ["u32", f.out.chunk],
      ["f32", f.alpha],
    ]);
    return prepare(kernel, [input, output, u], [gridX, gridY, gridZ], `${s.label} (${label})`);
  };
  const final = { offset: s.dst.offset, stride: s.dst.stride, chunk: 0 };
  if (s.M <= COLSUM_ROWS) {
    return [pass("colsum", src, dst, {
      M: s.M,
      R: s.M,
      chunks: 1,
      src: s.src,
      out: final,
      alpha: s.alpha,
      accumulate: s.accumulate,
    })];
  }
  const chunks = Math.ceil(s.M / COLSUM_ROWS);
  // Scratch rows: [batch0, batch1, chunks, N], dense.
  const scratch = storageBuffer(gpu, `${s.label} colsum partials`, nb * chunks * s.N * 4);
  const sStride = [s.batch[1] * chunks * s.N, chunks * s.N] as const;
  return [
    pass("colsum partial", src, scratch, {
      M: s.M,
      R: COLSUM_ROWS,
      chunks,
      src: s.src,
      out: { offset: 0, stride: sStride, chunk: s.N },
      alpha: 1,
      accumulate: false,
    }),
    pass("colsum final", scratch, dst, {
      M: chunks,
      R: chunks,
      chunks: 1,
      src: { offset: 0, ld: s.N, stride: sStride },
      out: final,
      alpha: s.alpha,
      accumulate: s.accumulate,
    }),
  ];
}
