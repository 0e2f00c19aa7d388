/**
 * LLC (eq. 26) of each restriction at each checkpoint from one batched SGLD run per checkpoint (no probes):
 * writes llc.json (mean ± standard error over chains, per-chain values, the sampler record and health),
 * traces.arrow and manifest.json. Use it to calibrate ε and nβ before a susceptibility sweep:
 * --calibrate ε1,ε2,… [--calibrate-nbeta n1,n2,…] instead prints the unrestricted LLC against the step size
 * (lib/estimate/calibrate.ts) for the first checkpoint and writes calibration.json.
 *
 *   deno run --allow-read=. --allow-write=runs --allow-env scripts/sample.ts \
 *     --checkpoints runs/train-tiny/checkpoints --steps 2000 --restrictions full --out runs/llc-tiny
 */
import { getGpu } from "../lib/gpu/device.ts";
import { setTileTuning, tuningFromFlags } from "../lib/model/matmul_tune.ts";
import { writeTracesTable } from "../lib/tables/schema.ts";
import { writeRunManifest } from "../lib/util/manifest.ts";
import { writeJsonAtomic } from "../lib/util/files.ts";
import { formatLlcRow, runCheckpointLlc } from "../lib/estimate/unit.ts";
import { calibrate, formatCalibration } from "../lib/estimate/calibrate.ts";
import { formatHealth, healthSummary } from "../lib/estimate/health.ts";
import { createTransformerTarget, lossAtWStar, wStarBuffer } from "../lib/estimate/transformer_target.ts";
import { flagNumber, parseFlags } from "../lib/util/cli.ts";
import type { ModelConfig } from "../lib/model/config.ts";
import type { Gpu } from "../lib/gpu/device.ts";
import { concatColumns } from "../lib/estimate/script_run.ts";
import { runMain } from "../lib/util/main.ts";
import {
  COMMON_OPTIONS,
  COMMON_USAGE,
  type CommonValues,
  loadScriptCheckpoint,
  loadScriptInputs,
  parseSgld,
  samplingAt,
} from "../lib/estimate/script_inputs.ts";

const USAGE =
  `usage: sample.ts [--calibrate ε,… [--calibrate-nbeta nβ,…]] [flags]  (probes and --delta-h are not used)${COMMON_USAGE}`;

function numberList(flag: string, s: string): number[] {
  return s.split(",").map((x) => flagNumber(flag, x.trim(), Number.MIN_VALUE));
}

/** LLC of the unrestricted model against ε (and nβ) on one checkpoint. */
async function runCalibration(
  gpu: Gpu,
  cfg: ModelConfig,
  params: Float32Array,
  base: ArrayLike<number>,
  o: {
    eps: number[];
    nbeta?: number[];
    sgld: ReturnType<typeof parseSgld>;
    seqLen: number;
    seed: number;
    out: string;
  },
): Promise<void> {
  const chains = o.sgld.chains;
  const batch = o.sgld.batchSize;
  const target = await createTransformerTarget(gpu, {
    cfg,
    copies: chains,
    batch,
    seqLen: o.seqLen,
    base,
    seed: o.seed,
  });
  const wStar = wStarBuffer(gpu, params);
  try {
    const L0 = await lossAtWStar(gpu, cfg, params, {
      base,
      batch,
      seqLen: o.seqLen,
      seed: o.seed,
      batches: chains,
    });
    const rows = await calibrate(target, wStar, { eps: o.eps, nbeta: o.nbeta }, {
      ...o.sgld,
      seed: o.seed,
      L0,
    });
    console.log(formatCalibration(rows));
    await Deno.mkdir(o.out, { recursive: true });
    await writeJsonAtomic(
      `${o.out}/calibration.json`,
      rows.map((r) => ({ ...r, llc: r.llc && { ...r.llc, perChain: [...r.llc.perChain] } })),
    );
  } finally {
    wStar.destroy();
    target.destroy();
  }
}

async function main(args: string[]): Promise<void> {
  const parsed = parseFlags(args, {
    ...COMMON_OPTIONS,
    calibrate: { type: "string" },
    "calibrate-nbeta": { type: "string" },
  });
  const v = parsed.values as unknown as CommonValues;
  if (v.help) return console.log(USAGE);
  const tiles = tuningFromFlags(v); // checked before any input is loaded
  const cal = parsed.values.calibrate;
  const calNbeta = parsed.values["calibrate-nbeta"];
  const inputs = await loadScriptInputs(v, { probes: "none" });
  const { checkpoints, first, cfg, restrictions, sgld, run, data } = inputs;
  const gpu = await getGpu();
  await setTileTuning(gpu, tiles);
  if (cal) {
    const eps = numberList("--calibrate", cal);
    const nbeta = calNbeta ? numberList("--calibrate-nbeta", calNbeta) : undefined;
    await runCalibration(gpu, cfg, first.params, data.base, {
      eps,
      nbeta,
      sgld,
      ...run,
    });
    return;
  }
  const rows = [], traces = [];
  for (const ck of checkpoints) {
    const loaded = await loadScriptCheckpoint(ck.path, cfg);
    const res = await runCheckpointLlc(gpu, {
      ...samplingAt(inputs, ck.step, loaded.params, `step ${ck.step}`),
      restrictions,
    });
    const { result } = res.run;
    const health = healthSummary(result, res.run.still);
    console.log(formatHealth(health));
    rows.push({ step: ck.step, L0: result.L0, llc: res.llc, record: result.record, health });
    for (const r of res.llc) console.log(`step ${ck.step} ${formatLlcRow(r)}`);
    traces.push(res.traces);
  }
  await Deno.mkdir(run.out, { recursive: true });
  await writeJsonAtomic(`${run.out}/llc.json`, rows);
  await writeTracesTable(`${run.out}/traces.arrow`, concatColumns(traces));
  await writeRunManifest(run.out, {
    config: { model: cfg, restrictions, sgld, seqLen: run.seqLen },
    seeds: { sgld: run.seed },
    inputs: {
      base: data.paths.base,
      ...Object.fromEntries(checkpoints.map((c) => [`checkpoint_${c.step}`, c.path])),
    },
    adapter: gpu.record,
  });
  console.log(`${run.out}: llc.json, traces.arrow, manifest.json`);
}

if (import.meta.main) await runMain(() => main(Deno.args));
