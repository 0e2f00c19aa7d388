/**
 * Writes a run's static HTML report: one self-contained file that opens offline (inline CSS and SVG, no
 * scripts, no external URL).
 *
 *   deno run --allow-read=. --allow-write=reports scripts/report.ts --results runs/<run>/results \
 *     [--out reports/<run>/index.html] [--heads 0:0,1:2,1:7] [--title "..."] [--components 3] \
 *     [--contexts 2] [--token " the" --token "("] [--step 49900] [--probes github,arxiv]
 *
 *   deno run --allow-read=. --allow-write=runs,reports scripts/report.ts --demo [--scale small|paper]
 *
 * --demo first writes a synthetic results folder (lib/analysis/synthetic_results.ts: planted structure, no
 * model) to runs/demo/results (or --results) and reports on it, to reports/demo/index.html by default.
 */

import { ChiInputError } from "../lib/util/errors.ts";
import { runMain } from "../lib/util/main.ts";
import { OUTPUT_ROOTS, requireOutputPath } from "../lib/util/output_path.ts";
import { parseArgs } from "node:util";
import { basename, dirname, join, resolve } from "node:path";
import { loadResults } from "../lib/analysis/results.ts";
import {
  DEFAULT_SHAPE,
  PAPER_SHAPE,
  syntheticTables,
  writeSyntheticResults,
} from "../lib/analysis/synthetic_results.ts";
import { buildReport, type BuiltReport } from "../lib/report/build_report.ts";
import { writeTextFileAtomic } from "../lib/util/files.ts";

const USAGE = "usage: report.ts --results <dir> [--out <file>] [--heads l:h,...] [--title <text>] " +
  "[--components k] [--contexts n] [--token <piece> ...] [--step <step>] [--probes a,b]\n" +
  "       report.ts --demo [--scale small|paper] [--results <dir>] [--out <file>] [options as above]";

/** A command-line mistake; printed with the usage line. */
export class UsageError extends ChiInputError {
  constructor(message: string) {
    super(`${message} (usage: report.ts --help)`);
    this.name = "UsageError";
  }
}

function integer(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

const list = (v: string | undefined) => v?.split(",").map((s) => s.trim()).filter((s) => s.length > 0);

/** The run name: the results folder's parent when the folder is called "results", else the folder. */
export function runNameOf(dir: string): string {
  const abs = resolve(dir);
  return basename(abs) === "results" ? basename(dirname(abs)) : basename(abs);
}

/** What one invocation did. */
export interface ReportRun {
  out: string;
  results: string;
  report: BuiltReport;
  /** Wall time of loading the tables and of building the page (analysis + chart rendering), ms. */
  loadMs: number;
  buildMs: number;
}

/** Parses `args`, optionally writes the demo results, builds and writes the report. */
export async function runReport(
  args: string[],
  /** Where outputs may go (the script: runs/ and reports/, symlinks resolved); null = anywhere (tests). */
  outputRoots: readonly string[] | null = null,
): Promise<ReportRun | undefined> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
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
        demo: { type: "boolean" },
        scale: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  if (values.scale !== undefined && !values.demo) throw new UsageError("--scale only applies with --demo");
  // Option values are checked before anything is read or written.
  const options = {
    title: values.title,
    heads: list(values.heads),
    components: integer("components", values.components, 1),
    contextsPerProbe: integer("contexts", values.contexts, 0),
    histogramTokens: values.token,
    perTokenStep: integer("step", values.step, 0),
    probes: list(values.probes),
  };
  let dir = values.results;
  if (outputRoots !== null) {
    if (values.out !== undefined) requireOutputPath(values.out, "--out", outputRoots);
    if (values.demo && dir !== undefined) requireOutputPath(dir, "--results", outputRoots);
  }
  if (values.demo) {
    const scale = values.scale ?? "small";
    if (scale !== "small" && scale !== "paper") {
      throw new UsageError(`--scale: expected "small" or "paper", got ${JSON.stringify(scale)}`);
    }
    dir ??= join("runs", "demo", "results");
    await writeSyntheticResults(dir, syntheticTables(scale === "paper" ? PAPER_SHAPE : DEFAULT_SHAPE));
  }
  if (!dir) throw new UsageError("--results <dir> is required (or --demo)");
  const runName = runNameOf(dir);
  const out = values.out ?? join("reports", runName, "index.html");
  const t0 = performance.now();
  const results = await loadResults(dir);
  const t1 = performance.now();
  const report = await buildReport(results, { runName, ...options });
  const t2 = performance.now();
  await Deno.mkdir(dirname(out), { recursive: true });
  await writeTextFileAtomic(out, report.html);
  return { out, results: dir, report, loadMs: t1 - t0, buildMs: t2 - t1 };
}

if (import.meta.main) {
  await runMain(async () => {
    const run = await runReport(Deno.args, OUTPUT_ROOTS);
    if (run) {
      const { out, report } = run;
      console.log(
        `${out}: ${report.sections.length} sections, ${report.charts.length} charts, ` +
          `${(report.html.length / 1024).toFixed(0)} KiB; tables loaded in ${run.loadMs.toFixed(0)} ms, ` +
          `report built in ${run.buildMs.toFixed(0)} ms`,
      );
      for (const n of report.notes) console.log(`note: ${n}`);
    }
  });
}
