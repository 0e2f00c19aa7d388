/**
 * Estimated wall time of a whole sweep on the current adapter, for the default sweep and for the paper's
 * workload (14 probes × 30 checkpoints × 17 restrictions × 4 chains × 200 draws at batch 64, plus per-token χ
 * for 160 contexts × 1023 tokens per probe, 100 draws at batch 16). The measurement and the scaling are
 * lib/bench/sweep_time.ts (also behind `deno task sweep --plan`, which estimates a config's own sweep).
 *
 *   deno task bench-sweep [--only default|paper] [--budget-s 60] [--json FILE]
 *
 * It also prints the adapter's FP32 multiply-add peak (lib/bench/peak.ts) with the CPU model and load average,
 * and each measured FLOP rate as a fraction of it; --json writes the estimates (seconds) for
 * bench/device_check.sh.
 */
import { runMain } from "../lib/util/main.ts";
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import { allRestrictions } from "../lib/model/restriction.ts";
import { PAPER_WORKLOAD, SWEEP_DEFAULTS } from "../lib/sweep/config.ts";
import type { SweepShape } from "../lib/sweep/work.ts";
import { estimateSweepTime } from "../lib/bench/sweep_time.ts";
import { flagChoice, flagNumber } from "../lib/util/cli.ts";
import { formatDuration } from "../lib/util/progress.ts";
import { measureFmaPeak } from "../lib/bench/peak.ts";
import { describeHost } from "../lib/bench/host.ts";

const WORKLOADS: Record<string, { name: string; shape: SweepShape }> = {
  default: {
    name: "default sweep (tiny model, synthetic data)",
    shape: {
      model: TINY_CONFIG,
      checkpoints: SWEEP_DEFAULTS.logSpacedCheckpoints,
      probes: 6,
      restrictions: allRestrictions(TINY_CONFIG),
      deltaH: SWEEP_DEFAULTS.deltaH,
      seqLen: SWEEP_DEFAULTS.sgld.seqLen,
      sgld: { ...SWEEP_DEFAULTS.sgld },
      perToken: { ...SWEEP_DEFAULTS.perToken },
    },
  },
  paper: {
    name: "paper workload (L2W256, 14 Pile probes)",
    shape: {
      model: PAPER_CONFIG,
      checkpoints: PAPER_WORKLOAD.checkpoints,
      probes: PAPER_WORKLOAD.probes,
      restrictions: allRestrictions(PAPER_CONFIG).slice(0, PAPER_WORKLOAD.restrictions),
      deltaH: 0.1,
      seqLen: PAPER_WORKLOAD.perTokenTokens + 1,
      sgld: {
        chains: PAPER_WORKLOAD.chains,
        draws: PAPER_WORKLOAD.draws,
        burnIn: 0,
        batchSize: PAPER_WORKLOAD.batchSize,
        paired: false,
      },
      perToken: {
        enabled: true,
        ablation: true,
        contexts: PAPER_WORKLOAD.perTokenContexts,
        chains: PAPER_WORKLOAD.chains,
        draws: PAPER_WORKLOAD.perTokenDraws,
        batchSize: PAPER_WORKLOAD.perTokenBatch,
      },
    },
  },
};

async function main() {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      "budget-s": { type: "string", default: "60" },
      json: { type: "string" },
    },
    strict: true,
  });
  const only = values.only === undefined
    ? undefined
    : flagChoice("--only", values.only, ["default", "paper"]);
  const budget = flagNumber("--budget-s", values["budget-s"], 0);
  const gpu = await getGpu();
  console.log(`adapter: ${gpu.record.description || gpu.record.device} (${gpu.kind}, ${gpu.record.backend})`);
  console.log(describeHost(gpu));
  const peak = await measureFmaPeak(gpu, { seconds: 0.5 });
  console.log(`FP32 FMA peak: ${peak.gflops.toFixed(1)} GFLOP/s`);
  const report: Record<string, unknown> = { host: describeHost(gpu), peakGflops: peak.gflops };
  for (const [key, { name, shape: w }] of Object.entries(WORKLOADS)) {
    if (only && only !== key) continue;
    console.log(
      `${name}: ${w.probes} probes × ${w.checkpoints} checkpoints × ${w.restrictions} restrictions × ` +
        `${w.sgld.chains} chains × ${w.sgld.draws} draws at batch ${w.sgld.batchSize}, T = ${w.seqLen}; per-token ` +
        `${w.perToken.contexts} contexts per probe, ${w.perToken.draws} draws at batch ${w.perToken.batchSize}`,
    );
    const e = await estimateSweepTime(gpu, w, { budgetSeconds: budget, log: console.log });
    for (const k of [e.chi, e.perToken]) {
      if (!k) continue;
      console.log(
        `  ${k.kind}: ${(k.flopsPerSecond / 1e9).toFixed(2)} GFLOP/s at the measured size (${
          (100 * k.flopsPerSecond / 1e9 / peak.gflops).toFixed(2)
        } % of the FMA peak) → ${formatDuration(k.seconds)}`,
      );
    }
    console.log(`  ablation: ${formatDuration(e.ablationSeconds)}`);
    console.log(`  estimated sweep time (sampling only, one adapter): ${formatDuration(e.totalSeconds)}`);
    report[key] = {
      chiSeconds: e.chi.seconds,
      perTokenSeconds: e.perToken?.seconds ?? 0,
      ablationSeconds: e.ablationSeconds,
      totalSeconds: e.totalSeconds,
      chi: e.chi,
      perToken: e.perToken,
    };
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report) + "\n");
}

await runMain(main);
