/**
 * The susceptibility table as text for a terminal: per checkpoint, the LLC ± SE of every restriction (once:
 * one sampling run serves every probe) and χ̂ ± SE of every restriction × probe, restrictions by name, with
 * the chains' split-R̂ flagged (*) where it exceeds 1.1 (lib/estimate/diagnostics.ts). χ̂ values share one
 * power-of-ten scale per checkpoint so that a column reads at a glance.
 */

/** The columns of susceptibility.arrow this needs (typed arrays or plain arrays). */
export interface SusceptibilityRows {
  step: ArrayLike<number>;
  probe: ArrayLike<string>;
  restriction: ArrayLike<string>;
  chi: ArrayLike<number>;
  chi_se: ArrayLike<number>;
  chi_rhat: ArrayLike<number>;
  llc: ArrayLike<number>;
  llc_se: ArrayLike<number>;
  llc_rhat: ArrayLike<number>;
}

/** R̂ above this marks an estimate whose chains disagree (the usual convergence threshold). */
export const RHAT_FLAG = 1.1;

// A one-column mark (R̂'s combining accent would throw the padding off), blank-padded so columns stay aligned.
const flag = (rhat: number) => (rhat > RHAT_FLAG ? " *" : "  ");

function uniqueInOrder(values: ArrayLike<string>, rows: readonly number[]): string[] {
  return [...new Set(rows.map((i) => values[i]))];
}

/** The power of ten that brings the largest |value| of `xs` into [1, 1000). */
export function commonExponent(xs: readonly number[]): number {
  const max = Math.max(0, ...xs.filter(Number.isFinite).map(Math.abs));
  return max === 0 ? 0 : Math.floor(Math.log10(max) / 3) * 3;
}

function pad(cells: string[][]): string[] {
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  return cells.map((r) =>
    r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ")
  );
}

/** The lines for one checkpoint's rows. */
function stepLines(t: SusceptibilityRows, step: number, rows: readonly number[]): string[] {
  const restrictions = uniqueInOrder(t.restriction, rows);
  const probes = uniqueInOrder(t.probe, rows);
  const at = new Map(rows.map((i) => [`${t.restriction[i]}\u0000${t.probe[i]}`, i]));
  const first = (r: string) => rows.find((i) => t.restriction[i] === r)!;
  const llc = [["restriction", "LLC ± SE"]];
  for (const r of restrictions) {
    const i = first(r);
    llc.push([r, `${t.llc[i].toFixed(2)} ± ${t.llc_se[i].toFixed(2)}${flag(t.llc_rhat[i])}`]);
  }
  const e = commonExponent(rows.map((i) => t.chi[i]));
  const scale = 10 ** -e;
  const chi = [["restriction", ...probes]];
  for (const r of restrictions) {
    chi.push([
      r,
      ...probes.map((p) => {
        const i = at.get(`${r}\u0000${p}`);
        if (i === undefined) return "—";
        return `${(t.chi[i] * scale).toFixed(2)} ± ${(t.chi_se[i] * scale).toFixed(2)}${flag(t.chi_rhat[i])}`;
      }),
    ]);
  }
  return [
    `step ${step}: local learning coefficient per restriction`,
    ...pad(llc).map((l) => `  ${l}`),
    `step ${step}: susceptibility χ̂ ± SE${e === 0 ? "" : ` (×1e${e})`}, probes in columns`,
    ...pad(chi).map((l) => `  ${l}`),
  ];
}

/** Every checkpoint's LLC and χ̂ tables, steps ascending; a footnote when any R̂ is flagged. */
export function formatSusceptibilityRows(t: SusceptibilityRows): string {
  const byStep = new Map<number, number[]>();
  for (let i = 0; i < t.step.length; i++) {
    const list = byStep.get(t.step[i]) ?? [];
    list.push(i);
    byStep.set(t.step[i], list);
  }
  const lines = [...byStep.keys()].sort((a, b) => a - b).flatMap((s) => stepLines(t, s, byStep.get(s)!));
  const flagged = Array.from({ length: t.step.length }, (_, i) => i)
    .some((i) => t.chi_rhat[i] > RHAT_FLAG || t.llc_rhat[i] > RHAT_FLAG);
  if (flagged) {
    lines.push(
      `* split-R̂ > ${RHAT_FLAG}: the chains disagree; more draws or a burn-in (--burn-in) before trusting it`,
    );
  }
  return lines.join("\n");
}
