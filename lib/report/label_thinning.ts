/**
 * Which points of a connected scatter get a text label so that no two labels overlap (Fig. 14's step labels).
 * Works in plotted pixels: each label is a box to the upper right of its point (text placed at dx, dy with
 * align left), its width from the text's length. Each trajectory's first and last points are placed first, the
 * points between after them in order; a label is kept when its box clears every kept box by `gap` pixels and
 * every other point's ring (so that no start marker hides a label).
 */

/** A point in plotted pixels (y grows downwards, as on screen) with its trajectory and label text. */
export interface LabelCandidate {
  x: number;
  y: number;
  /** Trajectory (e.g. dataset) the point belongs to; points of a trajectory come in plotting order. */
  group: string;
  text: string;
  /** Radius of a ring drawn around this point (the start marker): other points' labels keep off it. */
  ring?: number;
}

/** Label geometry in pixels: text offset from its point, glyph width, line height, clearance. */
export interface LabelBox {
  dx: number;
  dy: number;
  charWidth: number;
  height: number;
  gap: number;
}

/** Matches the text mark of specs/trajectories_2d.ts (fontSize 9: glyphs about 5.5 px wide; the offset clears the start ring). */
export const DEFAULT_LABEL_BOX: LabelBox = { dx: 8, dy: -6, charWidth: 5.5, height: 10, gap: 2 };

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function boxOf(p: LabelCandidate, b: LabelBox): Box {
  const x0 = p.x + b.dx, y1 = p.y + b.dy;
  return { x0, x1: x0 + b.charWidth * p.text.length, y0: y1 - b.height, y1 };
}

function overlaps(a: Box, c: Box, gap: number): boolean {
  return a.x0 < c.x1 + gap && c.x0 < a.x1 + gap && a.y0 < c.y1 + gap && c.y0 < a.y1 + gap;
}

/** The order labels are tried in: every trajectory's first point, then every last point, then the rest. */
function priority(points: readonly LabelCandidate[]): number[] {
  const byGroup = new Map<string, number[]>();
  points.forEach((p, i) => byGroup.set(p.group, [...(byGroup.get(p.group) ?? []), i]));
  const groups = [...byGroup.values()];
  const firsts = groups.map((g) => g[0]);
  const lasts = groups.filter((g) => g.length > 1).map((g) => g[g.length - 1]);
  const middles = groups.flatMap((g) => g.slice(1, -1));
  return [...firsts, ...lasts, ...middles];
}

/**
 * Indices of the points to label, ascending. Labels never overlap: a trajectory's first and last are kept
 * unless a label placed before covers that spot (trajectories that start together share one start label; the
 * start marker of specs/trajectories_2d.ts still marks every start), and a point between is labelled only where
 * its label clears every kept one.
 */
export function thinLabels(points: readonly LabelCandidate[], box: LabelBox = DEFAULT_LABEL_BOX): number[] {
  const kept: Box[] = [];
  const out: number[] = [];
  const rings = points.flatMap((p, i) =>
    p.ring ? [{ i, box: { x0: p.x - p.ring, x1: p.x + p.ring, y0: p.y - p.ring, y1: p.y + p.ring } }] : []
  );
  for (const i of priority(points)) {
    const b = boxOf(points[i], box);
    if (kept.some((k) => overlaps(k, b, box.gap))) continue;
    if (rings.some((r) => r.i !== i && overlaps(r.box, b, 0))) continue;
    kept.push(b);
    out.push(i);
  }
  return out.sort((a, b) => a - b);
}
