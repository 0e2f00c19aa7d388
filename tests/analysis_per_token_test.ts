import assert from "node:assert/strict";
import { joinAblation } from "../lib/analysis/ablation_join.ts";
import {
  contextValues,
  frequentTokens,
  groupKey,
  groupMeans,
  indexContexts,
  indexPerToken,
  latestStep,
  tokenText,
  valuesForToken,
} from "../lib/analysis/per_token.ts";
import { perTokenVsOverall } from "../lib/analysis/per_token_vs_overall.ts";
import type {
  AblationColumns,
  ContextsColumns,
  PerTokenColumns,
  SusceptibilityColumns,
} from "../lib/tables/schema.ts";
import { topTokens } from "../lib/analysis/top_tokens.ts";

// One probe "p", one context of 5 pieces, heads 0:0 and 0:1, steps 10 (old) and 20 (latest).
const contexts: ContextsColumns = {
  probe: ["p", "p", "p", "p", "p"],
  context: Int32Array.from([0, 0, 0, 0, 0]),
  position: Int32Array.from([0, 1, 2, 3, 4]),
  token: Int32Array.from([7, 8, 9, 8, 10]),
  text: ["A", " b", "(", " b", ")"],
};
const pt: PerTokenColumns = {
  probe: ["p", "p", "p", "p", "p", "p", "p", "p", "p"],
  step: Int32Array.from([20, 20, 20, 20, 20, 20, 20, 20, 10]),
  restriction: ["0:0", "0:0", "0:0", "0:0", "0:1", "0:1", "0:1", "0:1", "0:0"],
  context: Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0]),
  position: Int32Array.from([1, 2, 3, 4, 1, 2, 3, 4, 1]),
  chi: Float64Array.from([-2, 3, -1, 5, 1, 1, 1, 1, 99]),
};

Deno.test("indexPerToken: groups the latest step by (probe, restriction) and ignores other steps", () => {
  assert.equal(latestStep(pt), 20);
  const idx = indexPerToken(pt, 20);
  assert.deepEqual(idx.restrictions, ["0:0", "0:1"]);
  assert.equal(idx.groups.get(groupKey("p", "0:0"))!.rows.length, 4);
  const means = groupMeans(idx);
  assert.equal(means.get(groupKey("p", "0:0"))!.mean, (-2 + 3 - 1 + 5) / 4);
  assert.deepEqual(Array.from(contextValues(idx, "p", "0:0", 0, 5)), [NaN, -2, 3, -1, 5]);
});

Deno.test("indexContexts/valuesForToken/frequentTokens: values are matched to the decoded predicted token", () => {
  const idx = indexPerToken(pt, 20);
  const ctx = indexContexts(contexts);
  assert.equal(tokenText(ctx, "p", 0, 2), "(");
  assert.equal(tokenText(ctx, "p", 0, 9), undefined);
  assert.deepEqual(valuesForToken(idx, ctx, "p", "0:0", " b"), [-2, -1]);
  assert.deepEqual(frequentTokens(idx, ctx, "p", "0:0", 1), [{ text: " b", count: 2 }]);
});

Deno.test("topTokens: distinct tokens in order of their best instance, with preceding pieces and pool counts", () => {
  const idx = indexPerToken(pt, 20);
  const ctx = indexContexts(contexts);
  const pos = topTokens(idx, ctx, "p", "0:0", 1, { n: 3, pool: 100, contextWidth: 2 });
  assert.deepEqual(pos.map((t) => [t.text, t.chi, t.before.join("|")]), [[")", 5, "(| b"], ["(", 3, "A| b"]]);
  const neg = topTokens(idx, ctx, "p", "0:0", -1);
  assert.deepEqual(neg.map((t) => [t.text, t.chi, t.countInPool]), [[" b", -2, 2]]);
  assert.deepEqual(topTokens(idx, ctx, "p", "0:0", 1, { n: 1 }).map((t) => t.text), [")"]);
  assert.deepEqual(topTokens(idx, ctx, "nope", "0:0", 1), []);
});

Deno.test("joinAblation: pairs per-token χ and ablation delta on (context, position), skipping unmatched tokens", () => {
  const idx = indexPerToken(pt, 20);
  const ab: AblationColumns = {
    probe: ["p", "p", "p", "p"],
    step: Int32Array.from([20, 20, 20, 10]),
    restriction: ["0:0", "0:0", "0:1", "0:0"],
    context: Int32Array.from([0, 0, 0, 0]),
    position: Int32Array.from([2, 4, 1, 1]),
    delta_loss: Float64Array.from([0.3, 0.5, 0.7, 0.9]),
  };
  const [a, b] = joinAblation(idx, ab, [{ probe: "p", restriction: "0:0" }, {
    probe: "p",
    restriction: "0:1",
  }]);
  assert.deepEqual([Array.from(a.chi), Array.from(a.delta)], [[3, 5], [0.3, 0.5]]);
  assert.deepEqual([Array.from(b.chi), Array.from(b.delta)], [[1], [0.7]]);
});

Deno.test("perTokenVsOverall: mean per-token χ against χ at the same step; exact eq. 45 data gives slope 1/δh, r 1", () => {
  // Per-token χ with mean exactly χ/δh for three heads.
  const heads = ["0:0", "0:1", "0:2"];
  const overall = [0.01, 0.03, -0.02];
  const rows = heads.flatMap((h, k) =>
    [overall[k] / 0.1 - 1, overall[k] / 0.1 + 1].map((chi, j) => ({ h, chi, j }))
  );
  const ptc: PerTokenColumns = {
    probe: rows.map(() => "p"),
    step: Int32Array.from(rows.map(() => 5)),
    restriction: rows.map((r) => r.h),
    context: Int32Array.from(rows.map(() => 0)),
    position: Int32Array.from(rows.map((r) => r.j + 1)),
    chi: Float64Array.from(rows.map((r) => r.chi)),
  };
  const sus: SusceptibilityColumns = {
    step: Int32Array.from([5, 5, 5, 5, 9]),
    probe: ["p", "p", "p", "p", "p"],
    restriction: ["0:0", "0:1", "0:2", "full", "0:0"],
    layer: Int32Array.from([0, 0, 0, -1, 0]),
    head: Int32Array.from([0, 1, 2, -1, 0]),
    chi: Float64Array.from([...overall, 0.5, 7]),
    chi_se: new Float64Array(5),
    llc: new Float64Array(5),
    llc_se: new Float64Array(5),
    llc_devinterp: new Float64Array(5),
    llc_devinterp_se: new Float64Array(5),
    chi_rhat: new Float64Array(5).fill(1),
    chi_ess: new Float64Array(5).fill(40),
    llc_rhat: new Float64Array(5).fill(1),
    llc_ess: new Float64Array(5).fill(40),
    delta_h: Float64Array.from([0.1, 0.1, 0.1, 0.1, 0.1]),
    nbeta: new Float64Array(5).fill(30),
    n_chains: new Int32Array(5).fill(4),
    n_draws: new Int32Array(5).fill(10),
  };
  const d = perTokenVsOverall(indexPerToken(ptc, 5), sus);
  assert.equal(d.points.length, 3);
  for (const p of d.points) assert.ok(Math.abs(0.1 * p.meanPerToken - p.overall) < 1e-15);
  console.log(`slope ${d.fit!.slope} (expected ${d.expectedSlope}), intercept ${d.fit!.intercept}, r ${d.r}`);
  assert.ok(Math.abs(d.fit!.slope - 10) < 1e-10 && Math.abs(d.fit!.intercept) < 1e-12);
  assert.ok(Math.abs(d.expectedSlope! - 10) < 1e-12);
  assert.ok(Math.abs(d.r - 1) < 1e-12);
  // The unrestricted model ("full") and other steps are not points.
  assert.deepEqual(d.points.map((p) => p.restriction), heads);
});
