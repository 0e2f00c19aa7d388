/**
 * Fig. 9: δh × mean per-token susceptibility against the overall susceptibility, one point per
 * (head, dataset), the least-squares line dotted red and the identity (eq. 45's prediction) in grey;
 * slope and Pearson r go in the title.
 */

import type { TopLevelSpec } from "vega-lite";
import { REPORT_CONFIG, type StyleOptions } from "./theme.ts";

/** One (head, dataset) point. */
export interface OverallPoint {
  probe: string;
  restriction: string;
  overall: number;
  scaled: number;
}

/** Scatter with the fitted line (y = slope·x + intercept) and y = x. */
export function perTokenVsOverallChart(
  points: readonly OverallPoint[],
  fit: { slope: number; intercept: number } | undefined,
  r: number,
  opts: StyleOptions = {},
): TopLevelSpec {
  const xs = points.map((p) => p.overall);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const line = fit ? [lo, hi].map((x) => ({ x, y: fit.slope * x + fit.intercept })) : [];
  const identity = [lo, hi].map((x) => ({ x, y: x }));
  const probes = [...new Set(points.map((p) => p.probe))];
  const title = opts.title ??
    (fit
      ? `slope ${fit.slope.toFixed(3)}, Pearson r = ${Number.isFinite(r) ? r.toFixed(3) : "n/a"}`
      : "too few points for a fit");
  return {
    title,
    config: opts.config ?? REPORT_CONFIG,
    width: opts.width ?? 420,
    height: opts.height ?? 340,
    layer: [
      {
        data: { values: identity },
        mark: { type: "line", color: "#bbb", strokeWidth: 1 },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values: line },
        mark: { type: "line", color: "#d62728", strokeDash: [3, 3], strokeWidth: 1.5 },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values: points.map((p) => ({ ...p })) },
        mark: { type: "point", filled: true, size: 40, opacity: 0.85 },
        encoding: {
          x: {
            field: "overall",
            type: "quantitative",
            title: "susceptibility χ (eq. 41)",
            scale: { zero: false },
          },
          y: {
            field: "scaled",
            type: "quantitative",
            title: "δh × mean per-token χ (eq. 45)",
            scale: { zero: false },
          },
          color: { field: "probe", type: "nominal", sort: probes, title: "dataset" },
          shape: { field: "probe", type: "nominal", sort: probes, title: "dataset" },
        },
      },
    ],
  };
}
