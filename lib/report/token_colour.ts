/**
 * Appendix C.2, second colouring algorithm (used for Figs. 1 and 8): a per-token susceptibility χ maps to
 * rgba(0, 128, 0, |χ|/max) when positive and rgba(255, 0, 0, |χ|/max) otherwise, where max is the largest
 * |χ| over everything shown together (all contexts and all heads: shared normalization, so colour strength
 * is comparable across heads). Missing values (NaN, e.g. position 0) are transparent.
 */

/** CSS colour of one per-token value under a shared maximum magnitude. */
export function tokenColour(chi: number, max: number): string {
  if (!Number.isFinite(chi) || !(max > 0)) return "transparent";
  const alpha = Math.min(Math.abs(chi) / max, 1);
  const a = Number(alpha.toFixed(3));
  return chi > 0 ? `rgba(0,128,0,${a})` : `rgba(255,0,0,${a})`;
}

/** The shared normalization: max |χ| over all given arrays (finite values only); 0 when there are none. */
export function sharedMax(values: Iterable<ArrayLike<number>>): number {
  let max = 0;
  for (const arr of values) {
    for (let i = 0; i < arr.length; i++) {
      const v = Math.abs(arr[i]);
      if (Number.isFinite(v) && v > max) max = v;
    }
  }
  return max;
}
