import assert from "node:assert/strict";
import { join } from "node:path";
import { loadResults } from "../lib/analysis/results.ts";
import { TableError } from "../lib/tables/schema.ts";
import { buildReport } from "../lib/report/build_report.ts";
import { ReportOptionError, resolveHeads, spreadHeads } from "../lib/report/options.ts";
import type { TopLevelSpec } from "vega-lite";
import { countMarks } from "../lib/report/render.ts";
import { healthRecordsOf, runWarnings } from "../lib/analysis/run_warnings.ts";
import { REPORT_CONFIG } from "../lib/report/specs/theme.ts";
import { manifestSection, missingManifestFields } from "../lib/report/section_manifest.ts";
import { syntheticTables, writeSyntheticResults } from "./analysis_fixtures.ts";

const ALL_SECTIONS = [
  "settings",
  "susceptibility",
  "head-roles",
  "pca-loadings",
  "pca-contributions",
  "pca-scree",
  "pca-trajectories",
  "pca-time-series",
  "per-token-text",
  "top-tokens",
  "token-histograms",
  "per-token-vs-overall",
  "ablation",
  "llc",
  "diagnostics",
  "traces",
  "manifest",
];

/** Every way a page could pull in something from outside: URL schemes, src/href other than #anchors, CSS url(), @import. */
function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (
    const re of [
      /[a-z][a-z0-9+.-]*:\/\//gi,
      /\bsrc\s*=/gi,
      /\bhref\s*=\s*(?!["']?#)/gi,
      /url\(\s*(?!["']?#)/gi,
      /@import/gi,
      /<script/gi,
      /<link/gi,
    ]
  ) {
    for (const m of html.matchAll(re)) found.push(html.slice(Math.max(0, m.index! - 30), m.index! + 40));
  }
  return found;
}

Deno.test("buildReport: the full synthetic run gives every section, rendered charts and a self-contained page", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  const t = syntheticTables();
  // A URL inside the manifest and a "://" token must not leak into the page source.
  t.manifest.source = "https://example.org/data";
  (t.contexts.text as string[])[5] = "://";
  await writeSyntheticResults(dir, t);
  const report = await buildReport(await loadResults(dir), { runName: "synthetic-run" });
  assert.deepEqual(report.sections.map((s) => s.id), ALL_SECTIONS);
  for (const id of ALL_SECTIONS) {
    assert.ok(report.html.includes(`<section id="${id}">`) && report.html.includes(`href="#${id}"`), id);
  }
  assert.equal(report.charts.length, 12);
  for (const c of report.charts) {
    assert.ok(countMarks(c.svg) > 10, `${c.id}: ${countMarks(c.svg)} marks`);
    assert.ok(report.html.includes(c.svg.slice(0, 200)), `${c.id} is inlined`);
  }
  assert.deepEqual(externalReferences(report.html), []);
  assert.ok(report.html.includes("https&#58;//example.org/data"), "manifest shown as-is (escaped)");
  assert.match(report.html, /<h1>Susceptibility report — synthetic-run<\/h1>/);
  assert.match(report.html, /Paper: Fig\. 6\./);
  // The synthetic run plants one warning (a late full-model R̂ of 1.2): one note.
  assert.equal(report.notes.length, 1);
  assert.match(report.notes[0], /^1 sampler warning \(1 R̂ > 1\.1\)/);
  // PCA on the synthetic modes: three components carry almost all variance.
  assert.ok(report.pca!.explainedVariance.slice(0, 3).reduce((a, b) => a + b, 0) > 0.95);
  // The LLC is drawn once per restriction, not once per probe.
  const llc = report.sections.find((s) => s.id === "llc")!;
  assert.match(llc.caption, /drawn once per restriction/);
  assert.ok(llc.body.includes("all probes"));
  // The diagnostics table: the synthetic run's last full-model trace has R̂ 1.2, flagged beside its LLC.
  const diag = report.sections.find((s) => s.id === "diagnostics")!;
  assert.match(
    diag.body,
    /<td>full<\/td><td>[^<]+<\/td><td>\(same: unpaired run\)<\/td><td>1\.20 \/ \d+<\/td><td>R̂ 1\.20 &gt; 1\.1/,
  );
  // Its sentence of numbers: the step-6400 estimates flagged, and every step's warnings by kind.
  const at6400 = runWarnings(t.susceptibility as never, healthRecordsOf(t.manifest))
    .filter((w) => w.step === 6400 && !w.estimate.startsWith("chain"));
  const flagged = new Set(at6400.map((w) => `${w.estimate}/${w.restriction}/${w.probe}`)).size;
  assert.equal(
    diag.summary,
    `At step 6400, ${flagged} of 36 estimates (27 χ, 9 LLC) carry a warning; over all 7 checkpoints the run has ` +
      `1 warning (1 R̂ > 1.1).`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("buildReport: absent optional tables omit their sections with a note saying which file is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await writeSyntheticResults(dir, syntheticTables(), [
    "per_token.arrow",
    "traces.arrow",
    "head_roles.arrow",
    "manifest.json",
  ]);
  const report = await buildReport(await loadResults(dir));
  assert.deepEqual(report.sections.map((s) => s.id), [
    "settings",
    "susceptibility",
    "pca-loadings",
    "pca-contributions",
    "pca-scree",
    "pca-trajectories",
    "pca-time-series",
    "llc",
    "diagnostics",
  ]);
  assert.equal(report.notes.length, 5);
  assert.match(report.notes[0], /sampler warning/);
  assert.match(report.notes[1], /head_roles\.arrow is absent/);
  assert.match(report.notes[2], /per_token\.arrow is absent/);
  assert.match(report.notes[3], /traces\.arrow is absent/);
  assert.match(report.notes[4], /manifest\.json is absent/);
  assert.match(report.html, /class="notes"/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("buildReport: contexts and ablation absent keep Fig. 9 and drop the text, token and Fig. 7 sections", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await writeSyntheticResults(dir, syntheticTables(), ["contexts.arrow", "ablation.arrow"]);
  const report = await buildReport(await loadResults(dir), { heads: ["0:1", "1:2"] });
  const ids = report.sections.map((s) => s.id);
  assert.ok(
    ids.includes("per-token-vs-overall") && !ids.includes("per-token-text") && !ids.includes("ablation"),
  );
  assert.ok(
    report.notes.some((n) => /contexts\.arrow is absent/.test(n)) &&
      report.notes.some((n) => /ablation\.arrow is absent/.test(n)),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("buildReport: an unknown head in the options is a ReportOptionError listing the available heads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await writeSyntheticResults(dir, syntheticTables());
  await assert.rejects(
    buildReport(await loadResults(dir), { heads: ["3:9"] }),
    (e: unknown) =>
      e instanceof ReportOptionError &&
      /head 3:9 has no per-token values \(available: 0:0, 0:1/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadResults: a folder without susceptibility.arrow is a TableError naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await assert.rejects(
    loadResults(dir),
    (e: unknown) => e instanceof TableError && e.file === join(dir, "susceptibility.arrow"),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spreadHeads/resolveHeads: default heads spread first to last; bad names are refused", () => {
  const heads = ["0:0", "0:1", "0:2", "0:3", "1:0", "1:1", "1:2", "1:3"];
  assert.deepEqual(spreadHeads(heads, 3), ["0:0", "1:0", "1:3"]);
  assert.deepEqual(spreadHeads(["0:0", "0:1"], 3), ["0:0", "0:1"]);
  assert.deepEqual(resolveHeads(undefined, heads), ["0:0", "1:0", "1:3"]);
  assert.throws(() => resolveHeads(["L1H2"], heads), /expected "layer:head"/);
});

Deno.test("manifestSection: config, seeds, versions and adapter first; what the manifest lacks is said", () => {
  const s = manifestSection({
    extra: 1,
    adapter: { vendor: "mesa" },
    seeds: { sgld: 3 },
    chi_version: "0.1.0",
  });
  const order = [...s.body.matchAll(/<tr><td>([a-z_]+)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(order, ["chi_version", "seeds", "adapter", "extra"]);
  assert.match(s.caption, /It does not record: config\.$/);
  assert.deepEqual(missingManifestFields({ config: {}, seeds: {}, runtime: {}, adapter: null }), []);
  assert.deepEqual(missingManifestFields({}), ["config", "seeds", "versions", "adapter"]);
});

Deno.test("buildReport: options.config restyles every chart and options.restyle one chart by id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_report_" });
  await writeSyntheticResults(dir, syntheticTables(), ["per_token.arrow", "traces.arrow"]);
  const seen: string[] = [];
  const report = await buildReport(await loadResults(dir), {
    config: { ...REPORT_CONFIG, background: "#fdfdf0" },
    restyle: (id, spec) => {
      seen.push(id);
      return id === "pca-scree" ? { ...spec, title: "my scree", width: 640 } as TopLevelSpec : spec;
    },
  });
  assert.deepEqual(seen, report.charts.map((c) => c.id));
  for (const c of report.charts) assert.match(c.svg, /fill="#fdfdf0"/, `${c.id} uses the given config`);
  const scree = report.charts.find((c) => c.id === "pca-scree")!;
  assert.match(scree.svg, />my scree</);
  assert.ok(Number(/<svg[^>]*width="(\d+)"/.exec(scree.svg)![1]) > 640);
  await Deno.remove(dir, { recursive: true });
});
