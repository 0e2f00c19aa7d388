/**
 * Does the head-level χ̂ single out the induction head? At the last checkpoint of both tables, the head with
 * the highest induction score (head_roles.arrow) is compared under each probe with every other head: the
 * separation from head o is z = |χ̂_ind − χ̂_o| / √(SE_ind² + SE_o²). Its smallest value over the heads of the
 * same layer says whether χ̂ tells the induction head from its layer-mates (which play no part in the
 * circuit); over all heads, whether it tells it from everything, the previous-token heads of the layer below
 * (its K-composition partners) included.
 */
import type { HeadRolesColumns, SusceptibilityColumns } from "../tables/schema.ts";
import { FULL, parseRestriction } from "../model/restriction.ts";

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
  z: number;
}

/** The separation under every probe at the last step both tables have; empty when they share no step. */
export function inductionSeparation(
  sus: SusceptibilityColumns,
  roles: HeadRolesColumns,
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
      z: Infinity,
    };
    for (const [other, j] of at) {
      if (other === head) continue;
      const z = Math.abs(sus.chi[i] - sus.chi[j]) / Math.hypot(sus.chi_se[i], sus.chi_se[j]);
      if (z < sep.z) [sep.z, sep.nearest] = [z, other];
      if (parseRestriction(other)?.layer === layer && z < sep.zLayer) {
        [sep.zLayer, sep.nearestInLayer] = [z, other];
      }
    }
    out.push(sep);
  }
  return out;
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
    `${best.nearest || "—"}, the nearest of all heads).`;
}
