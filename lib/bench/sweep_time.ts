/**
 * Estimated wall time of a sweep on the current adapter, from a measured throughput: a few SGLD steps of the
 * real unit computations (lib/estimate/unit.ts) are timed at the sweep's model and context length but with
 * fewer copies, a smaller batch and fewer probes; the per-step time is the difference of two draw counts (so
 * setup and pipeline compilation drop out), and the sweep's time is its FLOPs (lib/sweep/work.ts) divided by the
 * FLOP rate of the largest size measured. The size is grown (×2 copies, ×4 batch, ×2 probes) until a step takes
 * a quarter second or the budget is spent: a GPU needs large steps to fill it, and on a CPU the smallest steps
 * are too short to time reliably (one of a few milliseconds measured a rate 15× the real one on this
 * project's 2-core llvmpipe machine). Small sizes underuse an adapter, so the estimate is an upper bound.
 *
 * Used by scripts/bench_sweep.ts (the default and the paper workloads) and `deno task sweep --plan`.
 * Weights are a random initialization and tokens uniform random ids: speed does not depend on their values.
 */
import type { Gpu } from "../gpu/device.ts";
import type { ModelConfig } from "../model/config.ts";
import { copyMotions, FULL, headName } from "../model/restriction.ts";
import { benchUnitOptions } from "./unit_inputs.ts";
import { runCheckpointSusceptibilities, runPerTokenSusceptibilities } from "../estimate/unit.ts";
import { stepFlops, type StepSize, type SweepShape, sweepWork } from "../sweep/work.ts";

export type SampledKind = "chi" | "per_token";

/** A measured size: sampled restrictions ("full" included) × chains copies, batch, probes, contexts. */
export interface MeasuredSize {
  restrictions: number;
  chains: number;
  batch: number;
  probes: number;
  contexts: number;
}

/** Head names enough for any measured size (the measurement never needs more than 8 + "full"). */
function headNames(cfg: ModelConfig, n: number): string[] {
  const out: string[] = [];
  for (let h = 0; h < cfg.n_heads && out.length < n; h++) {
    for (let l = 0; l < cfg.n_layers && out.length < n; l++) out.push(headName(l, h));
  }
  return out;
}

/** Seconds per SGLD step of one unit kind at size `s`: (t(6 draws) − t(2 draws)) / 4, after a warm-up. */
export async function secondsPerStep(
  gpu: Gpu,
  cfg: ModelConfig,
  T: number,
  deltaH: number,
  s: MeasuredSize,
  kind: SampledKind,
): Promise<number> {
  const inputs = benchUnitOptions(cfg, {
    seqLen: T,
    batch: 64,
    probes: s.probes,
    contexts: s.contexts,
    deltaH,
    restrictions: headNames(cfg, s.restrictions - 1),
  });
  const time = async (draws: number) => {
    const t0 = performance.now();
    const common = {
      ...inputs,
      // Unpaired, so the copies are exactly the measured size's (asStep); the sweep's FLOPs count the still copy.
      sgld: { chains: s.chains, draws, batchSize: s.batch, paired: false },
      readEvery: 1000,
    };
    if (kind === "chi") await runCheckpointSusceptibilities(gpu, common);
    else await runPerTokenSusceptibilities(gpu, { ...common, decode: (id) => String(id) });
    return (performance.now() - t0) / 1000;
  };
  await time(2); // compiles the pipelines of this size
  const a = await time(2);
  const b = await time(6);
  return Math.max(b - a, 1e-6) / 4;
}

export interface KindEstimate {
  kind: SampledKind;
  /** The largest size measured, and its seconds per step. */
  size: MeasuredSize;
  stepSeconds: number;
  /** FLOP/s measured at that size. */
  flopsPerSecond: number;
  /** The sweep's FLOPs of this kind divided by the measured rate. */
  seconds: number;
}

export interface SweepTimeEstimate {
  chi: KindEstimate;
  perToken: KindEstimate | null;
  /** Ablations (forward passes only), at the chi steps' measured FLOP rate. */
  ablationSeconds: number;
  totalSeconds: number;
  /** One line saying how the estimate was made. */
  method: string;
}

/** The step a measured size runs: its heads (headNames) and "full", × chains. */
function asStep(cfg: ModelConfig, s: MeasuredSize): StepSize {
  const motions = copyMotions([...headNames(cfg, s.restrictions - 1), FULL], s.chains);
  return { motions, batch: s.batch, probes: s.probes, contexts: s.contexts };
}

async function measureKind(
  gpu: Gpu,
  shape: SweepShape,
  kind: SampledKind,
  budgetSeconds: number,
  log: (line: string) => void,
): Promise<KindEstimate> {
  const { model: cfg, seqLen: T, deltaH } = shape;
  const full: MeasuredSize = kind === "chi"
    ? {
      restrictions: shape.restrictions.length,
      chains: shape.sgld.chains,
      batch: shape.sgld.batchSize,
      probes: shape.probes,
      contexts: 0,
    }
    : {
      restrictions: shape.restrictions.length,
      chains: shape.perToken.chains,
      batch: shape.perToken.batchSize,
      probes: shape.probes,
      contexts: shape.perToken.contexts,
    };
  const flops = (s: MeasuredSize) => stepFlops(cfg, T, asStep(cfg, s), deltaH);
  let s: MeasuredSize = {
    restrictions: Math.min(2, full.restrictions),
    chains: Math.min(2, full.chains),
    batch: 1,
    probes: 1,
    contexts: kind === "chi" ? 0 : 1,
  };
  let t = await secondsPerStep(gpu, cfg, T, deltaH, s, kind);
  log(`  ${kind}: measured ${JSON.stringify(s)} → ${(t * 1000).toFixed(1)} ms/step`);
  const started = performance.now();
  while (t < 0.25 && flops(s) < flops(full) && (performance.now() - started) / 1000 < budgetSeconds) {
    const next: MeasuredSize = {
      restrictions: Math.min(full.restrictions, s.restrictions * 2),
      chains: full.chains,
      batch: Math.min(full.batch, s.batch * 4),
      probes: Math.min(full.probes, s.probes * 2),
      contexts: Math.min(full.contexts, s.contexts * 4),
    };
    if (flops(next) <= flops(s)) break;
    try {
      t = await secondsPerStep(gpu, cfg, T, deltaH, next, kind);
    } catch (err) {
      log(
        `  ${kind}: ${JSON.stringify(next)} failed (${
          (err as Error).message.slice(0, 120)
        }); keeping the last`,
      );
      break;
    }
    s = next;
    log(`  ${kind}: measured ${JSON.stringify(s)} → ${(t * 1000).toFixed(1)} ms/step`);
  }
  const rate = flops(s) / t;
  const work = sweepWork(shape);
  return {
    kind,
    size: s,
    stepSeconds: t,
    flopsPerSecond: rate,
    seconds: (kind === "chi" ? work.flops.chi : work.flops.perToken) / rate,
  };
}

/** Measures and estimates (see the module comment); `budgetSeconds` bounds the growing of each kind's size. */
export async function estimateSweepTime(
  gpu: Gpu,
  shape: SweepShape,
  opts: { budgetSeconds?: number; log?: (line: string) => void } = {},
): Promise<SweepTimeEstimate> {
  const log = opts.log ?? (() => {});
  const budget = opts.budgetSeconds ?? 60;
  const chi = await measureKind(gpu, shape, "chi", budget, log);
  const perToken = shape.perToken.enabled ? await measureKind(gpu, shape, "per_token", budget, log) : null;
  const work = sweepWork(shape);
  const ablationSeconds = work.flops.ablation / chi.flopsPerSecond;
  return {
    chi,
    perToken,
    ablationSeconds,
    totalSeconds: chi.seconds + (perToken?.seconds ?? 0) + ablationSeconds,
    method: `timed SGLD steps of the real unit code at this model and T = ${shape.seqLen} on reduced sizes ` +
      `(chi ${JSON.stringify(chi.size)}${perToken ? `, per-token ${JSON.stringify(perToken.size)}` : ""}), ` +
      `scaled by FLOPs at the largest size's rate; sampling only (no training, loading or report), one adapter`,
  };
}
