/**
 * Opens the generated report in headless Chromium (Debian package "chromium") and checks screenshots: the
 * whole page shows rendered, coloured content, and every chart of the report, laid out in its own box,
 * draws coloured marks in that box (a blank control box does not pass the same check).
 *
 * Chromium is required: a missing binary fails these tests, unless CHI_SKIP_BROWSER=1 is set too, in which
 * case they are skipped with a message saying so. When Chromium is installed they always run.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadResults } from "../lib/analysis/results.ts";
import { buildReport } from "../lib/report/build_report.ts";
import { type DecodedPng, decodePng, pixelStats } from "./support/png.ts";
import { syntheticTables, writeSyntheticResults } from "./analysis_fixtures.ts";

/** Whether `chromium` can be started; permission problems are errors, not absence. */
async function chromiumPresent(): Promise<boolean> {
  try {
    await new Deno.Command("chromium", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new Error("the browser tests run chromium: pass --allow-run=chromium (deno task test does)");
    }
    throw err;
  }
}

const PRESENT = await chromiumPresent();
const SKIP = !PRESENT && Deno.env.get("CHI_SKIP_BROWSER") === "1";
if (SKIP) {
  console.log(
    "report_browser_test: SKIPPED — chromium is not installed and CHI_SKIP_BROWSER=1 is set; the report's " +
      "browser rendering is not checked.",
  );
}

/** Runs headless Chromium to screenshot `htmlPath`; a missing binary fails with install instructions. */
async function screenshot(htmlPath: string, pngPath: string, profile: string, height: number): Promise<void> {
  if (!PRESENT) {
    throw new Error(
      "chromium is not installed: install the Debian package (apt-get install -y chromium; .ci/run does), " +
        "or set CHI_SKIP_BROWSER=1 to skip the browser tests",
    );
  }
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    `--window-size=1280,${height}`,
    `--screenshot=${pngPath}`,
    `file://${htmlPath}`,
  ];
  const out = await new Deno.Command("chromium", {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).output();
  assert.equal(
    out.code,
    0,
    `chromium exited with ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
  );
}

/** Counts of pixels in rows [y0, y1): not near-white, and clearly coloured (chart marks, not grey text). */
function regionStats(img: DecodedPng, y0: number, y1: number): { nonWhite: number; saturated: number } {
  let nonWhite = 0;
  let saturated = 0;
  for (let y = Math.max(0, y0); y < Math.min(y1, img.height); y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * img.channels;
      const r = img.data[o];
      const g = img.data[o + 1];
      const b = img.data[o + 2];
      if (r < 245 || g < 245 || b < 245) nonWhite++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) saturated++;
    }
  }
  return { nonWhite, saturated };
}

async function syntheticReport(dir: string) {
  const results = join(dir, "results");
  await writeSyntheticResults(results, syntheticTables());
  return await buildReport(await loadResults(results), { runName: "browser-test" });
}

Deno.test({
  name:
    "report in headless Chromium: the page screenshot shows rendered, coloured content (and a blank page does not)",
  ignore: SKIP,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "chi_browser_" });
    const report = await syntheticReport(dir);
    const html = join(dir, "index.html");
    await Deno.writeTextFile(html, report.html);
    const png = join(dir, "shot.png");
    await screenshot(html, png, join(dir, "profile"), 4000);
    const img = decodePng(await Deno.readFile(png), png);
    assert.equal(img.width, 1280);
    const stats = pixelStats(img);
    const { saturated } = regionStats(img, 0, img.height);
    const sat = saturated / (img.width * img.height);
    console.log(
      `page: ${(100 * stats.nonWhiteFraction).toFixed(1)}% non-white, ${stats.distinctColours} colours, ` +
        `${(100 * sat).toFixed(2)}% saturated`,
    );
    assert.ok(
      stats.nonWhiteFraction > 0.05,
      `only ${(100 * stats.nonWhiteFraction).toFixed(1)}% non-white pixels`,
    );
    assert.ok(stats.distinctColours > 100, `only ${stats.distinctColours} distinct colours`);
    assert.ok(sat > 0.01, `only ${(100 * sat).toFixed(2)}% saturated pixels: charts did not render`);

    // Control: the same checks on an empty page fail, so they do measure the content.
    const blank = join(dir, "blank.html");
    await Deno.writeTextFile(blank, "<!DOCTYPE html><html><body><p>empty</p></body></html>");
    await screenshot(blank, join(dir, "blank.png"), join(dir, "profile-blank"), 600);
    const control = decodePng(await Deno.readFile(join(dir, "blank.png")));
    const controlSat = regionStats(control, 0, control.height).saturated;
    assert.ok(pixelStats(control).nonWhiteFraction < 0.02 && controlSat === 0);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "report in headless Chromium: every chart draws coloured marks in its own box (a blank box does not)",
  ignore: SKIP,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "chi_browser_" });
    const report = await syntheticReport(dir);
    // Each chart's inline SVG in a box of its own height at a known offset; the last box is a blank control.
    const gap = 20;
    const boxes: { id: string; top: number; height: number; svg: string }[] = [];
    let top = 0;
    for (
      const c of [...report.charts, { id: "blank-control", svg: '<svg width="600" height="200"></svg>' }]
    ) {
      const height = Number(/<svg[^>]*\bheight="(\d+(?:\.\d+)?)"/.exec(c.svg)?.[1]);
      assert.ok(height > 0, `${c.id}: the SVG has no height attribute`);
      boxes.push({ id: c.id, top, height: Math.ceil(height), svg: c.svg });
      top += Math.ceil(height) + gap;
    }
    const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body { margin: 0; background: #fff; } div { position: absolute; left: 0; width: 1280px; overflow: hidden; }
</style></head><body>${
      boxes.map((b) => `<div style="top:${b.top}px;height:${b.height}px">${b.svg}</div>`).join("")
    }</body></html>`;
    const html = join(dir, "charts.html");
    await Deno.writeTextFile(html, page);
    const png = join(dir, "charts.png");
    await screenshot(html, png, join(dir, "profile"), top);
    const img = decodePng(await Deno.readFile(png), png);
    assert.ok(img.height >= top - gap, `screenshot is ${img.height} px high, expected ${top - gap}`);
    for (const b of boxes) {
      const s = regionStats(img, b.top, b.top + b.height);
      const area = img.width * b.height;
      console.log(
        `${b.id}: ${(100 * s.nonWhite / area).toFixed(1)}% non-white, ${s.saturated} coloured pixels`,
      );
      const drawn = s.nonWhite / area > 0.01 && s.saturated > 200;
      if (b.id === "blank-control") assert.ok(!drawn, "the blank control box passed the chart check");
      else {assert.ok(
          drawn,
          `${b.id}: the chart did not draw (non-white ${s.nonWhite}, coloured ${s.saturated})`,
        );}
    }
    await Deno.remove(dir, { recursive: true });
  },
});
