/**
 * Fig. 7: pairs (s, a) of per-token susceptibility s and ablation delta a (loss with the head zero-ablated
 * minus the unablated loss) for the same (probe, step, head, context, position).
 */

import type { AblationColumns } from "../tables/schema.ts";
import { groupKey, type PerTokenIndex } from "./per_token.ts";

/** Paired values of one (probe, restriction). */
export interface AblationPairs {
  probe: string;
  restriction: string;
  chi: Float64Array;
  delta: Float64Array;
}

/**
 * Joins ablation rows at the index's step with per-token rows of the requested (probe, restriction) panels;
 * tokens present in only one table are skipped.
 */
export function joinAblation(
  idx: PerTokenIndex,
  ab: AblationColumns,
  panels: readonly { probe: string; restriction: string }[],
): AblationPairs[] {
  const wanted = new Map(panels.map((p) => [groupKey(p.probe, p.restriction), new Map<number, number>()]));
  // Ablation deltas keyed by (context, position) packed into one number per panel.
  for (let i = 0; i < ab.step.length; i++) {
    if (ab.step[i] !== idx.step) continue;
    const m = wanted.get(groupKey(ab.probe[i], ab.restriction[i]));
    if (m) m.set(ab.context[i] * 1048576 + ab.position[i], ab.delta_loss[i]);
  }
  const c = idx.columns;
  return panels.map(({ probe, restriction }) => {
    const deltas = wanted.get(groupKey(probe, restriction))!;
    const g = idx.groups.get(groupKey(probe, restriction));
    const chi: number[] = [];
    const delta: number[] = [];
    for (const i of g?.rows ?? []) {
      const d = deltas.get(c.context[i] * 1048576 + c.position[i]);
      if (d === undefined) continue;
      chi.push(c.chi[i]);
      delta.push(d);
    }
    return { probe, restriction, chi: Float64Array.from(chi), delta: Float64Array.from(delta) };
  });
}
