/**
 * The report's sentences of numbers: each is computed from the run's data (checked here against the same
 * numbers computed independently from the synthetic tables), the settings block states the run's settings and
 * probe mix, Fig. 7's sentence compares r with the paper, and the manifest's JSON is collapsed.
 */
import assert from "node:assert/strict";
import { loadResults } from "../lib/analysis/results.ts";
import { FULL } from "../lib/model/restriction.ts";
import type { SusceptibilityColumns } from "../lib/tables/schema.ts";
import { buildReport } from "../lib/report/build_report.ts";
import { ablationSummary } from "../lib/report/section_ablation.ts";
import { chiSummary, llcSummary } from "../lib/report/section_curves.ts";
import { manifestSection } from "../lib/report/section_manifest.ts";
import { mixSentence, settingsSection } from "../lib/report/section_settings.ts";
import { syntheticTables, writeSyntheticResults } from "./analysis_fixtures.ts";

const sus = () => syntheticTables().susceptibility as unknown as SusceptibilityColumns;

Deno.test("chiSummary: range, largest |χ̂| with its head, probe, step and z, from the table", () => {
  const t = sus();
  const rows = [...t.step.keys()].filter((i) => t.restriction[i] !== FULL);
  const chi = rows.map((i) => t.chi[i]);
  const big = rows.reduce((b, i) => Math.abs(t.chi[i]) > Math.abs(t.chi[b]) ? i : b, rows[0]);
  const s = chiSummary(t);
  assert.equal(
    s,
    `χ̂ ranges from ${Math.min(...chi).toPrecision(3)} to ${Math.max(...chi).toPrecision(3)} over 8 heads, ` +
      `3 probes and 7 checkpoints; the largest |χ̂| is ${t.chi[big].toPrecision(3)} for head ${
        t.restriction[big]
      } ` +
      `under probe ${t.probe[big]} at step ${t.step[big]} (z = ${(t.chi[big] / t.chi_se[big]).toFixed(1)}).`,
  );
});

Deno.test("llcSummary: the heads' LLC range at the last step, the full model's, and the count of negative LLCs", () => {
  const t = sus();
  // The chart's rows: the first probe in name order (every probe's rows repeat one run's LLC in a real run).
  const last = (r: string) =>
    [...t.step.keys()].find((i) => t.step[i] === 6400 && t.restriction[i] === r && t.probe[i] === "freelaw")!;
  const heads = ["0:0", "0:1", "0:2", "0:3", "1:0", "1:1", "1:2", "1:3"].map((r) =>
    [r, t.llc[last(r)]] as const
  )
    .sort((a, b) => a[1] - b[1]);
  assert.equal(
    llcSummary(t),
    `At step 6400 the LLC ranges from ${heads[0][1].toPrecision(3)} (${heads[0][0]}) to ` +
      `${heads[7][1].toPrecision(3)} (${heads[7][0]}) over 8 heads; the full model's is ` +
      `${t.llc[last(FULL)].toPrecision(3)}. 0 of 63 LLC estimates (restriction × checkpoint) are negative.`,
  );
  // One negative LLC (repeated over the 3 probes' rows) counts once.
  for (let i = 0; i < t.step.length; i++) if (t.step[i] === 100 && t.restriction[i] === "1:1") t.llc[i] = -1;
  assert.match(llcSummary(t), / 1 of 63 LLC estimates/);
});

Deno.test("settingsSection: the table's settings, the config's fields and the probe mix the run used", () => {
  const t = syntheticTables();
  const s = settingsSection(t.susceptibility as never, t.manifest);
  assert.equal(
    s.summary,
    "7 checkpoints (100–6400) × 3 probes × 8 heads, δh = 0.1, nβ = 30, 4 chains of 50 draws.",
  );
  assert.match(s.body, /<td>checkpoints<\/td><td>7: 100, 200, 400, 800, 1600, 3200, 6400<\/td>/);
  assert.match(s.body, /<td>sgld<\/td><td><code>\{&quot;nbeta&quot;:30/);
  assert.match(s.body, /<td>seeds<\/td>/);
  assert.match(s.caption, /δh = 0\.1 of its contexts by whole probe contexts, so base data makes up 90 % /);
  assert.match(mixSentence([0.25]), /base data makes up 75 % of the contexts and the probe 25 %/);
  assert.match(mixSentence([0.1, 0.2]), /2 different δh/);
  // Without a manifest: the table's settings alone, and it says so.
  assert.match(settingsSection(t.susceptibility as never).caption, /the manifest has no config/);
});

Deno.test("ablationSummary: measured r against the paper's negligible correlation, agreeing or differing", () => {
  const agree = ablationSummary([{ name: "0:0/github", r: 0.05, n: 100 }, {
    name: "1:2/github",
    r: -0.08,
    n: 50,
  }]);
  assert.equal(
    agree,
    "Pearson r between per-token χ and ablation delta ranges from -0.080 (1:2/github) to 0.050 (0:0/github) " +
      `over 2 panels of 150 tokens; every |r| is below 0.1, as the paper's "negligible correlation" (Fig. 7).`,
  );
  const differ = ablationSummary([{ name: "0:0/github", r: 0.05, n: 100 }, {
    name: "1:2/github",
    r: 0.42,
    n: 50,
  }]);
  assert.match(differ, /this differs from the paper's "negligible correlation" \(Fig\. 7\) in 1 of 2 panels/);
  assert.match(differ, /\(1:2\/github: 0\.420\)\.$/);
});

Deno.test("manifestSection: the whole JSON sits in a collapsed <details>, the summary table stays open", () => {
  const m = {
    chi_version: "0.1.0",
    created: "2026-12-01T00:00:00Z",
    git: { commit: "abcdef0123456789" },
    x: 1,
  };
  const s = manifestSection(m);
  const lines = JSON.stringify(m, null, 2).split("\n").length;
  assert.match(
    s.body,
    new RegExp(`<details><summary>The whole manifest\\.json \\(${lines} lines\\)</summary><pre>`),
  );
  assert.ok(s.body.indexOf("<pre>") > s.body.indexOf("<details>") && s.body.endsWith("</pre></details>"));
  assert.ok(!/<details open/.test(s.body));
  assert.equal(
    s.summary,
    "The manifest records 4 fields and 0 input file hashes; commit abcdef012345, created 2026-12-01T00:00:00Z.",
  );
});

Deno.test("buildReport: every section opens with a sentence of numbers, before its caption", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await writeSyntheticResults(dir, syntheticTables());
  const report = await buildReport(await loadResults(dir));
  for (const s of report.sections) {
    assert.ok(s.summary && /\d/.test(s.summary), `${s.id}: ${s.summary}`);
    const at = report.html.indexOf(`<section id="${s.id}">`);
    const sentence = report.html.indexOf('<p class="run-summary">', at);
    assert.ok(sentence > at && sentence < report.html.indexOf('<p class="caption">', at), s.id);
  }
  const scree = report.sections.find((s) => s.id === "pca-scree")!;
  const ev = report.pca!.explainedVariance;
  assert.match(scree.summary!, new RegExp(`explain ${(100 * (ev[0] + ev[1] + ev[2])).toFixed(1)}%`));
  const ablation = report.sections.find((s) => s.id === "ablation")!;
  assert.match(ablation.summary!, /Pearson r between per-token χ and ablation delta ranges from -?\d\.\d{3}/);
  await Deno.remove(dir, { recursive: true });
});
