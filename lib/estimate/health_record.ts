/**
 * The sampler's health of one unit as a plain JSON record, written into unit.json and the results manifest
 * (extra.health) so that the sweep's console and the report can show it beside the estimates it concerns.
 * Chains name their restriction here: a bare copy index means nothing once the run is gone.
 */
import { type ChainHealth, healthSummary } from "./health.ts";
import type { SamplingRun } from "./unit.ts";

/** One sampling run's health: what `healthSummary` finds, with restriction names. */
export interface HealthRecord {
  /** The estimate the run serves: "chi" (χ and LLC) or "per_token". */
  kind: "chi" | "per_token";
  step: number;
  /** Restriction names; ChainHealth.restriction indexes this list. */
  restrictions: string[];
  L0: number;
  chains: ChainHealth[];
  /** healthSummary's warnings, each prefixed with its restriction. */
  warnings: string[];
}

/** The health record of `run` at checkpoint `step`. */
export function healthRecord(kind: HealthRecord["kind"], step: number, run: SamplingRun): HealthRecord {
  const h = healthSummary(run.result, run.still);
  const name = (c: number) => run.restrictions[run.result.restrictionOf[c]] ?? "?";
  const warnings = h.warnings.map((w) => w.replace(/^chain (\d+):/, (_, c) => `${name(+c)} chain ${c}:`));
  return { kind, step, restrictions: [...run.restrictions], L0: h.L0, chains: h.chains, warnings };
}
