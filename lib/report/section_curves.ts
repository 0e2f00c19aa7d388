/** Sections for Figs. 3-5 (χ per head over checkpoints, per probe) and the restricted LLC over checkpoints. */

import { type SusceptibilityColumns } from "../tables/schema.ts";
import { FULL } from "../model/restriction.ts";
import type { ChartSet } from "./charts.ts";
import type { ReportSection } from "./html.ts";
import type { ReportOptions } from "./options.ts";
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

/** Figs. 3-5: susceptibility per head over training, one panel per probe. */
export async function susceptibilitySection(
  t: SusceptibilityColumns,
  charts: ChartSet,
  opts: ReportOptions,
): Promise<ReportSection> {
  const pts = curvePoints(t, "chi");
  const body = await charts.figure(
    "susceptibility-curves",
    susceptibilityCurves(pts, { config: opts.config }),
  );
  return {
    id: "susceptibility",
    title: "Susceptibilities per head over training (Figs. 3-5)",
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
): Promise<ReportSection> {
  // One SGLD run serves every probe of a checkpoint (lib/estimate/unit.ts), and the LLC is that of the base
  // data's sampling loss: the probes' rows repeat one estimate, so it is drawn once, from the first probe's rows.
  const all = curvePoints(t, "llc");
  const first = [...new Set(all.map((p) => p.probe))].sort()[0];
  const pts = all.filter((p) => p.probe === first).map((p) => ({ ...p, probe: "all probes" }));
  const body = await charts.figure(
    "llc-curves",
    susceptibilityCurves(pts, { config: opts.config, valueTitle: "restricted LLC" }),
  );
  return {
    id: "llc",
    title: "Restricted LLC per head over training",
    caption:
      "Local learning coefficient of each head's restricted posterior (eq. 26, mean ± standard error; paired runs " +
      "centre each draw on a copy that stays at w*, so the batch noise of L0 is inside the band) against the " +
      "checkpoint step (log axis). It is a property of the sampling run on the base data, not of a probe: drawn " +
      `once per restriction (from the rows of probe "${first}").`,
    body,
  };
}
