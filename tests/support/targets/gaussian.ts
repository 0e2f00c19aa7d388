/**
 * Closed forms for SGLD on a quadratic loss (quadratic.ts), where the localized posterior
 * is Gaussian and the sampler's own stationary law is known exactly.
 *
 * Let L(w) = ½wᵀAw − bᵀw + c with minimum w* = A⁻¹b, and a restriction S (the coordinates that move; the others
 * stay at w*). With u = w − w*, the SGLD step (λ = 0, G = 1) is the linear recursion
 *   u ← (I − (ε/2)P)u + √ε ξ,   P = nβ·A_SS + γI,
 * whose stationary law is N(0, Σ_ε) with Σ_ε = (P − εP²/4)⁻¹ (solve Σ = BΣB + εI with B = I − εP/2, B
 * symmetric and commuting with P). As ε → 0 this is the posterior (27), Σ = P⁻¹.
 *
 * For u ~ N(0, Σ) supported on S, φ = L − L(w*) = ½uᵀAu, and another quadratic D (L^δh, or a per-token loss)
 * with Δ = D − L = Δ(w*) + gᵀu + ½uᵀBu (B = A_D − A):
 *   E[φ] = ½tr(AΣ),  E[Δ] = Δ(w*) + ½tr(BΣ),  Cov[φ, Δ] = ½tr(AΣBΣ)  (odd Gaussian moments vanish).
 * Hence the estimand of eq. (41), with restricted law Σ_r and unrestricted Σ_f:
 *   χ = −(E_r[φΔ] − E_r[φ]E_f[Δ]) = −(½tr(AΣ_rBΣ_r) + ½tr(AΣ_r)·(½tr(BΣ_r) − ½tr(BΣ_f))),
 * and the LLC (eq. 26) nβ·E_f[φ] = (nβ/2)·tr(AΣ_f), which is d/2 for γ = 0 and ε → 0.
 */
import type { QuadraticForms } from "./quadratic.ts";

/** Inverse of a d×d row-major matrix by Gauss-Jordan with partial pivoting (float64). */
export function invert(m: ArrayLike<number>, d: number): Float64Array {
  const a = Float64Array.from(m);
  if (a.length !== d * d) throw new RangeError(`invert: ${a.length} values for a ${d}×${d} matrix`);
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) inv[i * d + i] = 1;
  for (let col = 0; col < d; col++) {
    let piv = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(a[r * d + col]) > Math.abs(a[piv * d + col])) piv = r;
    const p = a[piv * d + col];
    if (Math.abs(p) < 1e-300) throw new RangeError("invert: matrix is singular");
    if (piv !== col) {
      for (let j = 0; j < d; j++) {
        [a[col * d + j], a[piv * d + j]] = [a[piv * d + j], a[col * d + j]];
        [inv[col * d + j], inv[piv * d + j]] = [inv[piv * d + j], inv[col * d + j]];
      }
    }
    for (let j = 0; j < d; j++) {
      a[col * d + j] /= p;
      inv[col * d + j] /= p;
    }
    for (let r = 0; r < d; r++) {
      if (r === col) continue;
      const f = a[r * d + col];
      if (f === 0) continue;
      for (let j = 0; j < d; j++) {
        a[r * d + j] -= f * a[col * d + j];
        inv[r * d + j] -= f * inv[col * d + j];
      }
    }
  }
  return inv;
}

function matmul(x: Float64Array, y: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const xik = x[i * d + k];
      if (xik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += xik * y[k * d + j];
    }
  }
  return out;
}

function trace(x: Float64Array, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += x[i * d + i];
  return s;
}

/** A_f of a form set as a d×d matrix. */
export function formMatrix(q: QuadraticForms, f: number): Float64Array {
  return q.A.slice(f * q.d * q.d, (f + 1) * q.d * q.d);
}

/** The minimizer w* = A_f⁻¹ b_f of form f. */
export function formMinimizer(q: QuadraticForms, f: number): Float64Array {
  const d = q.d, inv = invert(formMatrix(q, f), d), w = new Float64Array(d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) w[i] += inv[i * d + j] * q.b[f * d + j];
  return w;
}

export interface SgldLaw {
  nbeta: number;
  gamma: number;
  /** Step size; 0 gives the posterior (27) itself. */
  eps: number;
}

/**
 * Σ_ε over all d coordinates (zero rows/columns outside the restriction `moves`) for SGLD on the quadratic
 * with Hessian A (d×d), see the module comment.
 */
export function stationaryCovariance(
  A: Float64Array,
  d: number,
  moves: readonly boolean[],
  law: SgldLaw,
): Float64Array {
  if (moves.length !== d) {
    throw new RangeError(`stationaryCovariance: ${moves.length} mask entries for d = ${d}`);
  }
  const idx = moves.flatMap((m, i) => (m ? [i] : []));
  const k = idx.length;
  const P = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) P[i * k + j] = law.nbeta * A[idx[i] * d + idx[j]] + (i === j ? law.gamma : 0);
  }
  const P2 = matmul(P, P, k);
  const M = P.map((p, i) => p - law.eps * P2[i] / 4);
  const S = invert(M, k);
  const out = new Float64Array(d * d);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[idx[i] * d + idx[j]] = S[i * k + j];
  return out;
}

/** (nβ/2)·tr(AΣ_f): the LLC the sampler converges to on the quadratic (d/2 for γ = 0, ε → 0). */
export function gaussianLlc(A: Float64Array, d: number, law: SgldLaw): number {
  const S = stationaryCovariance(A, d, new Array(d).fill(true), law);
  return law.nbeta / 2 * trace(matmul(A, S, d), d);
}

/**
 * The susceptibility estimand χ = −(E_r[φΔ] − E_r[φ]E_f[Δ]) for the perturbation Hessian B = A_D − A (only the
 * quadratic part of Δ matters: its constant cancels and its linear part has zero mean and no covariance with φ).
 */
export function gaussianChi(
  A: Float64Array,
  B: Float64Array,
  d: number,
  restricted: readonly boolean[],
  law: SgldLaw,
): number {
  const Sr = stationaryCovariance(A, d, restricted, law);
  const Sf = stationaryCovariance(A, d, new Array(d).fill(true), law);
  const ASr = matmul(A, Sr, d), BSr = matmul(B, Sr, d), BSf = matmul(B, Sf, d);
  const cov = 0.5 * trace(matmul(ASr, BSr, d), d);
  const ePhi = 0.5 * trace(ASr, d);
  return -(cov + ePhi * (0.5 * trace(BSr, d) - 0.5 * trace(BSf, d)));
}

/**
 * Σ over all d coordinates (zeros outside `moves`) of SGLD on a quadratic whose step-s loss is a minibatch form
 * q_{f(s)} with f(s) drawn uniformly from `forms` (independently per step), λ = 0, no preconditioning: the
 * law the sampler really has when the data noise is in the gradient. With u = w − w*, w* the minimizer of the
 * mean form, A_f its Hessian and g_f = A_f w* − b_f the batch gradient at w* (mean zero over f),
 *   u ← B_f u − (ε/2)nβ·g_f + √ε ξ,   B_f = I − (ε/2)(nβ·A_f + γI) on the moving coordinates,
 * and since u is independent of the step's batch and E[u] = 0, the stationary second moment solves
 *   S = E_f[B_f S B_f] + (ε²nβ²/4)·E_f[g_f g_fᵀ] + εI,
 * found here by fixed-point iteration. With one form this is stationaryCovariance's Σ_ε.
 */
export function minibatchCovariance(
  forms: QuadraticForms,
  moves: readonly boolean[],
  law: SgldLaw,
): Float64Array {
  const d = forms.d, F = forms.count;
  if (moves.length !== d) {
    throw new RangeError(`minibatchCovariance: ${moves.length} mask entries for d = ${d}`);
  }
  const wStar = meanFormMinimizer(forms);
  const idx = moves.flatMap((m, i) => (m ? [i] : []));
  const k = idx.length;
  const Bs: Float64Array[] = [];
  const Q = new Float64Array(k * k);
  for (let f = 0; f < F; f++) {
    const B = new Float64Array(k * k);
    const g = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      let gi = -forms.b[f * d + idx[i]];
      for (let j = 0; j < d; j++) gi += forms.A[(f * d + idx[i]) * d + j] * wStar[j];
      g[i] = gi;
      for (let j = 0; j < k; j++) {
        const p = law.nbeta * forms.A[(f * d + idx[i]) * d + idx[j]] + (i === j ? law.gamma : 0);
        B[i * k + j] = (i === j ? 1 : 0) - law.eps / 2 * p;
      }
    }
    Bs.push(B);
    const c = law.eps * law.eps * law.nbeta * law.nbeta / 4 / F;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) Q[i * k + j] += c * g[i] * g[j];
  }
  for (let i = 0; i < k; i++) Q[i * k + i] += law.eps;
  let S = Q.slice();
  for (let it = 0; it < 1_000_000; it++) {
    const next = Q.slice();
    for (const B of Bs) {
      const BSB = matmul(matmul(B, S, k), B, k); // B symmetric
      for (let i = 0; i < k * k; i++) next[i] += BSB[i] / F;
    }
    let diff = 0, size = 0;
    for (let i = 0; i < k * k; i++) {
      diff = Math.max(diff, Math.abs(next[i] - S[i]));
      size = Math.max(size, Math.abs(next[i]));
    }
    S = next;
    if (diff <= 1e-15 * size) break;
  }
  const out = new Float64Array(d * d);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[idx[i] * d + idx[j]] = S[i * k + j];
  return out;
}

/** The minimizer of the mean of all forms (the full-data optimum when the forms are equal-sized batches). */
export function meanFormMinimizer(forms: QuadraticForms): Float64Array {
  const d = forms.d, F = forms.count;
  const A = new Float64Array(d * d), b = new Float64Array(d);
  for (let f = 0; f < F; f++) {
    for (let i = 0; i < d * d; i++) A[i] += forms.A[f * d * d + i] / F;
    for (let i = 0; i < d; i++) b[i] += forms.b[f * d + i] / F;
  }
  return formMinimizer({ d, count: 1, A, b, c: new Float64Array(1) }, 0);
}

/**
 * The LLC the sampler converges to when each step's loss is a uniformly drawn minibatch form:
 * nβ·E[L_f(w) − L_f(w*)] = (nβ/2)·tr(Ā S) with Ā the mean Hessian and S = minibatchCovariance (the linear
 * term g_fᵀu has mean zero: u is independent of the step's batch and E[u] = 0).
 */
export function minibatchLlc(forms: QuadraticForms, law: SgldLaw): number {
  const d = forms.d, F = forms.count;
  const S = minibatchCovariance(forms, new Array(d).fill(true), law);
  const A = new Float64Array(d * d);
  for (let f = 0; f < F; f++) for (let i = 0; i < d * d; i++) A[i] += forms.A[f * d * d + i] / F;
  return law.nbeta / 2 * trace(matmul(A, S, d), d);
}

/**
 * Cov[ℓ_i, ℓ_j] for quadratic losses ℓ(w* + u) = ℓ(w*) + gᵀu + ½uᵀAu under u ~ N(0, Σ):
 * g_iᵀΣg_j + ½tr(A_iΣA_jΣ) (the mixed linear-quadratic moments are odd and vanish). −1 × this is the Bayesian
 * influence function BIF(i, j) (lib/estimate/influence.ts).
 */
export function gaussianLossCovariance(
  Ai: Float64Array,
  gi: ArrayLike<number>,
  Aj: Float64Array,
  gj: ArrayLike<number>,
  S: Float64Array,
  d: number,
): number {
  let lin = 0;
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) lin += gi[a] * S[a * d + b] * gj[b];
  return lin + 0.5 * trace(matmul(matmul(Ai, S, d), matmul(Aj, S, d), d), d);
}
