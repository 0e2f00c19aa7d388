/**
 * Joint trajectory PCA (section 3.3, eqs. 46-47): standardize each column of X (mean 0, standard deviation
 * with n−1, as the paper and ml-pca), take the SVD X_std = UΣVᵀ, and report loadings Vᵀ (how heads load on
 * each component, Fig. 6), components UΣ (Fig. 12), the spectrum (Fig. 13) and each dataset's trajectory
 * projected on the first k components (Figs. 14, 15).
 *
 * Decisions:
 * - Sign: singular vectors are defined up to sign, so each component is flipped to make its
 *   largest-magnitude loading positive (deterministic across runs and libraries).
 * - Explained variance ratios are σ_i² / Σ_j σ_j² over the full spectrum (a full SVD, not NIPALS, whose
 *   ratios are normalized over the computed components only).
 * - A constant column (standard deviation 0, e.g. a head whose χ never changes) cannot be standardized: it is
 *   dropped, and the result names it in `dropped` and `warnings`.
 * - Trajectory projection: the paper writes π_d(t) = (γ_d(t) − μ)·V_k; since V comes from the standardized
 *   matrix we also divide by the column standard deviations, so π_d(t) are exactly the rows of UΣ.
 */

import { ChiInputError } from "../util/errors.ts";
import { PCA } from "ml-pca";
import type { TrajectoryMatrix } from "./trajectory_matrix.ts";

/** Bad PCA input; says what was expected. */
export class PcaError extends ChiInputError {
  constructor(message: string) {
    super(message);
    this.name = "PcaError";
  }
}

/** PCA of a labelled matrix (columns may have been dropped; see `dropped`). */
export interface PcaResult {
  /** Labels of the columns used (constant columns removed). */
  columns: string[];
  /** Labels of dropped constant columns. */
  dropped: string[];
  warnings: string[];
  /** Column means and standard deviations (n−1) of the used columns. */
  mean: number[];
  std: number[];
  /** Number of components kept (k). */
  k: number;
  /** Vᵀ restricted to k rows: loadings[c][j] = loading of component c on column j. */
  loadings: number[][];
  /** UΣ restricted to k columns: scores[row][c]. */
  scores: number[][];
  /** All singular values of X_std, descending. */
  singularValues: number[];
  /** σ_i² / Σσ², all components, descending. */
  explainedVariance: number[];
}

/** Trajectory PCA: PcaResult with the row structure (probe-major × steps) of X. */
export interface TrajectoryPca extends PcaResult {
  heads: string[];
  probes: string[];
  steps: number[];
  /** trajectories[probe][stepIndex][c]: π_d(t), the probe's rows of UΣ. */
  trajectories: Record<string, number[][]>;
}

function columnStats(X: readonly (readonly number[])[], j: number): { mean: number; std: number } {
  const n = X.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += X[i][j];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (X[i][j] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

/**
 * Standardized PCA of X (rows × columns) keeping k components (capped at the rank bound
 * min(rows − 1, columns)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { standardizedPca } from "chi";
 *
 * // 4 observations of 3 columns; column c is constant and dropped, a and b move together.
 * const X = [[1, 2, 5], [2, 4, 5], [3, 6.5, 5], [4, 8, 5]];
 * const pca = standardizedPca(X, ["a", "b", "c"], 2);
 * assert.deepEqual(pca.dropped, ["c"]);
 * assert.ok(pca.explainedVariance[0] > 0.99); // one direction explains almost everything
 * ```
 */
export function standardizedPca(
  X: readonly (readonly number[])[],
  labels: readonly string[],
  k: number,
): PcaResult {
  const n = X.length;
  if (n < 2) throw new PcaError(`PCA needs at least 2 rows, got ${n}`);
  const p = labels.length;
  for (let i = 0; i < n; i++) {
    if (X[i].length !== p) {
      throw new PcaError(`row ${i} has ${X[i].length} values, expected ${p} (one per column)`);
    }
    for (let j = 0; j < p; j++) {
      if (!Number.isFinite(X[i][j])) {
        throw new PcaError(`row ${i}, column ${labels[j]}: non-finite value ${X[i][j]}`);
      }
    }
  }
  if (!Number.isInteger(k) || k < 1) throw new PcaError(`k must be a positive integer, got ${k}`);
  const keep: number[] = [];
  const dropped: string[] = [];
  for (let j = 0; j < p; j++) {
    const { mean, std } = columnStats(X, j);
    if (std <= 1e-12 * Math.max(Math.abs(mean), Number.MIN_VALUE)) dropped.push(labels[j]);
    else keep.push(j);
  }
  if (keep.length === 0) {
    throw new PcaError(`every column is constant (${labels.join(", ")}); nothing to analyse`);
  }
  const warnings = dropped.map((d) =>
    `column ${d} is constant (standard deviation 0) and was left out of the PCA`
  );
  const Xk = X.map((row) => keep.map((j) => row[j]));
  const pca = new PCA(Xk, { method: "SVD", center: true, scale: true });
  const eig = pca.getEigenvalues(); // σ_i² / (n − 1)
  const singularValues = eig.map((e) => Math.sqrt(Math.max(e, 0) * (n - 1)));
  const total = singularValues.reduce((a, s) => a + s * s, 0);
  const explainedVariance = singularValues.map((s) => (s * s) / total);
  const kk = Math.min(k, n - 1, keep.length, singularValues.length);
  const V = pca.getLoadings().to2DArray(); // rows = components
  const scoresAll = pca.predict(Xk, { nComponents: kk }).to2DArray();
  const loadings: number[][] = [];
  const scores: number[][] = scoresAll.map(() => []);
  for (let c = 0; c < kk; c++) {
    const row = V[c];
    let arg = 0;
    for (let j = 1; j < row.length; j++) if (Math.abs(row[j]) > Math.abs(row[arg])) arg = j;
    const sign = row[arg] < 0 ? -1 : 1;
    loadings.push(row.map((v) => sign * v));
    for (let i = 0; i < n; i++) scores[i].push(sign * scoresAll[i][c]);
  }
  const stats = keep.map((j) => columnStats(X, j));
  return {
    columns: keep.map((j) => labels[j]),
    dropped,
    warnings,
    mean: stats.map((s) => s.mean),
    std: stats.map((s) => s.std),
    k: kk,
    loadings,
    scores,
    singularValues,
    explainedVariance,
  };
}

/**
 * Joint trajectory PCA of section 3.3 on a trajectory matrix, keeping k components (default 3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadResults, trajectoryPca } from "chi";
 * import { buildTrajectoryMatrix } from "chi/lib/analysis/trajectory_matrix.ts";
 * import { DEFAULT_SHAPE, syntheticTables, writeSyntheticResults } from "chi/lib/analysis/synthetic_results.ts";
 *
 * // A results folder of generated tables (what `deno task report --demo` uses), 3 checkpoints.
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticResults(dir, syntheticTables({ ...DEFAULT_SHAPE, steps: [100, 200, 400] }));
 * const m = buildTrajectoryMatrix((await loadResults(dir)).susceptibility); // rows (probe, step), columns heads
 * const pca = trajectoryPca(m, 2);
 * assert.deepEqual(Object.keys(pca.trajectories), ["github", "freelaw", "hackernews"]);
 * assert.equal(pca.trajectories.github.length, 3); // one point per checkpoint, 2 components each
 * ```
 */
export function trajectoryPca(m: TrajectoryMatrix, k = 3): TrajectoryPca {
  const res = standardizedPca(m.X, m.heads, k);
  const trajectories: Record<string, number[][]> = {};
  m.probes.forEach((p, d) => {
    trajectories[p] = res.scores.slice(d * m.steps.length, (d + 1) * m.steps.length);
  });
  return {
    ...res,
    warnings: [...m.warnings, ...res.warnings],
    heads: res.columns,
    probes: m.probes,
    steps: m.steps,
    trajectories,
  };
}

/**
 * Fig. 12: each dataset's contribution to each component — the rows of UΣ averaged over checkpoints, then
 * each component's column scaled to unit Euclidean norm across datasets ("normalized columns").
 * Returns contributions[probeIndex][component].
 */
export function datasetContributions(pca: TrajectoryPca): number[][] {
  const means = pca.probes.map((p) => {
    const traj = pca.trajectories[p];
    return Array.from({ length: pca.k }, (_, c) => traj.reduce((a, r) => a + r[c], 0) / traj.length);
  });
  for (let c = 0; c < pca.k; c++) {
    const norm = Math.sqrt(means.reduce((a, r) => a + r[c] * r[c], 0));
    if (norm > 0) { for (const r of means) r[c] /= norm; }
  }
  return means;
}
