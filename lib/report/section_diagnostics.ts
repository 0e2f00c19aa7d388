/**
 * The estimates of the last checkpoint with their error bars and chain diagnostics side by side: χ ± SE with
 * split-R̂ and ESS of its per-draw terms, per probe and head; the LLC once per restriction (one SGLD run serves
 * every probe, so its LLC does not depend on the probe) with the reference sampler's one-L0 value beside it.
 * Flags what a reader should not take at face value: R̂ > 1.1, a negative LLC, fewer effective draws than 10 per
 * chain.
 */
import { type SusceptibilityColumns } from "../tables/schema.ts";
import { compareRestrictions } from "../model/restriction.ts";
import { RHAT_WARN } from "../estimate/diagnostics.ts";
import { tableHtml } from "./html.ts";
import type { ReportSection } from "./html.ts";

/** A value ± its standard error, 3 significant digits. */
function pm(v: number, se: number): string {
  return `${v.toPrecision(3)} ± ${Number.isFinite(se) ? se.toPrecision(2) : "—"}`;
}

function diag(rhat: number, ess: number): string {
  return Number.isFinite(rhat) ? `${rhat.toFixed(2)} / ${ess.toFixed(0)}` : "—";
}

/** Warnings of one estimate (empty when none). */
export function estimateFlags(o: { rhat: number; ess: number; chains: number; llc?: number }): string[] {
  const out: string[] = [];
  if (o.rhat > RHAT_WARN) out.push(`R̂ ${o.rhat.toFixed(2)} > ${RHAT_WARN}`);
  if (o.ess < 10 * o.chains) out.push(`ESS ${o.ess.toFixed(0)} < 10 per chain`);
  if (o.llc !== undefined && o.llc < 0) out.push("negative LLC");
  return out;
}

/** The diagnostics section for the latest step of susceptibility.arrow. */
export function diagnosticsSection(t: SusceptibilityColumns): ReportSection {
  let last = -Infinity;
  for (const s of t.step) last = Math.max(last, s);
  const rows: number[] = [];
  for (let i = 0; i < t.step.length; i++) if (t.step[i] === last) rows.push(i);
  rows.sort((a, b) =>
    t.probe[a] < t.probe[b]
      ? -1
      : t.probe[a] > t.probe[b]
      ? 1
      : compareRestrictions(t.restriction[a], t.restriction[b])
  );
  let flagged = 0;
  const chiRows = rows.map((i) => {
    const f = estimateFlags({ rhat: t.chi_rhat[i], ess: t.chi_ess[i], chains: t.n_chains[i] });
    if (f.length) flagged++;
    return [
      t.probe[i],
      t.restriction[i],
      pm(t.chi[i], t.chi_se[i]),
      diag(t.chi_rhat[i], t.chi_ess[i]),
      f.join("; "),
    ];
  });
  const seen = new Set<string>();
  const llcRows: string[][] = [];
  for (const i of rows) {
    if (seen.has(t.restriction[i])) continue;
    seen.add(t.restriction[i]);
    const f = estimateFlags({ rhat: t.llc_rhat[i], ess: t.llc_ess[i], chains: t.n_chains[i], llc: t.llc[i] });
    if (f.length) flagged++;
    const devinterp = t.llc_devinterp[i] === t.llc[i] && t.llc_devinterp_se[i] === t.llc_se[i]
      ? "(same: unpaired run)"
      : pm(t.llc_devinterp[i], t.llc_devinterp_se[i]);
    llcRows.push([
      t.restriction[i],
      pm(t.llc[i], t.llc_se[i]),
      devinterp,
      diag(t.llc_rhat[i], t.llc_ess[i]),
      f.join("; "),
    ]);
  }
  const body = tableHtml(["probe", "restriction", "χ ± SE", "split-R̂ / ESS", "warnings"], chiRows) +
    tableHtml(
      ["restriction", "LLC ± SE", "LLC, one L0 (devinterp) ± SE", "split-R̂ / ESS", "warnings"],
      llcRows,
    );
  return {
    id: "diagnostics",
    title: `Estimates and chain diagnostics at step ${last}`,
    caption:
      `Every χ and LLC of step ${last} with its standard error, split-R̂ and effective sample size of the per-draw ` +
      `series it averages (R̂ near 1: the chains sample the same law; above ${RHAT_WARN} the error bar is not to ` +
      `be trusted). The LLC is shown once per restriction: one SGLD run serves every probe. Paired runs centre each ` +
      `draw on a copy that stays at w* (the batch noise of L0 is inside the error bar); the one-L0 column is the ` +
      `reference sampler's convention for comparison. ${flagged} of ${
        chiRows.length + llcRows.length
      } estimates ` +
      `carry a warning.`,
    body,
  };
}
