/**
 * The run manifest (manifest.json, lib/util/manifest.ts: config, seeds, versions, adapter, commit, input
 * hashes): a summary table with the fields the issue asks for first, then the whole manifest as JSON.
 */

import { escapeHtml } from "./escape.ts";
import { type ReportSection, tableHtml } from "./html.ts";

/** Top-level fields shown first, in this order (the rest follow in file order). */
export const MANIFEST_ORDER = [
  "chi_version",
  "created",
  "git",
  "command",
  "config",
  "seeds",
  "runtime",
  "dependencies",
  "adapter",
  "inputs",
] as const;

/** What a report manifest should say, and the top-level fields that can say it. */
const EXPECTED: Record<string, readonly string[]> = {
  config: ["config"],
  seeds: ["seeds"],
  versions: ["chi_version", "runtime", "versions", "dependencies"],
  adapter: ["adapter"],
};

function summary(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 160 ? s.slice(0, 157) + "…" : s;
}

/** Which of config, seeds, versions and adapter the manifest does not record. */
export function missingManifestFields(manifest: Record<string, unknown>): string[] {
  return Object.entries(EXPECTED).filter(([, keys]) => !keys.some((k) => k in manifest)).map(([w]) => w);
}

/** Summary table (known fields first) followed by the whole manifest as pretty JSON. */
export function manifestSection(manifest: Record<string, unknown>): ReportSection {
  const keys = Object.keys(manifest);
  const rank = (k: string) => {
    const i = (MANIFEST_ORDER as readonly string[]).indexOf(k);
    return i < 0 ? MANIFEST_ORDER.length : i;
  };
  const ordered = [...keys].sort((a, b) => rank(a) - rank(b) || keys.indexOf(a) - keys.indexOf(b));
  const rows = ordered.map((k) => [k, { html: `<code>${escapeHtml(summary(manifest[k]))}</code>` }]);
  const missing = missingManifestFields(manifest);
  return {
    id: "manifest",
    title: "Run manifest",
    caption:
      "The run's manifest.json as written by the run: configuration, seeds, versions, adapter, commit " +
      `and input hashes.${missing.length ? ` It does not record: ${missing.join(", ")}.` : ""}`,
    body: tableHtml(["field", "value"], rows) + `<pre>${escapeHtml(JSON.stringify(manifest, null, 2))}</pre>`,
  };
}
