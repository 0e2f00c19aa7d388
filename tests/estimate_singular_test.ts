/**
 * The LLC of a singular model: devinterp's normal-crossing accuracy test (f(x) = x·w₁^p·w₂^p, MSE,
 * x ~ N(0, 2²), y = 0.25·N(0, 1), n = 1000 full batch, w* = 0, ε = 4e-4, nβ = n/ln n, no localization):
 * λ = 1/(2·max p), accepted within 3.5 chain-stds.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { storageFrom } from "../lib/gpu/buffers.ts";
import { runSgld } from "../lib/estimate/sampler.ts";
import { maskFromSlices } from "../lib/estimate/sgld.ts";
import { estimateLlc } from "../lib/estimate/estimators.ts";
import {
  createCrossingTarget,
  crossingData,
  crossingLambda,
} from "../lib/estimate/targets/normal_crossing.ts";
import { formatHealth, healthSummary } from "../lib/estimate/health.ts";

for (const powers of [[1, 1], [2, 2]]) {
  Deno.test(`LLC of the normal-crossing model p=[${powers}] ≈ 1/(2·max p) = ${crossingLambda(powers)}`, async () => {
    const gpu = await getGpu();
    const data = crossingData(1000, 42);
    const C = 10, draws = 5000;
    const target = await createCrossingTarget(gpu, { powers, nCopies: C, data });
    const wStar = storageFrom(gpu, "w*", new Float32Array(target.stride));
    const nbeta = data.n / Math.log(data.n);
    const res = await runSgld(target, wStar, {
      eps: 4e-4,
      nbeta,
      gamma: 0,
      draws,
      seed: 42,
      // Only the k weights move; the padding of each copy stays at 0.
      masks: [maskFromSlices(target.stride, [{ start: 0, length: target.k }])],
    });
    const llc = estimateLlc({ values: res.losses, chains: C, draws }, res.L0, nbeta);
    const want = crossingLambda(powers);
    console.log(
      `  λ̂ = ${llc.mean.toFixed(3)} ± ${llc.std.toFixed(3)} (chain std over ${C} chains × ${draws} draws), ` +
        `λ = ${want}; ${res.health.stepsPerSecond.toFixed(0)} steps/s`,
    );
    console.log(formatHealth(healthSummary(res)).split("\n").slice(-1 - 0).map((l) => "  " + l).join("\n"));
    assert.ok(
      Math.abs(llc.mean - want) < 3.5 * llc.std,
      `λ̂ ${llc.mean} is not within 3.5 chain-stds of ${want}`,
    );
    assert.ok(llc.mean > 0, "a singular model's LLC is positive");
    target.destroy();
    wStar.destroy();
  });
}
