/**
 * Bayesian influence functions (influence.arrow, scripts/influence.ts): for a few probe tokens, the training
 * tokens with the largest |BIF(i, j)| = |Cov_w[ℓ_i, ℓ_j]|, with their sign and standard error.
 */
import type { InfluenceColumns } from "../tables/schema.ts";
import { tableHtml } from "./html.ts";
import type { ReportSection } from "./html.ts";

/** Rows of `t` grouped by probe token (probe, context, position), in file order. */
function byProbeToken(t: InfluenceColumns): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let r = 0; r < t.bif.length; r++) {
    const key = `${t.probe[r]}\u0000${t.step[r]}\u0000${t.probe_context[r]}\u0000${t.probe_position[r]}`;
    let rows = out.get(key);
    if (!rows) out.set(key, rows = []);
    rows.push(r);
  }
  return out;
}

/** One sentence: how many pairs are resolved and the strongest influence. */
export function influenceSummary(t: InfluenceColumns, resolved: number): string {
  if (t.bif.length === 0) return "influence.arrow has no rows.";
  let best = 0;
  for (let r = 1; r < t.bif.length; r++) if (Math.abs(t.bif[r]) > Math.abs(t.bif[best])) best = r;
  return `${resolved} of ${t.bif.length} (probe token, training token) pairs lie beyond 3 SE; the strongest ` +
    `influence is ${t.bif[best].toExponential(2)} ± ${t.bif_se[best].toExponential(1)} of training token ` +
    `${JSON.stringify(t.train_text[best])} on ${t.probe[best]} token ${JSON.stringify(t.probe_text[best])}.`;
}

/** The section: `probeTokens` probe tokens (those with the strongest single influence), `top` training tokens each. */
export function influenceSection(t: InfluenceColumns, probeTokens = 4, top = 5): ReportSection {
  const groups = [...byProbeToken(t).values()].map((rows) =>
    rows.sort((a, b) => Math.abs(t.bif[b]) - Math.abs(t.bif[a])).slice(0, top)
  );
  groups.sort((a, b) => Math.abs(t.bif[b[0]]) - Math.abs(t.bif[a[0]]));
  const shown = groups.slice(0, probeTokens);
  const rows = shown.flatMap((g) =>
    g.map((r, k) => [
      k === 0
        ? `${t.probe[r]} ${JSON.stringify(t.probe_text[r])} (ctx ${t.probe_context[r]}, pos ${
          t.probe_position[r]
        })`
        : "",
      `${JSON.stringify(t.train_text[r])} (ctx ${t.train_context[r]}, pos ${t.train_position[r]})`,
      `${t.bif[r].toExponential(2)} ± ${t.bif_se[r].toExponential(1)}`,
      Number.isFinite(t.bif_se[r]) && t.bif_se[r] > 0 ? (t.bif[r] / t.bif_se[r]).toFixed(1) : "—",
    ])
  );
  let resolved = 0;
  for (let r = 0; r < t.bif.length; r++) if (Math.abs(t.bif[r]) > 3 * t.bif_se[r]) resolved++;
  return {
    id: "influence",
    title: "Bayesian influence of training tokens on probe tokens",
    summary: influenceSummary(t, resolved),
    caption:
      "BIF(i, j) = −Cov_w[ℓ_i, ℓ_j] under the localized posterior of the whole model (mean ± standard error over " +
      "chains): negative when the weight fluctuations that lower training token j's loss also lower probe token " +
      `i's — j's data helps i. Shown: the ${shown.length} probe tokens with the strongest single influence and ` +
      `their ${top} most influential training tokens; ${resolved} of ${t.bif.length} pairs are beyond 3 SE.`,
    body: tableHtml(["probe token", "training token", "BIF ± SE", "BIF / SE"], rows),
  };
}
