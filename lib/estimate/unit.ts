/**
 * One checkpoint's unit of work for the sweep and the scripts: susceptibilities (C.1), per-token
 * susceptibilities (C.2) and per-head zero ablations (Fig. 7), returned as the columns of the results tables
 * (lib/tables/schema.ts). Every result is a deterministic function of the inputs and the seed: the minibatches
 * come from contextBatch(seed, step), the SGLD noise from Philox(seed), the probe contexts from sampleContexts.
 *
 * One SGLD run per checkpoint serves every probe and every restriction (see transformer_target.ts): the
 * restrictions are groups of copies in one batched run ("full" is always sampled, since E_full[ΔL] enters every
 * restricted estimate), and the probes are observables of that run.
 */
import type { Gpu } from "../gpu/device.ts";
import { readBuffers, upload } from "../gpu/buffers.ts";
import { encodeProgram } from "../gpu/program.ts";
import type { ModelConfig } from "../model/config.ts";
import { paramLayout, tensor } from "../model/params.ts";
import { createTransformer } from "../model/transformer.ts";
import { sampleContexts } from "../data/shard.ts";
import {
  type AblationInput,
  CHI_TERMS_TABLE,
  type ChiTermsInput,
  CONTEXTS_TABLE,
  type ContextsInput,
  type PerTokenInput,
  SUSCEPTIBILITY_TABLE,
  type SusceptibilityInput,
  TRACES_TABLE,
  type TracesInput,
} from "../tables/schema.ts";
import { emptyColumns } from "../tables/arrow_table.ts";
import {
  allRestrictions,
  copyMotions,
  FULL,
  maskWords,
  parseRestriction,
  restrictionMask,
  samplingRestrictions,
} from "../model/restriction.ts";
import { runSgld, type SgldResult } from "./sampler.ts";
import {
  PER_TOKEN_DEFAULTS,
  resolveSgld,
  SGLD_DEFAULTS,
  SgldOptionError,
  type SgldSettings,
} from "./sgld_settings.ts";
import {
  type ChainDraws,
  chainsOf,
  type ConsistencyCheck,
  consistencyCheck,
  estimateLlc,
  estimateSusceptibility,
  type LlcEstimate,
  perTokenChi,
  phiSums,
  selectChains,
  type SusceptibilityEstimate,
} from "./estimators.ts";
import { centred, type ChainDiagnostics, chainDiagnostics, RHAT_WARN } from "./diagnostics.ts";
import {
  chainLayout,
  createMixedLossObservable,
  createTokenLossObservable,
  createTransformerTarget,
  lossAtWStar,
  type ProbeStream,
  wStarBuffer,
} from "./transformer_target.ts";

export interface CheckpointUnitOptions {
  cfg: ModelConfig;
  /** w*: one parameter copy in layout order (loadCheckpoint's params). */
  params: Float32Array;
  /** Training step of the checkpoint (the tables' `step`). */
  step: number;
  /** Base token stream q. */
  base: ArrayLike<number>;
  probes: readonly ProbeStream[];
  /** Mixing fraction δh (paper: 0.1). */
  deltaH: number;
  /** "full" and/or "l:h" names; "full" is sampled in any case. */
  restrictions: readonly string[];
  /**
   * Sampler settings; unset ones keep SGLD_DEFAULTS (χ̂ and the LLC: paired) or PER_TOKEN_DEFAULTS (per-token
   * estimates), lib/estimate/sgld_settings.ts.
   */
  sgld?: Partial<SgldSettings>;
  /** Ring readback period of the sampler in steps (default 50). */
  readEvery?: number;
  /** Tokens per context T (≤ n_ctx; default n_ctx). */
  seqLen?: number;
  seed: number;
  onProgress?: (step: number, total: number, drawsPerSecond: number) => void;
}

function resolveSeqLen(cfg: ModelConfig, seqLen: number | undefined): number {
  const T = seqLen ?? cfg.n_ctx;
  if (!Number.isInteger(T) || T < 2 || T > cfg.n_ctx) {
    throw new RangeError(`seqLen must be an integer in [2, n_ctx = ${cfg.n_ctx}], got ${T}`);
  }
  return T;
}

function checkParams(cfg: ModelConfig, params: Float32Array): void {
  const P = paramLayout(cfg).stride;
  if (params.length !== P) {
    throw new RangeError(`params has ${params.length} elements, the config's layout needs ${P}`);
  }
}

/** What one batched SGLD run of a checkpoint produced, before it is turned into table rows. */
export interface SamplingRun {
  restrictions: string[];
  /** The resolved settings of the run (what manifests and unit files record). */
  sgld: SgldSettings;
  chains: number;
  result: SgldResult;
  /** Mixed-batch losses per probe, [draws, C] (absent without probes). */
  mixed: Float64Array[];
  probes: string[];
  /** Paired runs: the copy index of the still copy (all-zero mask, stays at w*); undefined otherwise. */
  still?: number;
}

/**
 * The all-zero restriction mask of the paired mode's still copy: the SGLD kernel leaves every element whose
 * mask bit is 0 untouched, so that copy stays exactly at w* while seeing every step's minibatch.
 */
export function stillMask(stride: number): Uint32Array {
  return new Uint32Array(maskWords(stride));
}

/**
 * Paired runs: the still copy's per-draw loss L_t(w*) and, for probe p, L^δh_t(w*), both on draw t's batches.
 * Used as per-draw centring of φ and ΔL: every copy sees the same batches, so subtracting these removes the
 * data noise shared by all restrictions (which otherwise makes every head's χ̂ alike) and leaves the
 * weight-fluctuation signal; see estimators.ts.
 */
function baselineOf(run: SamplingRun, p: number): { loss: Float64Array; lossDh: Float64Array } | undefined {
  const c = run.still;
  if (c === undefined) return undefined;
  const { result } = run;
  const C = result.chains, D = result.draws;
  const loss = new Float64Array(D), lossDh = new Float64Array(D);
  for (let t = 0; t < D; t++) {
    loss[t] = result.losses[c * D + t];
    lossDh[t] = run.mixed[p][t * C + c];
  }
  return { loss, lossDh };
}

/** Paired runs: the still copy's draw losses L_t(w*), [draws]; undefined otherwise. */
export function stillLosses(run: SamplingRun): Float64Array | undefined {
  const c = run.still;
  if (c === undefined) return undefined;
  const D = run.result.draws;
  return run.result.losses.slice(c * D, (c + 1) * D);
}

/** Split-R̂ and ESS of a series, NaN for both below the 4 draws they need. */
function diagnose(d: ChainDraws): ChainDiagnostics {
  if (d.draws < 4) return { rhat: NaN, ess: NaN, chains: d.chains, draws: d.draws };
  return chainDiagnostics(d);
}

/** The LLC of restriction index r in both conventions, and the diagnostics of its per-draw series. */
export interface LlcEstimates {
  /** Paired runs: centred per draw on the still copy (data noise inside the error bar); else = devinterp. */
  llc: LlcEstimate;
  /** The reference sampler's convention: one L0 averaged over as many minibatches as chains. */
  devinterp: LlcEstimate;
  /** Split-R̂ and ESS of the series whose chain means are the LLC's per-chain values. */
  diagnostics: ChainDiagnostics;
}

/** LLC (eq. 26) of restriction index r in both conventions (see estimators.ts estimateLlc). */
export function llcOf(run: SamplingRun, r: number): LlcEstimates {
  const { L0, record } = run.result;
  const losses = lossesOf(run, r);
  const devinterp = estimateLlc(losses, L0, record.nbeta);
  const still = stillLosses(run);
  const llc = still ? estimateLlc(losses, still, record.nbeta) : devinterp;
  return { llc, devinterp, diagnostics: diagnose(centred(losses, still ?? L0)) };
}

/** Draw losses of restriction index r as [chains, draws]. */
function lossesOf(run: SamplingRun, r: number): ChainDraws {
  const { result } = run;
  return selectChains(result.losses, result.draws, chainsOf(result.restrictionOf, r));
}

/** L^δh draws of probe p, restriction r, as [chains, draws]. */
function mixedOf(run: SamplingRun, p: number, r: number): ChainDraws {
  const { result } = run;
  const C = result.chains, D = result.draws;
  const cs = chainsOf(result.restrictionOf, r);
  const out = new Float64Array(cs.length * D);
  cs.forEach((c, k) => {
    for (let t = 0; t < D; t++) out[k * D + t] = run.mixed[p][t * C + c];
  });
  return { values: out, chains: cs.length, draws: D };
}

/** χ̂ (eq. 41) of probe p and restriction r with the diagnostics of its terms, and the restriction's LLC (eq. 26). */
export function estimatesOf(
  run: SamplingRun,
  p: number,
  r: number,
): { chi: SusceptibilityEstimate; chiDiagnostics: ChainDiagnostics; llc: LlcEstimate } & LlcEstimates {
  const full = run.restrictions.indexOf(FULL);
  const { L0 } = run.result;
  const chi = estimateSusceptibility({
    restrictedLoss: lossesOf(run, r),
    restrictedLossDh: mixedOf(run, p, r),
    fullLoss: lossesOf(run, full),
    fullLossDh: mixedOf(run, p, full),
    L0,
    baseline: baselineOf(run, p),
  });
  return { chi, chiDiagnostics: diagnose(chi.terms), ...llcOf(run, r) };
}

/** Traces columns of a run: every draw of every chain (probe "base": the sampling data, shared by all probes). */
export function tracesColumns(run: SamplingRun, step: number): TracesInput {
  const { result } = run;
  // The restrictions' chains only: a paired run's still copy (its own restriction index) is not a chain.
  const n = run.restrictions.length * run.chains * result.draws;
  const cols = emptyColumns(TRACES_TABLE, n);
  let i = 0;
  run.restrictions.forEach((name, r) => {
    chainsOf(result.restrictionOf, r).forEach((c, k) => {
      for (let t = 0; t < result.draws; t++, i++) {
        cols.step[i] = step;
        cols.probe[i] = "base";
        cols.restriction[i] = name;
        cols.chain[i] = k;
        cols.draw[i] = t;
        cols.loss[i] = result.losses[c * result.draws + t];
      }
    });
  });
  return cols;
}

/** One χ̂'s per-draw series (estimateSusceptibility's `influence`; undefined in unpaired runs). */
export interface ChiSeries {
  probe: string;
  restriction: string;
  influence?: ChainDraws;
}

/**
 * chi_terms.arrow columns of one checkpoint: every draw of every chain of each paired χ̂'s series (no rows for
 * an unpaired run, whose χ̂ has none), for the standard error of head differences (lib/estimate/difference.ts).
 */
export function chiTermsColumns(series: readonly ChiSeries[], step: number): ChiTermsInput {
  const n = series.reduce((s, x) => s + (x.influence?.values.length ?? 0), 0);
  const cols = emptyColumns(CHI_TERMS_TABLE, n);
  let i = 0;
  for (const { probe, restriction, influence } of series) {
    if (!influence) continue;
    const { chains, draws, values } = influence;
    for (let k = 0; k < chains; k++) {
      for (let t = 0; t < draws; t++, i++) {
        cols.step[i] = step;
        cols.probe[i] = probe;
        cols.restriction[i] = restriction;
        cols.chain[i] = k;
        cols.draw[i] = t;
        cols.term[i] = values[k * draws + t];
      }
    }
  }
  return cols;
}

interface SamplingSetup {
  cfg: ModelConfig;
  params: Float32Array;
  base: ArrayLike<number>;
  probes: readonly ProbeStream[];
  deltaH: number;
  restrictions: string[];
  sgld: SgldSettings;
  readEvery?: number;
  seqLen: number;
  seed: number;
  perTokenContexts?: Int32Array;
  onProgress?: (step: number, total: number, drawsPerSecond: number) => void;
}

/**
 * One batched SGLD run over all restrictions with the mixed-loss observable (when probes are given) and the
 * per-token observable (when contexts are given); returns the run and the per-token sums.
 */
async function sample(gpu: Gpu, s: SamplingSetup) {
  const { cfg, sgld, seqLen: T, seed } = s;
  checkParams(cfg, s.params);
  const layout = paramLayout(cfg);
  const masks = s.restrictions.map((name) => restrictionMask(layout, name));
  const lay = chainLayout(s.restrictions.length, sgld.chains);
  if (sgld.paired && s.perTokenContexts) {
    throw new SgldOptionError(
      "paired",
      "is implemented for the susceptibilities, not the per-token estimates",
    );
  }
  // Paired: one more copy after the chains, of its own restriction (index R) with the all-zero mask.
  const still = sgld.paired ? lay.copies : undefined;
  const copies = lay.copies + (sgld.paired ? 1 : 0);
  const restrictionOf = sgld.paired
    ? Uint32Array.from([...lay.restrictionOf, s.restrictions.length])
    : lay.restrictionOf;
  if (sgld.paired) masks.push(stillMask(layout.stride));
  // The passes compute only what each copy's mask moves (the still copy: its loss alone).
  const motion = copyMotions(s.restrictions, sgld.chains, sgld.paired);
  const target = await createTransformerTarget(gpu, {
    cfg,
    copies,
    batch: sgld.batchSize,
    seqLen: T,
    base: s.base,
    seed,
    motion,
  });
  const mixed = s.probes.length > 0
    ? await createMixedLossObservable(gpu, target, { probes: s.probes, deltaH: s.deltaH })
    : undefined;
  const perToken = s.perTokenContexts
    ? await createTokenLossObservable(gpu, target, s.perTokenContexts)
    : undefined;
  const wStar = wStarBuffer(gpu, s.params);
  try {
    const L0 = await lossAtWStar(gpu, cfg, s.params, {
      base: s.base,
      batch: sgld.batchSize,
      seqLen: T,
      seed,
      batches: sgld.chains,
    });
    const observables = [...(mixed ? [mixed] : []), ...(perToken ? [perToken] : [])];
    const result = await runSgld(target, wStar, {
      ...sgld,
      seed,
      masks,
      restrictionOf,
      L0,
      readEvery: s.readEvery,
      onProgress: s.onProgress,
    }, observables);
    const C = copies, D = result.draws;
    const mixedDraws: Float64Array[] = [];
    if (mixed) {
      const o = result.observables[0];
      s.probes.forEach((_, p) => {
        const m = new Float64Array(D * C);
        for (let t = 0; t < D; t++) for (let c = 0; c < C; c++) m[t * C + c] = o[t * mixed.width + p * C + c];
        mixedDraws.push(m);
      });
    }
    const run: SamplingRun = {
      restrictions: s.restrictions,
      sgld,
      chains: sgld.chains,
      result,
      mixed: mixedDraws,
      probes: s.probes.map((p) => p.name),
      still,
    };
    const sums = perToken
      ? await perToken.acc.read(phiSums({ values: result.losses, chains: C, draws: D }, result.L0))
      : undefined;
    return { run, sums };
  } finally {
    wStar.destroy();
    perToken?.destroy();
    mixed?.destroy();
    target.destroy();
  }
}

export interface CheckpointUnitResult {
  susceptibility: SusceptibilityInput;
  traces: TracesInput;
  /** The per-draw series of every paired χ̂ (no rows when unpaired). */
  chiTerms: ChiTermsInput;
  run: SamplingRun;
}

/** χ̂ and LLC for every probe × requested restriction of one checkpoint, from one batched SGLD run. */
export async function runCheckpointSusceptibilities(
  gpu: Gpu,
  o: CheckpointUnitOptions,
): Promise<CheckpointUnitResult> {
  if (o.probes.length === 0) throw new RangeError("runCheckpointSusceptibilities: no probes given");
  const restrictions = samplingRestrictions(o.restrictions);
  const sgld = resolveSgld(o.sgld, SGLD_DEFAULTS);
  const { run } = await sample(gpu, {
    ...o,
    restrictions,
    sgld,
    seqLen: resolveSeqLen(o.cfg, o.seqLen),
  });
  const rows = o.probes.length * o.restrictions.length;
  const cols = emptyColumns(SUSCEPTIBILITY_TABLE, rows);
  const series: ChiSeries[] = [];
  let i = 0;
  o.probes.forEach((probe, p) => {
    o.restrictions.forEach((name) => {
      const { chi, chiDiagnostics, llc, devinterp, diagnostics } = estimatesOf(
        run,
        p,
        restrictions.indexOf(name),
      );
      series.push({ probe: probe.name, restriction: name, influence: chi.influence });
      const lh = parseRestriction(name)!;
      cols.step[i] = o.step;
      cols.probe[i] = probe.name;
      cols.restriction[i] = name;
      cols.layer[i] = lh.layer;
      cols.head[i] = lh.head;
      cols.chi[i] = chi.mean;
      cols.chi_se[i] = chi.se;
      cols.llc[i] = llc.mean;
      cols.llc_se[i] = llc.se;
      cols.llc_devinterp[i] = devinterp.mean;
      cols.llc_devinterp_se[i] = devinterp.se;
      cols.chi_rhat[i] = chiDiagnostics.rhat;
      cols.chi_ess[i] = chiDiagnostics.ess;
      cols.llc_rhat[i] = diagnostics.rhat;
      cols.llc_ess[i] = diagnostics.ess;
      cols.delta_h[i] = o.deltaH;
      cols.nbeta[i] = run.result.record.nbeta;
      cols.n_chains[i] = chi.n;
      cols.n_draws[i] = run.result.draws;
      i++;
    });
  });
  return {
    susceptibility: cols,
    traces: tracesColumns(run, o.step),
    chiTerms: chiTermsColumns(series, o.step),
    run,
  };
}

export interface ProbeContexts {
  name: string;
  /** [count, seqLen] row-major token ids. */
  contexts: Int32Array;
}

/** The fixed per-token contexts of a probe: `count` contexts of seqLen tokens drawn with `seed` (sampleContexts). */
export function probeContexts(
  tokens: ArrayLike<number>,
  seqLen: number,
  count: number,
  seed: number,
): Int32Array {
  return sampleContexts(tokens, seqLen, count, seed);
}

export interface PerTokenUnitOptions extends Omit<CheckpointUnitOptions, "probes"> {
  /** Each probe's token stream (for the mixed batch of the consistency check) and its fixed contexts. */
  probes: readonly (ProbeStream & { contexts: Int32Array })[];
  /** Decodes one token id to its text piece (contexts.arrow `text`). */
  decode: (id: number) => string;
}

export interface PerTokenUnitResult {
  perToken: PerTokenInput;
  contexts: ContextsInput;
  /** Eq. (45) per probe × requested restriction: δh·mean_i χ̂_i against the run's own χ̂. */
  consistency: (ConsistencyCheck & { probe: string; restriction: string; chiSe: number })[];
  /** Standard error over chains of every per_token row. */
  chiSe: Float64Array;
  run: SamplingRun;
}

/**
 * Per-token susceptibilities (C.2) of every token of every probe's contexts for every requested restriction,
 * plus χ̂ from the same run for the eq. (45) consistency check. Defaults: PER_TOKEN_DEFAULTS (100 draws, batch 16).
 */
export async function runPerTokenSusceptibilities(
  gpu: Gpu,
  o: PerTokenUnitOptions,
): Promise<PerTokenUnitResult> {
  if (o.probes.length === 0) throw new RangeError("runPerTokenSusceptibilities: no probes given");
  const T = resolveSeqLen(o.cfg, o.seqLen);
  const restrictions = samplingRestrictions(o.restrictions);
  const sgld = resolveSgld(o.sgld, PER_TOKEN_DEFAULTS);
  const counts = o.probes.map((p) => {
    if (p.contexts.length === 0 || p.contexts.length % T !== 0) {
      throw new RangeError(
        `probe "${p.name}": contexts hold ${p.contexts.length} tokens, not a multiple of ${T}`,
      );
    }
    return p.contexts.length / T;
  });
  const all = new Int32Array(counts.reduce((a, b) => a + b, 0) * T);
  let at = 0;
  for (const p of o.probes) {
    all.set(p.contexts, at);
    at += p.contexts.length;
  }
  const { run, sums } = await sample(gpu, { ...o, restrictions, sgld, seqLen: T, perTokenContexts: all });
  const full = chainsOf(run.result.restrictionOf, restrictions.indexOf(FULL));

  const predictions = T - 1;
  const rows = o.restrictions.length * all.length / T * predictions;
  const perToken = {
    probe: new Array<string>(rows),
    step: new Int32Array(rows),
    restriction: new Array<string>(rows),
    context: new Int32Array(rows),
    position: new Int32Array(rows),
    chi: new Float64Array(rows),
  };
  const chiSe = new Float64Array(rows);
  const consistency: PerTokenUnitResult["consistency"] = [];
  let i = 0;
  o.restrictions.forEach((name) => {
    const r = restrictions.indexOf(name);
    const est = perTokenChi(sums!, chainsOf(run.result.restrictionOf, r), full);
    let ctx0 = 0;
    o.probes.forEach((probe, p) => {
      const probeChi: number[] = [];
      for (let n = 0; n < counts[p]; n++) {
        for (let t = 0; t < predictions; t++, i++) {
          // ℓ at position t predicts token t + 1: the table's position is the predicted token's.
          const j = (ctx0 + n) * T + t;
          perToken.probe[i] = probe.name;
          perToken.step[i] = o.step;
          perToken.restriction[i] = name;
          perToken.context[i] = n;
          perToken.position[i] = t + 1;
          perToken.chi[i] = est.chi[j];
          chiSe[i] = est.se[j];
          probeChi.push(est.chi[j]);
        }
      }
      ctx0 += counts[p];
      const { chi } = estimatesOf(run, p, r);
      consistency.push({
        ...consistencyCheck(probeChi, o.deltaH, chi.mean),
        probe: probe.name,
        restriction: name,
        chiSe: chi.se,
      });
    });
  });
  return { perToken, contexts: contextsColumns(o.probes, T, o.decode), consistency, chiSe, run };
}

/** contexts.arrow columns: every token of every probe context with its decoded piece. */
export function contextsColumns(
  probes: readonly ProbeContexts[],
  seqLen: number,
  decode: (id: number) => string,
): ContextsInput {
  const n = probes.reduce((a, p) => a + p.contexts.length, 0);
  const cols = emptyColumns(CONTEXTS_TABLE, n);
  let i = 0;
  for (const p of probes) {
    for (let j = 0; j < p.contexts.length; j++, i++) {
      cols.probe[i] = p.name;
      cols.context[i] = Math.floor(j / seqLen);
      cols.position[i] = j % seqLen;
      cols.token[i] = p.contexts[j];
      cols.text[i] = decode(p.contexts[j]);
    }
  }
  return cols;
}

/** ablation.arrow columns (concrete array types of AblationInput). */
export interface AblationOutput extends AblationInput {
  probe: string[];
  step: Int32Array;
  restriction: string[];
  context: Int32Array;
  position: Int32Array;
  delta_loss: Float64Array;
}

export interface AblationOptions {
  cfg: ModelConfig;
  params: Float32Array;
  step: number;
  probes: readonly ProbeContexts[];
  /** Heads "l:h" to ablate (default: every head). */
  heads?: readonly string[];
  seqLen?: number;
  /** Contexts per forward pass (default 16). */
  batch?: number;
}

/**
 * The parameters with head (l, h) zero-ablated: its W_O slice [h] set to 0, so the head adds nothing to the
 * residual stream (b_O, shared by the layer's heads, is kept). Returns a copy.
 */
export function ablateHead(
  cfg: ModelConfig,
  params: Float32Array,
  layer: number,
  head: number,
): Float32Array {
  const layout = paramLayout(cfg);
  if (!(layer >= 0 && layer < cfg.n_layers && head >= 0 && head < cfg.n_heads)) {
    throw new RangeError(
      `head ${layer}:${head} is not in this model (${cfg.n_layers} layers × ${cfg.n_heads} heads)`,
    );
  }
  const wo = tensor(layout, `blocks.${layer}.attn.W_O`);
  const span = cfg.d_head * cfg.d_model;
  const out = Float32Array.from(params);
  out.fill(0, wo.offset + head * span, wo.offset + (head + 1) * span);
  return out;
}

/**
 * Per-token zero-ablation deltas (ablated loss − unablated loss) of every head on every probe context, one
 * forward pass per chunk of contexts over 1 + heads parameter copies (copy 0 unablated).
 */
export async function runAblation(gpu: Gpu, o: AblationOptions): Promise<{ ablation: AblationOutput }> {
  checkParams(o.cfg, o.params);
  const T = resolveSeqLen(o.cfg, o.seqLen);
  const heads = o.heads ?? allRestrictions(o.cfg).slice(1);
  const parsed = heads.map((h) => {
    const lh = parseRestriction(h);
    if (!lh || lh.layer < 0) throw new RangeError(`ablation head "${h}" is not "layer:head"`);
    return lh;
  });
  const A = 1 + heads.length;
  const P = o.params.length;
  const copies = new Float32Array(A * P);
  copies.set(o.params, 0);
  parsed.forEach((lh, i) => copies.set(ablateHead(o.cfg, o.params, lh.layer, lh.head), (1 + i) * P));
  const chunk = o.batch ?? 16;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`batch must be a positive integer, got ${chunk}`);
  }
  const model = await createTransformer(gpu, o.cfg, {
    copies: A,
    batch: chunk,
    seqLen: T,
    sharedTokens: true,
  }, {
    withGrads: false,
  });
  const out = {
    probe: [] as string[],
    step: [] as number[],
    restriction: [] as string[],
    context: [] as number[],
    position: [] as number[],
    delta_loss: [] as number[],
  };
  try {
    upload(gpu, model.params, copies);
    for (const probe of o.probes) {
      if (probe.contexts.length % T !== 0) {
        throw new RangeError(
          `probe "${probe.name}": contexts hold ${probe.contexts.length} tokens, not a multiple of ${T}`,
        );
      }
      const N = probe.contexts.length / T;
      const losses = new Float32Array(A * N * T);
      for (let n0 = 0; n0 < N; n0 += chunk) {
        const n = Math.min(chunk, N - n0);
        const tokens = new Int32Array(chunk * T);
        tokens.set(probe.contexts.subarray(n0 * T, (n0 + n) * T));
        model.setTokens(tokens, `probe "${probe.name}" contexts ${n0}…${n0 + n - 1}`);
        const enc = gpu.device.createCommandEncoder({ label: "ablation" });
        encodeProgram(enc, model.forward, "ablation.forward");
        gpu.device.queue.submit([enc.finish()]);
        const [buf] = await readBuffers(gpu, [{ buffer: model.tokenLosses }]);
        const l = new Float32Array(buf);
        for (let a = 0; a < A; a++) {
          losses.set(l.subarray(a * chunk * T, (a * chunk + n) * T), (a * N + n0) * T);
        }
      }
      heads.forEach((name, i) => {
        for (let n = 0; n < N; n++) {
          for (let t = 0; t < T - 1; t++) {
            out.probe.push(probe.name);
            out.step.push(o.step);
            out.restriction.push(name);
            out.context.push(n);
            out.position.push(t + 1);
            out.delta_loss.push(losses[((1 + i) * N + n) * T + t] - losses[n * T + t]);
          }
        }
      });
    }
  } finally {
    model.destroy();
  }
  return {
    ablation: {
      probe: out.probe,
      step: Int32Array.from(out.step),
      restriction: out.restriction,
      context: Int32Array.from(out.context),
      position: Int32Array.from(out.position),
      delta_loss: Float64Array.from(out.delta_loss),
    },
  };
}

export interface LlcRow {
  restriction: string;
  /** Mean over chains of λ̂ (eq. 26; paired runs: centred per draw on the still copy), its SE, per-chain values. */
  llc: number;
  llcSe: number;
  perChain: number[];
  /** The reference sampler's convention (one L0 over as many batches as chains), for comparison. */
  llcDevinterp: number;
  llcDevinterpSe: number;
  /** Split-R̂ and ESS of the draw series (lib/estimate/diagnostics.ts). */
  rhat: number;
  ess: number;
}

/**
 * One line per restriction: the LLC ± SE, the reference sampler's convention beside it when it differs (paired
 * runs), split-R̂ and ESS, and a warning when R̂ > 1.1 or the LLC is negative.
 */
export function formatLlcRow(r: LlcRow): string {
  const devinterp = r.llcDevinterp === r.llc && r.llcDevinterpSe === r.llcSe
    ? ""
    : ` (devinterp L0: ${r.llcDevinterp.toFixed(3)} ± ${r.llcDevinterpSe.toFixed(3)})`;
  const flags = [
    ...(r.rhat > RHAT_WARN ? [`R̂ > ${RHAT_WARN}: chains not mixed`] : []),
    ...(r.llc < 0 ? ["negative LLC"] : []),
  ];
  return `${r.restriction}: LLC ${r.llc.toFixed(3)} ± ${r.llcSe.toFixed(3)}${devinterp}, R̂ ${
    r.rhat.toFixed(3)
  }, ESS ${r.ess.toFixed(0)}${flags.length ? `  ⚠ ${flags.join("; ")}` : ""}`;
}

/** LLC (eq. 26, weight-refined for a head) of every requested restriction from one batched SGLD run. */
export async function runCheckpointLlc(
  gpu: Gpu,
  o: Omit<CheckpointUnitOptions, "probes" | "deltaH">,
): Promise<{ llc: LlcRow[]; traces: TracesInput; run: SamplingRun }> {
  const restrictions = samplingRestrictions(o.restrictions).filter((r) => o.restrictions.includes(r));
  const sgld = resolveSgld(o.sgld, SGLD_DEFAULTS);
  const { run } = await sample(gpu, {
    ...o,
    probes: [],
    deltaH: 0,
    restrictions,
    sgld,
    seqLen: resolveSeqLen(o.cfg, o.seqLen),
  });
  const llc = restrictions.map((name, r) => {
    const { llc: e, devinterp, diagnostics } = llcOf(run, r);
    return {
      restriction: name,
      llc: e.mean,
      llcSe: e.se,
      perChain: [...e.perChain],
      llcDevinterp: devinterp.mean,
      llcDevinterpSe: devinterp.se,
      rhat: diagnostics.rhat,
      ess: diagnostics.ess,
    };
  });
  return { llc, traces: tracesColumns(run, o.step), run };
}
