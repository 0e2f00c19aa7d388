/**
 * Shared look of the report's charts. Every spec builder puts this in its `config`; restyle one chart by
 * editing the returned spec's `config`, or all charts by passing another config to the builders.
 */

import type { Config } from "vega-lite";

/**
 * Default chart configuration: readable sizes, light grid, no view border. `aria: false` leaves out the
 * per-mark ARIA descriptions, which would otherwise triple the size of the inline SVG (thousands of marks);
 * set it to true in a custom config to get them back.
 */
export const REPORT_CONFIG: Config = {
  aria: false,
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

/**
 * Tick values for a step axis: powers of ten (and 0 on a symlog axis) within the steps' range. Vega's own
 * symlog ticks bunch up at the top of the range, which reads badly for checkpoints 0, 100, …, 49900.
 */
export function stepTicks(steps: readonly number[]): number[] {
  const max = Math.max(...steps);
  const positive = steps.filter((s) => s > 0);
  const min = positive.length ? Math.min(...positive) : 1;
  const out: number[] = steps.some((s) => s <= 0) ? [0] : [];
  for (let p = Math.floor(Math.log10(min)); 10 ** p <= max; p++) if (10 ** p >= min) out.push(10 ** p);
  return out;
}

/** The x encoding's scale and axis for checkpoint steps (log, or symlog with step 0), with stepTicks. */
export function stepAxis(steps: readonly number[], title = "checkpoint step") {
  const values = stepTicks(steps);
  return {
    scale: { type: stepScaleType(steps) },
    // Fewer than two powers of ten in range: Vega's default ticks say more.
    // A label expression, not format "~s": Vega applies one SI prefix to every tick of a scale (100 → "0k").
    axis: {
      title,
      grid: true,
      labelExpr: "datum.value >= 1000 ? format(datum.value / 1000, '~g') + 'k' : format(datum.value, '~g')",
      ...(values.length >= 2 ? { values } : {}),
    },
  };
}

/**
 * A nominal colour encoding: tableau10, or tableau20 once there are more than ten categories (tableau10 would
 * repeat its colours). `sort` is the legend order.
 */
export function categoryColor(field: string, sort: string[], title: string) {
  return {
    field,
    type: "nominal" as const,
    sort,
    title,
    scale: { scheme: sort.length > 10 ? "tableau20" : "tableau10" },
  };
}

/**
 * The frame every faceted chart shares: title, config, the data and one panel per distinct value of `field` in
 * the order the data first shows it, `columns` panels to a row (default `defaultColumns`). The builder adds
 * its resolve and panel spec.
 */
export function facetFrame<T extends object>(
  values: readonly T[],
  field: keyof T & string,
  opts: StyleOptions & { columns?: number },
  defaultColumns = 3,
) {
  return {
    title: opts.title ?? "",
    config: opts.config ?? REPORT_CONFIG,
    data: { values: values.map((v) => ({ ...v })) },
    facet: {
      field,
      type: "nominal" as const,
      title: null,
      sort: [...new Set(values.map((v) => String(v[field])))],
    },
    columns: opts.columns ?? defaultColumns,
  };
}

/**
 * The layers of a diverging heatmap with its values printed in the cells (Figs. 6, 12): red–blue over
 * [−maxAbs, maxAbs], two decimals, white text on the dark cells (|value| > 0.6·maxAbs).
 */
export function divergingCells(field: string, maxAbs: number, title: string) {
  return [
    {
      mark: "rect" as const,
      encoding: {
        color: {
          field,
          type: "quantitative" as const,
          scale: { scheme: "redblue", domain: [-maxAbs, maxAbs], reverse: true },
          title,
        },
      },
    },
    {
      mark: { type: "text" as const, fontSize: 10 },
      encoding: {
        text: { field, type: "quantitative" as const, format: ".2f" },
        color: {
          condition: { test: `abs(datum.${field}) > ${0.6 * maxAbs}`, value: "white" },
          value: "#222",
        },
      },
    },
  ];
}
