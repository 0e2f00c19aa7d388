/**
 * The attention-only transformer on the GPU: its forward pass, per-token losses and gradient as prepared
 * programs (lists of dispatches, clears and copies built once, replayed every step), batched over C copies of
 * the parameters (SGLD chains; C = 1 for training).
 *
 * The model (TransformerLens HookedTransformer, attn_only, as in the paper; configs in docs/paper.md):
 *   x₀ = W_E[tok] (+ W_pos[t] for "standard" positions)
 *   per layer l: h = LN1(x_l) (or x_l without LN); qk_in = h + W_pos[t] ("shortformer") or h
 *                q, k = qk_in·W_{Q,K}[h] + b_{Q,K}[h];  v = h·W_V[h] + b_V[h]
 *                z = causal softmax(q·kᵀ/√E)·v;  x_{l+1} = x_l + Σ_h z[h]·W_O[h] + b_O
 *   logits = LN_final(x_L)·W_U + b_U; per-token loss of position t predicts token t+1 (the last has none).
 *
 * Files, one concept each: transformer_passes.ts (embedForward/Backward, blockForward/Backward(l),
 * unembedForward/Backward: the ops in network order), transformer_specs.ts (each op's offsets and strides,
 * shared with the float64 reference.ts), transformer_buffers.ts (the activations with their shapes).
 * Buffers here (f32 unless noted; R = B·T rows per copy):
 *   params, grads [C, P]   P = paramLayout(cfg).stride; copy c at c·P
 *   tokens        i32 [C or 1, B, T] (1 when every copy sees the same batch)
 *   tokenLosses   [C, B, T];  meanLosses [slots, C] ring of per-copy mean losses
 *
 * The unembedding is chunked over rows so that a chunk's logits fit one storage binding
 * (maxStorageBufferBindingSize, 128 MiB on llvmpipe): the paper's config at B = 8 already needs 164 MB of
 * logits. Each chunk is unembedded, turned into dlogits in place by the fused cross entropy, and consumed by the
 * W_U, b_U and hf gradients before the next chunk overwrites it.
 */
import type { Gpu } from "../gpu/device.ts";
import { storageBuffer, upload } from "../gpu/buffers.ts";
import type { Dispatch } from "../gpu/dispatch.ts";
import { clear, copy, type Op } from "../gpu/program.ts";
import { requireInt } from "../gpu/checks.ts";
import { type ModelConfig, validateModelConfig } from "./config.ts";
import { lowestMovingLayer, type Motion, runsByKey } from "./restriction.ts";
import { type ParamLayout, paramLayout } from "./params.ts";
import { checkTokens, createMeanLoss } from "./cross_entropy.ts";
import type { MatmulVariant } from "./matmul_spec.ts";
import { createEmbeddingBackward } from "./embedding.ts";
import { allocActivations, allocGradients } from "./transformer_buffers.ts";
import { type Chunk, embedSpec, type NetDims, netDims, unembedChunks } from "./transformer_specs.ts";
import {
  blockBackward,
  blockForward,
  type BlockRole,
  embedBackward,
  embedForward,
  type Net,
  onCopies,
  unembedBackward,
  unembedForward,
  type UnembedGrad,
} from "./transformer_passes.ts";

export { unembedChunks };

export interface TransformerShape {
  /** Parameter copies C (SGLD chains); 1 for training. */
  copies: number;
  /** Sequences per copy B. */
  batch: number;
  /** Positions per sequence T (2 ≤ T ≤ n_ctx). */
  seqLen: number;
  /** All copies read the same token batch (tokens [1, B, T]) instead of one batch each ([C, B, T]). */
  sharedTokens: boolean;
}

export interface TransformerOptions {
  /** Build the backward program and a gradient buffer. Default true. */
  withGrads?: boolean;
  /** Parameter buffer [C, P] to use (e.g. the sampler's chain state); allocated (zeros) when absent. */
  params?: GPUBuffer;
  /** Gradient buffer [C, P] to use; allocated when absent and withGrads. */
  grads?: GPUBuffer;
  /** Slots of the mean-loss ring (default 1). */
  lossSlots?: number;
  /** Matmul kernel family (default "auto": chosen by the adapter). */
  matmulVariant?: MatmulVariant;
  /** Rows per unembedding chunk (default: as many as one storage binding holds). */
  chunkRows?: number;
  /**
   * What each copy moves (length C; default: every copy moves everything). forwardBackward then computes, per
   * copy, only the gradients its motion needs: a copy restricted to one head gets that head's weight
   * gradients and a backward that stops at the head's layer; a copy that moves nothing (the paired still
   * copy) gets its loss alone. The other elements of its gradient stay 0: the SGLD mask never reads them.
   * With shared tokens, a copy's forward also starts at its lowest moving layer from a copy of w*'s residual
   * stream there. The caller promises that every copy holds the same parameters outside its motion (SGLD's
   * masked chains started at w* do); the results are wrong otherwise.
   */
  motion?: readonly Motion[];
}

export interface Transformer {
  readonly cfg: ModelConfig;
  readonly layout: ParamLayout;
  readonly shape: TransformerShape;
  /** [C, P] */
  readonly params: GPUBuffer;
  /** [C, P]; absent without gradients. */
  readonly grads?: GPUBuffer;
  /** i32 [C or 1, B, T] */
  readonly tokens: GPUBuffer;
  /** [C, B, T] per-token losses of the last forward (position T−1 is 0). */
  readonly tokenLosses: GPUBuffer;
  /** [slots, C] mean losses written by `meanLoss(slot)`. */
  readonly meanLosses: GPUBuffer;
  /** Forward pass and per-token losses (logits untouched, no gradient). */
  readonly forward: readonly Op[];
  /** Forward pass, per-token losses and the gradient of each copy's mean loss into `grads` (overwritten). */
  readonly forwardBackward: readonly Op[];
  /** Writes each copy's mean loss over its B·(T−1) predictions into ring slot `slot`. */
  meanLoss(slot: number): readonly Dispatch[];
  /** Validates the token ids (naming `source`), uploads them and updates the embedding-gradient index. */
  setTokens(tokens: Int32Array, source?: string): void;
  /** Bytes of GPU memory held by the activations and scratch (not params or grads). */
  readonly activationBytes: number;
  destroy(): void;
}

/** Thrown for a shape or option the model cannot run with; names the field. */
export class TransformerError extends Error {
  constructor(readonly field: string, message: string) {
    super(`transformer: ${field}: ${message}`);
    this.name = "TransformerError";
  }
}

const F32 = 4;

/**
 * Builds the GPU programs of `cfg` for `shape` (the passes, in network order, are in transformer_passes.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTransformer, getGpu, initParams, readF32, referenceForwardBackward, submitProgram, TINY_CONFIG, upload } from "chi";
 *
 * const gpu = await getGpu();
 * const shape = { copies: 1, batch: 2, seqLen: 8, sharedTokens: false };
 * // Forward only here; with gradients (the default), run model.forwardBackward instead of model.forward.
 * const model = await createTransformer(gpu, TINY_CONFIG, shape, { withGrads: false });
 * const params = initParams(TINY_CONFIG, 0);
 * const tokens = Int32Array.from({ length: 2 * 8 }, (_, i) => (7 * i) % 512);
 * upload(gpu, model.params, params);
 * model.setTokens(tokens);
 * submitProgram(gpu, [...model.forward, ...model.meanLoss(0)]);
 * const [loss] = await readF32(gpu, model.meanLosses);
 * const reference = referenceForwardBackward(TINY_CONFIG, Float64Array.from(params), tokens, 2, 8, false);
 * assert.ok(Math.abs(loss - reference.loss) < 1e-4); // float32 on the GPU, float64 on the host
 * model.destroy();
 * ```
 */
export async function createTransformer(
  gpu: Gpu,
  cfg: ModelConfig,
  shape: TransformerShape,
  opts: TransformerOptions = {},
): Promise<Transformer> {
  validateModelConfig(cfg);
  const C = requireInt("transformer copies", shape.copies, 1);
  const B = requireInt("transformer batch", shape.batch, 1);
  const T = requireInt("transformer seqLen", shape.seqLen, 2);
  if (T > cfg.n_ctx) throw new TransformerError("seqLen", `${T} exceeds the model's n_ctx ${cfg.n_ctx}`);
  const slots = requireInt("transformer lossSlots", opts.lossSlots ?? 1, 1);
  const layout = paramLayout(cfg);
  const d = netDims(cfg, layout, C, B, T);
  const tokenCopies = shape.sharedTokens ? 1 : C;
  const mem = bufferPool(gpu, d);
  const params = checkGiven(d, "params", opts.params) ?? mem.alloc("params", C * d.P, false);
  const grads = (opts.withGrads ?? true)
    ? (checkGiven(d, "grads", opts.grads) ?? mem.alloc("grads", C * d.P, false))
    : undefined;
  const tokens = mem.alloc("tokens", tokenCopies * d.R);
  const tokenLosses = mem.alloc("tokenLosses", C * d.R);
  const meanLosses = mem.alloc("meanLosses", slots * C);
  const chunks = chunksFor(gpu, d, opts.chunkRows);
  const motion = checkMotion(cfg, C, opts.motion);
  const logitsRows = Math.max(...chunks.map((ch) => ch.copies * ch.rows));
  const acts = allocActivations(mem.alloc, d, logitsRows);
  const net: Net = {
    gpu,
    d,
    variant: opts.matmulVariant ?? "auto",
    tokensCopyStride: shape.sharedTokens ? 0 : d.R,
    params,
    grads,
    tokens,
    tokenLosses,
    acts,
    g: grads ? allocGradients(mem.alloc, d) : undefined,
    chunks,
    first: 0,
  };

  // One copy's residual stream [R, D], allocated when a copy starts from the representative's (forwardBody).
  let stage: GPUBuffer | undefined;
  const stageBuffer = () => (stage ??= mem.alloc("residual stage", d.R * d.D));
  const { forward, forwardBackward, setEmbeddingTokens } = await buildPrograms(net, motion, stageBuffer);
  const meanLoss = await meanLossPrograms(gpu, d, slots, tokenLosses, meanLosses);

  return {
    cfg,
    layout,
    shape: { copies: C, batch: B, seqLen: T, sharedTokens: shape.sharedTokens },
    params,
    grads,
    tokens,
    tokenLosses,
    meanLosses,
    forward,
    forwardBackward,
    meanLoss,
    setTokens(ids: Int32Array, source = "tokens") {
      checkBatch(d, tokenCopies, ids, source);
      upload(gpu, tokens, ids);
      setEmbeddingTokens?.(ids);
    },
    activationBytes: mem.activationBytes(),
    destroy() {
      for (const b of mem.owned) b.destroy();
    },
  };
}

/** One mean-loss program per ring slot: slot s holds the C per-copy means at s·C. */
async function meanLossPrograms(
  gpu: Gpu,
  d: NetDims,
  slots: number,
  tokenLosses: GPUBuffer,
  meanLosses: GPUBuffer,
): Promise<(slot: number) => readonly Dispatch[]> {
  const ops: Dispatch[][] = [];
  for (let s = 0; s < slots; s++) {
    const spec = { copies: d.C, batch: d.B, seqLen: d.T, outOffset: s * d.C };
    ops.push(await createMeanLoss(gpu, spec, tokenLosses, meanLosses));
  }
  return (slot) => {
    if (!ops[slot]) throw new TransformerError("slot", `${slot} is not in [0, ${slots})`);
    return ops[slot];
  };
}

/** Checks a token batch: tokenCopies·B·T ids, each in [0, d_vocab). */
function checkBatch(d: NetDims, tokenCopies: number, ids: Int32Array, source: string): void {
  if (ids.length !== tokenCopies * d.R) {
    throw new TransformerError(
      source,
      `expected ${tokenCopies}·${d.B}·${d.T} = ${tokenCopies * d.R} ids, got ${ids.length}`,
    );
  }
  checkTokens(ids, d.V, source);
}

/** The two programs, from the passes in network order (the header of transformer_passes.ts lists them). */
async function buildPrograms(net: Net, motion: readonly Motion[], stage: () => GPUBuffer): Promise<{
  forward: Op[];
  forwardBackward: Op[];
  setEmbeddingTokens?: (tokens: Int32Array) => void;
}> {
  const { d, grads } = net;
  // The embedding and blocks' forward ops are shared by both programs; the unembedding differs (loss or grad).
  const body = await forwardBody(net, motion, stage);
  const forward = [...body, ...await unembedForward(net, "loss")];
  if (!grads) return { forward, forwardBackward: [] };
  const unembedGrad = (c: number) => unembedGradOf(motion[c]);
  const forwardBackward = [
    clear(grads, 0, d.C * d.P * F32),
    ...body,
    ...await unembedForward(net, "grad", unembedGrad),
  ];
  // Then the backward, layer by layer from the top, each op over a run of consecutive copies that play the same
  // role there (copies of different motions often do: every copy moving a layer-0 head only passes the gradient
  // through layer 1). Runs write disjoint copies of the scratch and gradients, so runs need no order among them.
  const moving = (c: number) => motion[c].kind !== "none";
  for (const run of runsWhere(motion.length, moving)) {
    forwardBackward.push(...await unembedBackward(onCopies(net, run.first, run.count)));
  }
  for (let l = d.L - 1; l >= 0; l--) {
    const runs = runsByKey(motion.length, (c) => blockRole(motion[c], l, d.L), sameRole);
    for (const { first, count, key: role } of runs) {
      if (role) forwardBackward.push(...await blockBackward(onCopies(net, first, count), l, role));
    }
  }
  const scatters: ((tokens: Int32Array) => void)[] = [];
  for (const { first, count } of runsWhere(motion.length, (c) => motion[c].kind === "all")) {
    const sub = onCopies(net, first, count);
    const spec = { ...embedSpec(sub.d, net.tokensCopyStride), firstCopy: first };
    const scatter = await createEmbeddingBackward(net.gpu, spec, net.g!.dresid, grads);
    forwardBackward.push(...await embedBackward(sub, scatter));
    // Shared tokens serve every copy; else this run's copies' ids.
    scatters.push((ids) =>
      scatter.setTokens(net.tokensCopyStride === 0 ? ids : ids.subarray(first * d.R, (first + count) * d.R))
    );
  }
  return { forward, forwardBackward, setEmbeddingTokens: (ids) => scatters.forEach((set) => set(ids)) };
}

/**
 * The embedding and the blocks' forward. Below its lowest moving layer a copy sits at w*, so its residual stream
 * there is w*'s: one representative copy ρ (one that moves nothing, or only in the highest layer) computes every
 * layer, and each other copy starts at its lowest moving layer from a copy of ρ's residual stream. For layer-1
 * heads of a 2-layer model that saves the embedding and layer 0; the still copy computes only the unembedding.
 * The copied values are the bits the copy would have computed itself. This needs shared tokens and copies that
 * agree outside their motions (as SGLD's masked copies of w* do).
 */
async function forwardBody(net: Net, motion: readonly Motion[], stage: () => GPUBuffer): Promise<Op[]> {
  const { L, R, D } = net.d;
  // With a batch per copy the residual streams differ from the first layer on: every copy computes its own.
  const shared = net.tokensCopyStride === 0;
  const start = motion.map((m) => shared ? lowestMovingLayer(m, L) : 0);
  const rho = start.lastIndexOf(Math.max(...start));
  const slice = R * D * F32; // bytes of one copy's residual stream
  // WebGPU copies only between different buffers: ρ's slice goes through a one-copy staging buffer, staged once
  // per layer for every copy that starts there.
  const fromRho = (l: number): Op[] => {
    const starters = motion.flatMap((_, c) => start[c] === l && c !== rho ? [c] : []);
    if (starters.length === 0) return [];
    return [
      copy(net.acts.x[l], rho * slice, stage(), 0, slice),
      ...starters.map((c) => copy(stage(), 0, net.acts.x[l], c * slice, slice)),
    ];
  };
  const ops: Op[] = [];
  for (const run of runsWhere(motion.length, (c) => start[c] === 0 || c === rho)) {
    ops.push(...await embedForward(onCopies(net, run.first, run.count)));
  }
  for (let l = 0; l <= L; l++) {
    if (l > 0) ops.push(...fromRho(l));
    if (l === L) break;
    for (const run of runsWhere(motion.length, (c) => start[c] <= l || c === rho)) {
      ops.push(...await blockForward(onCopies(net, run.first, run.count), l));
    }
  }
  return ops;
}

/** Maximal runs of consecutive indices in [0, n) for which `keep` holds. */
function runsWhere(n: number, keep: (i: number) => boolean): { first: number; count: number }[] {
  return runsByKey(n, keep).filter((r) => r.key);
}

/** What block l's backward computes for copies of motion m; undefined below its lowest moving layer (still: all). */
function blockRole(m: Motion, l: number, layers: number): BlockRole | undefined {
  if (l < lowestMovingLayer(m, layers)) return undefined;
  if (m.kind === "head") return l === m.layer ? { kind: "head", head: m.head } : { kind: "through" };
  return { kind: "all" };
}

function sameRole(a: BlockRole | undefined, b: BlockRole | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.kind === b.kind && (a.kind !== "head" || (b.kind === "head" && a.head === b.head));
}

function unembedGradOf(m: Motion): UnembedGrad {
  return m.kind === "all" ? "all" : m.kind === "head" ? "input" : "none";
}

/** The per-copy motions, checked against the config (default: every copy moves everything). */
function checkMotion(cfg: ModelConfig, C: number, motion: readonly Motion[] | undefined): readonly Motion[] {
  if (motion === undefined) return Array.from({ length: C }, () => ({ kind: "all" }) as const);
  if (motion.length !== C) {
    throw new TransformerError("motion", `expected one motion per copy (${C}), got ${motion.length}`);
  }
  motion.forEach((m, c) => {
    if (m.kind !== "head") return;
    if (!(Number.isInteger(m.layer) && m.layer >= 0 && m.layer < cfg.n_layers)) {
      throw new TransformerError(
        `motion[${c}].layer`,
        `${m.layer} is not a layer of a ${cfg.n_layers}-layer model`,
      );
    }
    if (!(Number.isInteger(m.head) && m.head >= 0 && m.head < cfg.n_heads)) {
      throw new TransformerError(
        `motion[${c}].head`,
        `${m.head} is not a head of a ${cfg.n_heads}-head model`,
      );
    }
  });
  return motion;
}

/**
 * The transformer's buffers: each checked against one storage binding (the kernels bind whole buffers) and
 * counted as activation memory unless it is params or grads.
 */
function bufferPool(gpu: Gpu, d: NetDims) {
  const maxBinding = gpu.device.limits.maxStorageBufferBindingSize;
  const owned: GPUBuffer[] = [];
  let activationBytes = 0;
  const alloc = (label: string, elements: number, scratch = true): GPUBuffer => {
    const bytes = elements * F32;
    if (bytes > maxBinding) {
      throw new TransformerError(
        label,
        `${bytes} bytes exceed one storage binding (${maxBinding} bytes on this adapter): ` +
          `lower the copies (${d.C}), the batch (${d.B}) or the sequence length (${d.T})`,
      );
    }
    const b = storageBuffer(gpu, `transformer ${label}`, bytes);
    owned.push(b);
    if (scratch) activationBytes += b.size;
    return b;
  };
  return { alloc, owned, activationBytes: () => activationBytes };
}

/** A caller's params or grads buffer, checked to hold C·P floats. */
function checkGiven(d: NetDims, name: string, b: GPUBuffer | undefined): GPUBuffer | undefined {
  if (b && b.size < d.C * d.P * F32) {
    throw new TransformerError(name, `buffer of ${b.size} bytes is smaller than C·P·4 = ${d.C * d.P * F32}`);
  }
  return b;
}

/**
 * Unembedding chunks: (first copy, copies, first row, rows) with the logits of one chunk in one binding
 * (maxStorageBufferBindingSize, 128 MiB on llvmpipe; the paper's config at B = 8 needs 164 MB of logits).
 */
function chunksFor(gpu: Gpu, d: NetDims, chunkRows: number | undefined): Chunk[] {
  const maxRows = Math.floor(gpu.device.limits.maxStorageBufferBindingSize / (d.V * F32));
  const rows = Math.min(chunkRows ?? maxRows, maxRows);
  if (rows < 1) throw new TransformerError("d_vocab", `one row of ${d.V} logits exceeds a storage binding`);
  return unembedChunks(d.C, d.R, rows);
}
