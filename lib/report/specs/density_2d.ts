/**
 * Fig. 7 (and 31): per-token susceptibility against ablation delta as 2-D density maps, one panel per
 * (dataset, head) with Pearson r in the panel title; counts are binned in TypeScript (stats.ts bin2d).
 */

import type { TopLevelSpec } from "vega-lite";
import { REPORT_CONFIG, type StyleOptions } from "./theme.ts";

/** One non-empty cell of one panel. */
export interface DensityCell {
  panel: string;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  count: number;
}

/** Options of densityPanels. */
export interface DensityOptions extends StyleOptions {
  columns?: number;
  xTitle?: string;
  yTitle?: string;
}

/**
 * Faceted binned heatmaps (log colour scale of counts), shared scales across panels. Every panel draws its own
 * axes: a wrapped facet's shared axes are drawn once, beside the outer grid and apart from the panels, which
 * leaves panels with no scale next to them.
 */
export function densityPanels(cells: readonly DensityCell[], opts: DensityOptions = {}): TopLevelSpec {
  return {
    title: opts.title ?? "",
    config: opts.config ?? REPORT_CONFIG,
    data: { values: cells.map((c) => ({ ...c })) },
    facet: {
      field: "panel",
      type: "nominal",
      title: null,
      sort: [...new Set(cells.map((c) => c.panel))],
      header: { labelFontSize: 11 },
    },
    columns: opts.columns ?? 2,
    resolve: { axis: { x: "independent", y: "independent" } },
    spec: {
      width: opts.width ?? 220,
      height: opts.height ?? 200,
      mark: { type: "rect" },
      encoding: {
        x: {
          field: "x0",
          type: "quantitative",
          title: opts.xTitle ?? "per-token χ",
          scale: { zero: false, nice: false },
        },
        x2: { field: "x1" },
        y: {
          field: "y0",
          type: "quantitative",
          title: opts.yTitle ?? "ablation delta (loss)",
          scale: { zero: false, nice: false },
        },
        y2: { field: "y1" },
        color: {
          field: "count",
          type: "quantitative",
          scale: { type: "log", scheme: "viridis" },
          title: "tokens",
        },
      },
    },
  };
}
