/**
 * The estimates of the last checkpoint with their error bars and chain diagnostics side by side: χ ± SE with
 * split-R̂ and ESS of its per-draw terms, per probe and head; the LLC once per restriction (one SGLD run serves
 * every probe, so its LLC does not depend on the probe) with the reference sampler's one-L0 value beside it.
 * Below them, every warning of every checkpoint (lib/analysis/run_warnings.ts): R̂ > 1.1, too few effective
 * draws, a negative LLC, and the sampler's chain health (non-stationary, sub-L0 or barely moving traces).
 */
import { type SusceptibilityColumns } from "../tables/schema.ts";
import { compareRestrictions } from "../model/restriction.ts";
import { RHAT_WARN } from "../estimate/diagnostics.ts";
import { estimateFlags, type RunWarning } from "../analysis/run_warnings.ts";
import { tableHtml } from "./html.ts";
import { countsText, warningsHtml, warningsWord } from "./warnings_html.ts";
import type { ReportSection } from "./html.ts";

/** A value ± its standard error, 3 significant digits. */
function pm(v: number, se: number): string {
  return `${v.toPrecision(3)} ± ${Number.isFinite(se) ? se.toPrecision(2) : "—"}`;
}

function diag(rhat: number, ess: number): string {
  return Number.isFinite(rhat) ? `${rhat.toFixed(2)} / ${ess.toFixed(0)}` : "—";
}

const flagText = (o: Parameters<typeof estimateFlags>[0]) => estimateFlags(o).map((f) => f.problem);

/** The diagnostics section for the latest step of susceptibility.arrow, with every step's warnings. */
export function diagnosticsSection(
  t: SusceptibilityColumns,
  warnings: readonly RunWarning[] = [],
): ReportSection {
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
    const f = flagText({ rhat: t.chi_rhat[i], ess: t.chi_ess[i], chains: t.n_chains[i] });
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
    const f = flagText({ rhat: t.llc_rhat[i], ess: t.llc_ess[i], chains: t.n_chains[i], llc: t.llc[i] });
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
  const body = warningsHtml(warnings) +
    tableHtml(["probe", "restriction", "χ ± SE", "split-R̂ / ESS", "warnings"], chiRows) +
    tableHtml(
      ["restriction", "LLC ± SE", "LLC, one L0 (devinterp) ± SE", "split-R̂ / ESS", "warnings"],
      llcRows,
    );
  const total = chiRows.length + llcRows.length;
  return {
    id: "diagnostics",
    title: `Estimates and chain diagnostics at step ${last}`,
    summary:
      `At step ${last}, ${flagged} of ${total} estimates (${chiRows.length} χ, ${llcRows.length} LLC) carry a ` +
      `warning; over all ${new Set(t.step).size} checkpoints the run has ${warningsWord(warnings.length)}` +
      `${warnings.length ? ` (${countsText(warnings)})` : ""}.`,
    caption:
      `Every χ and LLC of step ${last} with its standard error, split-R̂ and effective sample size of the per-draw ` +
      `series it averages (R̂ near 1: the chains sample the same law; above ${RHAT_WARN} the error bar is not to ` +
      `be trusted). The LLC is shown once per restriction: one SGLD run serves every probe. Paired runs centre each ` +
      `draw on a copy that stays at w* (the batch noise of L0 is inside the error bar); the one-L0 column is the ` +
      `reference sampler's convention for comparison. The warning list above the tables covers every checkpoint: ` +
      `estimates with R̂ > ${RHAT_WARN}, fewer effective draws than 10 per chain or a negative LLC, and sampler ` +
      `chains whose draw loss still drifts (second half − first half beyond 4 standard errors: not stationary), ` +
      `settles below L0 or has under 10 effective draws.`,
    body,
  };
}
