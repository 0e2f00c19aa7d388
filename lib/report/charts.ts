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

/** A hook that may return a changed spec for chart `id` before it is rendered (see docs/report.md). */
export type Restyle = (id: string, spec: TopLevelSpec) => TopLevelSpec;

/** Renders specs into figures and remembers them. */
export class ChartSet {
  readonly charts: RenderedChart[] = [];

  constructor(private readonly restyle?: Restyle) {}

  /** Applies the restyle hook, renders the spec and returns its <figure> HTML. */
  async figure(id: string, built: TopLevelSpec, caption = ""): Promise<string> {
    const spec = this.restyle ? this.restyle(id, built) : built;
    const svg = await renderSvg(spec, id);
    this.charts.push({ id, spec, svg });
    return figureHtml(svg, caption);
  }
}
