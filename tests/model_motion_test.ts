/**
 * Restriction-aware passes (createTransformer's `motion` option): a copy that moves one head gets that head's
 * weight gradients and a backward that stops at its layer, a still copy gets its loss alone, and copies start
 * their forward from a representative's residual stream below their lowest moving layer. Checked against the
 * full pass on the same parameters and tokens (copies at a common w* but for what they move, as in SGLD): the
 * losses are the same bits, and every gradient element the copy's restriction mask lets move equals the full
 * pass's; a still copy's gradient is all zero.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, upload } from "../lib/gpu/buffers.ts";
import { submitProgram } from "../lib/gpu/program.ts";
import type { ModelConfig } from "../lib/model/config.ts";
import { paramLayout } from "../lib/model/params.ts";
import { initParams } from "../lib/model/init.ts";
import { type Motion, restrictionMask } from "../lib/model/restriction.ts";
import { createTransformer, TransformerError } from "../lib/model/transformer.ts";
import { CFG as SMALL } from "./estimate_fixtures.ts";
import { Rng } from "../lib/util/random.ts";

const gpu = await getGpu();

const ALL: Motion = { kind: "all" };
const NONE: Motion = { kind: "none" };
const head = (layer: number, h: number): Motion => ({ kind: "head", layer, head: h });

/** The mask of what a motion moves (undefined for none). */
function maskOf(layout: ReturnType<typeof paramLayout>, m: Motion): Uint32Array | undefined {
  if (m.kind === "none") return undefined;
  return restrictionMask(layout, m.kind === "all" ? "full" : `${m.layer}:${m.head}`);
}

const moves = (mask: Uint32Array, e: number) => ((mask[e >>> 5] >>> (e & 31)) & 1) === 1;

/**
 * Parameters as an SGLD run has them: every copy at a common w* (with non-zero biases and LN weights, so every
 * gradient path carries signal) except the elements its motion moves, which are perturbed per copy.
 */
function copyParams(cfg: ModelConfig, motion: Motion[]): Float32Array {
  const layout = paramLayout(cfg);
  const P = layout.stride;
  const wStar = initParams(cfg, 11);
  const rng = new Rng(100);
  for (const t of layout.tensors) {
    if (!(t.name.includes(".b") || t.name.endsWith(".w"))) continue;
    for (let i = 0; i < t.size; i++) {
      wStar[t.offset + i] = (t.name.endsWith(".w") ? 1 : 0) + 0.3 * rng.normal();
    }
  }
  const all = new Float32Array(motion.length * P);
  motion.forEach((m, c) => {
    all.set(wStar, c * P);
    const mask = maskOf(layout, m);
    if (!mask) return;
    for (let e = 0; e < P; e++) if (moves(mask, e)) all[c * P + e] += 0.05 * rng.normal();
  });
  return all;
}

interface Case {
  cfg: ModelConfig;
  motion: Motion[];
  B: number;
  T: number;
  shared: boolean;
  chunkRows?: number;
}

/** Losses and gradients of one forward+backward with the given motion (undefined: the full pass). */
async function run(c: Case, motion: Motion[] | undefined, params: Float32Array, tokens: Int32Array) {
  const C = c.motion.length;
  const model = await createTransformer(gpu, c.cfg, {
    copies: C,
    batch: c.B,
    seqLen: c.T,
    sharedTokens: c.shared,
  }, {
    chunkRows: c.chunkRows,
    motion,
  });
  upload(gpu, model.params, params);
  model.setTokens(tokens);
  submitProgram(gpu, [...model.forwardBackward, ...model.meanLoss(0)]);
  const [grads, losses, means] = await Promise.all([
    readF32(gpu, model.grads!),
    readF32(gpu, model.tokenLosses),
    readF32(gpu, model.meanLosses),
  ]);
  model.destroy();
  return { grads, losses, means };
}

async function compare(c: Case): Promise<void> {
  const C = c.motion.length;
  const layout = paramLayout(c.cfg);
  const P = layout.stride;
  const params = copyParams(c.cfg, c.motion);
  const rng = new Rng(5);
  const tokens = Int32Array.from({ length: (c.shared ? 1 : C) * c.B * c.T }, () => rng.int(c.cfg.d_vocab));
  const full = await run(c, undefined, params, tokens);
  const restricted = await run(c, c.motion, params, tokens);
  assert.deepEqual(restricted.losses, full.losses, "per-token losses differ");
  assert.deepEqual(restricted.means, full.means, "mean losses differ");
  let worst = 0, moving = 0, exact = 0;
  c.motion.forEach((m, copy) => {
    const g = restricted.grads.subarray(copy * P, (copy + 1) * P);
    if (m.kind === "none") {
      assert.ok(g.every((x) => x === 0), `copy ${copy} (still) has a non-zero gradient`);
      return;
    }
    const mask = maskOf(layout, m)!;
    const ref = full.grads.subarray(copy * P, (copy + 1) * P);
    let scale = 0;
    for (let e = 0; e < P; e++) {
      if (moves(mask, e)) scale = Math.max(scale, Math.abs(ref[e]));
    }
    assert.ok(scale > 0, `copy ${copy}: the reference gradient of its moving elements is all zero`);
    for (let e = 0; e < P; e++) {
      if (!moves(mask, e)) continue;
      moving++;
      if (g[e] === ref[e]) exact++;
      worst = Math.max(worst, Math.abs(g[e] - ref[e]) / scale);
    }
  });
  console.log(
    `${moving} moving gradient elements: ${exact} bit-identical, worst |Δ|/scale ${worst.toExponential(2)}`,
  );
  // The same kernels on fewer copies: equal to rounding (a split-K choice may depend on the batch of copies).
  assert.ok(worst < 1e-5, `moving gradients differ by ${worst} of their scale`);
}

Deno.test("motion: heads, full and still copies, LN + shortformer, shared tokens", () =>
  compare({
    cfg: SMALL,
    motion: [head(1, 1), head(1, 1), ALL, NONE, head(0, 0), head(0, 1), ALL],
    B: 2,
    T: 9,
    shared: true,
  }));

Deno.test("motion: per-copy tokens and a chunked unembedding split across motions", () =>
  compare({
    cfg: SMALL,
    motion: [ALL, head(0, 1), NONE, head(1, 0)],
    B: 2,
    T: 8,
    shared: false,
    chunkRows: 20,
  }));

Deno.test("motion: no LN with standard positions, and no LN with shortformer positions", async () => {
  const motion = [head(0, 1), ALL, head(1, 0), NONE];
  await compare({
    cfg: { ...SMALL, normalization: "none", positional: "standard" },
    motion,
    B: 2,
    T: 7,
    shared: true,
  });
  await compare({ cfg: { ...SMALL, normalization: "none" }, motion, B: 2, T: 7, shared: true });
});

Deno.test("motion: a wrong length or a head outside the model is refused naming the field", async () => {
  const shape = { copies: 2, batch: 1, seqLen: 4, sharedTokens: true };
  await assert.rejects(
    () => createTransformer(gpu, SMALL, shape, { motion: [ALL] }),
    (e: unknown) => e instanceof TransformerError && e.field === "motion",
  );
  await assert.rejects(
    () => createTransformer(gpu, SMALL, shape, { motion: [ALL, head(2, 0)] }),
    (e: unknown) => e instanceof TransformerError && e.field === "motion[1].layer",
  );
});
