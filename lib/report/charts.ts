/** Collects the report's charts: each is rendered once to SVG and kept with its spec (for tests and reuse). */

import type { TopLevelSpec } from "vega-lite";
import { figureHtml } from "./html.ts";
import { renderSvg } from "./render.ts";

/** A rendered chart. */
export interface RenderedChart {
  id: string;
  spec: TopLevelSpec;
  svg: string;
}

/** Renders specs into figures and remembers them. */
export class ChartSet {
  readonly charts: RenderedChart[] = [];

  /** Renders `spec` and returns its <figure> HTML. */
  async figure(id: string, spec: TopLevelSpec, caption = ""): Promise<string> {
    const svg = await renderSvg(spec, id);
    this.charts.push({ id, spec, svg });
    return figureHtml(svg, caption);
  }
}
