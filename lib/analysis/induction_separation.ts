/**
 * Does the head-level χ̂ single out the induction head? At the last checkpoint of both tables, the head with
 * the highest induction score (head_roles.arrow) is compared under each probe with every other head: the
 * separation from head o is z = |χ̂_ind − χ̂_o| / SE(χ̂_ind − χ̂_o). Its smallest value over the heads of the
 * same layer says whether χ̂ tells the induction head from its layer-mates (which play no part in the
 * circuit); over all heads, whether it tells it from everything, the previous-token heads of the layer below
 * (its K-composition partners) included.
 *
 * The SE of the difference: from the two heads' per-draw series when chi_terms.arrow has them (a paired run;
 * lib/estimate/difference.ts), where the error both heads share (the minibatch at each draw, E_full[ΔL])
 * cancels; otherwise √(SE_ind² + SE_o²), which counts that shared error twice: conservative.
 */
import type { ChiTermsColumns, HeadRolesColumns, SusceptibilityColumns } from "../tables/schema.ts";
import { FULL, parseRestriction } from "../model/restriction.ts";
import type { ChainDraws } from "../estimate/estimators.ts";
import { estimateDifference } from "../estimate/difference.ts";
import { chiSeries } from "./chi_series.ts";

/**
 * What a row's z divides by: "difference", the SE of the per-draw difference series; "two SEs",
 * √(SE_ind² + SE_o²) (no series for some head of the row).
 */
export type SeparationDenominator = "difference" | "two SEs";

export interface InductionSeparation {
  step: number;
  probe: string;
  /** The induction head and its score. */
  head: string;
  score: number;
  chi: number;
  se: number;
  /** The other head of the same layer nearest in z, and that z (Infinity when the layer has no other head). */
  nearestInLayer: string;
  zLayer: number;
  /** The nearest head of any layer, and its z. */
  nearest: string;
  /**
   * The nearest head's previous-token score (head_roles.arrow; NaN when absent): a high one marks the induction
   * head's K-composition partner, which moves with it under the same probes.
   */
  nearestPreviousToken: number;
  z: number;
  /** The SE every z of the row divides by (see SeparationDenominator). */
  denominator: SeparationDenominator;
}

/** The SE of χ̂_i − χ̂_j (rows i, j of the table): from the series when given, else the two SEs. */
function differenceSe(
  sus: SusceptibilityColumns,
  i: number,
  j: number,
  series?: readonly [ChainDraws, ChainDraws],
): number {
  return series ? estimateDifference(...series).se : Math.hypot(sus.chi_se[i], sus.chi_se[j]);
}

/** Whether every restriction of `names` has a series, all of one shape (chain k of each paired with chain k). */
function allPaired(series: Map<string, ChainDraws>, names: Iterable<string>): boolean {
  let shape: ChainDraws | undefined;
  for (const n of names) {
    const s = series.get(n);
    if (!s || (shape && (s.chains !== shape.chains || s.draws !== shape.draws))) return false;
    shape ??= s;
  }
  return shape !== undefined;
}

/**
 * The separation under every probe at the last step both tables have; empty when they share no step. With
 * `terms` (chi_terms.arrow), a probe whose heads all have their per-draw series there gets the difference SE.
 */
export function inductionSeparation(
  sus: SusceptibilityColumns,
  roles: HeadRolesColumns,
  terms?: ChiTermsColumns,
): InductionSeparation[] {
  const shared = new Set(roles.step.filter((s) => sus.step.includes(s)));
  if (shared.size === 0) return [];
  const step = Math.max(...shared);
  let best = -1;
  for (let i = 0; i < roles.step.length; i++) {
    if (roles.step[i] === step && (best < 0 || roles.induction[i] > roles.induction[best])) best = i;
  }
  const head = roles.restriction[best];
  const layer = parseRestriction(head)?.layer;
  const rows = (probe: string) => {
    const out = new Map<string, number>();
    for (let i = 0; i < sus.step.length; i++) {
      if (sus.step[i] === step && sus.probe[i] === probe && sus.restriction[i] !== FULL) {
        out.set(sus.restriction[i], i);
      }
    }
    return out;
  };
  const out: InductionSeparation[] = [];
  for (const probe of [...new Set(sus.probe)].sort()) {
    const at = rows(probe);
    const i = at.get(head);
    if (i === undefined) continue;
    const series = terms ? chiSeries(terms, step, probe) : new Map<string, ChainDraws>();
    const paired = allPaired(series, at.keys());
    const sep: InductionSeparation = {
      step,
      probe,
      head,
      score: roles.induction[best],
      chi: sus.chi[i],
      se: sus.chi_se[i],
      nearestInLayer: "",
      zLayer: Infinity,
      nearest: "",
      nearestPreviousToken: NaN,
      z: Infinity,
      denominator: paired ? "difference" : "two SEs",
    };
    for (const [other, j] of at) {
      if (other === head) continue;
      const pair = paired ? [series.get(head)!, series.get(other)!] as const : undefined;
      const z = Math.abs(sus.chi[i] - sus.chi[j]) / differenceSe(sus, i, j, pair);
      if (z < sep.z) [sep.z, sep.nearest] = [z, other];
      if (parseRestriction(other)?.layer === layer && z < sep.zLayer) {
        [sep.zLayer, sep.nearestInLayer] = [z, other];
      }
    }
    sep.nearestPreviousToken = previousTokenScore(roles, step, sep.nearest);
    out.push(sep);
  }
  return out;
}

function previousTokenScore(roles: HeadRolesColumns, step: number, head: string): number {
  for (let i = 0; i < roles.step.length; i++) {
    if (roles.step[i] === step && roles.restriction[i] === head) return roles.previous_token[i];
  }
  return NaN;
}

/** The threshold the sentence reports against (issue 16: "separates … by ≥ 3 SE"). */
export const SEPARATION_Z = 3;

/** One sentence of numbers: under which probes χ̂ sets the induction head ≥ 3 SE apart, and the best case. */
export function separationSummary(seps: readonly InductionSeparation[]): string {
  if (seps.length === 0) return "";
  const { step, head, score } = seps[0];
  const z = (x: number) => Number.isFinite(x) ? x.toFixed(1) : "∞";
  const best = [...seps].sort((a, b) => b.zLayer - a.zLayer)[0];
  const apart = seps.filter((s) => s.zLayer >= SEPARATION_Z).map((s) => s.probe);
  const all = seps.filter((s) => s.z >= SEPARATION_Z).map((s) => s.probe);
  return `Head-level χ̂ at step ${step}: the induction head ${head} (score ${
    score.toFixed(2)
  }) stands ≥ ${SEPARATION_Z} ` +
    `SE from every other head of its layer under ${apart.length} of ${seps.length} probes` +
    `${apart.length ? ` (${apart.join(", ")})` : ""} and from every other head under ${all.length}` +
    `${all.length ? ` (${all.join(", ")})` : ""}; the clearest is ${best.probe}, χ̂ = ${
      best.chi.toPrecision(3)
    } ± ` +
    `${best.se.toPrecision(2)}, z = ${z(best.zLayer)} from ${best.nearestInLayer || "—"} (${
      z(best.z)
    } from ` +
    `${best.nearest || "—"}, the nearest of all heads${
      Number.isFinite(best.nearestPreviousToken)
        ? `, previous-token score ${best.nearestPreviousToken.toFixed(2)}`
        : ""
    }). ${denominatorText(seps)}`;
}

/** Which SE the z values divide by, per probe when the rows differ. */
function denominatorText(seps: readonly InductionSeparation[]): string {
  const DIFF = "z from the per-draw difference series (the error both heads share cancels)";
  const TWO = "z from the two SEs, conservative (no per-draw series in chi_terms.arrow)";
  const diff = seps.filter((s) => s.denominator === "difference").map((s) => s.probe);
  if (diff.length === seps.length) return `${DIFF}.`;
  if (diff.length === 0) return `${TWO}.`;
  const two = seps.filter((s) => s.denominator !== "difference").map((s) => s.probe);
  return `${DIFF} under ${diff.join(", ")}; ${TWO} under ${two.join(", ")}.`;
}
