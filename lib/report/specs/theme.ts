/**
 * Shared look of the report's charts. Every spec builder puts this in its `config`; restyle one chart by
 * editing the returned spec's `config`, or all charts by passing another config to the builders.
 */

import type { Config } from "vega-lite";

/** Default chart configuration: readable sizes, light grid, no view border. */
export const REPORT_CONFIG: Config = {
  font: "Helvetica, Arial, sans-serif",
  background: "white",
  padding: 8,
  view: { stroke: "#ccc" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee", tickColor: "#888", domainColor: "#888" },
  legend: { labelFontSize: 11, titleFontSize: 12, symbolSize: 80 },
  header: { labelFontSize: 13, titleFontSize: 13, labelFontWeight: "bold" },
  title: { fontSize: 14, anchor: "start", offset: 8 },
  range: { category: { scheme: "tableau10" } },
};

/** Options every builder accepts. */
export interface StyleOptions {
  /** Width and height of one panel in pixels. */
  width?: number;
  height?: number;
  /** Chart title; "" for none. */
  title?: string;
  /** Vega-Lite config replacing REPORT_CONFIG. */
  config?: Config;
}

/** Scale type for a checkpoint-step axis: log as in Figs. 3-5, symlog when step 0 is present. */
export function stepScaleType(steps: readonly number[]): "log" | "symlog" {
  return steps.some((s) => s <= 0) ? "symlog" : "log";
}
