/**
 * `deno task sweep --plan`: checks every input of a sweep before any sampling, counts its work and estimates
 * its time on the current adapter, and writes nothing (no dataset, no training, no units, no config.json), so
 * nothing a later run reads comes from it.
 *
 * Checked: the tokenizer loads and fits the model's vocabulary; every shard was made by that tokenizer and its
 * token file is whole; every raw dataset exists, reads in its format and field, and (tokenized until enough
 * tokens are seen) holds enough tokens; the checkpoints exist, the selection finds its steps, and every
 * selected checkpoint loads with the config's model (loadCheckpoint(path, model) refuses a mismatch);
 * restrictions name heads of the model; the per-token step is a selected checkpoint.
 *
 * "Enough tokens": the base must hold one minibatch of distinct contexts (max(sgld.batchSize,
 * perToken.batchSize) × seqLen); a probe must hold one context (seqLen) and, with per-token χ, its
 * perToken.contexts contexts without overlap (contexts × seqLen) — and as many documents when the contexts are
 * chosen as documents (perToken.contextChoice).
 */

import type { Gpu } from "../gpu/device.ts";
import { type ModelConfig, validateModelConfig } from "../model/config.ts";
import { CHECKPOINT_NAMES, configDifferences, listCheckpoints, loadCheckpoint } from "../model/checkpoint.ts";
import { paramLayout } from "../model/params.ts";
import { samplingRestrictions } from "../model/restriction.ts";
import { dtypeBytes, readShardMeta, shardPaths } from "../data/shard.ts";
import { loadTokenizer, type Tokenizer } from "../data/tokenizer.ts";
import { exists } from "../util/files.ts";
import { formatDuration } from "../util/progress.ts";
import { estimateSweepTime, type SweepTimeEstimate } from "../bench/sweep_time.ts";
import { type SweepConfig, SweepConfigError, type SweepDataSource } from "./config.ts";
import { resolveRestrictions } from "./prepare.ts";
import { selectCheckpoints } from "./select.ts";
import { countDatasetTokens } from "./datasets.ts";
import { COMPONENT_NAMES } from "../data/synthetic.ts";
import { type SweepShape, type SweepWork, sweepWork } from "./work.ts";

/** One checked data input. */
export interface PlannedInput {
  /** "base" or the probe name. */
  name: string;
  field: string;
  source: SweepDataSource | null;
  /** Tokens counted (a lower bound when `complete` is false: counting stopped once enough were seen). */
  tokens: number;
  /** Documents counted (likewise). */
  documents: number;
  /** Documents needed (per-token contexts chosen as documents), else 0. */
  neededDocuments: number;
  complete: boolean;
  needed: number;
}

export interface SweepPlan {
  model: ModelConfig;
  parameters: number;
  tokenizer: { path: string; vocabSize: number } | null;
  inputs: PlannedInput[];
  checkpoints: { dir: string; available: number; steps: number[] } | null;
  /** Steps of training when the sweep trains its own checkpoints (null when given). */
  trainSteps: number | null;
  restrictions: string[];
  probes: string[];
  perTokenStep: number | null;
  shape: SweepShape;
  work: SweepWork;
  estimate: SweepTimeEstimate | null;
  adapter: string | null;
}

export interface PlanOptions {
  /** Measure the adapter and estimate the time (default true). */
  estimate?: boolean;
  gpu?: () => Promise<Gpu>;
  /** The config's file, named in errors (default "sweep config"). */
  source?: string;
  /** Bound on growing each measured size, seconds (default 20). */
  budgetSeconds?: number;
  log?: (line: string) => void;
}

function tokensNeeded(cfg: SweepConfig, probe: boolean): number {
  const T = cfg.sgld.seqLen;
  if (!probe) return Math.max(cfg.sgld.batchSize, cfg.perToken.enabled ? cfg.perToken.batchSize : 0) * T;
  return Math.max(1, cfg.perToken.enabled ? cfg.perToken.contexts : 1) * T;
}

async function checkInput(
  name: string,
  field: string,
  src: SweepDataSource,
  tokenizer: Tokenizer,
  tokenizerPath: string,
  needed: number,
  neededDocuments: number,
): Promise<PlannedInput> {
  let tokens: number, documents: number, complete: boolean;
  if (src.format === "shard") {
    const meta = await readShardMeta(src.path).catch((err) => {
      throw new SweepConfigError(field, (err as Error).message);
    });
    if (meta.tokenizerSha256 !== tokenizer.hash) {
      throw new SweepConfigError(
        field,
        `${src.path} was tokenized by another tokenizer than data.tokenizer ${tokenizerPath} ` +
          `(sha256 ${meta.tokenizerSha256.slice(0, 12)}… vs ${tokenizer.hash.slice(0, 12)}…)`,
      );
    }
    const file = shardPaths(src.path).tokens;
    const size = await Deno.stat(file).then((s) => s.size, () => -1);
    if (size !== meta.tokens * dtypeBytes(meta.dtype)) {
      throw new SweepConfigError(
        field,
        size < 0
          ? `${file}: token file not found`
          : `${file}: ${size} bytes, its metadata says ${meta.tokens} ${meta.dtype} tokens`,
      );
    }
    tokens = meta.tokens;
    documents = meta.documents;
    complete = true;
  } else {
    try {
      ({ tokens, documents, complete } = await countDatasetTokens(src, tokenizer, needed, neededDocuments));
    } catch (err) {
      throw new SweepConfigError(field, (err as Error).message);
    }
  }
  if (tokens < needed) {
    throw new SweepConfigError(
      field,
      `${src.path} holds ${tokens} tokens, fewer than the ${needed} the sweep needs ` +
        (name === "base"
          ? "(one minibatch of distinct contexts: batch size × seqLen)"
          : "(its per-token contexts without overlap: perToken.contexts × sgld.seqLen)"),
    );
  }
  if (documents < neededDocuments) {
    throw new SweepConfigError(
      field,
      `${src.path} holds ${documents} documents, fewer than the ${neededDocuments} per-token contexts ` +
        `(perToken.contexts, chosen as documents)`,
    );
  }
  return { name, field, source: src, tokens, documents, complete, needed, neededDocuments };
}

/**
 * Checks the inputs of `cfg`, counts its work and (by default) estimates its time; writes nothing. A config
 * error names `o.source`.
 */
export async function planSweep(cfg: SweepConfig, o: PlanOptions = {}): Promise<SweepPlan> {
  try {
    return await plan(cfg, o);
  } catch (err) {
    if (err instanceof SweepConfigError && o.source !== undefined && err.source !== o.source) {
      const prefix = `${err.source}: field "${err.field}": `;
      const detail = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
      throw new SweepConfigError(err.field, detail, o.source);
    }
    throw err;
  }
}

/** The data of a plan: the probes, and with user data the tokenizer and every input checked against the model. */
async function planData(
  cfg: SweepConfig,
  m: ModelConfig,
  log: (line: string) => void,
): Promise<Pick<SweepPlan, "tokenizer" | "inputs" | "probes">> {
  let tokenizer: SweepPlan["tokenizer"] = null;
  const inputs: PlannedInput[] = [];
  let probes: string[];
  if (cfg.data === null) {
    probes = cfg.probes ?? [...COMPONENT_NAMES];
    log(`data: the embedded synthetic dataset in ${cfg.defaultDataDir} (built on the first run if missing)`);
  } else {
    const d = cfg.data;
    if (!(await exists(d.tokenizer))) {
      throw new SweepConfigError("data.tokenizer", `${d.tokenizer}: file not found`);
    }
    let tok: Tokenizer;
    try {
      tok = await loadTokenizer(d.tokenizer);
    } catch (err) {
      throw new SweepConfigError("data.tokenizer", (err as Error).message);
    }
    if (tok.vocabSize > m.d_vocab) {
      throw new SweepConfigError(
        "data.tokenizer",
        `${d.tokenizer} has ${tok.vocabSize} tokens, more than the model's d_vocab ${m.d_vocab}`,
      );
    }
    tokenizer = { path: d.tokenizer, vocabSize: tok.vocabSize };
    inputs.push(await checkInput("base", "data.base", d.base, tok, d.tokenizer, tokensNeeded(cfg, false), 0));
    const docs = cfg.perToken.enabled && cfg.perToken.contextChoice === "documents"
      ? cfg.perToken.contexts
      : 0;
    probes = cfg.probes ?? Object.keys(d.probes);
    for (const p of probes) {
      inputs.push(
        await checkInput(p, `data.probes.${p}`, d.probes[p], tok, d.tokenizer, tokensNeeded(cfg, true), docs),
      );
    }
  }
  return { tokenizer, inputs, probes };
}

async function plan(cfg: SweepConfig, o: PlanOptions): Promise<SweepPlan> {
  const log = o.log ?? (() => {});
  // Model and checkpoints first: the model's vocabulary is what the tokenizer must fit.
  let model: ModelConfig | null = cfg.modelConfig ? { ...cfg.modelConfig } : null;
  let checkpoints: SweepPlan["checkpoints"] = null;
  let steps: number[] = [];
  let trainSteps: number | null = null;
  const checkFolder = async (dir: string) => {
    const available = await listCheckpoints(dir);
    if (available.length === 0) {
      throw new SweepConfigError("checkpoints", `${dir}: no ${CHECKPOINT_NAMES}`);
    }
    const chosen = selectCheckpoints(available, cfg.select, dir);
    for (const c of chosen) {
      log(`loading ${c.path}`);
      const ck = await loadCheckpoint(c.path, model ?? undefined);
      if (model === null) model = ck.config;
      const diff = configDifferences(model, ck.config);
      if (diff.length > 0) {
        throw new SweepConfigError(
          "checkpoints",
          `${c.path} is another model than the first: ${diff.join("; ")}`,
        );
      }
    }
    checkpoints = { dir, available: available.length, steps: chosen.map((c) => c.step) };
    steps = checkpoints.steps;
  };
  if (cfg.checkpoints !== null) {
    if (!(await exists(cfg.checkpoints))) {
      throw new SweepConfigError("checkpoints", `${cfg.checkpoints}: folder not found`);
    }
    await checkFolder(cfg.checkpoints);
  } else {
    validateModelConfig(model!, `model ${cfg.model}`);
    trainSteps = cfg.train.steps;
    const dir = `${cfg.train.dir}/checkpoints`;
    const available = (await exists(dir)) ? await listCheckpoints(dir) : [];
    if (available.length > 0 && available[available.length - 1].step === cfg.train.steps) {
      // Trained already (the sweep will reuse the run): check its checkpoints like given ones.
      await checkFolder(dir);
    } else {
      // Training writes train.checkpoints log-spaced checkpoints (0 and the last included): the selection is
      // counted on that number.
      steps = cfg.select.kind === "steps" ? cfg.select.steps : Array.from(
        {
          length: cfg.select.kind === "all"
            ? cfg.train.checkpoints
            : Math.min(cfg.select.count, cfg.train.checkpoints),
        },
        (_, i) => i,
      );
    }
  }
  const m = model!;
  if (cfg.sgld.seqLen > m.n_ctx) {
    throw new SweepConfigError("sgld.seqLen", `${cfg.sgld.seqLen} exceeds the model's n_ctx ${m.n_ctx}`);
  }

  const { tokenizer, inputs, probes } = await planData(cfg, m, log);

  const restrictions = resolveRestrictions(cfg, m);
  let perTokenStep: number | null = null;
  if (cfg.perToken.enabled) {
    perTokenStep = cfg.perToken.step < 0 ? steps[steps.length - 1] : cfg.perToken.step;
    if (cfg.checkpoints !== null && !steps.includes(perTokenStep)) {
      throw new SweepConfigError("perToken.step", `step ${perTokenStep} is not a selected checkpoint`);
    }
  }
  const shape: SweepShape = {
    model: m,
    checkpoints: steps.length,
    probes: probes.length,
    restrictions: samplingRestrictions(restrictions),
    deltaH: cfg.deltaH,
    seqLen: cfg.sgld.seqLen,
    sgld: { ...cfg.sgld },
    perToken: { ...cfg.perToken },
  };
  const work = sweepWork(shape);
  let estimate: SweepTimeEstimate | null = null;
  let adapter: string | null = null;
  if (o.estimate ?? true) {
    if (!o.gpu) throw new RangeError("planSweep: an estimate needs a gpu");
    const gpu = await o.gpu();
    adapter = `${gpu.record.description || gpu.record.device} (${gpu.kind}, ${gpu.record.backend})`;
    estimate = await estimateSweepTime(gpu, shape, { budgetSeconds: o.budgetSeconds ?? 20, log });
  }
  return {
    model: m,
    parameters: paramLayout(m).count,
    tokenizer,
    inputs,
    checkpoints,
    trainSteps,
    restrictions,
    probes,
    perTokenStep,
    shape,
    work,
    estimate,
    adapter,
  };
}

const n = (x: number) => x.toLocaleString("en-US");
const sci = (x: number) => x.toExponential(3);

/** The plan as the lines `--plan` prints. */
export function formatPlan(cfg: SweepConfig, p: SweepPlan): string[] {
  const m = p.model, w = p.work, s = p.shape;
  const lines = [
    `plan of sweep "${cfg.name}" → ${cfg.out}`,
    `model: ${cfg.model} (${m.n_layers} layers × ${m.n_heads} heads, d_model ${m.d_model}, d_head ${m.d_head}, ` +
    `n_ctx ${m.n_ctx}, d_vocab ${m.d_vocab}, ${m.normalization}, ${m.positional}; ${
      n(p.parameters)
    } parameters)`,
  ];
  if (cfg.data === null) {
    lines.push(
      `data: the embedded synthetic dataset in ${cfg.defaultDataDir} (built on the first run if missing), ` +
        `probes ${p.probes.join(", ")}`,
    );
  }
  if (p.tokenizer) {
    lines.push(`tokenizer: ${p.tokenizer.path} (${n(p.tokenizer.vocabSize)} tokens), made every shard`);
  }
  for (const i of p.inputs) {
    const what = i.source?.format === "shard"
      ? "shard"
      : `${i.source?.format} dataset, field "${i.source?.field}"`;
    lines.push(
      `${i.field}: ${i.source?.path} (${what}): ${i.complete ? "" : "≥ "}${n(i.tokens)} tokens, ` +
        `${i.complete ? "" : "≥ "}${n(i.documents)} documents (needs ${n(i.needed)} tokens` +
        `${i.neededDocuments > 0 ? `, ${n(i.neededDocuments)} documents` : ""})${
          i.complete ? "" : " — counted up to what is needed"
        }`,
    );
  }
  if (p.checkpoints) {
    const st = p.checkpoints.steps;
    lines.push(
      `checkpoints: ${st.length} selected of ${p.checkpoints.available} in ${p.checkpoints.dir}` +
        `${p.trainSteps !== null ? " (trained already; the sweep reuses them)" : ""} ` +
        `(steps ${st.join(", ")}); every one loads with the model above`,
    );
  } else {
    lines.push(
      `checkpoints: trained by the sweep (${
        n(p.trainSteps!)
      } steps into ${cfg.train.dir}; not in the estimate)`,
    );
  }
  lines.push(
    `work: ${w.units.total} units (${w.units.chi} chi, ${w.units.perToken} per-token, ${w.units.ablation} ablation): ` +
      `${s.checkpoints} checkpoints × ${s.probes} probes × ${s.restrictions.length} restrictions ` +
      `(${p.restrictions.join(" ")})`,
    `  SGLD steps: ${n(w.sgldSteps.chi)} chi (${s.checkpoints} × ${w.sgldSteps.chi / s.checkpoints}) + ` +
      `${n(w.sgldSteps.perToken)} per-token = ${
        n(w.sgldSteps.total)
      }; each step advances ${w.chiStep.motions.length} ` +
      `(chi) / ${w.perTokenStep.motions.length} (per-token) parameter copies at batch ${s.sgld.batchSize} / ` +
      `${s.perToken.batchSize}, T = ${s.seqLen}`,
    `  FLOPs (forward ${
      n(w.forwardFlopsPerToken)
    } per token; full backward = 2 × forward, less for a head): chi ${sci(w.flops.chi)}, ` +
      `per-token ${sci(w.flops.perToken)}, ablation ${sci(w.flops.ablation)}, total ${sci(w.flops.total)}`,
  );
  if (p.estimate) {
    const e = p.estimate;
    lines.push(
      `estimate on ${p.adapter}: ${formatDuration(e.totalSeconds)} (chi ${
        formatDuration(e.chi.seconds)
      } at ` +
        `${(e.chi.flopsPerSecond / 1e9).toFixed(2)} GFLOP/s` +
        (e.perToken
          ? `, per-token ${formatDuration(e.perToken.seconds)} at ${
            (e.perToken.flopsPerSecond / 1e9).toFixed(2)
          } GFLOP/s`
          : "") +
        `, ablation ${formatDuration(e.ablationSeconds)})`,
      `  how: ${e.method}`,
    );
  } else {
    lines.push("estimate: not measured (--no-estimate)");
  }
  lines.push("nothing was sampled or written");
  return lines;
}
