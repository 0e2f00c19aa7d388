/**
 * Fig. 14: each dataset's trajectory projected on the first two principal components, points joined in
 * checkpoint order, each start marked by a ring and labelled with its step, and as many other checkpoints
 * labelled with their step as fit without two labels overlapping (label_thinning.ts). The axes' domains are
 * set here, not by Vega, so that the thinning knows where each label lands in pixels.
 */

import type { TopLevelSpec } from "vega-lite";
import { categoryColor, REPORT_CONFIG, type StyleOptions } from "./theme.ts";
import { DEFAULT_LABEL_BOX, type LabelCandidate, thinLabels } from "../label_thinning.ts";

/** One trajectory point. */
export interface TrajectoryPoint {
  probe: string;
  step: number;
  pc1: number;
  pc2: number;
}

/** Options of trajectories2d. */
export interface Trajectory2dOptions extends StyleOptions {
  /** Axis titles, e.g. "PC1 (61%)". */
  xTitle?: string;
  yTitle?: string;
}

/** [min, max] of xs widened by 5 % on each side (a point on the edge keeps room for its mark). */
export function paddedDomain(xs: readonly number[]): [number, number] {
  let lo = Math.min(...xs), hi = Math.max(...xs);
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const pad = 0.05 * (hi - lo);
  return [lo - pad, hi + pad];
}

/** Area of the start ring (Vega point size, px²) and its radius. */
const RING_SIZE = 160;
const RING_RADIUS = Math.sqrt(RING_SIZE / Math.PI) + 1;

/** The label text of each point ("" for none): its step where thinLabels finds room. */
export function trajectoryLabels(
  points: readonly TrajectoryPoint[],
  width: number,
  height: number,
  xDom: [number, number],
  yDom: [number, number],
): string[] {
  const first = new Map<string, number>();
  for (const p of points) first.set(p.probe, Math.min(first.get(p.probe) ?? Infinity, p.step));
  const candidates: LabelCandidate[] = points.map((p) => ({
    x: (p.pc1 - xDom[0]) / (xDom[1] - xDom[0]) * width,
    y: (1 - (p.pc2 - yDom[0]) / (yDom[1] - yDom[0])) * height,
    group: p.probe,
    text: String(p.step),
    ...(p.step === first.get(p.probe) ? { ring: RING_RADIUS } : {}),
  }));
  const keep = new Set(thinLabels(candidates));
  return points.map((p, i) => keep.has(i) ? String(p.step) : "");
}

/** Connected scatter: x = PC1, y = PC2, colour = dataset, order = step; start points ringed. */
export function trajectories2d(
  points: readonly TrajectoryPoint[],
  opts: Trajectory2dOptions = {},
): TopLevelSpec {
  const probes = [...new Set(points.map((p) => p.probe))];
  const width = opts.width ?? 520, height = opts.height ?? 420;
  const xDom = paddedDomain(points.map((p) => p.pc1)), yDom = paddedDomain(points.map((p) => p.pc2));
  const labels = trajectoryLabels(points, width, height, xDom, yDom);
  const firstStep = new Map<string, number>();
  for (const p of points) firstStep.set(p.probe, Math.min(firstStep.get(p.probe) ?? Infinity, p.step));
  const x = {
    field: "pc1",
    type: "quantitative" as const,
    title: opts.xTitle ?? "PC1",
    scale: { domain: xDom, nice: false, zero: false },
  };
  const y = {
    field: "pc2",
    type: "quantitative" as const,
    title: opts.yTitle ?? "PC2",
    scale: { domain: yDom, nice: false, zero: false },
  };
  const color = categoryColor("probe", probes, "dataset");
  return {
    title: opts.title ?? "",
    config: opts.config ?? REPORT_CONFIG,
    data: {
      values: points.map((p, i) => ({ ...p, label: labels[i], start: p.step === firstStep.get(p.probe) })),
    },
    width,
    height,
    layer: [
      {
        mark: { type: "line", strokeWidth: 1.5, opacity: 0.8 },
        encoding: { x, y, color, order: { field: "step", type: "quantitative" } },
      },
      { mark: { type: "point", filled: true, size: 30 }, encoding: { x, y, color } },
      {
        // The start: a black ring around the first checkpoint of every dataset.
        transform: [{ filter: "datum.start" }],
        mark: { type: "point", filled: false, size: RING_SIZE, stroke: "#111", strokeWidth: 1.5 },
        encoding: { x, y },
      },
      {
        mark: {
          type: "text",
          align: "left",
          dx: DEFAULT_LABEL_BOX.dx,
          dy: DEFAULT_LABEL_BOX.dy,
          fontSize: 9,
        },
        encoding: { x, y, text: { field: "label" }, color },
      },
    ],
  };
}
