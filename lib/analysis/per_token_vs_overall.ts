/**
 * Fig. 9: the mean per-token susceptibility against the overall susceptibility for every (head, probe), as
 * in the paper: x = χ (eq. 41), y = mean over the probe's tokens of χ_(x,y) (eq. 44). Eq. 45 says
 * χ ≈ δh · mean, so the points should lie near the line y = x / δh: the expected slope is 1/δh (10 for the
 * paper's δh = 0.1; the paper measured 15.99 with Pearson r = 0.817).
 */

import { groupKey, groupMeans, type PerTokenIndex } from "./per_token.ts";
import { linearFit, pearson } from "./stats.ts";
import { type SusceptibilityColumns } from "../tables/schema.ts";
import { FULL } from "../model/restriction.ts";

/** One point of Fig. 9. */
export interface PerTokenVsOverallPoint {
  probe: string;
  restriction: string;
  /** χ from susceptibility.arrow at the same step. */
  overall: number;
  /** Mean per-token χ over the probe's tokens. */
  meanPerToken: number;
  /** δh of the overall estimate (susceptibility.arrow's delta_h). */
  deltaH: number;
  tokens: number;
}

/** Fig. 9 data and the least-squares summary. */
export interface PerTokenVsOverall {
  step: number;
  points: PerTokenVsOverallPoint[];
  /** Least-squares line meanPerToken ≈ slope · overall + intercept; undefined with < 2 distinct x. */
  fit?: { slope: number; intercept: number };
  /** Pearson r between overall and meanPerToken (NaN if undefined). */
  r: number;
  /** Eq. 45's slope 1/δh when every point has the same δh; undefined otherwise. */
  expectedSlope?: number;
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
      deltaH: o.deltaH,
      tokens: m.count,
    });
  }
  const x = points.map((p) => p.overall);
  const y = points.map((p) => p.meanPerToken);
  const deltas = new Set(points.map((p) => p.deltaH));
  const dh = deltas.size === 1 ? points[0].deltaH : NaN;
  return {
    step: idx.step,
    points,
    fit: new Set(x).size >= 2 ? linearFit(x, y) : undefined,
    r: points.length >= 2 ? pearson(x, y) : NaN,
    expectedSlope: dh > 0 ? 1 / dh : undefined,
  };
}
