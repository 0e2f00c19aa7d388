/**
 * The work of a sweep, counted: units, SGLD steps and forward/backward FLOPs, from its shape alone (no data,
 * no adapter). `deno task sweep --plan` prints it, and lib/bench/sweep_time.ts turns it into time by the
 * measured seconds per FLOP of a few real steps.
 *
 * FLOPs are those of lib/model/flops.ts: a full forward + backward costs 3× the forward f, and the
 * restriction-aware passes do less for a copy that moves one head or nothing. What each step computes follows
 * lib/estimate/transformer_target.ts and lib/estimate/unit.ts:
 *  - chi step: every copy (restrictions × chains, + the still copy with `paired`) runs forward + backward on
 *    the B-row minibatch, and forward only on the ⌈δh·B⌉ probe rows that replace minibatch rows, for every
 *    probe;
 *  - per-token step: the same, plus a forward of every probe context (C.2's observable, at every draw);
 *  - L0 of a unit: a forward of `chains` minibatches at w*;
 *  - ablation: a forward of every probe context at w* and with each head zeroed.
 */

import type { ModelConfig } from "../model/config.ts";
import { forwardFlopsPerToken, passFlopsPerToken } from "../model/flops.ts";
import { maxReplacedRows } from "../estimate/transformer_target.ts";
import type { SgldSettings } from "../estimate/sgld_settings.ts";
import { copyMotions, FULL, type Motion, samplingRestrictions } from "../model/restriction.ts";

/** What a sweep's work depends on. */
export interface SweepShape {
  model: ModelConfig;
  checkpoints: number;
  probes: number;
  /** Restrictions sampled, "full" included; the heads among them are also ablated. */
  restrictions: readonly string[];
  deltaH: number;
  seqLen: number;
  sgld: {
    chains: number;
    draws: number;
    burnIn: number;
    batchSize: number;
    paired: boolean;
    /** SGLD steps per kept draw (thinning; 1 when absent); per-token units inherit it, as they do burnIn. */
    stepsBetweenDraws?: number;
  };
  perToken: {
    enabled: boolean;
    ablation: boolean;
    contexts: number;
    chains: number;
    draws: number;
    batchSize: number;
  };
}

/** One SGLD step's size: what a chi or per-token step computes. */
export interface StepSize {
  /** What each parameter copy advanced in the step moves (copyMotions); its length is the copies. */
  motions: readonly Motion[];
  batch: number;
  probes: number;
  /** Per-token contexts per probe (0 for a chi step). */
  contexts: number;
}

/**
 * FLOPs of one SGLD step of size `s`: forward + backward of the B-row minibatch, forward of the replacing
 * probe rows and of the per-token contexts, all with the copies' restriction-aware passes.
 */
export function stepFlops(model: ModelConfig, seqLen: number, s: StepSize, deltaH: number): number {
  const trainRows = s.batch;
  const forwardRows = s.probes * (maxReplacedRows(s.batch, deltaH) + s.contexts);
  return seqLen * (trainRows * passFlopsPerToken(model, seqLen, s.motions, { backward: true }) +
    forwardRows * passFlopsPerToken(model, seqLen, s.motions, { backward: false }));
}

export interface SweepWork {
  units: { chi: number; perToken: number; ablation: number; total: number };
  /** Sampler steps (all copies of a unit advance together in one step), burn-in included. */
  sgldSteps: { chi: number; perToken: number; total: number };
  /** The step sizes of the two sampling unit kinds. */
  chiStep: StepSize;
  perTokenStep: StepSize;
  flops: { chi: number; perToken: number; ablation: number; total: number };
  forwardFlopsPerToken: number;
}

/** The work of a sweep of shape `w` (see the module comment for what is counted). */
export function sweepWork(w: SweepShape): SweepWork {
  const T = w.seqLen;
  const f = forwardFlopsPerToken(w.model, T);
  const s = w.sgld, pt = w.perToken;
  const chiStep: StepSize = {
    motions: copyMotions(w.restrictions, s.chains, s.paired),
    batch: s.batchSize,
    probes: w.probes,
    contexts: 0,
  };
  const perTokenStep: StepSize = {
    motions: copyMotions(w.restrictions, pt.chains),
    batch: pt.batchSize,
    probes: w.probes,
    contexts: pt.contexts,
  };
  const thin = s.stepsBetweenDraws ?? 1;
  const chiUnitSteps = s.burnIn + s.draws * thin;
  const ptUnitSteps = s.burnIn + pt.draws * thin;
  const chiUnit = chiUnitSteps * stepFlops(w.model, T, chiStep, w.deltaH) + s.chains * s.batchSize * T * f;
  const ptUnit = ptUnitSteps * stepFlops(w.model, T, perTokenStep, w.deltaH) +
    pt.chains * pt.batchSize * T * f;
  const heads = w.restrictions.filter((r) => r !== FULL).length;
  const ablationUnit = w.probes * pt.contexts * T * f * (1 + heads);
  const units = {
    chi: w.checkpoints,
    perToken: pt.enabled ? 1 : 0,
    ablation: pt.enabled && pt.ablation ? 1 : 0,
    total: 0,
  };
  units.total = units.chi + units.perToken + units.ablation;
  const sgldSteps = { chi: units.chi * chiUnitSteps, perToken: units.perToken * ptUnitSteps, total: 0 };
  sgldSteps.total = sgldSteps.chi + sgldSteps.perToken;
  const flops = {
    chi: units.chi * chiUnit,
    perToken: units.perToken * ptUnit,
    ablation: units.ablation * ablationUnit,
    total: 0,
  };
  flops.total = flops.chi + flops.perToken + flops.ablation;
  return { units, sgldSteps, chiStep, perTokenStep, flops, forwardFlopsPerToken: f };
}

/** What a script's sampling run is: its settings, restrictions and probes (contexts: per-token ones per probe). */
export interface SamplingRunShape {
  sgld: Pick<SgldSettings, "chains" | "batchSize" | "burnIn" | "draws" | "stepsBetweenDraws" | "paired">;
  restrictions: readonly string[];
  probes: number;
  contexts: number;
}

/**
 * One line stating a script's sampling work before it starts: units × (burn-in + draws × thinning) steps of the
 * run's copies (every sampled restriction × chains, plus the paired still copy), and the FLOPs (stepFlops), so
 * that a paper-scale default is visible before the hours it takes.
 */
export function formatSamplingWork(
  model: ModelConfig,
  seqLen: number,
  deltaH: number,
  units: number,
  run: SamplingRunShape,
): string {
  const { sgld } = run;
  const motions = copyMotions(samplingRestrictions(run.restrictions), sgld.chains, sgld.paired);
  const copies = motions.length;
  const step: StepSize = { motions, batch: sgld.batchSize, probes: run.probes, contexts: run.contexts };
  const steps = sgld.burnIn + sgld.draws * sgld.stepsBetweenDraws;
  const flops = units * steps * stepFlops(model, seqLen, step, deltaH);
  return `work: ${units} × ${steps} SGLD steps of ${copies} copies × batch ${step.batch}, T ${seqLen}` +
    `${step.contexts ? `, ${step.probes} × ${step.contexts} contexts` : ""}: ${
      (flops / 1e12).toPrecision(3)
    } TFLOP`;
}
