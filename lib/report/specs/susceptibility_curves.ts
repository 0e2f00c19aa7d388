/**
 * Figs. 3-5 (and 16-29): susceptibility of each head over training checkpoints, one panel per probe, log
 * step axis, a band of ± one standard error over chains. The same builder draws the restricted LLC (eq. 26).
 */

import type { TopLevelSpec } from "vega-lite";
import { categoryColor, facetFrame, stepAxis, type StyleOptions } from "./theme.ts";

/** One point of a curve. */
export interface CurvePoint {
  probe: string;
  /** Head name "l:h". */
  restriction: string;
  layer: number;
  step: number;
  value: number;
  /** Standard error over chains. */
  se: number;
}

/** Options of susceptibilityCurves. */
export interface CurveOptions extends StyleOptions {
  /** Axis title of the value, e.g. "χ" or "LLC". */
  valueTitle?: string;
  /** Panels per row. */
  columns?: number;
  /** Draw ± SE bands. */
  errorBands?: boolean;
  /** Mark each checkpoint with a point (default: when there are at most 15 checkpoints). */
  points?: boolean;
}

/** Faceted line chart: x = step (log), y = value, colour = head, dash = layer, one panel per probe. */
export function susceptibilityCurves(points: readonly CurvePoint[], opts: CurveOptions = {}): TopLevelSpec {
  const values = points.map((p) => ({
    ...p,
    lo: p.value - p.se,
    hi: p.value + p.se,
    layerName: `layer ${p.layer}`,
  }));
  const heads = [...new Set(points.map((p) => p.restriction))];
  const showPoints = opts.points ?? new Set(points.map((p) => p.step)).size <= 15;
  const valueTitle = opts.valueTitle ?? "susceptibility χ";
  const x = {
    field: "step",
    type: "quantitative" as const,
    ...stepAxis(points.map((p) => p.step)),
  };
  const color = {
    ...categoryColor("restriction", heads, "head"),
    // Both layers share this legend; without explicit symbols it would take the faint band's opacity.
    legend: { symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2 },
  };
  return {
    ...facetFrame(values, "probe", opts),
    resolve: { scale: { y: "independent" } },
    spec: {
      width: opts.width ?? 250,
      height: opts.height ?? 180,
      layer: [
        ...(opts.errorBands ?? true
          ? [{
            mark: { type: "area" as const, opacity: 0.12 },
            encoding: {
              x,
              y: { field: "lo", type: "quantitative" as const },
              y2: { field: "hi" },
              color,
              detail: { field: "restriction" },
            },
          }]
          : []),
        {
          mark: { type: "line" as const, point: showPoints ? { size: 18 } : false, strokeWidth: 1.6 },
          encoding: {
            x,
            y: { field: "value", type: "quantitative" as const, title: valueTitle, scale: { zero: false } },
            color,
            strokeDash: {
              field: "layerName",
              type: "nominal" as const,
              title: "layer",
              legend: { symbolType: "stroke" },
            },
          },
        },
      ],
    },
  };
}
