/**
 * The sampler's health from the SGLD run to the report: HealthRecord names restrictions and flags drifting
 * chains, the sweep prints and gathers unit records, and the report lists R̂ > 1.1, low ESS, negative LLC and
 * non-stationary traces beside the estimates concerned — and lists nothing for a clean run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadResults } from "../lib/analysis/results.ts";
import { healthRecordsOf, runWarnings } from "../lib/analysis/run_warnings.ts";
import { type HealthRecord, healthRecord } from "../lib/estimate/health_record.ts";
import type { SgldResult } from "../lib/estimate/sampler.ts";
import type { SamplingRun } from "../lib/estimate/unit.ts";
import { SGLD_DEFAULTS } from "../lib/estimate/sgld_settings.ts";
import { buildReport } from "../lib/report/build_report.ts";
import { collectHealth, healthLines } from "../lib/sweep/health.ts";
import { UNIT_FILE, unitDir, type WorkUnit } from "../lib/sweep/units.ts";
import { type SyntheticTables, syntheticTables, writeSyntheticResults } from "./analysis_fixtures.ts";

/**
 * A run of 2 restrictions × 2 chains, 200 draws: chain 3 (restriction "1:2") ramps up by 0.2 (a chain still
 * relaxing), the rest are flat noise.
 */
function fakeRun(): SamplingRun {
  const draws = 200, C = 4;
  const losses = new Float64Array(C * draws);
  let s = 1;
  const noise = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.01;
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < draws; t++) losses[c * draws + t] = 3.1 + noise() + (c === 3 ? 0.001 * t : 0);
  }
  const result = {
    losses,
    traces: new Float64Array(0),
    restrictionOf: Uint32Array.from([0, 0, 1, 1]),
    chains: C,
    draws,
    L0: 3,
    observables: [],
    record: { nbeta: 30, eps: 1e-3, gamma: 300 },
    health: {
      steps: 0,
      seconds: 1,
      drawsPerSecond: 1,
      stepsPerSecond: 1,
      readbacks: 1,
      maxLoss: new Float64Array(C).fill(3.5),
      meanDrawLoss: new Float64Array(C),
    },
  } as unknown as SgldResult;
  return { restrictions: ["full", "1:2"], sgld: SGLD_DEFAULTS, chains: 2, result, mixed: [], probes: [] };
}

/** Synthetic tables whose estimates are all well mixed (the generator plants R̂ 1.2 and low LLC ESS). */
function cleanTables(): SyntheticTables {
  const t = syntheticTables();
  const s = t.susceptibility;
  (s.chi_rhat as Float64Array).fill(1.0);
  (s.llc_rhat as Float64Array).fill(1.0);
  (s.chi_ess as Float64Array).fill(1000);
  (s.llc_ess as Float64Array).fill(1000);
  return t;
}

function healthOf(t: SyntheticTables): HealthRecord[] {
  return (t.manifest.extra as { health: HealthRecord[] }).health;
}

Deno.test("healthRecord: names each chain's restriction and flags the drifting chain as non-stationary", () => {
  const h = healthRecord("chi", 800, fakeRun());
  assert.deepEqual(h.restrictions, ["full", "1:2"]);
  assert.equal(h.chains.length, 4);
  // The ramp drifts past DRIFT_WARN and, being one slow movement, leaves few effective draws.
  assert.equal(h.warnings.length, 2, h.warnings.join("\n"));
  assert.match(h.warnings[0], /^1:2 chain 3: the draw loss still drifts/);
  assert.match(h.warnings[1], /^1:2 chain 3: only [\d.]+ effective draws/);
  for (const c of h.chains.slice(0, 3)) assert.ok(Math.abs(c.driftZ) < 2, `chain ${c.chain}: ${c.driftZ}`);
  const ws = runWarnings(cleanTables().susceptibility as never, [h]);
  assert.deepEqual(ws.map((w) => [w.step, w.estimate, w.restriction, w.chain, w.kind]), [
    [800, "chain (chi)", "1:2", 3, "non-stationary"],
    [800, "chain (chi)", "1:2", 3, "ess"],
  ]);
});

Deno.test("sweep health: a unit's warnings become console lines; the merge gathers the records in unit order", async () => {
  const h = healthRecord("chi", 800, fakeRun());
  assert.deepEqual(healthLines("chi/step_800", { extra: { health: h } }), [
    `warning: unit chi/step_800: 2 sampler warnings: ${h.warnings.join("; ")}`,
  ]);
  const many = { ...h, warnings: ["a", "b", "c", "d", "e"] };
  assert.deepEqual(healthLines("u", { extra: { health: many } }), [
    "warning: unit u: 5 sampler warnings: a; b; c; and 2 more",
  ]);
  assert.deepEqual(healthLines("ablation/step_800", { extra: {} }), []);
  const out = await Deno.makeTempDir({ prefix: "chi_health_" });
  const units = ["chi/step_100", "ablation/step_100", "chi/step_800"].map((id) => ({ id }) as WorkUnit);
  const extras = [{ health: { ...h, step: 100 } }, {}, { health: h }];
  for (const [k, u] of units.entries()) {
    await Deno.mkdir(unitDir(out, u.id), { recursive: true });
    await Deno.writeTextFile(
      join(unitDir(out, u.id), UNIT_FILE),
      JSON.stringify({ id: u.id, extra: extras[k] }),
    );
  }
  const got = await collectHealth(out, units);
  assert.deepEqual(got.map((r) => r.step), [100, 800]);
  await Deno.remove(out, { recursive: true });
});

Deno.test("runWarnings: a clean run has none, and its report shows no warning list", async () => {
  const t = cleanTables();
  assert.deepEqual(runWarnings(t.susceptibility as never, healthOf(t)), []);
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await writeSyntheticResults(dir, t);
  const report = await buildReport(await loadResults(dir));
  assert.equal(healthRecordsOf((await loadResults(dir)).manifest).length, 7);
  assert.ok(!report.html.includes('class="warnings"'));
  assert.ok(!report.notes.some((n) => /sampler warning/.test(n)));
  assert.match(report.sections.find((s) => s.id === "diagnostics")!.summary!, /the run has 0 warnings\.$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runWarnings: an injected bad R̂, negative LLC, drifting and low-ESS chain are listed beside their estimates", async () => {
  const t = cleanTables();
  const s = t.susceptibility;
  const row = (step: number, probe: string, r: string) =>
    [...s.step].findIndex((x, i) => x === step && s.probe[i] === probe && s.restriction[i] === r);
  (s.chi_rhat as Float64Array)[row(400, "freelaw", "1:2")] = 1.35;
  // The LLC repeats over probes; the first probe's row is the one read.
  for (const p of ["github", "freelaw", "hackernews"]) (s.llc as Float64Array)[row(1600, p, "0:3")] = -2.5;
  const health = healthOf(t);
  const rec = health.find((h) => h.step === 3200)!;
  const c = rec.chains.find((c) => rec.restrictions[c.restriction] === "1:1")!;
  c.driftZ = 6.2;
  c.ess = 4;
  // A per-token run at the per-token step (6400) whose chain of head 0:2 settles below L0.
  const pt: HealthRecord = {
    ...structuredClone(health.find((h) => h.step === 6400)!),
    kind: "per_token",
  };
  const ptChain = pt.chains.find((c) => pt.restrictions[c.restriction] === "0:2")!;
  ptChain.llc = -0.7;
  health.push(pt);
  const ws = runWarnings(s as never, health);
  assert.deepEqual(ws.map((w) => [w.step, w.estimate, w.restriction, w.probe, w.chain, w.kind]), [
    [400, "χ", "1:2", "freelaw", null, "rhat"],
    [1600, "LLC", "0:3", "", null, "negative-llc"],
    [3200, "chain (chi)", "1:1", "", c.chain, "non-stationary"],
    [3200, "chain (chi)", "1:1", "", c.chain, "ess"],
    [6400, "chain (per_token)", "0:2", "", ptChain.chain, "negative-llc"],
  ]);
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await writeSyntheticResults(dir, t);
  const report = await buildReport(await loadResults(dir));
  const body = (id: string) => report.sections.find((x) => x.id === id)!.body;
  assert.match(body("susceptibility"), /Warnings on these χ estimates: 1 \(1 R̂ &gt; 1\.1\)/);
  assert.match(body("susceptibility"), /<td class="num">400<\/td><td>χ<\/td><td>1:2<\/td><td>freelaw<\/td>/);
  assert.ok(!body("susceptibility").includes("negative LLC"));
  assert.match(
    body("llc"),
    /Warnings on these LLC estimates and their chains: 3 \(1 low ESS, 1 negative LLC, 1 non-stationary/,
  );
  assert.match(body("llc"), /negative LLC -2\.50/);
  assert.match(body("llc"), /non-stationary trace: second half − first half = 6\.2 SE/);
  assert.match(
    body("per-token-vs-overall"),
    /Warnings on the per-token sampler&#39;s chains: 1 \(1 negative LLC\)/,
  );
  assert.match(body("per-token-vs-overall"), /chain LLC -0\.700 &lt; 0/);
  assert.ok(!body("llc").includes("per_token"));
  assert.match(
    body("diagnostics"),
    /Sampler warnings: 5 \(1 R̂ &gt; 1\.1, 1 low ESS, 2 negative LLC, 1 non-stationary trace\)/,
  );
  assert.match(report.notes[0], /^5 sampler warnings/);
  await Deno.remove(dir, { recursive: true });
});
