import assert from "node:assert/strict";
import { datasetContributions, PcaError, standardizedPca, trajectoryPca } from "../lib/analysis/pca.ts";
import { buildTrajectoryMatrix, TrajectoryMatrixError } from "../lib/analysis/trajectory_matrix.ts";
import { rowsToColumns } from "../lib/tables/arrow_table.ts";
import {
  SUSCEPTIBILITY_TABLE,
  type SusceptibilityColumns,
  type SusceptibilityRow,
} from "../lib/tables/schema.ts";
import { normal, rng } from "./support/random.ts";

/** Cyclic Jacobi eigen-decomposition of a small symmetric matrix: the independent reference. */
function jacobiEigen(S: number[][]): { values: number[]; vectors: number[][] } {
  const n = S.length;
  const A = S.map((r) => [...r]);
  const V: number[][] = Array.from(
    { length: n },
    (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p][q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(A[p][q]) < 1e-300) continue;
        const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k][p];
          const akq = A[k][q];
          A[k][p] = c * akp - s * akq;
          A[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p][k];
          const aqk = A[q][k];
          A[p][k] = c * apk - s * aqk;
          A[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k][p];
          const vkq = V[k][q];
          V[k][p] = c * vkp - s * vkq;
          V[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = A.map((r, i) => [r[i], i]).sort((a, b) => b[0] - a[0]);
  return { values: order.map(([v]) => v), vectors: order.map(([, i]) => V.map((r) => r[i])) };
}

/** Column-standardized copy of X (n−1). */
function standardize(X: number[][]): number[][] {
  const n = X.length;
  const p = X[0].length;
  const out = X.map((r) => [...r]);
  for (let j = 0; j < p; j++) {
    const mean = X.reduce((a, r) => a + r[j], 0) / n;
    const std = Math.sqrt(X.reduce((a, r) => a + (r[j] - mean) ** 2, 0) / (n - 1));
    for (let i = 0; i < n; i++) out[i][j] = (X[i][j] - mean) / std;
  }
  return out;
}

function randomMatrix(rows: number, cols: number, seed: number): number[][] {
  const z = normal(rng(seed));
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => z()));
}

function matmul(A: number[][], B: number[][]): number[][] {
  return A.map((r) => B[0].map((_, j) => r.reduce((a, v, k) => a + v * B[k][j], 0)));
}

const labels = (p: number) => Array.from({ length: p }, (_, j) => `0:${j}`);

Deno.test("standardizedPca: planted rank-2 data — two components explain ~100%, loadings span B's row space", () => {
  const A = randomMatrix(40, 2, 1);
  const B = randomMatrix(2, 6, 2);
  const noise = randomMatrix(40, 6, 3);
  const X = matmul(A, B).map((r, i) => r.map((v, j) => v + 1e-7 * noise[i][j]));
  const res = standardizedPca(X, labels(6), 3);
  assert.equal(res.k, 3);
  assert.ok(res.explainedVariance[0] + res.explainedVariance[1] > 1 - 1e-9, `${res.explainedVariance}`);
  assert.ok(Math.abs(res.explainedVariance.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  // X_std = (A − Ā)·B·D⁻¹: each row of B·D⁻¹ lies in the span of the first two (orthonormal) loadings.
  const BD = B.map((r) => r.map((v, j) => v / res.std[j]));
  for (const b of BD) {
    const coeffs = [0, 1].map((c) => res.loadings[c].reduce((a, v, j) => a + v * b[j], 0));
    const resid = b.map((v, j) => v - coeffs[0] * res.loadings[0][j] - coeffs[1] * res.loadings[1][j]);
    const rel = Math.hypot(...resid) / Math.hypot(...b);
    assert.ok(rel < 1e-6, `residual ${rel}`);
  }
  // Rank-2 reconstruction of X_std from UΣ and Vᵀ.
  const Xs = standardize(X);
  let err = 0;
  let tot = 0;
  Xs.forEach((r, i) =>
    r.forEach((v, j) => {
      const rec = res.scores[i][0] * res.loadings[0][j] + res.scores[i][1] * res.loadings[1][j];
      err += (v - rec) ** 2;
      tot += v * v;
    })
  );
  assert.ok(Math.sqrt(err / tot) < 1e-6, `relative reconstruction error ${Math.sqrt(err / tot)}`);
});

Deno.test("standardizedPca: matches an independent Jacobi eigen-decomposition of the correlation matrix", () => {
  const X = randomMatrix(25, 5, 11).map((r, i) => r.map((v, j) => v * (j + 1) + i * 0.1 * (j % 2)));
  const res = standardizedPca(X, labels(5), 5);
  const Xs = standardize(X);
  const n = X.length;
  const C = Xs[0].map((_, a) => Xs[0].map((_, b) => Xs.reduce((s, r) => s + r[a] * r[b], 0) / (n - 1)));
  const ref = jacobiEigen(C);
  const totalRef = ref.values.reduce((a, b) => a + b, 0);
  for (let c = 0; c < 5; c++) {
    assert.ok(Math.abs(res.singularValues[c] ** 2 / (n - 1) - ref.values[c]) < 1e-10);
    assert.ok(Math.abs(res.explainedVariance[c] - ref.values[c] / totalRef) < 1e-12);
    const v = ref.vectors[c];
    let arg = 0;
    v.forEach((x, j) => {
      if (Math.abs(x) > Math.abs(v[arg])) arg = j;
    });
    const sign = v[arg] < 0 ? -1 : 1;
    v.forEach((x, j) =>
      assert.ok(Math.abs(sign * x - res.loadings[c][j]) < 1e-9, `component ${c}, column ${j}`)
    );
    // UΣ = X_std·V.
    Xs.forEach((r, i) => {
      const s = r.reduce((a, x, j) => a + x * res.loadings[c][j], 0);
      assert.ok(Math.abs(s - res.scores[i][c]) < 1e-9);
    });
  }
});

Deno.test("standardizedPca: each component's largest-magnitude loading is positive", () => {
  for (const seed of [21, 22, 23, 24]) {
    const res = standardizedPca(randomMatrix(12, 4, seed), labels(4), 4);
    for (const row of res.loadings) {
      const big = row.reduce((a, v) => (Math.abs(v) > Math.abs(a) ? v : a), 0);
      assert.ok(big > 0);
    }
  }
});

Deno.test("standardizedPca: a constant column is dropped and named in the warnings", () => {
  const X = randomMatrix(10, 3, 5).map((r) => [r[0], 0.25, r[1], r[2]]);
  const res = standardizedPca(X, ["0:0", "0:1", "0:2", "0:3"], 2);
  assert.deepEqual(res.columns, ["0:0", "0:2", "0:3"]);
  assert.deepEqual(res.dropped, ["0:1"]);
  assert.match(res.warnings[0], /0:1 is constant/);
  assert.equal(res.loadings[0].length, 3);
});

Deno.test("standardizedPca: too few rows, ragged rows and non-finite values are PcaErrors", () => {
  assert.throws(() => standardizedPca([[1, 2]], ["a", "b"], 1), PcaError);
  assert.throws(() => standardizedPca([[1, 2], [3]], ["a", "b"], 1), /row 1 has 1 values/);
  assert.throws(() => standardizedPca([[1, 2], [3, NaN]], ["a", "b"], 1), /column b: non-finite/);
  assert.throws(() => standardizedPca([[1, 1], [1, 1]], ["a", "b"], 1), /every column is constant/);
});

function susTable(
  rows: Pick<SusceptibilityRow, "step" | "probe" | "restriction" | "layer" | "head" | "chi">[],
) {
  const full = rows.map((r) => ({
    ...r,
    chi_se: 0,
    llc: 0,
    llc_se: 0,
    llc_devinterp: 0,
    llc_devinterp_se: 0,
    chi_rhat: 1,
    chi_ess: 40,
    llc_rhat: 1,
    llc_ess: 40,
    delta_h: 0.1,
    nbeta: 30,
    n_chains: 4,
    n_draws: 10,
  }));
  const c = rowsToColumns(SUSCEPTIBILITY_TABLE, full);
  return { ...c, probe: [...c.probe], restriction: [...c.restriction] } as SusceptibilityColumns;
}

Deno.test("buildTrajectoryMatrix: rows are dataset-major, columns are heads in layer order, full excluded", () => {
  const rows = [];
  for (const probe of ["b", "a"]) {
    for (const step of [200, 100]) {
      for (const [layer, head] of [[1, 0], [0, 1], [-1, -1], [0, 0]]) {
        const restriction = layer < 0 ? "full" : `${layer}:${head}`;
        rows.push({
          step,
          probe,
          restriction,
          layer,
          head,
          chi: step + 10 * layer + head + (probe === "a" ? 0.5 : 0),
        });
      }
    }
  }
  const m = buildTrajectoryMatrix(susTable(rows));
  assert.deepEqual(m.heads, ["0:0", "0:1", "1:0"]);
  assert.deepEqual(m.probes, ["b", "a"]);
  assert.deepEqual(m.steps, [100, 200]);
  assert.deepEqual(m.X, [[100, 101, 110], [200, 201, 210], [100.5, 101.5, 110.5], [200.5, 201.5, 210.5]]);
});

Deno.test("buildTrajectoryMatrix: a missing head cell names probe, step and restriction; unshared steps warn", () => {
  const rows = [
    { step: 1, probe: "a", restriction: "0:0", layer: 0, head: 0, chi: 1 },
    { step: 1, probe: "a", restriction: "0:1", layer: 0, head: 1, chi: 1 },
    { step: 1, probe: "b", restriction: "0:0", layer: 0, head: 0, chi: 1 },
  ];
  assert.throws(() => buildTrajectoryMatrix(susTable(rows)), TrajectoryMatrixError);
  assert.throws(() => buildTrajectoryMatrix(susTable(rows)), /probe b, step 1, restriction 0:1/);
  const ok = buildTrajectoryMatrix(susTable([
    ...rows,
    { step: 1, probe: "b", restriction: "0:1", layer: 0, head: 1, chi: 2 },
    { step: 2, probe: "a", restriction: "0:0", layer: 0, head: 0, chi: 1 },
    { step: 2, probe: "a", restriction: "0:1", layer: 0, head: 1, chi: 1 },
  ]));
  assert.deepEqual(ok.steps, [1]);
  assert.match(ok.warnings[0], /steps 2 are missing/);
});

Deno.test("trajectoryPca: trajectories are (γ − μ)/σ · V_k per dataset and contributions have unit columns", () => {
  const rows = [];
  const z = normal(rng(3));
  for (const probe of ["p", "q", "r"]) {
    for (const step of [1, 2, 4, 8, 16]) {
      for (let h = 0; h < 4; h++) {
        rows.push({
          step,
          probe,
          restriction: `0:${h}`,
          layer: 0,
          head: h,
          chi: Math.log(step) * (h + 1) + z(),
        });
      }
    }
  }
  const m = buildTrajectoryMatrix(susTable(rows));
  const pca = trajectoryPca(m, 2);
  assert.equal(pca.k, 2);
  m.probes.forEach((p, d) => {
    m.steps.forEach((_, t) => {
      const g = m.X[d * m.steps.length + t];
      for (let c = 0; c < 2; c++) {
        const pi = g.reduce((a, v, j) => a + ((v - pca.mean[j]) / pca.std[j]) * pca.loadings[c][j], 0);
        assert.ok(Math.abs(pi - pca.trajectories[p][t][c]) < 1e-10);
      }
    });
  });
  const contrib = datasetContributions(pca);
  for (let c = 0; c < 2; c++) assert.ok(Math.abs(Math.hypot(...contrib.map((r) => r[c])) - 1) < 1e-12);
  // Direction equals the time-mean of UΣ: check the ratio between two datasets.
  const mean = (p: string, c: number) => pca.trajectories[p].reduce((a, r) => a + r[c], 0) / 5;
  assert.ok(Math.abs(contrib[0][0] / contrib[1][0] - mean("p", 0) / mean("q", 0)) < 1e-9);
});

Deno.test("trajectoryPca on the synthetic run: the three planted head modes are recovered (span and explained variance)", async () => {
  const { DEFAULT_SHAPE, syntheticTables } = await import("../lib/analysis/synthetic_results.ts");
  const t = syntheticTables({ ...DEFAULT_SHAPE, heads: 8 }, 5);
  const sus = {
    ...t.susceptibility,
    probe: [...t.susceptibility.probe],
    restriction: [...t.susceptibility.restriction],
  } as SusceptibilityColumns;
  const pca = trajectoryPca(buildTrajectoryMatrix(sus), 3);
  const ev3 = pca.explainedVariance.slice(0, 3).reduce((a, b) => a + b, 0);
  console.log(`explained variance of 3 components: ${ev3}; spectrum ${pca.explainedVariance.slice(0, 5)}`);
  assert.ok(ev3 > 0.99, `three planted modes explain ${ev3}`);
  // Planted head loadings (synthetic_results.ts): uniform; +0:1 / −(1:0..1:5); +0:0 / −(1:6, 1:7). In the
  // standardized coordinates each becomes b_j / σ_j and must lie in the span of the three loadings, up to
  // the planted noise (N(0, 0.0004²) per entry, not small against mode 3's swing on the heads it touches).
  const planted = [
    pca.heads.map(() => 1),
    pca.heads.map((h) => (h === "0:1" ? 1 : h.startsWith("1:") && Number(h.slice(2)) < 6 ? -1 : 0)),
    pca.heads.map((h) => (h === "0:0" ? 1 : h === "1:6" || h === "1:7" ? -1 : 0)),
  ];
  for (const [m, b] of planted.entries()) {
    const v = b.map((x, j) => x / pca.std[j]);
    const coeffs = pca.loadings.map((row) => row.reduce((a, x, j) => a + x * v[j], 0));
    const resid = v.map((x, j) => x - coeffs.reduce((a, c, k) => a + c * pca.loadings[k][j], 0));
    const rel = Math.hypot(...resid) / Math.hypot(...v);
    console.log(
      `planted mode ${m + 1}: relative distance from the span of the loadings ${rel.toExponential(2)}`,
    );
    assert.ok(rel < 0.1, `planted mode ${m + 1} is ${rel} away from the loadings' span`);
  }
  // Sanity: a mode that was not planted (one layer-0 head alone) is far from the span.
  const other = pca.heads.map((h, j) => (h === "0:3" ? 1 / pca.std[j] : 0));
  const c2 = pca.loadings.map((row) => row.reduce((a, x, j) => a + x * other[j], 0));
  const r2 = Math.hypot(...other.map((x, j) => x - c2.reduce((a, c, k) => a + c * pca.loadings[k][j], 0))) /
    Math.hypot(...other);
  assert.ok(r2 > 0.5, `an unplanted direction is only ${r2} from the span`);
});
