/**
 * Server-side rendering of Vega-Lite specs to inline SVG (no browser, no canvas): compile with vega-lite,
 * run a headless vega View (renderer "none") and serialize to SVG. The SVG namespace attributes are the only
 * URLs vega writes; they are removed because an SVG inlined in HTML needs none, which keeps the page free of
 * any "http" string. Anything else URL-like is refused.
 */

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** A spec that does not compile or render, or that renders something that would load a resource. */
export class RenderError extends Error {
  constructor(readonly chart: string, message: string) {
    super(`chart "${chart}": ${message}`);
    this.name = "RenderError";
  }
}

/** Compiles a Vega-Lite spec to a Vega spec (throws RenderError naming the chart). */
export function compileSpec(spec: TopLevelSpec, chart = "(unnamed)"): vega.Spec {
  try {
    // A deep copy: vega tags data objects with ids, and the caller's spec must stay a plain, reusable value.
    return compile(structuredClone(spec)).spec as vega.Spec;
  } catch (err) {
    throw new RenderError(chart, `Vega-Lite compile failed: ${(err as Error).message}`);
  }
}

const NAMESPACE_ATTRS = / xmlns(?::xlink)?="http:\/\/www\.w3\.org\/(?:2000\/svg|1999\/xlink)"/g;

/** Renders a Vega-Lite spec to an SVG string suitable for inlining in HTML. */
export async function renderSvg(spec: TopLevelSpec, chart = "(unnamed)"): Promise<string> {
  const vg = compileSpec(spec, chart);
  const view = new vega.View(vega.parse(vg), { renderer: "none", logLevel: vega.Error });
  try {
    const svg = (await view.toSVG()).replace(NAMESPACE_ATTRS, "");
    const bad = /(?:href|src)\s*=\s*"(?!#)|url\((?!#)|:\/\//i.exec(svg);
    if (bad) {
      throw new RenderError(
        chart,
        `rendered SVG references an external resource near "${svg.slice(bad.index, bad.index + 60)}"`,
      );
    }
    return svg;
  } catch (err) {
    if (err instanceof RenderError) throw err;
    throw new RenderError(chart, `Vega render failed: ${(err as Error).message}`);
  } finally {
    view.finalize();
  }
}

/** Number of drawn mark items in an SVG (paths, rects, circles, lines, text); for tests and sanity checks. */
export function countMarks(svg: string): number {
  return (svg.match(/<(?:path|rect|circle|line|text)\b/g) ?? []).length;
}
