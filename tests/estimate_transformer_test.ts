/**
 * The transformer SamplingTarget and its observables (lib/estimate/transformer_target.ts) and the checkpoint
 * units (lib/estimate/unit.ts) on a small random model:
 *  - the target's loss and gradient equal the float64 reference's for every copy;
 *  - chains restricted to a head move exactly that head's parameters;
 *  - the mixed-batch L^δh observable equals the mean loss of the explicitly mixed batch (Algorithm 1);
 *  - the device per-token sums equal the host reference from per-draw losses, and eq. (45) holds exactly when
 *    L^δh is the δh-mixture of L_n and the contexts' mean loss;
 *  - zero ablation changes losses, ablating an already-zero head changes nothing;
 *  - a unit is deterministic from its seed.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readBuffers, readF32, storageBuffer, upload } from "../lib/gpu/buffers.ts";
import { paramLayout, tensor } from "../lib/model/params.ts";
import { referenceForwardBackward } from "../lib/model/reference.ts";
import { Rng } from "../lib/util/random.ts";
import { runSgld } from "../lib/estimate/sampler.ts";
import { maskFromSlices, type Motion, motionOf, restrictionMask } from "../lib/model/restriction.ts";
import {
  chainsOf,
  consistencyCheck,
  estimateSusceptibility,
  observableByChain,
  perTokenChi,
  perTokenSumsReference,
  phiSums,
  selectChains,
} from "../lib/estimate/estimators.ts";
import {
  chainLayout,
  createMixedLossObservable,
  createTokenLossObservable,
  createTransformerTarget,
  lossAtWStar,
  probeSeed,
  replacedRows,
  samplingBatch,
  wStarBuffer,
} from "../lib/estimate/transformer_target.ts";
import { contextBatch } from "../lib/data/shard.ts";
import {
  ablateHead,
  probeContexts,
  runAblation,
  runCheckpointSusceptibilities,
  runPerTokenSusceptibilities,
} from "../lib/estimate/unit.ts";

import { BASE, CFG, PROBE, T, W } from "./estimate_fixtures.ts";

const gpu = await getGpu();

Deno.test("target: loss and gradient of every copy equal the float64 reference", async () => {
  const C = 3, B = 4;
  const P = paramLayout(CFG).stride;
  const target = await createTransformerTarget(gpu, {
    cfg: CFG,
    copies: C,
    batch: B,
    seqLen: T,
    base: BASE,
    seed: 5,
  });
  const rng = new Rng(9);
  const params = new Float32Array(C * P);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < P; i++) params[c * P + i] = W[i] + (W[i] === 0 ? 0 : 0.05 * rng.normal());
  }
  upload(gpu, target.params, params);
  const ring = storageBuffer(gpu, "ring", 2 * C * 4);
  target.setBatch(7);
  const enc = gpu.device.createCommandEncoder();
  target.encodeLossAndGrad(enc, ring, 1);
  gpu.device.queue.submit([enc.finish()]);
  const [lossBuf, gradBuf] = await readBuffers(gpu, [{ buffer: ring }, { buffer: target.grads }]);
  const losses = new Float32Array(lossBuf), grads = new Float32Array(gradBuf);
  const tokens = samplingBatch(BASE, { seqLen: T, batch: B, seed: 5 }, 7);
  assert.deepEqual(target.batchTokens(7), tokens);
  let maxLoss = 0, maxRel = 0;
  for (let c = 0; c < C; c++) {
    const ref = referenceForwardBackward(
      CFG,
      Float64Array.from(params.subarray(c * P, (c + 1) * P)),
      tokens,
      B,
      T,
    );
    maxLoss = Math.max(maxLoss, Math.abs(losses[C + c] - ref.loss));
    let scale = 0;
    for (const g of ref.grads!) scale = Math.max(scale, Math.abs(g));
    for (let i = 0; i < P; i++) maxRel = Math.max(maxRel, Math.abs(grads[c * P + i] - ref.grads![i]) / scale);
  }
  console.log(
    `target vs f64 reference: max |Δloss| ${maxLoss.toExponential(2)}, max |Δgrad|/scale ${
      maxRel.toExponential(2)
    }`,
  );
  assert.ok(maxLoss < 1e-4, `loss differs by ${maxLoss}`);
  assert.ok(maxRel < 1e-3, `gradient differs by ${maxRel} of its scale`);
  ring.destroy();
  target.destroy();
});

Deno.test("restricted chains move only their head's parameters; the full chain moves all", async () => {
  const restrictions = ["full", "0:1", "1:0"];
  const layout = paramLayout(CFG);
  const P = layout.stride;
  const lay = chainLayout(restrictions.length, 2);
  const target = await createTransformerTarget(gpu, {
    cfg: CFG,
    copies: lay.copies,
    batch: 4,
    seqLen: T,
    base: BASE,
    seed: 1,
  });
  const wStar = wStarBuffer(gpu, W);
  await runSgld(target, wStar, {
    draws: 3,
    seed: 4,
    masks: restrictions.map((r) => restrictionMask(layout, r)),
    restrictionOf: lay.restrictionOf,
  });
  const after = await readF32(gpu, target.params);
  const tensorsMask = restrictionMask(layout, "full");
  for (let c = 0; c < lay.copies; c++) {
    const mask = restrictionMask(layout, restrictions[lay.restrictionOf[c]]);
    let movedIn = 0, inside = 0, movedOut = 0;
    for (let i = 0; i < P; i++) {
      const inMask = (mask[i >>> 5] >>> (i & 31)) & 1;
      const moved = after[c * P + i] !== W[i];
      if (inMask) {
        inside++;
        if (moved) movedIn++;
      } else if (moved) movedOut++;
    }
    assert.equal(
      movedOut,
      0,
      `copy ${c} (${
        restrictions[lay.restrictionOf[c]]
      }) moved ${movedOut} parameters outside its restriction`,
    );
    assert.ok(movedIn > 0.99 * inside, `copy ${c}: only ${movedIn} of ${inside} parameters moved`);
    if (lay.restrictionOf[c] === 0) {
      assert.equal(inside, tensorsMask.reduce((a, w) => a + popcount(w), 0));
    } else {
      // a head: slices of W_Q, W_K, W_V, W_O (D·E each) and b_Q, b_K, b_V (E each)
      assert.equal(inside, 4 * CFG.d_model * CFG.d_head + 3 * CFG.d_head);
    }
  }
  wStar.destroy();
  target.destroy();
});

Deno.test("restriction-aware passes: the same seed gives the same draws and observables, bit for bit, as the full passes", async () => {
  const restrictions = ["0:1", "full", "1:0"];
  const layout = paramLayout(CFG);
  const lay = chainLayout(restrictions.length, 2);
  const masks = restrictions.map((r) => restrictionMask(layout, r));
  const sample = async (motion?: Motion[]) => {
    const target = await createTransformerTarget(gpu, {
      cfg: CFG,
      copies: lay.copies,
      batch: 4,
      seqLen: T,
      base: BASE,
      seed: 1,
      motion,
    });
    const wStar = wStarBuffer(gpu, W);
    const mixed = await createMixedLossObservable(gpu, target, {
      probes: [{ name: "p", tokens: PROBE }],
      deltaH: 0.3,
    });
    const perToken = await createTokenLossObservable(gpu, target, PROBE.subarray(0, 3 * T));
    const run = await runSgld(target, wStar, {
      draws: 12,
      seed: 4,
      masks,
      restrictionOf: lay.restrictionOf,
    }, [mixed, perToken]);
    const params = await readF32(gpu, target.params);
    const sums = await perToken.acc.read(
      phiSums({ values: run.losses, chains: lay.copies, draws: 12 }, run.L0),
    );
    for (const x of [wStar, mixed, perToken, target]) x.destroy();
    return { losses: run.losses, params, mixed: run.observables[0], sums };
  };
  const full = await sample();
  const restricted = await sample(Array.from(lay.restrictionOf, (r) => motionOf(restrictions[r])));
  assert.deepEqual(restricted.losses, full.losses);
  assert.deepEqual(restricted.params, full.params);
  assert.deepEqual(restricted.mixed, full.mixed); // L^δh on the probe rows, forward-only model with motion
  assert.deepEqual(restricted.sums, full.sums); // per-token running sums, likewise
});

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

Deno.test("mixed-batch observable equals the loss of the explicitly mixed batch (Algorithm 1)", async () => {
  const B = 6, deltaH = 0.3, C = 2;
  // No movement: a mask with no bits keeps every copy at w*, so the observable can be checked at w*.
  const P = paramLayout(CFG).stride;
  const target = await createTransformerTarget(gpu, {
    cfg: CFG,
    copies: C,
    batch: B,
    seqLen: T,
    base: BASE,
    seed: 2,
  });
  const probes = [{ name: "a", tokens: PROBE }, { name: "b", tokens: BASE.subarray(1000) }];
  const mixed = await createMixedLossObservable(gpu, target, { probes, deltaH });
  const wStar = wStarBuffer(gpu, W);
  const draws = 5;
  const res = await runSgld(target, wStar, {
    draws,
    seed: 1,
    masks: [maskFromSlices(P, [])],
    restrictionOf: [0, 0],
  }, [mixed]);
  let maxDiff = 0, replacedTotal = 0;
  for (let s = 0; s < draws; s++) {
    const base = samplingBatch(BASE, { seqLen: T, batch: B, seed: 2 }, s);
    const rows = replacedRows(s, B, deltaH);
    replacedTotal += rows.length;
    const refBase = referenceForwardBackward(CFG, Float64Array.from(W), base, B, T, false).loss;
    probes.forEach((p, pi) => {
      const mix = Int32Array.from(base);
      const pb = contextBatch(p.tokens, { nCtx: T, batch: B, seed: probeSeed(2, pi), step: s });
      for (const r of rows) mix.set(pb.subarray(r * T, (r + 1) * T), r * T);
      const ref = referenceForwardBackward(CFG, Float64Array.from(W), mix, B, T, false).loss;
      for (let c = 0; c < C; c++) {
        maxDiff = Math.max(maxDiff, Math.abs(res.observables[0][s * mixed.width + pi * C + c] - ref));
        maxDiff = Math.max(maxDiff, Math.abs(res.losses[c * draws + s] - refBase));
      }
    });
  }
  console.log(
    `mixed loss vs explicit mixed batch: max diff ${
      maxDiff.toExponential(2)
    } (${replacedTotal} rows replaced)`,
  );
  assert.ok(replacedTotal > 0 && replacedTotal < draws * B);
  assert.ok(maxDiff < 1e-4, `mixed loss differs by ${maxDiff}`);
  assert.ok(
    Math.abs(
      res.L0 - (await lossAtWStar(gpu, CFG, W, { base: BASE, batch: B, seqLen: T, seed: 2, batches: C })),
    ) < 1e-5,
  );
  mixed.destroy();
  wStar.destroy();
  target.destroy();
});

Deno.test("per-token sums match the host reference and eq. (45) holds for the δh-mixture of the contexts", async () => {
  const layout = paramLayout(CFG);
  const restrictions = ["full", "1:1"];
  const K = 2, B = 4, draws = 12, deltaH = 0.1;
  const lay = chainLayout(restrictions.length, K);
  const C = lay.copies;
  const target = await createTransformerTarget(gpu, {
    cfg: CFG,
    copies: C,
    batch: B,
    seqLen: T,
    base: BASE,
    seed: 3,
  });
  const contexts = probeContexts(PROBE, T, 3, 11);
  const N = contexts.length / T;
  const perTok = await createTokenLossObservable(gpu, target, contexts);
  // A test-only observable copying the raw per-token losses of each draw to the host ([C, N, T] per draw).
  const raw = {
    width: C * N * T,
    encode(enc: GPUCommandEncoder, _s: number, _d: number, ring: GPUBuffer, slot: number) {
      enc.copyBufferToBuffer(perTok.model.tokenLosses, 0, ring, slot * C * N * T * 4, C * N * T * 4);
    },
  };
  const wStar = wStarBuffer(gpu, W);
  const res = await runSgld(target, wStar, {
    draws,
    seed: 8,
    eps: 1e-3,
    masks: restrictions.map((r) => restrictionMask(layout, r)),
    restrictionOf: lay.restrictionOf,
  }, [perTok, raw]);
  const sums = await perTok.acc.read(phiSums({ values: res.losses, chains: C, draws }, res.L0));
  const ref = perTokenSumsReference(res.losses, res.observables[1], C, draws, N * T, res.L0);
  let maxDiff = 0, scale = 0;
  for (let i = 0; i < C * N * T; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(sums.sPhiD[i] - ref.sPhiD[i]), Math.abs(sums.sD[i] - ref.sD[i]));
    scale = Math.max(scale, Math.abs(ref.sD[i]));
  }
  console.log(
    `device per-token sums vs host reference: max diff ${maxDiff.toExponential(2)} (scale ${
      scale.toFixed(3)
    })`,
  );
  assert.ok(maxDiff < 1e-4 * Math.max(1, scale), `per-token sums differ by ${maxDiff}`);

  // Eq. (45) exactly: with L^δh := (1 − δh)·L_n + δh·mean over the contexts' predictions of ℓ (per draw),
  // χ̂ of the restriction equals δh·mean_i χ̂_i over those predictions.
  const full = chainsOf(lay.restrictionOf, 0), head = chainsOf(lay.restrictionOf, 1);
  const est = perTokenChi(sums, head, full);
  const predictions: number[] = [];
  for (let n = 0; n < N; n++) for (let t = 0; t < T - 1; t++) predictions.push(n * T + t);
  const lDh = new Float64Array(C * draws);
  for (let c = 0; c < C; c++) {
    for (let d = 0; d < draws; d++) {
      let s = 0;
      for (const j of predictions) s += res.observables[1][(d * C + c) * N * T + j];
      lDh[c * draws + d] = (1 - deltaH) * res.losses[c * draws + d] + deltaH * s / predictions.length;
    }
  }
  const chi = estimateSusceptibility({
    restrictedLoss: selectChains(res.losses, draws, head),
    restrictedLossDh: selectChains(lDh, draws, head),
    fullLoss: selectChains(res.losses, draws, full),
    fullLossDh: selectChains(lDh, draws, full),
    L0: res.L0,
  });
  const check = consistencyCheck(predictions.map((j) => est.chi[j]), deltaH, chi.mean);
  console.log(
    `eq. 45: δh·mean χ_i = ${check.predicted.toExponential(4)}, χ̂ = ${chi.mean.toExponential(4)}, ratio ${
      check.ratio.toFixed(6)
    }`,
  );
  assert.ok(
    Math.abs(check.difference) < 1e-4 * Math.abs(chi.mean) + 1e-9,
    `eq. 45 off by ${check.difference}`,
  );
  assert.ok(chi.mean !== 0);
  // The observable layout helper agrees with the ring layout.
  assert.equal(observableByChain(new Float64Array(C * draws), draws, C).chains, C);
  perTok.destroy();
  wStar.destroy();
  target.destroy();
});

Deno.test("zero ablation: a head's ablation changes losses, ablating an already-zero head changes nothing", async () => {
  const layout = paramLayout(CFG);
  const contexts = probeContexts(PROBE, T, 5, 3);
  const a = ablateHead(CFG, W, 1, 0);
  const wo = tensor(layout, "blocks.1.attn.W_O");
  const span = CFG.d_head * CFG.d_model;
  for (let i = 0; i < W.length; i++) {
    const inSlice = i >= wo.offset && i < wo.offset + span;
    assert.equal(a[i], inSlice ? 0 : W[i], `element ${i}`);
  }
  const { ablation } = await runAblation(gpu, {
    cfg: CFG,
    params: W,
    step: 7,
    probes: [{ name: "p", contexts }],
    batch: 2,
  });
  assert.equal(ablation.delta_loss.length, 4 * 5 * (T - 1));
  const byHead = new Map<string, number>();
  for (let i = 0; i < ablation.delta_loss.length; i++) {
    const r = ablation.restriction[i];
    byHead.set(r, Math.max(byHead.get(r) ?? 0, Math.abs(ablation.delta_loss[i])));
  }
  console.log("max |ablation delta| per head:", Object.fromEntries(byHead));
  for (const [h, m] of byHead) assert.ok(m > 1e-4, `ablating ${h} changed nothing`);
  // Reference check of one delta.
  const ctx0 = contexts.subarray(0, T);
  const l0 = referenceForwardBackward(CFG, Float64Array.from(W), ctx0, 1, T, false).tokenLosses;
  const l1 =
    referenceForwardBackward(CFG, Float64Array.from(ablateHead(CFG, W, 0, 1)), ctx0, 1, T, false).tokenLosses;
  const i01 = ablation.restriction.findIndex((r, i) =>
    r === "0:1" && ablation.context[i] === 0 && ablation.position[i] === 3
  );
  console.log(`ablation delta vs reference: ${ablation.delta_loss[i01]} vs ${l1[2] - l0[2]}`);
  assert.ok(Math.abs(ablation.delta_loss[i01] - (l1[2] - l0[2])) < 1e-4);

  const zeroed = ablateHead(CFG, W, 0, 1);
  const again = await runAblation(gpu, {
    cfg: CFG,
    params: zeroed,
    step: 7,
    probes: [{ name: "p", contexts }],
    heads: ["0:1"],
  });
  const m = again.ablation.delta_loss.reduce((x, d) => Math.max(x, Math.abs(d)), 0);
  console.log(`ablating an already-ablated head: max |delta| ${m}`);
  assert.equal(m, 0);
});

Deno.test("a checkpoint unit is deterministic from its seed and gives one row per probe × restriction", async () => {
  const opts = {
    cfg: CFG,
    params: W,
    step: 3,
    base: BASE,
    probes: [{ name: "p", tokens: PROBE }, { name: "q", tokens: BASE }],
    deltaH: 0.2,
    restrictions: ["0:0", "1:1", "full"],
    sgld: { chains: 2, draws: 6, batchSize: 5 },
    seqLen: T,
    seed: 42,
  };
  const a = await runCheckpointSusceptibilities(gpu, opts);
  const b = await runCheckpointSusceptibilities(gpu, opts);
  assert.deepEqual(a.susceptibility, b.susceptibility);
  assert.deepEqual([...a.susceptibility.restriction], ["0:0", "1:1", "full", "0:0", "1:1", "full"]);
  assert.deepEqual([...a.susceptibility.layer], [0, 1, -1, 0, 1, -1]);
  assert.equal(a.traces.loss.length, 3 * 2 * 6);
  // chi_terms (paired by default): each row's 2 chains × 6 draws in row order, their mean the row's χ̂.
  const n = 2 * 6;
  assert.equal(a.chiTerms.term.length, a.susceptibility.chi.length * n);
  a.susceptibility.chi.forEach((chi, j) => {
    assert.equal(a.chiTerms.restriction[j * n], a.susceptibility.restriction[j]);
    assert.equal(a.chiTerms.probe[j * n], a.susceptibility.probe[j]);
    const mean = Array.from(a.chiTerms.term).slice(j * n, (j + 1) * n).reduce((x, y) => x + y, 0) / n;
    assert.ok(Math.abs(mean - chi) <= 1e-9 * Math.max(1e-6, Math.abs(chi)), `row ${j}: ${mean} vs ${chi}`);
  });
  for (const x of a.susceptibility.chi) assert.ok(Number.isFinite(x));
  console.log("χ̂ per row:", [...a.susceptibility.chi].map((x) => x.toExponential(2)).join(" "));
  const c = await runCheckpointSusceptibilities(gpu, { ...opts, seed: 43 });
  assert.notDeepEqual(a.susceptibility.chi, c.susceptibility.chi);
});

Deno.test("per-token unit: one row per restriction × context × predicted token, contexts decoded, eq. 45 reported", async () => {
  const contexts = probeContexts(PROBE, T, 2, 1);
  const res = await runPerTokenSusceptibilities(gpu, {
    cfg: CFG,
    params: W,
    step: 9,
    base: BASE,
    probes: [{ name: "p", tokens: PROBE, contexts }],
    deltaH: 0.25,
    restrictions: ["1:0", "full"],
    sgld: { chains: 2, draws: 5, batchSize: 4 },
    seqLen: T,
    seed: 3,
    decode: (id) => `<${id}>`,
  });
  assert.equal(res.perToken.chi.length, 2 * 2 * (T - 1));
  assert.deepEqual([...new Set(res.perToken.restriction)], ["1:0", "full"]);
  assert.equal(Math.min(...res.perToken.position), 1);
  assert.equal(Math.max(...res.perToken.position), T - 1);
  for (const x of res.perToken.chi) assert.ok(Number.isFinite(x));
  assert.equal(res.contexts.token.length, contexts.length);
  assert.equal(res.contexts.text[3], `<${contexts[3]}>`);
  assert.equal(res.consistency.length, 2);
  for (const c of res.consistency) {
    console.log(
      `${c.restriction}: δh·mean χ_i ${c.predicted.toExponential(3)} vs χ̂ ${c.chiHat.toExponential(3)} ± ${
        c.chiSe.toExponential(2)
      }`,
    );
    assert.ok(Number.isFinite(c.predicted) && Number.isFinite(c.chiHat));
  }
});
