import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { storageFrom } from "../lib/gpu/buffers.ts";
import { runSgld, SgldDivergenceError } from "../lib/estimate/sampler.ts";
import { maskFromSlices } from "../lib/model/restriction.ts";
import {
  createFormsEval,
  createQuadraticTarget,
  formGrad,
  formsObservable,
  formValue,
  linearRegressionForms,
} from "./support/targets/quadratic.ts";
import { formMinimizer } from "./support/targets/gaussian.ts";
import { formatHealth, healthSummary } from "../lib/estimate/health.ts";
import { calibrate, formatCalibration } from "../lib/estimate/calibrate.ts";
import { PhiloxStream, sgldNormal } from "../lib/util/philox.ts";

function regressionForms(n: number, d: number, batches: number, seed: number) {
  const r = new PhiloxStream(seed, 1);
  const X = Float64Array.from({ length: n * d }, () => r.normal());
  const y = Float64Array.from({ length: n }, (_, i) => X[i * d] - 0.5 * X[i * d + 1] + 0.3 * r.normal());
  const rows = [...Array(n).keys()];
  const size = n / batches;
  const full = linearRegressionForms(X, y, d, [rows]);
  const mini = linearRegressionForms(
    X,
    y,
    d,
    Array.from({ length: batches }, (_, k) => rows.slice(k * size, (k + 1) * size)),
  );
  return { full, mini };
}

Deno.test("runSgld bookkeeping: every step's pre-step minibatch loss, burn-in, thinning, L0 and observables match an f64 re-simulation", async () => {
  const gpu = await getGpu();
  const d = 6, C = 3;
  const { full, mini } = regressionForms(48, d, 3, 1);
  const target = await createQuadraticTarget(gpu, { forms: mini, nCopies: C, stride: 8 });
  const wStar = Float32Array.from([...formMinimizer(full, 0), 0, 0]);
  const wStarBuf = storageFrom(gpu, "w*", wStar);
  const masks = [maskFromSlices(8, [{ start: 0, length: d }]), maskFromSlices(8, [{ start: 2, length: 3 }])];
  const restrictionOf = [0, 1, 0];
  const opts = {
    eps: 2e-3,
    nbeta: 20,
    gamma: 100,
    lambda: 0.1,
    draws: 5,
    burnIn: 3,
    stepsBetweenDraws: 2,
    seed: 9,
    streamBase: 4,
    readEvery: 4, // 13 steps: three full rings and a partial one
    masks,
    restrictionOf,
  };
  const ev = await createFormsEval(gpu, target, full);
  const res = await runSgld(target, wStarBuf, opts, [formsObservable(ev, C)]);

  // f64 re-simulation.
  const total = opts.burnIn + opts.draws * opts.stepsBetweenDraws;
  let L0 = 0;
  for (let k = 0; k < C; k++) L0 += formValue(mini, k % 3, wStar) / C;
  const w = Array.from({ length: C }, () => Float64Array.from(wStar.subarray(0, d)));
  let maxTrace = 0, maxObs = 0;
  for (let s = 0; s < total; s++) {
    const f = s % 3;
    const dr = s >= opts.burnIn && (s - opts.burnIn) % 2 === 0 ? (s - opts.burnIn) / 2 : -1;
    for (let c = 0; c < C; c++) {
      const l = formValue(mini, f, w[c]);
      maxTrace = Math.max(maxTrace, Math.abs(res.traces[c * total + s] - l));
      if (dr >= 0) {
        assert.equal(
          res.losses[c * opts.draws + dr],
          res.traces[c * total + s],
          `draw ${dr} is step ${s}'s loss`,
        );
        maxObs = Math.max(maxObs, Math.abs(res.observables[0][dr * C + c] - formValue(full, 0, w[c])));
      }
      const g = formGrad(mini, f, w[c]);
      const m = masks[restrictionOf[c]];
      for (let e = 0; e < d; e++) {
        if (((m[0] >>> e) & 1) === 0) continue;
        const drift = opts.nbeta * g[e] + opts.gamma * (w[c][e] - wStar[e]) + opts.lambda * w[c][e];
        w[c][e] += -(opts.eps / 2) * drift +
          Math.sqrt(opts.eps) * sgldNormal(opts.seed, opts.streamBase + c, s, e);
      }
    }
  }
  console.log(
    `  L0 ${res.L0.toFixed(6)} vs f64 ${L0.toFixed(6)}; max |trace − f64| = ${maxTrace.toExponential(2)}, ` +
      `max |observable − f64| = ${maxObs.toExponential(2)} over ${total} steps (bound 2e-5: f32 chains ` +
      `of 13 steps on losses ≈ 1); ${res.health.readbacks} readbacks`,
  );
  assert.ok(Math.abs(res.L0 - L0) < 1e-5);
  assert.ok(maxTrace < 2e-5 && maxObs < 2e-5);
  assert.equal(res.health.readbacks, 4);
  assert.deepEqual([...res.restrictionOf], restrictionOf);
  assert.equal(res.record.nbeta, 20);
  assert.equal(res.observables[0].length, opts.draws * C);

  // Same seed → bit-identical run; another seed → different noise.
  const again = await runSgld(target, wStarBuf, opts, [formsObservable(ev, C)]);
  assert.deepEqual([...again.traces], [...res.traces]);
  const other = await runSgld(target, wStarBuf, { ...opts, seed: 10 }, []);
  assert.notDeepEqual([...other.traces], [...res.traces]);
  // A progress callback adds readbacks after steps 1 and 2 (powers of two below readEvery = 4), then one per
  // ring as before, and changes no number.
  const seen: number[] = [];
  const watched = await runSgld(target, wStarBuf, { ...opts, onProgress: (s) => seen.push(s) }, [
    formsObservable(ev, C),
  ]);
  assert.deepEqual(seen, [1, 2, 4, 8, 12, 13]);
  assert.equal(watched.health.readbacks, 6);
  assert.deepEqual([...watched.traces], [...res.traces]);
  assert.deepEqual([...watched.observables[0]], [...res.observables[0]]);

  const h = healthSummary(res);
  console.log(formatHealth(h).split("\n").map((l) => "  " + l).join("\n"));
  assert.equal(h.chains.length, C);
  ev.destroy();
  target.destroy();
  wStarBuf.destroy();
});

Deno.test("runSgld divergence: a too-large ε raises SgldDivergenceError naming the chain, the step and ε", async () => {
  const gpu = await getGpu();
  const { full } = regressionForms(32, 4, 1, 2);
  const target = await createQuadraticTarget(gpu, { forms: full, nCopies: 2 });
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from(formMinimizer(full, 0)));
  // ε·nβ·a ≫ 4: the linear recursion is unstable and grows geometrically.
  const err = await runSgld(target, wStarBuf, { eps: 0.5, nbeta: 100, gamma: 0, draws: 400, readEvery: 25 })
    .then(
      () => null,
      (e) => e,
    );
  assert.ok(err instanceof SgldDivergenceError, `expected SgldDivergenceError, got ${err}`);
  console.log(`  ${err.message}`);
  assert.match(err.message, /chain \d+ diverged at step \d+/);
  assert.match(err.message, /lower the step size ε \(now 0\.5\)/);
  assert.ok(err.step < 25, `caught at the first readback (step ${err.step})`);

  // A non-finite w* is caught before any step.
  const nanStar = storageFrom(gpu, "w*nan", Float32Array.from([NaN, 0, 0, 0]));
  await assert.rejects(() => runSgld(target, nanStar, { draws: 3 }), /loss at w\* is NaN/);
  await assert.rejects(
    () => runSgld(target, wStarBuf, { draws: 0 }),
    /"draws": expected an integer ≥ 1, got 0/,
  );
  nanStar.destroy();
  target.destroy();
  wStarBuf.destroy();
});

Deno.test("calibrate: LLC against ε over a grid, divergences reported in their row", async () => {
  const gpu = await getGpu();
  const d = 4;
  const { full } = regressionForms(40, d, 1, 3);
  const target = await createQuadraticTarget(gpu, { forms: full, nCopies: 4 });
  const wStarBuf = storageFrom(gpu, "w*", Float32Array.from(formMinimizer(full, 0)));
  const rows = await calibrate(target, wStarBuf, { eps: [1e-4, 1e-3, 0.2] }, {
    nbeta: 100,
    gamma: 0,
    draws: 300,
    burnIn: 100,
  });
  console.log(formatCalibration(rows).split("\n").map((l) => "  " + l).join("\n"));
  assert.equal(rows.length, 3);
  assert.ok(rows[0].llc && rows[1].llc, "small steps run");
  assert.equal(rows[2].llc, null);
  assert.match(rows[2].diverged!, /diverged at step/);
  // Regular model: λ̂ ≈ d/2 on the plateau.
  assert.ok(Math.abs(rows[1].llc!.mean - d / 2) < 4 * rows[1].llc!.std, `λ̂ ${rows[1].llc!.mean}`);
  target.destroy();
  wStarBuf.destroy();
});
