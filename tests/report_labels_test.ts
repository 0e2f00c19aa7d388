/**
 * Fig. 14's step labels (label_thinning.ts, specs/trajectories_2d.ts): no two labels overlap, each trajectory's
 * first and last are labelled unless another's label already sits there, the start is ringed; and Fig. 7's
 * panels each carry their own axes.
 */
import assert from "node:assert/strict";
import { DEFAULT_LABEL_BOX, type LabelCandidate, thinLabels } from "../lib/report/label_thinning.ts";
import { renderSvg } from "../lib/report/render.ts";
import { densityPanels } from "../lib/report/specs/density_2d.ts";
import { paddedDomain, trajectories2d } from "../lib/report/specs/trajectories_2d.ts";

/** Whether the label boxes of points a and b overlap (the geometry thinLabels assumes). */
function overlap(a: LabelCandidate, b: LabelCandidate): boolean {
  const { dx, dy, charWidth, height } = DEFAULT_LABEL_BOX;
  const box = (
    p: LabelCandidate,
  ) => [p.x + dx, p.x + dx + charWidth * p.text.length, p.y + dy - height, p.y + dy];
  const [a0, a1, ay0, ay1] = box(a), [b0, b1, by0, by1] = box(b);
  return a0 < b1 && b0 < a1 && ay0 < by1 && by0 < ay1;
}

Deno.test("thinLabels: keeps first and last, drops labels that would overlap, and never keeps two that overlap", () => {
  // One trajectory: 20 points 4 px apart on a line (labels ~22 px wide collide), then a far end point.
  const pts: LabelCandidate[] = Array.from({ length: 20 }, (_, i) => ({
    x: 10 + 4 * i,
    y: 100,
    group: "a",
    text: String(100 * (i + 1)),
  }));
  pts.push({ x: 300, y: 300, group: "a", text: "9999" });
  const kept = thinLabels(pts);
  assert.equal(kept[0], 0);
  assert.equal(kept[kept.length - 1], pts.length - 1);
  assert.ok(kept.length > 2 && kept.length < 8, `kept ${kept.length}`);
  for (const i of kept) for (const j of kept) if (i < j) assert.ok(!overlap(pts[i], pts[j]), `${i} and ${j}`);
  // Far-apart points all keep their labels.
  const sparse = Array.from({ length: 5 }, (_, i) => ({ x: 60 * i, y: 40 * i, group: "b", text: "100" }));
  assert.deepEqual(thinLabels(sparse), [0, 1, 2, 3, 4]);
});

Deno.test("thinLabels: trajectories that start together share one start label; a ring keeps labels off", () => {
  const pts: LabelCandidate[] = [
    { x: 50, y: 50, group: "a", text: "100" },
    { x: 200, y: 50, group: "a", text: "6400" },
    { x: 51, y: 51, group: "b", text: "100" },
    { x: 200, y: 200, group: "b", text: "6400" },
  ];
  assert.deepEqual(thinLabels(pts), [0, 1, 3]);
  // b's start ring sits where a's first label would go: a's is dropped, b's own label is kept.
  const ringed = [
    { x: 50, y: 50, group: "a", text: "100" },
    { x: 60, y: 42, group: "b", text: "100", ring: 7 },
    { x: 300, y: 300, group: "b", text: "6400" },
  ];
  assert.deepEqual(thinLabels(ringed), [1, 2]);
});

Deno.test("trajectories2d: a dense trajectory is thinned, the start ringed, every label's box clear of the others", async () => {
  const steps = Array.from({ length: 30 }, (_, t) => 100 * (t + 1));
  const points = ["github", "freelaw"].flatMap((probe, d) =>
    steps.map((step, t) => ({ probe, step, pc1: t / 30 + d * 0.01, pc2: Math.sin(t / 10) }))
  );
  const spec = trajectories2d(points);
  const values = (spec.data as { values: { probe: string; step: number; label: string; start: boolean }[] })
    .values;
  const labelled = values.filter((v) => v.label !== "");
  assert.ok(labelled.length >= 3 && labelled.length < 30, `${labelled.length} labels`);
  // Both trajectories start together: one "100"; each end is labelled.
  assert.deepEqual(labelled.filter((v) => v.step === 100).length, 1);
  assert.ok(labelled.some((v) => v.probe === "github" && v.step === 3000));
  assert.deepEqual(values.filter((v) => v.start).map((v) => [v.probe, v.step]), [["github", 100], [
    "freelaw",
    100,
  ]]);
  // In plotted pixels (the spec's own domains over 520 × 420), no two labels overlap.
  const xd = paddedDomain(points.map((p) => p.pc1)), yd = paddedDomain(points.map((p) => p.pc2));
  const px = labelled.map((v) => {
    const p = points.find((p) => p.probe === v.probe && p.step === v.step)!;
    const x = (p.pc1 - xd[0]) / (xd[1] - xd[0]) * 520, y = (1 - (p.pc2 - yd[0]) / (yd[1] - yd[0])) * 420;
    return { x, y, group: v.probe, text: v.label };
  });
  for (const a of px) for (const b of px) if (a !== b) assert.ok(!overlap(a, b), `${a.text} and ${b.text}`);
  const svg = await renderSvg(spec, "trajectories");
  assert.equal((svg.match(/<text[^>]*>\d+<\/text>/g) ?? []).length >= labelled.length, true);
});

Deno.test("densityPanels: every panel draws its own axes (a wrapped facet's shared axes sit apart from the panels)", async () => {
  const cells = ["a", "b", "c", "d"].flatMap((panel) =>
    [0, 1].map((k) => ({ panel, x0: k, x1: k + 1, y0: k, y1: k + 1, count: 1 + k }))
  );
  const spec = densityPanels(cells, { columns: 2 });
  assert.deepEqual((spec as { resolve?: unknown }).resolve, { axis: { x: "independent", y: "independent" } });
  const svg = await renderSvg(spec, "density");
  const titles = (re: RegExp) => (svg.match(re) ?? []).length;
  assert.equal(titles(/>per-token χ<\/text>/g), 4);
  assert.equal(titles(/>ablation delta \(loss\)<\/text>/g), 4);
});
