/**
 * A plain TypeScript, float64 implementation of the model's forward and backward pass. It is the ground truth
 * the GPU kernels are tested against (gradient checks against central finite differences run through it) and
 * the "plain TypeScript" baseline of the training-step benchmark. Written for clarity, not speed.
 *
 * It is the GPU network of transformer_passes.ts with each op replaced by its float64 reference (embedding,
 * layer norm, matmul, column sum, attention, cross entropy, each beside its kernel) and the same op specs
 * (transformer_specs.ts) for one copy, in the same network order: embed, blocks, unembed, then back.
 *
 * Shapes: tokens [B, T]; params in the layout of lib/model/params.ts (one copy); R = B·T rows. The loss is the
 * mean next-token cross-entropy over the B·(T−1) predictions (position t predicts token t+1).
 */
import type { ModelConfig } from "./config.ts";
import { paramLayout, tensor } from "./params.ts";
import { axpyReference } from "./axpy.ts";
import { attentionBackwardReference, attentionPatternReference, attentionReference } from "./attention.ts";
import { crossEntropyReference } from "./cross_entropy.ts";
import { embeddingBackwardReference, embeddingReference } from "./embedding.ts";
import { layerNormBackwardReference, layerNormReference } from "./layernorm.ts";
import { colSumReference, matmulReference } from "./matmul_spec.ts";
import {
  type Chunk,
  embedSpec,
  type NetDims,
  netDims,
  outBiasGradSpec,
  outInputGradSpec,
  outSpec,
  outWeightGradSpec,
  posGradSpec,
  qkvBiasGradSpec,
  qkvInputGradSpec,
  qkvSpec,
  qkvWeightGradSpec,
  unembedBiasGradSpec,
  unembedInputGradSpec,
  unembedSpec,
  unembedWeightGradSpec,
} from "./transformer_specs.ts";

export interface ReferenceResult {
  /** Mean loss over B·(T−1) predictions. */
  loss: number;
  /** Per-token losses [B, T]; position T−1 has no target and is 0. */
  tokenLosses: Float64Array;
  /** Gradient of the mean loss, in the parameter layout (present when requested). */
  grads?: Float64Array;
  /** Attention probabilities per layer, [H, B, T, T] each (row i: query position i, zero past i). */
  patterns: Float64Array[];
}

/** One copy of the network: sizes, parameters, tokens, and the gradient being accumulated. */
interface RefNet {
  d: NetDims;
  /** [P] */
  params: Float64Array;
  /** [B, T] */
  tokens: Int32Array;
  /** [P]; replaced by each op's reference, which returns an updated copy. */
  grads: Float64Array;
  /** The view of one parameter tensor. */
  param(name: string): Float64Array;
}

/** What block l's backward reads from its forward. */
interface BlockCache {
  /** x: [R, D] block input; h, qk: [R, D] LN1 output and query/key input. */
  x: Float64Array;
  h: Float64Array;
  qk: Float64Array;
  /** q, k, v: [H, B, T, E];  z: [B, T, H, E];  pattern: [H, B, T, T]. */
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  z: Float64Array;
  pattern: Float64Array;
}

/**
 * Forward (and, with `withGrads`, backward) pass of the attention-only transformer in float64.
 * Throws naming the position if a token id is out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initParams, referenceForwardBackward, TINY_CONFIG } from "chi";
 *
 * const cfg = { ...TINY_CONFIG, n_layers: 1 };
 * const params = Float64Array.from(initParams(cfg, 0));
 * const tokens = Int32Array.from({ length: 2 * 8 }, (_, i) => (7 * i) % cfg.d_vocab); // B = 2, T = 8
 * const { loss, grads } = referenceForwardBackward(cfg, params, tokens, 2, 8, true);
 * assert.ok(Math.abs(loss - Math.log(cfg.d_vocab)) < 0.5); // near ln V at initialization
 * assert.equal(grads!.length, params.length);
 * ```
 */
export function referenceForwardBackward(
  cfg: ModelConfig,
  params: Float64Array,
  tokens: Int32Array,
  B: number,
  T: number,
  withGrads = true,
): ReferenceResult {
  const n = refNet(cfg, params, tokens, B, T);
  const L = n.d.L;
  // forward: x [R, D] through the blocks
  const xs = [embedForward(n)];
  const caches: BlockCache[] = [];
  for (let l = 0; l < L; l++) {
    caches.push(blockForward(n, l, xs[l]));
    xs.push(residual(n, l, caches[l]));
  }
  const u = unembedForward(n, xs[L]);
  const patterns = caches.map((c) => c.pattern);
  const result = { loss: u.ce.meanLoss[0], tokenLosses: u.ce.losses, patterns };
  if (!withGrads) return result;
  // backward: dresid [R, D] down through the blocks
  let dresid = unembedBackward(n, xs[L], u.hf, u.ce.dlogits);
  for (let l = L - 1; l >= 0; l--) dresid = blockBackward(n, l, caches[l], dresid);
  embedBackward(n, dresid);
  return { ...result, grads: n.grads };
}

/** Checks the inputs (naming the bad token's position) and builds the one-copy network. */
function refNet(cfg: ModelConfig, params: Float64Array, tokens: Int32Array, B: number, T: number): RefNet {
  const layout = paramLayout(cfg);
  if (params.length < layout.stride) {
    throw new RangeError(`params: expected ${layout.stride} elements, got ${params.length}`);
  }
  if (tokens.length !== B * T) {
    throw new RangeError(`tokens: expected B·T = ${B * T} ids, got ${tokens.length}`);
  }
  if (T > cfg.n_ctx) throw new RangeError(`sequence length ${T} exceeds n_ctx ${cfg.n_ctx}`);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < 0 || tokens[i] >= cfg.d_vocab) {
      throw new RangeError(`token id ${tokens[i]} at position ${i} is not in [0, ${cfg.d_vocab})`);
    }
  }
  const param = (name: string) => {
    const t = tensor(layout, name);
    return params.subarray(t.offset, t.offset + t.size);
  };
  return { d: netDims(cfg, layout, 1, B, T), params, tokens, grads: new Float64Array(layout.stride), param };
}

/** grads[name] += values (a layer norm's dw or db). */
function addGrad(n: RefNet, name: string, values: Float64Array): void {
  const off = n.d.off(name);
  for (let i = 0; i < values.length; i++) n.grads[off + i] += values[i];
}

// ---------------------------------------------------------------- embedding

/** x[0] [R, D] = W_E[tokens] (+ W_pos[t] for "standard" positions). */
function embedForward(n: RefNet): Float64Array {
  return embeddingReference(embedSpec(n.d, n.d.R), n.params, n.tokens);
}

/** dW_pos += Σ_b dresid (standard positions); dW_E += scatter of dresid [R, D] by token. */
function embedBackward(n: RefNet, dresid: Float64Array): void {
  if (!n.d.shortformer) n.grads = colSumReference(posGradSpec(n.d, "dW_pos"), dresid, n.grads);
  n.grads = embeddingBackwardReference(embedSpec(n.d, n.d.R), n.grads, dresid, n.tokens);
}

// ---------------------------------------------------------------- block l

/** LN1, q, k, v and attention of block l on x [R, D]. */
function blockForward(n: RefNet, l: number, x: Float64Array): BlockCache {
  const { d, params } = n;
  // h [R, D] = LN1(x);  qk [R, D] = h + W_pos[t] (shortformer) or h
  const h = d.ln
    ? layerNormReference(x, n.param(`blocks.${l}.ln1.w`), n.param(`blocks.${l}.ln1.b`), d.D).y
    : x;
  const qk = d.shortformer ? addPositions(n, h) : h;
  // q, k, v [H, R, E] = in·W + b
  const q = matmulReference(qkvSpec(d, l, "Q"), qk, params, undefined, params);
  const k = matmulReference(qkvSpec(d, l, "K"), qk, params, undefined, params);
  const v = matmulReference(qkvSpec(d, l, "V"), h, params, undefined, params);
  // z [B, T, H, E] = causal softmax(q·kᵀ/√E)·v
  const shape = { C: 1, B: d.B, T: d.T, H: d.H, E: d.E };
  const { z } = attentionReference(shape, q, k, v);
  return { x, h, qk, q, k, v, z, pattern: attentionPatternReference(shape, q, k) };
}

/** x[l+1] [R, D] = x[l] + z·W_O + b_O. */
function residual(n: RefNet, l: number, c: BlockCache): Float64Array {
  return matmulReference(outSpec(n.d, l), c.z, n.params, c.x, n.params);
}

/** qk [R, D] = h + W_pos[t]. */
function addPositions(n: RefNet, h: Float64Array): Float64Array {
  const { R, T, D } = n.d;
  const pos = n.param("pos_embed.W_pos");
  const qk = new Float64Array(R * D);
  for (let r = 0; r < R; r++) {
    for (let e = 0; e < D; e++) qk[r * D + e] = h[r * D + e] + pos[(r % T) * D + e];
  }
  return qk;
}

/** Gradients of block l from dresid [R, D] (that of x[l+1]); returns that of x[l]. */
function blockBackward(n: RefNet, l: number, c: BlockCache, dresid: Float64Array): Float64Array {
  const { d, params } = n;
  // the output projection: db_O, dW_O;  dz [R, H·E] = dresid·W_Oᵀ
  n.grads = colSumReference(outBiasGradSpec(d, l), dresid, n.grads);
  n.grads = matmulReference(outWeightGradSpec(d, l), c.z, dresid, n.grads);
  const dz = matmulReference(outInputGradSpec(d, l), dresid, params);
  // dq, dk, dv [H, R, E]
  const grad = attentionBackwardReference({ C: 1, B: d.B, T: d.T, H: d.H, E: d.E }, c.q, c.k, c.v, dz);
  const { dh, dqk } = qkvBackward(n, l, c, { Q: grad.dq, K: grad.dk, V: grad.dv });
  // LN1 (or its absence): dresid of x[l] = dresid + LN1ᵀ(dh + dqk)
  if (d.shortformer) n.grads = colSumReference(posGradSpec(d, `L${l} dW_pos`), dqk, n.grads);
  const dy = d.shortformer ? axpyReference(1, dqk, dh) : dh;
  if (!d.ln) return axpyReference(1, dy, dresid);
  const ln = layerNormBackwardReference(dy, c.x, n.param(`blocks.${l}.ln1.w`), d.D);
  addGrad(n, `blocks.${l}.ln1.w`, ln.dw);
  addGrad(n, `blocks.${l}.ln1.b`, ln.db);
  return axpyReference(1, ln.dx, dresid);
}

/**
 * dW, db of Q, K, V and the input gradients dqk = Σ_h dq[h]·W_Q[h]ᵀ + dk[h]·W_K[h]ᵀ, dh = Σ_h dv[h]·W_V[h]ᵀ
 * ([R, D]; without shortformer positions both are one sum, as on the GPU).
 */
function qkvBackward(
  n: RefNet,
  l: number,
  c: BlockCache,
  grad: Record<"Q" | "K" | "V", Float64Array>,
): { dh: Float64Array; dqk: Float64Array } {
  const { d, params } = n;
  const input = { Q: c.qk, K: c.qk, V: c.h };
  for (const name of ["Q", "K", "V"] as const) {
    n.grads = matmulReference(qkvWeightGradSpec(d, l, name), input[name], grad[name], n.grads);
    n.grads = colSumReference(qkvBiasGradSpec(d, l, name), grad[name], n.grads);
  }
  let dqk: Float64Array | undefined, dh: Float64Array | undefined;
  for (const name of ["Q", "K", "V"] as const) {
    const toH = name === "V" && d.shortformer;
    const spec = qkvInputGradSpec(d, l, name, name !== "Q" && !toH);
    const out = matmulReference(spec, grad[name], params, spec.accumulate ? dqk : undefined);
    if (toH) dh = out;
    else dqk = out;
  }
  return { dh: dh ?? dqk!, dqk: dqk! };
}

// ---------------------------------------------------------------- unembedding

/** hf [R, D] = LN_final(x[L]); logits [R, V] = hf·W_U + b_U; per-token losses [B, T] and dlogits [R, V]. */
function unembedForward(n: RefNet, x: Float64Array) {
  const { d, params, tokens } = n;
  const hf = d.ln ? layerNormReference(x, n.param("ln_final.w"), n.param("ln_final.b"), d.D).y : x;
  const logits = matmulReference(unembedSpec(d, wholeCopy(d)), hf, params, undefined, params);
  const ce = crossEntropyReference(logits, tokens, {
    copies: 1,
    batch: d.B,
    seqLen: d.T,
    vocab: d.V,
    tokensCopyStride: d.R,
  });
  return { hf, ce };
}

/** dW_U, db_U; dhf [R, D] = dlogits·W_Uᵀ; returns dresid [R, D] = LN_finalᵀ(dhf) (dhf without LN). */
function unembedBackward(n: RefNet, x: Float64Array, hf: Float64Array, dlogits: Float64Array): Float64Array {
  const { d, params } = n;
  const ch = wholeCopy(d);
  n.grads = matmulReference(unembedWeightGradSpec(d, ch), hf, dlogits, n.grads);
  n.grads = colSumReference(unembedBiasGradSpec(d, ch), dlogits, n.grads);
  const dhf = matmulReference(unembedInputGradSpec(d, ch), dlogits, params);
  if (!d.ln) return dhf;
  const ln = layerNormBackwardReference(dhf, x, n.param("ln_final.w"), d.D);
  addGrad(n, "ln_final.w", ln.dw);
  addGrad(n, "ln_final.b", ln.db);
  return ln.dx;
}

/** The one unembedding chunk of a single copy: all R rows. */
function wholeCopy(d: NetDims): Chunk {
  return { c0: 0, copies: 1, row0: 0, rows: d.R };
}
