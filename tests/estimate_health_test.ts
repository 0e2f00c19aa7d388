/** The sampler's health summary (lib/estimate/health.ts): λ̂ per chain and its warnings. */
import assert from "node:assert/strict";
import { healthSummary } from "../lib/estimate/health.ts";
import type { SgldResult } from "../lib/estimate/sampler.ts";

/** A run of two copies: copy 0 a chain, copy 1 (in a paired run) the still copy at w*. */
function run(chain: number[], still: number[], L0: number): SgldResult {
  const draws = chain.length;
  return {
    chains: 2,
    draws,
    losses: Float64Array.from([...chain, ...still]),
    L0,
    restrictionOf: Int32Array.from([0, 1]),
    record: { nbeta: 10, eps: 1e-3, gamma: 100 },
    health: {
      maxLoss: Float64Array.from([9, 9]),
      drawsPerSecond: 1,
      stepsPerSecond: 1,
      seconds: 1,
      readbacks: 1,
    },
  } as unknown as SgldResult;
}

Deno.test("health: a paired run's λ̂ is centred on the still copy's losses, not on the single L0", () => {
  // The chain's draws (mean 1.0) sit below L0 = 1.2 (an unlucky L0 batch) but above the loss at w* on the same
  // batches (mean 0.9): the run's paired LLC is nβ·0.1 = 1, and no "below" warning may appear.
  const chain = Array.from({ length: 40 }, (_, t) => 1.0 + 0.01 * Math.sin(t));
  const still = Array.from({ length: 40 }, (_, t) => 0.9 + 0.01 * Math.sin(t));
  const paired = healthSummary(run(chain, still, 1.2), 1);
  assert.equal(paired.chains.length, 1, "the still copy is not a chain");
  assert.ok(Math.abs(paired.chains[0].llc - 1) < 1e-9, `λ̂ ${paired.chains[0].llc}`);
  assert.ok(!paired.warnings.some((w) => /below/.test(w)), paired.warnings.join("; "));
  // Unpaired, the same draws against L0 give λ̂ = −2 and the warning, naming L0.
  const unpaired = healthSummary(run(chain, still, 1.2));
  assert.ok(Math.abs(unpaired.chains[0].llc + 2) < 0.02); // + nβ·mean(0.01·sin t), which pairing cancels
  assert.ok(unpaired.warnings.some((w) => /chain 0: mean draw loss is below L0/.test(w)));
  // A paired chain below its still copy is warned about, naming what it was compared with.
  const below = healthSummary(run(still, chain, 0.5), 1);
  assert.ok(below.warnings.some((w) => /below the loss at w\* on the same batches/.test(w)));
});
