/**
 * The per-draw χ̂ series of chi_terms.arrow, one [chains, draws] ChainDraws per restriction of a (step, probe):
 * the input of the standard error of a head difference (lib/estimate/difference.ts).
 */
import type { ChiTermsColumns } from "../tables/schema.ts";
import type { ChainDraws } from "../estimate/estimators.ts";

/**
 * The series of every restriction at (step, probe), by restriction name. A restriction whose rows do not fill a
 * [chains, draws] grid exactly once (a row missing or repeated) is left out: its χ̂ has no usable series.
 */
export function chiSeries(t: ChiTermsColumns, step: number, probe: string): Map<string, ChainDraws> {
  const rows = new Map<string, number[]>();
  for (let i = 0; i < t.step.length; i++) {
    if (t.step[i] !== step || t.probe[i] !== probe) continue;
    const list = rows.get(t.restriction[i]) ?? [];
    list.push(i);
    rows.set(t.restriction[i], list);
  }
  const out = new Map<string, ChainDraws>();
  for (const [name, idx] of rows) {
    const series = grid(t, idx);
    if (series) out.set(name, series);
  }
  return out;
}

/** Rows `idx` as a [chains, draws] grid, or undefined when they do not fill it exactly once. */
function grid(t: ChiTermsColumns, idx: readonly number[]): ChainDraws | undefined {
  let chains = 0, draws = 0;
  for (const i of idx) {
    chains = Math.max(chains, t.chain[i] + 1);
    draws = Math.max(draws, t.draw[i] + 1);
  }
  if (chains * draws !== idx.length) return undefined;
  const values = new Float64Array(idx.length);
  const seen = new Uint8Array(idx.length);
  for (const i of idx) {
    const at = t.chain[i] * draws + t.draw[i];
    if (seen[at]) return undefined;
    seen[at] = 1;
    values[at] = t.term[i];
  }
  return { values, chains, draws };
}
