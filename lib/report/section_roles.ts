/**
 * Head roles over training: the induction and previous-token scores of every head on repeated random tokens
 * (lib/estimate/head_roles.ts; the synthetic corpus's induction names on the embedded default), the mechanistic ground truth to read the susceptibilities against.
 */

import type { ChiTermsColumns, HeadRolesColumns, SusceptibilityColumns } from "../tables/schema.ts";
import { inductionSeparation, separationSummary } from "../analysis/induction_separation.ts";
import type { ChartSet } from "./charts.ts";
import type { ReportSection } from "./html.ts";
import type { ReportOptions } from "./options.ts";
import { type CurvePoint, susceptibilityCurves } from "./specs/susceptibility_curves.ts";

const ROLES = [
  { column: "induction", panel: "induction score" },
  { column: "previous_token", panel: "previous-token score" },
] as const;

/** Curve points, one panel per role (the curve builder's "probe" facet). */
export function roleCurvePoints(t: HeadRolesColumns): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const role of ROLES) {
    const v = t[role.column];
    for (let i = 0; i < t.step.length; i++) {
      out.push({
        probe: role.panel,
        restriction: t.restriction[i],
        layer: t.layer[i],
        step: t.step[i],
        value: v[i],
        se: 0,
      });
    }
  }
  return out;
}

/** One sentence on the last checkpoint: its strongest induction head and the model's in-context gain. */
export function rolesSummary(t: HeadRolesColumns): string {
  if (t.step.length === 0) return "";
  let last = t.step[0];
  for (const s of t.step) last = Math.max(last, s);
  let best = -1;
  for (let i = 0; i < t.step.length; i++) {
    if (t.step[i] === last && (best < 0 || t.induction[i] > t.induction[best])) best = i;
  }
  const gain = t.loss_first[best] - t.loss_second[best];
  return `At step ${last} the strongest induction head is ${t.restriction[best]} (score ${
    t.induction[best].toFixed(2)
  }, previous-token ${t.previous_token[best].toFixed(2)}); the model's loss on the repeated copy is ${
    gain >= 0 ? "lower" : "higher"
  } than on the first by ${Math.abs(gain).toFixed(2)} nats per token.`;
}

export async function headRolesSection(
  t: HeadRolesColumns,
  sus: SusceptibilityColumns,
  charts: ChartSet,
  opts: ReportOptions,
  terms?: ChiTermsColumns,
): Promise<ReportSection> {
  const body = await charts.figure(
    "head-roles",
    susceptibilityCurves(roleCurvePoints(t), {
      config: opts.config,
      valueTitle: "mean attention",
      errorBands: false,
      columns: 2,
    }),
  );
  return {
    id: "head-roles",
    title: "Head roles over training",
    caption:
      "Mechanistic scores of each head, measured without sampling on sequences of random tokens repeated once " +
      "(Olsson et al. 2022; on the embedded synthetic corpus, spans of its induction names): the induction score is the mean attention from a token of the second copy to the " +
      "token after its earlier occurrence, the previous-token score the mean attention to the position before. " +
      "A head that attends uniformly scores about 1/position. Read the susceptibilities of the induction " +
      "probe against these. Separation z = |χ̂_ind − χ̂_other| / SE(χ̂_ind − χ̂_other) at the last checkpoint: " +
      "the SE from the two heads' per-draw difference series (chi_terms.arrow, paired runs), in which the " +
      "minibatch noise and the error of E_full[ΔL] that both share cancel, else √(SE_ind² + SE_other²), " +
      "which counts that shared error twice.",
    summary: [rolesSummary(t), separationSummary(inductionSeparation(sus, t, terms))].filter((x) => x).join(
      " ",
    ),
    body,
  };
}
