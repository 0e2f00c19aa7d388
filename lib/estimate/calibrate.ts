/**
 * ε / nβ calibration: the LLC against the step size over a grid, the plot devinterp users draw before trusting
 * an estimate. A good ε sits on the plateau where λ̂ barely changes with ε, below where chains diverge or λ̂
 * climbs (too coarse a discretization) and above where chains stop mixing (λ̂ still rising with draws).
 */
import { SGLD_DEFAULTS } from "./sgld_settings.ts";
import { estimateLlc, type LlcEstimate } from "./estimators.ts";
import { healthSummary } from "./health.ts";
import {
  type DrawObservable,
  runSgld,
  type SamplingTarget,
  SgldDivergenceError,
  type SgldRunOptions,
} from "./sampler.ts";

export interface CalibrationRow {
  eps: number;
  nbeta: number;
  /** null when a chain diverged. */
  llc: LlcEstimate | null;
  /** The divergence message, or null. */
  diverged: string | null;
  /** Smallest effective sample size over chains (NaN when diverged). */
  minEss: number;
  /** Largest |drift z| over chains (NaN when diverged). */
  maxDriftZ: number;
  seconds: number;
}

/**
 * Runs SGLD from w* for every (ε, nβ) of the grid (nβ defaults to the options' or the paper's) and returns the
 * LLC of each, catching divergences into the row instead of throwing.
 */
export async function calibrate(
  target: SamplingTarget,
  wStar: GPUBuffer,
  grid: { eps: readonly number[]; nbeta?: readonly number[] },
  options: SgldRunOptions = {},
  observables: readonly DrawObservable[] = [],
): Promise<CalibrationRow[]> {
  if (grid.eps.length === 0) throw new RangeError("calibrate: the ε grid is empty");
  const nbetas = grid.nbeta ?? [options.nbeta ?? SGLD_DEFAULTS.nbeta];
  const rows: CalibrationRow[] = [];
  for (const nbeta of nbetas) {
    for (const eps of grid.eps) {
      const t0 = performance.now();
      try {
        const r = await runSgld(target, wStar, { ...options, eps, nbeta }, observables);
        const h = healthSummary(r);
        rows.push({
          eps,
          nbeta,
          llc: estimateLlc({ values: r.losses, chains: r.chains, draws: r.draws }, r.L0, nbeta),
          diverged: null,
          minEss: Math.min(...h.chains.map((c) => c.ess)),
          maxDriftZ: Math.max(...h.chains.map((c) => Math.abs(c.driftZ))),
          seconds: (performance.now() - t0) / 1000,
        });
      } catch (e) {
        if (!(e instanceof SgldDivergenceError)) throw e;
        rows.push({
          eps,
          nbeta,
          llc: null,
          diverged: e.message,
          minEss: NaN,
          maxDriftZ: NaN,
          seconds: (performance.now() - t0) / 1000,
        });
      }
    }
  }
  return rows;
}

/**
 * A text table of LLC against ε (one block per nβ) with a bar per row, for terminals and logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { estimateLlc, formatCalibration } from "chi";
 *
 * const llc = estimateLlc({ values: [1.1, 1.2, 1.0, 1.3, 1.2, 1.1], chains: 2, draws: 3 }, 1.0, 30);
 * const table = formatCalibration([
 *   { eps: 1e-4, nbeta: 30, llc, diverged: null, minEss: 80, maxDriftZ: 0.5, seconds: 2 },
 *   { eps: 1e-2, nbeta: 30, llc: null, diverged: "chain 1: loss 1e6", minEss: NaN, maxDriftZ: NaN, seconds: 1 },
 * ]);
 * assert.ok(table.includes("diverged: chain 1"));
 * console.log(table); // one line per (nβ, ε), with a bar of λ̂ to see where it levels off
 * ```
 */
export function formatCalibration(rows: readonly CalibrationRow[], width = 40): string {
  const finite = rows.filter((r) => r.llc).map((r) => r.llc!.mean + (r.llc!.std || 0));
  const top = Math.max(1e-12, ...finite);
  const lines = ["       nβ          ε      λ̂ mean   λ̂ std  min ESS  max|drift z|"];
  for (const r of rows) {
    const head = `${r.nbeta.toPrecision(4).padStart(9)} ${r.eps.toExponential(2).padStart(10)}`;
    if (!r.llc) {
      lines.push(`${head}  diverged: ${r.diverged}`);
      continue;
    }
    const bar = "#".repeat(Math.max(0, Math.round((r.llc.mean / top) * width)));
    lines.push(
      `${head} ${r.llc.mean.toPrecision(4).padStart(11)} ${r.llc.std.toPrecision(3).padStart(8)} ${
        r.minEss.toFixed(0).padStart(8)
      } ${r.maxDriftZ.toFixed(2).padStart(13)}  ${bar}`,
    );
  }
  return lines.join("\n");
}
