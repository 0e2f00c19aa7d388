/**
 * Bayesian influence functions at one checkpoint (the latest of --checkpoints unless --checkpoint is given):
 * BIF(i, j) = −Cov_w[ℓ_i, ℓ_j] under the localized posterior of the whole model, between every token of
 * --contexts probe contexts of one probe and every token of --train-contexts contexts drawn from the base
 * stream. Writes influence.arrow and manifest.json and prints, for the first probe tokens, the training tokens
 * with the largest |BIF|.
 *
 *   deno task influence --checkpoints runs/train-tiny/checkpoints --probes induction --out runs/influence-tiny
 */
import { getGpu } from "../lib/gpu/device.ts";
import { setTileTuning, tuningFromFlags } from "../lib/model/matmul_tune.ts";
import { loadTokenizer } from "../lib/data/tokenizer.ts";
import { writeInfluenceTable } from "../lib/tables/schema.ts";
import { writeRunManifest } from "../lib/util/manifest.ts";
import { flagInt, parseFlags, UsageError } from "../lib/util/cli.ts";
import { probeContexts } from "../lib/estimate/unit.ts";
import { runInfluence, topInfluences } from "../lib/estimate/influence_unit.ts";
import { runMain } from "../lib/util/main.ts";
import {
  COMMON_OPTIONS,
  COMMON_USAGE,
  type CommonValues,
  loadScriptInputs,
  samplingAt,
} from "../lib/estimate/script_inputs.ts";

const USAGE =
  `usage: influence.ts [--contexts N (probe contexts, default 2)] [--train-contexts N (default 4)] ` +
  `[--top K (default 5)] [--tokenizer FILE] [flags; the first probe is used]${COMMON_USAGE}`;

async function main(args: string[]): Promise<void> {
  const parsed = parseFlags(args, {
    ...COMMON_OPTIONS,
    contexts: { type: "string", default: "2" },
    "train-contexts": { type: "string", default: "4" },
    top: { type: "string", default: "5" },
    tokenizer: { type: "string" },
  });
  const v = parsed.values;
  if (v.help) return console.log(USAGE);
  const tiles = tuningFromFlags(v); // checked before any input is loaded
  const common = v as unknown as CommonValues;
  const count = flagInt("--contexts", v.contexts, 1);
  const trainCount = flagInt("--train-contexts", v["train-contexts"], 1);
  const top = flagInt("--top", v.top, 1);
  // BIF is a covariance under the posterior of the whole model: --restrictions does not apply.
  const inputs = await loadScriptInputs(common, { lastOnly: true, probes: "scored", restrictions: false });
  const { checkpoints: [ck], first: loaded, cfg, sgld, run, data } = inputs;
  const tokenizerPath = v.tokenizer ?? data.tokenizerPath;
  if (!tokenizerPath) {
    throw new UsageError("--tokenizer FILE is required with --base/--probe (to decode tokens)");
  }
  const tokenizer = await loadTokenizer(tokenizerPath);
  const probe = data.probes[0];
  const gpu = await getGpu();
  await setTileTuning(gpu, tiles);
  const { influence, result } = await runInfluence(gpu, {
    ...samplingAt(inputs, ck.step, loaded.params, `influence, step ${ck.step}`),
    probe: { name: probe.name, contexts: probeContexts(probe.tokens, run.seqLen, count, run.seed) },
    train: probeContexts(data.base, run.seqLen, trainCount, run.seed + 1),
    decode: (id) => tokenizer.decode([id]),
  });
  for (let pos = 1; pos <= Math.min(4, run.seqLen - 1); pos++) {
    const rows = topInfluences(influence, 0, pos, top);
    const text = influence.probe_text[rows[0]];
    console.log(
      `probe token ${JSON.stringify(text)} (context 0, position ${pos}): strongest training tokens`,
    );
    for (const r of rows) {
      console.log(
        `  BIF ${influence.bif[r].toExponential(2)} ± ${influence.bif_se[r].toExponential(1)}  ` +
          `${JSON.stringify(influence.train_text[r])} (train context ${
            influence.train_context[r]
          }, position ${influence.train_position[r]})`,
      );
    }
  }
  await Deno.mkdir(run.out, { recursive: true });
  await writeInfluenceTable(`${run.out}/influence.arrow`, influence);
  await writeRunManifest(run.out, {
    config: {
      model: cfg,
      sgld,
      ...run,
      probe: probe.name,
      probeContexts: count,
      trainContexts: trainCount,
    },
    seeds: { sgld: run.seed, probeContexts: run.seed, trainContexts: run.seed + 1 },
    inputs: { ...data.paths, tokenizer: tokenizerPath, checkpoint: ck.path },
    adapter: gpu.record,
    extra: { step: ck.step, L0: result.L0, record: result.record },
  });
  console.log(`${run.out}: influence.arrow, manifest.json`);
}

if (import.meta.main) await runMain(() => main(Deno.args));
