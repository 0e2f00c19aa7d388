/**
 * Softmax cross-entropy over the vocabulary, fused with its backward (kernels/cross_entropy.wgsl), and the
 * per-copy mean loss. Batched over copies: logits [C, B, T, V], tokens [C or 1, B, T] int32, per-token losses
 * [C, B, T]. Row (c, b, t) predicts token (b, t+1) of copy c; the last position of each sequence has no target
 * (loss 0, gradient 0). The mean loss of copy c averages its B·(T−1) predictions.
 *
 * Mode "backward" overwrites the logits in place with dlogits = (softmax − onehot)·gradScale, llm.c's fused
 * classifier; gradScale defaults to 1/(B·(T−1)), the gradient of the mean loss. Mode "forward" leaves them.
 *
 * Chunking: logits of a big batch exceed one storage binding (128 MiB on llvmpipe), so an op may cover a chunk
 * of rows [rowStart, rowStart + rowCount) of the global row order g = (c·B + b)·T + t; the logits buffer then
 * holds only the chunk (row g at logitsOffset + (g − rowStart)·V) while the losses stay indexed globally.
 *
 * Ring buffer of mean losses: the output slot is a per-dispatch uniform. Prepare one mean-loss op per slot
 * (`createMeanLoss` with outOffset = slot·C; the pipeline is compiled once and shared, each op owns a 16-byte
 * uniform and a bind group) and encode the one for step % slots.
 *
 * Token ids are not range-checked on the device beyond making the loss NaN: validate batches on the host with
 * `checkTokens` when they are loaded.
 */
import type { Gpu } from "../gpu/device.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { requireFinite, requireInt, requireSpan } from "../gpu/checks.ts";
import { foldGrid } from "../gpu/grid.ts";
import { uniformStruct } from "../gpu/uniform.ts";

/** Invocations per workgroup (one workgroup per row); measured on llvmpipe, see the tests' timing. */
function workgroupSize(gpu: Gpu): number {
  return gpu.kind === "cpu" ? 64 : 256;
}

/**
 * The copies × batch × sequence shape of a loss op (C, B, T), checked and named by `op` in errors; T ≥ 2, since
 * the last position of a sequence has no target.
 */
function lossShape(op: string, spec: { copies: number; batch: number; seqLen: number }) {
  return {
    C: requireInt(`${op} copies`, spec.copies, 1),
    B: requireInt(`${op} batch`, spec.batch, 1),
    T: requireInt(`${op} seqLen`, spec.seqLen, 2),
  };
}

/**
 * Throws a RangeError naming `source`, the position and the id of the first token id outside [0, dVocab).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTokens } from "chi";
 *
 * checkTokens(new Int32Array([0, 5, 511]), 512, "batch 0"); // fine
 * assert.throws(() => checkTokens(new Int32Array([3, 600]), 512, "batch 1"), RangeError); // names position and id
 * ```
 */
export function checkTokens(tokens: Int32Array, dVocab: number, source: string): void {
  requireInt(`${source}: d_vocab`, dVocab, 1);
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (id < 0 || id >= dVocab) {
      throw new RangeError(`${source}: token id ${id} at position ${i} is not in [0, ${dVocab})`);
    }
  }
}

export interface CrossEntropySpec {
  copies: number;
  batch: number;
  /** Sequence length T ≥ 2. */
  seqLen: number;
  vocab: number;
  /** "backward" also overwrites the logits with dlogits; "forward" leaves them untouched. */
  mode: "forward" | "backward";
  /** Multiplies dlogits (default 1/(B·(T−1)), the gradient of each copy's mean loss). */
  gradScale?: number;
  /** Element offset of the tokens of copy 0 (default 0). */
  tokensOffset?: number;
  /** Elements between the tokens of consecutive copies; 0 when all copies see the same batch. */
  tokensCopyStride: number;
  /** Element offset of the chunk's first logit row (default 0). */
  logitsOffset?: number;
  /** Element offset of loss (c, b, t) = (0, 0, 0) in the losses buffer (default 0). */
  lossOffset?: number;
  /** First global row of the chunk (default 0). */
  rowStart?: number;
  /** Rows in the chunk (default C·B·T − rowStart). */
  rowCount?: number;
  /**
   * How the kernel covers a row: "row", an invocation per row (no barriers; default on CPU adapters, where each
   * barrier is a coroutine switch), or "workgroup", a workgroup per row with a tree reduction (default on GPUs).
   */
  layout?: "row" | "workgroup";
}

/**
 * Prepares the fused cross-entropy over `logits` (read, and written in "backward" mode), `tokens` (int32) and
 * `losses` (written, f32). One dispatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCrossEntropy, getGpu, readF32, storageBuffer, storageFrom, submitProgram } from "chi";
 *
 * const gpu = await getGpu();
 * // One sequence of T = 3 positions over a vocabulary of 4; all logits 0, so every prediction costs ln 4.
 * const logits = storageFrom(gpu, "logits", new Float32Array(3 * 4));
 * const tokens = storageFrom(gpu, "tokens", new Int32Array([1, 2, 3]));
 * const losses = storageBuffer(gpu, "losses", 3 * 4);
 * const shape = { copies: 1, batch: 1, seqLen: 3 };
 * const ce = await createCrossEntropy(gpu, { ...shape, vocab: 4, mode: "forward", tokensCopyStride: 0 }, logits, tokens, losses);
 * submitProgram(gpu, ce);
 * const l = await readF32(gpu, losses);
 * assert.ok(Math.abs(l[0] - Math.log(4)) < 1e-6 && Math.abs(l[1] - Math.log(4)) < 1e-6);
 * assert.equal(l[2], 0); // the last position has no target
 * ```
 */
export async function createCrossEntropy(
  gpu: Gpu,
  spec: CrossEntropySpec,
  logits: GPUBuffer,
  tokens: GPUBuffer,
  losses: GPUBuffer,
): Promise<Dispatch[]> {
  const { C, B, T } = lossShape("cross entropy", spec);
  const V = requireInt("cross entropy vocab", spec.vocab, 1);
  if (spec.mode !== "forward" && spec.mode !== "backward") {
    throw new RangeError(`cross entropy mode: expected "forward" or "backward", got ${spec.mode}`);
  }
  const gradScale = requireFinite("cross entropy gradScale", spec.gradScale ?? 1 / (B * (T - 1)));
  const tokOff = requireInt("cross entropy tokensOffset", spec.tokensOffset ?? 0);
  const tokStride = requireInt("cross entropy tokensCopyStride", spec.tokensCopyStride);
  const logitsOff = requireInt("cross entropy logitsOffset", spec.logitsOffset ?? 0);
  const lossOff = requireInt("cross entropy lossOffset", spec.lossOffset ?? 0);
  const R = C * B * T;
  const rowStart = requireInt("cross entropy rowStart", spec.rowStart ?? 0);
  const rows = requireInt("cross entropy rowCount", spec.rowCount ?? R - rowStart);
  if (rowStart + rows > R) {
    throw new RangeError(`cross entropy rowStart + rowCount = ${rowStart + rows} exceeds C·B·T = ${R}`);
  }
  requireSpan(gpu, "cross entropy logits", logits, logitsOff + rows * V);
  requireSpan(gpu, "cross entropy tokens", tokens, tokOff + (C - 1) * tokStride + B * T);
  requireSpan(gpu, "cross entropy losses", losses, lossOff + R);
  if (logits === tokens || logits === losses || tokens === losses) {
    throw new RangeError("cross entropy: logits, tokens and losses must be three different buffers");
  }
  const WG = workgroupSize(gpu);
  const layout = spec.layout ?? (gpu.kind === "cpu" ? "row" : "workgroup");
  if (layout !== "row" && layout !== "workgroup") {
    throw new RangeError(`cross entropy layout: expected "row" or "workgroup", got ${layout}`);
  }
  const perRow = layout === "row";
  const vec4 = perRow && V % 4 === 0 && logitsOff % 4 === 0;
  const kernel = await loadKernel(gpu, "cross_entropy", {
    entry: vec4 ? "main_rows4" : perRow ? "main_rows" : "main",
    consts: { WG, BACKWARD: spec.mode === "backward" },
  });
  const u = uniformStruct(gpu, "cross entropy params", [
    ["u32", rows],
    ["u32", rowStart],
    ["u32", V],
    ["u32", T],
    ["u32", B * T],
    ["u32", logitsOff],
    ["u32", tokOff],
    ["u32", tokStride],
    ["u32", lossOff],
    ["f32", gradScale],
  ]);
  const groups = perRow ? Math.ceil(rows / WG) : rows;
  return [
    prepare(
      kernel,
      [u, logits, tokens, losses],
      foldGrid(groups, "cross entropy"),
      `cross_entropy${vec4 ? " (vec4 rows)" : ""}`,
    ),
  ];
}

export interface MeanLossSpec {
  copies: number;
  batch: number;
  seqLen: number;
  /** Element offset of loss (0, 0, 0) (default 0). */
  lossOffset?: number;
  /** Element offset of copy 0's mean in the output (default 0); e.g. slot·C in a ring of slots. */
  outOffset?: number;
}

/**
 * Prepares lossOut[outOffset + c] = Σ_{b, t<T−1} losses[lossOffset + (c·B + b)·T + t] / (B·(T−1)) for every
 * copy c: one workgroup per copy, deterministic. One dispatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCrossEntropy, createMeanLoss, getGpu, readF32, storageBuffer, storageFrom, submitProgram } from "chi";
 *
 * const gpu = await getGpu();
 * // One sequence of T = 3 positions over a vocabulary of 4; all logits 0, so every prediction costs ln 4.
 * const logits = storageFrom(gpu, "logits", new Float32Array(3 * 4));
 * const tokens = storageFrom(gpu, "tokens", new Int32Array([1, 2, 3]));
 * const losses = storageBuffer(gpu, "losses", 3 * 4);
 * const shape = { copies: 1, batch: 1, seqLen: 3 };
 * const ce = await createCrossEntropy(gpu, { ...shape, vocab: 4, mode: "forward", tokensCopyStride: 0 }, logits, tokens, losses);
 * const mean = storageBuffer(gpu, "mean", 4);
 * submitProgram(gpu, [...ce, ...(await createMeanLoss(gpu, shape, losses, mean))]);
 * const [m] = await readF32(gpu, mean); // over the B·(T−1) = 2 predictions
 * assert.ok(Math.abs(m - Math.log(4)) < 1e-6);
 * ```
 */
export async function createMeanLoss(
  gpu: Gpu,
  spec: MeanLossSpec,
  losses: GPUBuffer,
  lossOut: GPUBuffer,
): Promise<Dispatch[]> {
  const { C, B, T } = lossShape("mean loss", spec);
  const lossOff = requireInt("mean loss lossOffset", spec.lossOffset ?? 0);
  const outOff = requireInt("mean loss outOffset", spec.outOffset ?? 0);
  requireSpan(gpu, "mean loss losses", losses, lossOff + C * B * T);
  requireSpan(gpu, "mean loss lossOut", lossOut, outOff + C);
  if (losses === lossOut) throw new RangeError("mean loss: losses and lossOut must be different buffers");
  const kernel = await loadKernel(gpu, "cross_entropy", {
    entry: "mean_loss",
    consts: { WG: workgroupSize(gpu) },
  });
  const u = uniformStruct(gpu, "mean loss params", [
    ["u32", B],
    ["u32", T],
    ["u32", lossOff],
    ["u32", outOff],
    ["f32", 1 / (B * (T - 1))],
  ]);
  if (C > 65535) throw new RangeError(`mean loss copies: ${C} exceeds 65535`);
  return [prepare(kernel, [u, losses, lossOut], [C], "mean_loss")];
}

export interface CrossEntropyReferenceSpec {
  copies: number;
  batch: number;
  seqLen: number;
  vocab: number;
  tokensOffset?: number;
  tokensCopyStride: number;
  gradScale?: number;
}

export interface CrossEntropyReference {
  /** Per-token losses [C, B, T] (0 at t = T−1). */
  losses: Float64Array;
  /** (softmax − onehot)·gradScale [C, B, T, V] (0 rows at t = T−1). */
  dlogits: Float64Array;
  /** Mean loss per copy [C]. */
  meanLoss: Float64Array;
}

/** Float64 reference of the fused cross-entropy; logits [C, B, T, V] compact. */
export function crossEntropyReference(
  logits: ArrayLike<number>,
  tokens: Int32Array,
  spec: CrossEntropyReferenceSpec,
): CrossEntropyReference {
  const { copies: C, batch: B, seqLen: T, vocab: V } = spec;
  const tokOff = spec.tokensOffset ?? 0;
  const scale = spec.gradScale ?? 1 / (B * (T - 1));
  if (logits.length !== C * B * T * V) {
    throw new RangeError(`crossEntropyReference: logits has ${logits.length} elements, expected C·B·T·V`);
  }
  const losses = new Float64Array(C * B * T);
  const dlogits = new Float64Array(C * B * T * V);
  const meanLoss = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T - 1; t++) {
        const g = (c * B + b) * T + t;
        const target = tokens[tokOff + c * spec.tokensCopyStride + b * T + t + 1];
        if (target < 0 || target >= V) {
          throw new RangeError(`crossEntropyReference: target ${target} at row ${g}`);
        }
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[g * V + v]);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[g * V + v] - max);
        const lse = max + Math.log(sum);
        losses[g] = lse - logits[g * V + target];
        meanLoss[c] += losses[g];
        for (let v = 0; v < V; v++) dlogits[g * V + v] = Math.exp(logits[g * V + v] - lse) * scale;
        dlogits[g * V + target] -= scale;
      }
    }
    meanLoss[c] /= B * (T - 1);
  }
  return { losses, dlogits, meanLoss };
}
