/**
 * The transformer as an SGLD SamplingTarget, and the draw observables the susceptibility estimators need, all
 * evaluated at the pre-step weights of a draw (see sampler.ts).
 *
 * Layout: C = restrictions × chains copies of the parameters in one [C, P] buffer; chain k of restriction r is
 * copy r·K + k (chainLayout). All copies see the same minibatch at every step (sharedTokens): the chains differ
 * only by their noise and their restriction mask, as in devinterp, and one forward/backward dispatch list
 * advances them all.
 *
 * Why one sampling run serves every probe and every restriction: SGLD samples the localized posterior of the
 * BASE data q (eq. 27) — the probe q′ never enters the dynamics, only the observables. So per checkpoint we run
 * the sampler once with every restriction as a group of copies, and attach
 *  - one mixed-loss observable for all probes (L_n^δh per probe and copy), and
 *  - one per-token observable over the fixed contexts of all probes (running sums on the device, C.2).
 * L_n^δh differs from the minibatch loss L_n only on the contexts Algorithm 1 replaces (about δh·B of the B
 * rows), so instead of a second full forward pass per probe we evaluate only the replacing probe contexts
 * (⌈δh·B⌉ rows per probe, all probes in one forward pass) and correct the step's own L_n with the per-token
 * losses of the replaced rows (kernels/mixed_loss.wgsl). At δh = 0.1 this costs ~10 % of a forward per probe
 * instead of 100 %.
 *
 * Minibatches: step s uses contextBatch(base, {nCtx: T, batch: B, seed, step: s}) — a pure function of
 * (seed, s). The mixed batch of step s is the same batch with row i replaced by probe context i of
 * contextBatch(probe, {…, seed: probeSeed(seed, p), step: s}) exactly when the global position s·B + i is a
 * probe position of Algorithm 1 (isProbePosition), so any prefix of k contexts holds ⌊k·δh⌋ probe contexts and
 * q′ = q gives back the base batch.
 */
import type { Gpu } from "../gpu/device.ts";
import {
  params as packParams,
  readBuffers,
  storageBuffer,
  storageFrom,
  uniformFrom,
  upload,
} from "../gpu/buffers.ts";
import { prepare } from "../gpu/dispatch.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { encodeProgram, type Op } from "../gpu/program.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Motion } from "../model/restriction.ts";
import { createTransformer, type Transformer } from "../model/transformer.ts";
import { contextBatch } from "../data/shard.ts";
import { isProbePosition } from "../data/mix.ts";
import { createPerTokenAccumulator, type PerTokenAccumulator, perTokenObservable } from "./accumulate.ts";
import type { DrawObservable, SamplingTarget } from "./sampler.ts";

/** The sampling minibatch of step `step`, [batch, seqLen] row-major: a pure function of (base, seed, step). */
export function samplingBatch(
  base: ArrayLike<number>,
  o: { seqLen: number; batch: number; seed: number },
  step: number,
): Int32Array {
  return contextBatch(base, { nCtx: o.seqLen, batch: o.batch, seed: o.seed, step });
}

/** The seed of probe p's minibatch stream: distinct from the base stream's and from every other probe's. */
export function probeSeed(seed: number, probe: number): number {
  return seed + 7919 * (probe + 1);
}

/** Rows of step `step`'s minibatch that Algorithm 1 replaces by probe contexts (global position s·B + i). */
export function replacedRows(step: number, batch: number, deltaH: number): number[] {
  const rows: number[] = [];
  for (let i = 0; i < batch; i++) if (isProbePosition(step * batch + i, deltaH)) rows.push(i);
  return rows;
}

/** The most rows any B consecutive positions of Algorithm 1 take from the probe: ⌈B·δh⌉. */
export function maxReplacedRows(batch: number, deltaH: number): number {
  return Math.ceil(batch * deltaH - 1e-12);
}

/** Copy of chain k of restriction r, and back. */
export function chainLayout(restrictions: number, chains: number) {
  return {
    copies: restrictions * chains,
    copyOf: (r: number, k: number) => r * chains + k,
    restrictionOf: Uint32Array.from({ length: restrictions * chains }, (_, c) => Math.floor(c / chains)),
  };
}

export interface TransformerTargetSpec {
  cfg: ModelConfig;
  /** Parameter copies C (restrictions × chains). */
  copies: number;
  /** Sequences per minibatch B. */
  batch: number;
  /** Tokens per sequence T. */
  seqLen: number;
  /** The base token stream q the minibatches are cut from. */
  base: ArrayLike<number>;
  /** Minibatch seed. */
  seed: number;
  /**
   * What each copy moves (its restriction; default: everything): the backward then computes only the
   * gradients each copy's mask lets move (see createTransformer's `motion`).
   */
  motion?: readonly Motion[];
}

export interface TransformerTarget extends SamplingTarget {
  readonly model: Transformer;
  readonly spec: TransformerTargetSpec;
  /** The tokens setBatch(step) uploads. */
  batchTokens(step: number): Int32Array;
  destroy(): void;
}

/**
 * The SamplingTarget over createTransformer: forward+backward of every copy's MEAN minibatch loss into grads,
 * and the per-copy mean loss copied into the sampler's loss ring.
 */
export async function createTransformerTarget(
  gpu: Gpu,
  spec: TransformerTargetSpec,
): Promise<TransformerTarget> {
  const { cfg, copies: C, batch: B, seqLen: T } = spec;
  const model = await createTransformer(gpu, cfg, { copies: C, batch: B, seqLen: T, sharedTokens: true }, {
    motion: spec.motion,
  });
  const loss: readonly Op[] = [...model.forwardBackward, ...model.meanLoss(0)];
  const batchTokens = (step: number) => samplingBatch(spec.base, spec, step);
  return {
    gpu,
    model,
    spec,
    nCopies: C,
    stride: model.layout.stride,
    params: model.params,
    grads: model.grads!,
    batchTokens,
    setBatch(step: number) {
      model.setTokens(batchTokens(step), `base minibatch of step ${step}`);
    },
    encodeLossAndGrad(enc: GPUCommandEncoder, lossRing: GPUBuffer, slot: number) {
      encodeProgram(enc, loss, "transformer.lossAndGrad");
      enc.copyBufferToBuffer(model.meanLosses, 0, lossRing, slot * C * 4, C * 4);
    },
    destroy() {
      model.destroy();
    },
  };
}

export interface ProbeStream {
  name: string;
  /** The probe's token stream q′. */
  tokens: ArrayLike<number>;
}

export interface MixedLossObservable extends DrawObservable {
  readonly probes: readonly string[];
  /** Ring layout per draw: [probes, C] (value of probe p, copy c at p·C + c). */
  readonly width: number;
  destroy(): void;
}

/**
 * L_n^δh of every copy for every probe at each draw (width probes·C; see the module comment for the
 * construction). Must be attached to a runSgld over `target` (it reads the target's per-token and mean losses of
 * the same step, recorded earlier in the same encoder).
 */
export async function createMixedLossObservable(
  gpu: Gpu,
  target: TransformerTarget,
  opts: { probes: readonly ProbeStream[]; deltaH: number },
): Promise<MixedLossObservable> {
  const { cfg, copies: C, batch: B, seqLen: T, seed } = target.spec;
  const { probes, deltaH } = opts;
  if (!(deltaH > 0 && deltaH <= 1)) throw new RangeError(`deltaH must be in (0, 1], got ${deltaH}`);
  if (probes.length === 0) throw new RangeError("mixed loss observable: no probes given");
  const Pn = probes.length;
  const M = maxReplacedRows(B, deltaH);
  const model = await createTransformer(
    gpu,
    cfg,
    { copies: C, batch: Pn * M, seqLen: T, sharedTokens: true },
    { params: target.params, withGrads: false, motion: target.spec.motion },
  );
  const kernel = await loadKernel(gpu, "mixed_loss", { consts: { WG: 64 } });
  const u = uniformFrom(
    gpu,
    "mixed_loss.params",
    packParams([["u32", C], ["u32", B], ["u32", T], ["u32", M], ["u32", Pn], ["f32", 1 / (B * (T - 1))]]),
  );
  const sel = storageBuffer(gpu, "mixed_loss.sel", (1 + M) * 4);
  const out = storageBuffer(gpu, "mixed_loss.out", Pn * C * 4);
  const dispatch = prepare(
    kernel,
    [u, target.model.tokenLosses, model.tokenLosses, target.model.meanLosses, sel, out],
    [Pn, C, 1],
  );
  const selData = new Uint32Array(1 + M);
  const tokens = new Int32Array(Pn * M * T);
  return {
    probes: probes.map((p) => p.name),
    width: Pn * C,
    setBatch(step: number) {
      const rows = replacedRows(step, B, deltaH);
      if (rows.length > M) throw new Error(`internal: step ${step} replaces ${rows.length} > ${M} rows`);
      selData.fill(0);
      selData[0] = rows.length;
      rows.forEach((r, i) => (selData[1 + i] = r));
      gpu.device.queue.writeBuffer(sel, 0, selData);
      tokens.fill(0);
      if (rows.length > 0) {
        probes.forEach((p, pi) => {
          const batch = contextBatch(p.tokens, { nCtx: T, batch: B, seed: probeSeed(seed, pi), step });
          rows.forEach((r, i) => tokens.set(batch.subarray(r * T, (r + 1) * T), (pi * M + i) * T));
        });
      }
      model.setTokens(tokens, `probe contexts of step ${step}`);
    },
    encode(enc, _step, _draw, ring, slot) {
      encodeProgram(enc, [...model.forward, dispatch], "mixed_loss");
      enc.copyBufferToBuffer(out, 0, ring, slot * Pn * C * 4, Pn * C * 4);
    },
    destroy() {
      model.destroy();
      for (const b of [u, sel, out]) b.destroy();
    },
  };
}

export interface TokenLossObservable extends DrawObservable {
  /** The accumulator of the running sums ([C, N·T] tokens: context n, position t at n·T + t). */
  readonly acc: PerTokenAccumulator;
  /** The forward model over the contexts (its tokenLosses [C, N, T] hold the last draw's losses). */
  readonly model: Transformer;
  destroy(): void;
}

/**
 * Per-token losses of fixed contexts ([N, T] row-major, e.g. all probes' contexts concatenated) at every draw,
 * accumulated on the device into the C.2 running sums. Nothing per draw reaches the host.
 */
export async function createTokenLossObservable(
  gpu: Gpu,
  target: TransformerTarget,
  contexts: Int32Array,
): Promise<TokenLossObservable> {
  const { cfg, copies: C, seqLen: T } = target.spec;
  if (contexts.length === 0 || contexts.length % T !== 0) {
    throw new RangeError(`per-token contexts: ${contexts.length} tokens is not a positive multiple of ${T}`);
  }
  const N = contexts.length / T;
  const model = await createTransformer(
    gpu,
    cfg,
    { copies: C, batch: N, seqLen: T, sharedTokens: true },
    { params: target.params, withGrads: false, motion: target.spec.motion },
  );
  model.setTokens(contexts, "per-token contexts");
  const acc = await createPerTokenAccumulator(gpu, { chains: C, tokens: N * T, ell: model.tokenLosses });
  const fwd = model.forward;
  const obs = perTokenObservable({ encode: (enc) => encodeProgram(enc, fwd, "per_token.forward") }, acc);
  return {
    ...obs,
    acc,
    model,
    destroy() {
      acc.destroy();
      model.destroy();
    },
  };
}

/**
 * L_n(w*): the mean minibatch loss at w* over the minibatches of steps 0 … batches−1 (devinterp averages over
 * num_chains minibatches), with a one-copy forward-only model: cheaper than letting the sampler evaluate all C
 * copies on C minibatches. Pass the result as runSgld's L0.
 */
export async function lossAtWStar(
  gpu: Gpu,
  cfg: ModelConfig,
  wStar: Float32Array,
  o: { base: ArrayLike<number>; batch: number; seqLen: number; seed: number; batches: number },
): Promise<number> {
  const model = await createTransformer(
    gpu,
    cfg,
    { copies: 1, batch: o.batch, seqLen: o.seqLen, sharedTokens: true },
    { withGrads: false, lossSlots: o.batches },
  );
  try {
    upload(gpu, model.params, wStar);
    for (let k = 0; k < o.batches; k++) {
      model.setTokens(samplingBatch(o.base, o, k), `base minibatch of step ${k}`);
      const enc = gpu.device.createCommandEncoder({ label: `L0[${k}]` });
      encodeProgram(enc, [...model.forward, ...model.meanLoss(k)], "L0");
      gpu.device.queue.submit([enc.finish()]);
    }
    const [buf] = await readBuffers(gpu, [{ buffer: model.meanLosses }]);
    const l = new Float32Array(buf);
    let s = 0;
    for (const x of l) s += x;
    return s / l.length;
  } finally {
    model.destroy();
  }
}

/** Uploads w* ([P]) into a new storage buffer for runSgld. */
export function wStarBuffer(gpu: Gpu, wStar: Float32Array): GPUBuffer {
  return storageFrom(gpu, "wStar", wStar);
}
