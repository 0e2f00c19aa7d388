/**
 * The FLOP count and scaling arithmetic of the SGLD benchmarks (scripts/bench_sgld.ts): one SGLD step of a
 * chi unit is, for every copy, a forward and backward pass over the minibatch (backward = 2× forward) plus a
 * forward over each probe's replacing rows (the mixed-batch L^δh observable); a per-token step adds a forward
 * over every probe context. FLOPs are 2·(multiply-adds) of the matmuls and attention products
 * (lib/sweep/work.ts: forwardFlopsPerToken, stepFlops); LayerNorm, softmax and the SGLD update itself are not counted (they are O(D) per
 * token, not O(D²)), so "achieved FLOP/s" is the useful work rate, as in llm.c's and PyTorch's MFU figures.
 */
import type { ModelConfig } from "../model/config.ts";
import { PAPER_CONFIG } from "../model/config.ts";
import { PAPER_WORKLOAD } from "../sweep/config.ts";
import { stepFlops } from "../sweep/work.ts";
import { allRestrictions, copyMotions, FULL } from "../model/restriction.ts";
import { maxReplacedRows } from "../estimate/transformer_target.ts";

/** One benchmarked SGLD shape. */
export interface SgldShape {
  cfg: ModelConfig;
  seqLen: number;
  /** Restrictions (incl. "full") and chains per restriction: copies = restrictions · chains. */
  restrictions: number;
  chains: number;
  /** Minibatch sequences of the χ run. */
  batch: number;
  probes: number;
  deltaH: number;
  /** Per-token run: contexts per probe and its minibatch. */
  contexts: number;
  perTokenBatch: number;
}

export const copiesOf = (s: SgldShape): number => s.restrictions * s.chains;

/** The restrictions a benchmark of `s.restrictions` samples: "full", then the first heads in (layer, head) order. */
export function benchRestrictions(s: SgldShape): string[] {
  return [FULL, ...allRestrictions(s.cfg).slice(1, s.restrictions)];
}

/**
 * FLOPs of one SGLD step of the χ unit (every copy: minibatch fwd+bwd, probes' replacing rows fwd); with
 * `fullPasses`, as if every copy ran the whole pass (the count before restriction-aware passes).
 */
export function sgldStepFlops(s: SgldShape, o: { fullPasses?: boolean } = {}): number {
  const step = { motions: motionsOf(s, o), batch: s.batch, probes: s.probes, contexts: 0 };
  return stepFlops(s.cfg, s.seqLen, step, s.deltaH);
}

/** FLOPs of one step of the per-token unit: its own minibatch step plus a forward of every probe context. */
export function perTokenStepFlops(s: SgldShape, o: { fullPasses?: boolean } = {}): number {
  const step = { motions: motionsOf(s, o), batch: s.perTokenBatch, probes: s.probes, contexts: s.contexts };
  return stepFlops(s.cfg, s.seqLen, step, s.deltaH);
}

function motionsOf(s: SgldShape, o: { fullPasses?: boolean }) {
  const motions = copyMotions(benchRestrictions(s), s.chains);
  return o.fullPasses ? motions.map(() => ({ kind: "all" }) as const) : motions;
}

/** The paper's shape (appendix C): 17 restrictions × 4 chains, batch 64, T = 1024; per-token 160 × 1023, batch 16. */
export function paperShape(): SgldShape {
  return {
    cfg: PAPER_CONFIG,
    seqLen: PAPER_WORKLOAD.perTokenTokens + 1,
    restrictions: PAPER_WORKLOAD.restrictions,
    chains: PAPER_WORKLOAD.chains,
    batch: PAPER_WORKLOAD.batchSize,
    probes: PAPER_WORKLOAD.probes,
    deltaH: 0.1,
    contexts: PAPER_WORKLOAD.perTokenContexts,
    perTokenBatch: PAPER_WORKLOAD.perTokenBatch,
  };
}

/**
 * Seconds of the paper's whole sampling workload from measured step rates at the paper shape: the χ unit's
 * steps (draws) at every checkpoint, plus the per-token unit's (one checkpoint). A step measured at fewer
 * copies or sequences is scaled up by FLOPs (work is linear in copies and sequences at fixed T); on a GPU a
 * small measured size underuses the device, so the scaled figure is an upper bound there.
 */
export function paperWorkloadSeconds(chiStepSeconds: number, perTokenStepSeconds: number): number {
  return chiStepSeconds * PAPER_WORKLOAD.draws * PAPER_WORKLOAD.checkpoints +
    perTokenStepSeconds * PAPER_WORKLOAD.perTokenDraws;
}

/** One row of bench/torch_reference.py's JSON output. */
export interface TorchRow {
  name: string;
  copy_steps_per_s: number;
}

/** bench/torch_reference.py's JSON: the shape it ran and its rows. */
export interface TorchReport {
  device: string;
  torch: string;
  threads: number;
  shape: {
    config: string;
    seq_len: number;
    copies: number;
    batch: number;
    probes: number;
    replaced_rows: number;
  };
  rows: TorchRow[];
}

/** Why a torch report does not describe the same work as `s` (undefined when it does). */
export function torchShapeMismatch(r: TorchReport, s: SgldShape, config: string): string | undefined {
  const want = {
    config,
    seq_len: s.seqLen,
    copies: copiesOf(s),
    batch: s.batch,
    probes: s.probes,
    replaced_rows: maxReplacedRows(s.batch, s.deltaH),
  };
  const bad = (Object.keys(want) as Array<keyof typeof want>).filter((k) => r.shape[k] !== want[k]);
  return bad.length === 0
    ? undefined
    : bad.map((k) => `${k}: torch ${r.shape[k]}, chi ${want[k]}`).join("; ");
}
