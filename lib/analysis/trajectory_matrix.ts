/**
 * The data matrix X of joint trajectory PCA (section 3.3, eq. 46): one row per (dataset d, checkpoint t),
 * dataset-major (all checkpoints of the first probe, then the second, ...), one column per attention head,
 * entry χ_j^d(t). The unrestricted model ("full") is not a column.
 */

import { ChiInputError } from "../util/errors.ts";
import { type SusceptibilityColumns } from "../tables/schema.ts";
import { compareRestrictions, FULL } from "../model/restriction.ts";

/** X with its row and column labels. */
export interface TrajectoryMatrix {
  /** Column labels: heads "l:h" in (layer, head) order. */
  heads: string[];
  /** Probes (datasets) in order of first appearance in the table. */
  probes: string[];
  /** Checkpoint steps, ascending, shared by every probe. */
  steps: number[];
  /** Row-major |probes|·|steps| × |heads|; row index = probeIndex·|steps| + stepIndex. */
  X: number[][];
  /** Steps left out because some probe lacks them. */
  warnings: string[];
}

/** Thrown when the susceptibility table cannot form a complete matrix; names the missing cell. */
export class TrajectoryMatrixError extends ChiInputError {
  constructor(message: string) {
    super(message);
    this.name = "TrajectoryMatrixError";
  }
}

/**
 * Builds X from susceptibility.arrow columns. Only steps present for every probe are used (others are
 * reported in `warnings`); a missing (probe, step, head) cell among those is an error.
 */
export function buildTrajectoryMatrix(
  t: SusceptibilityColumns,
  source = "susceptibility.arrow",
): TrajectoryMatrix {
  const probes: string[] = [];
  const headSet = new Set<string>();
  const stepsByProbe = new Map<string, Set<number>>();
  const value = new Map<string, number>();
  for (let i = 0; i < t.step.length; i++) {
    const r = t.restriction[i];
    if (r === FULL) continue;
    const p = t.probe[i];
    if (!stepsByProbe.has(p)) {
      stepsByProbe.set(p, new Set());
      probes.push(p);
    }
    stepsByProbe.get(p)!.add(t.step[i]);
    headSet.add(r);
    const chi = t.chi[i];
    if (!Number.isFinite(chi)) {
      throw new TrajectoryMatrixError(
        `${source}: column "chi": non-finite value ${chi} at probe ${p}, step ${t.step[i]}, restriction ${r}`,
      );
    }
    value.set(`${p}\u0000${t.step[i]}\u0000${r}`, chi);
  }
  if (probes.length === 0) throw new TrajectoryMatrixError(`${source}: no per-head rows (restriction "l:h")`);
  const heads = [...headSet].sort(compareRestrictions);
  const allSteps = new Set<number>();
  for (const s of stepsByProbe.values()) for (const x of s) allSteps.add(x);
  const steps = [...allSteps].filter((s) => probes.every((p) => stepsByProbe.get(p)!.has(s))).sort((a, b) =>
    a - b
  );
  const warnings: string[] = [];
  const dropped = [...allSteps].filter((s) => !steps.includes(s)).sort((a, b) => a - b);
  if (dropped.length > 0) {
    warnings.push(`steps ${dropped.join(", ")} are missing for some probes and were left out of the PCA`);
  }
  if (steps.length === 0) {
    throw new TrajectoryMatrixError(`${source}: no checkpoint step is shared by all probes`);
  }
  const X: number[][] = [];
  for (const p of probes) {
    for (const s of steps) {
      X.push(heads.map((h) => {
        const v = value.get(`${p}\u0000${s}\u0000${h}`);
        if (v === undefined) {
          throw new TrajectoryMatrixError(
            `${source}: missing row for probe ${p}, step ${s}, restriction ${h}`,
          );
        }
        return v;
      }));
    }
  }
  return { heads, probes, steps, X, warnings };
}
