/**
 * The run manifest (manifest.json, lib/util/manifest.ts: config, seeds, versions, adapter, commit, input
 * hashes): a summary table with the fields the issue asks for first, then the whole manifest as JSON in a
 * collapsed block (thousands of lines of JSON would otherwise bury the end of the report).
 */

import { escapeHtml } from "./escape.ts";
import { detailsHtml, type ReportSection, tableHtml } from "./html.ts";

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

/** One sentence: how many fields, the commit and when the run was recorded. */
export function manifestSummary(manifest: Record<string, unknown>): string {
  const git = manifest.git as { commit?: unknown } | undefined;
  const commit = typeof git?.commit === "string" ? `commit ${git.commit.slice(0, 12)}` : "no commit recorded";
  const created = typeof manifest.created === "string" ? `created ${manifest.created}` : "no creation time";
  const inputs = manifest.inputs && typeof manifest.inputs === "object"
    ? Object.keys(manifest.inputs).length
    : 0;
  return `The manifest records ${Object.keys(manifest).length} fields and ${inputs} input file hashes; ` +
    `${commit}, ${created}.`;
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
  const json = JSON.stringify(manifest, null, 2);
  return {
    id: "manifest",
    title: "Run manifest",
    caption:
      "The run's manifest.json as written by the run: configuration, seeds, versions, adapter, commit " +
      `and input hashes.${missing.length ? ` It does not record: ${missing.join(", ")}.` : ""}`,
    summary: manifestSummary(manifest),
    body: tableHtml(["field", "value"], rows) +
      detailsHtml(
        `The whole manifest.json (${json.split("\n").length} lines)`,
        `<pre>${escapeHtml(json)}</pre>`,
      ),
  };
}
