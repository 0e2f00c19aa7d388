/**
 * inductionSeparation (lib/analysis/induction_separation.ts) on tables with planted values: the induction head
 * is the one with the top score at the last checkpoint, and z = |Δχ̂| / √(SE₁² + SE₂²) against the nearest head
 * of its layer and of all layers, per probe; the report sentence counts the probes at ≥ 3 SE.
 */
import assert from "node:assert/strict";
import { loadResults } from "../lib/analysis/results.ts";
import { inductionSeparation, separationSummary } from "../lib/analysis/induction_separation.ts";
import { DEFAULT_SHAPE, syntheticTables, writeSyntheticResults } from "./analysis_fixtures.ts";

Deno.test("inductionSeparation: planted χ̂ and SEs give the hand-computed z per probe", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSyntheticResults(dir, syntheticTables(DEFAULT_SHAPE, 3));
    const r = await loadResults(dir);
    const sus = r.susceptibility, roles = r.headRoles!;
    const last = Math.max(...roles.step);
    // Head 1:2 is the induction head at the last step; earlier steps are left as generated.
    for (let i = 0; i < roles.step.length; i++) {
      if (roles.step[i] === last) roles.induction[i] = roles.restriction[i] === "1:2" ? 0.9 : 0.1;
    }
    // github: 1:2 at 10 ± 1, 1:0 at 6 ± 1 (its nearest layer-mate), 0:3 at 9 ± 1 (nearest of all), the rest 0 ± 1.
    // freelaw: 1:2 at 10 ± 1, every other head 0 ± 1.
    const planted: Record<string, Record<string, number>> = {
      github: { "1:2": 10, "1:0": 6, "0:3": 9 },
      freelaw: { "1:2": 10 },
    };
    for (let i = 0; i < sus.step.length; i++) {
      if (sus.step[i] !== last || !(sus.probe[i] in planted)) continue;
      sus.chi[i] = planted[sus.probe[i]][sus.restriction[i]] ?? 0;
      sus.chi_se[i] = 1;
    }
    const seps = inductionSeparation(sus, roles);
    const by = new Map(seps.map((s) => [s.probe, s]));
    assert.deepEqual([...by.keys()].sort(), [...DEFAULT_SHAPE.probes].sort());
    const gh = by.get("github")!;
    assert.equal(gh.head, "1:2");
    assert.equal(gh.step, last);
    assert.equal(gh.nearestInLayer, "1:0");
    assert.ok(Math.abs(gh.zLayer - 4 / Math.SQRT2) < 1e-12);
    assert.equal(gh.nearest, "0:3");
    assert.ok(Math.abs(gh.z - 1 / Math.SQRT2) < 1e-12);
    const fl = by.get("freelaw")!;
    assert.ok(Math.abs(fl.zLayer - 10 / Math.SQRT2) < 1e-12 && Math.abs(fl.z - 10 / Math.SQRT2) < 1e-12);
    const text = separationSummary(seps);
    assert.match(text, /the induction head 1:2 \(score 0\.90\)/);
    assert.match(text, /the clearest is freelaw, χ̂ = 10\.0 ± 1\.0, z = 7\.1/);
    assert.match(text, /under \d of 3 probes \([a-z, ]*freelaw/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inductionSeparation: no checkpoint in common gives no rows and no sentence", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSyntheticResults(dir, syntheticTables(DEFAULT_SHAPE, 3));
    const r = await loadResults(dir);
    const roles = r.headRoles!;
    roles.step.fill(-5);
    assert.deepEqual(inductionSeparation(r.susceptibility, roles), []);
    assert.equal(separationSummary([]), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
