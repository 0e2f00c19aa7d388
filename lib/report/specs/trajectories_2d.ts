/**
 * Fig. 14: each dataset's trajectory projected on the first two principal components, points joined in
 * checkpoint order, with selected checkpoints labelled by step.
 */

import type { TopLevelSpec } from "vega-lite";
import { REPORT_CONFIG, type StyleOptions } from "./theme.ts";

/** One trajectory point. */
export interface TrajectoryPoint {
  probe: string;
  step: number;
  pc1: number;
  pc2: number;
  /** Label drawn next to the point ("" for none). */
  label: string;
}

/** Options of trajectories2d. */
export interface Trajectory2dOptions extends StyleOptions {
  /** Axis titles, e.g. "PC1 (61%)". */
  xTitle?: string;
  yTitle?: string;
}

/** Connected scatter: x = PC1, y = PC2, colour = dataset, order = step; start points drawn larger. */
export function trajectories2d(
  points: readonly TrajectoryPoint[],
  opts: Trajectory2dOptions = {},
): TopLevelSpec {
  const probes = [...new Set(points.map((p) => p.probe))];
  const x = {
    field: "pc1",
    type: "quantitative" as const,
    title: opts.xTitle ?? "PC1",
    scale: { zero: false },
  };
  const y = {
    field: "pc2",
    type: "quantitative" as const,
    title: opts.yTitle ?? "PC2",
    scale: { zero: false },
  };
  const color = {
    field: "probe",
    type: "nominal" as const,
    sort: probes,
    title: "dataset",
    scale: { scheme: probes.length > 10 ? "tableau20" : "tableau10" },
  };
  return {
    title: opts.title ?? "",
    config: opts.config ?? REPORT_CONFIG,
    data: { values: points.map((p) => ({ ...p })) },
    width: opts.width ?? 520,
    height: opts.height ?? 420,
    layer: [
      {
        mark: { type: "line", strokeWidth: 1.5, opacity: 0.8 },
        encoding: { x, y, color, order: { field: "step", type: "quantitative" } },
      },
      { mark: { type: "point", filled: true, size: 30 }, encoding: { x, y, color } },
      {
        mark: { type: "text", align: "left", dx: 5, dy: -5, fontSize: 9 },
        encoding: { x, y, text: { field: "label" }, color },
      },
    ],
  };
}
