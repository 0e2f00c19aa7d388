/** The terminal table of susceptibility results (lib/analysis/result_table.ts). */
import assert from "node:assert/strict";
import {
  commonExponent,
  formatSusceptibilityRows,
  type SusceptibilityRows,
} from "../lib/analysis/result_table.ts";

function table(rhat = 1.0): SusceptibilityRows {
  // Two steps listed out of order; step 100 has two restrictions × two probes, step 20 one row.
  return {
    step: [100, 100, 100, 100, 20],
    probe: ["code", "induction", "code", "induction", "code"],
    restriction: ["full", "full", "1:3", "1:3", "full"],
    chi: [-3.39e-3, 1.72e-3, 2.5e-4, -1e-5, 0.5],
    chi_se: [1.1e-3, 4e-4, 1e-4, 2e-5, 0.1],
    chi_rhat: [1.01, 1.02, rhat, 1.0, 1.0],
    llc: [44.9, 44.9, 1.53, 1.53, 3.2],
    llc_se: [9.3, 9.3, 0.2, 0.2, 0.4],
    llc_rhat: [1.0, 1.0, 1.05, 1.05, 1.0],
  };
}

Deno.test("commonExponent: the power of ten (a multiple of 3) that brings the largest |x| into [1, 1000)", () => {
  assert.equal(commonExponent([-3.39e-3, 2.5e-4]), -3);
  assert.equal(commonExponent([0.5]), -3);
  assert.equal(commonExponent([12, -7]), 0);
  assert.equal(commonExponent([0, NaN]), 0);
});

Deno.test("result table: per step ascending, LLC once per restriction by name, χ̂ ± SE per probe on one scale", () => {
  const text = formatSusceptibilityRows(table());
  const lines = text.split("\n");
  const step20 = lines.findIndex((l) => l.startsWith("step 20:"));
  const step100 = lines.findIndex((l) => l.startsWith("step 100:"));
  assert.ok(step20 >= 0 && step100 > step20, "steps ascending");
  // The LLC table of step 100 has one row per restriction, not per probe.
  const llcRows = lines.filter((l) => /^\s+1:3\s+1\.53 ± 0\.20\s*$/.test(l));
  assert.equal(llcRows.length, 1);
  assert.match(text, /step 100: susceptibility χ̂ ± SE \(×1e-3\), probes in columns/);
  const header = lines.find((l) => /restriction\s+code\s+induction/.test(l));
  assert.ok(header, "probes as columns in first-seen order");
  assert.match(text, /full\s+-3\.39 ± 1\.10\s+1\.72 ± 0\.40/);
  assert.match(text, /1:3\s+0\.25 ± 0\.10\s+-0\.01 ± 0\.02/);
  assert.doesNotMatch(text, /\*/, "no flag when every R̂ ≤ 1.1");
});

Deno.test("result table: an R̂ above 1.1 is flagged on its cell and explained once", () => {
  const text = formatSusceptibilityRows(table(1.4));
  assert.match(text, /1:3\s+0\.25 ± 0\.10 \*/);
  assert.equal(text.match(/split-R̂ > 1\.1/g)?.length, 1);
});

Deno.test("result table: a probe missing for a restriction shows a dash, not a number", () => {
  const t = table();
  const drop = 3; // 1:3 under induction at step 100
  const cut = Object.fromEntries(
    Object.entries(t).map(([k, v]) => [k, Array.from(v as ArrayLike<unknown>).filter((_, i) => i !== drop)]),
  ) as unknown as SusceptibilityRows;
  assert.match(formatSusceptibilityRows(cut), /1:3\s+0\.25 ± 0\.10\s+—/);
});
