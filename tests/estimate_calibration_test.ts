/**
 * Are the standard errors honest? Over many independent reruns (own SGLD seed, own minibatch sequence) on
 * Gaussian posteriors whose answer is known in closed form (tests/support/targets/gaussian.ts), the spread of the
 * estimates around the known value must match the stated SE: calibration = RMS(estimate − truth) / RMS(SE) ≈ 1.
 * An SE too small by a factor 1.5 gives ≈ 1.5; the tests fail above 1.3. The LLC in the reference sampler's
 * convention (one L0 over as many minibatches as chains) is the negative control: its L0 error is shared by
 * all chains, so its SE is too small by far more than 1.5 — these tests can and do fail on such an estimator.
 *
 * Coverage (the fraction inside ±1 SE / ±2 SE) is printed too; with K chains the t-ratio has K − 1 degrees of
 * freedom, so ~65% / ~92% is what a perfectly calibrated SE gives at K = 8.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { storageFrom } from "../lib/gpu/buffers.ts";
import { runSgld } from "../lib/estimate/sampler.ts";
import { maskFromSlices } from "../lib/model/restriction.ts";
import { stillMask } from "../lib/estimate/unit.ts";
import {
  createFormsEval,
  createQuadraticTarget,
  formsObservable,
  linearRegressionForms,
  type QuadraticForms,
} from "./support/targets/quadratic.ts";
import {
  formMatrix,
  formMinimizer,
  gaussianChi,
  gaussianLlc,
  meanFormMinimizer,
  minibatchCovariance,
  minibatchLlc,
  stationaryCovariance,
} from "./support/targets/gaussian.ts";
import {
  estimateLlc,
  estimateSusceptibility,
  observableByChain,
  selectChains,
} from "../lib/estimate/estimators.ts";
import { PhiloxStream } from "../lib/util/philox.ts";
import { calibration, chainDraws, show } from "./support/calibration.ts";

const gpu = await getGpu();

/** A linear regression split into equal minibatches: each batch's MSE is a quadratic form. */
function regression(d: number, n: number, m: number, noise: number, seed: number): QuadraticForms {
  const r = new PhiloxStream(seed, 3);
  const X = Float64Array.from({ length: n * d }, () => r.normal());
  const y = Float64Array.from({ length: n }, (_, i) => {
    let s = noise * r.normal();
    for (let j = 0; j < d; j++) s += X[i * d + j] * (j % 2 ? 0.5 : -1);
    return s;
  });
  const batches = Array.from({ length: n / m }, (_, f) => Array.from({ length: m }, (_, i) => f * m + i));
  return linearRegressionForms(X, y, d, batches);
}

Deno.test("minibatchCovariance: one form gives stationaryCovariance; batch noise widens the law", () => {
  const forms = regression(4, 64, 8, 0.5, 1);
  const law = { eps: 2e-3, nbeta: 100, gamma: 100 };
  const one = { d: 4, count: 1, A: forms.A.slice(0, 16), b: forms.b.slice(0, 4), c: forms.c.slice(0, 1) };
  const moves = [true, false, true, true];
  const a = minibatchCovariance(one, moves, law);
  const b = stationaryCovariance(formMatrix(one, 0), 4, moves, law);
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-12 * Math.abs(b[0]), `element ${i}`);
  assert.ok(minibatchLlc(forms, law) > 0);
  assert.deepEqual([...meanFormMinimizer(one)], [...formMinimizer(one, 0)]);
});

Deno.test("LLC SE calibration with data noise: per-draw centring is honest, one L0 over K batches is not", async () => {
  const d = 4, m = 8, n = 256;
  const forms = regression(d, n, m, 0.5, 7);
  const F = forms.count;
  const law = { eps: 2e-3, nbeta: 100, gamma: 100 };
  const truth = minibatchLlc(forms, law);
  const K = 8, C = K + 1, draws = 150, burnIn = 50, R = 48;
  const stride = 4;
  const masks = [maskFromSlices(stride, [{ start: 0, length: d }]), stillMask(stride)];
  const restrictionOf = [...new Array(K).fill(0), 1];
  const wStar = meanFormMinimizer(forms);
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from(wStar));
  const paired = { est: [] as number[], se: [] as number[] };
  const single = { est: [] as number[], se: [] as number[] };
  const chainsOnly: number[] = [];
  const t0 = performance.now();
  try {
    for (let rerun = 0; rerun < R; rerun++) {
      // Every rerun its own minibatch sequence (uniform, independent per step) and its own SGLD noise.
      const rng = new PhiloxStream(1000 + rerun, 5);
      const seq = Int32Array.from(
        { length: burnIn + draws + C },
        () => Math.min(F - 1, Math.floor(rng.uniform() * F)),
      );
      const target = await createQuadraticTarget(gpu, { forms, nCopies: C, stride, batchOf: (s) => seq[s] });
      try {
        const res = await runSgld(target, wStarBuf, {
          ...law,
          draws,
          burnIn,
          masks,
          restrictionOf,
          seed: rerun,
          readEvery: 200,
        });
        const chains = selectChains(res.losses, draws, [...Array(K).keys()]);
        const still = res.losses.slice(K * draws);
        const p = estimateLlc(chains, still, law.nbeta), s = estimateLlc(chains, res.L0, law.nbeta);
        paired.est.push(p.mean);
        paired.se.push(p.se);
        chainsOnly.push(p.seChains);
        single.est.push(s.mean);
        single.se.push(s.se);
      } finally {
        target.destroy();
      }
    }
  } finally {
    wStarBuf.destroy();
  }
  const cp = calibration(paired.est, paired.se, truth), cs = calibration(single.est, single.se, truth);
  const cc = calibration(paired.est, chainsOnly, truth);
  console.log(
    `  ${R} reruns × ${K} chains × ${burnIn + draws} steps in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s; ` +
      `λ = ${truth.toFixed(4)} (ε → 0, no batch noise: ${
        gaussianLlc(formMatrix(forms, 0), d, law).toFixed(3)
      })`,
  );
  console.log(`  ${show("per-draw centring", cp, R)}`);
  console.log(`  ${show("  with the spread over chains alone as SE", cc, R)}`);
  console.log(`  ${show("one L0 (devinterp)", cs, R)}`);
  assert.ok(cp.ratio < 1.3, `per-draw centring: SE too small (ratio ${cp.ratio.toFixed(2)})`);
  assert.ok(Math.abs(cp.biasZ) < 3, `per-draw centring: biased by ${cp.biasZ.toFixed(2)} SE`);
  assert.ok(cp.ratio > 0.75, `per-draw centring: SE too large (ratio ${cp.ratio.toFixed(2)})`);
  // Negative controls: the shared L0 error, and the shared batch-driven fluctuation, both show.
  assert.ok(cs.ratio > 1.5, `one L0: the shared L0 error should show (ratio ${cs.ratio.toFixed(2)})`);
  assert.ok(
    cc.ratio > 1.5,
    `spread over chains: the shared fluctuation should show (ratio ${cc.ratio.toFixed(2)})`,
  );
});

Deno.test("χ̂ and LLC SE calibration on a Gaussian posterior: RMS error / RMS SE within [0.75, 1.3]", async () => {
  const d = 6, R = 64, K = 8;
  const forms = regression(d, 64, 64, 0.3, 11);
  const rp = new PhiloxStream(12, 1);
  // L^δh: the same data with 10% weight on a probe whose Hessian is larger on the restricted coordinates 0..2.
  const Xp = Float64Array.from({ length: 16 * d }, (_, k) => (k % d < 3 ? 3 : 0.5) * rp.normal());
  const wStar = formMinimizer(forms, 0);
  const yp = Float64Array.from({ length: 16 }, (_, i) => {
    let s = 0.05 * rp.normal();
    for (let j = 0; j < d; j++) s += Xp[i * d + j] * wStar[j];
    return s;
  });
  const probe = linearRegressionForms(Xp, yp, d, [[...Array(16).keys()]]);
  const mix = (a: Float64Array, b: Float64Array) => a.map((x, i) => 0.9 * x + 0.1 * b[i]);
  const Ldh = { d, count: 1, A: mix(forms.A, probe.A), b: mix(forms.b, probe.b), c: mix(forms.c, probe.c) };
  const law = { eps: 2e-3, nbeta: 100, gamma: 100 };
  const A = formMatrix(forms, 0), B = formMatrix(Ldh, 0).map((x, k) => x - A[k]);
  const restricted = [true, true, true, false, false, false];
  const chiTruth = gaussianChi(A, B, d, restricted, law), llcTruth = gaussianLlc(A, d, law);
  // All reruns in one dispatch: rerun j owns chains j·2K … j·2K + 2K − 1 (K restricted, then K full).
  const C = R * 2 * K, stride = 8, draws = 300, burnIn = 100;
  const masks = [
    maskFromSlices(stride, [{ start: 0, length: d }]),
    maskFromSlices(stride, [{ start: 0, length: 3 }]),
  ];
  const restrictionOf = Array.from({ length: C }, (_, c) => (c % (2 * K) < K ? 1 : 0));
  const target = await createQuadraticTarget(gpu, { forms, nCopies: C, stride });
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from([...wStar, 0, 0]));
  const dhEval = await createFormsEval(gpu, target, Ldh);
  const t0 = performance.now();
  try {
    const res = await runSgld(
      target,
      wStarBuf,
      { ...law, draws, burnIn, masks, restrictionOf, seed: 3, readEvery: 100 },
      [formsObservable(dhEval, C)],
    );
    const dh = observableByChain(res.observables[0], draws, C).values;
    const chi = { est: [] as number[], se: [] as number[] },
      llc = { est: [] as number[], se: [] as number[] };
    for (let j = 0; j < R; j++) {
      const rc = Array.from({ length: K }, (_, k) => j * 2 * K + k), fc = rc.map((c) => c + K);
      const e = estimateSusceptibility({
        restrictedLoss: selectChains(res.losses, draws, rc),
        restrictedLossDh: selectChains(dh, draws, rc),
        fullLoss: selectChains(res.losses, draws, fc),
        fullLossDh: selectChains(dh, draws, fc),
        L0: res.L0,
      });
      const l = estimateLlc(selectChains(res.losses, draws, fc), res.L0, law.nbeta);
      chi.est.push(e.mean);
      chi.se.push(e.se);
      llc.est.push(l.mean);
      llc.se.push(l.se);
    }
    const cc = calibration(chi.est, chi.se, chiTruth), cl = calibration(llc.est, llc.se, llcTruth);
    console.log(
      `  ${R} reruns × ${2 * K} chains × ${burnIn + draws} steps in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s; χ = ${chiTruth.toExponential(3)}, λ = ${llcTruth.toFixed(4)}`,
    );
    console.log(`  ${show("χ̂", cc, R)}`);
    console.log(`  ${show("LLC", cl, R)}`);
    for (const [name, c] of [["χ̂", cc], ["LLC", cl]] as const) {
      assert.ok(c.ratio < 1.3, `${name}: SE too small (ratio ${c.ratio.toFixed(2)})`);
      assert.ok(c.ratio > 0.75, `${name}: SE too large (ratio ${c.ratio.toFixed(2)})`);
      assert.ok(Math.abs(c.biasZ) < 3, `${name}: biased by ${c.biasZ.toFixed(2)} SE`);
    }
  } finally {
    dhEval.destroy();
    wStarBuf.destroy();
    target.destroy();
  }
});

Deno.test("paired χ̂ SE calibration with data noise: RMS deviation from the pooled value / RMS SE within [0.75, 1.3]", async () => {
  // No closed form here (batch noise makes the chains' law non-Gaussian): the reference is the mean over all
  // reruns, whose own error is ~SE/√R; deviations from it are scaled by √(R/(R − 1)).
  const d = 4, m = 8, n = 256;
  const forms = regression(d, n, m, 0.5, 17);
  const F = forms.count;
  const rp = new PhiloxStream(18, 1);
  // Probe form: 16 rows with larger features on the restricted coordinates 0, 1; L^δh_f = 0.9·L_f + 0.1·probe.
  const Xp = Float64Array.from({ length: 16 * d }, (_, k) => (k % d < 2 ? 3 : 0.5) * rp.normal());
  const yp = Float64Array.from({ length: 16 }, () => 0.5 * rp.normal());
  const probe = linearRegressionForms(Xp, yp, d, [[...Array(16).keys()]]);
  const dd = d * d;
  const mixed: QuadraticForms = {
    d,
    count: F,
    A: forms.A.map((x, k) => 0.9 * x + 0.1 * probe.A[k % dd]),
    b: forms.b.map((x, k) => 0.9 * x + 0.1 * probe.b[k % d]),
    c: forms.c.map((x) => 0.9 * x + 0.1 * probe.c[0]),
  };
  const law = { eps: 2e-3, nbeta: 100, gamma: 100 };
  const K = 8, C = 2 * K + 1, draws = 150, burnIn = 50, R = 40, stride = 4;
  const masks = [
    maskFromSlices(stride, [{ start: 0, length: d }]),
    maskFromSlices(stride, [{ start: 0, length: 2 }]),
    stillMask(stride),
  ];
  const restrictionOf = [...new Array(K).fill(1), ...new Array(K).fill(0), 2];
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from(meanFormMinimizer(forms)));
  const paired = { est: [] as number[], se: [] as number[], chains: [] as number[] };
  const t0 = performance.now();
  try {
    for (let rerun = 0; rerun < R; rerun++) {
      const rng = new PhiloxStream(2000 + rerun, 5);
      const seq = Int32Array.from(
        { length: burnIn + draws + C },
        () => Math.min(F - 1, Math.floor(rng.uniform() * F)),
      );
      const target = await createQuadraticTarget(gpu, { forms, nCopies: C, stride, batchOf: (s) => seq[s] });
      const ev = await createFormsEval(gpu, target, mixed);
      try {
        const res = await runSgld(
          target,
          wStarBuf,
          { ...law, draws, burnIn, masks, restrictionOf, seed: 100 + rerun, readEvery: 200 },
          [formsObservable(ev, C)],
        );
        // L^δh of each copy on its draw's own batch: observable row [C, F], batch seq[burnIn + t].
        const o = res.observables[0];
        const dh = new Float64Array(C * draws);
        for (let t = 0; t < draws; t++) {
          const f = seq[burnIn + t];
          for (let c = 0; c < C; c++) dh[c * draws + t] = o[t * C * F + c * F + f];
        }
        const rc = [...Array(K).keys()], fc = rc.map((k) => k + K);
        const e = estimateSusceptibility({
          restrictedLoss: selectChains(res.losses, draws, rc),
          restrictedLossDh: selectChains(dh, draws, rc),
          fullLoss: selectChains(res.losses, draws, fc),
          fullLossDh: selectChains(dh, draws, fc),
          L0: res.L0,
          baseline: { loss: res.losses.slice(2 * K * draws), lossDh: dh.slice(2 * K * draws) },
        });
        paired.est.push(e.mean);
        paired.se.push(e.se);
        paired.chains.push(e.seChains);
      } finally {
        ev.destroy();
        target.destroy();
      }
    }
  } finally {
    wStarBuf.destroy();
  }
  const pooled = paired.est.reduce((a, b) => a + b) / R;
  const shrink = Math.sqrt(R / (R - 1));
  const cp = calibration(paired.est, paired.se, pooled), cc = calibration(paired.est, paired.chains, pooled);
  console.log(
    `  ${R} reruns × ${2 * K} chains × ${burnIn + draws} steps in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s; pooled χ̂ = ${pooled.toExponential(3)}`,
  );
  console.log(
    `  ${show("paired χ̂, SE = max(chains, time)", cp, R)} (ratio × √(R/(R−1)) = ${
      (cp.ratio * shrink).toFixed(2)
    })`,
  );
  console.log(
    `  ${show("paired χ̂, SE = spread over chains", cc, R)} (× √(R/(R−1)) = ${
      (cc.ratio * shrink).toFixed(2)
    })`,
  );
  assert.ok(cp.ratio * shrink < 1.3, `paired χ̂: SE too small (ratio ${(cp.ratio * shrink).toFixed(2)})`);
  assert.ok(cp.ratio * shrink > 0.75, `paired χ̂: SE too large (ratio ${(cp.ratio * shrink).toFixed(2)})`);
});

Deno.test("paired χ̂ SE includes the error of E_full[ΔL]: full chains sharing batch noise, known χ = 0", () => {
  // χ̂ = −(E_r[φ·ΔL] − E_r[φ]·E_full[ΔL]). Here the restricted chains' φ has mean 1 and their ΔL is independent
  // noise, while the full chains' ΔL carries a batch term c_t shared by every full chain (as the minibatch
  // sequence is): the truth is 0 and χ̂'s error is −E_r[φ] times the error of E_full[ΔL], mean(c_t). Neither the
  // spread over chains (every chain sees the same c̄) nor the restricted terms' own fluctuation sees it; the
  // delta-method part of the SE does (without it: RMS error / RMS SE = 15).
  const K = 4, r = 100, R = 200;
  const est: number[] = [], se: number[] = [];
  for (let rerun = 0; rerun < R; rerun++) {
    const rng = new PhiloxStream(900 + rerun, 7);
    const c = Float64Array.from({ length: r }, () => rng.normal());
    const chains = (f: (k: number, t: number) => number) => chainDraws(K, r, f);
    const restrictedLoss = chains(() => 1 + 0.1 * rng.normal()); // φ = L − 0 (the still copy's loss is 0)
    const restrictedLossDh = chains((k, t) => restrictedLoss.values[k * r + t] + 0.1 * rng.normal());
    const fullLoss = chains(() => 2 + 0.1 * rng.normal());
    const fullLossDh = chains((k, t) => fullLoss.values[k * r + t] + c[t] + 0.05 * rng.normal());
    const e = estimateSusceptibility({
      restrictedLoss,
      restrictedLossDh,
      fullLoss,
      fullLossDh,
      L0: 0,
      baseline: { loss: new Float64Array(r), lossDh: new Float64Array(r) },
    });
    est.push(e.mean);
    se.push(e.se);
  }
  const cal = calibration(est, se, 0);
  console.log(`  ${R} reruns × ${K} chains × ${r} draws: ${show("paired χ̂", cal, R)}`);
  assert.ok(cal.ratio > 0.75 && cal.ratio < 1.3, `RMS error / RMS SE = ${cal.ratio}`);
});
