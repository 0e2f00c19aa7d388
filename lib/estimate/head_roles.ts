/**
 * Mechanistic head roles, found without SGLD, to check susceptibilities against: the standard diagnostics on
 * repeated random tokens (Olsson et al. 2022, "In-context learning and induction heads"; the paper's
 * section 4 identifies its induction heads the same way). Each probe sequence is S uniform random tokens
 * followed by the same S tokens again, so the second copy is predictable only in context.
 *
 *   induction score of a head      = mean attention from a query at i in the second copy (S ≤ i < 2S) to
 *                                    key i − S + 1, the token after the earlier occurrence of token i;
 *   previous-token score of a head = mean attention from i to i − 1 over 1 ≤ i < 2S;
 *   in-context gain of the model   = mean loss predicting the first copy − mean loss predicting the second.
 *
 * A uniform head scores about 1/i on both, so scores well above the 1/S level mean the role is present.
 * Computed with the float64 reference forward pass (lib/model/reference.ts): exact and fast enough for the
 * tiny model, and independent of the GPU kernels whose outputs it is used to interpret.
 *
 * Why lib/estimate: like the estimators, it computes a results table (head_roles.arrow) from a checkpoint, and
 * the planted validation (planted_validation.ts) calls it; lib/analysis reads results tables and may import
 * lib/estimate, never the other way round.
 */
import type { ModelConfig } from "../model/config.ts";
import { headName } from "../model/restriction.ts";
import { referenceForwardBackward } from "../model/reference.ts";
import { Rng } from "../util/random.ts";
import type { HeadRolesInput } from "../tables/schema.ts";

export interface HeadRoleOptions {
  /** Number of repeated sequences averaged over (default: about 2048 query positions, at least 2). */
  sequences?: number;
  /** Length S of the random span; the sequence is 2S ≤ n_ctx (default ⌊n_ctx/2⌋). */
  span?: number;
  /** Seed of the random tokens (default 0). */
  seed?: number;
  /**
   * Token ids the spans are drawn from, without repetition inside a span (at least `span` of them); default:
   * the whole vocabulary, with repetition. A model that learned induction on a corpus's own repeated tokens
   * (the synthetic corpus's names, `inductionNameIds`) is best read on those.
   */
  tokens?: ArrayLike<number>;
}

/** One row per head, in (layer, head) order. */
export interface HeadRoles {
  layer: Int32Array;
  head: Int32Array;
  /** Mean attention to the token after the earlier occurrence, [n_layers·n_heads]. */
  induction: Float64Array;
  /** Mean attention to the previous position, [n_layers·n_heads]. */
  previousToken: Float64Array;
  /** Mean next-token loss on predictions of the first copy's tokens (positions 0..S−2 predict 1..S−1). */
  lossFirst: number;
  /** Mean next-token loss on predictions of the second copy's tokens (positions S..2S−2 predict S+1..2S−1). */
  lossSecond: number;
}

/**
 * The repeated-random-token batch: [sequences, 2S], row b = x_b x_b with x_b uniform over the vocabulary, or,
 * given `pool`, S distinct ids drawn from it.
 */
export function repeatedTokens(
  dVocab: number,
  sequences: number,
  span: number,
  seed: number,
  pool?: ArrayLike<number>,
): Int32Array {
  const rng = new Rng(seed);
  const T = 2 * span;
  const out = new Int32Array(sequences * T);
  if (pool !== undefined && pool.length < span) {
    throw new RangeError(`headRoles: tokens has ${pool.length} ids, fewer than the span ${span}`);
  }
  for (let b = 0; b < sequences; b++) {
    const left = pool === undefined ? [] : Array.from(pool);
    for (let i = 0; i < span; i++) {
      const t = pool === undefined ? rng.int(dVocab) : left.splice(rng.int(left.length), 1)[0];
      out[b * T + i] = t;
      out[b * T + span + i] = t;
    }
  }
  return out;
}

export function headRoles(
  cfg: ModelConfig,
  params: ArrayLike<number>,
  opts: HeadRoleOptions = {},
): HeadRoles {
  const S = opts.span ?? Math.floor(cfg.n_ctx / 2);
  const B = opts.sequences ?? Math.max(2, Math.round(2048 / (2 * S)));
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`headRoles: sequences must be ≥ 1, got ${B}`);
  if (!Number.isInteger(S) || S < 2 || 2 * S > cfg.n_ctx) {
    throw new RangeError(`headRoles: span must be an integer in [2, n_ctx/2 = ${cfg.n_ctx / 2}], got ${S}`);
  }
  const T = 2 * S;
  if (opts.tokens !== undefined) {
    for (const t of Array.from(opts.tokens)) {
      if (!Number.isInteger(t) || t < 0 || t >= cfg.d_vocab) {
        throw new RangeError(`headRoles: token id ${t} is outside the vocabulary [0, ${cfg.d_vocab})`);
      }
    }
  }
  const tokens = repeatedTokens(cfg.d_vocab, B, S, seed, opts.tokens);
  const res = referenceForwardBackward(cfg, Float64Array.from(params), tokens, B, T, false);
  const H = cfg.n_heads, L = cfg.n_layers, n = L * H;
  const roles: HeadRoles = {
    layer: new Int32Array(n),
    head: new Int32Array(n),
    induction: new Float64Array(n),
    previousToken: new Float64Array(n),
    lossFirst: 0,
    lossSecond: 0,
  };
  for (let l = 0; l < L; l++) {
    const p = res.patterns[l]; // [H, B, T, T]
    for (let h = 0; h < H; h++) {
      let ind = 0, prev = 0;
      for (let b = 0; b < B; b++) {
        const base = (h * B + b) * T * T;
        for (let i = 1; i < T; i++) prev += p[base + i * T + i - 1];
        for (let i = S; i < T; i++) ind += p[base + i * T + i - S + 1];
      }
      const row = l * H + h;
      roles.layer[row] = l;
      roles.head[row] = h;
      roles.induction[row] = ind / (B * S);
      roles.previousToken[row] = prev / (B * (T - 1));
    }
  }
  let first = 0, second = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < S - 1; i++) first += res.tokenLosses[b * T + i];
    for (let i = S; i < T - 1; i++) second += res.tokenLosses[b * T + i];
  }
  roles.lossFirst = first / (B * (S - 1));
  roles.lossSecond = second / (B * (S - 1));
  return roles;
}

/** The rows of head_roles.arrow for one checkpoint step. */
export function headRolesColumns(step: number, r: HeadRoles): HeadRolesInput {
  const n = r.layer.length;
  return {
    step: new Int32Array(n).fill(step),
    restriction: Array.from(r.layer, (l, i) => headName(l, r.head[i])),
    layer: r.layer,
    head: r.head,
    induction: r.induction,
    previous_token: r.previousToken,
    loss_first: new Float64Array(n).fill(r.lossFirst),
    loss_second: new Float64Array(n).fill(r.lossSecond),
  };
}
