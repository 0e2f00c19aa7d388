/**
 * Fig. 11 (and 35, 36): histograms of per-token susceptibilities of chosen tokens, one panel per
 * (head, dataset, token); bins are computed in TypeScript (lib/analysis/stats.ts histogram).
 */

import type { TopLevelSpec } from "vega-lite";
import { facetFrame, type StyleOptions } from "./theme.ts";

/** One histogram bar of one panel. */
export interface HistogramBar {
  panel: string;
  x0: number;
  x1: number;
  count: number;
}

/** Faceted histograms with independent x scales. */
export function tokenHistograms(
  bars: readonly HistogramBar[],
  opts: StyleOptions & { columns?: number } = {},
): TopLevelSpec {
  return {
    ...facetFrame(bars, "panel", opts),
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: {
      width: opts.width ?? 260,
      height: opts.height ?? 160,
      mark: { type: "rect", color: "#4c78a8", stroke: "white", strokeWidth: 0.3 },
      encoding: {
        x: { field: "x0", type: "quantitative", title: "per-token χ", scale: { zero: false } },
        x2: { field: "x1" },
        y: { field: "count", type: "quantitative", title: "tokens", axis: { tickMinStep: 1, format: "d" } },
        y2: { datum: 0 },
      },
    },
  };
}
