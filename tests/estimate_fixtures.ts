/**
 * The small random transformer and token streams shared by the estimator tests on the transformer target
 * (estimate_transformer_test.ts, estimate_paired_test.ts); the config is also the GPU-vs-reference model test's
 * (model_transformer_test.ts).
 */
import type { ModelConfig } from "../lib/model/config.ts";
import { initParams } from "../lib/model/init.ts";
import { Rng } from "../lib/util/random.ts";

export const CFG: ModelConfig = {
  n_layers: 2,
  n_heads: 2,
  d_model: 16,
  d_head: 8,
  n_ctx: 12,
  d_vocab: 37,
  normalization: "LN",
  positional: "shortformer",
};
export const T = 12;

/** n uniform random token ids of CFG's vocabulary. */
export function stream(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(CFG.d_vocab));
}

export const BASE = stream(5000, 1);
export const PROBE = stream(3000, 2);
export const W = initParams(CFG, 3);
