/**
 * A synthetic results folder: every table of lib/tables/schema.ts filled with plausible, seeded values, so
 * the report can be demonstrated (`scripts/report.ts --demo`), tested and timed without a model or a GPU.
 *
 * The values have the structure the paper's figures look for, planted on purpose:
 * - χ_j^d(t) = Σ_m a_dm · f_m(t) · b_jm + noise with three modes (section 3.3 should recover them): m = 1 a
 *   uniform mode over all heads, m = 2 loading +1 on 0:1 and −1 on the layer-1 "multigram" heads, m = 3
 *   loading +1 on 0:0 and −1 on the last two layer-1 ("induction") heads, as in the paper's Fig. 6;
 * - per-token χ have mean χ/δh over a probe's tokens plus a token-dependent offset (eq. 45, Fig. 9), spaces
 *   and newlines negative and closing brackets positive (Fig. 1), and a repeat bonus for the induction heads
 *   when the token already occurred in the context (Fig. 8);
 * - ablation deltas independent of per-token χ (Fig. 7's negligible correlation);
 * - per-draw χ series (chi_terms.arrow) at the last step whose means are the table's χ, with a large term every
 *   restriction of a probe shares (as a paired run's minibatches are), so head differences are sharper than
 *   the two SEs say.
 * None of these numbers come from a model; the manifest says so (`synthetic: true`).
 */

import { Rng } from "../util/random.ts";
import { writeJsonAtomic } from "../util/files.ts";
import { emptyColumns } from "../tables/arrow_table.ts";
import {
  type AblationInput,
  CHI_TERMS_TABLE,
  type ChiTermsInput,
  CONTEXTS_TABLE,
  type ContextsInput,
  HEAD_ROLES_TABLE,
  type HeadRolesInput,
  PER_TOKEN_TABLE,
  type PerTokenInput,
  SUSCEPTIBILITY_TABLE,
  type SusceptibilityInput,
  TRACES_TABLE,
  type TracesInput,
  writeAblationTable,
  writeChiTermsTable,
  writeContextsTable,
  writeHeadRolesTable,
  writePerTokenTable,
  writeSusceptibilityTable,
  writeTracesTable,
} from "../tables/schema.ts";
import { FULL, restrictionName } from "../model/restriction.ts";
import { MANIFEST_FILE } from "./results.ts";
import { PAPER_CHECKPOINT_STEPS } from "../train/schedule.ts";
import type { HealthRecord } from "../estimate/health_record.ts";

/** The synthetic run's layout. */
export interface SyntheticShape {
  probes: string[];
  /** Checkpoint steps, ascending. */
  steps: number[];
  layers: number;
  /** Heads per layer. */
  heads: number;
  /** Probe contexts with per-token values (per probe), each of nCtx tokens (nCtx − 1 predicted). */
  contexts: number;
  nCtx: number;
  /** Per-token χ for the unrestricted model too (the estimators may write "full" rows). */
  perTokenFull: boolean;
  /** SGLD chains and draws per chain in traces.arrow (written for the first probe only) and chi_terms.arrow. */
  chains: number;
  draws: number;
}

/** Small shape for tests: 3 probes × 7 checkpoints × 2×4 heads, 3 contexts of 64 tokens. */
export const DEFAULT_SHAPE: SyntheticShape = {
  probes: ["github", "freelaw", "hackernews"],
  steps: [100, 200, 400, 800, 1600, 3200, 6400],
  layers: 2,
  heads: 4,
  contexts: 3,
  nCtx: 64,
  perTokenFull: false,
  chains: 4,
  draws: 50,
};

/**
 * The paper's scale (appendix C): the checkpoints of C.1 (29 listed, plus 35000 to make the 30 of the text),
 * 2 layers × 8 heads (17 restrictions with "full"), 6 probes, and per-token values for 160 contexts of 64
 * tokens (63 predicted) per probe and restriction — about a million per-token rows.
 */
export const PAPER_SHAPE: SyntheticShape = {
  probes: ["github", "freelaw", "hackernews", "arxiv", "dm_mathematics", "enron_emails"],
  steps: [...PAPER_CHECKPOINT_STEPS],
  layers: 2,
  heads: 8,
  contexts: 160,
  nCtx: 64,
  perTokenFull: true,
  chains: 4,
  draws: 200,
};

/** All tables of a synthetic results folder plus its manifest. */
export interface SyntheticTables {
  susceptibility: SusceptibilityInput;
  perToken: PerTokenInput;
  contexts: ContextsInput;
  ablation: AblationInput;
  traces: TracesInput;
  chiTerms: ChiTermsInput;
  headRoles: HeadRolesInput;
  manifest: Record<string, unknown>;
}

/** Thrown for an unusable shape; names the field. */
export class SyntheticShapeError extends Error {
  constructor(field: string, message: string) {
    super(`synthetic shape: ${field}: ${message}`);
    this.name = "SyntheticShapeError";
  }
}

function checkShape(s: SyntheticShape): void {
  if (s.probes.length === 0) throw new SyntheticShapeError("probes", "expected at least one probe");
  if (new Set(s.probes).size !== s.probes.length) throw new SyntheticShapeError("probes", "duplicate names");
  if (s.steps.length === 0) throw new SyntheticShapeError("steps", "expected at least one step");
  for (let i = 0; i < s.steps.length; i++) {
    if (!Number.isInteger(s.steps[i]) || s.steps[i] < 0 || (i > 0 && s.steps[i] <= s.steps[i - 1])) {
      throw new SyntheticShapeError("steps", "expected strictly increasing non-negative integers");
    }
  }
  for (const f of ["layers", "heads", "contexts", "chains", "draws"] as const) {
    if (!Number.isInteger(s[f]) || s[f] < 1) {
      throw new SyntheticShapeError(f, `expected a positive integer, got ${s[f]}`);
    }
  }
  if (!Number.isInteger(s.nCtx) || s.nCtx < 2) {
    throw new SyntheticShapeError("nCtx", `expected an integer ≥ 2, got ${s.nCtx}`);
  }
}

/** Token pieces with a per-piece offset of per-token χ (in units of the spread): Fig. 1's pattern. */
const VOCAB: readonly { text: string; bias: number }[] = [
  { text: " the", bias: -0.2 },
  { text: " of", bias: -0.1 },
  { text: " to", bias: 0.1 },
  { text: " and", bias: 0 },
  { text: "(", bias: 0.2 },
  { text: ")", bias: 0.6 },
  { text: "{", bias: 0.2 },
  { text: "}", bias: 0.6 },
  { text: "\n", bias: -0.5 },
  { text: " ", bias: -0.7 },
  { text: " if", bias: 0 },
  { text: " x", bias: 0.1 },
  { text: " =", bias: 0.3 },
  { text: " 1", bias: 0.2 },
  { text: "ing", bias: 0.5 },
  { text: "tion", bias: 0.5 },
  { text: " <b>", bias: 0.1 },
  { text: " &", bias: -0.1 },
  { text: ".", bias: 0.3 },
  { text: ",", bias: 0.2 },
];

/** The three planted head loadings b_jm of one head (see the module comment). */
function headModes(layer: number, head: number, heads: number): [number, number, number] {
  const induction = isInductionHead(layer, head, heads);
  const multigram = layer >= 1 && !induction;
  const m2 = layer === 0 && head === 1 ? 1 : multigram ? -1 : 0;
  const m3 = layer === 0 && head === 0 ? 1 : induction ? -1 : 0;
  return [1, m2, m3];
}

/** Time profiles f_m(t) over normalized log-step u ∈ [0, 1]. */
function timeModes(u: number): [number, number, number] {
  return [0.02 * u, 0.012 * Math.sin(3 * u), 0.01 * u * u];
}

/** A restriction of the run: "full" (layer and head −1) or one head. */
interface Restriction {
  name: string;
  layer: number;
  head: number;
}

/** What the table generators share. */
interface Plan {
  shape: SyntheticShape;
  seed: number;
  /**
   * The one generator of the tables, drawn from in a fixed order (susceptibility, traces, head roles): every
   * value depends on that order. Contexts and per-token values come from forks, which do not advance it.
   */
  rng: Rng;
  /** "full" first, then the heads in layer-major order. */
  restrictions: Restriction[];
  deltaH: number;
  lastStep: number;
  /** Normalized training progress u ∈ [0, 1] of a step, linear in log(1 + step). */
  progress: (step: number) => number;
}

function makePlan(shape: SyntheticShape, seed: number): Plan {
  const restrictions: Restriction[] = [{ name: FULL, layer: -1, head: -1 }];
  for (let l = 0; l < shape.layers; l++) {
    for (let h = 0; h < shape.heads; h++) {
      restrictions.push({ name: restrictionName(l, h), layer: l, head: h });
    }
  }
  const { steps } = shape;
  const logStep = (s: number) => Math.log1p(s);
  const u0 = logStep(steps[0]);
  const uSpan = Math.max(logStep(steps[steps.length - 1]) - u0, 1e-9);
  return {
    shape,
    seed,
    rng: new Rng(seed),
    restrictions,
    deltaH: 0.1,
    lastStep: steps[steps.length - 1],
    progress: (step) => (logStep(step) - u0) / uSpan,
  };
}

/** The planted "induction" heads: the last two heads of every layer after the first. */
function isInductionHead(layer: number, head: number, heads: number): boolean {
  return layer >= 1 && head >= heads - 2;
}

/** Key of `lastChi`: a probe and a restriction. */
function chiKey(probe: string, restriction: string): string {
  return `${probe}\u0000${restriction}`;
}

/** Generates every table for `shape`; the same seed gives the same tables. */
export function syntheticTables(shape: SyntheticShape = DEFAULT_SHAPE, seed = 7): SyntheticTables {
  checkShape(shape);
  const plan = makePlan(shape, seed);
  // The call order is the order of draws from plan.rng (an object literal evaluates left to right).
  const { table: susceptibility, lastChi } = susceptibilityTable(plan);
  const { table: contexts, seqs } = contextsTable(plan);
  return {
    susceptibility,
    contexts,
    ...perTokenTables(plan, lastChi, seqs),
    traces: tracesTable(plan),
    chiTerms: chiTermsTable(plan, lastChi),
    headRoles: headRolesTable(plan),
    manifest: syntheticManifest(plan),
  };
}

/** Empty susceptibility columns of `n` rows, the run-wide ones filled. */
function susceptibilityColumns(n: number, plan: Plan) {
  const c = emptyColumns(SUSCEPTIBILITY_TABLE, n);
  c.delta_h.fill(plan.deltaH);
  c.nbeta.fill(30);
  c.n_chains.fill(plan.shape.chains);
  c.n_draws.fill(plan.shape.draws);
  return c;
}

/**
 * susceptibility.arrow: χ from the three planted modes plus noise, for every step × probe × restriction;
 * `lastChi` holds the last step's χ by `chiKey`, the mean the per-token values scatter around.
 */
function susceptibilityTable(plan: Plan): { table: SusceptibilityInput; lastChi: Map<string, number> } {
  const { shape, rng, restrictions, lastStep } = plan;
  const { probes, steps, layers, heads, chains, draws } = shape;
  const probeCoef = probes.map((_, d) => [1 - 0.3 * d, Math.sin(1.3 * d + 1), Math.cos(2.1 * d + 0.5)]);
  const sus = susceptibilityColumns(steps.length * probes.length * restrictions.length, plan);
  const lastChi = new Map<string, number>();
  let i = 0;
  for (const step of steps) {
    const u = plan.progress(step);
    const f = timeModes(u);
    probes.forEach((probe, d) => {
      for (const r of restrictions) {
        const b = r.layer < 0 ? [layers * heads * 0.5, 0, 0] : headModes(r.layer, r.head, heads);
        let chi = 0;
        for (let m = 0; m < 3; m++) chi += probeCoef[d][m] * f[m] * b[m];
        chi += 0.0004 * rng.normal();
        sus.step[i] = step;
        sus.probe[i] = probe;
        sus.restriction[i] = r.name;
        sus.layer[i] = r.layer;
        sus.head[i] = r.head;
        sus.chi[i] = chi;
        sus.chi_se[i] = 0.001 + 0.0005 * rng.float();
        sus.llc[i] = (r.layer < 0 ? 60 : 8) * (0.3 + u) + rng.float();
        sus.llc_se[i] = 0.2 + 0.3 * rng.float();
        // Diagnostics without further draws from rng, so the other tables stay as they were: an unpaired run
        // (devinterp convention = llc), well-mixed chains except a late full-model trace.
        sus.llc_devinterp[i] = sus.llc[i];
        sus.llc_devinterp_se[i] = sus.llc_se[i];
        sus.chi_rhat[i] = 1 + 0.01 * (i % 7);
        sus.chi_ess[i] = chains * draws / (2 + (i % 3));
        sus.llc_rhat[i] = r.layer < 0 && step === lastStep ? 1.2 : 1 + 0.01 * (i % 5);
        sus.llc_ess[i] = chains * draws / (2 + (i % 3));
        if (step === lastStep) lastChi.set(chiKey(probe, r.name), chi);
        i++;
      }
    });
  }
  return { table: sus, lastChi };
}

/**
 * contexts.arrow: per probe a preferred slice of the vocabulary, so token statistics differ by probe; `seqs`
 * holds the token sequences, probe-major (index d · contexts + c).
 */
function contextsTable(plan: Plan): { table: ContextsInput; seqs: Int32Array[] } {
  const { probes, contexts, nCtx } = plan.shape;
  const n = probes.length * contexts * nCtx;
  const ctx = emptyColumns(CONTEXTS_TABLE, n);
  const seqs: Int32Array[] = [];
  let i = 0;
  probes.forEach((probe, d) => {
    const crng = plan.rng.fork(`contexts:${probe}`);
    const weights = VOCAB.map((_, v) => 1 + 3 * Number((v + d) % 4 === 0));
    for (let c = 0; c < contexts; c++) {
      const seq = new Int32Array(nCtx); // [nCtx] token ids
      for (let p = 0; p < nCtx; p++) {
        // Repeat an earlier 2-token pattern now and then (induction, Fig. 8).
        seq[p] = p >= 8 && crng.float() < 0.15 ? seq[p - 1 - crng.int(6)] : crng.weighted(weights);
        ctx.probe[i] = probe;
        ctx.context[i] = c;
        ctx.position[i] = p;
        ctx.token[i] = seq[p];
        ctx.text[i] = VOCAB[seq[p]].text;
        i++;
      }
      seqs.push(seq);
    }
  });
  return { table: ctx, seqs };
}

/** per_token.arrow and ablation.arrow at the last step: one row per predicted token of every context. */
function perTokenTables(
  plan: Plan,
  lastChi: Map<string, number>,
  seqs: Int32Array[],
): { perToken: PerTokenInput; ablation: AblationInput } {
  const { shape, restrictions, lastStep } = plan;
  const ptRestrictions = shape.perTokenFull ? restrictions : restrictions.slice(1);
  const n = shape.probes.length * ptRestrictions.length * shape.contexts * (shape.nCtx - 1);
  const pt = emptyColumns(PER_TOKEN_TABLE, n);
  pt.step.fill(lastStep);
  // The ablation rows are the same tokens: key columns are shared (the writers only read them).
  const ab = {
    probe: pt.probe,
    step: pt.step,
    restriction: pt.restriction,
    context: pt.context,
    position: pt.position,
    delta_loss: new Float64Array(n),
  };
  let i = 0;
  shape.probes.forEach((probe, d) => {
    const prng = plan.rng.fork(`per-token:${probe}`);
    for (const r of ptRestrictions) {
      const mean = lastChi.get(chiKey(probe, r.name))! / plan.deltaH;
      const induction = isInductionHead(r.layer, r.head, shape.heads);
      const sign = r.layer < 0 ? 1 : r.head % 3 === 1 ? -1 : 1;
      const scale = 0.3 * (1 + 0.25 * Math.max(r.layer, 0));
      for (let c = 0; c < shape.contexts; c++) {
        const seq = seqs[d * shape.contexts + c];
        for (let p = 1; p < shape.nCtx; p++) {
          const repeated = induction && seq.subarray(0, p).includes(seq[p]) ? 0.4 : 0;
          pt.probe[i] = probe;
          pt.restriction[i] = r.name;
          pt.context[i] = c;
          pt.position[i] = p;
          pt.chi[i] = mean + scale * (sign * VOCAB[seq[p]].bias + repeated + 0.5 * prng.normal());
          ab.delta_loss[i] = 0.04 * prng.normal() + (r.layer < 0 ? 0.5 : 0.02) * prng.float();
          i++;
        }
      }
    }
  });
  return { perToken: pt, ablation: ab };
}

/** traces.arrow: the first probe, "full" and the first head, loss relaxing to a plateau. */
function tracesTable(plan: Plan): TracesInput {
  const { shape, rng } = plan;
  const traceRestrictions = plan.restrictions.slice(0, 2).map((r) => r.name);
  const n = traceRestrictions.length * shape.chains * shape.draws;
  const tr = emptyColumns(TRACES_TABLE, n);
  tr.step.fill(plan.lastStep);
  tr.probe.fill(shape.probes[0]);
  let i = 0;
  for (const r of traceRestrictions) {
    for (let chain = 0; chain < shape.chains; chain++) {
      for (let draw = 0; draw < shape.draws; draw++) {
        tr.restriction[i] = r;
        tr.chain[i] = chain;
        tr.draw[i] = draw;
        tr.loss[i] = 3 + 0.2 * (1 - Math.exp(-draw / 8)) + 0.02 * rng.normal();
        i++;
      }
    }
  }
  return tr;
}

/**
 * chi_terms.arrow at the last step, every probe × restriction: χ plus a per-draw term shared by the probe's
 * restrictions (standard error ≈ 0.001) plus each chain's own noise (≈ 0.0003), both centred so that the mean
 * over chains and draws is the table's χ. Own generator: the other tables do not depend on it.
 */
function chiTermsTable(plan: Plan, lastChi: Map<string, number>): ChiTermsInput {
  const { shape, restrictions, lastStep } = plan;
  const { chains: K, draws: r } = shape;
  const rng = new Rng(plan.seed + 2);
  const centred = (x: Float64Array) => {
    const m = x.reduce((a, b) => a + b, 0) / x.length;
    return x.map((v) => v - m);
  };
  const cols = emptyColumns(CHI_TERMS_TABLE, shape.probes.length * restrictions.length * K * r);
  cols.step.fill(lastStep);
  let i = 0;
  for (const probe of shape.probes) {
    const shared = centred(Float64Array.from({ length: r }, () => 0.001 * Math.sqrt(r) * rng.normal()));
    for (const { name } of restrictions) {
      const own = centred(
        Float64Array.from({ length: K * r }, () => 0.0003 * Math.sqrt(K * r) * rng.normal()),
      );
      const chi = lastChi.get(chiKey(probe, name))!;
      for (let k = 0; k < K; k++) {
        for (let t = 0; t < r; t++, i++) {
          cols.probe[i] = probe;
          cols.restriction[i] = name;
          cols.chain[i] = k;
          cols.draw[i] = t;
          cols.term[i] = chi + shared[t] + own[k * r + t];
        }
      }
    }
  }
  return cols;
}

/**
 * head_roles.arrow: head 0:0 becomes a previous-token head and the planted induction heads induction heads,
 * both switching on halfway through training (log steps); every other head stays near uniform attention.
 */
function headRolesTable(plan: Plan): HeadRolesInput {
  const { shape, rng } = plan;
  const headRestrictions = plan.restrictions.filter((r) => r.layer >= 0);
  const n = shape.steps.length * headRestrictions.length;
  const hr = emptyColumns(HEAD_ROLES_TABLE, n);
  let i = 0;
  for (const step of shape.steps) {
    const on = 1 / (1 + Math.exp(-12 * (plan.progress(step) - 0.5)));
    for (const r of headRestrictions) {
      const induction = isInductionHead(r.layer, r.head, shape.heads);
      hr.step[i] = step;
      hr.restriction[i] = r.name;
      hr.layer[i] = r.layer;
      hr.head[i] = r.head;
      hr.induction[i] = 0.03 + (induction ? 0.8 * on : 0) + 0.005 * Math.abs(rng.normal());
      hr.previous_token[i] = 0.06 + (r.layer === 0 && r.head === 0 ? 0.85 * on : 0) +
        0.005 * Math.abs(rng.normal());
      hr.loss_first[i] = 7;
      hr.loss_second[i] = 7 - 5 * on;
      i++;
    }
  }
  return hr;
}

/** manifest.json: marked synthetic, with the config a sweep of this shape would have written. */
function syntheticManifest(plan: Plan): Record<string, unknown> {
  const { shape, seed } = plan;
  return {
    synthetic: true,
    note: "Synthetic tables from lib/analysis/synthetic_results.ts: planted structure, no model was run.",
    config: {
      model: { n_layers: shape.layers, n_heads: shape.heads, n_ctx: shape.nCtx },
      sgld: { nbeta: 30, epsilon: 0.001, gamma: 300, chains: shape.chains, draws: shape.draws },
      probes: shape.probes,
      steps: shape.steps,
      delta_h: plan.deltaH,
    },
    seeds: { synthetic: seed },
    extra: {
      health: syntheticHealth(shape, plan.restrictions.map((r) => r.name), seed),
    },
    runtime: { deno: Deno.version.deno, v8: Deno.version.v8, typescript: Deno.version.typescript },
    adapter: null,
  };
}

/**
 * Healthy sampler records for every step (the format the sweep writes into the manifest's extra.health): chains
 * settled above L0, no drift, ample effective draws. Own generator: the tables' values do not depend on it.
 */
export function syntheticHealth(shape: SyntheticShape, restrictions: string[], seed: number): HealthRecord[] {
  const rng = new Rng(seed + 1);
  return shape.steps.map((step) => ({
    kind: "chi" as const,
    step,
    restrictions,
    L0: 3,
    chains: restrictions.flatMap((_, r) =>
      Array.from({ length: shape.chains }, (_, k) => {
        const tau = 1.5 + rng.float();
        return {
          chain: r * shape.chains + k,
          restriction: r,
          meanLoss: 3.1,
          stdLoss: 0.02,
          maxLoss: 3.2,
          llc: 5 + 10 * rng.float(),
          tau,
          ess: shape.draws / tau,
          driftZ: Math.max(-2, Math.min(2, rng.normal())),
        };
      })
    ),
    warnings: [],
  }));
}

/** The files of a results folder, in writing order. */
export const RESULT_FILES = [
  "susceptibility.arrow",
  "per_token.arrow",
  "contexts.arrow",
  "ablation.arrow",
  "traces.arrow",
  "chi_terms.arrow",
  "head_roles.arrow",
  MANIFEST_FILE,
] as const;

/** Writes the tables into `dir` (created if needed) with the table writers; files in `omit` are left out. */
export async function writeSyntheticResults(
  dir: string,
  t: SyntheticTables,
  omit: readonly string[] = [],
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const write: Record<(typeof RESULT_FILES)[number], (path: string) => Promise<void>> = {
    "susceptibility.arrow": (p) => writeSusceptibilityTable(p, t.susceptibility),
    "per_token.arrow": (p) => writePerTokenTable(p, t.perToken),
    "contexts.arrow": (p) => writeContextsTable(p, t.contexts),
    "ablation.arrow": (p) => writeAblationTable(p, t.ablation),
    "traces.arrow": (p) => writeTracesTable(p, t.traces),
    "chi_terms.arrow": (p) => writeChiTermsTable(p, t.chiTerms),
    "head_roles.arrow": (p) => writeHeadRolesTable(p, t.headRoles),
    "manifest.json": (p) => writeJsonAtomic(p, t.manifest),
  };
  for (const name of RESULT_FILES) if (!omit.includes(name)) await write[name](`${dir}/${name}`);
}
