/**
 * inductionSeparation (lib/analysis/induction_separation.ts) on tables with planted values: the induction head
 * is the one with the top score at the last checkpoint, and z = |Δχ̂| / SE(Δχ̂) against the nearest head of its
 * layer and of all layers, per probe; SE(Δχ̂) from the heads' per-draw series (chi_terms.arrow) when every head
 * of the probe has one, else √(SE₁² + SE₂²). The report sentence counts the probes at ≥ 3 SE and says which.
 */
import assert from "node:assert/strict";
import { loadResults, type Results } from "../lib/analysis/results.ts";
import { inductionSeparation, separationSummary } from "../lib/analysis/induction_separation.ts";
import { chiSeries } from "../lib/analysis/chi_series.ts";
import { estimateDifference } from "../lib/estimate/difference.ts";
import { parseRestriction } from "../lib/model/restriction.ts";
import { DEFAULT_SHAPE, syntheticTables, writeSyntheticResults } from "./analysis_fixtures.ts";

// github: 1:2 at 10 ± 1, 1:0 at 6 ± 1 (its nearest layer-mate), 0:3 at 9 ± 1 (nearest of all), the rest 0 ± 1.
// freelaw: 1:2 at 10 ± 1, every other head 0 ± 1.
const PLANTED: Record<string, Record<string, number>> = {
  github: { "1:2": 10, "1:0": 6, "0:3": 9 },
  freelaw: { "1:2": 10 },
};

/** The synthetic results with head 1:2 the induction head and PLANTED's χ̂ ± 1 at the last step. */
async function plantedResults(dir: string, omit: readonly string[]): Promise<Results & { last: number }> {
  await writeSyntheticResults(dir, syntheticTables(DEFAULT_SHAPE, 3), omit);
  const r = await loadResults(dir);
  const sus = r.susceptibility, roles = r.headRoles!;
  const last = Math.max(...roles.step);
  // Head 1:2 is the induction head at the last step; earlier steps are left as generated.
  for (let i = 0; i < roles.step.length; i++) {
    if (roles.step[i] === last) roles.induction[i] = roles.restriction[i] === "1:2" ? 0.9 : 0.1;
  }
  for (let i = 0; i < sus.step.length; i++) {
    if (sus.step[i] !== last || !(sus.probe[i] in PLANTED)) continue;
    sus.chi[i] = PLANTED[sus.probe[i]][sus.restriction[i]] ?? 0;
    sus.chi_se[i] = 1;
  }
  return { ...r, last };
}

Deno.test("inductionSeparation without chi_terms: planted χ̂ and SEs give the hand-computed two-SE z", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await plantedResults(dir, ["chi_terms.arrow"]);
    const { susceptibility: sus, headRoles: roles, last } = r;
    assert.equal(r.chiTerms, undefined);
    const seps = inductionSeparation(sus, roles!);
    const by = new Map(seps.map((s) => [s.probe, s]));
    assert.deepEqual([...by.keys()].sort(), [...DEFAULT_SHAPE.probes].sort());
    const gh = by.get("github")!;
    assert.equal(gh.head, "1:2");
    assert.equal(gh.step, last);
    assert.equal(gh.nearestInLayer, "1:0");
    assert.ok(Math.abs(gh.zLayer - 4 / Math.SQRT2) < 1e-12);
    assert.equal(gh.nearest, "0:3");
    assert.ok(Math.abs(gh.z - 1 / Math.SQRT2) < 1e-12);
    const row03 = roles!.restriction.findIndex((h, i) => h === "0:3" && roles!.step[i] === last);
    assert.equal(gh.nearestPreviousToken, roles!.previous_token[row03]);
    const fl = by.get("freelaw")!;
    assert.ok(Math.abs(fl.zLayer - 10 / Math.SQRT2) < 1e-12 && Math.abs(fl.z - 10 / Math.SQRT2) < 1e-12);
    assert.ok(seps.every((s) => s.denominator === "two SEs"));
    const text = separationSummary(seps);
    assert.match(text, /the induction head 1:2 \(score 0\.90\)/);
    assert.match(text, /the clearest is freelaw, χ̂ = 10\.0 ± 1\.0, z = 7\.1/);
    assert.match(text, /under \d of 3 probes \([a-z, ]*freelaw/);
    assert.match(text, /z from the two SEs, conservative/);
    assert.match(text, /the nearest of all heads, previous-token score \d\.\d\d\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inductionSeparation with chi_terms: z divides by the SE of the heads' difference series", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await plantedResults(dir, []);
    const { susceptibility: sus, headRoles: roles, last } = r;
    const terms = r.chiTerms!;
    // Each series moved to mean on the planted χ̂ and scaled ×1000 about it: a shared per-draw part with SE ≈ 1
    // (as the row's SE) and each chain's own part ≈ 0.3, so the difference's SE is ≈ 0.4, not √2.
    const mean = new Map<string, number>();
    const key = (i: number) => `${terms.probe[i]}/${terms.restriction[i]}`;
    for (let i = 0; i < terms.step.length; i++) mean.set(key(i), (mean.get(key(i)) ?? 0) + terms.term[i]);
    const n = DEFAULT_SHAPE.chains * DEFAULT_SHAPE.draws;
    for (let i = 0; i < terms.step.length; i++) {
      const planted = PLANTED[terms.probe[i]]?.[terms.restriction[i]] ?? 0;
      terms.term[i] = planted + 1000 * (terms.term[i] - mean.get(key(i))! / n);
    }
    // hackernews loses one head's series: its row falls back to the two SEs.
    const drop = (i: number) => terms.probe[i] === "hackernews" && terms.restriction[i] === "0:1";
    const kept = [...terms.step.keys()].filter((i) => !drop(i));
    const partial = {
      ...terms,
      step: Int32Array.from(kept, (i) => terms.step[i]),
      probe: kept.map((i) => terms.probe[i]),
      restriction: kept.map((i) => terms.restriction[i]),
      chain: Int32Array.from(kept, (i) => terms.chain[i]),
      draw: Int32Array.from(kept, (i) => terms.draw[i]),
      term: Float64Array.from(kept, (i) => terms.term[i]),
    };
    const seps = inductionSeparation(sus, roles!, partial);
    const twoSe = inductionSeparation(sus, roles!);
    const by = new Map(seps.map((s) => [s.probe, s]));
    for (const probe of ["github", "freelaw"]) {
      const sep = by.get(probe)!;
      assert.equal(sep.denominator, "difference");
      // The expected z: the smallest over the heads of layer 1 and over all heads, from the series' SE.
      const series = chiSeries(partial, last, probe);
      const chiOf = (h: string) => PLANTED[probe][h] ?? 0;
      const zs = [...series.keys()].filter((h) => h !== "1:2" && h !== "full").map((h) => ({
        h,
        z: Math.abs(chiOf("1:2") - chiOf(h)) / estimateDifference(series.get("1:2")!, series.get(h)!).se,
      }));
      const min = (xs: typeof zs) => xs.reduce((a, b) => (b.z < a.z ? b : a));
      const layer = min(zs.filter((x) => parseRestriction(x.h)?.layer === 1));
      assert.equal(sep.nearestInLayer, layer.h);
      assert.ok(Math.abs(sep.zLayer - layer.z) < 1e-9 * layer.z, `${probe}: ${sep.zLayer} vs ${layer.z}`);
      assert.ok(Math.abs(sep.z - min(zs).z) < 1e-9 * sep.z);
      // The shared part cancels: sharper than the two SEs say.
      const two = twoSe.find((s) => s.probe === probe)!;
      assert.ok(sep.zLayer > 1.5 * two.zLayer, `${probe}: z ${sep.zLayer} vs two-SE ${two.zLayer}`);
    }
    assert.equal(by.get("hackernews")!.denominator, "two SEs");
    assert.equal(by.get("hackernews")!.zLayer, twoSe.find((s) => s.probe === "hackernews")!.zLayer);
    assert.match(
      separationSummary(seps),
      /z from the per-draw difference series \(the error both heads share cancels\) under freelaw, github; z from the two SEs, conservative \(no per-draw series in chi_terms\.arrow\) under hackernews\.$/,
    );
    assert.match(
      separationSummary(seps.filter((s) => s.probe !== "hackernews")),
      /z from the per-draw difference series[^;]*\.$/,
    );
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
