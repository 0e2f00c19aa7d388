/**
 * A two-layer attention-only model whose induction circuit is wired by hand, and token streams that need it:
 * the known-answer case for the head-role diagnostic (head_roles.ts) and for the question of issue 4(c), whether
 * an induction-enriched probe singles out the heads of an induction circuit. No layer norm, shortformer
 * positions (W_pos enters queries and keys only), residual dims in four blocks:
 *
 *   token one-hot [0, V) · position one-hot [V, V+N) (W_pos) · previous token [V+N, 2V+N) · prediction [2V+N, 3V+N)
 *
 *   head 0:0, previous-token head: q_i = c·e_i, k_j = e_{j+1} on the position block; copies token j into
 *             "previous token" at i (so position i holds x_{i−1});
 *   head 1:0, induction head: q_i = c·onehot(x_i), k_j = previous token at j; attends to the j after an
 *             earlier occurrence of x_i and copies x_j into "prediction", which W_U reads out with gain g;
 *   heads 0:1 and 1:1 are all zero (uniform attention, no output).
 *
 * d_model = 3V + N rounded up to a multiple of 8, two heads per layer of d_model/2.
 */
import type { ModelConfig } from "../model/config.ts";
import { paramLayout, tensor } from "../model/params.ts";
import { Rng } from "../util/random.ts";

export interface PlantedInductionOptions {
  /** Vocabulary V (default 16). */
  vocab?: number;
  /** Context length N (default 16). */
  nCtx?: number;
  /** Attention logit of a matching key after the 1/√d_head scale (default 8). */
  logit?: number;
  /** Unembedding gain g on the prediction block (default 4). */
  readout?: number;
}

export function plantedInductionModel(
  o: PlantedInductionOptions = {},
): { cfg: ModelConfig; params: Float32Array } {
  const V = o.vocab ?? 16, N = o.nCtx ?? 16;
  const D = Math.ceil((3 * V + N) / 8) * 8, E = D / 2;
  const cfg: ModelConfig = {
    n_layers: 2,
    n_heads: 2,
    d_model: D,
    d_head: E,
    n_ctx: N,
    d_vocab: V,
    normalization: "none",
    positional: "shortformer",
  };
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.stride);
  const c = (o.logit ?? 8) * Math.sqrt(E);
  const set = (name: string, index: number, value: number) => {
    params[tensor(layout, name).offset + index] = value;
  };
  const POS = V, PREV = V + N, PRED = 2 * V + N;
  // W_Q, W_K, W_V: [n_heads, d_model, d_head]; W_O: [n_heads, d_head, d_model]; only head 0 of each layer.
  const qkv = (d: number, e: number) => d * E + e;
  const out = (e: number, d: number) => e * D + d;
  for (let v = 0; v < V; v++) set("embed.W_E", v * D + v, 1);
  for (let t = 0; t < N; t++) {
    set("pos_embed.W_pos", t * D + POS + t, 1);
    set("blocks.0.attn.W_Q", qkv(POS + t, t), c);
    if (t + 1 < N) set("blocks.0.attn.W_K", qkv(POS + t, t + 1), 1);
  }
  for (let v = 0; v < V; v++) {
    set("blocks.0.attn.W_V", qkv(v, v), 1);
    set("blocks.0.attn.W_O", out(v, PREV + v), 1);
    set("blocks.1.attn.W_Q", qkv(v, v), c);
    set("blocks.1.attn.W_K", qkv(PREV + v, v), 1);
    set("blocks.1.attn.W_V", qkv(v, v), 1);
    set("blocks.1.attn.W_O", out(v, PRED + v), 1);
    set("unembed.W_U", (PRED + v) * V + v, o.readout ?? 4);
  }
  return { cfg, params };
}

export interface PlantedStreamOptions {
  vocab: number;
  /** Length S of a random span; a block is 2S tokens. */
  span: number;
  tokens: number;
  /** Share of blocks whose second half repeats the first (the rest: 2S fresh random tokens). */
  repeatFraction: number;
  seed: number;
}

/** A token stream of blocks: S uniform random tokens, then either the same S again or S fresh ones. */
export function plantedInductionStream(o: PlantedStreamOptions): Int32Array {
  const rng = new Rng(o.seed);
  const out = new Int32Array(o.tokens);
  for (let at = 0; at < o.tokens; at += 2 * o.span) {
    const repeat = rng.float() < o.repeatFraction;
    for (let i = 0; i < o.span && at + i < o.tokens; i++) out[at + i] = rng.int(o.vocab);
    for (let i = 0; i < o.span && at + o.span + i < o.tokens; i++) {
      out[at + o.span + i] = repeat ? out[at + i] : rng.int(o.vocab);
    }
  }
  return out;
}
