/**
 * Estimators over SGLD draws (host side, float64): the LLC of eq. (26), the susceptibility of eq. (41) / C.1,
 * the per-token susceptibilities of C.2 from device running sums, and the consistency check of eq. (45).
 *
 * Conventions (matching devinterp): draw arrays are [chains, draws] row-major (value of chain k at draw t at
 * k·draws + t); L0 = L_n(w*); φ(w) = L_n(w) − L0 with L_n the draw's sampling-minibatch loss.
 *
 * Susceptibility (C.1), for restricted samples w_t (restriction C) and unrestricted ones w'_t:
 *   χ̂ = (1/r)Σ_t φ(w_t)·[L_n(w_t) − L^δh(w_t)] − (1/r)Σ_t φ(w_t) · (1/r)Σ_t [L_n(w'_t) − L^δh(w'_t)]
 * i.e. χ̂ = −(E_r[φ·ΔL] − E_r[φ]·E_full[ΔL]) with ΔL = L^δh − L_n: the first expectation and E_r[φ] are over the
 * restricted chain, only E_full[ΔL] over the unrestricted one (eq. 40). Chain k of the restriction is paired
 * with unrestricted chain k mod K_full, so every chain gives an independent estimate; we report their mean and
 * the standard error std/√K (the paper's "further average over multiple chains").
 *
 * Paired variant (common random numbers, opt-in via SusceptibilityInput.baseline): every chain sees the same
 * minibatch at step t, so L_t(w_t) = L_t(w*) + [L_t(w_t) − L_t(w*)] carries a data-noise term L_t(w*) − L0 that is
 * identical for every restriction; with few draws and small batches it dominates φ and makes every head's χ̂ alike
 * (the second summand of eq. 42). Given the losses of a copy that never moves (it stays at w*) on the same
 * batches, we use φ_t = L_t(w_t) − L_t(w*) and ΔL_t(w) − ΔL_t(w*) in place of φ and ΔL. The removed terms are
 * functions of the batch alone: their correlation with the weight fluctuation is zero in expectation, so they
 * add variance but no information about q′; with zero data noise (L_t ≡ L_n) the estimate equals eq. (41).
 *
 * Per-token (C.2): the same with L^δh replaced by the per-token loss ℓ_i of probe token i:
 *   χ̂_i = E_r[φ·(L_n − ℓ_i)] − E_r[φ]·E_full[L_n − ℓ_i].
 */

import { timeSeriesSe } from "./diagnostics.ts";

/** Mean, Bessel-corrected standard deviation and standard error of the mean of a sample. */
export interface Summary {
  mean: number;
  /** Bessel-corrected (n − 1) standard deviation; NaN for n < 2. */
  std: number;
  /** std / √n. */
  se: number;
  n: number;
}

/**
 * Mean ± Bessel std ± standard error of `values` (at least one value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarize } from "chi";
 *
 * const s = summarize([1, 2, 3, 4]);
 * assert.equal(s.mean, 2.5);
 * assert.ok(Math.abs(s.se - s.std / 2) < 1e-15); // se = std/√n, std Bessel-corrected
 * ```
 */
export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n < 1) throw new RangeError("summarize: needs at least one value");
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : NaN;
  return { mean, std, se: std / Math.sqrt(n), n };
}

/** Draws of several chains, [chains, draws] row-major. */
export interface ChainDraws {
  values: ArrayLike<number>;
  chains: number;
  draws: number;
}

function checkDraws(name: string, d: ChainDraws): void {
  if (!Number.isInteger(d.chains) || d.chains < 1 || !Number.isInteger(d.draws) || d.draws < 1) {
    throw new RangeError(`${name}: chains and draws must be positive integers, got ${d.chains}×${d.draws}`);
  }
  if (d.values.length !== d.chains * d.draws) {
    throw new RangeError(
      `${name}: ${d.values.length} values for ${d.chains} chains × ${d.draws} draws (expected ${
        d.chains * d.draws
      })`,
    );
  }
}

/** Rows `chains` (indices into a [C, draws] array) of `values`, as a new [chains.length, draws] ChainDraws. */
export function selectChains(
  values: ArrayLike<number>,
  draws: number,
  chains: readonly number[],
): ChainDraws {
  const out = new Float64Array(chains.length * draws);
  chains.forEach((c, k) => {
    if (!Number.isInteger(c) || c < 0 || (c + 1) * draws > values.length) {
      throw new RangeError(`selectChains: chain ${c} is outside the ${values.length / draws} chains given`);
    }
    for (let t = 0; t < draws; t++) out[k * draws + t] = values[c * draws + t];
  });
  return { values: out, chains: chains.length, draws };
}

/** Transposes a [draws, C] observable (the sampler's layout) into [C, draws] chain draws. */
export function observableByChain(values: ArrayLike<number>, draws: number, chains: number): ChainDraws {
  if (values.length !== draws * chains) {
    throw new RangeError(`observableByChain: ${values.length} values for ${draws} draws × ${chains} chains`);
  }
  const out = new Float64Array(values.length);
  for (let t = 0; t < draws; t++) {
    for (let c = 0; c < chains; c++) out[c * draws + t] = values[t * chains + c];
  }
  return { values: out, chains, draws };
}

/** The chains whose restriction index (restrictionOf[c]) is `r`. */
export function chainsOf(restrictionOf: ArrayLike<number>, r: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < restrictionOf.length; c++) if (restrictionOf[c] === r) out.push(c);
  return out;
}

export interface LlcEstimate extends Summary {
  /** λ̂ of each chain: nβ·(mean draw loss − L0), or nβ·mean_t[L_t(w_t) − L_t(w*)] with per-draw centring. */
  perChain: Float64Array;
  nbeta: number;
  /** The L0 subtracted: the given number, or the mean of the per-draw centres. */
  L0: number;
  /** Standard error from the spread over chains (std/√K). */
  seChains: number;
  /** Per-draw centring: nβ × the standard error over time of the chain-averaged series (timeSeriesSe); else NaN. */
  seTime: number;
}

/**
 * LLC (eq. 26) per chain and their mean ± Bessel std over chains. `L0` is either one number, giving
 * λ̂_k = nβ·(mean_t L_t(w_t) − L0) (the reference sampler's convention: L0 averaged over as many minibatches as
 * there are chains), or the per-draw losses at w* on each draw's own minibatch, [draws], giving
 * λ̂_k = nβ·mean_t[L_t(w_t) − L_t(w*)] ("LLC with its data noise", see below).
 *
 * Why per-draw centring: with one L0 its minibatch error (L0 − L_n) shifts every chain — and every restriction —
 * by the same nβ·(L0 − L_n), which no spread over chains can see (at batch 8 on the tiny model, 0.18 nats per
 * batch: ±2.7 LLC units at 4 chains). Centring draw t on the same batch removes L_t(w*) − L_n exactly; what
 * stays, [L_t − L_n](w_t) − [L_t − L_n](w*) ≈ ∇(L_t − L_n)(w*)·(w_t − w*), has mean zero (w_t depends only on
 * earlier batches) and differs between chains through w_t, so the spread over chains includes part of it. The
 * rest is shared: chains that see the same minibatch sequence share the weight displacement its gradient noise
 * drives, so their means move together and the spread over chains understates the error (on a Gaussian
 * posterior with batch-8 noise by 2.4×, tests/estimate_calibration_test.ts). With per-draw centres the reported
 * se is therefore max(seChains, seTime), seTime from the chain-averaged series over time, which varies with the
 * batches; the one-L0 form keeps the spread over chains (the reference sampler's error bar).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { estimateLlc } from "chi";
 *
 * // Draw losses of 2 chains × 3 draws (chain-major), L(w*) = 1, nβ = 30.
 * const llc = estimateLlc({ values: [1.1, 1.2, 1.0, 1.3, 1.2, 1.1], chains: 2, draws: 3 }, 1.0, 30);
 * assert.ok(Math.abs(llc.perChain[0] - 3) < 1e-9 && Math.abs(llc.perChain[1] - 6) < 1e-9); // nβ·(mean − L0)
 * assert.ok(Math.abs(llc.mean - 4.5) < 1e-9 && Math.abs(llc.seChains - 1.5) < 1e-9);
 * ```
 */
export function estimateLlc(losses: ChainDraws, L0: number | ArrayLike<number>, nbeta: number): LlcEstimate {
  checkDraws("estimateLlc losses", losses);
  if (!(nbeta > 0)) throw new RangeError(`estimateLlc: nbeta must be > 0, got ${nbeta}`);
  const { values, chains, draws } = losses;
  const perDraw = typeof L0 === "number" ? undefined : L0;
  let l0 = L0 as number;
  if (perDraw) {
    if (perDraw.length !== draws) {
      throw new RangeError(`estimateLlc: ${perDraw.length} per-draw centres for ${draws} draws`);
    }
    let s = 0;
    for (let t = 0; t < draws; t++) {
      if (!Number.isFinite(perDraw[t])) {
        throw new RangeError(`estimateLlc: the loss at w* of draw ${t} is ${perDraw[t]}`);
      }
      s += perDraw[t];
    }
    l0 = s / draws;
  } else if (!Number.isFinite(l0)) throw new RangeError(`estimateLlc: L0 must be finite, got ${l0}`);
  const perChain = new Float64Array(chains);
  for (let k = 0; k < chains; k++) {
    let s = 0;
    for (let t = 0; t < draws; t++) {
      const l = values[k * draws + t];
      if (!Number.isFinite(l)) throw new RangeError(`estimateLlc: chain ${k}, draw ${t}: loss is ${l}`);
      s += perDraw ? l - perDraw[t] : l;
    }
    perChain[k] = perDraw ? nbeta * (s / draws) : nbeta * (s / draws - l0);
  }
  const sum = summarize(perChain);
  if (!perDraw) return { ...sum, perChain, nbeta, L0: l0, seChains: sum.se, seTime: NaN };
  const series = new Float64Array(chains * draws);
  for (let k = 0; k < chains; k++) {
    for (let t = 0; t < draws; t++) series[k * draws + t] = values[k * draws + t] - perDraw[t];
  }
  const seTime = nbeta * timeSeriesSe({ values: series, chains, draws });
  return { ...sum, se: pairedSe(sum.se, seTime), perChain, nbeta, L0: l0, seChains: sum.se, seTime };
}

/**
 * The standard error of an estimate from chains that share their minibatch sequence: max(seChains, seTime).
 * The spread over chains misses the fluctuation the shared batches drive in every chain alike; the error over
 * time of the chain-averaged series sees it (see estimateLlc). NaN-safe: one chain (NaN spread) or under 4
 * draws (NaN over time) leaves the other; NaN when both are.
 */
export function pairedSe(seChains: number, seTime: number): number {
  const se = Math.max(...[seChains, seTime].filter((x) => !Number.isNaN(x)));
  return Number.isFinite(se) ? se : NaN;
}

export interface SusceptibilityInput {
  /** L_n at the restricted draws w_t, [K, r]. */
  restrictedLoss: ChainDraws;
  /** L^δh at the same restricted draws, [K, r]. */
  restrictedLossDh: ChainDraws;
  /** L_n at the unrestricted draws w'_t, [K', r']. */
  fullLoss: ChainDraws;
  /** L^δh at the same unrestricted draws, [K', r']. */
  fullLossDh: ChainDraws;
  /** L_n(w*). */
  L0: number;
  /**
   * Paired mode: the per-draw losses at w* on each draw's own batch, [r] each (from a copy that never moves).
   * φ_t becomes L_t(w_t) − loss[t] and ΔL_t becomes ΔL_t(w_t) − (lossDh[t] − loss[t]); L0 is then unused.
   */
  baseline?: { loss: ArrayLike<number>; lossDh: ArrayLike<number> };
}

export interface SusceptibilityEstimate extends Summary {
  /** χ̂ of restricted chain k paired with unrestricted chain k mod K'. */
  perChain: Float64Array;
  /** The terms of the estimate, averaged over chains: E_r[φ·ΔL], E_r[φ], E_full[ΔL]. */
  meanPhiDeltaL: number;
  meanPhi: number;
  meanDeltaLFull: number;
  /**
   * Each draw's term of its chain's χ̂, −φ_t·(ΔL_t − E_full[ΔL]), [K, r]: chain k's χ̂ is its mean over t
   * (the series whose split-R̂ and ESS the tables report, lib/estimate/diagnostics.ts).
   */
  terms: ChainDraws;
  /** Standard error from the spread over chains (std/√K). */
  seChains: number;
  /**
   * Paired: the standard error over time (timeSeriesSe) of the chain-averaged terms, with the delta-method
   * part for the error of E_full[ΔL] (see estimateSusceptibility); else NaN.
   */
  seTime: number;
  /**
   * Paired runs only: the series behind seTime, [K, r]: each draw's term plus E_r[φ]·(ΔL_full,t − E_full[ΔL]).
   * Chain k's mean over t is perChain[k]. Two restrictions' series, chain by chain, give the standard error of
   * their difference (lib/estimate/difference.ts), in which the batch noise they share cancels.
   */
  influence?: ChainDraws;
}

function sameShape(a: ChainDraws, b: ChainDraws, what: string): void {
  if (a.chains !== b.chains || a.draws !== b.draws) {
    throw new RangeError(`${what}: shapes ${a.chains}×${a.draws} and ${b.chains}×${b.draws} differ`);
  }
}

/**
 * Susceptibility χ̂ of eq. (41) / C.1 with its standard error over chains (see the module comment).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { estimateSusceptibility } from "chi";
 *
 * // 2 restricted and 2 unrestricted chains of 3 draws. A probe loss that is the base loss plus a constant
 * // (L^δh = L + 0.5 at every draw) does not co-vary with anything: its susceptibility is 0.
 * const loss = { values: [1.1, 1.2, 1.0, 1.3, 1.2, 1.1], chains: 2, draws: 3 };
 * const shifted = { ...loss, values: loss.values.map((x) => x + 0.5) };
 * const chi = estimateSusceptibility({
 *   restrictedLoss: loss,
 *   restrictedLossDh: shifted,
 *   fullLoss: loss,
 *   fullLossDh: shifted,
 *   L0: 1.0,
 * });
 * assert.ok(Math.abs(chi.mean) < 1e-12);
 * assert.equal(chi.perChain.length, 2);
 * ```
 */
export function estimateSusceptibility(input: SusceptibilityInput): SusceptibilityEstimate {
  const { restrictedLoss: rl, restrictedLossDh: rd, fullLoss: fl, fullLossDh: fd, L0 } = input;
  for (
    const [n, d] of [["restrictedLoss", rl], ["restrictedLossDh", rd], ["fullLoss", fl], ["fullLossDh", fd]]
  ) {
    checkDraws(`estimateSusceptibility ${n}`, d as ChainDraws);
  }
  sameShape(rl, rd, "estimateSusceptibility restrictedLoss/restrictedLossDh");
  sameShape(fl, fd, "estimateSusceptibility fullLoss/fullLossDh");
  if (!Number.isFinite(L0)) throw new RangeError(`estimateSusceptibility: L0 must be finite, got ${L0}`);
  const K = rl.chains, r = rl.draws, Kf = fl.chains, rf = fl.draws;
  const base = input.baseline;
  if (base) {
    if (rf !== r || base.loss.length !== r || base.lossDh.length !== r) {
      throw new RangeError(
        `estimateSusceptibility baseline: needs ${r} draws everywhere, got restricted ${r}, full ${rf}, ` +
          `baseline loss ${base.loss.length}, lossDh ${base.lossDh.length}`,
      );
    }
  }
  // Per-draw centring: L0 and 0 (eq. 41), or the still copy's L_t(w*) and ΔL_t(w*) (paired).
  const phi0 = (t: number) => (base ? base.loss[t] : L0);
  const dl0 = (t: number) => (base ? base.lossDh[t] - base.loss[t] : 0);
  const deltaFull = new Float64Array(Kf);
  for (let k = 0; k < Kf; k++) {
    let s = 0;
    for (let t = 0; t < rf; t++) s += fd.values[k * rf + t] - fl.values[k * rf + t] - dl0(t);
    deltaFull[k] = s / rf;
  }
  const perChain = new Float64Array(K);
  const terms = new Float64Array(K * r);
  // The series whose time-series SE is χ̂'s (delta method): each draw's term, plus E_r[φ]·(ΔL_full,t − E_full[ΔL])
  // for the error of E_full[ΔL], which the full chains estimate on the same batches and which moves every
  // restricted chain's χ̂ by −E_r[φ] times it. The added part has mean 0 over a chain: χ̂ is unchanged.
  const influence = new Float64Array(K * r);
  let sumPD = 0, sumP = 0, sumDF = 0;
  for (let k = 0; k < K; k++) {
    let sPD = 0, sP = 0;
    const f = k % Kf, eDF = deltaFull[f];
    for (let t = 0; t < r; t++) {
      const L = rl.values[k * r + t];
      const phi = L - phi0(t);
      const dl = rd.values[k * r + t] - L - dl0(t);
      sPD += phi * dl;
      sP += phi;
      terms[k * r + t] = -phi * (dl - eDF);
    }
    const ePD = sPD / r, eP = sP / r;
    // (Paired runs only, where the full chains have the same draws.)
    for (let t = 0; base && t < r; t++) {
      const dlFull = fd.values[f * rf + t] - fl.values[f * rf + t] - dl0(t);
      influence[k * r + t] = terms[k * r + t] + eP * (dlFull - eDF);
    }
    perChain[k] = -(ePD - eP * eDF);
    sumPD += ePD;
    sumP += eP;
    sumDF += eDF;
  }
  const sum = summarize(perChain);
  const termDraws = { values: terms, chains: K, draws: r };
  // Paired: se = max(seChains, seTime), as for the per-draw-centred LLC (estimateLlc): the chains share the
  // batch sequence and with it part of their fluctuation. Unpaired: the spread over chains, as before.
  const influenceDraws = { values: influence, chains: K, draws: r };
  const seTime = base ? timeSeriesSe(influenceDraws) : NaN;
  return {
    ...sum,
    se: base ? pairedSe(sum.se, seTime) : sum.se,
    seChains: sum.se,
    seTime,
    perChain,
    meanPhiDeltaL: sumPD / K,
    meanPhi: sumP / K,
    meanDeltaLFull: sumDF / K,
    terms: termDraws,
    ...(base ? { influence: influenceDraws } : {}),
  };
}

/**
 * Device running sums of the per-token estimator for C chains × N tokens over `draws` draws (from
 * lib/estimate/accumulate.ts): with P the chain's sampling-minibatch loss at a draw, φ = P − L0, ℓ_n the
 * per-token loss and d = P − ℓ_n,
 *   sPhiD[c·N + n] = Σ_t φ·d,  sD[c·N + n] = Σ_t d,  sPhi[c] = Σ_t φ.
 */
export interface PerTokenSums {
  chains: number;
  tokens: number;
  draws: number;
  sPhiD: Float64Array;
  sD: Float64Array;
  sPhi: Float64Array;
}

export interface PerTokenEstimate {
  /** χ̂_n averaged over the restricted chains, [N]. */
  chi: Float64Array;
  /** Standard error over chains, [N] (NaN with one restricted chain). */
  se: Float64Array;
  /** Per restricted chain, [K, N]. */
  perChain: Float64Array;
  tokens: number;
}

/**
 * Per-token susceptibilities (C.2) of the restriction whose chains are `restricted`, against the unrestricted
 * chains `full` (restricted chain k paired with full[k mod |full|]):
 *   χ̂_n = sPhiD[k, n]/r − (sPhi[k]/r)·(sD[f, n]/r).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { perTokenChi } from "chi";
 *
 * // Chain 0 restricted, chain 1 unrestricted; 2 tokens; the device's running sums over 2 draws.
 * const sums = {
 *   chains: 2,
 *   tokens: 2,
 *   draws: 2,
 *   sPhiD: new Float64Array([0.2, 0.4, 0, 0]),
 *   sD: new Float64Array([0, 0, 1, 2]),
 *   sPhi: new Float64Array([0.2, 0]),
 * };
 * const { chi } = perTokenChi(sums, [0], [1]);
 * // χ̂_n = sPhiD[0, n]/r − (sPhi[0]/r)·(sD[1, n]/r)
 * assert.ok(Math.abs(chi[0] - 0.05) < 1e-12 && Math.abs(chi[1] - 0.1) < 1e-12);
 * ```
 */
export function perTokenChi(
  sums: PerTokenSums,
  restricted: readonly number[],
  full: readonly number[],
): PerTokenEstimate {
  const { chains: C, tokens: N, draws: r } = sums;
  if (!(r > 0)) throw new RangeError(`perTokenChi: no draws were accumulated (draws = ${r})`);
  if (sums.sPhiD.length !== C * N || sums.sD.length !== C * N || sums.sPhi.length !== C) {
    throw new RangeError(`perTokenChi: sums do not have the shapes [${C}, ${N}], [${C}, ${N}], [${C}]`);
  }
  if (restricted.length === 0 || full.length === 0) {
    throw new RangeError("perTokenChi: needs at least one restricted and one unrestricted chain");
  }
  for (const c of [...restricted, ...full]) {
    if (!Number.isInteger(c) || c < 0 || c >= C) {
      throw new RangeError(`perTokenChi: chain ${c} not in [0, ${C})`);
    }
  }
  const K = restricted.length;
  const perChain = new Float64Array(K * N);
  restricted.forEach((c, k) => {
    const f = full[k % full.length];
    const eP = sums.sPhi[c] / r;
    for (let n = 0; n < N; n++) {
      perChain[k * N + n] = sums.sPhiD[c * N + n] / r - eP * (sums.sD[f * N + n] / r);
    }
  });
  const chi = new Float64Array(N), se = new Float64Array(N);
  const col = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) col[k] = perChain[k * N + n];
    const s = summarize(col);
    chi[n] = s.mean;
    se[n] = s.se;
  }
  return { chi, se, perChain, tokens: N };
}

/** Host reference of the device sums from per-draw arrays: P [C, r] and ℓ [r, C, N]. For tests and small runs. */
export function perTokenSumsReference(
  P: ArrayLike<number>,
  ell: ArrayLike<number>,
  chains: number,
  draws: number,
  tokens: number,
  L0: number,
): PerTokenSums {
  if (P.length !== chains * draws || ell.length !== draws * chains * tokens) {
    throw new RangeError(
      `perTokenSumsReference: P needs ${chains * draws} and ell ${draws * chains * tokens} values`,
    );
  }
  const sPhiD = new Float64Array(chains * tokens), sD = new Float64Array(chains * tokens);
  const sPhi = new Float64Array(chains);
  for (let t = 0; t < draws; t++) {
    for (let c = 0; c < chains; c++) {
      const p = P[c * draws + t], phi = p - L0;
      sPhi[c] += phi;
      for (let n = 0; n < tokens; n++) {
        const d = p - ell[(t * chains + c) * tokens + n];
        sPhiD[c * tokens + n] += phi * d;
        sD[c * tokens + n] += d;
      }
    }
  }
  return { chains, tokens, draws, sPhiD, sD, sPhi };
}

/** Σ_t φ per chain from draw losses [C, r]: the host half of PerTokenSums. */
export function phiSums(losses: ChainDraws, L0: number): Float64Array {
  checkDraws("phiSums losses", losses);
  const out = new Float64Array(losses.chains);
  for (let c = 0; c < losses.chains; c++) {
    let s = 0;
    for (let t = 0; t < losses.draws; t++) s += losses.values[c * losses.draws + t] - L0;
    out[c] = s;
  }
  return out;
}

export interface ConsistencyCheck {
  /** δh · mean_n χ̂_n: eq. (45)'s prediction of χ̂. */
  predicted: number;
  /** The overall χ̂ it is compared with. */
  chiHat: number;
  /** predicted / chiHat. */
  ratio: number;
  /** predicted − chiHat. */
  difference: number;
  deltaH: number;
  tokens: number;
}

/**
 * Eq. (45): χ̂ ≈ δh · (1/m) Σ_i χ̂_i, averaging the per-token susceptibilities of the probe tokens that a mixed
 * batch would draw. Exact when L^δh = (1 − δh)L_n + δh·mean_i ℓ_i on the same draws; otherwise an approximation
 * (the paper's Figure 9 finds slope 16 where 10 = 1/δh is predicted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { consistencyCheck } from "chi";
 *
 * // Eq. (45): δh times the mean per-token χ̂ of the probe tokens predicts the overall χ̂.
 * const check = consistencyCheck([0.5, 1.5], 0.1, 0.1);
 * assert.ok(Math.abs(check.predicted - 0.1) < 1e-12);
 * assert.ok(Math.abs(check.ratio - 1) < 1e-12);
 * ```
 */
export function consistencyCheck(
  perToken: ArrayLike<number>,
  deltaH: number,
  chiHat: number,
): ConsistencyCheck {
  if (perToken.length === 0) throw new RangeError("consistencyCheck: no per-token susceptibilities");
  if (!(deltaH > 0 && deltaH <= 1)) {
    throw new RangeError(`consistencyCheck: deltaH must be in (0, 1], got ${deltaH}`);
  }
  let s = 0;
  for (let i = 0; i < perToken.length; i++) s += perToken[i];
  const predicted = deltaH * s / perToken.length;
  return {
    predicted,
    chiHat,
    ratio: predicted / chiHat,
    difference: predicted - chiHat,
    deltaH,
    tokens: perToken.length,
  };
}
