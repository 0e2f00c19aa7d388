/**
 * Per-token susceptibilities as highlighted text (Figs. 1 and 8): each token piece is drawn once with its
 * background split into horizontal bands, one per head (top to bottom in the order given), each band
 * coloured by tokenColour with the shared maximum. The tooltip lists the values. Whitespace pieces stay
 * visible: newlines show as "↵" followed by a line break, tabs as "→".
 */

import { escapeHtml } from "./escape.ts";
import { tokenColour } from "./token_colour.ts";

/** One context with per-head values by position. */
export interface HighlightedContext {
  pieces: readonly string[];
  heads: readonly string[];
  /** values[h][position]; NaN where a head has no value (position 0). */
  values: readonly ArrayLike<number>[];
}

/** Visible form of a piece: "↵" for newlines, "→" for tabs, escaped. */
export function displayPiece(piece: string): string {
  return escapeHtml(piece.replace(/\t/g, "→").replace(/\r?\n/g, "↵"));
}

/** CSS background with one hard-edged band per head. */
export function bandBackground(colours: readonly string[]): string {
  if (colours.length === 1) return colours[0];
  const step = 100 / colours.length;
  const stops = colours.map((c, i) => `${c} ${(i * step).toFixed(2)}% ${((i + 1) * step).toFixed(2)}%`);
  return `linear-gradient(to bottom, ${stops.join(", ")})`;
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(3) : "n/a";
}

/** HTML of one highlighted context (a <div class="ctx">), normalized by `max`. */
export function highlightedContextHtml(ctx: HighlightedContext, max: number): string {
  const spans = ctx.pieces.map((piece, p) => {
    const colours = ctx.values.map((v) => tokenColour(v[p], max));
    const tip = ctx.heads.map((h, i) => `${h}: ${formatValue(ctx.values[i][p])}`).join("; ");
    const title = escapeHtml(`position ${p} ${JSON.stringify(piece)} — ${tip}`);
    const br = /\n/.test(piece) ? "<br>" : "";
    return `<span class="tok" style="background:${bandBackground(colours)}" title="${title}">${
      displayPiece(piece)
    }</span>${br}`;
  });
  return `<div class="ctx">${spans.join("")}</div>`;
}

/** A small legend strip explaining the band order and the colour scale. */
export function bandLegendHtml(heads: readonly string[], max: number): string {
  const swatches = [-1, -0.5, 0, 0.5, 1].map((f) =>
    `<span class="swatch" style="background:${tokenColour(f * max, max)}">${formatValue(f * max)}</span>`
  ).join("");
  const order = heads.map((h, i) => `${i + 1}. ${escapeHtml(h)}`).join(" · ");
  return `<div class="legend"><span>bands top→bottom: ${order}</span><span class="scale">${swatches}</span></div>`;
}
