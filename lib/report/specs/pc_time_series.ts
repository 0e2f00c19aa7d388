/** Fig. 15: each principal component as a time series over checkpoints, one line per dataset. */

import type { TopLevelSpec } from "vega-lite";
import { categoryColor, facetFrame, stepAxis, type StyleOptions } from "./theme.ts";

/** One component score of one dataset at one checkpoint. */
export interface PcSeriesPoint {
  probe: string;
  step: number;
  pc: string;
  score: number;
}

/** Faceted lines: one panel per component, x = step (log), y = score, colour = dataset. */
export function pcTimeSeries(
  points: readonly PcSeriesPoint[],
  opts: StyleOptions & { columns?: number } = {},
): TopLevelSpec {
  const probes = [...new Set(points.map((p) => p.probe))];
  return {
    ...facetFrame(points, "pc", opts),
    resolve: { scale: { y: "independent" } },
    spec: {
      width: opts.width ?? 250,
      height: opts.height ?? 190,
      mark: { type: "line", point: { size: 16 }, strokeWidth: 1.5 },
      encoding: {
        x: {
          field: "step",
          type: "quantitative",
          ...stepAxis(points.map((p) => p.step)),
        },
        y: { field: "score", type: "quantitative", title: "component score (UΣ)" },
        color: categoryColor("probe", probes, "dataset"),
      },
    },
  };
}
