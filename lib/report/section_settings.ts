/**
 * The settings the run was made with, near the top of the report: what susceptibility.arrow itself records
 * (checkpoints, probes, restrictions, δh, nβ, chains, draws) and the sampling fields of the manifest's config
 * (the sweep config, scripts/susceptibility.ts's flags or the synthetic generator's), plus the probes' mix.
 */
import { FULL } from "../model/restriction.ts";
import type { SusceptibilityColumns } from "../tables/schema.ts";
import { escapeHtml } from "./escape.ts";
import { type ReportSection, tableHtml } from "./html.ts";

/** Config fields shown, in this order, when the manifest's config has them (names differ between writers). */
export const SETTING_KEYS = [
  "seed",
  "deltaH",
  "delta_h",
  "sgld",
  "select",
  "checkpoints",
  "steps",
  "probes",
  "restrictions",
  "perToken",
  "seqLen",
  "model",
] as const;

function distinct<T>(xs: ArrayLike<T>): T[] {
  return [...new Set(Array.from(xs))];
}

function compact(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 400 ? s.slice(0, 397) + "…" : s;
}

const pct = (x: number) => `${+(100 * x).toFixed(1)} %`;

/**
 * What the mixed batches held: Algorithm 1 (appendix C.4) interleaves whole contexts, so a fraction δh of each
 * batch's contexts come from the probe and 1 − δh from the base data; no single context mixes the two
 * (lib/data/mix.ts, lib/estimate/transformer_target.ts). The per-token contexts are pure probe contexts.
 */
export function mixSentence(deltaH: readonly number[]): string {
  if (deltaH.length !== 1) {
    return `The rows hold ${deltaH.length} different δh (${
      deltaH.join(", ")
    }): the probe share differs by row.`;
  }
  const d = deltaH[0];
  return `Probe mix (Algorithm 1, appendix C.4): each mixed batch replaces δh = ${d} of its contexts by whole ` +
    `probe contexts, so base data makes up ${pct(1 - d)} of the contexts and the probe ${
      pct(d)
    }; no context ` +
    `mixes base and probe tokens. Per-token susceptibilities are measured on contexts drawn wholly from the probe.`;
}

/** The settings section from the table and the manifest's config (absent: the table's columns alone). */
export function settingsSection(t: SusceptibilityColumns, manifest?: Record<string, unknown>): ReportSection {
  const steps = distinct(t.step).sort((a, b) => a - b);
  const probes = distinct(t.probe);
  const heads = distinct(t.restriction).filter((r) => r !== FULL);
  const deltaH = distinct(t.delta_h);
  const fromTable: [string, string][] = [
    ["checkpoints", `${steps.length}: ${steps.join(", ")}`],
    ["probes", `${probes.length}: ${probes.join(", ")}`],
    ["restrictions", `${heads.length} heads${t.restriction.includes(FULL) ? " + full" : ""}`],
    ["δh", deltaH.join(", ")],
    ["nβ", distinct(t.nbeta).join(", ")],
    ["chains × draws", distinct(t.n_chains).map((c) => `${c} × ${distinct(t.n_draws).join("/")}`).join(", ")],
  ];
  const config = manifest?.config as Record<string, unknown> | undefined;
  const fromConfig: [string, { html: string }][] = SETTING_KEYS.filter((k) => config && k in config).map((
    k,
  ) => [
    k,
    { html: `<code>${escapeHtml(compact(config![k]))}</code>` },
  ]);
  const seeds = manifest?.seeds;
  if (seeds !== undefined) fromConfig.push(["seeds", { html: `<code>${escapeHtml(compact(seeds))}</code>` }]);
  return {
    id: "settings",
    title: "Settings of this run",
    summary:
      `${steps.length} checkpoints (${steps[0]}–${steps[steps.length - 1]}) × ${probes.length} probes × ` +
      `${heads.length} heads, δh = ${deltaH.join(", ")}, nβ = ${distinct(t.nbeta).join(", ")}, ` +
      `${distinct(t.n_chains).join("/")} chains of ${distinct(t.n_draws).join("/")} draws.`,
    caption: `What susceptibility.arrow records, then the sampling fields of the manifest's config` +
      `${config ? "" : " (absent: the manifest has no config)"}. ${mixSentence(deltaH)}`,
    body: tableHtml(["setting", "value (susceptibility.arrow)"], fromTable) +
      (fromConfig.length ? tableHtml(["config field", "value (manifest.json)"], fromConfig) : ""),
  };
}
