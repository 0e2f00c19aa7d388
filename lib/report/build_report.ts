/**
 * Builds the whole report from a loaded results folder: PCA, per-token and ablation analyses, every chart
 * rendered to inline SVG, sections in the paper's order; optional tables that are absent give a note instead
 * of their sections.
 */

import { basename, resolve } from "node:path";
import { indexContexts, indexPerToken, latestStep } from "../analysis/per_token.ts";
import { type TrajectoryPca, trajectoryPca } from "../analysis/pca.ts";
import type { Results } from "../analysis/results.ts";
import { buildTrajectoryMatrix } from "../analysis/trajectory_matrix.ts";
import { FULL } from "../model/restriction.ts";
import { ChartSet, type RenderedChart } from "./charts.ts";
import { reportHtml, type ReportSection } from "./html.ts";
import { ReportOptionError, type ReportOptions, resolveHeads } from "./options.ts";
import { ablationSection } from "./section_ablation.ts";
import { llcSection, susceptibilitySection } from "./section_curves.ts";
import { diagnosticsSection } from "./section_diagnostics.ts";
import { influenceSection } from "./section_influence.ts";
import { manifestSection } from "./section_manifest.ts";
import { headRolesSection } from "./section_roles.ts";
import { pcaSections } from "./section_pca.ts";
import {
  highlightedTextSection,
  perTokenVsOverallSection,
  tokenHistogramSection,
  topTokensSection,
} from "./section_per_token.ts";
import { tracesSection } from "./section_traces.ts";
import { settingsSection } from "./section_settings.ts";
import { healthRecordsOf, runWarnings } from "../analysis/run_warnings.ts";
import { countsText, warningsWord } from "./warnings_html.ts";

/** The built report. */
export interface BuiltReport {
  html: string;
  sections: ReportSection[];
  charts: RenderedChart[];
  notes: string[];
  pca?: TrajectoryPca;
}

/**
 * Builds the report page for `results`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildReport, loadResults } from "chi";
 * import { DEFAULT_SHAPE, syntheticTables, writeSyntheticResults } from "chi/lib/analysis/synthetic_results.ts";
 *
 * // A results folder of generated tables (what `deno task report --demo` uses), 3 checkpoints.
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticResults(dir, syntheticTables({ ...DEFAULT_SHAPE, steps: [100, 200, 400] }));
 * const report = await buildReport(await loadResults(dir), { runName: "example" });
 * assert.ok(report.sections.some((s) => s.id === "susceptibility"));
 * assert.ok(report.html.startsWith("<!DOCTYPE html>"));
 * await Deno.writeTextFile(`${dir}/index.html`, report.html); // one self-contained file
 * ```
 */
export async function buildReport(results: Results, opts: ReportOptions = {}): Promise<BuiltReport> {
  const charts = new ChartSet(opts.restyle);
  const sections: ReportSection[] = [];
  const notes: string[] = [];
  const sus = results.susceptibility;
  const runName = opts.runName ?? basename(resolve(results.dir));

  const warnings = runWarnings(sus, healthRecordsOf(results.manifest));
  if (warnings.length) {
    notes.push(
      `${warningsWord(warnings.length, "sampler ")} (${
        countsText(warnings)
      }): listed beside the estimates concerned and in ` +
        `the diagnostics section.`,
    );
  }
  sections.push(settingsSection(sus, results.manifest));
  sections.push(await susceptibilitySection(sus, charts, opts, warnings));
  if (results.headRoles && results.headRoles.step.length > 0) {
    sections.push(await headRolesSection(results.headRoles, sus, charts, opts, results.chiTerms));
  } else {
    notes.push("head_roles.arrow is absent: the head-role scores (induction, previous-token) are omitted.");
  }

  let pca: TrajectoryPca | undefined;
  const matrix = buildTrajectoryMatrix(sus, `${results.dir}/susceptibility.arrow`);
  if (matrix.X.length < 2) {
    notes.push("Trajectory PCA omitted: it needs at least two (probe, checkpoint) rows.");
  } else {
    pca = trajectoryPca(matrix, opts.components ?? 3);
    notes.push(...pca.warnings);
    sections.push(...await pcaSections(pca, charts, opts));
  }

  const pt = results.perToken;
  if (!pt) {
    notes.push(
      "per_token.arrow is absent: the per-token sections (Figs. 1, 7, 8, 9, 11, appendix D) are omitted.",
    );
  } else {
    const step = opts.perTokenStep ?? latestStep(pt);
    if (step === undefined) {
      notes.push("per_token.arrow has no rows: the per-token sections are omitted.");
    } else {
      const idx = indexPerToken(pt, step);
      if (idx.groups.size === 0) {
        throw new ReportOptionError("perTokenStep", `no per-token rows at step ${step}`);
      }
      const available = idx.restrictions.filter((r) => r !== FULL);
      const heads = resolveHeads(opts.heads, available);
      const probes = opts.probes ?? idx.probes;
      for (const p of probes) {
        if (!idx.probes.includes(p)) {
          throw new ReportOptionError(
            "probes",
            `probe ${p} has no per-token values (available: ${idx.probes.join(", ")})`,
          );
        }
      }
      if (results.contexts) {
        const sel = { idx, ctx: indexContexts(results.contexts), heads, probes };
        sections.push(highlightedTextSection(sel, opts));
        sections.push(topTokensSection(sel, opts));
        sections.push(await tokenHistogramSection(sel, charts, opts));
      } else {
        notes.push(
          "contexts.arrow is absent: highlighted text (Figs. 1, 8), top tokens (appendix D) and token histograms (Fig. 11) are omitted.",
        );
      }
      sections.push(await perTokenVsOverallSection(idx, sus, charts, opts, warnings));
      if (results.ablation) {
        sections.push(await ablationSection(idx, results.ablation, heads, probes, charts, opts));
      } else {notes.push(
          "ablation.arrow is absent: the susceptibility-against-ablation densities (Fig. 7) are omitted.",
        );}
    }
  }

  sections.push(await llcSection(sus, charts, opts, warnings));
  sections.push(diagnosticsSection(sus, warnings));
  if (results.influence) sections.push(influenceSection(results.influence));
  if (results.traces) sections.push(await tracesSection(results.traces, charts, opts));
  else notes.push("traces.arrow is absent: the SGLD trace diagnostics are omitted.");
  if (results.manifest) sections.push(manifestSection(results.manifest));
  else notes.push("manifest.json is absent: no run manifest to show.");

  const probes = [...new Set(sus.probe)];
  const steps = [...new Set(sus.step)].sort((a, b) => a - b);
  const html = reportHtml({
    title: opts.title ?? `Susceptibility report — ${runName}`,
    subtitle: [
      `Run ${runName}: ${probes.length} probes (${probes.join(", ")}), ${steps.length} checkpoints ` +
      `(${steps[0]}–${steps[steps.length - 1]}), ${matrix.heads.length} heads.`,
    ],
    sections,
    notes,
  });
  return { html, sections, charts: charts.charts, notes, pca };
}
