/**
 * The head-role diagnostic of a sweep on the embedded synthetic data repeats spans of induction names: the
 * span is sized from the model's n_ctx (two spans must fit), so a model with n_ctx < 32 gets its head roles
 * instead of failing after each unit's sampling; a context too small for any span is refused before sampling.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureDefaultDataset } from "../lib/data/default_dataset.ts";
import { loadTokenizer } from "../lib/data/tokenizer.ts";
import { headRoles } from "../lib/estimate/head_roles.ts";
import { initParams } from "../lib/model/init.ts";
import { parseSweepConfig } from "../lib/sweep/config.ts";
import { headRoleSpanProblem, sweepHeadRoleOptions } from "../lib/sweep/compute.ts";
import { TINY_CONFIG } from "../lib/model/config.ts";

Deno.test("head roles on the synthetic data: the span fits n_ctx < 32; n_ctx < 4 is refused", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_span_" });
  try {
    const ds = await ensureDefaultDataset(join(root, "data"), { baseChars: 60_000, probeChars: 20_000 });
    const tokenizer = await loadTokenizer(ds.tokenizerPath);
    const cfg = await parseSweepConfig({}, "test");
    const model = { ...TINY_CONFIG, n_layers: 1, n_heads: 2, d_model: 16, d_head: 8, n_ctx: 16 };
    const opts = sweepHeadRoleOptions(cfg, tokenizer, model.n_ctx);
    assert.equal(opts.span, 8);
    const roles = headRoles(model, initParams(model, 1), opts);
    assert.equal(roles.induction.length, 2);
    assert.equal(sweepHeadRoleOptions(cfg, tokenizer, 64).span, 16, "n_ctx ≥ 32 keeps the 16-name span");
    assert.equal(headRoleSpanProblem(16), null);
    assert.match(headRoleSpanProblem(3)!, /n_ctx 3/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
