/**
 * Estimated wall time of a whole sweep on the current adapter, for the default sweep and for the paper's
 * workload (14 probes × 30 checkpoints × 17 restrictions × 4 chains × 200 draws at batch 64, plus per-token χ
 * for 160 contexts × 1023 tokens per probe, 100 draws at batch 16): it times a few SGLD steps of the real unit
 * computations (lib/estimate/unit.ts) at the full model and context length but fewer copies and a smaller
 * batch, takes the per-step time from the difference of two draw counts (so setup and compilation drop out),
 * and scales by the work per step (copies × sequences × tokens). On a GPU the measured size is grown until a
 * step takes long enough to fill it, since small sizes underuse it; the estimate is then an upper bound.
 *
 *   deno task bench-sweep [--only default|paper] [--budget-s 60] [--json FILE]
 *
 * It also prints each measured step's achieved FLOP/s (lib/bench/sgld_shape.ts: forwardFlopsPerToken, backward
 * 2× forward) and its fraction of the adapter's FP32 multiply-add peak (lib/bench/peak.ts), with the CPU model
 * and load average; --json writes the estimates (seconds) for bench/device_check.sh.
 *
 * Weights are a random initialization and tokens uniform random ids: speed does not depend on their values.
 */
import { parseArgs } from "node:util";
import { getGpu, type Gpu } from "../lib/gpu/device.ts";
import { type ModelConfig, PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import { initParams } from "../lib/model/init.ts";
import { Rng } from "../lib/util/random.ts";
import { runCheckpointSusceptibilities, runPerTokenSusceptibilities } from "../lib/estimate/unit.ts";
import { PAPER_WORKLOAD, SWEEP_DEFAULTS } from "../lib/sweep/config.ts";
import { flagChoice, flagNumber } from "../lib/util/cli.ts";
import { formatDuration } from "../lib/util/progress.ts";
import { measureFmaPeak } from "../lib/bench/peak.ts";
import { describeHost } from "../lib/bench/host.ts";
import { perTokenStepFlops, type SgldShape, sgldStepFlops } from "../lib/bench/sgld_shape.ts";

/** One sweep's shape. */
interface Workload {
  name: string;
  cfg: ModelConfig;
  probes: number;
  checkpoints: number;
  /** Restrictions estimated (the heads and "full"). */
  restrictions: number;
  chains: number;
  draws: number;
  batch: number;
  seqLen: number;
  deltaH: number;
  perToken: { contexts: number; chains: number; draws: number; batch: number };
}

const heads = (c: ModelConfig) => c.n_layers * c.n_heads;

const WORKLOADS: Record<string, Workload> = {
  default: {
    name: "default sweep (tiny model, synthetic data)",
    cfg: TINY_CONFIG,
    probes: 6,
    checkpoints: SWEEP_DEFAULTS.logSpacedCheckpoints,
    restrictions: heads(TINY_CONFIG) + 1,
    chains: SWEEP_DEFAULTS.sgld.chains,
    draws: SWEEP_DEFAULTS.sgld.draws,
    batch: SWEEP_DEFAULTS.sgld.batchSize,
    seqLen: SWEEP_DEFAULTS.sgld.seqLen,
    deltaH: SWEEP_DEFAULTS.deltaH,
    perToken: {
      contexts: SWEEP_DEFAULTS.perToken.contexts,
      chains: SWEEP_DEFAULTS.perToken.chains,
      draws: SWEEP_DEFAULTS.perToken.draws,
      batch: SWEEP_DEFAULTS.perToken.batchSize,
    },
  },
  paper: {
    name: "paper workload (L2W256, 14 Pile probes)",
    cfg: PAPER_CONFIG,
    probes: PAPER_WORKLOAD.probes,
    checkpoints: PAPER_WORKLOAD.checkpoints,
    restrictions: PAPER_WORKLOAD.restrictions,
    chains: PAPER_WORKLOAD.chains,
    draws: PAPER_WORKLOAD.draws,
    batch: PAPER_WORKLOAD.batchSize,
    seqLen: PAPER_WORKLOAD.perTokenTokens + 1,
    deltaH: 0.1,
    perToken: {
      contexts: PAPER_WORKLOAD.perTokenContexts,
      chains: PAPER_WORKLOAD.chains,
      draws: PAPER_WORKLOAD.perTokenDraws,
      batch: PAPER_WORKLOAD.perTokenBatch,
    },
  },
};

/** A measured size: sampled restrictions (incl. "full"), chains each, batch, probes, per-token contexts per probe. */
interface Size {
  restrictions: number;
  chains: number;
  batch: number;
  probes: number;
  contexts: number;
}

/** Work of one SGLD step of a chi unit: copies × (minibatch + the probes' replacing rows) sequences. */
function chiWork(s: Size, deltaH: number): number {
  return s.restrictions * s.chains * (s.batch + s.probes * Math.ceil(deltaH * s.batch));
}

/** Work of one per-token step: the minibatch fwd+bwd plus a forward (≈ ⅓ of fwd+bwd) of every context. */
function perTokenWork(s: Size, deltaH: number): number {
  return s.restrictions * s.chains *
    (s.batch + s.probes * Math.ceil(deltaH * s.batch) + (s.probes * s.contexts) / 3);
}

/** FLOPs of one step at size `s` (the measured one), counted as bench-sgld counts them. */
function stepFlops(w: Workload, s: Size, kind: "chi" | "per_token"): number {
  const shape: SgldShape = {
    cfg: w.cfg,
    seqLen: w.seqLen,
    restrictions: s.restrictions,
    chains: s.chains,
    batch: s.batch,
    probes: s.probes,
    deltaH: w.deltaH,
    contexts: s.contexts,
    perTokenBatch: s.batch,
  };
  return kind === "chi" ? sgldStepFlops(shape) : perTokenStepFlops(shape);
}

function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

const RESTRICTION_NAMES = ["0:0", "0:1", "1:0", "1:1", "0:2", "0:3", "1:2", "1:3"];

/** Seconds per SGLD step of one unit kind at size `s`: (t(d2) − t(d1)) / (d2 − d1). */
async function secondsPerStep(gpu: Gpu, w: Workload, s: Size, kind: "chi" | "per_token"): Promise<number> {
  const { cfg, seqLen: T } = w;
  const params = initParams(cfg, 1);
  const stream = (seed: number) => randomTokens(Math.max(200_000, 4 * T * 64), cfg.d_vocab, seed);
  const base = stream(1);
  const probes = Array.from({ length: s.probes }, (_, p) => ({
    name: `p${p}`,
    tokens: stream(2 + p),
    contexts: randomTokens(s.contexts * T, cfg.d_vocab, 100 + p),
  }));
  const restrictions = RESTRICTION_NAMES.slice(0, s.restrictions - 1);
  const time = async (draws: number) => {
    const t0 = performance.now();
    const common = {
      cfg,
      params,
      step: 0,
      base,
      deltaH: w.deltaH,
      restrictions,
      sgld: { chains: s.chains, draws, batch: s.batch, readEvery: 1000 },
      seqLen: T,
      seed: 5,
    };
    if (kind === "chi") await runCheckpointSusceptibilities(gpu, { ...common, probes });
    else await runPerTokenSusceptibilities(gpu, { ...common, probes, decode: (id) => String(id) });
    return (performance.now() - t0) / 1000;
  };
  await time(2); // compiles the pipelines of this size
  const a = await time(2);
  const b = await time(6);
  return Math.max(b - a, 1e-6) / 4;
}

interface Estimate {
  kind: string;
  size: Size;
  stepSeconds: number;
  fullStepSeconds: number;
  totalSeconds: number;
}

/** Grows the measured batch (×4) while a step is short and the size is below the workload's. */
async function measure(
  gpu: Gpu,
  w: Workload,
  kind: "chi" | "per_token",
  budget: number,
  log: (s: string) => void,
): Promise<Estimate> {
  const full: Size = kind === "chi"
    ? { restrictions: w.restrictions, chains: w.chains, batch: w.batch, probes: w.probes, contexts: 0 }
    : {
      restrictions: w.restrictions,
      chains: w.perToken.chains,
      batch: w.perToken.batch,
      probes: w.probes,
      contexts: w.perToken.contexts,
    };
  const work = (s: Size) => kind === "chi" ? chiWork(s, w.deltaH) : perTokenWork(s, w.deltaH);
  let s: Size = { restrictions: 2, chains: 1, batch: 1, probes: 1, contexts: kind === "chi" ? 0 : 1 };
  let t = await secondsPerStep(gpu, w, s, kind);
  log(`  ${kind}: ${JSON.stringify(s)} → ${(t * 1000).toFixed(1)} ms/step`);
  const started = performance.now();
  while (t < 0.25 && work(s) < work(full) && (performance.now() - started) / 1000 < budget) {
    const next: Size = {
      restrictions: Math.min(full.restrictions, s.restrictions * 2),
      chains: full.chains,
      batch: Math.min(full.batch, s.batch * 4),
      probes: Math.min(full.probes, s.probes * 2),
      contexts: Math.min(full.contexts, s.contexts * 4),
    };
    if (work(next) <= work(s)) break;
    try {
      t = await secondsPerStep(gpu, w, next, kind);
    } catch (err) {
      log(
        `  ${kind}: ${JSON.stringify(next)} failed (${
          (err as Error).message.slice(0, 120)
        }); keeping the last size`,
      );
      break;
    }
    s = next;
    log(`  ${kind}: ${JSON.stringify(s)} → ${(t * 1000).toFixed(1)} ms/step`);
  }
  const fullStep = t * (work(full) / work(s));
  const steps = kind === "chi" ? w.draws : w.perToken.draws;
  const units = kind === "chi" ? w.checkpoints : 1;
  return { kind, size: s, stepSeconds: t, fullStepSeconds: fullStep, totalSeconds: fullStep * steps * units };
}

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
  for (const [key, w] of Object.entries(WORKLOADS)) {
    if (only && only !== key) continue;
    console.log(
      `${w.name}: ${w.probes} probes × ${w.checkpoints} checkpoints × ${w.restrictions} restrictions × ` +
        `${w.chains} chains × ${w.draws} draws at batch ${w.batch}, T = ${w.seqLen}; per-token ${w.perToken.contexts} ` +
        `contexts per probe, ${w.perToken.draws} draws at batch ${w.perToken.batch}`,
    );
    const chi = await measure(gpu, w, "chi", budget, console.log);
    const pt = await measure(gpu, w, "per_token", budget, console.log);
    for (const e of [chi, pt]) {
      const gflops = stepFlops(w, e.size, e.kind as "chi" | "per_token") / e.stepSeconds / 1e9;
      console.log(
        `  ${e.kind}: measured ${JSON.stringify(e.size)}: ${gflops.toFixed(2)} GFLOP/s = ` +
          `${(100 * gflops / peak.gflops).toFixed(2)} % of the FMA peak`,
      );
      console.log(
        `  ${e.kind}: ${e.fullStepSeconds.toFixed(3)} s per full-size step (scaled ×${
          ((e.fullStepSeconds / e.stepSeconds) || 1).toFixed(1)
        } from the measured size) → ${formatDuration(e.totalSeconds)}`,
      );
    }
    console.log(
      `  estimated sweep time (sampling only, one adapter): ${
        formatDuration(chi.totalSeconds + pt.totalSeconds)
      }`,
    );
    report[key] = { chiSeconds: chi.totalSeconds, perTokenSeconds: pt.totalSeconds, chi, perToken: pt };
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report) + "\n");
}

await main();
