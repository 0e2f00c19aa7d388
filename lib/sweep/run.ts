/**
 * A whole sweep: prepare the inputs (dataset, training or given checkpoints), plan the work units, run this
 * process's shard of them, and — when every unit of the plan is finished — merge them into results/*.arrow,
 * write results/manifest.json and the HTML report (with its own manifest beside it).
 *
 *   runs/<name>/config.json            the resolved config (sweepConfigToJson)
 *   runs/<name>/units/<kind>/step_N/   one finished unit: its tables + unit.json
 *   runs/<name>/results/               merged tables + manifest.json
 *   reports/<name>/index.html          the report (+ manifest.json)
 */

import { basename, dirname, join } from "node:path";
import type { Gpu } from "../gpu/device.ts";
import { loadResults } from "../analysis/results.ts";
import { buildReport } from "../report/build_report.ts";
import { buildManifest, type Manifest, writeManifest } from "../util/manifest.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../util/files.ts";
import { sha256File } from "../util/hash.ts";
import { shardPaths } from "../data/shard.ts";
import { type SweepConfig, SweepConfigError, sweepConfigToJson } from "./config.ts";
import {
  checkShardVocab,
  prepareCheckpoints,
  prepareData,
  resolveRestrictions,
  type SweepData,
} from "./prepare.ts";
import { shardItems, type ShardSpec, SINGLE_SHARD } from "./shard.ts";
import {
  checkUnitStore,
  missingUnits,
  type PlannedCheckpoint,
  planUnits,
  runUnits,
  type WorkUnit,
} from "./units.ts";
import { tryClaim } from "./claims.ts";
import type { ModelConfig } from "../model/config.ts";
import { codeFingerprint } from "../util/code_fingerprint.ts";
import { mergeUnits } from "./merge.ts";
import { collectHealth, healthLines } from "./health.ts";
import { headRoleSpanProblem, loadSweepData, sweepCompute, unitCosts, unitSettings } from "./compute.ts";

export interface SweepHooks {
  log?: (line: string) => void;
  onTrainProgress?: (done: number, total: number, loss: number, tokensPerSecond: number) => void;
  onUnitsStart?: (units: readonly WorkUnit[]) => void;
  onUnitProgress?: (done: number, total: number, current: WorkUnit | null) => void;
}

export interface SweepRunOptions {
  shard?: ShardSpec;
  /** Only prepare data and checkpoints (run once before launching shards). */
  prepareOnly?: boolean;
  /** Only merge finished units and write the report (no computation). */
  mergeOnly?: boolean;
  /** Write the HTML report after the merge (default true). */
  report?: boolean;
  gpu: () => Promise<Gpu>;
  hooks?: SweepHooks;
}

export interface SweepRunResult {
  units: WorkUnit[];
  /** Units of this shard computed now / skipped as already finished. */
  computed: string[];
  skipped: string[];
  /** Set when every unit was finished and the results were merged. */
  merged?: { resultsDir: string; rows: Record<string, number>; manifest: string };
  report?: string;
  missing: number;
  seconds: { prepare: number; train: number; units: number; merge: number; report: number; total: number };
}

/** The input files whose hashes a sweep's manifest records (name → path). */
export function sweepInputs(data: SweepData, checkpoints: readonly { step: number; path: string }[]) {
  const inputs: Record<string, string> = { tokenizer: data.tokenizer };
  const add = (name: string, shard: string) => {
    const p = shardPaths(shard);
    inputs[`${name}.tokens`] = p.tokens;
    inputs[`${name}.json`] = p.meta;
  };
  add("base", data.base);
  for (const p of data.probes) add(`probe.${p.name}`, p.path);
  for (const c of checkpoints) inputs[`checkpoint.${c.step}`] = c.path;
  return inputs;
}

async function dataHashes(data: SweepData): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(sweepInputs(data, []))) {
    out[name] = (await sha256File(path)).sha256;
  }
  return out;
}

/** Runs the sweep described by `cfg` (see the module comment). */
export async function runSweep(cfg: SweepConfig, o: SweepRunOptions): Promise<SweepRunResult> {
  const t0 = performance.now();
  const log = o.hooks?.log ?? (() => {});
  const shard = o.shard ?? SINGLE_SHARD;
  const seconds = { prepare: 0, train: 0, units: 0, merge: 0, report: 0, total: 0 };

  const data = await prepareData(cfg, log);
  const ck = await prepareCheckpoints(cfg, data, {
    gpu: o.gpu,
    allowTraining: shard.count === 1 && !o.mergeOnly,
    onTrainProgress: o.hooks?.onTrainProgress,
    log,
  });
  seconds.train = ck.trainSeconds;
  if (cfg.sgld.seqLen > ck.modelConfig.n_ctx) {
    throw new SweepConfigError(
      "sgld.seqLen",
      `${cfg.sgld.seqLen} exceeds the model's n_ctx ${ck.modelConfig.n_ctx}`,
    );
  }
  // Checked before any sampling: the head roles of each chi unit come after its SGLD run.
  const spanProblem = headRoleSpanProblem(ck.modelConfig.n_ctx);
  if (spanProblem !== null) throw new SweepConfigError("model", spanProblem);
  await checkShardVocab(
    data,
    ck.modelConfig,
    cfg.checkpoints !== null ? `the checkpoints in ${ck.dir}` : `model ${JSON.stringify(cfg.model)}`,
  );
  const restrictions = resolveRestrictions(cfg, ck.modelConfig);
  const probes = data.probes.map((p) => p.name);
  let perTokenStep: number | null = null;
  if (cfg.perToken.enabled) {
    perTokenStep = cfg.perToken.step < 0 ? ck.selected[ck.selected.length - 1].step : cfg.perToken.step;
    if (!ck.selected.some((c) => c.step === perTokenStep)) {
      throw new SweepConfigError("perToken.step", `step ${perTokenStep} is not a selected checkpoint`);
    }
  }
  const hashes = await dataHashes(data);
  const units = planUnits({
    checkpoints: ck.selected,
    probes,
    restrictions,
    seed: cfg.seed,
    perTokenStep,
    ablation: cfg.perToken.ablation,
    settings: unitSettings(cfg, ck.modelConfig, hashes),
    cost: unitCosts(cfg, restrictions.length, probes.length),
    code: (await codeFingerprint()).sha256,
  });
  // Every check that can refuse the run comes before the first write to the sweep folder.
  await checkUnitStore(cfg.out, units);
  await Deno.mkdir(cfg.out, { recursive: true });
  await writeJsonAtomic(join(cfg.out, "config.json"), sweepConfigToJson(cfg));
  seconds.prepare = (performance.now() - t0) / 1000 - seconds.train;
  log(
    `sweep "${cfg.name}": ${ck.selected.length} checkpoints × ${probes.length} probes × ${restrictions.length} ` +
      `restrictions → ${units.length} units (${shard.source}${
        shard.count > 1 ? ` ${shard.index}/${shard.count}` : ""
      })`,
  );
  const result: SweepRunResult = { units, computed: [], skipped: [], missing: 0, seconds };
  if (o.prepareOnly) return finish(result, t0);

  if (!o.mergeOnly) {
    const mine = shardItems(units, shard);
    const gpu = await o.gpu();
    const compute = sweepCompute(gpu, cfg, await loadSweepData(data));
    o.hooks?.onUnitsStart?.(mine);
    const r = await runUnits(cfg.out, mine, compute, {
      onProgress: o.hooks?.onUnitProgress,
      onUnit: (u, status, record) => {
        if (status === "skipped") log(`unit ${u.id}: already finished, skipped`);
        if (status === "elsewhere") log(`unit ${u.id}: another process is computing it, left to it`);
        // The sampler's problems are said as they happen, not only in the report at the end.
        if (status === "computed") { for (const line of healthLines(u.id, record)) log(line); }
      },
    });
    result.computed = r.computed;
    result.skipped = r.skipped;
    seconds.units = r.seconds;
  }

  const missing = await missingUnits(cfg.out, units);
  result.missing = missing.length;
  if (missing.length > 0) {
    log(`${missing.length} of ${units.length} units are still to do in other shards; merge when they finish`);
    return finish(result, t0);
  }
  // One merger at a time: the others leave it to the process holding the merge claim.
  const mergeClaim = await tryClaim(cfg.out, "merge");
  if (mergeClaim === null) {
    log("another process is merging this sweep folder; leaving the merge to it");
    return finish(result, t0);
  }
  try {
    return await mergeAndReport(cfg, o, data, ck, units, probes, restrictions, result, t0);
  } finally {
    await mergeClaim.release();
  }
}

async function mergeAndReport(
  cfg: SweepConfig,
  o: SweepRunOptions,
  data: SweepData,
  ck: { dir: string; modelConfig: ModelConfig; selected: PlannedCheckpoint[] },
  units: WorkUnit[],
  probes: string[],
  restrictions: string[],
  result: SweepRunResult,
  t0: number,
): Promise<SweepRunResult> {
  const log = o.hooks?.log ?? (() => {});
  const seconds = result.seconds;
  const tm = performance.now();
  const resultsDir = join(cfg.out, "results");
  // Tables and manifest go to a folder of their own, renamed into place whole (publishResults): a full disk or
  // a kill mid-merge leaves the previous results/ or none, never some tables without their manifest.
  const staging = await stagingDir(resultsDir);
  let merged;
  try {
    merged = await mergeUnits(cfg.out, units, staging);
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw err;
  }
  const gpu = await o.gpu();
  const manifest = await buildManifest({
    config: sweepConfigToJson(cfg),
    seeds: { sweep: cfg.seed, train: cfg.train.seed },
    inputs: sweepInputs(data, ck.selected),
    adapter: gpu.record,
    extra: {
      kind: "chi-sweep",
      model: ck.modelConfig,
      checkpointsDir: ck.dir,
      probes,
      restrictions,
      units: units.map((u) => ({ id: u.id, seed: u.seed, fingerprint: u.fingerprint })),
      rows: merged.rows,
      health: await collectHealth(cfg.out, units),
    },
  });
  const manifestPath = join(resultsDir, "manifest.json");
  try {
    await writeManifest(join(staging, "manifest.json"), manifest);
    await publishResults(staging, resultsDir);
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw err;
  }
  seconds.merge = (performance.now() - tm) / 1000;
  result.merged = { resultsDir, rows: merged.rows, manifest: manifestPath };
  if (o.report ?? true) {
    const tr = performance.now();
    const built = await buildReport(await loadResults(resultsDir), { runName: cfg.name });
    await Deno.mkdir(dirname(cfg.report), { recursive: true });
    await writeTextFileAtomic(cfg.report, built.html);
    await writeManifest(join(dirname(cfg.report), "manifest.json"), manifest);
    for (const n of built.notes) log(`report note: ${n}`);
    result.report = cfg.report;
    seconds.report = (performance.now() - tr) / 1000;
  }
  return finish(result, t0);
}

const STAGING_MARK = ".tmp-";

/** A fresh staging folder beside `resultsDir`, after removing those of killed earlier merges. */
async function stagingDir(resultsDir: string): Promise<string> {
  const parent = dirname(resultsDir);
  const prefix = `${basename(resultsDir)}${STAGING_MARK}`;
  for await (const ent of Deno.readDir(parent)) {
    if (ent.name.startsWith(prefix)) await Deno.remove(join(parent, ent.name), { recursive: true });
  }
  const dir = `${resultsDir}${STAGING_MARK}${Deno.pid}`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** Replaces `resultsDir` by `staging` (a rename cannot replace a non-empty folder: the old one moves aside). */
async function publishResults(staging: string, resultsDir: string): Promise<void> {
  const old = `${resultsDir}${STAGING_MARK}old-${Deno.pid}`;
  let moved = false;
  try {
    await Deno.rename(resultsDir, old);
    moved = true;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.rename(staging, resultsDir);
  if (moved) await Deno.remove(old, { recursive: true });
}

function finish(r: SweepRunResult, t0: number): SweepRunResult {
  r.seconds.total = (performance.now() - t0) / 1000;
  return r;
}

/** Input records of a manifest whose hash differs from the file now at its path (or whose file is gone). */
export async function changedInputs(manifest: Manifest): Promise<string[]> {
  const out: string[] = [];
  for (const [name, rec] of Object.entries(manifest.inputs)) {
    try {
      if ((await sha256File(rec.path)).sha256 !== rec.sha256) {
        out.push(`${name} (${rec.path}: content differs)`);
      }
    } catch {
      out.push(`${name} (${rec.path}: missing)`);
    }
  }
  return out;
}
