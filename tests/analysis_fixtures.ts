/**
 * Test helpers shared by the analysis and report tests: a seeded random generator and (re-exported from
 * lib/analysis/synthetic_results.ts) synthetic results tables with plausible, planted structure.
 */

export {
  DEFAULT_SHAPE,
  PAPER_SHAPE,
  type SyntheticShape,
  type SyntheticTables,
  syntheticTables,
  writeSyntheticResults,
} from "../lib/analysis/synthetic_results.ts";

/** mulberry32: small deterministic PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a uniform generator. */
export function normal(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}
