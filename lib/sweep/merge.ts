/**
 * Merges finished work units into the results tables: for each table, the units' files concatenated in the
 * canonical unit order (planUnits), so the merged tables are the same bytes whichever shards computed which
 * units. Every unit must be finished; otherwise the error says how many are missing and which.
 */

import { join } from "node:path";
import { type ColumnKind, readTable, type TableDef, writeTable } from "../tables/arrow_table.ts";
import { UNIT_TABLES, unitDir, UnitError, type WorkUnit } from "./units.ts";
import { missingUnits } from "./units.ts";

type Columns = Record<string, Int32Array | Float64Array | string[]>;

/** Concatenates column sets of one table (same declared columns) in order. */
export function concatColumns(def: TableDef<Record<string, ColumnKind>>, parts: readonly Columns[]): Columns {
  const out: Columns = {};
  for (const [name, kind] of Object.entries(def.columns)) {
    const cols = parts.map((p) => p[name]);
    const n = cols.reduce((s, c) => s + c.length, 0);
    if (kind === "utf8") {
      out[name] = ([] as string[]).concat(...(cols as string[][]));
    } else {
      const arr = kind === "int32" ? new Int32Array(n) : new Float64Array(n);
      let at = 0;
      for (const c of cols as (Int32Array | Float64Array)[]) {
        arr.set(c, at);
        at += c.length;
      }
      out[name] = arr;
    }
  }
  return out;
}

export interface MergeResult {
  /** Table file → rows written. */
  rows: Record<string, number>;
  files: string[];
}

/** Merges `units` (all finished in `out`) into `resultsDir`/<table>.arrow. */
export async function mergeUnits(
  out: string,
  units: readonly WorkUnit[],
  resultsDir: string,
): Promise<MergeResult> {
  const missing = await missingUnits(out, units);
  if (missing.length > 0) {
    throw new UnitError(
      `${out}: ${missing.length} of ${units.length} units are not finished (${
        missing.slice(0, 5).join(", ")
      }${missing.length > 5 ? ", …" : ""}): run the remaining shards (or the sweep without --shard) first`,
    );
  }
  await Deno.mkdir(resultsDir, { recursive: true });
  const byTable = new Map<string, { def: TableDef<Record<string, ColumnKind>>; parts: Columns[] }>();
  for (const unit of units) {
    for (const def of UNIT_TABLES[unit.kind]) {
      const entry = byTable.get(def.name) ?? { def, parts: [] };
      entry.parts.push(await readTable(def, join(unitDir(out, unit.id), def.file)) as Columns);
      byTable.set(def.name, entry);
    }
  }
  const rows: Record<string, number> = {};
  const files: string[] = [];
  for (const { def, parts } of byTable.values()) {
    const cols = concatColumns(def, parts);
    const path = join(resultsDir, def.file);
    await writeTable(def, path, cols as never);
    rows[def.file] = Object.values(cols)[0].length;
    files.push(path);
  }
  return { rows, files };
}
