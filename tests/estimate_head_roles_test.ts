import assert from "node:assert/strict";
import { headRoles, repeatedTokens } from "../lib/estimate/head_roles.ts";
import {
  inductionRightMask,
  inductionRuleStats,
  splitByInductionRule,
} from "../lib/analysis/induction_rule.ts";
import { plantedInductionModel, plantedInductionStream } from "../lib/estimate/planted_induction.ts";

Deno.test("repeatedTokens: the second half of every row repeats the first, the same for the same seed", () => {
  const t = repeatedTokens(50, 3, 7, 5);
  for (let b = 0; b < 3; b++) {
    for (let i = 0; i < 7; i++) assert.equal(t[b * 14 + 7 + i], t[b * 14 + i]);
  }
  assert.deepEqual(t, repeatedTokens(50, 3, 7, 5));
  assert.notDeepEqual(t, repeatedTokens(50, 3, 7, 6));
  assert.ok(t.every((x) => x >= 0 && x < 50));
  // From a pool: distinct ids of the pool within each span.
  const pool = [3, 9, 11, 20, 21, 40, 41, 47];
  const p = repeatedTokens(50, 4, 6, 5, pool);
  for (let b = 0; b < 4; b++) {
    const span = Array.from(p.subarray(b * 12, b * 12 + 6));
    assert.equal(new Set(span).size, 6);
    assert.ok(span.every((x) => pool.includes(x)));
    assert.deepEqual(Array.from(p.subarray(b * 12 + 6, b * 12 + 12)), span);
  }
  assert.throws(() => repeatedTokens(50, 1, 9, 0, pool), /tokens has 8 ids, fewer than the span 9/);
});

/** The hand-wired circuit of planted_induction.ts, with sharp attention (logit 30) and a strong readout. */
function inductionCircuit() {
  return plantedInductionModel({ vocab: 32, nCtx: 16, logit: 30, readout: 20 });
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

Deno.test("plantedInductionStream: repeated blocks repeat, the share of repeated blocks is as asked", () => {
  const s = plantedInductionStream({ vocab: 50, span: 5, tokens: 10_000, repeatFraction: 0.3, seed: 2 });
  let repeated = 0;
  for (let at = 0; at < s.length; at += 10) {
    let same = true;
    for (let i = 0; i < 5; i++) same &&= s[at + 5 + i] === s[at + i];
    if (same) repeated++;
  }
  // 1000 blocks; a fresh second half equals the first with probability 50^-5 ≈ 0.
  console.log(`repeated blocks: ${repeated} of 1000 (expected 300 ± 15)`);
  assert.ok(Math.abs(repeated - 300) < 50);
  assert.ok(s.every((x) => x >= 0 && x < 50));
});

Deno.test("inductionRuleStats: counts where the most recent earlier occurrence's successor is the next token", () => {
  // Context [5 6 7 5 6 9]: positions 1..4 scored; token 5 at 3 applies (earlier at 0) and is right (6 = 6);
  // token 6 at 4 applies (earlier at 1) and is wrong (7 ≠ 9). Positions 1 and 2 do not apply.
  const s = inductionRuleStats([5, 6, 7, 5, 6, 9], 6);
  assert.deepEqual(s, { positions: 4, applies: 0.5, right: 0.25 });
  // The most recent occurrence decides: [1 2 1 3 1 3] at position 4 uses the 1 at 2 (followed by 3: right),
  // not the 1 at 0 (followed by 2); at position 2 the 1 at 0 is followed by 2, not 3: wrong.
  assert.deepEqual(inductionRuleStats([1, 2, 1, 3, 1, 3], 6), { positions: 4, applies: 0.5, right: 0.25 });
  assert.throws(() => inductionRuleStats([1, 2], 3), /need at least one context/);
});

Deno.test("splitByInductionRule: averages per-token values on rule-predicted tokens and the others, per context", () => {
  // Context 0 = [5 6 7 5 6]: only token 4 (the 6 after the second 5) is predicted by the rule.
  // Context 1 = [1 2 1 2 3]: token 3 (2 after the second 1) is predicted; token 4 (3 after the second 2) is not.
  assert.deepEqual(inductionRightMask([5, 6, 7, 5, 6]), [false, false, false, true]);
  assert.deepEqual(inductionRightMask([1, 2, 1, 2, 3]), [false, false, true, false]);
  const contexts = new Map<number, number[]>([[0, [5, 6, 7, 5, 6]], [1, [1, 2, 1, 2, 3]]]);
  const restriction: string[] = [], context: number[] = [], position: number[] = [], value: number[] = [];
  for (const c of [0, 1]) {
    for (let p = 1; p <= 4; p++) {
      const predicted = inductionRightMask(contexts.get(c)!)[p - 1];
      restriction.push("1:0", "0:0");
      context.push(c, c);
      position.push(p, p);
      // Head 1:0: 10 (+c) on predicted tokens, 1 elsewhere; head 0:0: 2 everywhere.
      value.push(predicted ? 10 + c : 1, 2);
    }
  }
  const split = splitByInductionRule({ restriction, context, position, value }, contexts);
  const h = split.find((s) => s.restriction === "1:0")!;
  assert.equal(h.predicted, 10.5);
  assert.ok(Math.abs(h.predictedSe - 0.5) < 1e-12); // per-context means 10 and 11
  assert.equal(h.other, 1);
  assert.deepEqual([h.nPredicted, h.nOther], [2, 6]);
  const o = split.find((s) => s.restriction === "0:0")!;
  assert.deepEqual([o.predicted, o.other], [2, 2]);
  assert.throws(
    () => splitByInductionRule({ restriction: ["x"], context: [0], position: [5], value: [1] }, contexts),
    /position 5 is outside 1..4/,
  );
});
