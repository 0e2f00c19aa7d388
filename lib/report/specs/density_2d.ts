/**
 * Fig. 7 (and 31): per-token susceptibility against ablation delta as 2-D density maps, one panel per
 * (dataset, head) with Pearson r in the panel title; counts are binned in TypeScript (stats.ts bin2d).
 */

import type { TopLevelSpec } from "vega-lite";
import { facetFrame, type StyleOptions } from "./theme.ts";

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
  const frame = facetFrame(cells, "panel", opts, 2);
  // A bin's edges: the lower one is the field, the upper its x2/y2; the scale follows the bins, unrounded.
  const binAxis = (field: string, title: string) => ({
    field,
    type: "quantitative" as const,
    title,
    scale: { zero: false, nice: false },
  });
  return {
    ...frame,
    facet: { ...frame.facet, header: { labelFontSize: 11 } },
    resolve: { axis: { x: "independent", y: "independent" } },
    spec: {
      width: opts.width ?? 220,
      height: opts.height ?? 200,
      mark: { type: "rect" },
      encoding: {
        x: binAxis("x0", opts.xTitle ?? "per-token χ"),
        x2: { field: "x1" },
        y: binAxis("y0", opts.yTitle ?? "ablation delta (loss)"),
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
