/** Report options, their defaults, and the default choice of heads for the per-token sections. */

import { ChiInputError } from "../util/errors.ts";
import type { Config, TopLevelSpec } from "vega-lite";
import { FULL, parseRestriction } from "../model/restriction.ts";

/** What the report shows; every field has a default. */
export interface ReportOptions {
  /** Page title (default: "Susceptibility report — <run>"). */
  title?: string;
  /** Run name shown in the header (default: the results folder's name). */
  runName?: string;
  /** Heads for the per-token sections, e.g. ["0:0", "1:2", "1:7"] (default: 3 spread over the heads). */
  heads?: string[];
  /** Principal components kept (the paper: 3). */
  components?: number;
  /** Contexts shown per probe in the highlighted text (default 2). */
  contextsPerProbe?: number;
  /** Longest context prefix shown, in tokens (default 256). */
  maxTokensShown?: number;
  /** Tokens (decoded pieces) for the histograms of Fig. 11 (default: the 2 most frequent per probe). */
  histogramTokens?: string[];
  /** Checkpoint of the per-token sections (default: the latest in per_token.arrow). */
  perTokenStep?: number;
  /** Distinct tokens listed per head and probe (appendix D: 3) and the pool they come from (100). */
  topTokens?: number;
  topPool?: number;
  /** Probes in the per-token sections (default: all). */
  probes?: string[];
  /** Vega-Lite config for every chart (default REPORT_CONFIG). */
  config?: Config;
  /**
   * Called with each chart's id (e.g. "pca-loadings") and built spec just before rendering; returns the spec
   * to render (the same object, changed, or a new one). For restyling single charts; see docs/report.md.
   */
  restyle?: (id: string, spec: TopLevelSpec) => TopLevelSpec;
}

/** Bad option value; names the option and what was expected. */
export class ReportOptionError extends ChiInputError {
  constructor(readonly option: string, message: string) {
    super(`option ${option}: ${message}`);
    this.name = "ReportOptionError";
  }
}

/** `n` heads spread evenly over the sorted list (first and last included), like the paper's 0:0, 1:2, 1:7. */
export function spreadHeads(heads: readonly string[], n: number): string[] {
  if (heads.length <= n) return [...heads];
  if (n === 1) return [heads[0]];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = heads[Math.round((i * (heads.length - 1)) / (n - 1))];
    if (!out.includes(h)) out.push(h);
  }
  return out;
}

/** Validates requested heads against those available; unknown heads are an error listing the available ones. */
export function resolveHeads(
  requested: readonly string[] | undefined,
  available: readonly string[],
  n = 3,
): string[] {
  if (!requested || requested.length === 0) return spreadHeads(available, n);
  for (const h of requested) {
    if (!parseRestriction(h) || h === FULL) {
      throw new ReportOptionError("heads", `expected "layer:head", got ${JSON.stringify(h)}`);
    }
    if (!available.includes(h)) {
      throw new ReportOptionError(
        "heads",
        `head ${h} has no per-token values (available: ${available.join(", ")})`,
      );
    }
  }
  return [...requested];
}
