/**
 * Writes a run's static HTML report (one self-contained file, opens offline).
 *
 *   deno run --allow-read=. --allow-write=reports scripts/report.ts --results runs/<run>/results \
 *     [--out reports/<run>/index.html] [--heads 0:0,1:2,1:7] [--title "..."] [--components 3] \
 *     [--contexts 2] [--token " the" --token "("] [--step 49900] [--probes github,arxiv]
 */

import { parseArgs } from "node:util";
import { basename, dirname, join, resolve } from "node:path";
import { loadResults } from "../lib/analysis/results.ts";
import { buildReport } from "../lib/report/build_report.ts";
import { writeTextFileAtomic } from "../lib/util/files.ts";

const USAGE =
  "usage: report.ts --results <dir> [--out <file>] [--heads l:h,...] [--title <text>] [--components k] " +
  "[--contexts n] [--token <piece> ...] [--step <step>] [--probes a,b]";

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

const list = (v: string | undefined) => v?.split(",").map((s) => s.trim()).filter((s) => s.length > 0);

/** The run name: the results folder's parent when the folder is called "results", else the folder. */
function runNameOf(dir: string): string {
  const abs = resolve(dir);
  return basename(abs) === "results" ? basename(dirname(abs)) : basename(abs);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      results: { type: "string" },
      out: { type: "string" },
      heads: { type: "string" },
      title: { type: "string" },
      components: { type: "string" },
      contexts: { type: "string" },
      token: { type: "string", multiple: true },
      step: { type: "string" },
      probes: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.results) throw new Error(`--results is required\n${USAGE}`);
  const runName = runNameOf(values.results);
  const out = values.out ?? join("reports", runName, "index.html");
  const t0 = performance.now();
  const results = await loadResults(values.results);
  const report = await buildReport(results, {
    runName,
    title: values.title,
    heads: list(values.heads),
    components: positiveInt("components", values.components),
    contextsPerProbe: positiveInt("contexts", values.contexts),
    histogramTokens: values.token,
    perTokenStep: positiveInt("step", values.step),
    probes: list(values.probes),
  });
  await Deno.mkdir(dirname(out), { recursive: true });
  await writeTextFileAtomic(out, report.html);
  const ms = performance.now() - t0;
  console.log(
    `${out}: ${report.sections.length} sections, ${report.charts.length} charts, ` +
      `${(report.html.length / 1024).toFixed(0)} KiB, ${ms.toFixed(0)} ms`,
  );
  for (const n of report.notes) console.log(`note: ${n}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(`report: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
