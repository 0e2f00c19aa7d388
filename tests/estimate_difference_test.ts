/**
 * The standard error of a difference of two restrictions' χ̂ (lib/estimate/difference.ts) on a simulated paired
 * run whose true difference is known. Restrictions a and b (K chains each, chain k of both seeing draw t's
 * minibatch) and the unrestricted chains share per-draw batch terms:
 *   φ_x[k, t] = μ_x + w,  w = u_t + σ_e·e    (u_t: AR(1) fluctuation the shared batch sequence drives)
 *   ΔL_x[k, t] = β_x·w + v_t + σ·e′          (v_t: the batch's own ΔL, removed by the pairing)
 *   ΔL_full[f, t] = c_t + v_t + σ·e″         (c_t: the batch noise of E_full[ΔL], shared by every χ̂)
 * so χ_x = −β_x·Var(w) and E[χ̂_x] = χ_x (w is independent of v and c). Over independent reruns the difference's
 * error must match its SE: RMS(error) / RMS(SE) in [0.75, 1.35], ≥ 88 % inside ±2 SE. Negative controls: the
 * two-SE formula (the shared c̄ counted twice) and an SE that ignores the E_full[ΔL] part or the shared batches
 * fail the same bounds by ≥ 1.5×.
 */
import assert from "node:assert/strict";
import {
  type ChainDraws,
  estimateSusceptibility,
  type SusceptibilityInput,
} from "../lib/estimate/estimators.ts";
import { estimateDifference } from "../lib/estimate/difference.ts";
import { PhiloxStream } from "../lib/util/philox.ts";
import { calibration, chainDraws, show } from "./support/calibration.ts";

interface PairedSetting {
  K: number;
  r: number;
  /** E[φ] of a and b: the weight of E_full[ΔL]'s error in each χ̂. */
  muA: number;
  muB: number;
  betaA: number;
  betaB: number;
  /** Scale of the shared batch term of the full chains' ΔL (c_t). */
  sigmaC: number;
  /** Innovation scale and lag-1 correlation of the shared fluctuation u_t. */
  sigmaU: number;
  rho: number;
}

/** Var(w) = Var(u) + σ_e² with σ_e = 0.5: the χ of restriction x is −β_x times it. */
const SIGMA_E = 0.5;
const varW = (s: PairedSetting) => s.sigmaU ** 2 / (1 - s.rho ** 2) + SIGMA_E ** 2;
const truth = (s: PairedSetting) => -(s.betaA - s.betaB) * varW(s);

/** One paired run: the inputs of a's and b's χ̂ (the still copy at 0, so φ and ΔL are the losses themselves). */
function simulate(s: PairedSetting, seed: number): [SusceptibilityInput, SusceptibilityInput] {
  const { K, r } = s;
  const rng = new PhiloxStream(seed, 11);
  const u = new Float64Array(r), v = new Float64Array(r), c = new Float64Array(r);
  u[0] = s.sigmaU / Math.sqrt(1 - s.rho ** 2) * rng.normal();
  for (let t = 0; t < r; t++) {
    if (t > 0) u[t] = s.rho * u[t - 1] + s.sigmaU * rng.normal();
    v[t] = rng.normal();
    c[t] = s.sigmaC * rng.normal();
  }
  const draws = (f: (k: number, t: number) => number): ChainDraws => chainDraws(K, r, f);
  const fullLoss = draws(() => 2 + 0.1 * rng.normal());
  const fullLossDh = draws((k, t) => fullLoss.values[k * r + t] + c[t] + v[t] + 0.1 * rng.normal());
  const restriction = (mu: number, beta: number): SusceptibilityInput => {
    const w = draws((_, t) => u[t] + SIGMA_E * rng.normal());
    const restrictedLoss = draws((k, t) => mu + w.values[k * r + t]);
    const restrictedLossDh = draws((k, t) =>
      restrictedLoss.values[k * r + t] + beta * w.values[k * r + t] + v[t] + 0.3 * rng.normal()
    );
    return {
      restrictedLoss,
      restrictedLossDh,
      fullLoss,
      fullLossDh,
      L0: 0,
      baseline: { loss: new Float64Array(r), lossDh: new Float64Array(r) },
    };
  };
  return [restriction(s.muA, s.betaA), restriction(s.muB, s.betaB)];
}

/** Reruns of `s` (seeds 1…R): the difference's error and its SE by each rule. */
function reruns(s: PairedSetting, R: number) {
  const err: number[] = [];
  const se = { diff: [] as number[], twoSe: [] as number[], terms: [] as number[], chains: [] as number[] };
  const ratio: number[] = [];
  for (let seed = 1; seed <= R; seed++) {
    const [ia, ib] = simulate(s, seed);
    const a = estimateSusceptibility(ia), b = estimateSusceptibility(ib);
    const d = estimateDifference(a.influence!, b.influence!);
    err.push(a.mean - b.mean - truth(s));
    se.diff.push(d.se);
    se.twoSe.push(Math.hypot(a.se, b.se));
    // Ignoring the E_full[ΔL] part: the same difference rule on the draws' terms alone.
    se.terms.push(estimateDifference(a.terms, b.terms).se);
    // Ignoring the shared batches: the spread over chains alone.
    se.chains.push(d.seChains);
    ratio.push(d.se / Math.hypot(a.se, b.se));
  }
  return { err, se, ratio };
}

const BASE: PairedSetting = {
  K: 4,
  r: 200,
  muA: 1,
  muB: 1,
  betaA: 0.4,
  betaB: 0.1,
  sigmaC: 3,
  sigmaU: 0.3,
  rho: 0.6,
};

Deno.test("estimateDifference: its mean is χ̂_a − χ̂_b and the series are each χ̂'s chain by chain", () => {
  const [ia, ib] = simulate(BASE, 99);
  const a = estimateSusceptibility(ia), b = estimateSusceptibility(ib);
  const d = estimateDifference(a.influence!, b.influence!);
  assert.ok(Math.abs(d.mean - (a.mean - b.mean)) < 1e-12 * Math.max(1, Math.abs(a.mean)));
  // Chain k's mean of the series is its χ̂ (the delta-method part has mean 0 over a chain).
  const { values, draws } = a.influence!;
  a.perChain.forEach((x, k) => {
    let m = 0;
    for (let t = 0; t < draws; t++) m += values[k * draws + t] / draws;
    assert.ok(Math.abs(m - x) < 1e-12 * Math.max(1, Math.abs(x)), `chain ${k}: ${m} vs ${x}`);
  });
  assert.equal(d.se, Math.max(d.seChains, d.seTime));
  // Unpaired runs have no series to difference.
  assert.equal(estimateSusceptibility({ ...ia, baseline: undefined }).influence, undefined);
  assert.throws(
    () =>
      estimateDifference(a.influence!, {
        ...b.influence!,
        chains: 2,
        values: Array.from(b.influence!.values).slice(400),
      }),
    /shapes 4×200 and 2×200 differ/,
  );
});

Deno.test("difference SE, shared error dominant: calibrated, and far below √(SE_a² + SE_b²)", () => {
  const R = 300;
  const { err, se, ratio } = reruns(BASE, R);
  const cd = calibration(err, se.diff, 0), c2 = calibration(err, se.twoSe, 0);
  const medianRatio = [...ratio].sort((x, y) => x - y)[Math.floor(R / 2)];
  console.log(
    `  ${R} reruns × ${BASE.K} chains × ${BASE.r} draws, true difference ${truth(BASE).toFixed(3)}`,
  );
  console.log(`  ${show("SE of the difference series", cd, R)}`);
  console.log(
    `  ${show("√(SE_a² + SE_b²)", c2, R)}; median SE_diff / √(SE_a² + SE_b²) = ${medianRatio.toFixed(3)}`,
  );
  assert.ok(cd.ratio > 0.75 && cd.ratio < 1.35, `difference SE: RMS error / RMS SE = ${cd.ratio.toFixed(2)}`);
  assert.ok(cd.within2 >= 0.88, `difference SE: ${(100 * cd.within2).toFixed(0)}% inside ±2 SE`);
  // (a) The shared term dominates each χ̂'s error and cancels in the difference.
  assert.ok(
    medianRatio < 0.2,
    `SE_diff / √(SE_a² + SE_b²) = ${medianRatio.toFixed(3)}: the shared part stays`,
  );
  // Negative control: the two-SE formula overstates the error here by far more than 1.5×.
  assert.ok(c2.ratio < 1 / 1.5, `√(SE_a² + SE_b²) should overstate the error (ratio ${c2.ratio.toFixed(2)})`);
});

Deno.test("difference SE, E_full[ΔL] weighted unequally: calibrated; ignoring the shared part is not", () => {
  // μ_a ≠ μ_b: the error of E_full[ΔL] enters the difference as (μ_a − μ_b)·c̄, which every chain shares. The
  // spread over chains cannot see it, nor can the draws' terms without the delta-method part.
  const s = { ...BASE, muB: 0.2 };
  const R = 300;
  const { err, se } = reruns(s, R);
  const cd = calibration(err, se.diff, 0),
    ct = calibration(err, se.terms, 0),
    cc = calibration(err, se.chains, 0);
  console.log(`  ${R} reruns × ${s.K} chains × ${s.r} draws, true difference ${truth(s).toFixed(3)}`);
  console.log(`  ${show("SE of the difference series", cd, R)}`);
  console.log(`  ${show("the same without the E_full[ΔL] part", ct, R)}`);
  console.log(`  ${show("spread over chains alone", cc, R)}`);
  assert.ok(cd.ratio > 0.75 && cd.ratio < 1.35, `difference SE: RMS error / RMS SE = ${cd.ratio.toFixed(2)}`);
  assert.ok(cd.within2 >= 0.88, `difference SE: ${(100 * cd.within2).toFixed(0)}% inside ±2 SE`);
  assert.ok(
    ct.ratio > 1.5,
    `without the E_full[ΔL] part the SE should be too small (${ct.ratio.toFixed(2)})`,
  );
  assert.ok(cc.ratio > 1.5, `the spread over chains should miss the shared part (${cc.ratio.toFixed(2)})`);
});
