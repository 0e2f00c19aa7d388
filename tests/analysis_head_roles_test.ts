import assert from "node:assert/strict";
import { headRoles, repeatedTokens } from "../lib/analysis/head_roles.ts";
import type { ModelConfig } from "../lib/model/config.ts";
import { paramLayout, tensor } from "../lib/model/params.ts";

Deno.test("repeatedTokens: the second half of every row repeats the first, the same for the same seed", () => {
  const t = repeatedTokens(50, 3, 7, 5);
  for (let b = 0; b < 3; b++) {
    for (let i = 0; i < 7; i++) assert.equal(t[b * 14 + 7 + i], t[b * 14 + i]);
  }
  assert.deepEqual(t, repeatedTokens(50, 3, 7, 5));
  assert.notDeepEqual(t, repeatedTokens(50, 3, 7, 6));
  assert.ok(t.every((x) => x >= 0 && x < 50));
});

/**
 * A hand-wired two-layer circuit (no layer norm, shortformer positions), residual dims:
 * token one-hot [0, 32), position one-hot [32, 48) (W_pos, Q/K only), previous token [48, 80), prediction [80, 112).
 *   L0H0: previous-token head: q_i = c·e_i, k_j = e_{j+1} on the position dims; copies token j into "previous token".
 *   L1H0: induction head: q_i = c·token_i, k_j = previous token at j; copies token j into "prediction",
 *         which W_U reads out. L0H1 and L1H1 are all zero (uniform attention, no output).
 */
function inductionCircuit(): { cfg: ModelConfig; params: Float64Array } {
  const cfg: ModelConfig = {
    n_layers: 2,
    n_heads: 2,
    d_model: 128,
    d_head: 64,
    n_ctx: 16,
    d_vocab: 32,
    normalization: "none",
    positional: "shortformer",
  };
  const layout = paramLayout(cfg);
  const params = new Float64Array(layout.stride);
  const D = cfg.d_model, E = cfg.d_head, V = cfg.d_vocab;
  const c = 30 * Math.sqrt(E); // attention logits of 30 after the 1/√d_head scale
  const set = (name: string, index: number, value: number) => {
    params[tensor(layout, name).offset + index] = value;
  };
  // W_Q, W_K, W_V: [n_heads, d_model, d_head]; W_O: [n_heads, d_head, d_model]; head 0 only.
  const qkv = (d: number, e: number) => d * E + e;
  const o = (e: number, d: number) => e * D + d;
  for (let v = 0; v < V; v++) set("embed.W_E", v * D + v, 1);
  for (let t = 0; t < cfg.n_ctx; t++) set("pos_embed.W_pos", t * D + 32 + t, 1);
  for (let t = 0; t < cfg.n_ctx; t++) {
    set("blocks.0.attn.W_Q", qkv(32 + t, t), c);
    if (t + 1 < E) set("blocks.0.attn.W_K", qkv(32 + t, t + 1), 1);
  }
  for (let v = 0; v < V; v++) {
    set("blocks.0.attn.W_V", qkv(v, v), 1);
    set("blocks.0.attn.W_O", o(v, 48 + v), 1);
    set("blocks.1.attn.W_Q", qkv(v, v), c);
    set("blocks.1.attn.W_K", qkv(48 + v, v), 1);
    set("blocks.1.attn.W_V", qkv(v, v), 1);
    set("blocks.1.attn.W_O", o(v, 80 + v), 1);
    set("unembed.W_U", (80 + v) * V + v, 12);
  }
  return { cfg, params };
}

Deno.test("headRoles: finds the previous-token and induction heads of a hand-wired circuit, and its in-context gain", () => {
  const { cfg, params } = inductionCircuit();
  const r = headRoles(cfg, params, { sequences: 32, span: 8, seed: 3 });
  const fmt = (a: Float64Array) => Array.from(a, (x) => x.toFixed(3)).join(" ");
  console.log(`induction ${fmt(r.induction)}  previous-token ${fmt(r.previousToken)}`);
  console.log(`loss first copy ${r.lossFirst.toFixed(3)}, second copy ${r.lossSecond.toFixed(3)}`);
  assert.deepEqual(Array.from(r.layer), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(r.head), [0, 1, 0, 1]);
  // L0H0 attends to i − 1 everywhere; L1H0 to the token after the earlier copy (random repeats within a span
  // of 8 out of 32 tokens split some of its attention); the empty heads attend uniformly (≈ 1/i).
  assert.ok(r.previousToken[0] > 0.99, `previous-token score of 0:0 = ${r.previousToken[0]}`);
  assert.ok(r.induction[2] > 0.8, `induction score of 1:0 = ${r.induction[2]}`);
  for (const k of [1, 3]) {
    assert.ok(r.induction[k] < 0.15 && r.previousToken[k] < 0.25, `empty head ${k} scores like a role`);
  }
  assert.ok(r.induction[0] < 0.05 && r.previousToken[2] < 0.2, "the two roles are told apart");
  // Only the second copy is predictable in context: the first costs more than ln 32 = 3.47 (the induction head
  // finds no match and averages earlier tokens into a confident wrong guess), the second much less.
  assert.ok(r.lossFirst > 3 && r.lossSecond < 1, `losses ${r.lossFirst}, ${r.lossSecond}`);
});

Deno.test("headRoles: rejects a span that does not fit the context", () => {
  const { cfg, params } = inductionCircuit();
  assert.throws(() => headRoles(cfg, params, { span: 9 }), /span must be an integer in \[2, n_ctx\/2 = 8\]/);
  assert.throws(() => headRoles(cfg, params, { sequences: 0 }), /sequences must be ≥ 1/);
});
