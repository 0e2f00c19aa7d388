/**
 * Loads a run's results folder: susceptibility.arrow is required; per_token, contexts, ablation, traces,
 * chi_terms, head_roles, influence and manifest.json are optional (absent → undefined, and the report omits their
 * sections with a note; without chi_terms the head separation falls back to the two SEs).
 */

import { join } from "node:path";
import { exists, readJsonFile } from "../util/files.ts";
import {
  ABLATION_TABLE,
  type AblationColumns,
  CHI_TERMS_TABLE,
  type ChiTermsColumns,
  CONTEXTS_TABLE,
  type ContextsColumns,
  HEAD_ROLES_TABLE,
  type HeadRolesColumns,
  INFLUENCE_TABLE,
  type InfluenceColumns,
  PER_TOKEN_TABLE,
  type PerTokenColumns,
  readAblationTable,
  readChiTermsTable,
  readContextsTable,
  readHeadRolesTable,
  readInfluenceTable,
  readPerTokenTable,
  readSusceptibilityTable,
  readTracesTable,
  SUSCEPTIBILITY_TABLE,
  type SusceptibilityColumns,
  TableError,
  TRACES_TABLE,
  type TracesColumns,
} from "../tables/schema.ts";

/** All tables of one results folder. */
export interface Results {
  dir: string;
  susceptibility: SusceptibilityColumns;
  perToken?: PerTokenColumns;
  contexts?: ContextsColumns;
  ablation?: AblationColumns;
  traces?: TracesColumns;
  /** Per-draw series of each paired χ̂ (results of older runs do not have it). */
  chiTerms?: ChiTermsColumns;
  headRoles?: HeadRolesColumns;
  /** Bayesian influence functions (scripts/influence.ts), when the run has them. */
  influence?: InfluenceColumns;
  manifest?: Record<string, unknown>;
  /** File names that were looked for and not found. */
  absent: string[];
}

export const MANIFEST_FILE = "manifest.json";

async function optional<T>(
  dir: string,
  file: string,
  absent: string[],
  read: (p: string) => Promise<T>,
): Promise<T | undefined> {
  const path = join(dir, file);
  if (!(await exists(path))) {
    absent.push(file);
    return undefined;
  }
  return await read(path);
}

/**
 * Reads a results folder; a missing susceptibility.arrow or any malformed file is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadResults } from "chi";
 * import { DEFAULT_SHAPE, syntheticTables, writeSyntheticResults } from "chi/lib/analysis/synthetic_results.ts";
 *
 * // A results folder of generated tables (what `deno task report --demo` uses), 3 checkpoints.
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticResults(dir, syntheticTables({ ...DEFAULT_SHAPE, steps: [100, 200, 400] }));
 * const results = await loadResults(dir);
 * assert.ok(results.susceptibility.chi.length > 0);
 * console.log(results.absent); // optional tables the folder does not have
 * ```
 */
export async function loadResults(dir: string): Promise<Results> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "does not exist"
      : `cannot be read (${(err as Error).message})`;
    throw new TableError(
      dir,
      "(folder)",
      `results folder ${why}; expected a folder holding susceptibility.arrow`,
    );
  }
  if (!info.isDirectory) {
    throw new TableError(
      dir,
      "(folder)",
      "is a file, expected a results folder holding susceptibility.arrow",
    );
  }
  const susPath = join(dir, SUSCEPTIBILITY_TABLE.file);
  if (!(await exists(susPath))) {
    throw new TableError(susPath, "(file)", "file not found: a results folder needs susceptibility.arrow");
  }
  const absent: string[] = [];
  const susceptibility = await readSusceptibilityTable(susPath);
  const perToken = await optional(dir, PER_TOKEN_TABLE.file, absent, readPerTokenTable);
  const contexts = await optional(dir, CONTEXTS_TABLE.file, absent, readContextsTable);
  const ablation = await optional(dir, ABLATION_TABLE.file, absent, readAblationTable);
  const traces = await optional(dir, TRACES_TABLE.file, absent, readTracesTable);
  const chiTerms = await optional(dir, CHI_TERMS_TABLE.file, absent, readChiTermsTable);
  const headRoles = await optional(dir, HEAD_ROLES_TABLE.file, absent, readHeadRolesTable);
  const influence = await optional(dir, INFLUENCE_TABLE.file, absent, readInfluenceTable);
  const manifest = await optional(dir, MANIFEST_FILE, absent, async (p) => {
    const v = await readJsonFile(p);
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new Error(`${p}: expected a JSON object`);
    }
    return v as Record<string, unknown>;
  });
  return {
    dir,
    susceptibility,
    perToken,
    contexts,
    ablation,
    traces,
    chiTerms,
    headRoles,
    influence,
    manifest,
    absent,
  };
}
