/**
 * Appendix D's lists: for each dataset and head, the top distinct high positive (and negative)
 * susceptibility tokens, in order, taken from the top hundred per-token values, each with a short piece of
 * the preceding context (x_{k-1} x_k) and its value.
 */

import { type ContextIndex, groupKey, type PerTokenIndex, tokenText } from "./per_token.ts";

/** One listed token: the predicted piece y with the preceding pieces and the value of its best instance. */
export interface TopToken {
  text: string;
  /** The `contextWidth` pieces before y, oldest first. */
  before: string[];
  chi: number;
  context: number;
  position: number;
  /** How many of the pool's instances have this token. */
  countInPool: number;
}

/** Options of topTokens. */
export interface TopTokenOptions {
  /** Distinct tokens to list (appendix D: three). */
  n?: number;
  /** Instances considered (appendix D: the top hundred). */
  pool?: number;
  /** Preceding pieces shown (appendix D: two). */
  contextWidth?: number;
}

/** Top distinct tokens of a (probe, restriction) group, for `sign` +1 (most positive) or −1 (most negative). */
export function topTokens(
  idx: PerTokenIndex,
  ctx: ContextIndex,
  probe: string,
  restriction: string,
  sign: 1 | -1,
  opts: TopTokenOptions = {},
): TopToken[] {
  const { n = 3, pool = 100, contextWidth = 2 } = opts;
  const g = idx.groups.get(groupKey(probe, restriction));
  if (!g) return [];
  const c = idx.columns;
  const candidates = g.rows.filter((i) => sign * c.chi[i] > 0).sort((a, b) => sign * (c.chi[b] - c.chi[a]))
    .slice(0, pool);
  const byText = new Map<string, TopToken>();
  for (const i of candidates) {
    const text = tokenText(ctx, probe, c.context[i], c.position[i]) ?? `#${c.position[i]}`;
    const seen = byText.get(text);
    if (seen) {
      seen.countInPool++;
      continue;
    }
    const before: string[] = [];
    for (let p = Math.max(0, c.position[i] - contextWidth); p < c.position[i]; p++) {
      before.push(tokenText(ctx, probe, c.context[i], p) ?? "");
    }
    byText.set(text, {
      text,
      before,
      chi: c.chi[i],
      context: c.context[i],
      position: c.position[i],
      countInPool: 1,
    });
  }
  return [...byText.values()].slice(0, n);
}
