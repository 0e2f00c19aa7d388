/**
 * FLOPs of the transformer's passes, counted the usual way: 2 per multiply-add of the matmuls and the
 * attention products (causal: half the T² query-key pairs), per token at context length T. LayerNorm, softmax,
 * the embedding lookup and the SGLD update are O(D) per token and not counted, so FLOP/s figures are the useful
 * work rate (as in llm.c's and PyTorch's MFU figures).
 *
 * Per layer, forward: the Q, K, V, O projections fM = 2·4·D·H·E and the attention products fA = 2·2·(T/2)·H·E;
 * the unembedding fU = 2·D·V. A backward product costs its forward twice (input and weight gradient); the
 * attention backward is counted as twice its forward too, so a full forward + backward is 3× the forward.
 *
 * With restriction-aware passes (createTransformer's `motion`) a copy does less:
 *  - "all": the whole forward and backward;
 *  - a head of layer l0: the forward from layer l0 up (shared tokens: below it the copy is w*, see
 *    forwardBody), the unembedding's input gradient only (fU), layers above l0 without weight gradients
 *    (fM + 2·fA), and at l0 the head's share of the input gradient of W_O (fM/4/H), of the attention backward
 *    (2·fA/H) and its own weight gradients (fM/H);
 *  - "none": the unembedding forward alone (its residual stream is copied from the representative);
 * and one representative copy per batch computes the layers below its own start (see forwardBody).
 */
import type { ModelConfig } from "./config.ts";
import { lowestMovingLayer, type Motion } from "./restriction.ts";

/** The per-token pieces: projections and attention of one layer, and the unembedding. */
function pieces(cfg: ModelConfig, T: number) {
  const { d_model: D, n_heads: H, d_head: E, d_vocab: V } = cfg;
  return { fM: 2 * 4 * D * H * E, fA: 2 * 2 * (T / 2) * H * E, fU: 2 * D * V };
}

/**
 * Forward FLOPs per token of the whole model at context length T.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forwardFlopsPerToken, PAPER_CONFIG } from "chi";
 *
 * // 2 layers × (projections 2·4·256·256 + causal attention 2·2·512·256) + unembedding 2·256·5000
 * assert.equal(forwardFlopsPerToken(PAPER_CONFIG, 1024), 2 * (524_288 + 524_288) + 2_560_000);
 * ```
 */
export function forwardFlopsPerToken(cfg: ModelConfig, T: number): number {
  const { fM, fA, fU } = pieces(cfg, T);
  return cfg.n_layers * (fM + fA) + fU;
}

/** Backward FLOPs per token of one copy of motion m. */
function backwardFlopsPerToken(cfg: ModelConfig, T: number, m: Motion): number {
  const { fM, fA, fU } = pieces(cfg, T);
  if (m.kind === "none") return 0;
  if (m.kind === "all") return 2 * forwardFlopsPerToken(cfg, T);
  const above = cfg.n_layers - 1 - m.layer;
  return fU + above * (fM + 2 * fA) + (fM / 4 + 2 * fA + fM) / cfg.n_heads;
}

/**
 * FLOPs per token of one pass over a batch of copies with these motions (createTransformer's `motion`; all
 * "all" is the full pass): the forward, or forward and backward, plus the representative's layers below its
 * start when the tokens are shared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyMotions, forwardFlopsPerToken, passFlopsPerToken, TINY_CONFIG } from "chi";
 *
 * const f = forwardFlopsPerToken(TINY_CONFIG, 64);
 * const full = passFlopsPerToken(TINY_CONFIG, 64, copyMotions(["full"], 2), { backward: true });
 * assert.equal(full, 2 * 3 * f); // forward + backward = 3 × forward, per copy
 * // 2 chains of each layer-1 head: no embedding or layer 0 (but for one representative), no weight gradients
 * // but the head's own: under half the full pass per copy.
 * const heads = passFlopsPerToken(TINY_CONFIG, 64, copyMotions(["1:0", "1:1", "1:2", "1:3"], 2), { backward: true });
 * assert.ok(heads / 8 < 0.5 * 3 * f);
 * ```
 */
export function passFlopsPerToken(
  cfg: ModelConfig,
  T: number,
  motions: readonly Motion[],
  o: { backward: boolean; sharedTokens?: boolean },
): number {
  const shared = o.sharedTokens ?? true;
  const { fM, fA, fU } = pieces(cfg, T);
  // Where each copy's forward starts (forwardBody in transformer.ts): its lowest moving layer, with shared tokens.
  const starts = motions.map((m) => shared ? lowestMovingLayer(m, cfg.n_layers) : 0);
  let total = Math.max(0, ...starts) * (fM + fA); // the representative's layers below its start
  motions.forEach((m, c) => {
    total += (cfg.n_layers - starts[c]) * (fM + fA) + fU;
    if (o.backward) total += backwardFlopsPerToken(cfg, T, m);
  });
  return total;
}
