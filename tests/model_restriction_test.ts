/**
 * lib/model/restriction.ts: the paper's "full" / "l:h" naming, a config's restriction list, the problems the
 * sweep config and the scripts report, the list a batched run samples, and the masks.
 */
import assert from "node:assert/strict";
import { TINY_CONFIG } from "../lib/model/config.ts";
import { paramLayout } from "../lib/model/params.ts";
import {
  allRestrictions,
  compareRestrictions,
  FULL,
  maskCount,
  parseRestriction,
  restrictionMask,
  restrictionName,
  restrictionProblem,
  samplingRestrictions,
} from "../lib/model/restriction.ts";

Deno.test("restrictionName/parseRestriction/compareRestrictions: the paper's l:h naming", () => {
  assert.equal(restrictionName(1, 7), "1:7");
  assert.equal(restrictionName(-1, -1), FULL);
  assert.deepEqual(parseRestriction("12:3"), { layer: 12, head: 3 });
  assert.deepEqual(parseRestriction(FULL), { layer: -1, head: -1 });
  assert.equal(parseRestriction("1-3"), undefined);
  assert.deepEqual(["1:0", "0:10", "full", "0:2"].sort(compareRestrictions), ["full", "0:2", "0:10", "1:0"]);
});

Deno.test("allRestrictions/restrictionProblem: a config's restrictions, and why a name is not one", () => {
  const cfg = { n_layers: 2, n_heads: 2 };
  assert.deepEqual(allRestrictions(cfg), ["full", "0:0", "0:1", "1:0", "1:1"]);
  for (const r of allRestrictions(cfg)) assert.equal(restrictionProblem(r, cfg), undefined);
  assert.match(restrictionProblem("2:0", cfg)!, /not a head of a model with 2 layers × 2 heads/);
  assert.match(restrictionProblem("L0H1", cfg)!, /expected "full" or "layer:head"/);
});

Deno.test("samplingRestrictions: full is appended once; bad or repeated names are refused", () => {
  assert.deepEqual(samplingRestrictions(["0:1"]), ["0:1", "full"]);
  assert.deepEqual(samplingRestrictions(["full", "0:1"]), ["full", "0:1"]);
  assert.throws(() => samplingRestrictions([]), /at least one/);
  assert.throws(() => samplingRestrictions(["0:1", "0:1"]), /listed twice/);
  assert.throws(() => samplingRestrictions(["x"]), /neither "full" nor "layer:head"/);
});

Deno.test("restrictionMask: full moves every parameter, a head its seven slices", () => {
  const layout = paramLayout(TINY_CONFIG);
  assert.equal(maskCount(restrictionMask(layout, FULL)), layout.count);
  const { d_model: D, d_head: E } = TINY_CONFIG;
  assert.equal(maskCount(restrictionMask(layout, "0:1")), 4 * D * E + 3 * E);
});
