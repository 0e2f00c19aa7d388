/** Fig. 7: per-token susceptibility against ablation delta as binned 2-D densities with Pearson r per panel. */

import { joinAblation } from "../analysis/ablation_join.ts";
import type { PerTokenIndex } from "../analysis/per_token.ts";
import { bin2d, extent, pearson } from "../analysis/stats.ts";
import type { AblationColumns } from "../tables/schema.ts";
import type { ChartSet } from "./charts.ts";
import type { ReportSection } from "./html.ts";
import type { ReportOptions } from "./options.ts";
import { type DensityCell, densityPanels } from "./specs/density_2d.ts";

/** Bins per axis: fine enough to show the shape, coarse enough to keep the inline SVG small. */
const BINS = 32;

/**
 * |r| below this counts as the negligible correlation the paper reports for Fig. 7 (it shows r only as
 * insets and gives no number in the text); 0.1 is the usual threshold of a negligible effect (Cohen).
 */
export const NEGLIGIBLE_R = 0.1;

/** One sentence: the measured correlations and whether they agree with the paper's "negligible". */
export function ablationSummary(panels: readonly { name: string; r: number; n: number }[]): string {
  const ok = panels.filter((p) => Number.isFinite(p.r));
  if (ok.length === 0) return "No panel has enough tokens for a correlation.";
  const sorted = [...ok].sort((a, b) => a.r - b.r);
  const big = ok.filter((p) => Math.abs(p.r) >= NEGLIGIBLE_R);
  const verdict = big.length === 0
    ? `every |r| is below ${NEGLIGIBLE_R}, as the paper's "negligible correlation" (Fig. 7)`
    : `this differs from the paper's "negligible correlation" (Fig. 7) in ${big.length} of ${ok.length} panels ` +
      `with |r| ≥ ${NEGLIGIBLE_R} (${big.map((p) => `${p.name}: ${p.r.toFixed(3)}`).join(", ")})`;
  return `Pearson r between per-token χ and ablation delta ranges from ${sorted[0].r.toFixed(3)} ` +
    `(${sorted[0].name}) to ${sorted[sorted.length - 1].r.toFixed(3)} (${
      sorted[sorted.length - 1].name
    }) over ` +
    `${ok.length} panels of ${ok.reduce((a, p) => a + p.n, 0)} tokens; ${verdict}.`;
}

/** Panels = first two probes (rows) × chosen heads (columns), shared 32 × 32 bins over all panels. */
export async function ablationSection(
  idx: PerTokenIndex,
  ab: AblationColumns,
  heads: readonly string[],
  probes: readonly string[],
  charts: ChartSet,
  opts: ReportOptions,
): Promise<ReportSection> {
  const panels = probes.slice(0, 2).flatMap((probe) => heads.map((restriction) => ({ probe, restriction })));
  const pairs = joinAblation(idx, ab, panels).filter((p) => p.chi.length > 0);
  const xDom = extent(Float64Array.from(pairs.flatMap((p) => [...extent(p.chi)])));
  const yDom = extent(Float64Array.from(pairs.flatMap((p) => [...extent(p.delta)])));
  const cells: DensityCell[] = [];
  const rs: string[] = [];
  const measured: { name: string; r: number; n: number }[] = [];
  for (const p of pairs) {
    const r = p.chi.length >= 2 ? pearson(p.chi, p.delta) : NaN;
    const panel = `${p.restriction} · ${p.probe} (r = ${
      Number.isFinite(r) ? r.toFixed(3) : "n/a"
    }, n = ${p.chi.length})`;
    rs.push(`${p.restriction}/${p.probe}: ${Number.isFinite(r) ? r.toFixed(3) : "n/a"}`);
    measured.push({ name: `${p.restriction}/${p.probe}`, r, n: p.chi.length });
    for (const c of bin2d(p.chi, p.delta, BINS, BINS, xDom, yDom)) cells.push({ panel, ...c });
  }
  const body = cells.length
    ? await charts.figure(
      "ablation-density",
      densityPanels(cells, { config: opts.config, columns: Math.max(1, heads.length) }),
    )
    : `<p>No token has both a per-token susceptibility and an ablation delta at step ${idx.step}.</p>`;
  return {
    id: "ablation",
    title: "Per-token susceptibility against ablation delta (Fig. 7)",
    summary: ablationSummary(measured),
    caption:
      `Density of tokens by per-token χ (x) and ablation delta (y: loss with the head zero-ablated minus the ` +
      `unablated loss), step ${idx.step}, rows = probes, columns = heads, log colour scale of counts in ${BINS} × ${BINS} ` +
      `bins shared by all panels. Pearson r per panel: ${
        rs.join("; ") || "n/a"
      }. Paper: Fig. 7 (negligible correlation).`,
    body,
  };
}
