/**
 * Training-time schedules: which steps get a checkpoint, and the learning rate per step.
 *
 * Step convention: the checkpoint of step s holds the weights after s optimizer updates, so step 0 is the
 * initialization and a run of `totalSteps` updates ends with the weights of step `totalSteps`.
 */

/** Appendix C.1's checkpoint set S: the checkpoints at which the paper measures susceptibilities. */
export const PAPER_CHECKPOINT_STEPS: readonly number[] = Object.freeze([
  0,
  100,
  200,
  300,
  400,
  500,
  600,
  700,
  800,
  900,
  1000,
  1500,
  2000,
  3000,
  4000,
  5000,
  6000,
  7000,
  8000,
  9000,
  10000,
  12500,
  15000,
  17500,
  20000,
  25000,
  30000,
  40000,
  49900,
]);

export interface CheckpointScheduleOptions {
  /** Number of log-spaced points in [1, totalSteps] (default 100, as in the paper's training). */
  logCount?: number;
  /** Number of linear-spaced points in [0, totalSteps] (default 2000, as in the paper's training). */
  linearCount?: number;
}

function checkCount(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${v}`);
}

/**
 * The union of `logCount` log-spaced steps in [1, totalSteps] and `linearCount` linear-spaced steps in
 * [0, totalSteps] (each rounded down to an integer, as numpy's `int(np.logspace(...))` does), plus 0 and
 * totalSteps: sorted ascending, unique integers. Fewer than logCount + linearCount steps come back when
 * rounding makes points coincide (the early log-spaced ones always do).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointSchedule } from "chi";
 *
 * // 5 log-spaced and 3 linear-spaced steps over 1000 updates, plus 0 and 1000 (coinciding points merge).
 * assert.deepEqual(checkpointSchedule(1000, { logCount: 5, linearCount: 3 }), [0, 1, 5, 31, 177, 500, 1000]);
 * ```
 */
export function checkpointSchedule(totalSteps: number, opts: CheckpointScheduleOptions = {}): number[] {
  if (!Number.isSafeInteger(totalSteps) || totalSteps < 1) {
    throw new RangeError(`totalSteps must be an integer ≥ 1, got ${totalSteps}`);
  }
  const logCount = opts.logCount ?? 100;
  const linearCount = opts.linearCount ?? 2000;
  checkCount("logCount", logCount);
  checkCount("linearCount", linearCount);
  const steps = new Set<number>([0, totalSteps]);
  if (logCount === 1) steps.add(1);
  const logMax = Math.log(totalSteps);
  for (let k = 0; logCount > 1 && k < logCount; k++) {
    // exp(k/(n-1)·ln T); a relative nudge keeps exact powers (e.g. 1000 = 10^3) from flooring to 999.
    const x = k === logCount - 1 ? totalSteps : Math.exp((k / (logCount - 1)) * logMax);
    steps.add(Math.min(totalSteps, Math.floor(x * (1 + 1e-12))));
  }
  for (let i = 0; linearCount > 1 && i < linearCount; i++) {
    // Integer product then one division: exact when i·totalSteps is below 2^53.
    steps.add(Math.floor((i * totalSteps) / (linearCount - 1)));
  }
  return [...steps].sort((a, b) => a - b);
}

export interface LearningRateOptions {
  /** Peak (and constant) learning rate. */
  lr: number;
  /** Number of warmup updates; 0 for none. */
  warmup: number;
}

/**
 * Learning rate of update `step` (0-based: the update that turns the weights of step s into those of step
 * s + 1): linear warmup lr·(step + 1)/warmup over the first `warmup` updates, then constant lr (the paper
 * trains with no schedule after warmup).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { learningRate } from "chi";
 *
 * const opts = { lr: 1e-3, warmup: 10 };
 * assert.equal(learningRate(4, opts), 5e-4); // linear warmup over the first 10 updates
 * assert.equal(learningRate(50, opts), 1e-3); // then constant
 * ```
 */
export function learningRate(step: number, opts: LearningRateOptions): number {
  const { lr, warmup } = opts;
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(`step must be an integer ≥ 0, got ${step}`);
  }
  if (!Number.isFinite(lr) || lr <= 0) throw new RangeError(`lr must be a positive finite number, got ${lr}`);
  if (!Number.isSafeInteger(warmup) || warmup < 0) {
    throw new RangeError(`warmup must be an integer ≥ 0, got ${warmup}`);
  }
  if (step >= warmup) return lr;
  return (lr * (step + 1)) / warmup;
}
