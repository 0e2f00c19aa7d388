/**
 * Whether any probe context ever enters a minibatch. Algorithm 1 replaces ⌊(j+1)δh⌋ − ⌊jδh⌋ of the positions
 * j = step·batch + i, so a run of `draws` steps of `batch` contexts mixes in ⌊draws·batch·δh⌋ probe contexts
 * or one more: with draws·batch·δh < 1 it may mix in none, and every χ and its standard error come out
 * exactly 0 — a table of wrong numbers, not a failure. Refused before any sampling, naming the fields.
 */

/** The names the caller uses for the three settings (config fields or flags). */
export interface CoverageNames {
  draws: string;
  batch: string;
  deltaH: string;
}

/**
 * Null when draws·batch·δh ≥ 1; otherwise the message: the product, and the smallest value of each setting
 * that works with the other two kept.
 */
export function probeCoverageProblem(
  draws: number,
  batch: number,
  deltaH: number,
  names: CoverageNames,
): string | null {
  const product = draws * batch * deltaH;
  if (product >= 1 - 1e-12) return null;
  const minDeltaH = 1 / (draws * batch);
  const minDraws = Math.ceil(1 / (batch * deltaH) - 1e-12);
  const minBatch = Math.ceil(1 / (draws * deltaH) - 1e-12);
  return `${names.draws} × ${names.batch} × ${names.deltaH} = ${draws} × ${batch} × ${deltaH} = ` +
    `${
      Number(product.toPrecision(4))
    } < 1, so no probe context would enter any batch and every χ would be 0; ` +
    `the smallest values that work: ${names.deltaH} ≥ ${Number(minDeltaH.toPrecision(4))}, or ` +
    `${names.draws} ≥ ${minDraws}, or ${names.batch} ≥ ${minBatch}`;
}
