/** Diagnostics: SGLD loss traces per chain (traces.arrow) for a few (probe, restriction) at the latest step. */

import { type TracesColumns } from "../tables/schema.ts";
import { compareRestrictions } from "../model/restriction.ts";
import type { ChartSet } from "./charts.ts";
import type { ReportSection } from "./html.ts";
import type { ReportOptions } from "./options.ts";
import { lossTraces, type TracePoint } from "./specs/loss_traces.ts";

/** One sentence: the shown chains' mean draw loss over the first and the second half of their draws. */
export function tracesSummary(pts: readonly TracePoint[], step: number): string {
  if (pts.length === 0) return `No trace at step ${step}.`;
  let maxDraw = 0;
  for (const p of pts) maxDraw = Math.max(maxDraw, p.draw);
  const half = [[0, 0], [0, 0]];
  for (const p of pts) {
    const h = half[p.draw * 2 > maxDraw ? 1 : 0];
    h[0] += p.loss;
    h[1]++;
  }
  const [a, b] = half.map(([s, n]) => s / Math.max(n, 1));
  return `At step ${step} the shown chains' mean draw loss is ${
    a.toPrecision(5)
  } over the first half of the ` +
    `draws and ${b.toPrecision(5)} over the second (change ${(b - a).toPrecision(2)}).`;
}

/** Up to `maxPanels` panels of the latest step, preferring the first probe; at most 400 draws per chain drawn. */
export async function tracesSection(
  t: TracesColumns,
  charts: ChartSet,
  opts: ReportOptions,
  maxPanels = 6,
): Promise<ReportSection> {
  let last = -Infinity;
  for (let i = 0; i < t.step.length; i++) last = Math.max(last, t.step[i]);
  const combos: { probe: string; restriction: string }[] = [];
  const seen = new Set<string>();
  let maxDraw = 0;
  for (let i = 0; i < t.step.length; i++) {
    if (t.step[i] !== last) continue;
    maxDraw = Math.max(maxDraw, t.draw[i]);
    const key = `${t.probe[i]}\u0000${t.restriction[i]}`;
    if (!seen.has(key)) {
      seen.add(key);
      combos.push({ probe: t.probe[i], restriction: t.restriction[i] });
    }
  }
  combos.sort((
    a,
    b,
  ) => (a.probe === b.probe
    ? compareRestrictions(a.restriction, b.restriction)
    : a.probe < b.probe
    ? -1
    : 1)
  );
  const chosen = new Map(
    combos.slice(0, maxPanels).map((
      c,
    ) => [`${c.probe}\u0000${c.restriction}`, `${c.probe} · ${c.restriction}`]),
  );
  const stride = Math.max(1, Math.ceil((maxDraw + 1) / 400));
  const pts: TracePoint[] = [];
  for (let i = 0; i < t.step.length; i++) {
    if (t.step[i] !== last || t.draw[i] % stride !== 0) continue;
    const panel = chosen.get(`${t.probe[i]}\u0000${t.restriction[i]}`);
    if (panel) pts.push({ panel, chain: t.chain[i], draw: t.draw[i], loss: t.loss[i] });
  }
  return {
    id: "traces",
    summary: tracesSummary(pts, last),
    title: "SGLD loss traces (diagnostics)",
    caption:
      `Loss L_n(w_t) at each SGLD draw for every chain, step ${last}, for ${chosen.size} of ${combos.length} ` +
      `(probe, restriction) pairs${
        stride > 1 ? `, every ${stride}th draw` : ""
      }. Chains should reach a common plateau ` +
      `without drifting or diverging; otherwise the estimates of χ and the LLC are not trustworthy.`,
    body: await charts.figure("loss-traces", lossTraces(pts, { config: opts.config })),
  };
}
