/** Diagnostics: SGLD loss per draw for each chain (traces.arrow), one panel per (probe, restriction, step). */

import type { TopLevelSpec } from "vega-lite";
import { facetFrame, type StyleOptions } from "./theme.ts";

/** One draw of one chain. */
export interface TracePoint {
  panel: string;
  chain: number;
  draw: number;
  loss: number;
}

/** Faceted lines: x = draw, y = loss, colour = chain. */
export function lossTraces(
  points: readonly TracePoint[],
  opts: StyleOptions & { columns?: number } = {},
): TopLevelSpec {
  return {
    ...facetFrame(points, "panel", opts),
    resolve: { scale: { y: "independent" } },
    spec: {
      width: opts.width ?? 260,
      height: opts.height ?? 150,
      mark: { type: "line", strokeWidth: 1 },
      encoding: {
        x: { field: "draw", type: "quantitative", title: "draw" },
        y: { field: "loss", type: "quantitative", title: "loss L_n(w_t)", scale: { zero: false } },
        color: { field: "chain", type: "nominal", title: "chain" },
      },
    },
  };
}
