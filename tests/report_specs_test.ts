import assert from "node:assert/strict";
import type { TopLevelSpec } from "vega-lite";
import { compileSpec, countMarks, RenderError, renderSvg } from "../lib/report/render.ts";
import { susceptibilityCurves } from "../lib/report/specs/susceptibility_curves.ts";
import { loadingsHeatmap } from "../lib/report/specs/loadings_heatmap.ts";
import { datasetContributionsHeatmap } from "../lib/report/specs/dataset_contributions.ts";
import { screePlot } from "../lib/report/specs/scree.ts";
import { trajectories2d } from "../lib/report/specs/trajectories_2d.ts";
import { pcTimeSeries } from "../lib/report/specs/pc_time_series.ts";
import { tokenHistograms } from "../lib/report/specs/token_histograms.ts";
import { perTokenVsOverallChart } from "../lib/report/specs/per_token_vs_overall.ts";
import { densityPanels } from "../lib/report/specs/density_2d.ts";
import { lossTraces } from "../lib/report/specs/loss_traces.ts";
import { stepScaleType, stepTicks } from "../lib/report/specs/theme.ts";

const steps = [100, 400, 1600, 6400];
const probes = ["github", "arxiv"];

/** Every builder with small, plausible inputs, and the Vega mark type its SVG must contain. */
const CASES: [string, TopLevelSpec, string][] = [
  [
    "susceptibilityCurves",
    susceptibilityCurves(
      probes.flatMap((probe) =>
        steps.flatMap((step, t) =>
          ["0:0", "1:1"].map((restriction, h) => ({
            probe,
            restriction,
            layer: h,
            step,
            value: 0.01 * t * (h + 1),
            se: 0.002,
          }))
        )
      ),
    ),
    "mark-line",
  ],
  [
    "loadingsHeatmap",
    loadingsHeatmap({
      components: ["PC1", "PC2"],
      heads: ["0:0", "0:1", "1:0"],
      loadings: [[0.6, 0.5, 0.6], [-0.7, 0.1, 0.7]],
    }),
    "mark-rect",
  ],
  [
    "datasetContributionsHeatmap",
    datasetContributionsHeatmap({
      probes,
      components: ["PC1", "PC2"],
      contributions: [[0.8, -0.6], [0.6, 0.8]],
    }),
    "mark-rect",
  ],
  ["screePlot", screePlot([0.7, 0.2, 0.1]), "mark-rect"],
  [
    "trajectories2d",
    trajectories2d(
      probes.flatMap((probe, d) =>
        steps.map((step, t) => ({
          probe,
          step,
          pc1: t - d,
          pc2: t * t * (d + 1),
        }))
      ),
    ),
    "mark-line",
  ],
  [
    "pcTimeSeries",
    pcTimeSeries(
      probes.flatMap((probe) =>
        steps.flatMap((step, t) => ["PC1", "PC2"].map((pc) => ({ probe, step, pc, score: t })))
      ),
    ),
    "mark-line",
  ],
  [
    "tokenHistograms",
    tokenHistograms([{ panel: "a", x0: 0, x1: 1, count: 3 }, { panel: "a", x0: 1, x1: 2, count: 5 }, {
      panel: "b",
      x0: -1,
      x1: 0,
      count: 2,
    }]),
    "mark-rect",
  ],
  [
    "perTokenVsOverallChart",
    perTokenVsOverallChart(
      [{ probe: "github", restriction: "0:0", overall: 0.01, meanPerToken: 0.12 }, {
        probe: "arxiv",
        restriction: "0:0",
        overall: 0.02,
        meanPerToken: 0.19,
      }],
      { fit: { slope: 7, intercept: 0.05 }, r: 0.9, expectedSlope: 10 },
    ),
    "mark-symbol",
  ],
  [
    "densityPanels",
    densityPanels([{ panel: "0:0 · github", x0: 0, x1: 1, y0: 0, y1: 1, count: 4 }, {
      panel: "0:0 · github",
      x0: 1,
      x1: 2,
      y0: 0,
      y1: 1,
      count: 1,
    }]),
    "mark-rect",
  ],
  [
    "lossTraces",
    lossTraces(
      [0, 1, 2, 3].flatMap((draw) =>
        [0, 1].map((chain) => ({ panel: "github · full", chain, draw, loss: 3 + 0.1 * draw + chain }))
      ),
    ),
    "mark-line",
  ],
];

for (const [name, spec, markClass] of CASES) {
  Deno.test(`${name}: the spec compiles with vega-lite and renders an SVG with ${markClass} marks and no URL`, async () => {
    const vg = compileSpec(spec, name);
    assert.ok(Array.isArray(vg.marks) && vg.marks.length > 0);
    const svg = await renderSvg(spec, name);
    assert.ok(svg.startsWith("<svg"));
    assert.ok(svg.includes(markClass), `${name}: no ${markClass} in the SVG`);
    assert.ok(countMarks(svg) > 10, `${name}: only ${countMarks(svg)} drawn items`);
    assert.ok(/ d="M[^"]+"/.test(svg) || /<rect[^>]+width="[1-9]/.test(svg), `${name}: no visible geometry`);
    assert.ok(!svg.includes("://") && !/xmlns/.test(svg), `${name}: URL left in the SVG`);
  });
}

Deno.test("loadingsHeatmap: the returned spec is a plain object a user can restyle (size and config) before rendering", async () => {
  const spec = loadingsHeatmap({
    components: ["PC1"],
    heads: ["0:0", "0:1"],
    loadings: [[0.6, 0.8]],
  }) as unknown as Record<string, unknown>;
  const restyled = {
    ...spec,
    width: 500,
    config: { ...(spec.config as object), background: "#fafafa" },
  } as TopLevelSpec;
  const svg = await renderSvg(restyled, "restyled");
  assert.match(svg, /fill="#fafafa"/);
  assert.ok(Number(/width="(\d+)"/.exec(svg)![1]) > 500);
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec, "specs are JSON-serializable");
});

Deno.test("renderSvg: an invalid spec is a RenderError naming the chart", async () => {
  const bad = { data: { values: [] }, mark: "nonsense" } as unknown as TopLevelSpec;
  await assert.rejects(
    renderSvg(bad, "broken-chart"),
    (e: unknown) => e instanceof RenderError && /broken-chart/.test(e.message),
  );
});

Deno.test("stepScaleType: log for positive steps (Figs. 3-5), symlog when step 0 is present", () => {
  assert.equal(stepScaleType([100, 200]), "log");
  assert.equal(stepScaleType([0, 200]), "symlog");
  assert.deepEqual(stepTicks([0, 100, 500, 49900]), [0, 100, 1000, 10000]);
  assert.deepEqual(stepTicks([100, 200, 400, 6400]), [100, 1000]);
  assert.deepEqual(stepTicks([3, 7]), []);
});

Deno.test("susceptibilityCurves: one colour legend for the heads and one dash legend for the layers", async () => {
  const pts = [0, 100, 1000, 10000].flatMap((step, t) =>
    ["0:0", "0:1", "1:0"].map((restriction, h) => ({
      probe: "github",
      restriction,
      layer: Number(restriction[0]),
      step,
      value: 0.001 * t * (h + 1),
      se: 0.0005,
    }))
  );
  const svg = await renderSvg(susceptibilityCurves(pts), "curves-legend");
  assert.match(svg, />head<\/text>/);
  assert.match(svg, />layer<\/text>/);
  for (const h of ["0:0", "0:1", "1:0"]) assert.match(svg, new RegExp(`>${h}</text>`));
  // Step 0 is present: symlog axis with ticks at 0 and powers of ten.
  for (const tick of [">0<", ">100<", ">1k<", ">10k<"]) assert.ok(svg.includes(tick), `tick ${tick}`);
});
