/**
 * Indexing of per-token susceptibilities (Definition 3.2, eq. 44) for one checkpoint: rows grouped by
 * (probe, restriction), with the decoded context pieces from contexts.arrow so that each value can be
 * shown next to the token it belongs to (the predicted token y at `position`, context x = positions before).
 */

import { type ContextsColumns, type PerTokenColumns } from "../tables/schema.ts";
import { compareRestrictions } from "../model/restriction.ts";

/** Per-token rows of one (probe, restriction) at one step. */
export interface PerTokenGroup {
  probe: string;
  restriction: string;
  /** Row indices into the per-token columns. */
  rows: number[];
}

/** Per-token rows of one step, grouped. */
export interface PerTokenIndex {
  step: number;
  probes: string[];
  restrictions: string[];
  /** Keyed by groupKey(probe, restriction). */
  groups: Map<string, PerTokenGroup>;
  columns: PerTokenColumns;
}

/** Decoded probe contexts: texts[position] and tokens[position] per (probe, context). */
export interface ContextIndex {
  texts: Map<string, string[]>;
  tokens: Map<string, number[]>;
}

export const groupKey = (probe: string, restriction: string): string => `${probe}\u0000${restriction}`;
export const contextKey = (probe: string, context: number): string => `${probe}\u0000${context}`;

/** The latest step that has per-token values (the paper uses the final checkpoint, appendix C.2). */
export function latestStep(pt: PerTokenColumns): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < pt.step.length; i++) if (best === undefined || pt.step[i] > best) best = pt.step[i];
  return best;
}

/** Groups the per-token rows of `step` by (probe, restriction); "full" rows are kept as their own group. */
export function indexPerToken(pt: PerTokenColumns, step: number): PerTokenIndex {
  const groups = new Map<string, PerTokenGroup>();
  const probes: string[] = [];
  const restrictions = new Set<string>();
  for (let i = 0; i < pt.step.length; i++) {
    if (pt.step[i] !== step) continue;
    const key = groupKey(pt.probe[i], pt.restriction[i]);
    let g = groups.get(key);
    if (!g) {
      g = { probe: pt.probe[i], restriction: pt.restriction[i], rows: [] };
      groups.set(key, g);
      if (!probes.includes(g.probe)) probes.push(g.probe);
      restrictions.add(g.restriction);
    }
    g.rows.push(i);
  }
  return { step, probes, restrictions: [...restrictions].sort(compareRestrictions), groups, columns: pt };
}

/** Indexes contexts.arrow by (probe, context); positions missing from the file read as "" / -1. */
export function indexContexts(c: ContextsColumns): ContextIndex {
  const texts = new Map<string, string[]>();
  const tokens = new Map<string, number[]>();
  for (let i = 0; i < c.position.length; i++) {
    const key = contextKey(c.probe[i], c.context[i]);
    let t = texts.get(key);
    let k = tokens.get(key);
    if (!t || !k) {
      t = [];
      k = [];
      texts.set(key, t);
      tokens.set(key, k);
    }
    const p = c.position[i];
    while (t.length <= p) {
      t.push("");
      k.push(-1);
    }
    t[p] = c.text[i];
    k[p] = c.token[i];
  }
  return { texts, tokens };
}

/** The decoded piece at (probe, context, position), or undefined when contexts.arrow lacks it. */
export function tokenText(
  ctx: ContextIndex,
  probe: string,
  context: number,
  position: number,
): string | undefined {
  const t = ctx.texts.get(contextKey(probe, context));
  return t && position < t.length ? t[position] : undefined;
}

/** Mean per-token χ of each (probe, restriction) group: the average in eq. 45. */
export function groupMeans(idx: PerTokenIndex): Map<string, { mean: number; count: number }> {
  const out = new Map<string, { mean: number; count: number }>();
  for (const [key, g] of idx.groups) {
    let s = 0;
    for (const i of g.rows) s += idx.columns.chi[i];
    out.set(key, { mean: s / g.rows.length, count: g.rows.length });
  }
  return out;
}

/** χ by position for one (probe, restriction, context); NaN where there is no value (e.g. position 0). */
export function contextValues(
  idx: PerTokenIndex,
  probe: string,
  restriction: string,
  context: number,
  nCtx: number,
): Float64Array {
  const out = new Float64Array(nCtx).fill(NaN);
  const g = idx.groups.get(groupKey(probe, restriction));
  if (!g) return out;
  const c = idx.columns;
  for (const i of g.rows) if (c.context[i] === context && c.position[i] < nCtx) out[c.position[i]] = c.chi[i];
  return out;
}

/** Per-token χ values of one group whose predicted token decodes to `text` (Fig. 11). */
export function valuesForToken(
  idx: PerTokenIndex,
  ctx: ContextIndex,
  probe: string,
  restriction: string,
  text: string,
): number[] {
  const g = idx.groups.get(groupKey(probe, restriction));
  if (!g) return [];
  const c = idx.columns;
  const out: number[] = [];
  for (const i of g.rows) if (tokenText(ctx, probe, c.context[i], c.position[i]) === text) out.push(c.chi[i]);
  return out;
}

/** The most frequent predicted-token texts of a probe (counted over one group), most frequent first. */
export function frequentTokens(
  idx: PerTokenIndex,
  ctx: ContextIndex,
  probe: string,
  restriction: string,
  n: number,
): { text: string; count: number }[] {
  const g = idx.groups.get(groupKey(probe, restriction));
  if (!g) return [];
  const c = idx.columns;
  const counts = new Map<string, number>();
  for (const i of g.rows) {
    const t = tokenText(ctx, probe, c.context[i], c.position[i]);
    if (t !== undefined) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return [...counts].map(([text, count]) => ({ text, count })).sort((a, b) =>
    b.count - a.count || (a.text < b.text ? -1 : 1)
  )
    .slice(0, n);
}
