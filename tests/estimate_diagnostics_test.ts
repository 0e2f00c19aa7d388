/**
 * Split-R̂ and ESS (lib/estimate/diagnostics.ts) on chains with known answers: iid normal chains (R̂ ≈ 1,
 * ESS ≈ N), chains whose means differ or that drift (R̂ > 1.1), AR(1) chains (ESS ≈ N(1 − ρ)/(1 + ρ)); and the
 * LLC's per-draw centring (estimateLlc) against the single-L0 form.
 */
import assert from "node:assert/strict";
import { Rng } from "../lib/util/random.ts";
import {
  centred,
  chainDiagnostics,
  effectiveSampleSize,
  RHAT_WARN,
  splitRhat,
} from "../lib/estimate/diagnostics.ts";
import { type ChainDraws, estimateLlc } from "../lib/estimate/estimators.ts";

function chains(K: number, n: number, f: (k: number, t: number) => number): ChainDraws {
  const values = new Float64Array(K * n);
  for (let k = 0; k < K; k++) for (let t = 0; t < n; t++) values[k * n + t] = f(k, t);
  return { values, chains: K, draws: n };
}

function ar1(rng: Rng, K: number, n: number, rho: number): ChainDraws {
  const values = new Float64Array(K * n);
  const s = Math.sqrt(1 - rho * rho);
  for (let k = 0; k < K; k++) {
    let x = rng.normal(); // stationary start
    for (let t = 0; t < n; t++) {
      values[k * n + t] = x;
      x = rho * x + s * rng.normal();
    }
  }
  return { values, chains: K, draws: n };
}

Deno.test("split-R̂ and ESS: iid normal chains give R̂ ≈ 1 and ESS ≈ N", () => {
  const rng = new Rng(1);
  const K = 4, n = 1000;
  const d = chains(K, n, () => 3 + 2 * rng.normal());
  const { rhat, ess } = chainDiagnostics(d);
  console.log(`iid: R̂ ${rhat.toFixed(4)}, ESS ${ess.toFixed(0)} of ${K * n}`);
  assert.ok(Math.abs(rhat - 1) < 0.01, `R̂ ${rhat}`);
  assert.ok(ess > 0.85 * K * n && ess < 1.15 * K * n, `ESS ${ess}`);
});

Deno.test("split-R̂: chains with shifted means, or a drift inside each chain, exceed 1.1", () => {
  const rng = new Rng(2);
  const K = 4, n = 200;
  const shifted = chains(K, n, (k) => k + rng.normal());
  const drifting = chains(K, n, (_, t) => 3 * t / n + 0.5 * rng.normal());
  const rs = splitRhat(shifted), rd = splitRhat(drifting);
  console.log(`shifted means: R̂ ${rs.toFixed(3)}; drifting: R̂ ${rd.toFixed(3)}`);
  assert.ok(rs > RHAT_WARN && rd > RHAT_WARN);
  // Between-chain disagreement also costs effective draws.
  assert.ok(effectiveSampleSize(shifted) < 0.5 * K * n);
  assert.throws(() => splitRhat(chains(2, 3, () => 0)), /at least 4 draws/);
});

Deno.test("ESS of AR(1) chains: N(1 − ρ)/(1 + ρ) within 15%", () => {
  const rng = new Rng(3);
  const K = 4, n = 4000;
  for (const rho of [0.5, 0.9]) {
    const want = K * n * (1 - rho) / (1 + rho);
    const ess = effectiveSampleSize(ar1(rng, K, n, rho));
    console.log(`ρ = ${rho}: ESS ${ess.toFixed(0)}, expected ${want.toFixed(0)}`);
    assert.ok(Math.abs(ess / want - 1) < 0.15, `ρ = ${rho}: ESS ${ess} vs ${want}`);
  }
  // Anticorrelated draws are worth more than iid ones, but capped at N·log10(N).
  const anti = effectiveSampleSize(ar1(rng, K, n, -0.5));
  assert.ok(anti > K * n && anti <= K * n * Math.log10(K * n));
});

Deno.test("estimateLlc: per-draw centres give nβ·mean_t[L_t − c_t]; a constant centre equals the one-L0 form", () => {
  const rng = new Rng(4);
  const K = 3, n = 7, nbeta = 30;
  const d = chains(K, n, () => 2 + 0.1 * rng.normal());
  const c = Float64Array.from({ length: n }, () => 2 + 0.05 * rng.normal());
  const paired = estimateLlc(d, c, nbeta);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let t = 0; t < n; t++) s += d.values[k * n + t] - c[t];
    assert.ok(Math.abs(paired.perChain[k] - nbeta * s / n) < 1e-12);
  }
  assert.ok(Math.abs(paired.L0 - c.reduce((a, b) => a + b) / n) < 1e-15);
  const one = estimateLlc(d, 2.01, nbeta), flat = estimateLlc(d, new Float64Array(n).fill(2.01), nbeta);
  for (let k = 0; k < K; k++) assert.ok(Math.abs(one.perChain[k] - flat.perChain[k]) < 1e-12);
  // The centred series carries the same chain means (what R̂ and ESS describe).
  const cs = centred(d, c);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let t = 0; t < n; t++) s += cs.values[k * n + t];
    assert.ok(Math.abs(nbeta * s / n - paired.perChain[k]) < 1e-12);
  }
  assert.throws(() => estimateLlc(d, new Float64Array(n - 1), nbeta), /per-draw centres/);
  assert.throws(() => estimateLlc(d, Float64Array.from(c, (x, t) => (t === 2 ? NaN : x)), nbeta), /draw 2/);
});
