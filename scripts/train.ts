/**
 * Trains an attention-only transformer and writes log-spaced checkpoints (safetensors + config.json),
 * resumable: rerun the same command after an interruption and it continues from the last saved state.
 *
 *   deno task train                                  # tiny default model on the embedded synthetic corpus
 *   deno task train --data my.tokens --config paper --out runs/paper --steps 50000 --batch 100
 *
 * Flags: --config tiny|paper|<config.json>  --data <token shard>  --out <folder>  --steps  --batch  --seq-len
 *        --lr  --warmup  --weight-decay  --seed  --checkpoints <log-spaced count>  --log-every
 */
import { runMain } from "../lib/util/main.ts";
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { setTileTuning, TILE_OPTIONS, TILE_USAGE, tuningFromFlags } from "../lib/model/matmul_tune.ts";
import { type ModelConfig, PAPER_CONFIG, parseModelConfig, TINY_CONFIG } from "../lib/model/config.ts";
import { paramLayout } from "../lib/model/params.ts";
import { contextBatch, readShard } from "../lib/data/shard.ts";
import { ensureDefaultDataset } from "../lib/data/default_dataset.ts";
import { train, TRAIN_DEFAULTS, type TrainOptions } from "../lib/train/train.ts";
import { writeRunManifest } from "../lib/util/manifest.ts";
import { readJsonFile } from "../lib/util/files.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";
import { Progress } from "../lib/util/progress.ts";
import { flagInt, flagNumber, UsageError } from "../lib/util/cli.ts";

const HELP = `deno task train [flags]
  --config tiny|paper|<config.json>  model (default tiny: 2 layers × 4 heads, d_model 64, n_ctx 64, d_vocab 512)
  --data <path.tokens>               token shard (default: the embedded synthetic corpus, built in runs/data)
  --out <folder>                     output folder (default runs/train-<config>)
  --steps N --batch B --seq-len T --lr --warmup --weight-decay --seed --checkpoints --log-every
${TILE_USAGE}`;

async function loadConfig(flag: string): Promise<ModelConfig> {
  if (flag === "tiny") return { ...TINY_CONFIG };
  if (flag === "paper") return { ...PAPER_CONFIG };
  return parseModelConfig(await readJsonFile(flag), flag);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: "tiny" },
      data: { type: "string" },
      out: { type: "string" },
      steps: { type: "string", default: String(TRAIN_DEFAULTS.steps) },
      batch: { type: "string", default: String(TRAIN_DEFAULTS.batch) },
      "seq-len": { type: "string" },
      lr: { type: "string", default: String(TRAIN_DEFAULTS.lr) },
      warmup: { type: "string", default: String(TRAIN_DEFAULTS.warmup) },
      "weight-decay": { type: "string", default: String(TRAIN_DEFAULTS.weightDecay) },
      seed: { type: "string", default: String(TRAIN_DEFAULTS.seed) },
      checkpoints: { type: "string", default: String(TRAIN_DEFAULTS.logCheckpoints) },
      "log-every": { type: "string", default: String(TRAIN_DEFAULTS.logEvery) },
      ...TILE_OPTIONS,
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const tiles = tuningFromFlags(values); // checked before the corpus is built
  const cfg = await loadConfig(values.config!);
  const opts: TrainOptions = {
    ...TRAIN_DEFAULTS,
    steps: flagInt("--steps", values.steps, 1),
    batch: flagInt("--batch", values.batch, 1),
    seqLen: values["seq-len"] === undefined ? cfg.n_ctx : flagInt("--seq-len", values["seq-len"], 2),
    lr: flagNumber("--lr", values.lr, 1e-12, 10),
    warmup: flagInt("--warmup", values.warmup, 0),
    weightDecay: flagNumber("--weight-decay", values["weight-decay"], 0, 10),
    seed: flagInt("--seed", values.seed, 0),
    logCheckpoints: flagInt("--checkpoints", values.checkpoints, 0),
    logEvery: flagInt("--log-every", values["log-every"], 1),
  };
  if (opts.seqLen > cfg.n_ctx) {
    throw new UsageError(`--seq-len: ${opts.seqLen} exceeds the model's n_ctx ${cfg.n_ctx}`);
  }
  const name = values.config === "tiny" || values.config === "paper" ? values.config : "custom";
  const out = values.out ?? `runs/train-${name}`;
  requireOutputPath(out, "--out");

  let dataPath = values.data;
  if (dataPath === undefined) {
    if (cfg.d_vocab !== TINY_CONFIG.d_vocab) {
      throw new UsageError(
        `--data: the embedded corpus has a ${TINY_CONFIG.d_vocab}-token vocabulary; ` +
          `d_vocab ${cfg.d_vocab} needs a token shard of your own (scripts/corpus.ts makes one)`,
      );
    }
    console.error("preparing the embedded synthetic corpus (runs/data/default) …");
    dataPath = (await ensureDefaultDataset("runs/data/default")).base;
  }
  const shard = await readShard(dataPath);
  if (shard.meta.vocabSize > cfg.d_vocab) {
    throw new UsageError(
      `--data: ${dataPath} was tokenized with ${shard.meta.vocabSize} token ids, ` +
        `more than the model's d_vocab ${cfg.d_vocab}`,
    );
  }
  const gpu = await getGpu();
  await setTileTuning(gpu, tiles);
  const P = paramLayout(cfg).count;
  console.error(
    `training ${P.toLocaleString("en")} parameters on ${gpu.record.description || gpu.record.device} ` +
      `(${gpu.kind}): ${opts.steps} steps × ${opts.batch}×${opts.seqLen} tokens → ${out}`,
  );
  const progress = new Progress("train", opts.steps);
  const result = await train(
    gpu,
    cfg,
    (step) => contextBatch(shard.tokens, { nCtx: opts.seqLen, batch: opts.batch, seed: opts.seed, step }),
    opts,
    out,
    {
      onProgress: (done, loss, tps) =>
        progress.update(done, `loss ${loss.toFixed(4)} ${tps.toFixed(0)} tok/s`),
    },
  );
  progress.done();
  await writeRunManifest(out, {
    config: { model: cfg, train: opts },
    seeds: { init: opts.seed, data: opts.seed },
    inputs: { data: dataPath },
    adapter: gpu.record,
    extra: {
      tokensPerSecond: result.tokensPerSecond,
      seconds: result.seconds,
      resumedFrom: result.resumedFrom,
    },
  });
  const L = result.losses;
  const tail = Math.min(50, L.length);
  let lastMean = 0;
  for (let i = L.length - tail; i < L.length; i++) lastMean += L[i] / tail;
  console.log(
    `loss: ${L[0].toFixed(4)} at step 0 (ln d_vocab = ${Math.log(cfg.d_vocab).toFixed(4)}), ` +
      `${lastMean.toFixed(4)} mean of the last ${tail} steps, minimum ${Math.min(...L).toFixed(4)}`,
  );
  console.log(
    `throughput: ${result.tokensPerSecond.toFixed(0)} tokens/s over ${result.seconds.toFixed(1)} s` +
      (result.resumedFrom > 0 ? ` (resumed at step ${result.resumedFrom})` : ""),
  );
  console.log(`checkpoints: ${out}/checkpoints (${result.checkpoints.length} written this run)`);
}

await runMain(main);
