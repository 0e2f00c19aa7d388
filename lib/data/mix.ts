/**
 * Dataset mixing, Algorithm 1 of the paper's appendix C.4. Given a base dataset D⁰ (contexts from q), a
 * probe dataset D¹ (contexts from q′) and δh ∈ [0, 1], the mixed dataset D^δh has min(N, M) contexts;
 * position j takes the probe's context j exactly when the running target ⌊(j+1)·δh⌋ exceeds the number of
 * probe contexts taken so far, i.e. when ⌊(j+1)δh⌋ > ⌊jδh⌋, and the base's context j otherwise.
 *
 * Why this form: it is deterministic (no randomness at all), evenly interleaved (any prefix of length k
 * holds ⌊kδh⌋ probe contexts), and since position j takes either x_j or x′_j, q′ = q gives D⁰ exactly, so
 * a susceptibility estimated at δh has no noise from re-sampling the base data.
 */

import { MixError } from "./errors.ts";

function requireDeltaH(deltaH: number): void {
  if (!(typeof deltaH === "number" && deltaH >= 0 && deltaH <= 1)) {
    throw new MixError(`deltaH must be a number in [0, 1], got ${deltaH}`);
  }
}

/** Whether position j of the mixed dataset comes from the probe: ⌊(j+1)δh⌋ > ⌊jδh⌋. */
export function isProbePosition(j: number, deltaH: number): boolean {
  requireDeltaH(deltaH);
  if (!Number.isInteger(j) || j < 0) throw new MixError(`position must be a non-negative integer, got ${j}`);
  return Math.floor((j + 1) * deltaH) > Math.floor(j * deltaH);
}

/**
 * The source of each of the first n positions (1 = probe, 0 = base), computed exactly as Algorithm 1
 * does: a probe counter compared against the target ⌊(j+1)δh⌋.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mixPattern } from "chi";
 *
 * // Which of 10 contexts come from the probe at δh = 0.3: evenly spread, 3 of them.
 * assert.deepEqual(Array.from(mixPattern(10, 0.3)), [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
 * ```
 */
export function mixPattern(n: number, deltaH: number): Uint8Array {
  requireDeltaH(deltaH);
  if (!Number.isInteger(n) || n < 0) throw new MixError(`n must be a non-negative integer, got ${n}`);
  const out = new Uint8Array(n);
  let probeCount = 0;
  for (let j = 0; j < n; j++) {
    const target = Math.floor((j + 1) * deltaH);
    if (probeCount < target) {
      out[j] = 1;
      probeCount++;
    }
  }
  return out;
}

export interface MixResult {
  /** [min(N, M), nCtx] row-major. */
  contexts: Int32Array;
  /** 1 where the context came from the probe. */
  fromProbe: Uint8Array;
  probeCount: number;
}

/**
 * Mixes base contexts [N, nCtx] with probe contexts [M, nCtx] (row-major) by Algorithm 1. The result has
 * min(N, M) contexts; context j is copied from the probe's row j or the base's row j.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mixContexts } from "chi";
 *
 * const base = new Int32Array(10 * 4).fill(1), probe = new Int32Array(10 * 4).fill(2); // 10 contexts of 4 tokens
 * const { contexts, fromProbe, probeCount } = mixContexts(base, probe, 4, 0.3);
 * assert.equal(probeCount, 3);
 * assert.equal(contexts[3 * 4], fromProbe[3] ? 2 : 1);
 * ```
 */
export function mixContexts(
  base: ArrayLike<number>,
  probe: ArrayLike<number>,
  nCtx: number,
  deltaH: number,
): MixResult {
  if (!Number.isInteger(nCtx) || nCtx < 1) throw new MixError(`nCtx must be a positive integer, got ${nCtx}`);
  for (const [name, a] of [["base", base], ["probe", probe]] as const) {
    if (a.length % nCtx !== 0) {
      throw new MixError(`${name} has ${a.length} tokens, not a whole number of ${nCtx}-token contexts`);
    }
  }
  const n = Math.min(base.length, probe.length) / nCtx;
  const fromProbe = mixPattern(n, deltaH);
  const contexts = new Int32Array(n * nCtx);
  let probeCount = 0;
  for (let j = 0; j < n; j++) {
    const src = fromProbe[j] ? probe : base;
    probeCount += fromProbe[j];
    const at = j * nCtx;
    for (let t = 0; t < nCtx; t++) contexts[at + t] = src[at + t];
  }
  return { contexts, fromProbe, probeCount };
}
