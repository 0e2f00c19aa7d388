/**
 * Fig. 9: mean per-token susceptibility (y) against the overall susceptibility (x), one point per
 * (head, dataset), the least-squares line dotted red and eq. 45's prediction y = x/δh in grey; slope and
 * Pearson r go in the title.
 */

import type { TopLevelSpec } from "vega-lite";
import { REPORT_CONFIG, type StyleOptions } from "./theme.ts";

/** One (head, dataset) point. */
export interface OverallPoint {
  probe: string;
  restriction: string;
  overall: number;
  meanPerToken: number;
}

/** What the chart draws besides the points. */
export interface OverallFit {
  /** Least-squares line y = slope·x + intercept (omitted when undefined). */
  fit?: { slope: number; intercept: number };
  /** Pearson r for the title. */
  r: number;
  /** Slope of the grey reference line y = expectedSlope·x (eq. 45: 1/δh); omitted when undefined. */
  expectedSlope?: number;
}

/** Scatter with the fitted line and the eq. 45 reference line. */
export function perTokenVsOverallChart(
  points: readonly OverallPoint[],
  lines: OverallFit,
  opts: StyleOptions = {},
): TopLevelSpec {
  const xs = points.map((p) => p.overall);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const { fit, r, expectedSlope } = lines;
  const fitLine = fit ? [lo, hi].map((x) => ({ x, y: fit.slope * x + fit.intercept })) : [];
  const reference = expectedSlope !== undefined ? [lo, hi].map((x) => ({ x, y: expectedSlope * x })) : [];
  const probes = [...new Set(points.map((p) => p.probe))];
  const title = opts.title ??
    (fit
      ? `slope ${fit.slope.toFixed(3)}${
        expectedSlope !== undefined ? ` (eq. 45: ${expectedSlope.toPrecision(3)})` : ""
      }, Pearson r = ${Number.isFinite(r) ? r.toFixed(3) : "n/a"}`
      : "too few points for a fit");
  const line = (values: { x: number; y: number }[], mark: Record<string, unknown>) => ({
    data: { values },
    mark: { type: "line" as const, ...mark },
    encoding: {
      x: { field: "x", type: "quantitative" as const },
      y: { field: "y", type: "quantitative" as const },
    },
  });
  return {
    title,
    config: opts.config ?? REPORT_CONFIG,
    width: opts.width ?? 420,
    height: opts.height ?? 340,
    layer: [
      line(reference, { color: "#bbb", strokeWidth: 1 }),
      line(fitLine, { color: "#d62728", strokeDash: [3, 3], strokeWidth: 1.5 }),
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
            field: "meanPerToken",
            type: "quantitative",
            title: "mean per-token χ (eq. 44)",
            scale: { zero: false },
          },
          color: { field: "probe", type: "nominal", sort: probes, title: "dataset" },
          shape: { field: "probe", type: "nominal", sort: probes, title: "dataset" },
          tooltip: [{ field: "restriction", title: "head" }, { field: "probe", title: "dataset" }],
        },
      },
    ],
  };
}
