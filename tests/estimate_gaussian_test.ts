/**
 * Known answers on a Gaussian localized posterior (linear regression: the loss is exactly quadratic), where the
 * SGLD chain's own stationary law is N(w*, (P − εP²/4)⁻¹) and χ, χ_i and the LLC have closed forms
 * (tests/support/targets/gaussian.ts).
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { storageBuffer, storageFrom } from "../lib/gpu/buffers.ts";
import { runSgld } from "../lib/estimate/sampler.ts";
import { maskFromSlices } from "../lib/model/restriction.ts";
import {
  createFormsEval,
  createQuadraticTarget,
  formsObservable,
  linearRegressionForms,
  type QuadraticForms,
} from "./support/targets/quadratic.ts";
import { formMatrix, formMinimizer, gaussianChi, gaussianLlc } from "./support/targets/gaussian.ts";
import { createPerTokenAccumulator, perTokenObservable } from "../lib/estimate/accumulate.ts";
import {
  chainsOf,
  consistencyCheck,
  estimateLlc,
  estimateSusceptibility,
  observableByChain,
  perTokenChi,
  perTokenSumsReference,
  phiSums,
  selectChains,
} from "../lib/estimate/estimators.ts";
import { PhiloxStream } from "../lib/util/philox.ts";

const d = 6;

/** Pretraining data q (n rows) and probe data q' (m rows, other features and coefficients). */
function datasets() {
  const r = new PhiloxStream(21, 1);
  const n = 64, m = 16;
  const X = Float64Array.from({ length: n * d }, () => r.normal());
  const y = Float64Array.from({ length: n }, (_, i) => X[i * d] - 0.5 * X[i * d + 1] + 0.3 * r.normal());
  // The probe shares the pretraining optimum (small gradient at w*: little linear noise in ΔL) but has 3× larger
  // features on the restricted coordinates 0..2 (a Hessian that differs where the restricted chains move).
  const L0forms = linearRegressionForms(X, y, d, [[...Array(n).keys()]]);
  const wStar = formMinimizer(L0forms, 0);
  const Xp = Float64Array.from({ length: m * d }, (_, k) => (k % d < 3 ? 3 : 0.5) * r.normal());
  const yp = Float64Array.from({ length: m }, (_, i) => {
    let s = 0.05 * r.normal();
    for (let j = 0; j < d; j++) s += Xp[i * d + j] * wStar[j];
    return s;
  });
  const L = linearRegressionForms(X, y, d, [[...Array(n).keys()]]);
  // One form per probe token: ℓ_i(w) = (x'_i·w − y'_i)².
  const tokens = linearRegressionForms(Xp, yp, d, [...Array(m).keys()].map((i) => [i]));
  return { L, tokens, m };
}

/** (1 − δh)·L + δh·mean_i ℓ_i as one form: L^δh on the mixed data, exactly. */
function mixture(L: QuadraticForms, tokens: QuadraticForms, dh: number): QuadraticForms {
  const m = tokens.count, dd = d * d;
  const A = L.A.map((a) => (1 - dh) * a),
    b = L.b.map((x) => (1 - dh) * x),
    c = L.c.map((x) => (1 - dh) * x);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < dd; k++) A[k] += dh * tokens.A[i * dd + k] / m;
    for (let k = 0; k < d; k++) b[k] += dh * tokens.b[i * d + k] / m;
    c[0] += dh * tokens.c[i] / m;
  }
  return { d, count: 1, A, b, c };
}

Deno.test("susceptibility on a Gaussian posterior: χ̂ (eq. 41), per-token χ̂_i (C.2, GPU sums) and the LLC match closed forms; eq. (45) holds", async () => {
  const gpu = await getGpu();
  const { L, tokens, m } = datasets();
  const dh = 0.1;
  const Ldh = mixture(L, tokens, dh);
  const K = 12, C = 2 * K; // chains 0..11 restricted to coordinates 0..2, chains 12..23 unrestricted
  const restrictionOf = [...new Array(K).fill(1), ...new Array(K).fill(0)];
  const stride = 8;
  const masks = [
    maskFromSlices(stride, [{ start: 0, length: d }]),
    maskFromSlices(stride, [{ start: 0, length: 3 }]),
  ];
  const law = { eps: 1e-3, nbeta: 100, gamma: 50 };
  const draws = 6000, burnIn = 200;

  const target = await createQuadraticTarget(gpu, { forms: L, nCopies: C, stride });
  const wStar = formMinimizer(L, 0);
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from([...wStar, 0, 0]));
  const dhEval = await createFormsEval(gpu, target, Ldh);
  const ell = storageBuffer(gpu, "ell", C * m * 4);
  const tokEval = await createFormsEval(gpu, target, tokens, { buffer: ell });
  const acc = await createPerTokenAccumulator(gpu, { chains: C, tokens: m, ell });
  const t0 = performance.now();
  const res = await runSgld(
    target,
    wStarBuf,
    { ...law, draws, burnIn, masks, restrictionOf, seed: 5 },
    // The per-token observable evaluates ℓ into `ell` and accumulates; the last one copies the same ℓ to the
    // host (for the f64 reference of the running sums) without evaluating again.
    [formsObservable(dhEval, C), perTokenObservable(tokEval, acc), formsObservable(tokEval, C, false)],
  );
  const seconds = (performance.now() - t0) / 1000;

  // Closed forms for this sampler (Σ_ε) and, for scale, for the ε → 0 posterior.
  const A = formMatrix(L, 0);
  const restricted = [true, true, true, false, false, false];
  const B = formMatrix(Ldh, 0).map((x, k) => x - A[k]);
  const chiExact = gaussianChi(A, B, d, restricted, law);
  const chiPosterior = gaussianChi(A, B, d, restricted, { ...law, eps: 0 });
  const chiTok = Array.from(
    { length: m },
    (_, i) => gaussianChi(A, formMatrix(tokens, i).map((x, k) => x - A[k]), d, restricted, law),
  );

  const rChains = chainsOf(res.restrictionOf, 1), fChains = chainsOf(res.restrictionOf, 0);
  const dhByChain = observableByChain(res.observables[0], draws, C);
  const chi = estimateSusceptibility({
    restrictedLoss: selectChains(res.losses, draws, rChains),
    restrictedLossDh: selectChains(dhByChain.values, draws, rChains),
    fullLoss: selectChains(res.losses, draws, fChains),
    fullLossDh: selectChains(dhByChain.values, draws, fChains),
    L0: res.L0,
  });
  const zChi = (chi.mean - chiExact) / chi.se;
  console.log(
    `  ${C} chains × ${burnIn + draws} steps in ${seconds.toFixed(1)} s; χ̂ = ${
      chi.mean.toExponential(4)
    } ± ` +
      `${chi.se.toExponential(2)} (SE over ${K} chains), closed form ${chiExact.toExponential(4)} (z = ${
        zChi.toFixed(2)
      }); ε → 0 posterior ${chiPosterior.toExponential(4)}`,
  );
  assert.ok(Math.abs(zChi) < 3, `χ̂ is ${zChi.toFixed(2)} standard errors from the closed form`);
  assert.ok(chi.se < 0.2 * Math.abs(chiExact), "the test resolves χ to better than 20%");

  // Per-token: GPU running sums against the host reference built from the recorded ℓ, and against closed forms.
  const sums = await acc.read(phiSums({ values: res.losses, chains: C, draws }, res.L0));
  const ellDraws = res.observables[2]; // [draws, C, m]
  const host = perTokenSumsReference(res.losses, ellDraws, C, draws, m, res.L0);
  const tokGpu = perTokenChi(sums, rChains, fChains), tokHost = perTokenChi(host, rChains, fChains);
  let maxGpuHost = 0, maxZ = 0;
  for (let i = 0; i < m; i++) {
    maxGpuHost = Math.max(maxGpuHost, Math.abs(tokGpu.chi[i] - tokHost.chi[i]) / tokHost.se[i]);
    maxZ = Math.max(maxZ, Math.abs(tokGpu.chi[i] - chiTok[i]) / tokGpu.se[i]);
  }
  console.log(
    `  per-token: GPU f32 sums vs f64 host sums: max |Δχ̂_i| = ${
      maxGpuHost.toExponential(2)
    } SE (bound 0.05); ` +
      `max |χ̂_i − closed form| = ${maxZ.toFixed(2)} SE over ${m} tokens (bound 4); χ_0 = ${
        chiTok[0].toExponential(3)
      }, χ̂_0 = ${tokGpu.chi[0].toExponential(3)} ± ${tokGpu.se[0].toExponential(2)}`,
  );
  assert.equal(sums.draws, draws);
  assert.ok(maxGpuHost < 0.05);
  assert.ok(maxZ < 4);

  // Eq. (45): L^δh is exactly the δh-mixture of the per-token losses, so δh·mean χ̂_i = χ̂ on the same draws.
  const check = consistencyCheck(tokHost.chi, dh, chi.mean);
  const checkGpu = consistencyCheck(tokGpu.chi, dh, chi.mean);
  console.log(
    `  eq. (45): δh·mean χ̂_i = ${check.predicted.toExponential(5)} (host sums), ${
      checkGpu.predicted.toExponential(5)
    } (GPU sums) vs χ̂ = ${chi.mean.toExponential(5)}: ratio ${check.ratio.toFixed(6)}, ${
      checkGpu.ratio.toFixed(6)
    }`,
  );
  assert.ok(Math.abs(check.difference) < 0.01 * chi.se, "host: identity up to f32 evaluation of the forms");
  assert.ok(Math.abs(checkGpu.difference) < 0.05 * chi.se, "GPU: identity up to f32 running sums");

  // LLC of the unrestricted chains (γ > 0: the localized value, not d/2).
  const llc = estimateLlc(selectChains(res.losses, draws, fChains), res.L0, law.nbeta);
  const llcExact = gaussianLlc(A, d, law);
  console.log(
    `  LLC (full chains) ${llc.mean.toFixed(4)} ± ${llc.se.toFixed(4)} (SE), closed form ${
      llcExact.toFixed(4)
    }`,
  );
  assert.ok(Math.abs(llc.mean - llcExact) < 3 * llc.se);

  for (const x of [dhEval, tokEval, acc, target]) x.destroy();
  ell.destroy();
  wStarBuf.destroy();
});

Deno.test("LLC of a regular model (linear regression, d = 6, γ = 0) ≈ d/2", async () => {
  const gpu = await getGpu();
  const { L } = datasets();
  const law = { eps: 1e-4, nbeta: 1000, gamma: 0 };
  const C = 16, draws = 6000, burnIn = 300;
  const target = await createQuadraticTarget(gpu, { forms: L, nCopies: C });
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from([...formMinimizer(L, 0), 0, 0]));
  const res = await runSgld(target, wStarBuf, { ...law, draws, burnIn, seed: 1 });
  const llc = estimateLlc({ values: res.losses, chains: C, draws }, res.L0, law.nbeta);
  const exact = gaussianLlc(formMatrix(L, 0), d, law);
  console.log(
    `  λ̂ = ${llc.mean.toFixed(3)} ± ${llc.std.toFixed(3)} (chain std; SE ${llc.se.toFixed(3)}), d/2 = ${
      d / 2
    }, ` +
      `this sampler's exact value ${exact.toFixed(3)} (ε = ${law.eps} discretization)`,
  );
  assert.ok(Math.abs(llc.mean - d / 2) < 3.5 * llc.std, "within 3.5 chain-stds of d/2");
  // 4 SE: the SE itself comes from 16 chains (t with 15 degrees of freedom).
  assert.ok(Math.abs(llc.mean - exact) < 4 * llc.se, "within 4 standard errors of the sampler's exact value");
  target.destroy();
  wStarBuf.destroy();
});
