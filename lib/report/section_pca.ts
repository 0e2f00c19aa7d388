/**
 * Sections for joint trajectory PCA (section 3.3, appendix B): loadings (Fig. 6), dataset contributions
 * (Fig. 12), scree (Fig. 13), 2-D trajectories (Fig. 14) and components as time series (Fig. 15).
 */

import { datasetContributions, type TrajectoryPca } from "../analysis/pca.ts";
import type { ChartSet } from "./charts.ts";
import { tableHtml } from "./html.ts";
import type { ReportSection } from "./html.ts";
import type { ReportOptions } from "./options.ts";
import { datasetContributionsHeatmap } from "./specs/dataset_contributions.ts";
import { loadingsHeatmap } from "./specs/loadings_heatmap.ts";
import { pcTimeSeries } from "./specs/pc_time_series.ts";
import { screePlot } from "./specs/scree.ts";
import { trajectories2d, type TrajectoryPoint } from "./specs/trajectories_2d.ts";
import {
  contributionsSummary,
  loadingsSummary,
  screeSummary,
  timeSeriesSummary,
  trajectoriesSummary,
} from "./pca_summaries.ts";

const pcName = (c: number) => `PC${c + 1}`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** All five PCA sections (the 2-D trajectories need at least two components). */
export async function pcaSections(
  pca: TrajectoryPca,
  charts: ChartSet,
  opts: ReportOptions,
): Promise<ReportSection[]> {
  const comps = Array.from({ length: pca.k }, (_, c) => pcName(c));
  const evLine = comps.map((c, i) => `${c} ${pct(pca.explainedVariance[i])}`).join(", ");
  const cumK = pca.explainedVariance.slice(0, pca.k).reduce((a, b) => a + b, 0);
  const out: ReportSection[] = [];
  out.push({
    id: "pca-loadings",
    title: "PCA loadings per head (Fig. 6)",
    summary: loadingsSummary(pca),
    caption:
      `Rows of Vᵀ from the SVD of the column-standardized data matrix X (|D||T| × |H| = ${pca.scores.length} × ` +
      `${pca.heads.length}; eqs. 46-47): how strongly each head loads on each component. Signs are fixed so that each ` +
      `component's largest loading is positive. Explained variance: ${evLine}. Paper: Fig. 6.`,
    body: await charts.figure(
      "pca-loadings",
      loadingsHeatmap({ components: comps, heads: pca.heads, loadings: pca.loadings }, {
        config: opts.config,
      }),
    ),
  });
  out.push({
    id: "pca-contributions",
    title: "Dataset contributions to the components (Fig. 12)",
    summary: contributionsSummary(pca),
    caption:
      "Each dataset's rows of UΣ averaged over checkpoints, each component's column scaled to unit norm over " +
      "datasets: the coupling between modes and variations of the data distribution. Paper: Fig. 12.",
    body: await charts.figure(
      "pca-contributions",
      datasetContributionsHeatmap({
        probes: pca.probes,
        components: comps,
        contributions: datasetContributions(pca),
      }, { config: opts.config }),
    ),
  });
  out.push({
    id: "pca-scree",
    title: "Scree plot (Fig. 13)",
    summary: screeSummary(pca),
    caption:
      `Fraction of the variance of X_std explained by each component (bars, full spectrum) and cumulative ` +
      `(line). The first ${pca.k} components explain ${pct(cumK)}. Paper: Fig. 13 (three components, 98%).`,
    body: await charts.figure("pca-scree", screePlot(pca.explainedVariance, { config: opts.config })) +
      tableHtml(
        ["component", "singular value", "explained", "cumulative"],
        pca.singularValues.map((s, i) => [
          pcName(i),
          s,
          pct(pca.explainedVariance[i]),
          pct(pca.explainedVariance.slice(0, i + 1).reduce((a, b) => a + b, 0)),
        ]),
      ),
  });
  if (pca.k >= 2) {
    const pts: TrajectoryPoint[] = pca.probes.flatMap((probe) =>
      pca.trajectories[probe].map((r, t) => ({ probe, step: pca.steps[t], pc1: r[0], pc2: r[1] }))
    );
    const spec = trajectories2d(pts, {
      config: opts.config,
      xTitle: `PC1 (${pct(pca.explainedVariance[0])})`,
      yTitle: `PC2 (${pct(pca.explainedVariance[1])})`,
    });
    const values = (spec.data as { values: { label: string }[] }).values;
    out.push({
      id: "pca-trajectories",
      title: "Trajectories on the first two components (Fig. 14)",
      summary: trajectoriesSummary(pca, values.filter((v) => v.label !== "").length, values.length),
      caption:
        "Each dataset's susceptibility vector γ_d(t) over checkpoints projected on PC1 and PC2 (π_d(t), section 3.3), " +
        `joined in checkpoint order; a black ring marks each dataset's start (step ${
          pca.steps[0]
        }). Checkpoints ` +
        "are labelled with their step where the label overlaps no other (each start and end first). Paper: Fig. 14.",
      body: await charts.figure("pca-trajectories", spec),
    });
  }
  const series = pca.probes.flatMap((probe) =>
    pca.trajectories[probe].flatMap((r, t) =>
      r.map((score, c) => ({ probe, step: pca.steps[t], pc: pcName(c), score }))
    )
  );
  out.push({
    id: "pca-time-series",
    title: "Principal components as time series (Fig. 15)",
    summary: timeSeriesSummary(pca),
    caption:
      "Each component's score (column of UΣ) for each dataset against the checkpoint step (log axis). Paper: Fig. 15.",
    body: await charts.figure("pca-time-series", pcTimeSeries(series, { config: opts.config })),
  });
  return out;
}
