/** seedAgreement (lib/analysis/seed_agreement.ts): |Δ|/SE per matched row, the LLC once per restriction. */
import assert from "node:assert/strict";
import { seedAgreement } from "../lib/analysis/seed_agreement.ts";
import type { SusceptibilityColumns } from "../lib/tables/schema.ts";

function table(chi: number[], llc: number[], dev: number[], probes = ["p", "q"]): SusceptibilityColumns {
  const n = chi.length;
  return {
    step: new Int32Array(n).fill(10),
    probe: Array.from({ length: n }, (_, i) => probes[i % probes.length]),
    restriction: Array.from({ length: n }, (_, i) => (i < 2 ? "full" : "0:1")),
    layer: Int32Array.from({ length: n }, (_, i) => (i < 2 ? -1 : 0)),
    head: Int32Array.from({ length: n }, (_, i) => (i < 2 ? -1 : 1)),
    chi: Float64Array.from(chi),
    chi_se: new Float64Array(n).fill(0.3),
    llc: Float64Array.from(llc),
    llc_se: new Float64Array(n).fill(0.4),
    llc_devinterp: Float64Array.from(dev),
    llc_devinterp_se: new Float64Array(n).fill(0.1),
    chi_rhat: new Float64Array(n).fill(1),
    chi_ess: new Float64Array(n).fill(40),
    llc_rhat: new Float64Array(n).fill(1),
    llc_ess: new Float64Array(n).fill(40),
    delta_h: new Float64Array(n).fill(0.1),
    nbeta: new Float64Array(n).fill(30),
    n_chains: new Int32Array(n).fill(2),
    n_draws: new Int32Array(n).fill(20),
  };
}

Deno.test("seedAgreement: z = |Δ|/√(SE² + SE²) per row, the LLC once per (step, restriction)", () => {
  const a = table([0, 1, 2, 3], [5, 5, 2, 2], [5, 5, 2, 2]);
  const b = table([0.3, 1, 2, 3.6], [5.4, 5.4, 2, 2], [6, 6, 2, 2]);
  const s = seedAgreement(a, b);
  const k = Math.SQRT2;
  assert.deepEqual(
    s.chi.z.map((x) => +x.toFixed(12)),
    [0.3 / (0.3 * k), 0, 0, 0.6 / (0.3 * k)].map((x) => +x.toFixed(12)),
  );
  assert.equal(s.llc.z.length, 2);
  assert.ok(Math.abs(s.llc.z[0] - 0.4 / (0.4 * k)) < 1e-12);
  assert.ok(Math.abs(s.llcDevinterp.z[0] - 1 / (0.1 * k)) < 1e-12);
  assert.equal(s.llcDevinterp.over3, 0.5);
  assert.equal(s.chi.over2, 0);
  assert.equal(s.unmatched, 0);
  assert.equal(seedAgreement(a, table([0, 1, 2, 3], [5, 5, 2, 2], [5, 5, 2, 2], ["p", "r"])).unmatched, 2);
});
