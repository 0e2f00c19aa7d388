/**
 * Test helpers shared by the analysis and report tests: (re-exported from lib/analysis/synthetic_results.ts)
 * synthetic results tables with plausible, planted structure.
 */

export {
  DEFAULT_SHAPE,
  PAPER_SHAPE,
  type SyntheticShape,
  type SyntheticTables,
  syntheticTables,
  writeSyntheticResults,
} from "../lib/analysis/synthetic_results.ts";
