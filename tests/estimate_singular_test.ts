/**
 * The LLC of a singular model: devinterp's normal-crossing accuracy test (f(x) = x·w₁^p·w₂^p, MSE,
 * x ~ N(0, 2²), y = 0.25·N(0, 1), n = 1000 full batch, w* = 0, ε = 4e-4, nβ = n/ln n, no localization):
 * λ = 1/(2·max p), accepted within 3.5 chain-stds. A still copy (all-zero mask) rides along: full batch has no
 * data noise, so the per-draw-centred (paired) LLC equals the one-L0 LLC, and the chains pass split-R̂.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { storageFrom } from "../lib/gpu/buffers.ts";
import { runSgld } from "../lib/estimate/sampler.ts";
import { maskFromSlices } from "../lib/model/restriction.ts";
import { estimateLlc, selectChains } from "../lib/estimate/estimators.ts";
import { chainDiagnostics, RHAT_WARN } from "../lib/estimate/diagnostics.ts";
import { stillMask } from "../lib/estimate/unit.ts";
import { createCrossingTarget, crossingData, crossingLambda } from "./support/targets/normal_crossing.ts";
import { formatHealth, healthSummary } from "../lib/estimate/health.ts";

for (const powers of [[1, 1], [2, 2]]) {
  Deno.test(`LLC of the normal-crossing model p=[${powers}] ≈ 1/(2·max p) = ${crossingLambda(powers)}`, async () => {
    const gpu = await getGpu();
    const data = crossingData(1000, 42);
    const C = 10, draws = 5000;
    const target = await createCrossingTarget(gpu, { powers, nCopies: C + 1, data });
    const wStar = storageFrom(gpu, "w*", new Float32Array(target.stride));
    const nbeta = data.n / Math.log(data.n);
    const res = await runSgld(target, wStar, {
      eps: 4e-4,
      nbeta,
      gamma: 0,
      draws,
      seed: 42,
      // Only the k weights move; the padding of each copy stays at 0.
      masks: [maskFromSlices(target.stride, [{ start: 0, length: target.k }]), stillMask(target.stride)],
      restrictionOf: [...new Array(C).fill(0), 1],
    });
    const chains = selectChains(res.losses, draws, [...Array(C).keys()]);
    const llc = estimateLlc(chains, res.L0, nbeta);
    const still = res.losses.slice(C * draws);
    const paired = estimateLlc(chains, still, nbeta);
    const { rhat, ess } = chainDiagnostics(chains);
    console.log(
      `  paired λ̂ = ${paired.mean.toFixed(3)} ± ${paired.se.toFixed(3)}; split-R̂ ${rhat.toFixed(3)}, ESS ${
        ess.toFixed(0)
      }`,
    );
    for (let t = 0; t < draws; t++) assert.equal(still[t], res.L0, `still copy's loss at draw ${t}`);
    for (let k = 0; k < C; k++) assert.ok(Math.abs(paired.perChain[k] - llc.perChain[k]) < 1e-9 * nbeta);
    assert.ok(rhat < RHAT_WARN, `split-R̂ ${rhat}`);
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
