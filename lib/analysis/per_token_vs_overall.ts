/**
 * Fig. 9: the mean per-token susceptibility against the overall susceptibility for every (head, probe).
 * By eq. 45, χ ≈ δh · mean χ_(x,y), so we plot δh · mean against χ: the expected slope is 1 (the paper plots
 * the unscaled mean, whose expected slope is 1/δh = 10 and measured 15.99 with r = 0.817).
 */

import { groupKey, groupMeans, type PerTokenIndex } from "./per_token.ts";
import { linearFit, pearson } from "./stats.ts";
import { FULL, type SusceptibilityColumns } from "./tables.ts";

/** One point of Fig. 9. */
export interface PerTokenVsOverallPoint {
  probe: string;
  restriction: string;
  /** χ from susceptibility.arrow at the same step. */
  overall: number;
  /** Mean per-token χ over the probe's tokens. */
  meanPerToken: number;
  /** δh · meanPerToken (eq. 45's prediction of χ). */
  scaled: number;
  deltaH: number;
  tokens: number;
}

/** Fig. 9 data and the least-squares summary. */
export interface PerTokenVsOverall {
  step: number;
  points: PerTokenVsOverallPoint[];
  /** Least-squares line scaled ≈ slope · overall + intercept; undefined with fewer than 2 distinct points. */
  fit?: { slope: number; intercept: number };
  /** Pearson r between overall and scaled (NaN if undefined). */
  r: number;
}

/** Pairs every per-head group of the index with the overall χ of the same (probe, step, head). */
export function perTokenVsOverall(idx: PerTokenIndex, sus: SusceptibilityColumns): PerTokenVsOverall {
  const overall = new Map<string, { chi: number; deltaH: number }>();
  for (let i = 0; i < sus.step.length; i++) {
    if (sus.step[i] === idx.step) {
      overall.set(groupKey(sus.probe[i], sus.restriction[i]), { chi: sus.chi[i], deltaH: sus.delta_h[i] });
    }
  }
  const means = groupMeans(idx);
  const points: PerTokenVsOverallPoint[] = [];
  for (const [key, g] of idx.groups) {
    if (g.restriction === FULL) continue;
    const o = overall.get(key);
    if (!o) continue;
    const m = means.get(key)!;
    points.push({
      probe: g.probe,
      restriction: g.restriction,
      overall: o.chi,
      meanPerToken: m.mean,
      scaled: o.deltaH * m.mean,
      deltaH: o.deltaH,
      tokens: m.count,
    });
  }
  const x = points.map((p) => p.overall);
  const y = points.map((p) => p.scaled);
  const distinct = new Set(x).size >= 2;
  return {
    step: idx.step,
    points,
    fit: distinct ? linearFit(x, y) : undefined,
    r: points.length >= 2 ? pearson(x, y) : NaN,
  };
}
