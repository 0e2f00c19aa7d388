/**
 * SGLD throughput of the transformer target: draws/s and copy-steps/s of one batched run (all restrictions ×
 * chains as copies, with the mixed-batch L^δh observable of the probes) and per-token evaluations/s (the C.2
 * observable); achieved FLOP/s and its fraction of the adapter's measured FP32 multiply-add peak
 * (lib/bench/peak.ts) and of its matmul 512³ rate; with --torch-json or --torch, chi / PyTorch on the same shape.
 *
 *   deno task bench-sgld [--config tiny|paper] [--restrictions 9] [--chains 2] [--batch 8] [--seq-len 64]
 *     [--draws 20] [--probes 1] [--contexts 16] [--pt-batch N] [--paper-shape] [--skip-per-token]
 *     [--torch-json FILE | --torch [--torch-threads N]] [--json FILE] [--tiles heuristic|tuned [--tile-cache F]]
 *
 * --paper-shape: the target is the paper's (appendix C: L2W256, T = 1024, 17 restrictions × 4 chains, batch 64,
 *   14 probes; per-token 160 contexts × 1023 tokens at batch 16). It runs the flags' measured size (defaults:
 *   2 restrictions × 1 chain, batch 2, 1 probe, 2 contexts on a CPU adapter; 17 × 1, batch 16, 14 probes,
 *   16 contexts on a GPU), prints what it measured, and scales the step time to the full shape by FLOPs
 *   (linear in copies and sequences at fixed T), saying so, then prints the whole-workload estimate.
 * --torch runs bench/torch_reference.py with /usr/bin/python3 on the same shape (needs --allow-run; never a
 *   runtime dependency of chi); --torch-json reads that script's --json output instead.
 *
 * Parameters and tokens are random (lib/bench/unit_inputs.ts): throughput does not depend on their values.
 */
import { runMain } from "../lib/util/main.ts";
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { setTileTuning, TILE_OPTIONS, tuningFromFlags, tuningSummary } from "../lib/model/matmul_tune.ts";
import { PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import { benchUnitOptions } from "../lib/bench/unit_inputs.ts";
import { measureMatmul } from "../lib/bench/matmul.ts";
import { measureFmaPeak } from "../lib/bench/peak.ts";
import { describeHost } from "../lib/bench/host.ts";
import {
  benchRestrictions,
  copiesOf,
  paperShape,
  paperWorkloadSeconds,
  perTokenStepFlops,
  type SgldShape,
  sgldStepFlops,
  type TorchReport,
  torchShapeMismatch,
} from "../lib/bench/sgld_shape.ts";
import { flagChoice, flagInt, UsageError } from "../lib/util/cli.ts";
import { formatDuration } from "../lib/util/progress.ts";
import { runCheckpointSusceptibilities, runPerTokenSusceptibilities } from "../lib/estimate/unit.ts";
import { allRestrictions } from "../lib/model/restriction.ts";

/** Runs bench/torch_reference.py on `shape` and parses its JSON line. */
async function runTorch(config: string, s: SgldShape, draws: number, threads: number): Promise<TorchReport> {
  const args = [
    "bench/torch_reference.py",
    "--config",
    config,
    "--seq-len",
    String(s.seqLen),
    "--restrictions",
    String(s.restrictions),
    "--chains",
    String(s.chains),
    "--batch",
    String(s.batch),
    "--probes",
    String(s.probes),
    "--delta-h",
    String(s.deltaH),
    "--steps",
    String(draws),
    "--json",
    "--threads",
    String(threads),
  ];
  const out = await new Deno.Command("/usr/bin/python3", { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`bench/torch_reference.py exited with ${out.code}`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as TorchReport;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      config: { type: "string" },
      restrictions: { type: "string" },
      chains: { type: "string" },
      batch: { type: "string" },
      "seq-len": { type: "string" },
      draws: { type: "string" },
      probes: { type: "string" },
      contexts: { type: "string" },
      "pt-batch": { type: "string" },
      "delta-h": { type: "string", default: "0.1" },
      "paper-shape": { type: "boolean", default: false },
      "skip-per-token": { type: "boolean", default: false },
      "torch-json": { type: "string" },
      torch: { type: "boolean", default: false },
      "torch-threads": { type: "string" },
      json: { type: "string" },
      ...TILE_OPTIONS,
    },
    strict: true,
  });
  const tuning = tuningFromFlags(values);
  const paper = values["paper-shape"];
  const config = flagChoice(
    "--config",
    values.config ?? (paper ? "paper" : "tiny"),
    ["tiny", "paper"] as const,
  );
  if (paper && config !== "paper") throw new UsageError("--paper-shape runs the paper config");
  const cfg = config === "paper" ? PAPER_CONFIG : TINY_CONFIG;
  const gpu = await getGpu();
  await setTileTuning(gpu, tuning);
  const cpu = gpu.kind === "cpu";
  const all = allRestrictions(cfg);
  // Measured-size defaults: today's tiny defaults; at the paper shape, what fits this adapter in minutes.
  const def = paper
    ? cpu
      ? { R: 2, chains: 1, batch: 2, probes: 1, contexts: 2, draws: 2, ptBatch: 2 }
      : { R: 17, chains: 1, batch: 16, probes: 14, contexts: 16, draws: 4, ptBatch: 16 }
    : { R: all.length, chains: 2, batch: 8, probes: 1, contexts: 16, draws: 20, ptBatch: 8 };
  const R = flagInt("--restrictions", values.restrictions ?? String(def.R), 1);
  if (R > all.length) throw new UsageError(`--restrictions: at most ${all.length} for this config, got ${R}`);
  const batch = flagInt("--batch", values.batch ?? String(def.batch), 1);
  const measured: SgldShape = {
    cfg,
    seqLen: flagInt("--seq-len", values["seq-len"] ?? String(paper ? 1024 : Math.min(cfg.n_ctx, 64)), 2),
    restrictions: R,
    chains: flagInt("--chains", values.chains ?? String(def.chains), 1),
    batch,
    probes: flagInt("--probes", values.probes ?? String(def.probes), 1),
    deltaH: Number(values["delta-h"]),
    contexts: flagInt("--contexts", values.contexts ?? String(def.contexts), 1),
    perTokenBatch: flagInt("--pt-batch", values["pt-batch"] ?? String(paper ? def.ptBatch : batch), 1),
  };
  const draws = flagInt("--draws", values.draws ?? String(def.draws), 1);
  const T = measured.seqLen;
  const C = copiesOf(measured);
  const restrictions = benchRestrictions(measured);
  console.log(describeHost(gpu));
  console.log(
    `config ${config}; measured shape: ${R} restrictions × ${measured.chains} chains = ${C} copies, ` +
      `batch ${batch}, T ${T}, ${measured.probes} probe(s); per-token ${measured.contexts} contexts per probe at ` +
      `batch ${measured.perTokenBatch}; ${draws} draws`,
  );

  const peak = await measureFmaPeak(gpu, { seconds: cpu ? 0.5 : 1 });
  const mm = await measureMatmul(gpu, { M: 512, N: 512, K: 512, seconds: 1 });
  console.log(
    `FP32 FMA peak: ${peak.gflops.toFixed(1)} GFLOP/s; matmul 512³: ${mm.gflops.toFixed(2)} GFLOP/s`,
  );
  const ofPeak = (gflops: number) =>
    `${(100 * gflops / peak.gflops).toFixed(2)} % of FMA peak, ${
      (100 * gflops / mm.gflops).toFixed(1)
    } % of matmul`;

  const common = {
    ...benchUnitOptions(cfg, {
      seqLen: T,
      batch: Math.max(batch, measured.perTokenBatch),
      probes: measured.probes,
      contexts: measured.contexts,
      deltaH: measured.deltaH,
      restrictions,
    }),
    readEvery: Math.min(50, draws),
  };
  // Unpaired: exactly restrictions × chains copies, the ones PyTorch runs and copy-steps/s counts (the paired
  // default adds one still copy at w*, 1/(restrictions·chains) more work than credited).
  const sgld = { chains: measured.chains, batchSize: batch, draws, paired: false };
  // Warm-up (pipeline compilation) with 1 draw, then the timed run.
  await runCheckpointSusceptibilities(gpu, { ...common, sgld: { ...sgld, draws: 1 } });
  const tiles = tuningSummary(gpu);
  if (tiles.mode === "tuned") {
    console.log(
      `tiles: tuned ${tiles.tuned} shapes (matmul tiles, attention rows) in ${
        tiles.seconds.toFixed(1)
      } s (${tiles.changed} changed, ` +
        `each timed alone ${tiles.speedup.toFixed(2)}× faster than the heuristic's), ${tiles.cached} from ` +
        `${tiles.cacheFile ?? "memory"}`,
    );
  }
  const t0 = performance.now();
  const res = await runCheckpointSusceptibilities(gpu, { ...common, sgld });
  const secs = (performance.now() - t0) / 1000;
  const h = res.run.result.health;
  const stepFlops = sgldStepFlops(measured);
  const fullPassFlops = sgldStepFlops(measured, { fullPasses: true });
  const gflops = stepFlops * h.drawsPerSecond / 1e9;
  const copySteps = C * h.drawsPerSecond;
  console.log(
    `SGLD: ${h.drawsPerSecond.toFixed(3)} draws/s = ${
      copySteps.toFixed(2)
    } copy-steps/s in the sampling loop ` +
      `(${draws} draws in ${h.seconds.toFixed(2)} s; ${secs.toFixed(2)} s with setup and L0); ` +
      `${(stepFlops / C / 1e9).toFixed(3)} GFLOP per copy-step (full passes: ${
        (fullPassFlops / C / 1e9).toFixed(3)
      }, ${(fullPassFlops / stepFlops).toFixed(2)}× the restriction-aware passes' work); ` +
      `${gflops.toFixed(2)} GFLOP/s = ${ofPeak(gflops)}`,
  );

  let ptStepSeconds: number | undefined;
  if (!values["skip-per-token"]) {
    const nCtx = measured.contexts;
    const ptSgld = { ...sgld, batchSize: measured.perTokenBatch };
    const t1 = performance.now();
    const pt = await runPerTokenSusceptibilities(gpu, { ...common, sgld: ptSgld, decode: String });
    const secs2 = (performance.now() - t1) / 1000;
    const h2 = pt.run.result.health;
    const evals = C * measured.probes * nCtx * (T - 1) * draws;
    const ptGflops = perTokenStepFlops(measured) * h2.drawsPerSecond / 1e9;
    ptStepSeconds = 1 / h2.drawsPerSecond;
    console.log(
      `per-token: ${measured.probes * nCtx} contexts × ${T - 1} tokens × ${C} copies per draw: ` +
        `${(evals / h2.seconds).toFixed(0)} per-token evaluations/s (${
          h2.drawsPerSecond.toFixed(3)
        } draws/s; ` +
        `${secs2.toFixed(2)} s in all), ${ptGflops.toFixed(2)} GFLOP/s = ${ofPeak(ptGflops)}`,
    );
  }

  const summary: Record<string, unknown> = {
    host: describeHost(gpu),
    config,
    measured: { ...measured, cfg: undefined, copies: C, draws },
    peakGflops: peak.gflops,
    matmulGflops: mm.gflops,
    drawsPerSecond: h.drawsPerSecond,
    copyStepsPerSecond: copySteps,
    gflops,
    perTokenDrawsPerSecond: ptStepSeconds ? 1 / ptStepSeconds : undefined,
  };

  if (paper) {
    const full = paperShape();
    const chiScale = sgldStepFlops(full) / stepFlops;
    const chiFull = chiScale / h.drawsPerSecond;
    console.log(
      `paper shape (${
        copiesOf(full)
      } copies, batch ${full.batch}, ${full.probes} probes, T ${full.seqLen}): ` +
        `${chiFull.toFixed(2)} s per χ step, scaled ×${chiScale.toFixed(1)} by FLOPs from the measured size` +
        (chiScale > 1 ? " (not run at full size)" : ""),
    );
    summary.paperChiStepSeconds = chiFull;
    if (ptStepSeconds !== undefined) {
      const ptScale = perTokenStepFlops(full) / perTokenStepFlops(measured);
      const ptFull = ptStepSeconds * ptScale;
      const total = paperWorkloadSeconds(chiFull, ptFull);
      console.log(
        `paper per-token step (${full.contexts} contexts × ${
          full.seqLen - 1
        } tokens × ${full.probes} probes, ` +
          `batch ${full.perTokenBatch}): ${ptFull.toFixed(2)} s, scaled ×${ptScale.toFixed(1)} by FLOPs`,
      );
      console.log(`estimated paper workload (sampling only, this adapter): ${formatDuration(total)}`);
      summary.paperPerTokenStepSeconds = ptFull;
      summary.paperWorkloadSeconds = total;
    }
  }

  let torch: TorchReport | undefined;
  if (values["torch-json"]) torch = JSON.parse(await Deno.readTextFile(values["torch-json"])) as TorchReport;
  else if (values.torch) {
    // Default: all cores, as llvmpipe uses them (the fair comparison on an idle CPU; on a loaded one PyTorch's
    // OpenMP threads spin against the other processes, and --torch-threads 1 measures it more steadily).
    const threads = flagInt(
      "--torch-threads",
      values["torch-threads"] ?? String(navigator.hardwareConcurrency),
      1,
    );
    torch = await runTorch(config, measured, Math.max(2, Math.min(draws, 10)), threads);
  }
  if (torch) {
    const mismatch = torchShapeMismatch(torch, measured, config);
    if (mismatch) console.log(`PyTorch report is for another shape (${mismatch}): no ratio printed`);
    else {
      for (const row of torch.rows) {
        console.log(
          `PyTorch ${torch.torch} on ${torch.device} (${torch.threads} threads), ${row.name}: ` +
            `${row.copy_steps_per_s.toFixed(2)} copy-steps/s; chi / PyTorch = ${
              (copySteps / row.copy_steps_per_s).toFixed(2)
            }`,
        );
      }
      summary.torch = torch;
    }
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(summary) + "\n");
}

if (import.meta.main) {
  await runMain(main);
}
