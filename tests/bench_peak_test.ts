/**
 * The FMA-peak probe computes what it claims (the closed-form affine chain, checked against float64), so the
 * FLOP/s it reports counts real work. No timing is asserted here: speed lives in the benchmarks.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { FMA_CHAINS, FMA_UNROLL, fmaChainReference, prepareFmaProbe } from "../lib/bench/peak.ts";

for (const useFma of [true, false]) {
  Deno.test(`fma_peak (${useFma ? "fma()" : "x·a + b"}): every chain equals the float64 closed form`, async () => {
    const gpu = await getGpu();
    const spec = {
      invocations: 100, // not a multiple of the workgroup: the tail must return early
      iters: 50,
      a: 0.998046875,
      b: 0.03125,
      seed: -1.5,
      stepInv: 0.01,
      stepLane: 0.125,
      useFma,
    };
    const probe = await prepareFmaProbe(gpu, spec);
    try {
      await probe.run(3); // replays overwrite, never accumulate
      const got = await probe.read();
      assert(got.length === spec.invocations * FMA_CHAINS);
      const n = spec.iters * FMA_UNROLL;
      let worst = 0;
      for (let inv = 0; inv < spec.invocations; inv++) {
        for (let lane = 0; lane < FMA_CHAINS; lane++) {
          const x0 = Math.fround(
            Math.fround(spec.seed + Math.fround(inv * spec.stepInv)) + lane * spec.stepLane,
          );
          const want = fmaChainReference(x0, spec.a, spec.b, n);
          const err = Math.abs(got[inv * FMA_CHAINS + lane] - want) / Math.max(1, Math.abs(want));
          worst = Math.max(worst, err);
        }
      }
      // A contracting chain keeps f32 rounding bounded: a few ulps of the fixed point b/(1 − a) = 16.
      assert(worst < 2e-5, `worst relative error ${worst}`);
    } finally {
      probe.dispose();
    }
  });
}
