/** Sections for Figs. 3-5 (χ per head over checkpoints, per probe) and the restricted LLC over checkpoints. */

import { type SusceptibilityColumns } from "../tables/schema.ts";
import { FULL } from "../model/restriction.ts";
import type { ChartSet } from "./charts.ts";
import type { ReportSection } from "./html.ts";
import type { ReportOptions } from "./options.ts";
import type { RunWarning } from "../analysis/run_warnings.ts";
import { warningsHtml } from "./warnings_html.ts";
import { type CurvePoint, susceptibilityCurves } from "./specs/susceptibility_curves.ts";

/** Per-head curve points of one value column of susceptibility.arrow. */
export function curvePoints(t: SusceptibilityColumns, value: "chi" | "llc"): CurvePoint[] {
  const se = value === "chi" ? t.chi_se : t.llc_se;
  const v = value === "chi" ? t.chi : t.llc;
  const out: CurvePoint[] = [];
  for (let i = 0; i < t.step.length; i++) {
    if (t.restriction[i] === FULL) continue;
    out.push({
      probe: t.probe[i],
      restriction: t.restriction[i],
      layer: t.layer[i],
      step: t.step[i],
      value: v[i],
      se: se[i],
    });
  }
  return out;
}

const fmt = (x: number) => x.toPrecision(3);

/** Row indices of the heads (not "full"). */
function headRows(t: SusceptibilityColumns): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.step.length; i++) if (t.restriction[i] !== FULL) out.push(i);
  return out;
}

/** One sentence: the range of χ̂ and the largest |χ̂| with its z = χ̂/SE. */
export function chiSummary(t: SusceptibilityColumns): string {
  const rows = headRows(t);
  if (rows.length === 0) return "The table has no per-head susceptibilities.";
  let lo = rows[0], hi = rows[0], big = rows[0];
  for (const i of rows) {
    if (t.chi[i] < t.chi[lo]) lo = i;
    if (t.chi[i] > t.chi[hi]) hi = i;
    if (Math.abs(t.chi[i]) > Math.abs(t.chi[big])) big = i;
  }
  const count = (c: string[] | Int32Array) => new Set(rows.map((i) => c[i])).size;
  const z = t.chi[big] / t.chi_se[big];
  return `χ̂ ranges from ${fmt(t.chi[lo])} to ${fmt(t.chi[hi])} over ${count(t.restriction)} heads, ` +
    `${count(t.probe)} probes and ${count(t.step)} checkpoints; the largest |χ̂| is ${fmt(t.chi[big])} for ` +
    `head ${t.restriction[big]} under probe ${t.probe[big]} at step ${t.step[big]} (z = ${
      Number.isFinite(z) ? z.toFixed(1) : "n/a"
    }).`;
}

/**
 * One sentence: the LLC's range over the heads at the last step, the full model's, and negative LLCs; from the
 * rows of the probe the chart draws (every probe's rows repeat the same run's LLC).
 */
export function llcSummary(t: SusceptibilityColumns): string {
  if (t.step.length === 0) return "The table has no rows.";
  let last = t.step[0];
  for (const s of t.step) last = Math.max(last, s);
  const probe = [...new Set(t.probe)].sort()[0];
  const at = new Map<string, number>();
  let full: number | undefined;
  const negative = new Set<string>();
  for (let i = 0; i < t.step.length; i++) {
    if (t.llc[i] < 0) negative.add(`${t.step[i]}/${t.restriction[i]}`);
    if (t.step[i] !== last || t.probe[i] !== probe) continue;
    if (t.restriction[i] === FULL) full = t.llc[i];
    else at.set(t.restriction[i], t.llc[i]);
  }
  const heads = [...at].sort((a, b) => a[1] - b[1]);
  const range = heads.length
    ? `the LLC ranges from ${fmt(heads[0][1])} (${heads[0][0]}) to ${fmt(heads[heads.length - 1][1])} ` +
      `(${heads[heads.length - 1][0]}) over ${heads.length} heads`
    : "no head has an LLC";
  const total = new Set(Array.from(t.step, (s, i) => `${s}/${t.restriction[i]}`)).size;
  return `At step ${last} ${range}${full !== undefined ? `; the full model's is ${fmt(full)}` : ""}. ` +
    `${negative.size} of ${total} LLC estimates (restriction × checkpoint) are negative.`;
}

/** Figs. 3-5: susceptibility per head over training, one panel per probe. */
export async function susceptibilitySection(
  t: SusceptibilityColumns,
  charts: ChartSet,
  opts: ReportOptions,
  warnings: readonly RunWarning[] = [],
): Promise<ReportSection> {
  const pts = curvePoints(t, "chi");
  const body = await charts.figure(
    "susceptibility-curves",
    susceptibilityCurves(pts, { config: opts.config }),
  ) + warningsHtml(warnings.filter((w) => w.estimate === "χ"), "Warnings on these χ estimates");
  return {
    id: "susceptibility",
    title: "Susceptibilities per head over training (Figs. 3-5)",
    summary: chiSummary(t),
    caption:
      "Susceptibility χ (eq. 41, mean over chains; band: ± one standard error over chains) of each attention " +
      "head's weight restriction, against the checkpoint step on a log axis, one panel per probe dataset. " +
      "Solid lines: layer 0 heads; dashed: layer 1 heads. Paper: Figs. 3-5 (github, freelaw, hackernews) and 16-29.",
    body,
  };
}

/** The restricted LLC (eq. 26) per head over training. */
export async function llcSection(
  t: SusceptibilityColumns,
  charts: ChartSet,
  opts: ReportOptions,
  warnings: readonly RunWarning[] = [],
): Promise<ReportSection> {
  // One SGLD run serves every probe of a checkpoint (lib/estimate/unit.ts), and the LLC is that of the base
  // data's sampling loss: the probes' rows repeat one estimate, so it is drawn once, from the first probe's rows.
  const all = curvePoints(t, "llc");
  const first = [...new Set(all.map((p) => p.probe))].sort()[0];
  const pts = all.filter((p) => p.probe === first).map((p) => ({ ...p, probe: "all probes" }));
  const body = await charts.figure(
    "llc-curves",
    susceptibilityCurves(pts, { config: opts.config, valueTitle: "restricted LLC" }),
  ) + warningsHtml(
    warnings.filter((w) => w.estimate === "LLC" || w.estimate === "chain (chi)"),
    "Warnings on these LLC estimates and their chains",
  );
  return {
    id: "llc",
    title: "Restricted LLC per head over training",
    summary: llcSummary(t),
    caption:
      "Local learning coefficient of each head's restricted posterior (eq. 26, mean ± standard error; paired runs " +
      "centre each draw on a copy that stays at w*, so the batch noise of L0 is inside the band) against the " +
      "checkpoint step (log axis). It is a property of the sampling run on the base data, not of a probe: drawn " +
      `once per restriction (from the rows of probe "${first}").`,
    body,
  };
}
