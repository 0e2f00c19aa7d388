/**
 * Convergence diagnostics over several chains of one scalar series (a draw loss, φ·ΔL, …), as Stan and ArviZ
 * report them beside every estimate (Gelman et al., Bayesian Data Analysis 3rd ed., §11.4–11.5):
 *
 *  - split-R̂: each chain is cut into halves, giving m = 2K sequences of n = ⌊draws/2⌋ draws;
 *    W = mean within-sequence variance, B/n = variance of the sequence means,
 *    var⁺ = (n − 1)/n·W + B/n, R̂ = √(var⁺/W). Near 1 when every half samples the same law; a chain that is
 *    still drifting (its halves differ) or chains stuck in different places (their means differ) push it up.
 *    R̂ > 1.1 is the usual warning line.
 *  - ESS: effective number of independent draws over all chains, N/τ with N = K·draws and
 *    τ = 1 + 2Σ_t ρ̂_t, ρ̂_t = 1 − V_t/(2·var⁺) from the variogram V_t (mean over chains of mean (x_i − x_{i−t})²),
 *    summed over Geyer's initial positive sequence (pairs ρ̂_{2k} + ρ̂_{2k+1} while positive). For iid draws
 *    ESS ≈ N; for an AR(1) chain with coefficient ρ, ESS ≈ N(1 − ρ)/(1 + ρ). Between-chain disagreement enters
 *    through var⁺, so chains stuck apart also lower ESS.
 *
 * The standard error over chains (estimators.ts) needs neither: it is honest whenever the chains are
 * independent. These say whether the draws inside each chain describe the same stationary law — if not, the
 * per-chain means are not estimates of the same number and the error bar means little.
 */
import type { ChainDraws } from "./estimators.ts";

/** Split-R̂ and ESS of one series over several chains. */
export interface ChainDiagnostics {
  rhat: number;
  ess: number;
  chains: number;
  draws: number;
}

/** The usual warning line: split-R̂ above this means the chains have not mixed. */
export const RHAT_WARN = 1.1;

function sequences(d: ChainDraws): Float64Array[] {
  const out: Float64Array[] = [];
  const n = Math.floor(d.draws / 2);
  for (let k = 0; k < d.chains; k++) {
    const row = Float64Array.from({ length: d.draws }, (_, t) => d.values[k * d.draws + t]);
    // The first half and the last n draws (with an odd count the middle draw is dropped).
    out.push(row.subarray(0, n), row.subarray(d.draws - n));
  }
  return out;
}

function meanOf(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** W (mean within-sequence variance) and var⁺ of sequences of equal length n ≥ 2. */
function variances(seqs: readonly ArrayLike<number>[]): { W: number; varPlus: number } {
  const m = seqs.length, n = seqs[0].length;
  const means = seqs.map(meanOf);
  const grand = meanOf(means);
  let W = 0;
  seqs.forEach((x, j) => {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (x[i] - means[j]) ** 2;
    W += ss / (n - 1);
  });
  W /= m;
  let Bn = 0;
  for (const mu of means) Bn += (mu - grand) ** 2;
  Bn = m > 1 ? Bn / (m - 1) : 0;
  return { W, varPlus: (n - 1) / n * W + Bn };
}

/** Split-R̂ of chains [K, draws] (draws ≥ 4). NaN when every draw is the same number. */
export function splitRhat(d: ChainDraws): number {
  if (d.draws < 4) throw new RangeError(`splitRhat: needs at least 4 draws per chain, got ${d.draws}`);
  const { W, varPlus } = variances(sequences(d));
  if (W === 0) return varPlus === 0 ? NaN : Infinity;
  return Math.sqrt(varPlus / W);
}

/** Effective sample size over all chains [K, draws] (draws ≥ 4), see the module comment. */
export function effectiveSampleSize(d: ChainDraws): number {
  const { chains: K, draws: n } = d;
  if (n < 4) throw new RangeError(`effectiveSampleSize: needs at least 4 draws per chain, got ${n}`);
  const rows = Array.from({ length: K }, (_, k) => Array.from({ length: n }, (_, t) => d.values[k * n + t]));
  const { varPlus } = variances(rows);
  const N = K * n;
  if (!(varPlus > 0)) return NaN;
  const rho = (t: number): number => {
    let v = 0;
    for (const x of rows) {
      let s = 0;
      for (let i = t; i < n; i++) s += (x[i] - x[i - t]) ** 2;
      v += s / (n - t);
    }
    return 1 - v / K / (2 * varPlus);
  };
  // Geyer's initial positive sequence over pairs (ρ̂_0 + ρ̂_1), (ρ̂_2 + ρ̂_3), … with ρ̂_0 = 1.
  let sum = 0;
  for (let t = 0; t + 1 < n; t += 2) {
    const pair = (t === 0 ? 1 : rho(t)) + rho(t + 1);
    if (!(pair > 0)) break;
    sum += pair;
  }
  // τ = −1 + 2Σ pairs = 1 + 2Σ_{t≥1} ρ̂_t; never report more than N log-ish anticorrelated draws.
  const tau = Math.max(-1 + 2 * sum, 1 / Math.log10(Math.max(N, 10)));
  return N / tau;
}

/** Split-R̂ and ESS of one series. */
export function chainDiagnostics(d: ChainDraws): ChainDiagnostics {
  return { rhat: splitRhat(d), ess: effectiveSampleSize(d), chains: d.chains, draws: d.draws };
}

/** The per-draw series nβ-free for the LLC: L_t(w_t) − c_t, with c the per-draw centre (or one L0). */
export function centred(d: ChainDraws, centre: number | ArrayLike<number>): ChainDraws {
  const out = new Float64Array(d.chains * d.draws);
  for (let k = 0; k < d.chains; k++) {
    for (let t = 0; t < d.draws; t++) {
      const c = typeof centre === "number" ? centre : centre[t];
      out[k * d.draws + t] = d.values[k * d.draws + t] - c;
    }
  }
  return { values: out, chains: d.chains, draws: d.draws };
}

/**
 * Standard error of the grand mean of chains [K, draws] from the chain-averaged series a_t = mean_k x_{k,t}
 * over time: √(Var(a)/ESS(a)). Unlike the spread over chains it sees noise that all chains share at a draw —
 * chains that see the same minibatch sequence share its gradient noise, which moves every chain's weights alike
 * (the part of w_t − w* driven by −(ε/2)nβ∇(L_s − L_n), s < t) — because that noise still varies over t.
 * NaN under 4 draws.
 */
export function timeSeriesSe(d: ChainDraws): number {
  const { chains: K, draws: n } = d;
  if (n < 4) return NaN;
  const a = new Float64Array(n);
  for (let k = 0; k < K; k++) for (let t = 0; t < n; t++) a[t] += d.values[k * n + t] / K;
  const m = meanOf(a);
  let ss = 0;
  for (let t = 0; t < n; t++) ss += (a[t] - m) ** 2;
  const ess = effectiveSampleSize({ values: a, chains: 1, draws: n });
  return ss === 0 ? 0 : Math.sqrt(ss / (n - 1) / ess);
}
