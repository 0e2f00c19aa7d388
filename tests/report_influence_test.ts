/** The influence section (lib/report/section_influence.ts): strongest probe tokens first, training tokens by |BIF|. */
import assert from "node:assert/strict";
import { influenceSection } from "../lib/report/section_influence.ts";
import type { InfluenceColumns } from "../lib/tables/schema.ts";

Deno.test("influenceSection: probe tokens ordered by their strongest influence, training tokens by |BIF|", () => {
  // Two probe tokens (positions 1, 2) × three training tokens; probe position 2 holds the strongest pair.
  const bif = [0.1, -0.3, 0.2, 0.05, -0.9, 0.4];
  const n = bif.length;
  const t: InfluenceColumns = {
    step: new Int32Array(n).fill(5),
    probe: new Array(n).fill("p"),
    probe_context: new Int32Array(n),
    probe_position: Int32Array.from([1, 1, 1, 2, 2, 2]),
    probe_text: ["a", "a", "a", "b", "b", "b"],
    train_context: new Int32Array(n),
    train_position: Int32Array.from([1, 2, 3, 1, 2, 3]),
    train_text: ["x", "y", "z", "x", "y", "z"],
    bif: Float64Array.from(bif),
    bif_se: new Float64Array(n).fill(0.1),
  };
  const s = influenceSection(t, 2, 2);
  const cells = [...s.body.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
  // Row 1: probe "b", its strongest training token "y" (−0.9), then "z" (0.4); then probe "a": "y", "z".
  assert.match(cells[0], /&quot;b&quot;/);
  assert.match(cells[1], /&quot;y&quot;/);
  assert.match(cells[2], /^-9\.00e-1 ± 1\.0e-1$/);
  assert.equal(cells[3], "-9.0");
  assert.match(cells[5], /&quot;z&quot;/);
  assert.match(cells[8], /&quot;a&quot;/);
  assert.match(cells[9], /&quot;y&quot;/);
  assert.equal(cells.length, 16);
  assert.match(s.caption, /2 of 6 pairs are beyond 3 SE/);
});
