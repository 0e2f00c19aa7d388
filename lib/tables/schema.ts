/**
 * The results tables of a susceptibility run (Arrow IPC files in the run's results folder), agreed between
 * the estimators (writers) and the analysis and report (readers). Column order is file order.
 *
 *   susceptibility.arrow  one row per (step, probe, restriction): eq. 41 χ and eq. 26 LLC, mean and SE over chains,
 *                         the LLC in the reference sampler's convention (llc_devinterp: one L0 over as many
 *                         batches as chains; equal to llc unless the run was paired) and the split-R̂ / ESS of
 *                         the per-draw series behind χ and the LLC (lib/estimate/diagnostics.ts; NaN under 4 draws)
 *   per_token.arrow       per-token χ (Definition 3.2, eq. 44) per (probe, step, restriction, context, position)
 *   contexts.arrow        the probe contexts the per-token values refer to (token ids and decoded pieces)
 *   ablation.arrow        per-token loss with the head zero-ablated minus the unablated loss
 *   traces.arrow          per-draw SGLD losses (diagnostics)
 *   chi_terms.arrow       per-draw series behind each paired χ̂ (its mean over draws is the chain's χ̂): the
 *                         standard error of a difference of two heads' χ̂ (lib/estimate/difference.ts)
 *   influence.arrow       Bayesian influence BIF(i, j) = −Cov_w[ℓ_i, ℓ_j] of probe tokens on training tokens
 *
 * Restrictions are named "full" (the unrestricted model; layer = head = -1) or "l:h" (layer l, head h: the
 * paper's naming, e.g. "0:3"), as lib/model/restriction.ts writes and parses them.
 *
 * Why lib/tables/: the tables are the contract between their writers (lib/estimate, lib/sweep, the scripts) and
 * their readers (lib/analysis, lib/report). Imports point one way (gpu ← model ← estimate ← sweep; analysis ←
 * report), so the schema can live on neither side: in lib/analysis the estimators would import the analysis, in
 * lib/estimate the analysis would import the sampler. It is not part of the model (lib/model knows nothing of
 * results files) nor generic enough for lib/util. lib/tables imports only lib/util and lib/model/restriction.ts,
 * and everything that reads or writes a results table imports lib/tables.
 */

import {
  type ColumnKind,
  type ColumnProblem,
  defineTable,
  type ReadColumns,
  readTable,
  type Row,
  type TableDef,
  type WriteColumns,
  writeTable,
} from "./arrow_table.ts";
import { parseRestriction, RESTRICTION_FORMAT, restrictionName } from "../model/restriction.ts";

export { TableError } from "./arrow_table.ts";

function checkMin(name: string, col: Int32Array, min: number): ColumnProblem | undefined {
  for (let i = 0; i < col.length; i++) {
    if (col[i] < min) return { column: name, message: `row ${i}: expected ≥ ${min}, got ${col[i]}` };
  }
  return undefined;
}

function checkRestrictionNames(col: readonly string[]): ColumnProblem | undefined {
  let last = "";
  for (let i = 0; i < col.length; i++) {
    if (col[i] === last) continue;
    if (!parseRestriction(col[i])) {
      return {
        column: "restriction",
        message: `row ${i}: expected ${RESTRICTION_FORMAT}, got ${JSON.stringify(col[i])}`,
      };
    }
    last = col[i];
  }
  return undefined;
}

const SUSCEPTIBILITY_COLUMNS = {
  step: "int32",
  probe: "utf8",
  restriction: "utf8",
  layer: "int32",
  head: "int32",
  chi: "float64",
  chi_se: "float64",
  llc: "float64",
  llc_se: "float64",
  llc_devinterp: "float64",
  llc_devinterp_se: "float64",
  chi_rhat: "float64",
  chi_ess: "float64",
  llc_rhat: "float64",
  llc_ess: "float64",
  delta_h: "float64",
  nbeta: "float64",
  n_chains: "int32",
  n_draws: "int32",
} as const satisfies Record<string, ColumnKind>;
type SusceptibilityKinds = typeof SUSCEPTIBILITY_COLUMNS;

/** Restriction must agree with (layer, head); each (step, probe, restriction) appears once. */
function checkSusceptibility(c: ReadColumns<SusceptibilityKinds>): ColumnProblem | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < c.step.length; i++) {
    const want = restrictionName(c.layer[i], c.head[i]);
    if (c.restriction[i] !== want || (c.layer[i] < 0) !== (c.head[i] < 0)) {
      return {
        column: "restriction",
        message:
          `row ${i}: restriction ${JSON.stringify(c.restriction[i])} does not match layer ${c.layer[i]}, ` +
          `head ${c.head[i]} (expected ${JSON.stringify(want)}; "full" has layer = head = -1)`,
      };
    }
    const key = `${c.step[i]}\u0000${c.probe[i]}\u0000${c.restriction[i]}`;
    if (seen.has(key)) {
      return {
        column: "restriction",
        message: `row ${i}: duplicate row for step ${c.step[i]}, probe ${c.probe[i]}, restriction ${
          c.restriction[i]
        }`,
      };
    }
    seen.add(key);
  }
  return checkMin("n_chains", c.n_chains, 1) ?? checkMin("n_draws", c.n_draws, 1);
}

/** susceptibility.arrow: eq. 41 χ and the restricted LLC (eq. 26), mean and standard error over chains. */
export const SUSCEPTIBILITY_TABLE: TableDef<SusceptibilityKinds> = defineTable({
  name: "susceptibility",
  file: "susceptibility.arrow",
  columns: SUSCEPTIBILITY_COLUMNS,
  check: checkSusceptibility,
});

const PER_TOKEN_COLUMNS = {
  probe: "utf8",
  step: "int32",
  restriction: "utf8",
  context: "int32",
  position: "int32",
  chi: "float64",
} as const satisfies Record<string, ColumnKind>;
type PerTokenKinds = typeof PER_TOKEN_COLUMNS;

/** per_token.arrow: per-token χ (eq. 44); `position` indexes the predicted token, 1..n_ctx-1. */
export const PER_TOKEN_TABLE: TableDef<PerTokenKinds> = defineTable({
  name: "per_token",
  file: "per_token.arrow",
  columns: PER_TOKEN_COLUMNS,
  check: (c) =>
    checkMin("position", c.position, 1) ?? checkMin("context", c.context, 0) ??
      checkRestrictionNames(c.restriction),
});

const CONTEXTS_COLUMNS = {
  probe: "utf8",
  context: "int32",
  position: "int32",
  token: "int32",
  text: "utf8",
} as const satisfies Record<string, ColumnKind>;
type ContextsKinds = typeof CONTEXTS_COLUMNS;

/** contexts.arrow: the probe contexts (token id and decoded piece per position 0..n_ctx-1). */
export const CONTEXTS_TABLE: TableDef<ContextsKinds> = defineTable({
  name: "contexts",
  file: "contexts.arrow",
  columns: CONTEXTS_COLUMNS,
  check: (c) =>
    checkMin("position", c.position, 0) ?? checkMin("context", c.context, 0) ?? checkMin("token", c.token, 0),
});

const ABLATION_COLUMNS = {
  probe: "utf8",
  step: "int32",
  restriction: "utf8",
  context: "int32",
  position: "int32",
  delta_loss: "float64",
} as const satisfies Record<string, ColumnKind>;
type AblationKinds = typeof ABLATION_COLUMNS;

/** ablation.arrow: per-token loss with the head zero-ablated minus the unablated loss (the ablation delta). */
export const ABLATION_TABLE: TableDef<AblationKinds> = defineTable({
  name: "ablation",
  file: "ablation.arrow",
  columns: ABLATION_COLUMNS,
  check: (c) =>
    checkMin("position", c.position, 1) ?? checkMin("context", c.context, 0) ??
      checkRestrictionNames(c.restriction),
});

const TRACES_COLUMNS = {
  step: "int32",
  probe: "utf8",
  restriction: "utf8",
  chain: "int32",
  draw: "int32",
  loss: "float64",
} as const satisfies Record<string, ColumnKind>;
type TracesKinds = typeof TRACES_COLUMNS;

/** traces.arrow: SGLD loss per draw and chain (diagnostics). */
export const TRACES_TABLE: TableDef<TracesKinds> = defineTable({
  name: "traces",
  file: "traces.arrow",
  columns: TRACES_COLUMNS,
  check: (c) =>
    checkMin("chain", c.chain, 0) ?? checkMin("draw", c.draw, 0) ?? checkRestrictionNames(c.restriction),
});

const CHI_TERMS_COLUMNS = {
  step: "int32",
  probe: "utf8",
  restriction: "utf8",
  chain: "int32",
  draw: "int32",
  term: "float64",
} as const satisfies Record<string, ColumnKind>;
type ChiTermsKinds = typeof CHI_TERMS_COLUMNS;

/**
 * chi_terms.arrow: the per-draw series of each paired χ̂ (estimateSusceptibility's `influence`: each draw's term
 * plus the delta-method part for E_full[ΔL]), per (step, probe, restriction, chain, draw). Chain k's mean over
 * draws is its χ̂. Written by paired runs only (an unpaired unit writes no rows).
 */
export const CHI_TERMS_TABLE: TableDef<ChiTermsKinds> = defineTable({
  name: "chi_terms",
  file: "chi_terms.arrow",
  columns: CHI_TERMS_COLUMNS,
  check: (c) =>
    checkMin("chain", c.chain, 0) ?? checkMin("draw", c.draw, 0) ?? checkRestrictionNames(c.restriction),
});

const HEAD_ROLES_COLUMNS = {
  step: "int32",
  restriction: "utf8",
  layer: "int32",
  head: "int32",
  induction: "float64",
  previous_token: "float64",
  loss_first: "float64",
  loss_second: "float64",
} as const satisfies Record<string, ColumnKind>;
type HeadRolesKinds = typeof HEAD_ROLES_COLUMNS;

/**
 * head_roles.arrow: mechanistic scores of every head on repeated spans of random tokens, or of the synthetic
 * corpus's induction names (lib/estimate/head_roles.ts):
 * induction and previous-token attention; loss_first/loss_second are the model's losses on the two copies
 * (the same on every row of a step).
 */
export const HEAD_ROLES_TABLE: TableDef<HeadRolesKinds> = defineTable({
  name: "head_roles",
  file: "head_roles.arrow",
  columns: HEAD_ROLES_COLUMNS,
  check: (c) =>
    checkMin("layer", c.layer, 0) ?? checkMin("head", c.head, 0) ?? checkRestrictionNames(c.restriction),
});

const INFLUENCE_COLUMNS = {
  step: "int32",
  probe: "utf8",
  probe_context: "int32",
  probe_position: "int32",
  probe_text: "utf8",
  train_context: "int32",
  train_position: "int32",
  train_text: "utf8",
  bif: "float64",
  bif_se: "float64",
} as const satisfies Record<string, ColumnKind>;
type InfluenceKinds = typeof INFLUENCE_COLUMNS;

/**
 * influence.arrow: BIF(i, j) = −Cov_w[ℓ_i, ℓ_j] under the localized posterior (lib/estimate/influence.ts) of
 * probe token i (probe, probe_context, probe_position) and training token j (train_context, train_position of
 * the training contexts drawn from the base stream), mean ± SE over chains; positions index predicted tokens.
 */
export const INFLUENCE_TABLE: TableDef<InfluenceKinds> = defineTable({
  name: "influence",
  file: "influence.arrow",
  columns: INFLUENCE_COLUMNS,
  check: (c) =>
    checkMin("probe_position", c.probe_position, 1) ?? checkMin("train_position", c.train_position, 1) ??
      checkMin("probe_context", c.probe_context, 0) ?? checkMin("train_context", c.train_context, 0),
});

export type SusceptibilityColumns = ReadColumns<SusceptibilityKinds>;
export type SusceptibilityInput = WriteColumns<SusceptibilityKinds>;
export type SusceptibilityRow = Row<SusceptibilityKinds>;
export type PerTokenColumns = ReadColumns<PerTokenKinds>;
export type PerTokenInput = WriteColumns<PerTokenKinds>;
export type PerTokenRow = Row<PerTokenKinds>;
export type ContextsColumns = ReadColumns<ContextsKinds>;
export type ContextsInput = WriteColumns<ContextsKinds>;
export type ContextsRow = Row<ContextsKinds>;
export type AblationColumns = ReadColumns<AblationKinds>;
export type AblationInput = WriteColumns<AblationKinds>;
export type AblationRow = Row<AblationKinds>;
export type HeadRolesColumns = ReadColumns<HeadRolesKinds>;
export type HeadRolesInput = WriteColumns<HeadRolesKinds>;
export type InfluenceColumns = ReadColumns<InfluenceKinds>;
export type InfluenceInput = WriteColumns<InfluenceKinds>;
export type TracesColumns = ReadColumns<TracesKinds>;
export type TracesInput = WriteColumns<TracesKinds>;
export type TracesRow = Row<TracesKinds>;
export type ChiTermsColumns = ReadColumns<ChiTermsKinds>;
export type ChiTermsInput = WriteColumns<ChiTermsKinds>;

/** Reads and validates susceptibility.arrow. */
export const readSusceptibilityTable = (path: string): Promise<SusceptibilityColumns> =>
  readTable(SUSCEPTIBILITY_TABLE, path);
/** Writes susceptibility.arrow atomically from columns (typed arrays or plain arrays). */
export const writeSusceptibilityTable = (path: string, cols: SusceptibilityInput): Promise<void> =>
  writeTable(SUSCEPTIBILITY_TABLE, path, cols);
/** Reads and validates per_token.arrow. */
export const readPerTokenTable = (path: string): Promise<PerTokenColumns> => readTable(PER_TOKEN_TABLE, path);
/** Writes per_token.arrow atomically. */
export const writePerTokenTable = (path: string, cols: PerTokenInput): Promise<void> =>
  writeTable(PER_TOKEN_TABLE, path, cols);
/** Reads and validates contexts.arrow. */
export const readContextsTable = (path: string): Promise<ContextsColumns> => readTable(CONTEXTS_TABLE, path);
/** Writes contexts.arrow atomically. */
export const writeContextsTable = (path: string, cols: ContextsInput): Promise<void> =>
  writeTable(CONTEXTS_TABLE, path, cols);
/** Reads and validates ablation.arrow. */
export const readAblationTable = (path: string): Promise<AblationColumns> => readTable(ABLATION_TABLE, path);
/** Writes ablation.arrow atomically. */
export const writeAblationTable = (path: string, cols: AblationInput): Promise<void> =>
  writeTable(ABLATION_TABLE, path, cols);
/** Reads and validates traces.arrow. */
export const readTracesTable = (path: string): Promise<TracesColumns> => readTable(TRACES_TABLE, path);
/** Writes traces.arrow atomically. */
export const writeTracesTable = (path: string, cols: TracesInput): Promise<void> =>
  writeTable(TRACES_TABLE, path, cols);
/** Reads and validates chi_terms.arrow. */
export const readChiTermsTable = (path: string): Promise<ChiTermsColumns> => readTable(CHI_TERMS_TABLE, path);
/** Writes chi_terms.arrow atomically. */
export const writeChiTermsTable = (path: string, cols: ChiTermsInput): Promise<void> =>
  writeTable(CHI_TERMS_TABLE, path, cols);
/** Reads and validates head_roles.arrow. */
export const readHeadRolesTable = (path: string): Promise<HeadRolesColumns> =>
  readTable(HEAD_ROLES_TABLE, path);
/** Writes head_roles.arrow atomically. */
export const writeHeadRolesTable = (path: string, cols: HeadRolesInput): Promise<void> =>
  writeTable(HEAD_ROLES_TABLE, path, cols);
/** Reads and validates influence.arrow. */
export const readInfluenceTable = (path: string): Promise<InfluenceColumns> =>
  readTable(INFLUENCE_TABLE, path);
/** Writes influence.arrow atomically. */
export const writeInfluenceTable = (path: string, cols: InfluenceInput): Promise<void> =>
  writeTable(INFLUENCE_TABLE, path, cols);
