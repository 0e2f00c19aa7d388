/**
 * The SGLD driver: runs C chains of a SamplingTarget with the localized SGLD step (lib/estimate/sgld.ts) and
 * collects, per draw, each chain's minibatch loss and any extra observables, with devinterp's bookkeeping:
 *  - every chain starts at w*; L0 is the mean loss at w* over the minibatches of steps 0 … C−1;
 *  - step s: setBatch(s) → one command encoder: loss+grad at the current (pre-step) weights, observables (at the
 *    same pre-step weights, draw steps only), the SGLD update → submit;
 *  - step s is a draw when s ≥ burnIn and (s − burnIn) % stepsBetweenDraws = 0 (draws·stepsBetweenDraws +
 *    burnIn steps in all); a draw's loss is the minibatch loss at the pre-step weights on that step's minibatch;
 *  - losses and observables go to GPU ring buffers read back (one map) every `readEvery` steps, where the
 *    divergence checks run.
 */
import { ChiInputError } from "../util/errors.ts";
import type { Gpu } from "../gpu/device.ts";
import { readBuffers, storageBuffer } from "../gpu/buffers.ts";
import { createSgld, FLAG_HEALTHY } from "./sgld.ts";
import { resolveSgld, SgldOptionError, type SgldSettings } from "./sgld_settings.ts";

/** A model (or toy) whose C parameter copies the sampler moves. */
export interface SamplingTarget {
  gpu: Gpu;
  /** Chains C. */
  nCopies: number;
  /** Elements per copy (a multiple of 4). */
  stride: number;
  /** [C, stride] */
  params: GPUBuffer;
  /** [C, stride], written by encodeLossAndGrad. */
  grads: GPUBuffer;
  /** Host work for step `step` (e.g. upload its minibatch with queue.writeBuffer); no sync. */
  setBatch(step: number): void;
  /**
   * Records forward+backward of the MEAN minibatch loss of every copy at the current params into grads, and copy
   * c's loss into lossRing[slot·C + c]. The driver submits after every call, so uniforms written here with
   * queue.writeBuffer are safe; prefer copyBufferToBuffer into the ring, which is encoder-ordered.
   */
  encodeLossAndGrad(enc: GPUCommandEncoder, lossRing: GPUBuffer, slot: number): void;
}

/** Extra forward-only evaluations at draw steps (e.g. L_n^δh on the mixed batch, per-token running sums). */
export interface DrawObservable {
  /** f32 values written per draw into ring[slot·width … slot·width + width − 1] (0: writes nothing). */
  width: number;
  /**
   * Records the evaluation at draw `draw` (step `step`), at the same pre-step weights as that step's loss.
   * `lossRing[slot·C + c]` already holds copy c's minibatch loss of this step (recorded earlier in `enc`).
   */
  encode(
    enc: GPUCommandEncoder,
    step: number,
    draw: number,
    ring: GPUBuffer,
    slot: number,
    lossRing: GPUBuffer,
  ): void;
  /** Host work before a draw step's submit (called after the target's setBatch). */
  setBatch?(step: number): void;
  /** Called once L0 is known, before step 0 (e.g. to upload L0 for φ = L − L0 on the GPU). */
  begin?(L0: number): void;
}

/**
 * The settings the sampler itself reads (lib/estimate/sgld_settings.ts): chains and batch size are the target's
 * shape, pairing is the estimators' (a still copy in the masks).
 */
export type SamplerSettings = Omit<SgldSettings, "chains" | "batchSize" | "paired">;

/** Unset settings keep SGLD_DEFAULTS; the rest is how this run is laid out and read back. */
export interface SgldRunOptions extends Partial<SamplerSettings> {
  seed?: number;
  streamBase?: number;
  /** Restriction masks (maskWords(stride) words each, see sgld.ts) and each chain's restriction index. */
  masks?: readonly Uint32Array[];
  restrictionOf?: ArrayLike<number>;
  /** wStar holds one centre per chain ([C, stride]) instead of one shared copy. */
  wStarPerChain?: boolean;
  /** Read the rings back every this many steps (default 50). */
  readEvery?: number;
  /** L0 given by the caller: skips the C loss evaluations at w*. */
  L0?: number;
  /** A chain diverges when its loss − L0 exceeds blowUpFactor·max(|L0|, 1) (default 10; Infinity disables). */
  blowUpFactor?: number;
  onProgress?: (step: number, total: number, drawsPerSecond: number) => void;
}

/** The resolved settings a run used, its noise stream and its copies (`chains`: all C): recorded with its outputs. */
export interface SgldRunRecord extends SamplerSettings {
  seed: number;
  streamBase: number;
  chains: number;
}

export interface SgldHealth {
  steps: number;
  seconds: number;
  drawsPerSecond: number;
  stepsPerSecond: number;
  readbacks: number;
  /** Largest loss seen per chain over all steps (burn-in included). */
  maxLoss: Float64Array;
  /** Mean draw loss per chain. */
  meanDrawLoss: Float64Array;
}

export interface SgldResult {
  /** [C, draws] row-major: losses[c·draws + d]. */
  losses: Float64Array;
  /** [C, steps] row-major: every step's pre-step minibatch loss, burn-in included (the loss trace). */
  traces: Float64Array;
  /** Restriction index of each chain (all 0 when no masks were given). */
  restrictionOf: Uint32Array;
  chains: number;
  draws: number;
  L0: number;
  /** One array per observable, [draws, width] row-major. */
  observables: Float64Array[];
  record: SgldRunRecord;
  health: SgldHealth;
}

/** A chain produced a non-finite or exploding loss or weight; names chain, step and what to lower. */
export class SgldDivergenceError extends ChiInputError {
  constructor(
    readonly chain: number,
    readonly step: number,
    readonly reason: string,
    eps: number,
    nbeta: number,
  ) {
    super(
      `SGLD chain ${chain} diverged at step ${step} (${reason}): lower the step size ε (now ${eps}); if it ` +
        `persists, lower nβ (now ${nbeta}) or raise the localization γ`,
    );
    this.name = "SgldDivergenceError";
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new SgldOptionError(name, `must be a positive integer, got ${v}`);
  return v;
}

/** The sampler's part of the settings (SGLD_DEFAULTS where unset, validated), seed, stream base and copies. */
function runRecord(options: SgldRunOptions, copies: number): SgldRunRecord {
  const { chains: _c, batchSize: _b, paired: _p, ...settings } = resolveSgld({
    eps: options.eps,
    nbeta: options.nbeta,
    gamma: options.gamma,
    lambda: options.lambda,
    rmsprop: options.rmsprop,
    draws: options.draws,
    burnIn: options.burnIn,
    stepsBetweenDraws: options.stepsBetweenDraws,
  });
  return { ...settings, seed: options.seed ?? 0, streamBase: options.streamBase ?? 0, chains: copies };
}

/** The run's settings and read-back options, checked. */
function runOptions(options: SgldRunOptions, observables: readonly DrawObservable[], C: number) {
  const record = runRecord(options, C);
  const readEvery = positiveInt("readEvery", options.readEvery ?? 50);
  const blowUpFactor = options.blowUpFactor ?? 10;
  if (!(blowUpFactor > 0)) throw new SgldOptionError("blowUpFactor", `must be > 0, got ${blowUpFactor}`);
  if (options.L0 !== undefined && !Number.isFinite(options.L0)) {
    throw new SgldOptionError("L0", `must be finite, got ${options.L0}`);
  }
  observables.forEach((o, i) => {
    if (!Number.isInteger(o.width) || o.width < 0) {
      throw new SgldOptionError(`observables[${i}].width`, `must be a non-negative integer, got ${o.width}`);
    }
  });
  return { record, readEvery, blowUpFactor };
}

/** Every copy starts at w* ([stride] shared, or [C, stride] per chain). */
function startAtWStar(target: SamplingTarget, wStar: GPUBuffer, perChain: boolean): void {
  const { gpu, nCopies: C, stride } = target;
  const copyBytes = stride * 4;
  const init = gpu.device.createCommandEncoder({ label: "sgld.init" });
  for (let c = 0; c < C; c++) {
    init.copyBufferToBuffer(wStar, perChain ? c * copyBytes : 0, target.params, c * copyBytes, copyBytes);
  }
  gpu.device.queue.submit([init.finish()]);
}

/** L0: the mean loss at w* over the minibatches of steps 0 … C−1 (every copy still sits at w*). */
async function lossAtStart(target: SamplingTarget, record: SgldRunRecord): Promise<number> {
  const { gpu, nCopies: C } = target;
  const l0Ring = storageBuffer(gpu, "sgld.l0Ring", C * C * 4);
  try {
    for (let k = 0; k < C; k++) {
      target.setBatch(k);
      const enc = gpu.device.createCommandEncoder({ label: `sgld.L0[${k}]` });
      target.encodeLossAndGrad(enc, l0Ring, k);
      gpu.device.queue.submit([enc.finish()]);
    }
    const [buf] = await readBuffers(gpu, [{ buffer: l0Ring }]);
    const l = new Float32Array(buf);
    // All copies sit at w*: average over batches k (and copies, identical unless the target varies batches per copy).
    let s = 0;
    for (const x of l) s += x;
    const L0 = s / l.length;
    if (!Number.isFinite(L0)) {
      throw new SgldDivergenceError(
        0,
        0,
        `the loss at w* is ${L0} before any step`,
        record.eps,
        record.nbeta,
      );
    }
    return L0;
  } finally {
    l0Ring.destroy();
  }
}

/** What a run collects from its read-backs: per-draw losses and observables, the loss trace, the loss maxima. */
class DrawCollector {
  readonly losses: Float64Array;
  readonly traces: Float64Array;
  readonly obsOut: Float64Array[];
  readonly maxLoss: Float64Array;
  readonly total: number;
  private readonly limit: number;

  constructor(
    private readonly C: number,
    private readonly record: SgldRunRecord,
    private readonly observables: readonly DrawObservable[],
    private readonly L0: number,
    private readonly blowUpFactor: number,
  ) {
    const { draws, burnIn, stepsBetweenDraws: thin } = record;
    this.total = burnIn + draws * thin;
    this.losses = new Float64Array(C * draws);
    this.traces = new Float64Array(C * this.total);
    this.obsOut = observables.map((o) => new Float64Array(draws * o.width));
    this.maxLoss = new Float64Array(C).fill(-Infinity);
    this.limit = L0 + blowUpFactor * Math.max(Math.abs(L0), 1);
  }

  /** The draw index of step s, or −1 for burn-in and thinned-out steps. */
  drawOf(s: number): number {
    const { burnIn, stepsBetweenDraws: thin } = this.record;
    return s >= burnIn && (s - burnIn) % thin === 0 ? (s - burnIn) / thin : -1;
  }

  /**
   * Takes steps from … to out of the rings (bufs: loss ring, flags, observable rings). Reports the earliest
   * problem: losses step by step first (a blow-up usually precedes the NaN weight), then a weight that became
   * non-finite in an update whose loss was not seen yet.
   */
  absorb(bufs: readonly ArrayBuffer[], from: number, to: number, readEvery: number): void {
    const { C, record, observables } = this;
    const ring = new Float32Array(bufs[0]);
    const flags = new Uint32Array(bufs[1]);
    for (let t = from; t <= to; t++) {
      const sl = t % readEvery;
      for (let c = 0; c < C; c++) {
        const l = ring[sl * C + c];
        if (!Number.isFinite(l)) {
          throw new SgldDivergenceError(c, t, `loss is ${l}`, record.eps, record.nbeta);
        }
        if (l > this.limit) {
          throw new SgldDivergenceError(
            c,
            t,
            `loss ${l.toPrecision(6)} exceeds L0 ${
              this.L0.toPrecision(6)
            } + ${this.blowUpFactor}·max(|L0|, 1)`,
            record.eps,
            record.nbeta,
          );
        }
        if (l > this.maxLoss[c]) this.maxLoss[c] = l;
        this.traces[c * this.total + t] = l;
      }
      const dt = this.drawOf(t);
      if (dt < 0) continue;
      for (let c = 0; c < C; c++) this.losses[c * record.draws + dt] = ring[sl * C + c];
      observables.forEach((o, i) => {
        const r = new Float32Array(bufs[2 + i]);
        for (let j = 0; j < o.width; j++) this.obsOut[i][dt * o.width + j] = r[sl * o.width + j];
      });
    }
    for (let c = 0; c < C; c++) {
      if (flags[c] !== FLAG_HEALTHY) {
        throw new SgldDivergenceError(c, flags[c], "a weight became NaN or ±Inf", record.eps, record.nbeta);
      }
    }
  }

  /** Mean draw loss per chain. */
  meanDrawLoss(): Float64Array {
    const { C, losses } = this;
    const draws = this.record.draws;
    const out = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let d = 0; d < draws; d++) s += losses[c * draws + d];
      out[c] = s / draws;
    }
    return out;
  }
}

/**
 * Runs SGLD from w* on every copy of `target` and returns the draw losses and observables. `wStar` is [stride]
 * (shared) or [C, stride] (options.wStarPerChain). Throws SgldDivergenceError at the first readback that sees a
 * non-finite weight (kernel flag), a non-finite loss, or a loss blow-up.
 */
export async function runSgld(
  target: SamplingTarget,
  wStar: GPUBuffer,
  options: SgldRunOptions = {},
  observables: readonly DrawObservable[] = [],
): Promise<SgldResult> {
  const { gpu, nCopies: C, stride } = target;
  const { record, readEvery, blowUpFactor } = runOptions(options, observables, C);
  const sgld = await createSgld(gpu, {
    nCopies: C,
    stride,
    params: target.params,
    grads: target.grads,
    wStar,
    wStarPerChain: options.wStarPerChain,
    masks: options.masks,
    restrictionOf: options.restrictionOf,
  }, record);
  const lossRing = storageBuffer(gpu, "sgld.lossRing", readEvery * C * 4);
  const obsRings = observables.map((o, i) =>
    storageBuffer(gpu, `sgld.obsRing[${i}]`, readEvery * o.width * 4)
  );
  try {
    startAtWStar(target, wStar, options.wStarPerChain ?? false);
    sgld.reset();
    const L0 = options.L0 ?? await lossAtStart(target, record);
    for (const o of observables) o.begin?.(L0);

    const { draws, burnIn, stepsBetweenDraws: thin } = record;
    const out = new DrawCollector(C, record, observables, L0, blowUpFactor);
    const total = out.total;
    const t0 = performance.now();
    let readbacks = 0;
    let firstUnread = 0;
    // With a progress callback, also read after steps 1, 2, 4, … below readEvery: the first rate and ETA come
    // after seconds, not after readEvery steps (minutes per ring at the paper's shapes on a CPU). The extra
    // syncs are log2(readEvery) per run; the numbers are the same, since reading early only empties the ring.
    const earlyRead = (s: number) =>
      options.onProgress !== undefined && s + 1 < readEvery && ((s + 1) & s) === 0;

    for (let s = 0; s < total; s++) {
      const slot = s % readEvery;
      const d = out.drawOf(s);
      target.setBatch(s);
      if (d >= 0) { for (const o of observables) o.setBatch?.(s); }
      sgld.setStep(s);
      const enc = gpu.device.createCommandEncoder({ label: `sgld.step[${s}]` });
      target.encodeLossAndGrad(enc, lossRing, slot);
      if (d >= 0) observables.forEach((o, i) => o.encode(enc, s, d, obsRings[i], slot, lossRing));
      sgld.encode(enc);
      gpu.device.queue.submit([enc.finish()]);

      if (slot === readEvery - 1 || s === total - 1 || earlyRead(s)) {
        const bufs = await readBuffers(gpu, [
          { buffer: lossRing },
          { buffer: sgld.flags },
          ...obsRings.map((buffer) => ({ buffer })),
        ]);
        readbacks++;
        out.absorb(bufs, firstUnread, s, readEvery);
        firstUnread = s + 1;
        const secs = (performance.now() - t0) / 1000;
        const drawsDone = s < burnIn ? 0 : Math.floor((s - burnIn) / thin) + 1;
        options.onProgress?.(s + 1, total, drawsDone / secs);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      losses: out.losses,
      traces: out.traces,
      restrictionOf: Uint32Array.from(options.restrictionOf ?? new Array(C).fill(0)),
      chains: C,
      draws,
      L0,
      observables: out.obsOut,
      record,
      health: {
        steps: total,
        seconds,
        drawsPerSecond: draws / seconds,
        stepsPerSecond: total / seconds,
        readbacks,
        maxLoss: out.maxLoss,
        meanDrawLoss: out.meanDrawLoss(),
      },
    };
  } finally {
    sgld.destroy();
    lossRing.destroy();
    for (const b of obsRings) b.destroy();
  }
}
