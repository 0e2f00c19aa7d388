/**
 * The work of a sweep, counted: units, SGLD steps and forward/backward FLOPs, from its shape alone (no data,
 * no adapter). `deno task sweep --plan` prints it, and lib/bench/sweep_time.ts turns it into time by the
 * measured seconds per FLOP of a few real steps.
 *
 * FLOPs are 2·(multiply-adds) of the matmuls and attention products (forwardFlopsPerToken); a backward pass
 * counts twice a forward, so a token through forward + backward costs 3·f. What each step computes follows
 * lib/estimate/transformer_target.ts and lib/estimate/unit.ts:
 *  - chi step: every copy (restrictions × chains, + 1 with `paired`) runs forward + backward on the B-row
 *    minibatch, and forward only on the ⌈δh·B⌉ probe rows that replace minibatch rows, for every probe;
 *  - per-token step: the same, plus a forward of every probe context (C.2's observable, at every draw);
 *  - L0 of a unit: a forward of `chains` minibatches at w*;
 *  - ablation: a forward of every probe context at w* and with each head zeroed.
 */

import type { ModelConfig } from "../model/config.ts";
import { maxReplacedRows } from "../estimate/transformer_target.ts";
import type { SgldSettings } from "../estimate/sgld_settings.ts";
import { samplingRestrictions } from "../model/restriction.ts";

/** Forward FLOPs per token of the attention-only model at context length T (causal: half the T² products). */
export function forwardFlopsPerToken(cfg: ModelConfig, T: number): number {
  const { d_model: D, n_heads: H, d_head: E, d_vocab: V, n_layers: L } = cfg;
  return L * (2 * 4 * D * H * E + 2 * 2 * (T / 2) * H * E) + 2 * D * V;
}

/** What a sweep's work depends on. */
export interface SweepShape {
  model: ModelConfig;
  checkpoints: number;
  probes: number;
  /** Restrictions sampled, "full" included (every head + full = n_layers·n_heads + 1). */
  restrictions: number;
  /** Head restrictions among them (ablations zero each). */
  heads: number;
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
  /** Parameter copies advanced together. */
  copies: number;
  batch: number;
  probes: number;
  /** Per-token contexts per probe (0 for a chi step). */
  contexts: number;
}

/** Sequences-equivalent of forward passes in one step: 3·B (fwd + bwd) + replaced probe rows + contexts. */
export function stepForwardSequences(s: StepSize, deltaH: number): number {
  return s.copies * (3 * s.batch + s.probes * maxReplacedRows(s.batch, deltaH) + s.probes * s.contexts);
}

/** FLOPs of one SGLD step of size `s`. */
export function stepFlops(model: ModelConfig, seqLen: number, s: StepSize, deltaH: number): number {
  return stepForwardSequences(s, deltaH) * seqLen * forwardFlopsPerToken(model, seqLen);
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
    copies: w.restrictions * s.chains + (s.paired ? 1 : 0),
    batch: s.batchSize,
    probes: w.probes,
    contexts: 0,
  };
  const perTokenStep: StepSize = {
    copies: w.restrictions * pt.chains,
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
  const ablationUnit = w.probes * pt.contexts * T * f * (1 + w.heads);
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
  const copies = samplingRestrictions(run.restrictions).length * sgld.chains + (sgld.paired ? 1 : 0);
  const step: StepSize = { copies, batch: sgld.batchSize, probes: run.probes, contexts: run.contexts };
  const steps = sgld.burnIn + sgld.draws * sgld.stepsBetweenDraws;
  const flops = units * steps * stepFlops(model, seqLen, step, deltaH);
  return `work: ${units} × ${steps} SGLD steps of ${copies} copies × batch ${step.batch}, T ${seqLen}` +
    `${step.contexts ? `, ${step.probes} × ${step.contexts} contexts` : ""}: ${
      (flops / 1e12).toPrecision(3)
    } TFLOP`;
}
