/**
 * Bayesian influence functions (lib/estimate/influence.ts) on a Gaussian posterior, where the covariance of two
 * quadratic token losses is closed-form (gaussianLossCovariance): the device sums match a float64 host
 * reference of the same per-draw losses, and BIF(i, j) = −Cov[ℓ_i, ℓ_j] matches the closed form within its SE;
 * on a small transformer (runInfluence) the BIF of a context set with itself is symmetric with −Var on the diagonal.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { storageBuffer, storageFrom } from "../lib/gpu/buffers.ts";
import { runSgld } from "../lib/estimate/sampler.ts";
import {
  createFormsEval,
  createQuadraticTarget,
  formGrad,
  formsObservable,
  formValue,
  linearRegressionForms,
} from "./support/targets/quadratic.ts";
import {
  formMatrix,
  formMinimizer,
  gaussianLossCovariance,
  stationaryCovariance,
} from "./support/targets/gaussian.ts";
import {
  bifEstimate,
  bifObservable,
  bifSumsReference,
  createBifAccumulator,
} from "../lib/estimate/influence.ts";
import { PhiloxStream } from "../lib/util/philox.ts";
import { runInfluence, topInfluences } from "../lib/estimate/influence_unit.ts";
import { sampleContexts } from "../lib/data/shard.ts";
import { BASE, CFG, PROBE, T, W } from "./estimate_fixtures.ts";

Deno.test("BIF on a Gaussian posterior: device sums = host sums, BIF(i, j) = −Cov[ℓ_i, ℓ_j] within SE", async () => {
  const gpu = await getGpu();
  const d = 4, n = 48, mP = 3, mT = 5;
  const r = new PhiloxStream(31, 2);
  const X = Float64Array.from({ length: n * d }, () => r.normal());
  const y = Float64Array.from({ length: n }, (_, i) => X[i * d] - 0.7 * X[i * d + 2] + 0.4 * r.normal());
  const L = linearRegressionForms(X, y, d, [[...Array(n).keys()]]);
  // Tokens: mP probe rows (other data) then the first mT training rows, one single-row form each.
  const Xp = Float64Array.from({ length: mP * d }, () => 2 * r.normal());
  const yp = Float64Array.from({ length: mP }, () => r.normal());
  const Xt = new Float64Array([...Xp, ...X.slice(0, mT * d)]);
  const yt = new Float64Array([...yp, ...y.slice(0, mT)]);
  const tokens = linearRegressionForms(Xt, yt, d, [...Array(mP + mT).keys()].map((i) => [i]));
  const N = mP + mT, K = 16, draws = 3000, burnIn = 200;
  const law = { eps: 1e-3, nbeta: 100, gamma: 50 };
  const target = await createQuadraticTarget(gpu, { forms: L, nCopies: K, stride: 4 });
  const wStar = formMinimizer(L, 0);
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from(wStar));
  const ell = storageBuffer(gpu, "ell", K * N * 4);
  const tokEval = await createFormsEval(gpu, target, tokens, { buffer: ell });
  const probe = { start: 0, count: mP }, train = { start: mP, count: mT };
  const acc = await createBifAccumulator(gpu, { chains: K, tokens: N, ell, probe, train });
  const centre = Array.from({ length: N }, (_, i) => formValue(tokens, i, wStar));
  acc.setCentre(centre);
  try {
    const res = await runSgld(target, wStarBuf, { ...law, draws, burnIn, seed: 9 }, [
      bifObservable(tokEval, acc),
      formsObservable(tokEval, K, false),
    ]);
    const sums = await acc.read();
    assert.equal(sums.draws, draws);
    const host = bifSumsReference(res.observables[1], {
      chains: K,
      draws,
      tokens: N,
      centre: Float32Array.from(centre),
      probe,
      train,
    });
    const all = [...Array(K).keys()];
    const gpuEst = bifEstimate(sums, all), hostEst = bifEstimate(host, all);
    const S = stationaryCovariance(formMatrix(L, 0), d, new Array(d).fill(true), law);
    let maxZ = 0, maxDev = 0, maxAbs = 0;
    for (let i = 0; i < mP; i++) {
      for (let j = 0; j < mT; j++) {
        const q = i * mT + j;
        const a = probe.start + i, b = train.start + j;
        const exact = -gaussianLossCovariance(
          formMatrix(tokens, a),
          formGrad(tokens, a, wStar),
          formMatrix(tokens, b),
          formGrad(tokens, b, wStar),
          S,
          d,
        );
        maxZ = Math.max(maxZ, Math.abs(gpuEst.bif[q] - exact) / gpuEst.se[q]);
        maxDev = Math.max(maxDev, Math.abs(gpuEst.bif[q] - hostEst.bif[q]) / hostEst.se[q]);
        maxAbs = Math.max(maxAbs, Math.abs(exact) / gpuEst.se[q]);
        if (i === 0 && j < 3) {
          console.log(
            `  BIF(p${i}, t${j}) = ${gpuEst.bif[q].toExponential(3)} ± ${
              gpuEst.se[q].toExponential(2)
            }, exact ${exact.toExponential(3)}`,
          );
        }
      }
    }
    console.log(
      `  ${mP}×${mT} pairs: max |BIF − exact| = ${maxZ.toFixed(2)} SE; GPU vs f64 host sums ${
        maxDev.toExponential(2)
      } SE; largest |BIF| ${maxAbs.toFixed(0)} SE`,
    );
    assert.ok(maxDev < 0.05, "device f32 sums match the float64 reference");
    assert.ok(maxZ < 4, `BIF off the closed form by ${maxZ.toFixed(2)} SE`);
    assert.ok(maxAbs > 10, "the test resolves the influences (some |BIF| > 10 SE)");
  } finally {
    acc.destroy();
    tokEval.destroy();
    ell.destroy();
    wStarBuf.destroy();
    target.destroy();
  }
});

Deno.test("runInfluence on a small transformer: probe = training contexts gives a symmetric BIF with −Var ≤ 0 on the diagonal", async () => {
  const gpu = await getGpu();
  const ctx = sampleContexts(PROBE, T, 2, 4);
  const { influence: t, result } = await runInfluence(gpu, {
    cfg: CFG,
    params: W,
    step: 7,
    base: BASE,
    probe: { name: "p", contexts: ctx },
    train: ctx,
    sgld: { chains: 3, draws: 12, batchSize: 2 },
    seqLen: T,
    seed: 5,
    decode: (id) => `<${id}>`,
  });
  const n = 2 * (T - 1);
  assert.equal(t.bif.length, n * n);
  assert.equal(result.chains, 3);
  const at = (c1: number, p1: number, c2: number, p2: number) => {
    const i = c1 * (T - 1) + p1 - 1, j = c2 * (T - 1) + p2 - 1;
    return i * n + j;
  };
  let maxAsym = 0, maxDiag = -Infinity, scale = 0;
  for (let c1 = 0; c1 < 2; c1++) {
    for (let p1 = 1; p1 < T; p1++) {
      const d = at(c1, p1, c1, p1);
      assert.equal(t.probe_text[d], `<${ctx[c1 * T + p1]}>`);
      assert.equal(t.train_position[d], p1);
      maxDiag = Math.max(maxDiag, t.bif[d]);
      for (let c2 = 0; c2 < 2; c2++) {
        for (let p2 = 1; p2 < T; p2++) {
          const a = t.bif[at(c1, p1, c2, p2)], b = t.bif[at(c2, p2, c1, p1)];
          maxAsym = Math.max(maxAsym, Math.abs(a - b));
          scale = Math.max(scale, Math.abs(a));
        }
      }
    }
  }
  console.log(
    `  max |BIF(i, j) − BIF(j, i)| ${maxAsym.toExponential(2)} of max |BIF| ${
      scale.toExponential(2)
    }; largest diagonal ${maxDiag.toExponential(2)}`,
  );
  assert.ok(scale > 0 && maxAsym < 1e-3 * scale, "BIF of a set with itself is symmetric");
  assert.ok(maxDiag < 0, "BIF(i, i) = −Var[ℓ_i] < 0");
  // Top influences of a probe token: its own loss is the most influential training token.
  const top = topInfluences(t, 0, 3, 3);
  assert.equal(t.train_context[top[0]], 0);
  assert.equal(t.train_position[top[0]], 3);
});
