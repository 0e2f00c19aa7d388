import assert from "node:assert/strict";
import { headRoles, repeatedTokens } from "../lib/analysis/head_roles.ts";
import { plantedInductionModel, plantedInductionStream } from "../lib/analysis/planted_induction.ts";

Deno.test("repeatedTokens: the second half of every row repeats the first, the same for the same seed", () => {
  const t = repeatedTokens(50, 3, 7, 5);
  for (let b = 0; b < 3; b++) {
    for (let i = 0; i < 7; i++) assert.equal(t[b * 14 + 7 + i], t[b * 14 + i]);
  }
  assert.deepEqual(t, repeatedTokens(50, 3, 7, 5));
  assert.notDeepEqual(t, repeatedTokens(50, 3, 7, 6));
  assert.ok(t.every((x) => x >= 0 && x < 50));
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
