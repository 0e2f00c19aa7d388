import assert from "node:assert/strict";
import { type ModelConfig, TINY_CONFIG } from "../lib/model/config.ts";
import { initParams } from "../lib/model/init.ts";
import { paramLayout } from "../lib/model/params.ts";
import { referenceForwardBackward } from "../lib/model/reference.ts";
import { Rng } from "../lib/util/random.ts";

const MICRO: ModelConfig = {
  n_layers: 2,
  n_heads: 2,
  d_model: 8,
  d_head: 4,
  n_ctx: 6,
  d_vocab: 11,
  normalization: "LN",
  positional: "shortformer",
};

function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

/** Perturbs every parameter a little so that LN weights, biases and all paths carry gradient. */
function jitteredParams(cfg: ModelConfig, seed: number): Float64Array {
  const p = Float64Array.from(initParams(cfg, seed));
  const rng = new Rng(seed + 1);
  const layout = paramLayout(cfg);
  for (const t of layout.tensors) for (let i = 0; i < t.size; i++) p[t.offset + i] += 0.3 * rng.normal();
  return p;
}

for (
  const variant of [
    { normalization: "LN", positional: "shortformer" },
    { normalization: "none", positional: "standard" },
  ] as const
) {
  Deno.test(`referenceForwardBackward: gradient matches central finite differences (${variant.normalization}, ${variant.positional})`, () => {
    const cfg = { ...MICRO, ...variant };
    const B = 2, T = 5;
    const params = jitteredParams(cfg, 3);
    const tokens = randomTokens(B * T, cfg.d_vocab, 4);
    const { grads } = referenceForwardBackward(cfg, params, tokens, B, T);
    const layout = paramLayout(cfg);
    const h = 1e-6;
    let maxErr = 0;
    for (const t of layout.tensors) {
      for (let i = 0; i < t.size; i++) {
        const j = t.offset + i;
        const keep = params[j];
        params[j] = keep + h;
        const up = referenceForwardBackward(cfg, params, tokens, B, T, false).loss;
        params[j] = keep - h;
        const down = referenceForwardBackward(cfg, params, tokens, B, T, false).loss;
        params[j] = keep;
        const fd = (up - down) / (2 * h);
        const err = Math.abs(fd - grads![j]) / Math.max(1e-3, Math.abs(fd));
        if (err > maxErr) maxErr = err;
        assert.ok(err < 1e-5, `${t.name}[${i}]: analytic ${grads![j]} vs finite difference ${fd}`);
      }
    }
    console.log(`  max relative error over ${layout.count} parameters: ${maxErr.toExponential(2)}`);
  });
}

Deno.test("referenceForwardBackward: an untrained model's loss is ln(d_vocab) plus the logit-variance term", () => {
  // At init the final LayerNorm output has unit variance per element and W_U ~ N(0, σ²), so each logit is
  // ~N(0, s²) with s² = d_model·σ²; for Gaussian logits E[loss] ≈ ln(d_vocab) + s²/2.
  const cfg = TINY_CONFIG;
  const B = 4, T = 64;
  const tokens = randomTokens(B * T, cfg.d_vocab, 2);
  const { loss } = referenceForwardBackward(cfg, Float64Array.from(initParams(cfg, 1)), tokens, B, T, false);
  const s2 = cfg.d_model * (0.8 / Math.sqrt(cfg.d_model)) ** 2;
  const expected = Math.log(cfg.d_vocab) + s2 / 2;
  console.log(
    `  loss ${loss.toFixed(4)}, ln(${cfg.d_vocab}) = ${Math.log(cfg.d_vocab).toFixed(4)}, expected ${
      expected.toFixed(4)
    }`,
  );
  assert.ok(Math.abs(loss - expected) < 0.15);
});

Deno.test("referenceForwardBackward: out-of-range token id is an error naming the position", () => {
  const tokens = new Int32Array([1, 2, 11, 3]);
  assert.throws(
    () => referenceForwardBackward(MICRO, Float64Array.from(initParams(MICRO, 1)), tokens, 1, 4),
    /token id 11 at position 2/,
  );
});
