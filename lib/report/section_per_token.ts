/**
 * Per-token sections (section 4.4-4.6, appendices C.2 and D): highlighted text (Figs. 1, 8), top tokens per
 * head and probe (appendix D), histograms for chosen tokens (Fig. 11) and mean per-token against overall χ
 * (Fig. 9).
 */

import {
  type ContextIndex,
  contextKey,
  contextValues,
  frequentTokens,
  groupKey,
  type PerTokenIndex,
  valuesForToken,
} from "../analysis/per_token.ts";
import { perTokenVsOverall } from "../analysis/per_token_vs_overall.ts";
import { histogram } from "../analysis/stats.ts";
import type { SusceptibilityColumns } from "../tables/schema.ts";
import { type TopToken, topTokens } from "../analysis/top_tokens.ts";
import type { ChartSet } from "./charts.ts";
import { escapeHtml } from "./escape.ts";
import { bandLegendHtml, displayPiece, highlightedContextHtml } from "./highlighted_text.ts";
import { type ReportSection, tableHtml } from "./html.ts";
import type { ReportOptions } from "./options.ts";
import { perTokenVsOverallChart } from "./specs/per_token_vs_overall.ts";
import { type HistogramBar, tokenHistograms } from "./specs/token_histograms.ts";
import { sharedMax } from "./token_colour.ts";
import type { RunWarning } from "../analysis/run_warnings.ts";
import { warningsHtml } from "./warnings_html.ts";

/**
 * What the context-reading sections (highlighted text, top tokens, token histograms) show: the per-token values
 * at one step, the decoded contexts they refer to, and the heads and probes chosen for the report.
 */
export interface PerTokenSelection {
  idx: PerTokenIndex;
  ctx: ContextIndex;
  heads: readonly string[];
  probes: readonly string[];
}

/** Context ids that have per-token values for (probe, head), ascending. */
function contextIds(idx: PerTokenIndex, probe: string, head: string): number[] {
  const g = idx.groups.get(groupKey(probe, head));
  return g ? [...new Set(g.rows.map((i) => idx.columns.context[i]))].sort((a, b) => a - b) : [];
}

/** Figs. 1 and 8: a few contexts per probe, each token banded by the chosen heads, shared normalization. */
export function highlightedTextSection(sel: PerTokenSelection, opts: ReportOptions): ReportSection {
  const { idx, ctx, heads, probes } = sel;
  const perProbe = opts.contextsPerProbe ?? 2;
  const maxTokens = opts.maxTokensShown ?? 256;
  const shown: { probe: string; context: number; pieces: string[]; values: Float64Array[] }[] = [];
  for (const probe of probes) {
    for (const context of contextIds(idx, probe, heads[0]).slice(0, perProbe)) {
      const pieces = (ctx.texts.get(contextKey(probe, context)) ?? []).slice(0, maxTokens);
      if (pieces.length === 0) continue;
      const values = heads.map((h) => contextValues(idx, probe, h, context, pieces.length));
      shown.push({ probe, context, pieces, values });
    }
  }
  const max = sharedMax(shown.flatMap((s) => s.values));
  const blocks = probes.map((probe) => {
    const mine = shown.filter((s) => s.probe === probe);
    if (mine.length === 0) return `<h3>${escapeHtml(probe)}</h3><p>No context with per-token values.</p>`;
    return `<h3>${escapeHtml(probe)}</h3>` +
      mine.map((s) =>
        `<div class="legend"><span>context ${s.context}</span></div>` +
        highlightedContextHtml({ pieces: s.pieces, heads, values: s.values }, max)
      ).join("");
  });
  return {
    id: "per-token-text",
    title: "Per-token susceptibilities in context (Figs. 1, 8)",
    summary: highlightedSummary(shown, probes.length),
    caption:
      `Each token y is highlighted by its per-token susceptibility χ_(x,y) (eq. 44, step ${idx.step}) in one ` +
      `horizontal band per head (${
        heads.join(", ")
      }, top to bottom): green positive, red negative, opacity |χ|/max ` +
      `(appendix C.2, second algorithm) with max = ${
        max.toPrecision(3)
      } shared across all contexts and heads shown. ` +
      `The first token has no value. Hover a token for its values. Paper: Figs. 1 and 8.`,
    body: bandLegendHtml(heads, max) + blocks.join("\n"),
  };
}

/** One sentence: the contexts shown and the range of their per-token χ. */
export function highlightedSummary(shown: readonly { values: Float64Array[] }[], probes: number): string {
  let lo = Infinity, hi = -Infinity, n = 0;
  for (const s of shown) {
    for (const v of s.values) {
      for (const x of v) {
        if (!Number.isFinite(x)) continue;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
        n++;
      }
    }
  }
  if (n === 0) return "No context has per-token values.";
  return `${shown.length} contexts of ${probes} probes, ${n} (token, head) values from ${
    lo.toPrecision(3)
  } to ` +
    `${hi.toPrecision(3)}.`;
}

function topTokenHtml(t: TopToken): string {
  const before = t.before.map(displayPiece).join("");
  const cls = t.chi > 0 ? "pos" : "neg";
  return `<span style="color:#777">${before}</span><code class="piece">${displayPiece(t.text)}</code> ` +
    `<span class="${cls}">${t.chi.toPrecision(3)}</span>${
      t.countInPool > 1 ? ` <small>×${t.countInPool}</small>` : ""
    }`;
}

/** One sentence: the largest and the most negative per-token χ among the listed tokens. */
export function topTokensSummary(found: readonly { t: TopToken; head: string; probe: string }[]): string {
  if (found.length === 0) return "No token is listed.";
  const sorted = [...found].sort((a, b) => a.t.chi - b.t.chi);
  const say = (f: (typeof found)[number]) =>
    `${f.t.chi.toPrecision(3)} (token ${JSON.stringify(f.t.text)}, head ${f.head}, probe ${f.probe})`;
  return `The largest listed per-token χ is ${say(sorted[sorted.length - 1])}; the most negative ` +
    `${say(sorted[0])}.`;
}

/** Appendix D: top distinct positive and negative tokens per head and probe. */
export function topTokensSection(sel: PerTokenSelection, opts: ReportOptions): ReportSection {
  const { idx, ctx, heads, probes } = sel;
  const n = opts.topTokens ?? 3;
  const pool = opts.topPool ?? 100;
  const found: { t: TopToken; head: string; probe: string }[] = [];
  const blocks = probes.map((probe) => {
    const rows = heads.map((head) => {
      const pos = topTokens(idx, ctx, probe, head, 1, { n, pool });
      const neg = topTokens(idx, ctx, probe, head, -1, { n, pool });
      for (const t of [...pos, ...neg]) found.push({ t, head, probe });
      return [head, { html: pos.map(topTokenHtml).join("<br>") || "—" }, {
        html: neg.map(topTokenHtml).join("<br>") || "—",
      }];
    });
    return `<h3>${escapeHtml(probe)}</h3>` + tableHtml(["head", "top positive", "top negative"], rows);
  });
  return {
    id: "top-tokens",
    title: "Top positive and negative tokens per head (appendix D)",
    summary: topTokensSummary(found),
    caption:
      `For each probe and head, the first ${n} distinct predicted tokens y (boxed) among the ${pool} largest ` +
      `(respectively most negative) per-token susceptibilities at step ${idx.step}, with the two preceding context ` +
      `pieces in grey, the value of the token's strongest instance and, when it recurs, its count in the pool. ` +
      `"↵" is a newline, "→" a tab. Paper: appendix D.`,
    body: blocks.join("\n"),
  };
}

/** Fig. 11: histograms of per-token χ for chosen tokens. */
export async function tokenHistogramSection(
  sel: PerTokenSelection,
  charts: ChartSet,
  opts: ReportOptions,
): Promise<ReportSection> {
  const { idx, ctx, heads, probes } = sel;
  const maxPanels = 12;
  const bars: HistogramBar[] = [];
  let panels = 0, tokensShown = 0;
  let truncated = false;
  for (const probe of probes) {
    const tokens = opts.histogramTokens ?? frequentTokens(idx, ctx, probe, heads[0], 1).map((t) => t.text);
    for (const token of tokens) {
      for (const head of heads) {
        const v = valuesForToken(idx, ctx, probe, head, token);
        if (v.length === 0) continue;
        if (panels >= maxPanels) {
          truncated = true;
          continue;
        }
        panels++;
        tokensShown += v.length;
        const panel = `${head} · ${probe} · ${JSON.stringify(token)} (n=${v.length})`;
        for (const b of histogram(v, 30)) bars.push({ panel, ...b });
      }
    }
  }
  const which = opts.histogramTokens ? "the requested tokens" : "each probe's most frequent predicted token";
  const body = bars.length
    ? await charts.figure("token-histograms", tokenHistograms(bars, { config: opts.config }))
    : "<p>None of the chosen tokens occurs in the per-token data.</p>";
  return {
    id: "token-histograms",
    title: "Per-token susceptibility histograms for chosen tokens (Fig. 11)",
    summary: `${panels} panels (token × head × probe) of ${tokensShown} token occurrences in all.`,
    caption:
      `Distribution of per-token χ over all occurrences of ${which} as the predicted token y, per head and probe ` +
      `(step ${idx.step}, 30 equal-width bins). Bimodal shapes point to a token used in two different roles. ` +
      `Paper: Figs. 11, 35, 36.${truncated ? ` Only the first ${maxPanels} panels are shown.` : ""}`,
    body,
  };
}

/** Fig. 9: mean per-token χ against overall χ, with fit line, slope and Pearson r. */
export async function perTokenVsOverallSection(
  idx: PerTokenIndex,
  sus: SusceptibilityColumns,
  charts: ChartSet,
  opts: ReportOptions,
  warnings: readonly RunWarning[] = [],
): Promise<ReportSection> {
  const d = perTokenVsOverall(idx, sus);
  const body = (d.points.length
    ? await charts.figure(
      "per-token-vs-overall",
      perTokenVsOverallChart(d.points, d, { config: opts.config }),
    )
    : `<p>No (head, probe) has both per-token values and an overall χ at step ${idx.step}.</p>`) +
    warningsHtml(
      warnings.filter((w) => w.estimate === "chain (per_token)" && w.step === idx.step),
      "Warnings on the per-token sampler's chains",
    );
  const slope = d.fit ? d.fit.slope.toFixed(3) : "n/a";
  const r = Number.isFinite(d.r) ? d.r.toFixed(3) : "n/a";
  const expected = d.expectedSlope !== undefined
    ? `eq. 45 predicts y ≈ x/δh, slope ${d.expectedSlope.toPrecision(3)} (grey line)`
    : "δh differs between rows, so no single eq. 45 line is drawn";
  return {
    id: "per-token-vs-overall",
    title: "Mean per-token susceptibility against susceptibility (Fig. 9)",
    summary:
      `Over ${d.points.length} (head, probe) points the least-squares slope is ${slope} and Pearson r = ` +
      `${r}, against the paper's slope 15.99 and r = 0.817${
        d.expectedSlope !== undefined ? ` (eq. 45 predicts ${d.expectedSlope.toPrecision(3)})` : ""
      }.`,
    caption:
      `One point per (head, probe) at step ${idx.step}: x = χ from susceptibility.arrow (eq. 41), y = the mean of ` +
      `the probe's per-token susceptibilities (eq. 44); ${expected}. Dotted red: least-squares line, slope ` +
      `${slope}, Pearson r = ${r}. Paper: Fig. 9 (slope 15.99 against a predicted 10, r = 0.817).`,
    body,
  };
}
