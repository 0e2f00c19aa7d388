/**
 * The run's warnings as HTML, shown beside the estimates they concern (diagnostics, χ and LLC sections): a
 * table of the first few, the rest in a collapsed block.
 */
import { RHAT_WARN } from "../estimate/diagnostics.ts";
import { type RunWarning, warningCounts, type WarningKind } from "../analysis/run_warnings.ts";
import { escapeHtml } from "./escape.ts";
import { detailsHtml, tableHtml } from "./html.ts";

/** Warnings listed in the open table; the rest go to a collapsed block (a bad run can have thousands). */
const SHOWN_WARNINGS = 25;

/** "1 warning", "3 warnings". */
export function warningsWord(n: number, prefix = ""): string {
  return `${n} ${prefix}warning${n === 1 ? "" : "s"}`;
}

/** "3 R̂ > 1.1, 1 negative LLC": counts by kind in words. */
export function countsText(ws: readonly RunWarning[]): string {
  const c = warningCounts(ws);
  const words: [WarningKind, string][] = [
    ["rhat", `R̂ > ${RHAT_WARN}`],
    ["ess", "low ESS"],
    ["negative-llc", "negative LLC"],
    ["non-stationary", "non-stationary trace"],
  ];
  return words.filter(([k]) => c[k]).map(([k, w]) => `${c[k]} ${w}`).join(", ");
}

/** The warning list: a table of the first SHOWN_WARNINGS, the rest collapsed. */
export function warningsHtml(ws: readonly RunWarning[], title = "Sampler warnings"): string {
  if (ws.length === 0) return "";
  const row = (w: RunWarning) => [
    w.step,
    w.estimate,
    w.restriction,
    w.probe || "—",
    w.chain === null ? "—" : w.chain,
    w.problem,
  ];
  const header = ["step", "estimate", "restriction", "probe", "chain", "problem"];
  const rest = ws.slice(SHOWN_WARNINGS);
  return `<div class="warnings"><strong>${
    escapeHtml(`${title}: ${ws.length} (${countsText(ws)})`)
  }</strong>` +
    tableHtml(header, ws.slice(0, SHOWN_WARNINGS).map(row)) +
    (rest.length ? detailsHtml(`${rest.length} more warnings`, tableHtml(header, rest.map(row))) : "") +
    `</div>`;
}
