/**
 * Calibration of a standard error over independent reruns of an estimator whose true value is known: the
 * shared summary of tests/estimate_calibration_test.ts and tests/estimate_difference_test.ts.
 */
import type { ChainDraws } from "../../lib/estimate/estimators.ts";

export interface Calibration {
  /** RMS(estimate − truth) / RMS(SE): 1 when the SE is honest. */
  ratio: number;
  within1: number;
  within2: number;
  /** (mean estimate − truth) / (its standard error over reruns). */
  biasZ: number;
}

export function calibration(est: readonly number[], se: readonly number[], truth: number): Calibration {
  const R = est.length;
  let sq = 0, se2 = 0, in1 = 0, in2 = 0, mean = 0;
  est.forEach((x, i) => {
    const z = (x - truth) / se[i];
    sq += (x - truth) ** 2;
    se2 += se[i] ** 2;
    if (Math.abs(z) <= 1) in1++;
    if (Math.abs(z) <= 2) in2++;
    mean += x / R;
  });
  let v = 0;
  for (const x of est) v += (x - mean) ** 2 / (R - 1);
  return {
    ratio: Math.sqrt(sq / se2),
    within1: in1 / R,
    within2: in2 / R,
    biasZ: (mean - truth) / Math.sqrt(v / R),
  };
}

export function show(name: string, c: Calibration, R: number): string {
  return `${name}: RMS error / RMS SE = ${c.ratio.toFixed(2)}, inside ±1 SE ${
    (100 * c.within1).toFixed(0)
  }%, ` +
    `±2 SE ${(100 * c.within2).toFixed(0)}% of ${R} reruns, bias ${c.biasZ.toFixed(2)} SE of the mean`;
}

/** [K chains, r draws] with value f(k, t) at chain k, draw t. */
export function chainDraws(K: number, r: number, f: (k: number, t: number) => number): ChainDraws {
  return {
    values: Float64Array.from({ length: K * r }, (_, i) => f(Math.floor(i / r), i % r)),
    chains: K,
    draws: r,
  };
}
