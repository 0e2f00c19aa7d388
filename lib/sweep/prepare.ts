/**
 * The inputs of a sweep, made ready: the dataset (the embedded synthetic default is built or reused; user
 * shards are checked to exist and share a tokenizer), the checkpoints (an existing folder, or training the
 * model — resumed or reused when it is already done), the selected checkpoints with their SHA-256, and the
 * restriction names.
 */

import { join } from "node:path";
import type { Gpu } from "../gpu/device.ts";
import { ensureDefaultDataset } from "../data/default_dataset.ts";
import { contextBatch, readShard, readShardMeta } from "../data/shard.ts";
import { type ModelConfig, validateModelConfig } from "../model/config.ts";
import {
  CHECKPOINT_NAMES,
  checkpointPath,
  configDifferences,
  listCheckpoints,
  loadCheckpoint,
  skippedNote,
} from "../model/checkpoint.ts";
import { allRestrictions, restrictionProblem } from "../model/restriction.ts";
import { train, TRAIN_DEFAULTS, type TrainOptions } from "../train/train.ts";
import { exists } from "../util/files.ts";
import { buildManifest, writeManifest } from "../util/manifest.ts";
import { sha256File } from "../util/hash.ts";
import { type SweepConfig, SweepConfigError, type SweepDataSource } from "./config.ts";
import { datasetShardIsCurrent, datasetShardPath, ensureDatasetShard } from "./datasets.ts";
import { loadTokenizer, type Tokenizer } from "../data/tokenizer.ts";
import { selectCheckpoints } from "./select.ts";
import type { PlannedCheckpoint } from "./units.ts";

/** Data paths of a sweep. */
export interface SweepData {
  tokenizer: string;
  /** Base shard (.tokens path). */
  base: string;
  /** Probes in sweep order. */
  probes: { name: string; path: string }[];
}

/**
 * Resolves the data: builds/reuses the default dataset, or checks the user's shards, tokenizing raw dataset
 * inputs into `<out>/data/` first (lib/sweep/datasets.ts; `log` says which are tokenized).
 */
export async function prepareData(
  cfg: SweepConfig,
  log: (line: string) => void = () => {},
): Promise<SweepData> {
  if (cfg.data === null) {
    const ds = await ensureDefaultDataset(cfg.defaultDataDir);
    const all = Object.entries(ds.probes).map(([name, path]) => ({ name, path }));
    return { tokenizer: ds.tokenizerPath, base: ds.base, probes: pick(all, cfg.probes) };
  }
  const d = cfg.data;
  if (!(await exists(d.tokenizer))) {
    throw new SweepConfigError("data.tokenizer", `${d.tokenizer}: file not found`);
  }
  let tokenizer: Tokenizer | null = null;
  const shardOf = async (src: SweepDataSource, probe: string | null): Promise<string> => {
    if (src.format === "shard") return src.path;
    const field = probe === null ? "data.base" : `data.probes.${probe}`;
    tokenizer ??= await loadTokenizer(d.tokenizer);
    const shard = datasetShardPath(cfg.out, probe);
    try {
      if (!(await datasetShardIsCurrent(src, tokenizer, shard))) {
        log(`tokenizing ${field} (${src.path}) → ${shard}.tokens`);
        await ensureDatasetShard(src, tokenizer, shard);
      }
    } catch (err) {
      throw new SweepConfigError(field, (err as Error).message);
    }
    return shard;
  };
  const base = await shardOf(d.base, null);
  const baseMeta = await readShardMeta(base).catch((err) => {
    throw new SweepConfigError("data.base", (err as Error).message);
  });
  // Fewer tokens than one minibatch: every batch would repeat the same few tokens, a loss nothing like q's.
  const oneBatch = cfg.sgld.batchSize * cfg.sgld.seqLen;
  if (baseMeta.tokens < oneBatch) {
    throw new SweepConfigError(
      "data.base",
      `${base} holds ${baseMeta.tokens} tokens, fewer than one batch (sgld.batchSize × sgld.seqLen = ` +
        `${cfg.sgld.batchSize} × ${cfg.sgld.seqLen} = ${oneBatch})`,
    );
  }
  // The shards record the hash of the tokenizer that made them: decoding with another one would label every
  // per-token row with the wrong text, and the induction-name spans would be other tokens.
  tokenizer ??= await loadTokenizer(d.tokenizer);
  const tokenizerHash = tokenizer.hash;
  if (tokenizerHash !== baseMeta.tokenizerSha256) {
    throw new SweepConfigError(
      "data.tokenizer",
      `${d.tokenizer} (sha256 ${tokenizerHash.slice(0, 12)}…) is not the tokenizer ${base} was made with ` +
        `(sha256 ${baseMeta.tokenizerSha256.slice(0, 12)}…)`,
    );
  }
  const probes = [];
  for (const p of pick(Object.entries(d.probes).map(([name, src]) => ({ name, src })), cfg.probes)) {
    const path = await shardOf(p.src, p.name);
    const meta = await readShardMeta(path).catch((err) => {
      throw new SweepConfigError(`data.probes.${p.name}`, (err as Error).message);
    });
    if (meta.tokens < cfg.sgld.seqLen) {
      throw new SweepConfigError(
        `data.probes.${p.name}`,
        `${path} holds ${meta.tokens} tokens, fewer than one context (sgld.seqLen = ${cfg.sgld.seqLen})`,
      );
    }
    if (meta.tokenizerSha256 !== baseMeta.tokenizerSha256) {
      throw new SweepConfigError(
        `data.probes.${p.name}`,
        `${path} was tokenized with another tokenizer than the base shard ${base}`,
      );
    }
    probes.push({ name: p.name, path });
  }
  return { tokenizer: d.tokenizer, base, probes };
}

function pick<T extends { name: string }>(all: T[], names: string[] | null): T[] {
  if (names === null) return all;
  return names.map((n, i) => {
    const p = all.find((x) => x.name === n);
    if (!p) {
      throw new SweepConfigError(
        `probes[${i}]`,
        `"${n}" is not a probe of the data (${all.map((x) => x.name).join(", ")})`,
      );
    }
    return p;
  });
}

/** The training options a sweep config asks for. */
export function trainOptions(cfg: SweepConfig): TrainOptions {
  const t = cfg.train;
  return {
    ...TRAIN_DEFAULTS,
    steps: t.steps,
    batch: t.batch,
    seqLen: t.seqLen,
    lr: t.lr,
    warmup: t.warmup,
    weightDecay: t.weightDecay,
    seed: t.seed,
    logCheckpoints: t.checkpoints,
  };
}

export interface PreparedCheckpoints {
  dir: string;
  modelConfig: ModelConfig;
  /** Selected, with content hashes, ascending by step. */
  selected: PlannedCheckpoint[];
  /** Seconds spent training in this call (0 when reused or given). */
  trainSeconds: number;
}

export interface PrepareCheckpointsOptions {
  /** Get the GPU only when training is needed. */
  gpu: () => Promise<Gpu>;
  /** Train when checkpoints are missing; false (sharded runs) makes missing checkpoints an error. */
  allowTraining: boolean;
  onTrainProgress?: (done: number, total: number, loss: number, tokensPerSecond: number) => void;
  log?: (line: string) => void;
}

/** Trains (or reuses) the checkpoints, selects and hashes them. */
export async function prepareCheckpoints(
  cfg: SweepConfig,
  data: SweepData,
  o: PrepareCheckpointsOptions,
): Promise<PreparedCheckpoints> {
  let dir: string;
  let modelConfig: ModelConfig;
  let trainSeconds = 0;
  if (cfg.checkpoints !== null) {
    dir = cfg.checkpoints;
    const list = await listCheckpoints(dir);
    if (list.length === 0) {
      throw new SweepConfigError("checkpoints", `${dir}: no ${CHECKPOINT_NAMES}`);
    }
    // The configured model is the config of checkpoints that carry none (.pth files, converted ones).
    const first = await loadCheckpoint(list[list.length - 1].path, cfg.modelConfig ?? undefined);
    const note = skippedNote(list[list.length - 1].path, first);
    if (note !== null) o.log?.(`note: ${note}`);
    modelConfig = first.config;
    if (cfg.modelConfig) {
      const diff = configDifferences(cfg.modelConfig, modelConfig);
      if (diff.length > 0) {
        throw new SweepConfigError("model", `the checkpoints in ${dir} differ: ${diff.join("; ")}`);
      }
    }
  } else {
    modelConfig = cfg.modelConfig!;
    validateModelConfig(modelConfig, `model ${cfg.model}`);
    dir = join(cfg.train.dir, "checkpoints");
    const opts = trainOptions(cfg);
    const finished = await exists(checkpointPath(dir, opts.steps));
    if (!finished && !o.allowTraining) {
      throw new SweepConfigError(
        "train",
        `${dir} has no final checkpoint (step ${opts.steps}): run the sweep once with --prepare before its shards`,
      );
    }
    if (!finished || o.allowTraining) {
      // train() resumes an interrupted run, checks that a saved run used the same options, and does nothing
      // but rewrite its state when the run is complete.
      const shard = await readShard(data.base);
      if (shard.meta.vocabSize > modelConfig.d_vocab) {
        throw new SweepConfigError(
          "data.base",
          `${data.base} has ${shard.meta.vocabSize} token ids, more than the model's d_vocab ${modelConfig.d_vocab}`,
        );
      }
      if (!finished) o.log?.(`training ${cfg.model} for ${opts.steps} steps → ${cfg.train.dir}`);
      const gpu = await o.gpu();
      const r = await train(
        gpu,
        modelConfig,
        (step) => contextBatch(shard.tokens, { nCtx: opts.seqLen, batch: opts.batch, seed: opts.seed, step }),
        opts,
        cfg.train.dir,
        { onProgress: (done, loss, tps) => o.onTrainProgress?.(done, opts.steps, loss, tps) },
      );
      trainSeconds = r.resumedFrom === opts.steps ? 0 : r.seconds;
      const manifestPath = join(cfg.train.dir, "manifest.json");
      if (trainSeconds > 0 || !(await exists(manifestPath))) {
        // The same manifest scripts/train.ts writes: the checkpoints are an output too.
        await writeManifest(
          manifestPath,
          await buildManifest({
            config: { model: modelConfig, train: opts },
            seeds: { init: opts.seed, data: opts.seed },
            inputs: { data: data.base },
            adapter: gpu.record,
            extra: { tokensPerSecond: r.tokensPerSecond, seconds: r.seconds, resumedFrom: r.resumedFrom },
          }),
        );
      }
    }
  }
  const available = await listCheckpoints(dir);
  const chosen = selectCheckpoints(available, cfg.select, dir);
  const selected: PlannedCheckpoint[] = [];
  for (const c of chosen) {
    selected.push({ step: c.step, path: c.path, sha256: (await sha256File(c.path)).sha256 });
  }
  return { dir, modelConfig, selected, trainSeconds };
}

/** The restriction names of a sweep: "full" then every head "l:h", or the config's list (checked). */
export function resolveRestrictions(cfg: SweepConfig, model: ModelConfig): string[] {
  if (cfg.restrictions === "heads") return allRestrictions(model);
  for (const [i, r] of cfg.restrictions.entries()) {
    const problem = restrictionProblem(r, model);
    if (problem !== undefined) throw new SweepConfigError(`restrictions[${i}]`, problem);
  }
  return [...cfg.restrictions];
}

/**
 * Every shard's token ids must be ids of the model: a shard of a larger vocabulary would fail deep inside the
 * loss kernel ("token id 297 is not in [0, 256)") after training or sampling started. Names the shard, the
 * probe and where d_vocab came from.
 */
export async function checkShardVocab(
  data: SweepData,
  model: ModelConfig,
  modelSource: string,
): Promise<void> {
  const shards = [
    { field: "data.base", path: data.base },
    ...data.probes.map((p) => ({
      field: `data.probes.${p.name}`,
      path: p.path,
    })),
  ];
  for (const s of shards) {
    const meta = await readShardMeta(s.path);
    if (meta.vocabSize > model.d_vocab) {
      throw new SweepConfigError(
        s.field,
        `${s.path} was tokenized with ${meta.vocabSize} token ids, but the model's d_vocab is ${model.d_vocab} ` +
          `(from ${modelSource}): token ids would not be in [0, ${model.d_vocab})`,
      );
    }
  }
}
