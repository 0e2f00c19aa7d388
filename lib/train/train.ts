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
import { createTransformer, type Transformer } from "../model/transformer.ts";
import { type AdamW, createAdamW } from "../model/adamw.ts";
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
  const { steps } = opts;
  const schedule = new Set(
    checkpointSchedule(steps, { logCount: opts.logCheckpoints, linearCount: opts.linearCheckpoints }),
  );
  const ckptDir = `${outDir}/checkpoints`;
  const statePath = `${outDir}/train_state.safetensors`;
  await Deno.mkdir(ckptDir, { recursive: true });
  const init = await startingPoint(cfg, opts, statePath);
  const run = await createRun(gpu, cfg, opts, hooks, init, ckptDir, statePath);

  for (let s = init.step; s < steps; s++) {
    // Weights before update s; a resumed run skips the checkpoints it already wrote.
    if (schedule.has(s) && !(await exists(checkpointPath(ckptDir, s)))) {
      await drainLosses(run, s);
      await writeCheckpoint(run, s);
      await saveState(run, s);
    }
    trainStep(run, batches(s), s);
    const done = s + 1;
    if (done % opts.logEvery === 0 || done === steps) await drainLosses(run, done);
    if (done % opts.stateEvery === 0 && done < steps) await saveState(run, done);
  }
  await drainLosses(run, steps);
  if (!(await exists(checkpointPath(ckptDir, steps)))) await writeCheckpoint(run, steps);
  await saveState(run, steps);
  const seconds = (performance.now() - run.t0) / 1000;
  destroyRun(run);
  return {
    losses: run.losses,
    checkpoints: run.written,
    resumedFrom: init.step,
    tokensPerSecond: ((steps - init.step) * opts.batch * opts.seqLen) / Math.max(seconds, 1e-9),
    seconds,
  };
}

/** Host copies of what a run starts from: step 0 with fresh weights, or a saved training state. */
interface StartingPoint {
  /** Updates already taken. */
  step: number;
  /** [P] weights in the layout of `paramLayout(cfg)`. */
  params: Float32Array;
  /** [P] AdamW first and second moments. */
  adamM: Float32Array;
  adamV: Float32Array;
  /** [steps] mean loss before each update; NaN where not yet known. */
  losses: Float64Array;
}

/** Reads the training state at `statePath` if there is one (refusing another model or options), else starts fresh. */
async function startingPoint(
  cfg: ModelConfig,
  opts: TrainOptions,
  statePath: string,
): Promise<StartingPoint> {
  const P = paramLayout(cfg).stride;
  const losses = new Float64Array(opts.steps).fill(NaN);
  if (!(await exists(statePath))) {
    return {
      step: 0,
      params: initParams(cfg, opts.seed),
      adamM: new Float32Array(P),
      adamV: new Float32Array(P),
      losses,
    };
  }
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
  losses.set(state.lossHistory.subarray(0, Math.min(opts.steps, state.lossHistory.length)));
  return { step: state.step, params: state.params, adamM: state.adamM, adamV: state.adamV, losses };
}

/** A run in progress: the GPU model and optimizer, and what is known on the host. */
interface Run {
  gpu: Gpu;
  cfg: ModelConfig;
  opts: TrainOptions;
  hooks: TrainHooks;
  ckptDir: string;
  statePath: string;
  /** Parameters per copy of the model. */
  P: number;
  /** One copy of the model on tokens [B, T]; its meanLosses is a ring of [logEvery] f32. */
  model: Transformer;
  /** [P] AdamW moments on the GPU. */
  m: GPUBuffer;
  v: GPUBuffer;
  adam: AdamW;
  /** The step the run started from. */
  start: number;
  /** [steps] host copy of the mean losses, filled up to `pendingFrom`. */
  losses: Float64Array;
  /** First step whose loss is still only in the ring. */
  pendingFrom: number;
  /** Checkpoints written by this call. */
  written: number[];
  /** performance.now() when the GPU was ready: throughput excludes setup. */
  t0: number;
}

/** Builds the model, the moment buffers and the AdamW update on the GPU and uploads `init`. */
async function createRun(
  gpu: Gpu,
  cfg: ModelConfig,
  opts: TrainOptions,
  hooks: TrainHooks,
  init: StartingPoint,
  ckptDir: string,
  statePath: string,
): Promise<Run> {
  const P = paramLayout(cfg).stride;
  const shape = { copies: 1, batch: opts.batch, seqLen: opts.seqLen, sharedTokens: true };
  const model = await createTransformer(gpu, cfg, shape, { lossSlots: opts.logEvery });
  const moments = (label: string) =>
    gpu.device.createBuffer({
      label,
      size: P * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
  const m = moments("adam m");
  const v = moments("adam v");
  upload(gpu, model.params, init.params);
  upload(gpu, m, init.adamM);
  upload(gpu, v, init.adamV);
  const { beta1, beta2, eps, weightDecay } = opts;
  const adam = await createAdamW(
    gpu,
    { size: P, beta1, beta2, eps, weightDecay },
    model.params,
    model.grads!,
    m,
    v,
  );
  return {
    gpu,
    cfg,
    opts,
    hooks,
    ckptDir,
    statePath,
    P,
    model,
    m,
    v,
    adam,
    start: init.step,
    losses: init.losses,
    pendingFrom: init.step,
    written: [],
    t0: performance.now(),
  };
}

function destroyRun(run: Run): void {
  run.model.destroy();
  run.m.destroy();
  run.v.destroy();
}

/** Update s on `tokens` [B, T]: forward, backward, mean loss into ring slot s % logEvery, AdamW; one submit. */
function trainStep(run: Run, tokens: Int32Array, s: number): void {
  const { gpu, model, adam, opts } = run;
  model.setTokens(tokens, `training batch of step ${s}`);
  adam.setStep(s + 1, learningRate(s, { lr: opts.lr, warmup: opts.warmup }));
  submitProgram(
    gpu,
    [...model.forwardBackward, ...model.meanLoss(s % opts.logEvery), ...adam.dispatches],
    "train step",
  );
}

/**
 * Reads the loss ring back into `run.losses` for the steps before `upTo` (the ring holds the last logEvery, so
 * callers drain at least that often) and reports progress; a non-finite loss stops the run.
 */
async function drainLosses(run: Run, upTo: number): Promise<void> {
  const { opts } = run;
  if (upTo <= run.pendingFrom) return;
  const ring = await readF32(run.gpu, run.model.meanLosses, 0, opts.logEvery * 4);
  for (let s = run.pendingFrom; s < upTo; s++) {
    const loss = ring[s % opts.logEvery];
    if (!Number.isFinite(loss)) {
      throw new TrainError(
        `training diverged: loss ${loss} at step ${s}; lower the learning rate (--lr ${opts.lr})`,
      );
    }
    run.losses[s] = loss;
  }
  run.pendingFrom = upTo;
  const secs = (performance.now() - run.t0) / 1000;
  run.hooks.onProgress?.(upTo, run.losses[upTo - 1], ((upTo - run.start) * opts.batch * opts.seqLen) / secs);
}

/** [P] weights read back from the GPU. */
function readParams(run: Run): Promise<Float32Array> {
  return readF32(run.gpu, run.model.params, 0, run.P * 4);
}

/** Writes the weights after `step` updates as a checkpoint (with config.json beside it). */
async function writeCheckpoint(run: Run, step: number): Promise<void> {
  const path = checkpointPath(run.ckptDir, step);
  await saveCheckpoint(path, run.cfg, await readParams(run), { step, writeConfigJson: true });
  run.written.push(step);
  run.hooks.onCheckpoint?.(step, path);
}

/** Writes the training state after `step` updates: weights, moments and losses so far, for a resume. */
async function saveState(run: Run, step: number): Promise<void> {
  await drainLosses(run, step);
  const [params, adamM, adamV] = await Promise.all([
    readParams(run),
    readF32(run.gpu, run.m, 0, run.P * 4),
    readF32(run.gpu, run.v, 0, run.P * 4),
  ]);
  await saveTrainState(run.statePath, {
    config: run.cfg,
    step,
    params,
    adamM,
    adamV,
    rngState: Uint32Array.of(run.opts.seed >>> 0),
    dataCursor: step,
    lossHistory: run.losses.slice(0, step),
    extra: { options: optionsKey(run.opts) },
  });
}
