/** One sentence of numbers per PCA section (Figs. 6, 12-15), computed from this run's trajectory PCA. */
import { datasetContributions, type TrajectoryPca } from "../analysis/pca.ts";

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f3 = (x: number) => x.toPrecision(3);

/** Index of the largest |x|. */
function argMaxAbs(xs: readonly number[]): number {
  let best = 0;
  xs.forEach((x, i) => {
    if (Math.abs(x) > Math.abs(xs[best])) best = i;
  });
  return best;
}

/** Fig. 6: each component's explained variance and its strongest head. */
export function loadingsSummary(pca: TrajectoryPca): string {
  const parts = pca.loadings.map((row, c) => {
    const j = argMaxAbs(row);
    return `PC${c + 1} (${pct(pca.explainedVariance[c])}) loads most on head ${pca.heads[j]} (${f3(row[j])})`;
  });
  return `Over ${pca.scores.length} (probe, checkpoint) rows and ${pca.heads.length} heads: ${
    parts.join("; ")
  }.`;
}

/** Fig. 12: the dataset that drives each component most. */
export function contributionsSummary(pca: TrajectoryPca): string {
  const c = datasetContributions(pca);
  const parts = Array.from({ length: pca.k }, (_, m) => {
    const d = argMaxAbs(c.map((row) => row[m]));
    return `PC${m + 1} by ${pca.probes[d]} (${f3(c[d][m])})`;
  });
  return `Each component is driven most by: ${parts.join(", ")}.`;
}

/** Fig. 13: the variance the kept components explain. */
export function screeSummary(pca: TrajectoryPca): string {
  const cum = pca.explainedVariance.slice(0, pca.k).reduce((a, b) => a + b, 0);
  return `The first ${pca.k} of ${pca.explainedVariance.length} components explain ${pct(cum)} of the ` +
    `variance (PC1 alone ${pct(pca.explainedVariance[0])}; the paper's three explain 98%).`;
}

/** Fig. 14: which dataset moves farthest on (PC1, PC2) from its first to its last checkpoint. */
export function trajectoriesSummary(pca: TrajectoryPca, labelled: number, points: number): string {
  const moves = pca.probes.map((p) => {
    const t = pca.trajectories[p];
    const a = t[0], b = t[t.length - 1];
    return { p, d: Math.hypot(b[0] - a[0], b[1] - a[1]) };
  }).sort((a, b) => b.d - a.d);
  const s = pca.steps;
  return `From step ${s[0]} to ${s[s.length - 1]}, ${moves[0].p} moves farthest on (PC1, PC2) (${
    f3(moves[0].d)
  }) and ${moves[moves.length - 1].p} least (${f3(moves[moves.length - 1].d)}); ${labelled} of ${points} ` +
    `points carry a step label.`;
}

/** Fig. 15: the largest change of a component's score over training, by dataset. */
export function timeSeriesSummary(pca: TrajectoryPca): string {
  let best = { p: pca.probes[0], c: 0, from: 0, to: 0 };
  for (const p of pca.probes) {
    const t = pca.trajectories[p];
    for (let c = 0; c < pca.k; c++) {
      const from = t[0][c], to = t[t.length - 1][c];
      if (Math.abs(to - from) > Math.abs(best.to - best.from)) best = { p, c, from, to };
    }
  }
  const s = pca.steps;
  return `The largest change is PC${best.c + 1} of ${best.p}: from ${f3(best.from)} at step ${s[0]} to ` +
    `${f3(best.to)} at step ${s[s.length - 1]}.`;
}
