/**
 * The GPU transformer (lib/model/transformer.ts) against the float64 reference (lib/model/reference.ts):
 * per-token losses, mean losses and the full gradient, for both normalization/positional variants, several
 * copies with their own parameters and tokens, shared tokens, and the chunked unembedding.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, upload } from "../lib/gpu/buffers.ts";
import { submitProgram } from "../lib/gpu/program.ts";
import type { ModelConfig } from "../lib/model/config.ts";
import { paramLayout } from "../lib/model/params.ts";
import { initParams } from "../lib/model/init.ts";
import { referenceForwardBackward } from "../lib/model/reference.ts";
import { createTransformer, TransformerError, unembedChunks } from "../lib/model/transformer.ts";
import { CFG as SMALL } from "./estimate_fixtures.ts";
import { Rng } from "../lib/util/random.ts";

const gpu = await getGpu();

function randomTokens(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(V));
}

/** Parameters with random (non-zero) biases and LN weights so every gradient path is exercised. */
function randomParams(cfg: ModelConfig, seed: number): Float32Array {
  const p = initParams(cfg, seed);
  const layout = paramLayout(cfg);
  const rng = new Rng(seed + 1000);
  for (const t of layout.tensors) {
    if (t.name.includes(".b") || t.name.endsWith(".w")) {
      for (let i = 0; i < t.size; i++) p[t.offset + i] = (t.name.endsWith(".w") ? 1 : 0) + 0.3 * rng.normal();
    }
  }
  return p;
}

interface Case {
  name: string;
  cfg: ModelConfig;
  C: number;
  B: number;
  T: number;
  shared: boolean;
  chunkRows?: number;
}

async function compare(c: Case): Promise<void> {
  const { cfg, C, B, T } = c;
  const layout = paramLayout(cfg);
  const P = layout.stride;
  const model = await createTransformer(
    gpu,
    cfg,
    { copies: C, batch: B, seqLen: T, sharedTokens: c.shared },
    {
      chunkRows: c.chunkRows,
    },
  );
  const all = new Float32Array(C * P);
  for (let i = 0; i < C; i++) all.set(randomParams(cfg, 11 + i), i * P);
  upload(gpu, model.params, all);
  const tokens = randomTokens((c.shared ? 1 : C) * B * T, cfg.d_vocab, 5);
  model.setTokens(tokens);
  submitProgram(gpu, [...model.forwardBackward, ...model.meanLoss(0)]);
  const [grads, losses, means] = await Promise.all([
    readF32(gpu, model.grads!, 0, (C * P) * 4),
    readF32(gpu, model.tokenLosses, 0, (C * B * T) * 4),
    readF32(gpu, model.meanLosses, 0, C * 4),
  ]);
  let maxLoss = 0, maxGrad = 0, maxRel = 0;
  for (let i = 0; i < C; i++) {
    const t = c.shared ? tokens : tokens.subarray(i * B * T, (i + 1) * B * T);
    const ref = referenceForwardBackward(cfg, Float64Array.from(all.subarray(i * P, (i + 1) * P)), t, B, T);
    maxLoss = Math.max(maxLoss, Math.abs(means[i] - ref.loss));
    for (let r = 0; r < B * T; r++) {
      maxLoss = Math.max(maxLoss, Math.abs(losses[i * B * T + r] - ref.tokenLosses[r]));
    }
    let scale = 0;
    for (let j = 0; j < P; j++) scale = Math.max(scale, Math.abs(ref.grads![j]));
    for (let j = 0; j < P; j++) {
      const d = Math.abs(grads[i * P + j] - ref.grads![j]);
      maxGrad = Math.max(maxGrad, d);
      maxRel = Math.max(maxRel, d / scale);
    }
  }
  console.log(
    `${c.name}: max |Δloss| ${maxLoss.toExponential(2)}, max |Δgrad| ${maxGrad.toExponential(2)}, ` +
      `relative to max |grad| ${maxRel.toExponential(2)}`,
  );
  // f32 accumulation over at most a few hundred terms: 1e-4 absolute on losses of order ln V ≈ 3.6, and 1e-3
  // of the largest gradient entry.
  assert.ok(maxLoss < 1e-4, `loss differs by ${maxLoss}`);
  assert.ok(maxRel < 1e-3, `gradient differs by ${maxRel} of its scale`);
  model.destroy();
}

Deno.test("createTransformer: loss, per-token losses and gradient match the f64 reference (LN, shortformer)", () =>
  compare({ name: "LN/shortformer C=1", cfg: SMALL, C: 1, B: 3, T: 10, shared: true }));

Deno.test("createTransformer: no LN, standard positions match the f64 reference", () =>
  compare({
    name: "none/standard C=1",
    cfg: { ...SMALL, normalization: "none", positional: "standard" },
    C: 1,
    B: 2,
    T: 12,
    shared: true,
  }));

Deno.test("createTransformer: no LN with shortformer positions matches the f64 reference", () =>
  compare({
    name: "none/shortformer",
    cfg: { ...SMALL, normalization: "none" },
    C: 1,
    B: 2,
    T: 7,
    shared: true,
  }));

Deno.test("createTransformer: 3 copies with their own parameters and tokens match the reference per copy", () =>
  compare({ name: "LN/shortformer C=3 per-copy tokens", cfg: SMALL, C: 3, B: 2, T: 9, shared: false }));

Deno.test("createTransformer: shared tokens across copies and a chunked unembedding (7 rows per chunk)", () =>
  compare({
    name: "C=2 shared, chunks of 7 rows",
    cfg: SMALL,
    C: 2,
    B: 2,
    T: 9,
    shared: true,
    chunkRows: 7,
  }));

Deno.test("unembedChunks: whole copies when they fit, row ranges of one copy otherwise; every row once", () => {
  for (const [C, R, max] of [[4, 10, 25], [3, 10, 7], [1, 5, 5], [2, 9, 100]]) {
    const seen = new Uint8Array(C * R);
    for (const ch of unembedChunks(C, R, max)) {
      assert.ok(ch.copies * ch.rows <= max);
      for (let c = ch.c0; c < ch.c0 + ch.copies; c++) {
        for (let r = ch.row0; r < ch.row0 + ch.rows; r++) seen[c * R + r]++;
      }
    }
    assert.ok(seen.every((s) => s === 1), `C=${C} R=${R} max=${max}`);
  }
});

Deno.test("createTransformer: bad shapes and token ids give errors naming the field", async () => {
  await assert.rejects(
    createTransformer(gpu, SMALL, { copies: 1, batch: 1, seqLen: 13, sharedTokens: true }),
    (e: Error) => e instanceof TransformerError && /seqLen: 13 exceeds the model's n_ctx 12/.test(e.message),
  );
  await assert.rejects(
    createTransformer(gpu, SMALL, { copies: 0, batch: 1, seqLen: 4, sharedTokens: true }),
    /copies/,
  );
  const model = await createTransformer(gpu, SMALL, { copies: 1, batch: 1, seqLen: 4, sharedTokens: true });
  assert.throws(
    () => model.setTokens(Int32Array.from([1, 2, 37, 0]), "batch 3"),
    /batch 3: token id 37 at position 2/,
  );
  assert.throws(
    () => model.setTokens(Int32Array.from([1, 2, 3]), "batch 4"),
    /batch 4: expected 1·1·4 = 4 ids, got 3/,
  );
  model.destroy();
});
