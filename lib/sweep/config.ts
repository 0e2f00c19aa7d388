/**
 * The sweep config: one JSON object saying which model and checkpoints, which data, which probes, which
 * hyperparameters and where outputs go. Every field is optional; the defaults are the embedded synthetic
 * default (tiny model trained on runs/data/default). Parsed and validated once, at the edge, into a fully
 * resolved `SweepConfig`; every error names the field ("sgld.eps", "probes.github") and what was expected.
 * The schema is documented in docs/sweep.md.
 */

import { ChiInputError } from "../util/errors.ts";
import {
  ConfigError,
  type ModelConfig,
  PAPER_CONFIG,
  parseModelConfig,
  TINY_CONFIG,
} from "../model/config.ts";
import { parseRestriction, RESTRICTION_FORMAT } from "../model/restriction.ts";
import { TRAIN_DEFAULTS } from "../train/train.ts";
import { PAPER_CHECKPOINT_STEPS } from "../train/schedule.ts";
import { readJsonFile } from "../util/files.ts";
import { guessFormat, READER_FORMATS, type ReaderFormat } from "../data/readers/mod.ts";
import { probeCoverageProblem } from "../estimate/probe_coverage.ts";
import { resolveSgld, SGLD_DEFAULTS, type SgldSettings } from "../estimate/sgld_settings.ts";

/** A config mistake; `field` is the dotted path of the field at fault. */
export class SweepConfigError extends ChiInputError {
  constructor(readonly field: string, message: string, readonly source = "sweep config") {
    super(`${source}: field "${field}": ${message}`);
    this.name = "SweepConfigError";
  }
}

/** Training options used when the sweep trains its own checkpoints. */
export interface SweepTrainConfig {
  /** Folder of the training run (checkpoints/ inside); shared with `deno task train` for the defaults. */
  dir: string;
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  seed: number;
  /** Log-spaced checkpoints written during training. */
  checkpoints: number;
}

/** How a data input is stored: a token shard (scripts/corpus.ts makes them) or a raw dataset. */
export type SweepDataFormat = "shard" | ReaderFormat;

/**
 * One data input: a token shard, or a raw dataset (JSONL, Arrow, Parquet or text; file or folder) that the
 * sweep tokenizes once with `data.tokenizer` into `<out>/data/` (lib/sweep/datasets.ts).
 */
export interface SweepDataSource {
  /** The shard ("NAME", "NAME.tokens", "NAME.json") or the dataset file or folder. */
  path: string;
  format: SweepDataFormat;
  /** Text field of JSONL, Arrow and Parquet records. */
  field: string;
  /** Use at most this many documents of a raw dataset; null = all. */
  limit: number | null;
}

/** User data: a tokenizer, the base and the probes, as token shards or raw datasets. */
export interface SweepDataConfig {
  tokenizer: string;
  /** Base data (q). */
  base: SweepDataSource;
  /** Probe name → probe data (q′). */
  probes: Record<string, SweepDataSource>;
}

/**
 * Which checkpoints get susceptibilities: all, `count` log-spaced ones (first and last included), or a list
 * (`"paper"` in the JSON is appendix C.1's set S, PAPER_CHECKPOINT_STEPS).
 */
export type CheckpointSelection = { kind: "all" } | { kind: "logSpaced"; count: number } | {
  kind: "steps";
  steps: number[];
};

/**
 * The sampler of the per-checkpoint susceptibilities: the SGLD settings (lib/estimate/sgld_settings.ts, one
 * field per `sgld` config field; `paired` applies to the chi units only) and the tokens per context.
 */
export interface SweepSgldConfig extends SgldSettings {
  /** Tokens per context fed to the sampler (≤ n_ctx); shared by every unit kind. */
  seqLen: number;
}

/** Per-token χ (C.2) and zero ablations at one checkpoint. */
export interface SweepPerTokenConfig {
  enabled: boolean;
  /** Checkpoint step, or -1 for the last selected one. */
  step: number;
  /** Probe contexts per probe whose every token gets a χ. */
  contexts: number;
  /**
   * How the contexts are chosen: "windows" = T-token windows at seeded random offsets of the probe stream;
   * "documents" = the first `contexts` documents in a seeded order, each from its first token (appendix C.2;
   * lib/data/document_contexts.ts).
   */
  contextChoice: "windows" | "documents";
  chains: number;
  draws: number;
  batchSize: number;
  ablation: boolean;
}

export interface SweepConfig {
  /** Sweep name: outputs go to runs/<name> and reports/<name>/index.html unless given. */
  name: string;
  /** Sweep folder: units/, results/, config.json. */
  out: string;
  /** The HTML report's path. */
  report: string;
  /** "tiny", "paper" or the path of a model config JSON; with `checkpoints`, read from the checkpoints. */
  model: string;
  /** The resolved model config (null when it comes from the checkpoints folder). */
  modelConfig: ModelConfig | null;
  /** A folder of existing checkpoints; null = train them (see `train`). */
  checkpoints: string | null;
  train: SweepTrainConfig;
  /** null = the embedded synthetic default dataset in `defaultDataDir`. */
  data: SweepDataConfig | null;
  defaultDataDir: string;
  /** Probe names to use (a subset of the data's probes, in this order); null = all. */
  probes: string[] | null;
  deltaH: number;
  select: CheckpointSelection;
  /** "heads" = every head and "full"; or an explicit list of "full" / "layer:head". */
  restrictions: "heads" | string[];
  sgld: SweepSgldConfig;
  perToken: SweepPerTokenConfig;
  seed: number;
}

/** The default sweep's numbers, chosen from measured speed on a 2-core llvmpipe adapter (docs/sweep.md). */
export const SWEEP_DEFAULTS = Object.freeze({
  name: "default",
  model: "tiny",
  deltaH: 0.1,
  logSpacedCheckpoints: 6,
  /**
   * SGLD_DEFAULTS but fewer, smaller draws, after 20 burn-in steps (docs/estimators.md: at 2 chains × 20 draws
   * and no burn-in most χ rows failed split-R̂ and no head's χ̂ stood out); seqLen is capped at the model's n_ctx.
   */
  sgld: Object.freeze({ ...SGLD_DEFAULTS, chains: 4, draws: 40, burnIn: 20, batchSize: 8, seqLen: 64 }),
  perToken: Object.freeze({
    enabled: true,
    step: -1,
    contexts: 4,
    contextChoice: "windows" as "windows" | "documents",
    chains: 2,
    draws: 20,
    batchSize: 8,
    ablation: true,
  }),
  seed: 0,
});

/** The paper's workload (appendix C.3; section 4): what scripts/bench_sweep.ts extrapolates to. */
export const PAPER_WORKLOAD = Object.freeze({
  probes: 14,
  checkpoints: 30,
  restrictions: 17,
  chains: 4,
  draws: 200,
  batchSize: 64,
  perTokenContexts: 160,
  perTokenTokens: 1023,
  perTokenDraws: 100,
  perTokenBatch: 16,
});

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

class Reader {
  constructor(readonly source: string) {}

  fail(field: string, message: string): never {
    throw new SweepConfigError(field, message, this.source);
  }

  object(v: unknown, field: string, known: readonly string[]): Obj {
    if (!isObj(v)) this.fail(field, `expected an object, got ${JSON.stringify(v)}`);
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) {
        this.fail(field === "" ? k : `${field}.${k}`, `unknown field (known: ${known.join(", ")})`);
      }
    }
    return v;
  }

  int(v: unknown, field: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
      this.fail(field, `expected an integer ${range}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  num(v: unknown, field: string, def: number, min: number, max = Infinity, openMin = false): number {
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (openMin && v === min)) {
      this.fail(
        field,
        `expected a number ${openMin ? ">" : "≥"} ${min}${max < Infinity ? ` and ≤ ${max}` : ""}, got ${
          JSON.stringify(v)
        }`,
      );
    }
    return v;
  }

  str(v: unknown, field: string, def: string): string {
    if (v === undefined) return def;
    if (typeof v !== "string" || v.trim() === "") {
      this.fail(field, `expected a non-empty string, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  bool(v: unknown, field: string, def: boolean): boolean {
    if (v === undefined) return def;
    if (typeof v !== "boolean") this.fail(field, `expected true or false, got ${JSON.stringify(v)}`);
    return v;
  }
}

const TOP_FIELDS = [
  "$schema",
  "name",
  "out",
  "report",
  "model",
  "checkpoints",
  "train",
  "data",
  "defaultDataDir",
  "probes",
  "deltaH",
  "select",
  "restrictions",
  "sgld",
  "perToken",
  "seed",
] as const;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function parseSelect(r: Reader, v: unknown): CheckpointSelection {
  if (v === undefined) return { kind: "logSpaced", count: SWEEP_DEFAULTS.logSpacedCheckpoints };
  if (v === "all") return { kind: "all" };
  if (v === "paper") return { kind: "steps", steps: [...PAPER_CHECKPOINT_STEPS] };
  if (Array.isArray(v)) {
    if (v.length === 0) r.fail("select", "expected at least one checkpoint step");
    const steps = v.map((s, i) => r.int(s, `select[${i}]`, 0, 0));
    const sorted = [...new Set(steps)].sort((a, b) => a - b);
    if (sorted.length !== steps.length) r.fail("select", "lists a step twice");
    return { kind: "steps", steps: sorted };
  }
  if (isObj(v)) {
    const o = r.object(v, "select", ["logSpaced"]);
    return { kind: "logSpaced", count: r.int(o.logSpaced, "select.logSpaced", 0, 1) };
  }
  return r.fail(
    "select",
    `expected "all", "paper", {"logSpaced": count} or a list of steps, got ${JSON.stringify(v)}`,
  );
}

/**
 * A sweep's SGLD settings: the one validation (validateSgld) over SWEEP_DEFAULTS.sgld, errors naming
 * "<section>.<field>"; the sweep reports standard errors over chains and R̂ over draws, so it needs two of each.
 */
function sweepSgld(
  r: Reader,
  section: string,
  given: Obj,
  defaults: Readonly<SgldSettings>,
): SgldSettings {
  const fail = (field: string, message: string) => r.fail(`${section}.${field}`, message);
  const s = resolveSgld(given as Partial<SgldSettings>, defaults, fail);
  for (const f of ["chains", "draws"] as const) {
    if (s[f] < 2) fail(f, `expected an integer ≥ 2, got ${s[f]}`);
  }
  return s;
}

function parseSgldConfig(r: Reader, v: unknown, nCtx: number): SweepSgldConfig {
  const s = r.object(v ?? {}, "sgld", Object.keys(SWEEP_DEFAULTS.sgld));
  const { seqLen: _, ...given } = s;
  const { seqLen, ...defaults } = SWEEP_DEFAULTS.sgld;
  return {
    ...sweepSgld(r, "sgld", given, defaults),
    seqLen: r.int(s.seqLen, "sgld.seqLen", Math.min(seqLen, nCtx), 2, nCtx),
  };
}

function parsePerToken(r: Reader, v: unknown, sgld: SweepSgldConfig): SweepPerTokenConfig {
  const p = r.object(v ?? {}, "perToken", Object.keys(SWEEP_DEFAULTS.perToken));
  const pd = SWEEP_DEFAULTS.perToken;
  const { chains, draws, batchSize } = sweepSgld(
    r,
    "perToken",
    { chains: p.chains, draws: p.draws, batchSize: p.batchSize },
    { ...sgld, chains: pd.chains, draws: pd.draws, batchSize: pd.batchSize },
  );
  return {
    enabled: r.bool(p.enabled, "perToken.enabled", pd.enabled),
    step: r.int(p.step, "perToken.step", pd.step, -1),
    contexts: r.int(p.contexts, "perToken.contexts", pd.contexts, 1),
    contextChoice: parseContextChoice(r, p.contextChoice),
    chains,
    draws,
    batchSize,
    ablation: r.bool(p.ablation, "perToken.ablation", pd.ablation),
  };
}

/** The SGLD settings of a sweep's chi units (its `sgld` without seqLen). */
export function chiSgld(c: SweepConfig): SgldSettings {
  const { seqLen: _, ...s } = c.sgld;
  return s;
}

/** The SGLD settings of a sweep's per-token unit: `sgld` with perToken's chains, draws and batch size, unpaired. */
export function perTokenSgld(c: SweepConfig): SgldSettings {
  const pt = c.perToken;
  return { ...chiSgld(c), chains: pt.chains, draws: pt.draws, batchSize: pt.batchSize, paired: false };
}

function parseRestrictions(r: Reader, v: unknown): "heads" | string[] {
  if (v === undefined || v === "heads") return "heads";
  if (!Array.isArray(v) || v.length === 0) {
    r.fail(
      "restrictions",
      `expected "heads" or a non-empty list of "full" / "layer:head", got ${JSON.stringify(v)}`,
    );
  }
  const out = v.map((s, i) => {
    if (typeof s !== "string" || !parseRestriction(s)) {
      r.fail(`restrictions[${i}]`, `expected ${RESTRICTION_FORMAT} (e.g. "0:3"), got ${JSON.stringify(s)}`);
    }
    return s;
  });
  if (new Set(out).size !== out.length) r.fail("restrictions", "lists a restriction twice");
  return out;
}

function parseContextChoice(r: Reader, v: unknown): SweepPerTokenConfig["contextChoice"] {
  const c = r.str(v, "perToken.contextChoice", SWEEP_DEFAULTS.perToken.contextChoice);
  if (c !== "windows" && c !== "documents") {
    r.fail("perToken.contextChoice", `expected "windows" or "documents", got ${JSON.stringify(c)}`);
  }
  return c;
}

const DATA_FORMATS: readonly SweepDataFormat[] = ["shard", ...READER_FORMATS];

/**
 * A data input: a path string (a raw dataset when its extension says JSONL, Arrow, Parquet or text, else a
 * token shard) or {"path", "format", "field", "limit"} (needed for a folder of dataset files).
 */
function parseSource(r: Reader, v: unknown, field: string): SweepDataSource {
  if (typeof v === "string") {
    const path = r.str(v, field, "");
    return { path, format: guessFormat(path) ?? "shard", field: "text", limit: null };
  }
  if (!isObj(v)) {
    r.fail(field, `expected a path or {"path", "format", "field", "limit"}, got ${JSON.stringify(v)}`);
  }
  const o = r.object(v, field, ["path", "format", "field", "limit"]);
  if (o.path === undefined) r.fail(`${field}.path`, "required: the shard or dataset path");
  const path = r.str(o.path, `${field}.path`, "");
  const format = r.str(o.format, `${field}.format`, guessFormat(path) ?? "shard") as SweepDataFormat;
  if (!DATA_FORMATS.includes(format)) {
    r.fail(`${field}.format`, `expected one of ${DATA_FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  }
  if (format === "shard" && (o.field !== undefined || o.limit !== undefined)) {
    r.fail(field, `"field" and "limit" apply to raw datasets, not to a token shard`);
  }
  return {
    path,
    format,
    field: r.str(o.field, `${field}.field`, "text"),
    limit: o.limit === undefined || o.limit === null ? null : r.int(o.limit, `${field}.limit`, 0, 1),
  };
}

function sourceToJson(s: SweepDataSource): unknown {
  if (s.field === "text" && s.limit === null && (guessFormat(s.path) ?? "shard") === s.format) return s.path;
  return { path: s.path, format: s.format, field: s.field, ...(s.limit !== null ? { limit: s.limit } : {}) };
}

function parseData(r: Reader, v: unknown): SweepDataConfig | null {
  if (v === undefined || v === null) return null;
  const o = r.object(v, "data", ["tokenizer", "base", "probes"]);
  const probesRaw = r.object(o.probes, "data.probes", Object.keys(isObj(o.probes) ? o.probes : {}));
  const probes: Record<string, SweepDataSource> = {};
  for (const [name, src] of Object.entries(probesRaw)) {
    if (!NAME_RE.test(name)) r.fail(`data.probes.${name}`, "probe names are letters, digits, '.', '_', '-'");
    probes[name] = parseSource(r, src, `data.probes.${name}`);
  }
  if (Object.keys(probes).length === 0) r.fail("data.probes", "expected at least one probe shard");
  if (o.tokenizer === undefined) r.fail("data.tokenizer", "required: a tokenizer.json path");
  if (o.base === undefined) r.fail("data.base", "required: the base token shard's path");
  return {
    tokenizer: r.str(o.tokenizer, "data.tokenizer", ""),
    base: parseSource(r, o.base, "data.base"),
    probes,
  };
}

async function parseModel(
  r: Reader,
  v: unknown,
  hasCheckpoints: boolean,
): Promise<[string, ModelConfig | null]> {
  const model = r.str(v, "model", SWEEP_DEFAULTS.model);
  if (model === "tiny") return [model, { ...TINY_CONFIG }];
  if (model === "paper") return [model, { ...PAPER_CONFIG }];
  if (model === "checkpoints") {
    if (!hasCheckpoints) r.fail("model", `"checkpoints" needs the "checkpoints" folder field`);
    return [model, null];
  }
  try {
    return [model, parseModelConfig(await readJsonFile(model), model)];
  } catch (err) {
    if (err instanceof ConfigError) r.fail(`model (${err.field})`, err.message);
    r.fail(
      "model",
      `expected "tiny", "paper", "checkpoints" or a model config JSON path: ${(err as Error).message}`,
    );
  }
}

/**
 * Validates a parsed JSON value into a resolved SweepConfig. `source` names the file in errors. Reads the
 * model config file when `model` is a path.
 */
export async function parseSweepConfig(raw: unknown, source = "sweep config"): Promise<SweepConfig> {
  const r: Reader = new Reader(source);
  const o = r.object(raw ?? {}, "", TOP_FIELDS);
  const name = r.str(o.name, "name", SWEEP_DEFAULTS.name);
  if (!NAME_RE.test(name)) r.fail("name", `letters, digits, '.', '_', '-' only, got ${JSON.stringify(name)}`);
  const checkpoints = o.checkpoints === undefined || o.checkpoints === null
    ? null
    : r.str(o.checkpoints, "checkpoints", "");
  const [model, modelConfig] = await parseModel(
    r,
    o.model ?? (checkpoints ? "checkpoints" : undefined),
    checkpoints !== null,
  );

  const t = r.object(o.train ?? {}, "train", [
    "dir",
    "steps",
    "batch",
    "seqLen",
    "lr",
    "warmup",
    "weightDecay",
    "seed",
    "checkpoints",
  ]);
  if (checkpoints !== null && o.train !== undefined) r.fail("train", 'not used when "checkpoints" is given');
  const nCtx = modelConfig?.n_ctx ?? Number.MAX_SAFE_INTEGER;
  const train: SweepTrainConfig = {
    dir: r.str(t.dir, "train.dir", `runs/train-${model === "tiny" || model === "paper" ? model : name}`),
    steps: r.int(t.steps, "train.steps", TRAIN_DEFAULTS.steps, 1),
    batch: r.int(t.batch, "train.batch", TRAIN_DEFAULTS.batch, 1),
    seqLen: r.int(t.seqLen, "train.seqLen", Math.min(TRAIN_DEFAULTS.seqLen, nCtx), 2, nCtx),
    lr: r.num(t.lr, "train.lr", TRAIN_DEFAULTS.lr, 0, 10, true),
    warmup: r.int(t.warmup, "train.warmup", TRAIN_DEFAULTS.warmup, 0),
    weightDecay: r.num(t.weightDecay, "train.weightDecay", TRAIN_DEFAULTS.weightDecay, 0, 10),
    seed: r.int(t.seed, "train.seed", TRAIN_DEFAULTS.seed, 0),
    checkpoints: r.int(t.checkpoints, "train.checkpoints", TRAIN_DEFAULTS.logCheckpoints, 1),
  };

  const data = parseData(r, o.data);
  if (data === null && modelConfig !== null && modelConfig.d_vocab !== TINY_CONFIG.d_vocab) {
    r.fail(
      "data",
      `the embedded synthetic dataset has a ${TINY_CONFIG.d_vocab}-token vocabulary but the model has d_vocab ` +
        `${modelConfig.d_vocab}: give your own tokenizer and shards in "data"`,
    );
  }
  let probes: string[] | null = null;
  if (o.probes !== undefined && o.probes !== null) {
    const list = o.probes;
    if (!Array.isArray(list) || list.length === 0) {
      r.fail("probes", "expected a non-empty list of probe names");
    }
    const names: string[] = list.map((p: unknown, i: number) => r.str(p, `probes[${i}]`, ""));
    if (new Set(names).size !== names.length) r.fail("probes", "lists a probe twice");
    if (data) {
      for (const [i, p] of names.entries()) {
        if (!(p in data.probes)) {
          r.fail(`probes[${i}]`, `"${p}" is not in data.probes (${Object.keys(data.probes).join(", ")})`);
        }
      }
    }
    probes = names;
  }

  const sgld = parseSgldConfig(r, o.sgld, nCtx);
  const perToken = parsePerToken(r, o.perToken, sgld);

  const deltaH = r.num(o.deltaH, "deltaH", SWEEP_DEFAULTS.deltaH, 0, 1, true);
  const coverage = probeCoverageProblem(sgld.draws, sgld.batchSize, deltaH, {
    draws: "sgld.draws",
    batch: "sgld.batchSize",
    deltaH: "deltaH",
  });
  if (coverage !== null) r.fail("deltaH", coverage);
  if (perToken.enabled) {
    const ptCoverage = probeCoverageProblem(perToken.draws, perToken.batchSize, deltaH, {
      draws: "perToken.draws",
      batch: "perToken.batchSize",
      deltaH: "deltaH",
    });
    if (ptCoverage !== null) r.fail("deltaH", ptCoverage);
  }

  return {
    name,
    out: r.str(o.out, "out", `runs/${name}`),
    report: r.str(o.report, "report", `reports/${name}/index.html`),
    model,
    modelConfig,
    checkpoints,
    train,
    data,
    defaultDataDir: r.str(o.defaultDataDir, "defaultDataDir", "runs/data/default"),
    probes,
    deltaH,
    select: parseSelect(r, o.select),
    restrictions: parseRestrictions(r, o.restrictions),
    sgld,
    perToken,
    seed: r.int(o.seed, "seed", SWEEP_DEFAULTS.seed, 0, 2 ** 32 - 1),
  };
}

/** Reads and validates a sweep config file. */
export async function readSweepConfig(path: string): Promise<SweepConfig> {
  let raw: unknown;
  try {
    raw = await readJsonFile(path);
  } catch (err) {
    throw new SweepConfigError("(file)", (err as Error).message, path);
  }
  return await parseSweepConfig(raw, path);
}

/**
 * The config back as JSON input (what `parseSweepConfig` accepts): manifests store this, so a rerun from a
 * manifest parses exactly the same resolved config.
 */
export function sweepConfigToJson(c: SweepConfig): Record<string, unknown> {
  const select = c.select.kind === "all"
    ? "all"
    : c.select.kind === "logSpaced"
    ? { logSpaced: c.select.count }
    : c.select.steps;
  return {
    name: c.name,
    out: c.out,
    report: c.report,
    model: c.model,
    ...(c.checkpoints !== null ? { checkpoints: c.checkpoints } : { train: c.train }),
    data: c.data === null ? null : {
      tokenizer: c.data.tokenizer,
      base: sourceToJson(c.data.base),
      probes: Object.fromEntries(Object.entries(c.data.probes).map(([k, v]) => [k, sourceToJson(v)])),
    },
    defaultDataDir: c.defaultDataDir,
    probes: c.probes,
    deltaH: c.deltaH,
    select,
    restrictions: c.restrictions,
    sgld: c.sgld,
    perToken: c.perToken,
    seed: c.seed,
  };
}
