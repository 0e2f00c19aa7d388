/**
 * Fig. 12: contributions of each dataset to each principal component — UΣ averaged over checkpoints with
 * normalized columns (see datasetContributions in lib/analysis/pca.ts).
 */

import type { TopLevelSpec } from "vega-lite";
import { divergingCells, REPORT_CONFIG, type StyleOptions } from "./theme.ts";

/** contributions[probe][component]. */
export interface ContributionData {
  probes: string[];
  components: string[];
  contributions: number[][];
}

/** Heatmap: x = component, y = dataset, colour = normalized contribution (diverging, [-1, 1]). */
export function datasetContributionsHeatmap(d: ContributionData, opts: StyleOptions = {}): TopLevelSpec {
  const values = d.probes.flatMap((probe, i) =>
    d.components.map((pc, c) => ({ probe, pc, value: d.contributions[i][c] }))
  );
  return {
    title: opts.title ?? "",
    config: opts.config ?? REPORT_CONFIG,
    data: { values },
    width: opts.width ?? Math.max(180, 70 * d.components.length),
    height: opts.height ?? 26 * d.probes.length,
    encoding: {
      x: {
        field: "pc",
        type: "ordinal",
        sort: d.components,
        title: null,
        axis: { labelAngle: 0, orient: "top" },
      },
      y: { field: "probe", type: "ordinal", sort: d.probes, title: "dataset" },
    },
    layer: divergingCells("value", 1, "weight"),
  };
}
