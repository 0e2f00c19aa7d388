/**
 * Which checkpoints a sweep estimates: all of them, a given list of steps, or `count` of them log-spaced in
 * (step + 1) — the paper's checkpoints are log-spaced too, so equal spacing on its log-x plots.
 */

import type { CheckpointEntry } from "../model/checkpoint.ts";
import type { CheckpointSelection } from "./config.ts";
import { SweepConfigError } from "./config.ts";

/**
 * Up to `count` steps of `steps` (sorted ascending, distinct) nearest to log-spaced targets in log(1 + step),
 * always the first and the last; when rounding makes targets pick the same step, the nearest unused steps
 * fill in so exactly min(count, steps.length) come back, sorted.
 */
export function logSpacedSteps(steps: readonly number[], count: number): number[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`count must be an integer ≥ 1, got ${count}`);
  }
  const n = steps.length;
  if (count >= n) return [...steps];
  if (count === 1) return [steps[n - 1]];
  const x = steps.map((s) => Math.log1p(s));
  const chosen = new Set<number>();
  for (let k = 0; k < count; k++) {
    const target = x[0] + ((x[n - 1] - x[0]) * k) / (count - 1);
    // The nearest unused index to the target (ties to the earlier one).
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (chosen.has(i)) continue;
      if (best < 0 || Math.abs(x[i] - target) < Math.abs(x[best] - target)) best = i;
    }
    chosen.add(best);
  }
  return [...chosen].sort((a, b) => a - b).map((i) => steps[i]);
}

/** The selected checkpoints of `available` (sorted by step); a listed step that is missing is an error. */
export function selectCheckpoints(
  available: readonly CheckpointEntry[],
  selection: CheckpointSelection,
  where: string,
): CheckpointEntry[] {
  if (available.length === 0) throw new SweepConfigError("checkpoints", `${where}: no checkpoints found`);
  if (selection.kind === "all") return [...available];
  const byStep = new Map(available.map((c) => [c.step, c]));
  if (selection.kind === "steps") {
    return selection.steps.map((s) => {
      const c = byStep.get(s);
      if (!c) {
        const have = available.map((a) => a.step).join(", ");
        throw new SweepConfigError("select", `step ${s} has no checkpoint in ${where} (steps: ${have})`);
      }
      return c;
    });
  }
  return logSpacedSteps(available.map((c) => c.step), selection.count).map((s) => byStep.get(s)!);
}
