/**
 * The end-to-end sweep: dataset → checkpoints (trained or given) → χ for every checkpoint × probe × head →
 * per-token χ and ablations at the last checkpoint → merged Arrow tables, manifest, HTML report.
 *
 *   deno task sweep                                   # the embedded synthetic default (docs/sweep.md)
 *   deno task sweep --config my_sweep.json            # your checkpoints, data, hyperparameters
 *   deno task sweep --config c.json --plan            # check every input, count the work, estimate the time
 *   deno task sweep --config c.json --prepare         # dataset + training only (before launching shards)
 *   deno task sweep --config c.json --shard 3/16      # one shard (also SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX)
 *   deno task sweep --config c.json --merge           # merge finished units and write the report
 *   deno task sweep --from-manifest runs/default/results/manifest.json --out runs/repro
 *
 * Finished units are skipped, so rerunning after an interruption continues where it stopped.
 */
import { runMain } from "../lib/util/main.ts";
import { parseArgs } from "node:util";
import { getGpu, type Gpu } from "../lib/gpu/device.ts";
import { setTileTuning, TILE_OPTIONS, TILE_USAGE, tuningFromFlags } from "../lib/model/matmul_tune.ts";
import { buildManifest, type Manifest } from "../lib/util/manifest.ts";
import { reproductionWarnings } from "../lib/sweep/reproduce.ts";
import { readJsonFile } from "../lib/util/files.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";
import { Progress } from "../lib/util/progress.ts";
import { UsageError } from "../lib/util/cli.ts";
import { parseSweepConfig, readSweepConfig, type SweepConfig } from "../lib/sweep/config.ts";
import { resolveShard } from "../lib/sweep/shard.ts";
import { changedInputs, runSweep, type SweepRunResult } from "../lib/sweep/run.ts";
import { formatPlan, planSweep } from "../lib/sweep/plan.ts";

const HELP = `deno task sweep [flags]
  --config <sweep.json>        sweep config (schema: docs/sweep.md); default: the embedded synthetic default
  --from-manifest <file>       rerun the sweep a manifest.json records (inputs must hash the same)
  --name <name> --out <dir> --report <file>   override the config's name, sweep folder, report path
  --shard i/N                  run shard i of N (else SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX)
  --shard-count N              the shard count for JOB_COMPLETION_INDEX (or CHI_SHARD_COUNT)
  --plan                       check every input, print the work count and the estimated time; sample
                               and write nothing (--no-estimate: skip the timing of a few SGLD steps)
  --prepare                    only build the dataset and train / check the checkpoints
  --merge                      only merge finished units, write the manifest and the report
  --no-report                  skip the HTML report
${TILE_USAGE}`;

const SHARD_ENV = [
  "SLURM_ARRAY_TASK_ID",
  "SLURM_ARRAY_TASK_MIN",
  "SLURM_ARRAY_TASK_COUNT",
  "JOB_COMPLETION_INDEX",
  "CHI_SHARD_COUNT",
];

/** Environment lookup that treats a variable we may not read as unset. */
function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

async function configFromManifest(path: string): Promise<{ cfg: SweepConfig; manifest: Manifest }> {
  const m = await readJsonFile(path) as Manifest;
  if (typeof m !== "object" || m === null || typeof m.config !== "object" || m.config === null) {
    throw new UsageError(`--from-manifest: ${path} has no "config" object (not a sweep manifest)`);
  }
  if ((m.extra as Record<string, unknown> | undefined)?.kind !== "chi-sweep") {
    throw new UsageError(`--from-manifest: ${path} is not a sweep manifest (extra.kind is not "chi-sweep")`);
  }
  return { cfg: await parseSweepConfig(m.config, `${path} (config)`), manifest: m };
}

function summary(r: SweepRunResult): string {
  const s = r.seconds;
  const lines = [
    `units: ${r.computed.length} computed, ${r.skipped.length} already finished, ${r.missing} left to other shards ` +
    `(of ${r.units.length})`,
    `time: total ${s.total.toFixed(1)} s (train ${s.train.toFixed(1)}, prepare ${
      s.prepare.toFixed(1)
    }, units ` +
    `${s.units.toFixed(1)}, merge ${s.merge.toFixed(1)}, report ${s.report.toFixed(1)})`,
  ];
  if (r.merged) {
    const rows = Object.entries(r.merged.rows).map(([f, n]) => `${f} ${n}`).join(", ");
    lines.push(`results: ${r.merged.resultsDir} (${rows}); manifest ${r.merged.manifest}`);
  }
  if (r.report) lines.push(`report: ${r.report}`);
  return lines.join("\n");
}

const ARG_OPTIONS = {
  config: { type: "string" },
  "from-manifest": { type: "string" },
  name: { type: "string" },
  out: { type: "string" },
  report: { type: "string" },
  shard: { type: "string" },
  "shard-count": { type: "string" },
  plan: { type: "boolean", default: false },
  "no-estimate": { type: "boolean", default: false },
  prepare: { type: "boolean", default: false },
  merge: { type: "boolean", default: false },
  "no-report": { type: "boolean", default: false },
  ...TILE_OPTIONS,
  help: { type: "boolean", default: false },
} as const;

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ options: ARG_OPTIONS, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (deno task sweep --help lists the flags)`);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (values.config && values["from-manifest"]) {
    throw new UsageError("--config and --from-manifest exclude each other");
  }
  if ([values.plan, values.prepare, values.merge].filter(Boolean).length > 1) {
    throw new UsageError("--plan, --prepare and --merge exclude each other");
  }
  if (values["no-estimate"] && !values.plan) throw new UsageError("--no-estimate goes with --plan");
  const tiles = tuningFromFlags(values);
  // The GPU is acquired on first use (a --plan without estimate needs none); its tiles are set then.
  let tuned: Promise<Gpu> | undefined;
  const gpuTuned = () => tuned ??= getGpu().then(async (g) => (await setTileTuning(g, tiles), g));
  let cfg: SweepConfig;
  let manifest: Manifest | undefined;
  if (values["from-manifest"]) ({ cfg, manifest } = await configFromManifest(values["from-manifest"]));
  else if (values.config) cfg = await readSweepConfig(values.config);
  else cfg = await parseSweepConfig({}, "the default sweep");
  if (values.name) {
    const renamed = await parseSweepConfig({ name: values.name }, "--name");
    cfg = { ...cfg, name: renamed.name, out: renamed.out, report: renamed.report };
  }
  if (values.out) cfg = { ...cfg, out: values.out };
  if (values.report) cfg = { ...cfg, report: values.report };
  requireOutputPath(cfg.out, values.out ? "--out" : "out");
  requireOutputPath(cfg.report, values.report ? "--report" : "report");
  if (cfg.checkpoints === null) requireOutputPath(cfg.train.dir, "train.dir");
  if (cfg.data === null) requireOutputPath(cfg.defaultDataDir, "defaultDataDir");
  if (values.plan) {
    const plan = await planSweep(cfg, {
      source: values.config ?? values["from-manifest"] ?? "the default sweep",
      estimate: !values["no-estimate"],
      gpu: gpuTuned,
      log: (l) => console.error(l),
    });
    for (const line of formatPlan(cfg, plan)) console.log(line);
    return;
  }
  const shard = resolveShard(
    values.shard,
    values["shard-count"],
    (n) => SHARD_ENV.includes(n) ? env(n) : undefined,
  );
  if (manifest) {
    const changed = await changedInputs(manifest);
    if (changed.length > 0) {
      throw new UsageError(
        `--from-manifest: inputs differ from the recorded ones, so the numbers would not reproduce: ${
          changed.join("; ")
        }`,
      );
    }
    console.error(
      `rerunning the sweep of ${values["from-manifest"]} (git ${manifest.git?.commit}) → ${cfg.out}`,
    );
    const now = await buildManifest({ adapter: (await getGpu()).record });
    const env = {
      commit: now.git.commit,
      dirty: now.git.dirty,
      code: now.code?.sha256,
      deno: now.runtime.deno,
    };
    for (const w of reproductionWarnings(manifest, { ...env, adapter: now.adapter })) {
      console.error(`warning: ${w}; the numbers may differ`);
    }
  }

  let train: Progress | undefined;
  let units: Progress | undefined;
  let unitCount = 0;
  let unitIndex = 0;
  let current = "";
  const result = await runSweep(cfg, {
    shard,
    prepareOnly: values.prepare,
    mergeOnly: values.merge,
    report: !values["no-report"],
    gpu: gpuTuned,
    hooks: {
      log: (line) => console.error(line),
      onTrainProgress: (done, total, loss, tps) => {
        train ??= new Progress("train", total);
        train.update(done, `loss ${loss.toFixed(4)} ${tps.toFixed(0)} tok/s`);
        if (done === total) train.done();
      },
      onUnitsStart: (list) => {
        train?.done();
        unitCount = list.length;
        units = new Progress("sweep ‰", 1000);
      },
      onUnitProgress: (done, total, unit) => {
        if (unit && unit.id !== current) {
          current = unit.id;
          unitIndex++;
        }
        units?.update(
          Math.round((1000 * done) / Math.max(total, 1e-9)),
          `unit ${unitIndex}/${unitCount} ${current}`,
        );
      },
    },
  });
  units?.done(`${unitCount} units`);
  console.log(summary(result));
}

await runMain(main);
