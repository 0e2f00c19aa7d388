/**
 * Fig. 6: loadings of the principal components on the heads (rows of Vᵀ), as a diverging heatmap with
 * values printed in the cells.
 */

import type { TopLevelSpec } from "vega-lite";
import { divergingCells, REPORT_CONFIG, type StyleOptions } from "./theme.ts";

/** Loadings input: component labels, head labels and loadings[component][head]. */
export interface LoadingsData {
  components: string[];
  heads: string[];
  loadings: number[][];
}

/** Heatmap: x = head, y = component, colour = loading (diverging around 0). */
export function loadingsHeatmap(d: LoadingsData, opts: StyleOptions = {}): TopLevelSpec {
  const values = d.components.flatMap((pc, c) =>
    d.heads.map((head, j) => ({ pc, head, loading: d.loadings[c][j] }))
  );
  const maxAbs = Math.max(1e-12, ...values.map((v) => Math.abs(v.loading)));
  return {
    title: opts.title ?? "",
    config: opts.config ?? REPORT_CONFIG,
    data: { values },
    width: opts.width ?? Math.max(240, 44 * d.heads.length),
    height: opts.height ?? 40 * d.components.length,
    encoding: {
      x: { field: "head", type: "ordinal", sort: d.heads, title: "head", axis: { labelAngle: 0 } },
      y: { field: "pc", type: "ordinal", sort: d.components, title: null },
    },
    layer: divergingCells("loading", maxAbs, "loading"),
  };
}
