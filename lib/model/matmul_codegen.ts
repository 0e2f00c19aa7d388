/**
 * WGSL generation for the register-blocked ("cpu") matmul family: one kernel per shape, with M, N, K, the leading
 * dimensions, the transposes, the batch grid and the tile baked in as constants and the hot loop emitted
 * straight-line. Offsets, batch strides and alpha stay in a uniform, so every layer of a model that has the same
 * shapes shares one pipeline (the kernel cache dedups by source text).
 *
 * Why this shape of kernel: llvmpipe runs a workgroup on one CPU thread and its invocations as 8-wide SIMD lanes;
 * a vec4 inside an invocation is four SIMD registers. Fast code therefore keeps a large tile of C per invocation
 * in registers (tm×tn outputs as tm·tn/4 vec4 accumulators), loads operands as vec4 where alignment allows
 * (measured 2× over scalar loads), uses no workgroup memory in the loop and puts 8 invocations side by side
 * along n so that the A loads are the same in every lane.
 *
 * Edge tiles: the last tile along m (n) is shifted back to end at M (N), so every load is in range and the loop
 * has no conditionals; the shifted tile stores only the rows (columns) the previous tile did not own. When N is
 * smaller than the tile width (N < 4) the missing columns are clamped to N − 1 on load and never stored.
 *
 * Split-K (ks > 1): the ks invocations of a workgroup share one tile and each reduce every ks-th block of 4 k
 * (interleaved, so the lanes read neighbouring addresses of k-contiguous operands); lane 0 adds the partial
 * tiles from workgroup memory in lane order (deterministic). This multiplies the number of workgroups for small
 * M·N with large K (weight gradients), where few tiles would leave cores idle, and it is the fast lane layout
 * when B is stored N×K (transB): lanes along n would each stream different rows of B.
 *
 * Summed batch level 1 (spec.sumBatch1): the grid enumerates (m group, z0) pairs only, and each invocation
 * loops over z1 (a WGSL loop, batch[1] baked in) around the whole K loop, k tail included, moving its A and B
 * bases by their level-1 strides; the accumulators persist across z1 and one epilogue stores C[z0]. With
 * split-K every lane takes its k blocks of every z1. The order of summation is fixed (z1 outer, k inner, then
 * the lanes in order), so the result is deterministic. Why: the transformer's Σ_h dQ[h]·W_Q[h]ᵀ (K = d_head =
 * 16 per head) was one accumulating dispatch per head, each re-reading and re-writing all of C.
 *
 * Batch level 1 folded into n (foldedBatch1): a narrow N (< 32) cannot give 8 lanes a vec4 tile each, and lanes
 * along m would each read their own A. When the level-1 batches share A (a.stride[1] = 0) and B is not
 * transposed, they are laid side by side along n: the tiles cover N·batch[1] columns, each tile inside one
 * batch (tn divides N), and a tile's column origin gives its z1. The attention projections' per-head Q, K, V
 * (N = d_head = 16, A = the layer's input for every head) then run with 8 lanes along n like an N = 64 product.
 * Each output element's sum over k is the same, so are its bits.
 */
import type { CpuTile, MatmulSpec, NormalizedMatmul } from "./matmul_spec.ts";
import { MatmulSpecError, normalizeMatmul } from "./matmul_spec.ts";
import { composeWgsl } from "../gpu/kernel.ts";

const COMP = ["x", "y", "z", "w"] as const;

/** Alignment facts the generator needs: which operands can be read/written as vec4. */
export interface CpuVectorization {
  a: boolean;
  b: boolean;
  c: boolean;
  bias: boolean;
}

/** Everything that determines one generated kernel. */
export interface CpuPlan {
  tile: CpuTile;
  vec: CpuVectorization;
  hasBias: boolean;
  /** Tiles along n and m. */
  tilesN: number;
  tilesM: number;
  /** Workgroups along x, and the (m group, batch) pairs folded over y·z. */
  gridX: number;
  mGroups: number;
  /** Batch level-1 entries in the grid: batch[1], or 1 when level 1 is summed inside the invocation. */
  gridBatch1: number;
  total: number;
  gridY: number;
  gridZ: number;
}

/** True when every element offset an operand can start at is a multiple of 4. */
function aligned4(...values: number[]): boolean {
  return values.every((v) => v % 4 === 0);
}

/**
 * Which operands are addressed in vec4s. A vec4 runs along the operand's stored rows (its contiguous
 * dimension), so the offset, the strides and ld must be multiples of 4 and so must the contiguous extent (tiles
 * start at multiples of 4 and never read past a row end).
 */
export function vectorization(s: NormalizedMatmul): CpuVectorization {
  const al = (l: { offset: number; ld: number; stride: readonly [number, number] }) =>
    aligned4(l.offset, l.ld, l.stride[0], l.stride[1]);
  const bias = s.bias ? aligned4(s.bias.offset, s.bias.stride[0], s.bias.stride[1]) && s.N % 4 === 0 : false;
  return {
    a: al(s.a) && (s.transA ? s.M : s.K) % 4 === 0,
    b: al(s.b) && (s.transB ? s.K : s.N) % 4 === 0,
    c: al(s.c) && s.N % 4 === 0,
    bias,
  };
}

function tileField(op: string, field: keyof CpuTile, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 256) {
    throw new MatmulSpecError(op, `cpuTile.${field}`, `must be an integer in [1, 256], got ${String(v)}`);
  }
  if (field === "tn" && v % 4 !== 0) {
    throw new MatmulSpecError(op, "cpuTile.tn", `must be a multiple of 4 (vec4 accumulators), got ${v}`);
  }
  return v;
}

/**
 * How many level-1 batches are folded into n (see the file comment), 1 for none: when level 1 is an output batch
 * (not summed) of narrow N (< 32, a multiple of 4) with A shared across it and B not transposed.
 */
export function foldedBatch1(s: NormalizedMatmul): number {
  const fold = s.batch[1] > 1 && !s.sumBatch1 && !s.transB && s.a.stride[1] === 0 && s.N < 32 &&
    s.N % 4 === 0;
  return fold ? s.batch[1] : 1;
}

/** Batch level-1 entries the grid enumerates: none when level 1 is summed or folded inside the tiles. */
function gridBatch1(s: NormalizedMatmul): number {
  return s.sumBatch1 || foldedBatch1(s) > 1 ? 1 : s.batch[1];
}

/**
 * Picks the register tile from the shape (fields given in `override` win, then are fitted to the shape).
 * Measured on llvmpipe (2 cores, 512³): 8×16 ≈ 20, 16×16 ≈ 22, 32×16 ≈ 23, 16×32 ≈ 23 GFLOP/s with 8 lanes along
 * n. Larger tiles cut loads per FMA but cost compile time and leave lanes idle on small matrices.
 * A narrow N (the attention projections: N = d_head or d_model) keeps 8 lanes along n with a narrower tile
 * (tn ≈ N/8) instead of one 16-wide tile per lane: the tiny SGLD's Q/K/V products (N = 16) ran 1.4-2.4× faster,
 * its N = 64 products 1.1-1.6×, the paper shape's N = 32 products 1.4-1.8× (grid search over tm, tn, wx on the
 * 2-core machine; wide products unchanged).
 * Level 1 folded into n (foldedBatch1): the tiles span N·batch[1] columns and tn is cut to a divisor of N, so
 * the per-head Q, K, V (N = 16 × 4 heads) get tn = 8 and 8 lanes along n (the tiny SGLD's forward+backward program 1.09× faster).
 * Summed level 1 (sumBatch1): only the z0 batches make tiles, but each tile reduces K·batch[1] products, so
 * the split-K decision looks at that effective K; ks stays at most the number of 4-blocks of one K, since the
 * lanes share the blocks of each z1 (more lanes would idle).
 */
export function chooseCpuTile(
  s: NormalizedMatmul,
  vec: CpuVectorization,
  override: Partial<CpuTile> = {},
  cores = 2,
): CpuTile {
  const op = `matmul "${s.label}"`;
  const o: Partial<CpuTile> = {};
  for (const f of ["tm", "tn", "wx", "wy", "ks"] as const) o[f] = tileField(op, f, override[f]);
  const fold = foldedBatch1(s);
  const width = s.N * fold; // columns the tiles cover
  const narrow = width < 128;
  let tn = o.tn ?? (narrow ? Math.max(4, Math.ceil(width / 32) * 4) : 16);
  let tm = o.tm ?? (!narrow && s.M >= 128 ? 32 : s.M >= 32 ? 16 : 8);
  // Fit to the shape: never wider than the matrix (N < 4 keeps one vec4 of clamped columns).
  tn = Math.max(4, Math.min(tn, Math.floor(s.N / 4) * 4));
  while (fold > 1 && s.N % tn !== 0) tn -= 4; // a folded tile stays inside one batch
  tm = Math.min(tm, s.M);
  if (vec.a && s.transA) tm = Math.max(4, Math.floor(tm / 4) * 4); // vec4 loads along m (M % 4 = 0 here)
  const tilesN = fold * Math.ceil(s.N / tn), tilesM = Math.ceil(s.M / tm);
  const tiles = tilesN * tilesM * s.batch[0] * gridBatch1(s);
  const kEff = s.sumBatch1 ? s.K * s.batch[1] : s.K;
  // Split-K when the tiles would not give every core a few full workgroups of 8 lanes and K is long.
  const autoKs = tiles < 16 * cores && kEff >= 512
    ? Math.max(1, Math.min(8, Math.floor(kEff / 256), Math.floor(s.K / 4)))
    : 1;
  const ks = o.ks ?? autoKs;
  if (ks > 1) return { tm, tn, wx: 1, wy: 1, ks };
  let wx = o.wx ?? Math.min(8, tilesN);
  let wy = o.wy ?? Math.max(1, Math.min(Math.floor(8 / wx), tilesM));
  wx = Math.min(wx, 256);
  wy = Math.min(wy, Math.floor(256 / wx));
  return { tm, tn, wx, wy, ks: 1 };
}

/** Grid geometry of a plan (workgroups along x; (m group, batch) pairs folded into y·z ≤ maxDim each). */
export function planCpu(
  s: NormalizedMatmul,
  tile: CpuTile,
  vec: CpuVectorization,
  hasBias: boolean,
  maxDim: number,
): CpuPlan {
  const fold = foldedBatch1(s);
  if (fold > 1 && s.N % tile.tn !== 0) {
    throw new MatmulSpecError(
      `matmul "${s.label}"`,
      "cpuTile.tn",
      `(${tile.tn}) must divide N = ${s.N} when batch level 1 is folded into n`,
    );
  }
  const tilesN = fold * Math.ceil(s.N / tile.tn), tilesM = Math.ceil(s.M / tile.tm);
  const wx = tile.ks > 1 ? 1 : tile.wx, wy = tile.ks > 1 ? 1 : tile.wy;
  const gridX = Math.ceil(tilesN / wx);
  const mGroups = Math.ceil(tilesM / wy);
  const total = mGroups * s.batch[0] * gridBatch1(s);
  const gridY = Math.min(total, maxDim);
  const gridZ = Math.ceil(total / gridY);
  if (gridX > maxDim || gridZ > maxDim) {
    throw new MatmulSpecError(
      `matmul "${s.label}"`,
      "shape",
      `needs a ${gridX}×${gridY}×${gridZ} grid, more than ${maxDim} workgroups per dimension`,
    );
  }
  return {
    tile,
    vec,
    hasBias,
    tilesN,
    tilesM,
    gridX,
    mGroups,
    gridBatch1: gridBatch1(s),
    total,
    gridY,
    gridZ,
  };
}

/** Uniform fields of the generated kernel, in declaration order (offsets in the operand's units). */
export function cpuUniformFields(s: NormalizedMatmul, plan: CpuPlan): Array<["u32" | "f32", number]> {
  const unit = (v: boolean) => (v ? 4 : 1);
  const l = (x: { offset: number; stride: readonly [number, number] }, u: number): Array<["u32", number]> => [
    ["u32", x.offset / u],
    ["u32", x.stride[0] / u],
    ["u32", x.stride[1] / u],
  ];
  const bias = s.bias ?? { offset: 0, stride: [0, 0] as const };
  return [
    ...l(s.a, unit(plan.vec.a)),
    ...l(s.b, unit(plan.vec.b)),
    ...l(s.c, unit(plan.vec.c)),
    ...l(bias, unit(plan.vec.bias)),
    ["f32", s.alpha],
  ];
}

/** `${x}u` for a u32 literal. */
const u = (x: number) => `${x}u`;

/**
 * Emits the loads and FMAs of one block of `kks` consecutive k (1..4) at pointers pa, pb. Loads are bound to
 * `let`s once and reused by every FMA of the block.
 */
function emitBlock(s: NormalizedMatmul, plan: CpuPlan, kks: number, indent: string): string[] {
  const { tm, tn } = plan.tile;
  const tn4 = tn / 4;
  const L: string[] = [];
  const va = plan.vec.a, vb = plan.vec.b;
  const lda = s.a.ld, ldb = s.b.ld;
  // Column j of the tile, clamped when the matrix is narrower than one vec4 (then n0 = 0).
  const col = (j: number) => (s.N < tn ? Math.min(j, s.N - 1) : j);
  // a(i, kk): scalar expression of op(A)[m0 + i, k + kk].
  let a: (i: number, kk: number) => string;
  if (!s.transA && va) {
    for (let i = 0; i < tm; i++) L.push(`let a${i} = A[pa + ${u(i * (lda / 4))}];`);
    a = (i, kk) => `a${i}.${COMP[kk]}`;
  } else if (!s.transA) {
    for (let i = 0; i < tm; i++) {
      for (let kk = 0; kk < kks; kk++) L.push(`let a${i}_${kk} = A[pa + ${u(i * lda + kk)}];`);
    }
    a = (i, kk) => `a${i}_${kk}`;
  } else if (va) {
    for (let kk = 0; kk < kks; kk++) {
      for (let i4 = 0; i4 < tm / 4; i4++) L.push(`let a${kk}_${i4} = A[pa + ${u(kk * (lda / 4) + i4)}];`);
    }
    a = (i, kk) => `a${kk}_${Math.floor(i / 4)}.${COMP[i % 4]}`;
  } else {
    for (let kk = 0; kk < kks; kk++) {
      for (let i = 0; i < tm; i++) L.push(`let a${kk}_${i} = A[pa + ${u(kk * lda + i)}];`);
    }
    a = (i, kk) => `a${kk}_${i}`;
  }
  // b(kk, j4): vec4 expression of op(B)[k + kk, n0 + 4·j4 .. n0 + 4·j4 + 3].
  let b: (kk: number, j4: number) => string;
  const vec4 = (xs: string[]) => `vec4<f32>(${xs.join(", ")})`;
  if (s.transB && vb) {
    for (let j = 0; j < tn; j++) {
      if (s.N < tn && j >= s.N) continue;
      L.push(`let b${j} = B[pb + ${u(col(j) * (ldb / 4))}];`);
    }
    b = (kk, j4) => vec4([0, 1, 2, 3].map((q) => `b${col(4 * j4 + q)}.${COMP[kk]}`));
  } else if (s.transB) {
    for (let j = 0; j < tn; j++) {
      if (s.N < tn && j >= s.N) continue;
      for (let kk = 0; kk < kks; kk++) L.push(`let b${j}_${kk} = B[pb + ${u(col(j) * ldb + kk)}];`);
    }
    b = (kk, j4) => vec4([0, 1, 2, 3].map((q) => `b${col(4 * j4 + q)}_${kk}`));
  } else if (vb) {
    b = (kk, j4) => `B[pb + ${u(kk * (ldb / 4) + j4)}]`;
  } else {
    for (let kk = 0; kk < kks; kk++) {
      for (let j = 0; j < tn; j++) {
        if (s.N < tn && j >= s.N) continue;
        L.push(`let b${kk}_${j} = B[pb + ${u(kk * ldb + j)}];`);
      }
    }
    b = (kk, j4) => vec4([0, 1, 2, 3].map((q) => `b${kk}_${col(4 * j4 + q)}`));
  }
  for (let kk = 0; kk < kks; kk++) {
    for (let j4 = 0; j4 < tn4; j4++) {
      L.push(`let bv${kk}_${j4} = ${b(kk, j4)};`);
      for (let i = 0; i < tm; i++) {
        L.push(`c${i}_${j4} = fma(vec4<f32>(${a(i, kk)}), bv${kk}_${j4}, c${i}_${j4});`);
      }
    }
  }
  return L.map((l) => indent + l);
}

/** Pointer expressions of A and B at row/column tile (m0, n0) and reduction index `k` (a WGSL expression). */
function pointers(
  s: NormalizedMatmul,
  plan: CpuPlan,
  k: string,
): { pa: string; pb: string; sa: number; sb: number } {
  const va = plan.vec.a, vb = plan.vec.b;
  const ua = va ? 4 : 1, ub = vb ? 4 : 1;
  const pa = s.transA
    ? `aBase + ${k} * ${u(s.a.ld / ua)} + m0 / ${u(ua)}`
    : `aBase + m0 * ${u(s.a.ld / ua)} + ${k} / ${u(ua)}`;
  const pb = s.transB
    ? `bBase + n0 * ${u(s.b.ld / ub)} + ${k} / ${u(ub)}`
    : `bBase + ${k} * ${u(s.b.ld / ub)} + n0 / ${u(ub)}`;
  // Pointer advance per block of 4 k.
  const sa = s.transA ? (4 * s.a.ld) / ua : 4 / ua;
  const sb = s.transB ? 4 / ub : (4 * s.b.ld) / ub;
  return { pa, pb, sa, sb };
}

/** Emits the epilogue: alpha, bias, accumulate, ownership guards of shifted edge tiles. */
function emitStore(s: NormalizedMatmul, plan: CpuPlan, indent: string): string[] {
  const { tm, tn } = plan.tile;
  const L: string[] = [];
  const vc = plan.vec.c, vbias = plan.vec.bias;
  const ldc = s.c.ld;
  const guardM = s.M % tm !== 0, guardN = s.N >= tn && s.N % tn !== 0;
  for (let i = 0; i < tm; i++) {
    const inner: string[] = [];
    for (let j4 = 0; j4 < tn / 4; j4++) {
      let v = `p.alpha * c${i}_${j4}`;
      if (plan.hasBias) {
        v += vbias
          ? ` + BIAS[biasBase + n0 / 4u + ${u(j4)}]`
          : ` + vec4<f32>(${
            [0, 1, 2, 3].map((q) => `BIAS[biasBase + n0 + ${u(Math.min(4 * j4 + q, s.N - 1))}]`).join(", ")
          })`;
      }
      inner.push(`let v${j4} = ${v};`);
      if (vc) {
        const idx = `cRow + n0 / 4u + ${u(j4)}`;
        const st = s.accumulate ? `C[${idx}] = C[${idx}] + v${j4};` : `C[${idx}] = v${j4};`;
        inner.push(guardN ? `if (n0 + ${u(4 * j4)} >= nT) { ${st} }` : st);
      } else {
        for (let q = 0; q < 4; q++) {
          const j = 4 * j4 + q;
          if (s.N < tn && j >= s.N) continue;
          const idx = `cRow + n0 + ${u(j)}`;
          const st = s.accumulate
            ? `C[${idx}] = C[${idx}] + v${j4}.${COMP[q]};`
            : `C[${idx}] = v${j4}.${COMP[q]};`;
          inner.push(guardN ? `if (n0 + ${u(j)} >= nT) { ${st} }` : st);
        }
      }
    }
    const rowStart = `let cRow = cBase + (m0 + ${u(i)}) * ${u(vc ? ldc / 4 : ldc)};`;
    const body = [rowStart, ...inner].map((l) => indent + "  " + l);
    L.push(indent + (guardM ? `if (m0 + ${u(i)} >= mT) {` : "{"), ...body, indent + "}");
  }
  return L;
}

/**
 * Emits the reduction over K into the accumulators, from the operand bases aBase and bBase: the loop over
 * blocks of 4 k (split-K: every ks-th block per lane) and the k tail (split-K: on the last lane).
 */
function emitKLoop(s: NormalizedMatmul, plan: CpuPlan, indent: string): string[] {
  const ks = plan.tile.ks;
  const K4 = Math.floor(s.K / 4) * 4, kTail = s.K - K4;
  const { pa, pb, sa, sb } = pointers(s, plan, "kBeg");
  const tail = pointers(s, plan, u(K4));
  const L: string[] = [];
  if (K4 > 0) {
    // Split-K interleaves blocks of 4 k over the lanes (lane l takes blocks l, l + ks, …): lanes then read
    // neighbouring addresses of a k-contiguous operand instead of ks far-apart streams.
    L.push(
      ks > 1 ? "let kBeg = lid.x * 4u;" : "let kBeg = 0u;",
      `var pa = ${pa};`,
      `var pb = ${pb};`,
      `for (var k = kBeg; k < ${u(K4)}; k += ${u(4 * ks)}) {`,
      ...emitBlock(s, plan, 4, "  "),
      `  pa += ${u(sa * ks)};`,
      `  pb += ${u(sb * ks)};`,
      "}",
    );
  }
  if (kTail > 0) {
    L.push(
      ks > 1 ? `if (lid.x == ${u(ks - 1)}) {` : "{",
      `  let pa = ${tail.pa};`,
      `  let pb = ${tail.pb};`,
      ...emitBlock(s, plan, kTail, "  "),
      "}",
    );
  }
  return L.map((l) => indent + l);
}

/**
 * The batch bases of A and B: of the invocation's (z0, z1) (aBase, bBase), or, with a summed level 1, of its
 * (z0, 0) (aBatch, bBatch), which the z1 loop moves on.
 */
function emitBases(s: NormalizedMatmul): string[] {
  const [a, b] = s.sumBatch1 ? ["aBatch", "bBatch"] : ["aBase", "bBase"];
  return [
    `  let ${a} = batchBase(p.aOff, p.aS0, p.aS1, ${batchOf(s)});`,
    `  let ${b} = batchBase(p.bOff, p.bS0, p.bS1, ${batchOf(s)});`,
  ];
}

/** The WGSL name of the invocation's (rows, z0, z1): blkN when level 1 is folded into n (z1 from the tile). */
function batchOf(s: NormalizedMatmul): string {
  return foldedBatch1(s) > 1 ? "blkN" : "blk";
}

/**
 * The reduction of one invocation from its batch bases: the K loop, or, with a summed level 1, a loop over z1
 * around it that moves the bases by the level-1 strides (uniform, in operand units).
 */
function emitReduction(s: NormalizedMatmul, plan: CpuPlan): string[] {
  if (!s.sumBatch1) return emitKLoop(s, plan, "  ");
  return [
    `  for (var z1 = 0u; z1 < ${u(s.batch[1])}; z1++) {`,
    "    let aBase = aBatch + z1 * p.aS1;",
    "    let bBase = bBatch + z1 * p.bS1;",
    ...emitKLoop(s, plan, "    "),
    "  }",
  ];
}

/** The header comment's formula line: what the kernel computes, per batch index. */
function formulaComment(s: NormalizedMatmul, hasBias: boolean): string {
  const z = s.sumBatch1 ? "z0" : "z";
  const prod = `op(A[${s.sumBatch1 ? "z0, z1" : "z"}]) (${s.M}×${s.K}) · op(B[${
    s.sumBatch1 ? "z0, z1" : "z"
  }]) (${s.K}×${s.N})`;
  const sum = s.sumBatch1 ? `Σ_{z1 < ${s.batch[1]}} ` : "";
  return `// C[${z}] (${s.M}×${s.N}) = alpha · ${sum}${prod}${hasBias ? ` + bias[${z}]` : ""}${
    s.accumulate ? ` + C[${z}]` : ""
  }; transA ${s.transA}, transB ${s.transB},`;
}

/**
 * The WGSL source of a plan: see the file comment for the scheme. Deterministic for a given plan and spec. The
 * kernel keeps its own uniform (offsets, batch strides, alpha: cpuUniformFields) and appends the batch addressing
 * all matmul families share, kernels/matmul_batch.wgsl.
 */
export function cpuMatmulSource(s: NormalizedMatmul, plan: CpuPlan): string {
  const { tm, tn, ks } = plan.tile;
  const tn4 = tn / 4;
  const wx = ks > 1 ? ks : plan.tile.wx, wy = ks > 1 ? 1 : plan.tile.wy;
  const t = (v: boolean) => (v ? "vec4<f32>" : "f32");
  const L: string[] = [];
  L.push(
    `// Generated by lib/model/matmul_codegen.ts (register-blocked matmul for CPU adapters), spec "${s.label}".`,
    formulaComment(s, plan.hasBias),
    `// lda ${s.a.ld}, ldb ${s.b.ld}, ldc ${s.c.ld}, batch [${s.batch}]${
      s.sumBatch1
        ? " (level 1 summed: a loop over z1 in each invocation)"
        : foldedBatch1(s) > 1
        ? ` (level 1 folded into n: ${s.N * s.batch[1]} columns, z1 = tile column / ${s.N})`
        : ""
    }. Tile ${tm}×${tn} per invocation` +
      `${
        ks > 1 ? `, split-K over ${ks} lanes` : `, workgroup ${wx}×${wy}`
      }; vec4 A ${plan.vec.a}, B ${plan.vec.b},` +
      ` C ${plan.vec.c}.`,
    `// Bindings: 0 p (uniform: offsets and batch strides in each operand's units, alpha), 1 A, 2 B, 3 C` +
      `${plan.hasBias ? ", 4 BIAS" : ""}.`,
    `// Grid: ${plan.gridX}×${plan.gridY}×${plan.gridZ}: x = n tile groups, wg.y + wg.z·${plan.gridY} = (m group,` +
      ` ${s.sumBatch1 ? "z0" : "batch"}) pair.`,
    "// Includes kernels/matmul_batch.wgsl (appended below): the (m group, batch) pairs and the batch bases.",
    "",
    "struct Params {",
    "  aOff: u32, aS0: u32, aS1: u32,",
    "  bOff: u32, bS0: u32, bS1: u32,",
    "  cOff: u32, cS0: u32, cS1: u32,",
    "  biasOff: u32, biasS0: u32, biasS1: u32,",
    "  alpha: f32,",
    "}",
    "@group(0) @binding(0) var<uniform> p: Params;",
    `@group(0) @binding(1) var<storage, read> A: array<${t(plan.vec.a)}>;`,
    `@group(0) @binding(2) var<storage, read> B: array<${t(plan.vec.b)}>;`,
    `@group(0) @binding(3) var<storage, read_write> C: array<${t(plan.vec.c)}>;`,
  );
  if (plan.hasBias) L.push(`@group(0) @binding(4) var<storage, read> BIAS: array<${t(plan.vec.bias)}>;`);
  if (ks > 1) L.push(`var<workgroup> red: array<vec4<f32>, ${ks * tm * tn4}>;`);
  L.push(
    "",
    `@compute @workgroup_size(${wx}, ${wy}, 1)`,
    "fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {",
    `  let linear = pairIndex(wg, ${u(plan.gridY)});`,
    `  if (linear >= ${u(plan.total)}) {`,
    "    return;",
    "  }",
    `  let blk = rowBlock(linear, ${u(plan.mGroups)}, ${u(plan.gridBatch1)});`,
  );
  if (ks > 1) {
    L.push("  let tileN = wg.x;", "  let tileM = blk.rows;");
  } else {
    L.push(
      `  let tileN = wg.x * ${u(wx)} + lid.x;`,
      `  let tileM = blk.rows * ${u(wy)} + lid.y;`,
      `  if (tileN >= ${u(plan.tilesN)} || tileM >= ${u(plan.tilesM)}) {`,
      "    return;",
      "  }",
    );
  }
  // Unshifted tile origin (what this tile owns) and the shifted origin that keeps every load in range.
  if (foldedBatch1(s) > 1) {
    L.push(`  let blkN = RowBlock(blk.rows, blk.z0, tileN * ${u(tn)} / ${u(s.N)});`);
  }
  L.push(
    foldedBatch1(s) > 1 ? `  let nT = tileN * ${u(tn)} % ${u(s.N)};` : `  let nT = tileN * ${u(tn)};`,
    `  let mT = tileM * ${u(tm)};`,
    s.N >= tn ? `  let n0 = min(nT, ${u(s.N - tn)});` : "  let n0 = 0u;",
    `  let m0 = min(mT, ${u(s.M - tm)});`,
    ...emitBases(s),
  );
  for (let i = 0; i < tm; i++) for (let j4 = 0; j4 < tn4; j4++) L.push(`  var c${i}_${j4} = vec4<f32>();`);
  L.push(...emitReduction(s, plan));
  if (ks > 1) {
    for (let i = 0; i < tm; i++) {
      for (let j4 = 0; j4 < tn4; j4++) {
        L.push(`  red[lid.x * ${u(tm * tn4)} + ${u(i * tn4 + j4)}] = c${i}_${j4};`);
      }
    }
    L.push("  workgroupBarrier();", "  if (lid.x != 0u) {", "    return;", "  }");
    for (let i = 0; i < tm; i++) {
      for (let j4 = 0; j4 < tn4; j4++) {
        const parts = [];
        for (let r = 1; r < ks; r++) parts.push(`red[${u(r * tm * tn4 + i * tn4 + j4)}]`);
        L.push(`  c${i}_${j4} = c${i}_${j4} + ${parts.join(" + ")};`);
      }
    }
  }
  L.push(`  let cBase = batchBase(p.cOff, p.cS0, p.cS1, ${batchOf(s)});`);
  if (plan.hasBias) L.push(`  let biasBase = batchBase(p.biasOff, p.biasS0, p.biasS1, ${batchOf(s)});`);
  L.push(...emitStore(s, plan, "  "), "}", "");
  return composeWgsl(L.join("\n"), ["matmul_batch"]);
}

/**
 * The WGSL the "cpu" family generates for one matmul spec, without a device: what `createMatmul` compiles for
 * `spec` on an adapter with `cores` CPU threads and `maxDim` workgroups per dimension (WebGPU's default limit).
 * For reading the generated code; `deno task matmul-wgsl` writes it for every matmul of a model's step.
 *
 * @example
 * ```ts
 * const wgsl = cpuMatmulWgsl({ M: 64, N: 64, K: 64, a: {}, b: {}, c: {}, label: "x·W" });
 * if (!wgsl.includes("@compute")) throw new Error("expected a compute shader");
 * ```
 */
export function cpuMatmulWgsl(spec: MatmulSpec, cores = 2, maxDim = 65535): string {
  const s = normalizeMatmul(spec);
  const vec = vectorization(s);
  const plan = planCpu(
    s,
    chooseCpuTile(s, vec, spec.cpuTile ?? {}, cores),
    vec,
    spec.bias !== undefined,
    maxDim,
  );
  return cpuMatmulSource(s, plan);
}
