import assert from "node:assert/strict";
import { join } from "node:path";
import { TableError } from "../lib/tables/schema.ts";
import { runNameOf, runReport, UsageError } from "../scripts/report.ts";

Deno.test("report script: --demo writes a synthetic results folder and a self-contained report with every section", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_script_" });
  const results = join(dir, "demo", "results");
  const out = join(dir, "site", "index.html");
  const run = await runReport(["--demo", "--results", results, "--out", out]);
  assert.ok(run);
  console.log(
    `demo report: ${run.report.html.length} bytes, load ${run.loadMs.toFixed(0)} ms, build ${
      run.buildMs.toFixed(0)
    } ms`,
  );
  const html = await Deno.readTextFile(out);
  assert.equal(html, run.report.html);
  assert.equal(run.report.sections.length, 17);
  // The synthetic run's planted R̂ 1.2 of the last full-model LLC: one note counting the warnings.
  assert.equal(run.report.notes.length, 1);
  assert.match(run.report.notes[0], /^1 sampler warning \(1 R̂ > 1\.1\)/);
  assert.match(html, /Susceptibility report — demo/);
  assert.match(html, /&quot;synthetic&quot;: true/, "the manifest says the data are synthetic");
  assert.ok(!/:\/\/|<script|<link|\bsrc=/.test(html), "no external reference");
  for (
    const f of ["susceptibility.arrow", "per_token.arrow", "contexts.arrow", "ablation.arrow", "traces.arrow"]
  ) {
    assert.ok((await Deno.stat(join(results, f))).size > 0, f);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("report script: a missing folder, a file instead of a folder and a broken table are errors naming the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_script_" });
  const missing = join(dir, "nope");
  await assert.rejects(
    runReport(["--results", missing, "--out", join(dir, "o.html")]),
    (e: unknown) =>
      e instanceof TableError && e.message.includes(missing) && /does not exist/.test(e.message),
  );
  const file = join(dir, "file.txt");
  await Deno.writeTextFile(file, "x");
  await assert.rejects(runReport(["--results", file]), /file\.txt: column "\(folder\)": is a file/);
  const empty = join(dir, "empty");
  await Deno.mkdir(empty);
  await assert.rejects(runReport(["--results", empty]), /susceptibility\.arrow.*file not found/);
  await Deno.writeTextFile(join(empty, "susceptibility.arrow"), "not arrow at all");
  await assert.rejects(
    runReport(["--results", empty, "--out", join(dir, "o.html")]),
    (e: unknown) => e instanceof TableError && /susceptibility\.arrow.*not an Arrow IPC file/.test(e.message),
  );
  await assert.rejects(Deno.stat(join(dir, "o.html")), Deno.errors.NotFound, "nothing written on error");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("report script: bad command lines are UsageErrors naming the option", async () => {
  await assert.rejects(
    runReport([]),
    (e: unknown) => e instanceof UsageError && /--results <dir> is required/.test(e.message),
  );
  await assert.rejects(
    runReport(["--results", "x", "--components", "0"]),
    /--components: expected an integer ≥ 1, got "0"/,
  );
  await assert.rejects(runReport(["--results", "x", "--step", "1.5"]), /--step: expected an integer ≥ 0/);
  await assert.rejects(runReport(["--bogus"]), UsageError);
  await assert.rejects(runReport(["--demo", "--scale", "huge"]), /--scale: expected "small" or "paper"/);
  await assert.rejects(runReport(["--results", "x", "--scale", "paper"]), /--scale only applies with --demo/);
});

Deno.test("runNameOf: the parent's name for a folder called results, else the folder's name", () => {
  assert.equal(runNameOf("runs/r1/results"), "r1");
  assert.equal(runNameOf("/tmp/somewhere/"), "somewhere");
});
