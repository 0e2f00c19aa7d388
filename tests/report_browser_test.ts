/**
 * Opens the generated report in headless Chromium (Debian package "chromium") and checks the screenshot:
 * charts must have rendered (many non-white pixels, many distinct and saturated colours). Set
 * CHI_SKIP_BROWSER=1 to skip where Chromium cannot be installed; otherwise a missing Chromium fails the test.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadResults } from "../lib/analysis/results.ts";
import { buildReport } from "../lib/report/build_report.ts";
import { decodePng, pixelStats } from "../lib/report/png.ts";
import { syntheticTables, writeSyntheticResults } from "./analysis_fixtures.ts";

const SKIP = Deno.env.get("CHI_SKIP_BROWSER") === "1";

/** Runs headless Chromium to screenshot `file`; a missing binary fails with install instructions. */
async function screenshot(htmlPath: string, pngPath: string, profile: string, height: number): Promise<void> {
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
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("chromium", {
      args,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        "chromium is not installed: install the Debian package (apt-get install -y chromium; .ci/run does) or set CHI_SKIP_BROWSER=1",
      );
    }
    if (err instanceof Deno.errors.NotCapable) {
      throw new Error(
        "this test runs chromium: pass --allow-run=chromium,/usr/bin/chromium (or set CHI_SKIP_BROWSER=1)",
      );
    }
    throw err;
  }
  assert.equal(
    out.code,
    0,
    `chromium exited with ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
  );
}

/** Fraction of clearly coloured (saturated) pixels: chart lines, heatmaps and highlighted tokens, not text. */
function saturatedFraction(img: ReturnType<typeof decodePng>): number {
  let n = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    const o = i * img.channels;
    const r = img.data[o];
    const g = img.data[o + 1];
    const b = img.data[o + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
  }
  return n / (img.width * img.height);
}

Deno.test({
  name:
    "report in headless Chromium: the screenshot shows rendered, coloured charts (and a blank page does not)",
  ignore: SKIP,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "chi_browser_" });
    const results = join(dir, "results");
    await writeSyntheticResults(results, syntheticTables());
    const report = await buildReport(await loadResults(results), { runName: "browser-test" });
    const html = join(dir, "index.html");
    await Deno.writeTextFile(html, report.html);
    const png = join(dir, "shot.png");
    await screenshot(html, png, join(dir, "profile"), 4000);
    const img = decodePng(await Deno.readFile(png), png);
    assert.equal(img.width, 1280);
    const stats = pixelStats(img);
    const sat = saturatedFraction(img);
    assert.ok(
      stats.nonWhiteFraction > 0.08,
      `only ${(100 * stats.nonWhiteFraction).toFixed(1)}% non-white pixels`,
    );
    assert.ok(stats.distinctColours > 100, `only ${stats.distinctColours} distinct colours`);
    assert.ok(sat > 0.01, `only ${(100 * sat).toFixed(2)}% saturated pixels: charts did not render`);

    // Control: the same checks on an empty page fail, so they do measure the charts.
    const blank = join(dir, "blank.html");
    await Deno.writeTextFile(blank, "<!DOCTYPE html><html><body><p>empty</p></body></html>");
    await screenshot(blank, join(dir, "blank.png"), join(dir, "profile"), 600);
    const control = decodePng(await Deno.readFile(join(dir, "blank.png")));
    assert.ok(pixelStats(control).nonWhiteFraction < 0.02 && saturatedFraction(control) < 0.001);
    await Deno.remove(dir, { recursive: true });
  },
});
