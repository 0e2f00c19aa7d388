/** Fig. 13: scree plot — explained variance ratio per component (bars) and cumulative ratio (line). */

import type { TopLevelSpec } from "vega-lite";
import { REPORT_CONFIG, type StyleOptions } from "./theme.ts";

/** Bars of σ_i²/Σσ² and the running sum, both as fractions of 1. */
export function screePlot(explainedVariance: readonly number[], opts: StyleOptions = {}): TopLevelSpec {
  let cum = 0;
  const values = explainedVariance.map((ratio, i) => {
    cum += ratio;
    return { component: i + 1, ratio, cumulative: Math.min(cum, 1) };
  });
  const x = {
    field: "component",
    type: "ordinal" as const,
    title: "principal component",
    axis: { labelAngle: 0 },
  };
  return {
    title: opts.title ?? "",
    config: opts.config ?? REPORT_CONFIG,
    data: { values },
    width: opts.width ?? Math.max(240, 34 * values.length),
    height: opts.height ?? 220,
    layer: [
      {
        mark: { type: "bar", color: "#4c78a8" },
        encoding: {
          x,
          y: {
            field: "ratio",
            type: "quantitative",
            title: "fraction of variance",
            scale: { domain: [0, 1] },
            axis: { format: "%" },
          },
        },
      },
      {
        mark: { type: "line", color: "#e45756", point: { color: "#e45756" } },
        encoding: { x, y: { field: "cumulative", type: "quantitative" } },
      },
      {
        mark: { type: "text", dy: -8, fontSize: 10, color: "#e45756" },
        encoding: {
          x,
          y: { field: "cumulative", type: "quantitative" },
          text: { field: "cumulative", format: ".0%" },
        },
      },
    ],
  };
}
