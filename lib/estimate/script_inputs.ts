/**
 * Flags and inputs shared by scripts/sample.ts, scripts/susceptibility.ts, scripts/per_token.ts and
 * scripts/influence.ts: which checkpoints, which data (the default synthetic dataset or explicit shards), which restrictions, and the
 * sampler settings. Parsing happens once at the edge; every bad flag is a UsageError naming it (exit code 2).
 */
import { formatDuration } from "../util/progress.ts";
import { probeCoverageProblem } from "./probe_coverage.ts";
import { requireOutputPath } from "../util/output_path.ts";
import { ensureDefaultDataset } from "../data/default_dataset.ts";
import { readShard, readShardMeta, shardPaths } from "../data/shard.ts";
import {
  CHECKPOINT_NAMES,
  listCheckpoints,
  loadCheckpoint,
  type LoadedCheckpoint,
  skippedNote,
} from "../model/checkpoint.ts";
import type { ModelConfig } from "../model/config.ts";
import { flagInt, flagModel, flagNumber, MODEL_USAGE, parseFlags, UsageError } from "../util/cli.ts";
import { resolveSgld, SGLD_DEFAULTS, SGLD_FLAGS, type SgldSettings } from "./sgld_settings.ts";
import { allRestrictions } from "../model/restriction.ts";
import type { ProbeStream } from "./transformer_target.ts";
import { TILE_OPTIONS, TILE_USAGE } from "../model/matmul_tune.ts";

/**
 * The flags that pick checkpoints (what selectCheckpoints reads) and --model, the config of checkpoints that
 * carry none: shared by every script that loads checkpoints (node:util parseArgs format).
 */
export const CHECKPOINT_OPTIONS = {
  checkpoint: { type: "string", multiple: true },
  checkpoints: { type: "string" },
  steps: { type: "string" },
  model: { type: "string" },
} as const;

/** Options every estimation script accepts (node:util parseArgs format). */
export const COMMON_OPTIONS = {
  ...CHECKPOINT_OPTIONS,
  data: { type: "string" },
  base: { type: "string" },
  probe: { type: "string", multiple: true },
  probes: { type: "string" },
  restrictions: { type: "string", default: "all" },
  "delta-h": { type: "string", default: "0.1" },
  chains: { type: "string" },
  draws: { type: "string" },
  batch: { type: "string" },
  eps: { type: "string" },
  nbeta: { type: "string" },
  gamma: { type: "string" },
  "burn-in": { type: "string" },
  thin: { type: "string" },
  rmsprop: { type: "boolean", default: false },
  unpaired: { type: "boolean", default: false },
  "seq-len": { type: "string" },
  seed: { type: "string", default: "0" },
  out: { type: "string" },
  ...TILE_OPTIONS,
  help: { type: "boolean", default: false },
} as const;

/**
 * The flags every estimation script shares, with the sampler defaults the script runs with (`defaults`: SGLD_DEFAULTS,
 * the paper's appendix C.3, or PER_TOKEN_DEFAULTS): those are paper-scale, so a quick look wants smaller ones.
 */
export function commonUsage(defaults: Readonly<SgldSettings> = SGLD_DEFAULTS): string {
  const d = defaults;
  return `
  checkpoints:  --checkpoint FILE (repeatable) | --checkpoints DIR [--steps 0,100,…]
                (.safetensors or torch.save .pth/.pt; folders of step_NNNNNNN.* or checkpoint_NNNNNNN.*)
  model:        ${MODEL_USAGE}
  data:         [--data DIR (default runs/data/default, built if missing)] [--probes name,…]
                | --base SHARD --probe NAME=SHARD (repeatable)
  restrictions: --restrictions all | full,0:0,1:3,…   (default all: "full" and every head)
  sampler:      [--chains K (${d.chains})] [--draws R (${d.draws})] [--batch B (${d.batchSize})] [--eps ε (${d.eps})]
                [--nbeta nβ (${d.nbeta})] [--gamma γ (${d.gamma})] [--burn-in S (${d.burnIn})] [--thin S (${d.stepsBetweenDraws})]
                [--rmsprop] [--seq-len T (the model's n_ctx)] [--seed S (0)] [--delta-h δh (0.1)]
                [--unpaired (χ̂ and LLC: one L0 instead of a still copy at w*, the reference convention)]
                defaults are the paper's (appendix C.3): at T = 1024 a run takes hours on a CPU; for a first
                look try --chains 2 --draws 20 --batch 8 --restrictions full,0:0
  output:       --out DIR
${TILE_USAGE}`;
}

/** commonUsage() with the χ̂/LLC defaults. */
export const COMMON_USAGE = commonUsage();

export type CommonValues = ReturnType<typeof parseCommon>["values"];

/** parseArgs over COMMON_OPTIONS; parse errors become UsageErrors. */
export function parseCommon(args: string[]) {
  return parseFlags(args, COMMON_OPTIONS);
}

export interface CheckpointInput {
  step: number;
  path: string;
}

let noted = false;

/**
 * loadCheckpoint with the --model config (undefined: from the checkpoint), printing the first skipped-buffers
 * note of the run to stderr: TransformerLens files repeat the same buffers in every checkpoint.
 */
export async function loadScriptCheckpoint(path: string, model?: ModelConfig): Promise<LoadedCheckpoint> {
  const loaded = await loadCheckpoint(path, model);
  const note = skippedNote(path, loaded);
  if (note !== null && !noted) {
    noted = true;
    console.error(`note: ${note}`);
  }
  return loaded;
}

/**
 * The checkpoints named by --checkpoint / --checkpoints [--steps]; `lastOnly` keeps the latest one. `model`
 * (--model) is needed to read the step of a --checkpoint file that has no config.
 */
export async function selectCheckpoints(
  v: Pick<CommonValues, "checkpoint" | "checkpoints" | "steps">,
  lastOnly = false,
  model?: ModelConfig,
): Promise<CheckpointInput[]> {
  if (v.checkpoint && v.checkpoints) throw new UsageError("give --checkpoint or --checkpoints, not both");
  let out: CheckpointInput[];
  if (v.checkpoint) {
    out = [];
    for (const path of v.checkpoint) {
      const ck = await loadScriptCheckpoint(path, model);
      out.push({ step: ck.step ?? 0, path });
    }
  } else if (v.checkpoints) {
    out = await listCheckpoints(v.checkpoints);
    if (out.length === 0) {
      throw new UsageError(`--checkpoints: no ${CHECKPOINT_NAMES} in ${v.checkpoints}`);
    }
    if (v.steps) {
      const want = v.steps.split(",").map((s) => flagInt("--steps", s.trim(), 0));
      const have = new Map(out.map((c) => [c.step, c]));
      out = want.map((s) => {
        const c = have.get(s);
        if (!c) throw new UsageError(`--steps: no checkpoint for step ${s} in ${v.checkpoints}`);
        return c;
      });
    }
  } else {
    throw new UsageError("a checkpoint is required: --checkpoint FILE or --checkpoints DIR");
  }
  return lastOnly ? out.slice(-1) : out;
}

export interface DataInput {
  base: ArrayLike<number>;
  probes: ProbeStream[];
  /** Input name → path, for the manifest. */
  paths: Record<string, string>;
  tokenizerPath?: string;
  /** The hash of the tokenizer the --base shard was made with (its metadata), to check --tokenizer against. */
  tokenizerSha256?: string;
}

/** The base stream and the probe streams from --base/--probe or the default dataset (--data, --probes). */
export async function loadData(v: CommonValues, needProbes = true): Promise<DataInput> {
  const paths: Record<string, string> = {};
  if (v.base || v.probe) {
    if (!v.base || (needProbes && !v.probe)) {
      throw new UsageError("--base and --probe go together (or use --data)");
    }
    const base = await readShard(v.base);
    // The manifest hashes files: a shard given as "NAME" or "NAME.json" is recorded by its tokens file.
    paths.base = shardPaths(v.base).tokens;
    const probes: ProbeStream[] = [];
    for (const spec of v.probe ?? []) {
      const m = /^([^=]+)=(.+)$/.exec(spec);
      if (!m) throw new UsageError(`--probe: expected NAME=SHARD, got "${spec}"`);
      const shard = await readShard(m[2]).catch((err) => {
        throw new UsageError(`--probe ${m[1]}: ${(err as Error).message}`);
      });
      if (shard.meta.tokenizerSha256 !== base.meta.tokenizerSha256) {
        throw new UsageError(
          `--probe ${m[1]}: shard ${m[2]} was tokenized with a different tokenizer than --base`,
        );
      }
      probes.push({ name: m[1], tokens: shard.tokens });
      paths[`probe_${m[1]}`] = shardPaths(m[2]).tokens;
    }
    return { base: base.tokens, probes, paths, tokenizerSha256: base.meta.tokenizerSha256 };
  }
  const dir = v.data ?? "runs/data/default";
  const ds = await ensureDefaultDataset(dir);
  const names = !needProbes
    ? []
    : v.probes
    ? v.probes.split(",").map((s) => s.trim())
    : Object.keys(ds.probes);
  const probes: ProbeStream[] = [];
  for (const name of names) {
    const path = (ds.probes as Record<string, string>)[name];
    if (!path) {
      throw new UsageError(
        `--probes: "${name}" is not a probe of ${dir} (have ${Object.keys(ds.probes).join(", ")})`,
      );
    }
    probes.push({ name, tokens: (await readShard(path)).tokens });
    paths[`probe_${name}`] = path;
  }
  paths.base = ds.base;
  paths.tokenizer = ds.tokenizerPath;
  return { base: (await readShard(ds.base)).tokens, probes, paths, tokenizerPath: ds.tokenizerPath };
}

/** --restrictions: "all" or a comma list of "full" / "l:h" names checked against the model. */
export function parseRestrictions(v: CommonValues, cfg: ModelConfig): string[] {
  const all = allRestrictions(cfg);
  if (v.restrictions === "all") return all;
  const list = v.restrictions.split(",").map((s) => s.trim());
  for (const r of list) {
    if (!all.includes(r)) {
      throw new UsageError(`--restrictions: "${r}" is not one of ${all.join(", ")}`);
    }
  }
  return list;
}

/** A numeric flag's value (NaN for text that is no number: validateSgld names the flag). */
function flagValue(s: string | undefined): number | undefined {
  if (s === undefined || s === "") return undefined;
  return s.trim() === "" ? NaN : Number(s);
}

/**
 * The sampler flags as SGLD settings: unset flags keep `defaults` (SGLD_DEFAULTS, or PER_TOKEN_DEFAULTS for the
 * per-token script), validated by the one validation of lib/estimate/sgld_settings.ts; a bad value is a
 * UsageError naming its flag. χ̂ and the LLC are paired by default; --unpaired gives the reference sampler's
 * convention.
 */
export function parseSgld(v: CommonValues, defaults: Readonly<SgldSettings> = SGLD_DEFAULTS): SgldSettings {
  return resolveSgld(
    {
      eps: flagValue(v.eps),
      nbeta: flagValue(v.nbeta),
      gamma: flagValue(v.gamma),
      rmsprop: v.rmsprop ? true : undefined,
      chains: flagValue(v.chains),
      draws: flagValue(v.draws),
      batchSize: flagValue(v.batch),
      burnIn: flagValue(v["burn-in"]),
      stepsBetweenDraws: flagValue(v.thin),
      paired: v.unpaired ? false : undefined,
    },
    defaults,
    (field, message) => {
      throw new UsageError(`${SGLD_FLAGS[field]}: ${message}`);
    },
  );
}

/** --seq-len (default n_ctx), --seed, --delta-h, --out. */
export function parseRun(v: CommonValues, cfg: ModelConfig) {
  const seqLen = v["seq-len"] ? flagInt("--seq-len", v["seq-len"], 2) : cfg.n_ctx;
  if (seqLen > cfg.n_ctx) throw new UsageError(`--seq-len: ${seqLen} exceeds the model's n_ctx ${cfg.n_ctx}`);
  if (!v.out) throw new UsageError("--out DIR is required");
  requireOutputPath(v.out, "--out", ["runs"]);
  return {
    seqLen,
    seed: flagInt("--seed", v.seed, 0),
    deltaH: flagNumber("--delta-h", v["delta-h"], Number.MIN_VALUE, 1),
    out: v.out,
  };
}

/** How an estimation script reads its inputs (loadScriptInputs). */
export interface ScriptNeeds {
  /** Only the latest selected checkpoint (per-token and influence look at one checkpoint). */
  lastOnly?: boolean;
  /** Sampler defaults for unset flags (default SGLD_DEFAULTS; per-token: PER_TOKEN_DEFAULTS). */
  sgldDefaults?: Readonly<SgldSettings>;
  /**
   * How the probes are used: "mixed" into the SGLD batches at δh (χ̂, per-token: refuse settings under which
   * no probe context would enter a batch), "scored" only (influence), or "none" (LLC: no probe is read).
   */
  probes: "mixed" | "scored" | "none";
  /** Whether --restrictions applies (default true; influence samples the whole model and ignores it). */
  restrictions?: boolean;
}

/** What loadScriptInputs read: the checkpoints, the first one loaded, and the parsed settings and data. */
export interface ScriptInputs {
  checkpoints: CheckpointInput[];
  /** checkpoints[0], loaded (with --model, or the config stored with it). */
  first: LoadedCheckpoint;
  cfg: ModelConfig;
  /** The --restrictions names; empty where the script takes no restrictions. */
  restrictions: string[];
  sgld: SgldSettings;
  run: ReturnType<typeof parseRun>;
  data: DataInput;
}

/**
 * The checkpoints, settings and data of an estimation script, parsed and checked in one order for all of them:
 * every flag is checked before the data is read (the default dataset may have to be built first), and the
 * data's vocabulary against the model before sampling starts.
 */
export async function loadScriptInputs(v: CommonValues, needs: ScriptNeeds): Promise<ScriptInputs> {
  const model = await flagModel(v.model);
  const checkpoints = await selectCheckpoints(v, needs.lastOnly, model);
  const first = await loadScriptCheckpoint(checkpoints[0].path, model);
  const cfg = first.config;
  const restrictions = needs.restrictions === false ? [] : parseRestrictions(v, cfg);
  const sgld = parseSgld(v, needs.sgldDefaults);
  const run = parseRun(v, cfg);
  if (needs.probes === "mixed") requireProbeCoverage(sgld, run.deltaH);
  const data = await loadData(v, needs.probes !== "none");
  await requireVocabFits(data, cfg.d_vocab, `checkpoint ${checkpoints[0].path}`);
  return { checkpoints, first, cfg, restrictions, sgld, run, data };
}

/**
 * The options every sampling run of a script shares at one checkpoint (runCheckpointSusceptibilities,
 * runCheckpointLlc, runPerTokenSusceptibilities, runInfluence), with a progress line labelled by `label`.
 */
export function samplingAt(inputs: ScriptInputs, step: number, params: Float32Array, label: string) {
  return {
    cfg: inputs.cfg,
    params,
    step,
    base: inputs.data.base,
    sgld: inputs.sgld,
    seqLen: inputs.run.seqLen,
    seed: inputs.run.seed,
    onProgress: progressLine(label),
  };
}

/** Prints a progress line (carriage return) for a sampling run. */
export function progressLine(label: string) {
  const t0 = performance.now();
  return (step: number, total: number, drawsPerSecond: number) => {
    const end = step === total ? "\n" : "";
    // The ETA from the steps so far (setup included, so early figures lean long).
    const elapsed = (performance.now() - t0) / 1000;
    const eta = step < total ? `, ETA ${formatDuration((elapsed / step) * (total - step))}` : "";
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `\r${label}: step ${step}/${total}, ${drawsPerSecond.toFixed(2)} draws/s${eta}${end}`,
      ),
    );
  };
}

/** Refuses sampler settings under which no probe context enters any batch (lib/estimate/probe_coverage.ts). */
export function requireProbeCoverage(sgld: Pick<SgldSettings, "draws" | "batchSize">, deltaH: number): void {
  const problem = probeCoverageProblem(
    sgld.draws,
    sgld.batchSize,
    deltaH,
    {
      draws: "--draws",
      batch: "--batch",
      deltaH: "--delta-h",
    },
  );
  if (problem !== null) throw new UsageError(problem);
}

/**
 * Every shard's vocabulary must fit the model's: otherwise a token id beyond d_vocab fails deep inside the loss
 * kernel after sampling started. Names the shard (and probe) and where d_vocab came from.
 */
export async function requireVocabFits(data: DataInput, dVocab: number, dVocabSource: string): Promise<void> {
  for (const [name, path] of Object.entries(data.paths)) {
    if (name === "tokenizer") continue;
    const meta = await readShardMeta(path);
    if (meta.vocabSize > dVocab) {
      const what = name === "base" ? "--base" : `--probe ${name.replace(/^probe_/, "")}`;
      throw new UsageError(
        `${what}: ${path} was tokenized with ${meta.vocabSize} token ids, but d_vocab is ${dVocab} ` +
          `(from ${dVocabSource}): token ids would not be in [0, ${dVocab})`,
      );
    }
  }
}
