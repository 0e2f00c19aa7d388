/**
 * Paired (common-random-numbers) susceptibilities, lib/estimate/unit.ts `sgld.paired` and the `baseline` of
 * estimateSusceptibility, on a small random transformer:
 *  - with zero data noise (the baseline is L0 at every draw, ΔL(w*) = 0) the paired estimator is eq. (41);
 *  - a copy with the all-zero still mask keeps exactly w* through SGLD while the other copies move;
 *  - in a paired unit the still copy's draw losses are the float64 loss of w* on each draw's minibatch, the
 *    restricted chains are the same as unpaired (same seed), and every head's χ̂ standard error shrinks.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32 } from "../lib/gpu/buffers.ts";
import { paramLayout } from "../lib/model/params.ts";
import { referenceForwardBackward } from "../lib/model/reference.ts";
import { Rng } from "../lib/util/random.ts";
import { runSgld } from "../lib/estimate/sampler.ts";
import { restrictionMask } from "../lib/model/restriction.ts";
import { estimateSusceptibility } from "../lib/estimate/estimators.ts";
import { createTransformerTarget, samplingBatch, wStarBuffer } from "../lib/estimate/transformer_target.ts";
import { runCheckpointSusceptibilities, stillMask } from "../lib/estimate/unit.ts";

import { BASE, CFG, PROBE, T, W } from "./estimate_fixtures.ts";

const gpu = await getGpu();

Deno.test("paired estimator: a constant baseline at L0 with ΔL(w*) = 0 gives eq. (41) exactly", () => {
  const rng = new Rng(5);
  const K = 3, r = 7, L0 = 2.5;
  const draws = () => ({
    values: Float64Array.from({ length: K * r }, () => L0 + rng.normal()),
    chains: K,
    draws: r,
  });
  const input = {
    restrictedLoss: draws(),
    restrictedLossDh: draws(),
    fullLoss: draws(),
    fullLossDh: draws(),
    L0,
  };
  const plain = estimateSusceptibility(input);
  const paired = estimateSusceptibility({
    ...input,
    L0: 0, // unused when a baseline is given
    baseline: { loss: new Float64Array(r).fill(L0), lossDh: new Float64Array(r).fill(L0) },
  });
  const diff = Math.max(...plain.perChain.map((x, k) => Math.abs(x - paired.perChain[k])));
  console.log(`χ̂ ${plain.mean.toExponential(3)} vs paired ${paired.mean.toExponential(3)}, max |Δ| ${diff}`);
  assert.ok(diff < 1e-12);
  assert.throws(
    () =>
      estimateSusceptibility({
        ...input,
        baseline: { loss: new Float64Array(r - 1), lossDh: new Float64Array(r) },
      }),
    /baseline/,
  );
});

Deno.test("still mask: that copy stays bit-exactly at w* while the full copy moves", async () => {
  const layout = paramLayout(CFG);
  const P = layout.stride;
  const target = await createTransformerTarget(gpu, {
    cfg: CFG,
    copies: 2,
    batch: 4,
    seqLen: T,
    base: BASE,
    seed: 1,
  });
  const wStar = wStarBuffer(gpu, W);
  try {
    await runSgld(target, wStar, {
      draws: 10,
      seed: 2,
      masks: [restrictionMask(layout, "full"), stillMask(P)],
      restrictionOf: [0, 1],
    });
    const after = await readF32(gpu, target.params);
    let stillMoved = 0, fullMoved = 0;
    for (let i = 0; i < P; i++) {
      if (after[i] !== W[i]) fullMoved++;
      if (after[P + i] !== W[i]) stillMoved++;
    }
    console.log(`elements moved: full copy ${fullMoved} / ${P}, still copy ${stillMoved}`);
    assert.equal(stillMoved, 0);
    assert.ok(fullMoved > P / 2);
  } finally {
    wStar.destroy();
    target.destroy();
  }
});

Deno.test("paired unit: still copy at w* on every draw's batch, same chains, smaller χ̂ standard errors", async () => {
  const heads = ["0:0", "0:1", "1:0", "1:1"];
  const B = 2, draws = 20, seed = 11;
  const opts = {
    cfg: CFG,
    params: W,
    step: 0,
    base: BASE,
    probes: [{ name: "p", tokens: PROBE }],
    deltaH: 0.5,
    restrictions: [...heads, "full"],
    sgld: { chains: 4, draws, batchSize: B },
    readEvery: 10,
    seqLen: T,
    seed,
  };
  const off = await runCheckpointSusceptibilities(gpu, { ...opts, sgld: { ...opts.sgld, paired: false } });
  // Paired is the default.
  const on = await runCheckpointSusceptibilities(gpu, opts);
  const C = (heads.length + 1) * 4;
  assert.equal(off.run.still, undefined);
  assert.equal(on.run.still, C);
  assert.equal(on.run.result.chains, C + 1);
  // Adding the still copy leaves every chain's trajectory unchanged: the comparison is of estimators only.
  assert.deepEqual(on.run.result.losses.subarray(0, C * draws), off.run.result.losses);
  assert.deepEqual(on.traces, off.traces);
  // Only paired χ̂ have a per-draw series (chi_terms.arrow): one row per probe × restriction × chain × draw.
  assert.equal(off.chiTerms.term.length, 0);
  assert.equal(on.chiTerms.term.length, (heads.length + 1) * 4 * draws);

  let maxDiff = 0;
  for (let t = 0; t < draws; t++) {
    const tokens = samplingBatch(BASE, { seqLen: T, batch: B, seed }, t);
    const ref = referenceForwardBackward(CFG, Float64Array.from(W), tokens, B, T, false).loss;
    maxDiff = Math.max(maxDiff, Math.abs(on.run.result.losses[C * draws + t] - ref));
  }
  console.log(`still copy's draw loss vs float64 L_t(w*): max |Δ| ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff < 1e-4);

  const s0 = off.susceptibility, s1 = on.susceptibility;
  for (let i = 0; i < s0.chi.length; i++) {
    console.log(
      `${s0.restriction[i]}: off ${s0.chi[i].toExponential(3)} ± ${s0.chi_se[i].toExponential(2)}, ` +
        `paired ${s1.chi[i].toExponential(3)} ± ${s1.chi_se[i].toExponential(2)}`,
    );
    if (s0.restriction[i] !== "full") {
      assert.ok(s1.chi_se[i] < s0.chi_se[i], `${s0.restriction[i]}: se not reduced`);
    }
    // The LLC in the reference sampler's convention is untouched by pairing; the paired LLC centres each draw
    // on the still copy instead of one L0.
    assert.equal(s1.llc_devinterp[i], s0.llc[i]);
    assert.equal(s1.llc_devinterp_se[i], s0.llc_se[i]);
    assert.equal(s0.llc_devinterp[i], s0.llc[i]);
    assert.notEqual(s1.llc[i], s0.llc[i]);
  }
});
