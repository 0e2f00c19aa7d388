/**
 * Initial parameters, as TransformerLens initializes the paper's model: every weight matrix N(0, σ²) with
 * σ = 0.8/√d_model (its "initializer_range" default), biases 0, LayerNorm w = 1 and b = 0.
 */
import { Rng } from "../util/random.ts";
import type { ModelConfig } from "./config.ts";
import { paramLayout } from "./params.ts";

/**
 * Fresh parameters in the layout of params.ts, deterministic from `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initParams, paramLayout, TINY_CONFIG } from "chi";
 *
 * const params = initParams(TINY_CONFIG, 42);
 * assert.equal(params.length, paramLayout(TINY_CONFIG).stride);
 * assert.deepEqual(initParams(TINY_CONFIG, 42), params); // the same seed, the same parameters
 * ```
 */
export function initParams(cfg: ModelConfig, seed: number): Float32Array {
  const layout = paramLayout(cfg);
  const out = new Float32Array(layout.stride);
  const sigma = 0.8 / Math.sqrt(cfg.d_model);
  for (const t of layout.tensors) {
    const leaf = t.name.slice(t.name.lastIndexOf(".") + 1);
    if (leaf.startsWith("W_")) {
      // One substream per tensor: adding a layer does not change the others' initial values.
      const rng = new Rng(seed).fork(t.name);
      for (let i = 0; i < t.size; i++) out[t.offset + i] = sigma * rng.normal();
    } else if (leaf === "w") {
      out.fill(1, t.offset, t.offset + t.size);
    }
  }
  return out;
}
