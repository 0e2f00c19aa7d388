/**
 * Per-token susceptibilities (appendix C.2) of every token of a set of probe contexts for every restriction,
 * at one checkpoint (the latest of --checkpoints unless --checkpoint is given), plus the per-head zero-ablation
 * deltas on the same contexts (Fig. 7) and the eq. (45) consistency check. Writes per_token.arrow,
 * contexts.arrow, ablation.arrow and manifest.json (consistency in manifest.extra).
 *
 *   deno run --allow-read=. --allow-write=runs --allow-env scripts/per_token.ts \
 *     --checkpoints runs/train-tiny/checkpoints --contexts 8 --out runs/per-token-tiny [--no-ablation]
 */
import { PER_TOKEN_DEFAULTS } from "../lib/estimate/sgld_settings.ts";
import { getGpu } from "../lib/gpu/device.ts";
import { setTileTuning, tuningFromFlags } from "../lib/model/matmul_tune.ts";
import { loadTokenizer } from "../lib/data/tokenizer.ts";
import { writeAblationTable, writeContextsTable, writePerTokenTable } from "../lib/tables/schema.ts";
import { writeRunManifest } from "../lib/util/manifest.ts";
import { flagInt, parseFlags, UsageError } from "../lib/util/cli.ts";
import { probeContexts, runAblation, runPerTokenSusceptibilities } from "../lib/estimate/unit.ts";
import { runMain } from "../lib/util/main.ts";
import { formatSamplingWork } from "../lib/sweep/work.ts";
import { FULL } from "../lib/model/restriction.ts";
import { formatHealth, healthSummary } from "../lib/estimate/health.ts";
import {
  COMMON_OPTIONS,
  commonUsage,
  type CommonValues,
  loadScriptInputs,
  samplingAt,
} from "../lib/estimate/script_inputs.ts";

const USAGE =
  `usage: per_token.ts [--contexts N (per probe, default 8)] [--tokenizer FILE] [--no-ablation] [flags]${
    commonUsage(PER_TOKEN_DEFAULTS)
  }`;

async function main(args: string[]): Promise<void> {
  const parsed = parseFlags(args, {
    ...COMMON_OPTIONS,
    contexts: { type: "string", default: "8" },
    tokenizer: { type: "string" },
    "no-ablation": { type: "boolean", default: false },
  });
  const v = parsed.values;
  if (v.help) return console.log(USAGE);
  const tiles = tuningFromFlags(v); // checked before any input is loaded
  const common = v as unknown as CommonValues;
  const count = flagInt("--contexts", v.contexts, 1);
  const inputs = await loadScriptInputs(common, {
    lastOnly: true,
    sgldDefaults: PER_TOKEN_DEFAULTS,
    probes: "mixed",
  });
  const { checkpoints: [ck], first: loaded, cfg, restrictions, sgld, run, data } = inputs;
  const tokenizerPath = v.tokenizer ?? data.tokenizerPath;
  if (!tokenizerPath) {
    throw new UsageError("--tokenizer FILE is required with --base/--probe (to decode contexts)");
  }
  const tokenizer = await loadTokenizer(tokenizerPath);
  if (data.tokenizerSha256 !== undefined && tokenizer.hash !== data.tokenizerSha256) {
    throw new UsageError(
      `--tokenizer: ${tokenizerPath} is not the tokenizer the --base shard ${common.base} was made with`,
    );
  }
  const probes = data.probes.map((p, i) => ({
    ...p,
    contexts: probeContexts(p.tokens, run.seqLen, count, run.seed + i),
  }));
  const shape = { sgld, restrictions, probes: probes.length, contexts: count };
  console.log(formatSamplingWork(cfg, run.seqLen, run.deltaH, 1, shape));
  const gpu = await getGpu();
  await setTileTuning(gpu, tiles);
  const res = await runPerTokenSusceptibilities(gpu, {
    ...samplingAt(inputs, ck.step, loaded.params, `per-token, step ${ck.step}`),
    probes,
    deltaH: run.deltaH,
    restrictions,
    decode: (id) => tokenizer.decode([id]),
  });
  console.log(formatHealth(healthSummary(res.run.result)));
  await Deno.mkdir(run.out, { recursive: true });
  await writePerTokenTable(`${run.out}/per_token.arrow`, res.perToken);
  await writeContextsTable(`${run.out}/contexts.arrow`, res.contexts);
  const files = ["per_token.arrow", "contexts.arrow"];
  if (!v["no-ablation"]) {
    const heads = restrictions.filter((r) => r !== FULL);
    const { ablation } = await runAblation(gpu, {
      cfg,
      params: loaded.params,
      step: ck.step,
      probes,
      heads,
      seqLen: run.seqLen,
    });
    await writeAblationTable(`${run.out}/ablation.arrow`, ablation);
    files.push("ablation.arrow");
  }
  for (const c of res.consistency) {
    console.log(
      `${c.probe} ${c.restriction}: δh·mean χ_i = ${c.predicted.toExponential(3)}, χ̂ = ${
        c.chiHat.toExponential(3)
      } ± ` +
        `${c.chiSe.toExponential(2)} (ratio ${c.ratio.toFixed(2)})`,
    );
  }
  const { result } = res.run;
  await writeRunManifest(run.out, {
    config: {
      model: cfg,
      restrictions,
      sgld,
      ...run,
      contextsPerProbe: count,
      probes: probes.map((p) => p.name),
    },
    seeds: { sgld: run.seed, contexts: run.seed },
    inputs: { ...data.paths, tokenizer: tokenizerPath, checkpoint: ck.path },
    adapter: gpu.record,
    extra: {
      step: ck.step,
      L0: result.L0,
      record: result.record,
      health: {
        ...result.health,
        maxLoss: [...result.health.maxLoss],
        meanDrawLoss: [...result.health.meanDrawLoss],
      },
      consistency: res.consistency,
    },
  });
  console.log(`${run.out}: ${files.join(", ")}, manifest.json`);
}

if (import.meta.main) await runMain(() => main(Deno.args));
