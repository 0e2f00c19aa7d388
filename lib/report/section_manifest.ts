/** The run manifest (manifest.json: config, seeds, versions, adapter, commit, input hashes), shown as-is. */

import { escapeHtml } from "./escape.ts";
import { type ReportSection, tableHtml } from "./html.ts";

function summary(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  const s = JSON.stringify(v);
  return s.length > 160 ? s.slice(0, 157) + "…" : s;
}

/** A table of the top-level fields (compact JSON) followed by the whole manifest as pretty JSON. */
export function manifestSection(manifest: Record<string, unknown>): ReportSection {
  const rows = Object.entries(manifest).map((
    [k, v],
  ) => [k, { html: `<code>${escapeHtml(summary(v))}</code>` }]);
  return {
    id: "manifest",
    title: "Run manifest",
    caption:
      "The run's manifest.json as written by the run: configuration, seeds, versions, adapter, commit and input hashes.",
    body: tableHtml(["field", "value"], rows) + `<pre>${escapeHtml(JSON.stringify(manifest, null, 2))}</pre>`,
  };
}
