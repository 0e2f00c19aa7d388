/**
 * Training loop: AdamW with linear warmup on batches of token contexts, checkpoints on a log-spaced schedule
 * (the paper's union of log- and linear-spaced steps, scaled to the run length), resumable after an
 * interruption from a training state written atomically beside the checkpoints.
 *
 * One GPU submit per step (forward, backward, mean loss into a ring slot, AdamW); the ring of per-step losses
 * is read back every `logEvery` steps, the only sync besides checkpoints.
 *
 * Output folder:
 *   checkpoints/step_NNNNNNN.safetensors   weights after N updates (TransformerLens names) + config.json
 *   train_state.safetensors                params, AdamW moments, step and loss history, for resuming
 */
import { ChiInputError } from "../util/errors.ts";
import type { Gpu } from "../gpu/device.ts";
import { readF32, upload } from "../gpu/buffers.ts";
import { submitProgram } from "../gpu/program.ts";
import type { ModelConfig } from "../model/config.ts";
import {
  checkpointPath,
  configDifferences,
  loadTrainState,
  saveCheckpoint,
  saveTrainState,
} from "../model/checkpoint.ts";
import { initParams } from "../model/init.ts";
import { paramLayout } from "../model/params.ts";
import { createTransformer } from "../model/transformer.ts";
import { createAdamW } from "../model/adamw.ts";
import { exists } from "../util/files.ts";
import { checkpointSchedule, learningRate } from "./schedule.ts";

export interface TrainOptions {
  /** Optimizer updates. */
  steps: number;
  /** Sequences per batch. */
  batch: number;
  /** Tokens per sequence (≤ n_ctx). */
  seqLen: number;
  lr: number;
  /** Linear warmup updates. */
  warmup: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Seeds the initialization (the data order is the caller's `batches`). */
  seed: number;
  /** Log-spaced checkpoints over [1, steps] (the paper: 100 over 50,000 steps). */
  logCheckpoints: number;
  /** Linear-spaced checkpoints over [0, steps] (the paper: 2000; a small default keeps folders small). */
  linearCheckpoints: number;
  /** Steps between loss readbacks (and progress updates). */
  logEvery: number;
  /** Steps between training-state saves, besides one at every checkpoint. */
  stateEvery: number;
}

/**
 * Defaults for the embedded tiny model on the synthetic corpus: the paper's optimizer (AdamW, betas
 * (0.9, 0.999), weight decay 0.05) with a short warmup, at lr 3e-3 rather than the paper's 1e-3 and for 5000
 * steps × 16 × 64 tokens, which is what it takes for an induction head to form on a 2-core CPU's budget
 * (docs/synthetic.md, "What the default model learns"). The paper's own run: lr 1e-3, 50,000 steps × 100 × 1024.
 */
export const TRAIN_DEFAULTS: Readonly<TrainOptions> = Object.freeze({
  steps: 5000,
  batch: 16,
  seqLen: 64,
  lr: 3e-3,
  warmup: 50,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.05,
  seed: 0,
  logCheckpoints: 30,
  linearCheckpoints: 0,
  logEvery: 25,
  stateEvery: 500,
});

export interface TrainHooks {
  /** Called after every loss readback with the number of finished steps and the latest mean loss. */
  onProgress?: (done: number, loss: number, tokensPerSecond: number) => void;
  /** Called after each checkpoint is written. */
  onCheckpoint?: (step: number, path: string) => void;
}

export interface TrainResult {
  /** Mean training loss per update, in order (index s = the loss before update s). */
  losses: Float64Array;
  /** Steps of the checkpoints written by this call (earlier ones of a resumed run excluded). */
  checkpoints: number[];
  /** The step the run resumed from (0 for a fresh run). */
  resumedFrom: number;
  /** Tokens per second over the updates run by this call (readback and checkpoint time included). */
  tokensPerSecond: number;
  seconds: number;
}

/** Thrown when a resume finds a training state of another model or other options. */
export class TrainError extends ChiInputError {
  constructor(message: string) {
    super(message);
    this.name = "TrainError";
  }
}

/** The option fields that must agree between a training state and a resumed run. */
const RESUME_FIELDS = [
  "steps",
  "batch",
  "seqLen",
  "lr",
  "warmup",
  "beta1",
  "beta2",
  "eps",
  "weightDecay",
  "seed",
];

function optionsKey(o: TrainOptions): string {
  return JSON.stringify(Object.fromEntries(RESUME_FIELDS.map((k) => [k, o[k as keyof TrainOptions]])));
}

/**
 * Trains `cfg` for `opts.steps` updates on `batches(step)` (tokens [batch, seqLen], deterministic in the step
 * so a resumed run sees the same data), writing checkpoints and the training state under `outDir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, listCheckpoints, train, TRAIN_DEFAULTS, TINY_CONFIG } from "chi";
 *
 * const gpu = await getGpu();
 * const cfg = { ...TINY_CONFIG, n_layers: 1, n_heads: 2, d_model: 16, d_head: 8, n_ctx: 8, d_vocab: 32 };
 * const out = await Deno.makeTempDir();
 * // Batch of step s: a pure function of s, so that a resumed run sees the same data.
 * const batches = (s: number) => Int32Array.from({ length: 2 * 8 }, (_, i) => (3 * i + s) % 32);
 * const opts = { ...TRAIN_DEFAULTS, steps: 4, batch: 2, seqLen: 8, logCheckpoints: 1, linearCheckpoints: 0 };
 * const result = await train(gpu, cfg, batches, opts, out);
 * assert.equal(result.losses.length, 4);
 * assert.deepEqual((await listCheckpoints(`${out}/checkpoints`)).map((c) => c.step), result.checkpoints);
 * ```
 */
export async function train(
  gpu: Gpu,
  cfg: ModelConfig,
  batches: (step: number) => Int32Array,
  opts: TrainOptions,
  outDir: string,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const layout = paramLayout(cfg);
  const P = layout.stride;
  const { steps, batch: B, seqLen: T } = opts;
  const schedule = new Set(
    checkpointSchedule(steps, { logCount: opts.logCheckpoints, linearCount: opts.linearCheckpoints }),
  );
  const ckptDir = `${outDir}/checkpoints`;
  const statePath = `${outDir}/train_state.safetensors`;
  await Deno.mkdir(ckptDir, { recursive: true });

  // Start fresh, or resume from the training state.
  let start = 0;
  let params: Float32Array = initParams(cfg, opts.seed);
  let adamM: Float32Array = new Float32Array(P);
  let adamV: Float32Array = new Float32Array(P);
  const losses = new Float64Array(steps).fill(NaN);
  if (await exists(statePath)) {
    const state = await loadTrainState(statePath);
    const diff = configDifferences(state.config, cfg);
    if (diff.length > 0) {
      throw new TrainError(
        `${statePath}: the saved run trains another model (${diff.join("; ")}); ` +
          `use another output folder or delete it`,
      );
    }
    const saved = state.extra?.options ?? "";
    if (saved !== optionsKey(opts)) {
      throw new TrainError(
        `${statePath}: the saved run used other options (${saved} vs ${optionsKey(opts)}); ` +
          `use another output folder or the same options`,
      );
    }
    start = state.step;
    params = state.params;
    adamM = state.adamM;
    adamV = state.adamV;
    losses.set(state.lossHistory.subarray(0, Math.min(steps, state.lossHistory.length)));
  }

  const model = await createTransformer(gpu, cfg, { copies: 1, batch: B, seqLen: T, sharedTokens: true }, {
    lossSlots: opts.logEvery,
  });
  const m = gpu.device.createBuffer({
    label: "adam m",
    size: P * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  const v = gpu.device.createBuffer({
    label: "adam v",
    size: P * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  upload(gpu, model.params, params);
  upload(gpu, m, adamM);
  upload(gpu, v, adamV);
  const adam = await createAdamW(
    gpu,
    {
      size: P,
      beta1: opts.beta1,
      beta2: opts.beta2,
      eps: opts.eps,
      weightDecay: opts.weightDecay,
    },
    model.params,
    model.grads!,
    m,
    v,
  );

  const t0 = performance.now();
  let pendingFrom = start; // first step whose loss is still only in the ring
  const drain = async (upTo: number) => {
    if (upTo <= pendingFrom) return;
    const ring = await readF32(gpu, model.meanLosses, 0, (opts.logEvery) * 4);
    for (let s = pendingFrom; s < upTo; s++) {
      const loss = ring[s % opts.logEvery];
      if (!Number.isFinite(loss)) {
        throw new TrainError(
          `training diverged: loss ${loss} at step ${s}; lower the learning rate (--lr ${opts.lr})`,
        );
      }
      losses[s] = loss;
    }
    pendingFrom = upTo;
    const secs = (performance.now() - t0) / 1000;
    hooks.onProgress?.(upTo, losses[upTo - 1], ((upTo - start) * B * T) / secs);
  };

  const written: number[] = [];
  const readParams = () => readF32(gpu, model.params, 0, P * 4);
  const saveState = async (step: number) => {
    await drain(step);
    const [p, mm, vv] = await Promise.all([
      readParams(),
      readF32(gpu, m, 0, P * 4),
      readF32(gpu, v, 0, P * 4),
    ]);
    await saveTrainState(statePath, {
      config: cfg,
      step,
      params: p,
      adamM: mm,
      adamV: vv,
      rngState: Uint32Array.of(opts.seed >>> 0),
      dataCursor: step,
      lossHistory: losses.slice(0, step),
      extra: { options: optionsKey(opts) },
    });
  };
  const checkpoint = async (step: number) => {
    const path = checkpointPath(ckptDir, step);
    await saveCheckpoint(path, cfg, await readParams(), { step, writeConfigJson: true });
    written.push(step);
    hooks.onCheckpoint?.(step, path);
  };

  for (let s = start; s < steps; s++) {
    if (schedule.has(s) && !(await exists(checkpointPath(ckptDir, s)))) {
      await drain(s);
      await checkpoint(s);
      await saveState(s);
    }
    model.setTokens(batches(s), `training batch of step ${s}`);
    adam.setStep(s + 1, learningRate(s, { lr: opts.lr, warmup: opts.warmup }));
    submitProgram(
      gpu,
      [...model.forwardBackward, ...model.meanLoss(s % opts.logEvery), ...adam.dispatches],
      "train step",
    );
    const done = s + 1;
    if (done % opts.logEvery === 0 || done === steps) await drain(done);
    if (done % opts.stateEvery === 0 && done < steps) await saveState(done);
  }
  await drain(steps);
  if (!(await exists(checkpointPath(ckptDir, steps)))) await checkpoint(steps);
  await saveState(steps);
  const seconds = (performance.now() - t0) / 1000;
  model.destroy();
  m.destroy();
  v.destroy();
  return {
    losses,
    checkpoints: written,
    resumedFrom: start,
    tokensPerSecond: ((steps - start) * B * T) / Math.max(seconds, 1e-9),
    seconds,
  };
}
