/**
 * The standard error of a difference of two restrictions' χ̂ from one paired run (common random numbers).
 *
 * In a paired run every chain of every restriction sees the same minibatch at draw t, and every restriction's
 * χ̂ shares E_full[ΔL], estimated once on the unrestricted chains (eq. 40). Both errors are correlated between
 * restrictions: χ̂_a − χ̂_b carries only what differs, so √(SE_a² + SE_b²), which counts the shared error
 * twice instead of letting it cancel, overstates the error of the difference.
 *
 * The difference's own series: chain k of a beside chain k of b (they share the batch sequence and the
 * unrestricted chain k mod K′), d[k, t] = influence_a[k, t] − influence_b[k, t], with `influence` the per-draw
 * series of estimateSusceptibility (each draw's term plus the delta-method part for E_full[ΔL]). Its mean over
 * k and t is χ̂_a − χ̂_b, and its standard error is formed as χ̂'s own: max(spread over chains of the per-chain
 * means, standard error over time of the chain-averaged series) (pairedSe). What a and b share is subtracted
 * draw by draw, so it enters neither.
 */

import { type ChainDraws, pairedSe, summarize } from "./estimators.ts";
import { timeSeriesSe } from "./diagnostics.ts";

export interface DifferenceEstimate {
  /** Mean of d over chains and draws: χ̂_a − χ̂_b. */
  mean: number;
  /** max(seChains, seTime) (pairedSe). */
  se: number;
  /** Spread over chains of the per-chain means of d (std/√K; NaN with one chain). */
  seChains: number;
  /** timeSeriesSe of d (NaN under 4 draws). */
  seTime: number;
  chains: number;
  draws: number;
}

/**
 * χ̂_a − χ̂_b and its standard error from the two restrictions' per-draw series, [K, r] each, chain k of a
 * paired with chain k of b (see the module comment).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { estimateDifference } from "chi";
 *
 * // A large term shared by both restrictions at every draw (3, −3, 5, …) cancels: only a's offset 1 remains.
 * const shared = [3, -3, 5, -5, 2, -2];
 * const b = { values: [...shared, ...shared], chains: 2, draws: 6 };
 * const a = { ...b, values: b.values.map((x) => x + 1) };
 * const d = estimateDifference(a, b);
 * assert.ok(Math.abs(d.mean - 1) < 1e-12 && d.se === 0);
 * ```
 */
export function estimateDifference(a: ChainDraws, b: ChainDraws): DifferenceEstimate {
  const { chains: K, draws: r } = a;
  if (b.chains !== K || b.draws !== r) {
    throw new RangeError(`estimateDifference: shapes ${K}×${r} and ${b.chains}×${b.draws} differ`);
  }
  if (!(K >= 1 && r >= 1) || a.values.length !== K * r || b.values.length !== K * r) {
    throw new RangeError(`estimateDifference: expected ${K}×${r} values in both series`);
  }
  const d = new Float64Array(K * r);
  const perChain = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let t = 0; t < r; t++) {
      const i = k * r + t;
      d[i] = a.values[i] - b.values[i];
      s += d[i];
    }
    perChain[k] = s / r;
  }
  const chains = summarize(perChain);
  const seTime = timeSeriesSe({ values: d, chains: K, draws: r });
  return {
    mean: chains.mean,
    se: pairedSe(chains.se, seTime),
    seChains: chains.se,
    seTime,
    chains: K,
    draws: r,
  };
}
