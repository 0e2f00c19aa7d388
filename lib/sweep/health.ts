/**
 * The sampler's health across a sweep: each chi and per_token unit keeps its HealthRecord in unit.json
 * (extra.health); the console prints one line for a unit with warnings when it finishes, and the merge gathers every record
 * into the results manifest (extra.health), where the report reads them.
 */
import { join } from "node:path";
import type { HealthRecord } from "../estimate/health_record.ts";
import { readJsonFile } from "../util/files.ts";
import { UNIT_FILE, unitDir, type UnitRecord, type WorkUnit } from "./units.ts";

/** A unit record's health, when the unit sampled and recorded it (units of older versions did not). */
export function unitHealth(rec: Pick<UnitRecord, "extra"> | undefined): HealthRecord | undefined {
  const h = rec?.extra?.health as HealthRecord | undefined;
  return h && Array.isArray(h.chains) && Array.isArray(h.warnings) ? h : undefined;
}

/** Warnings quoted in full on a unit's console line; the rest are counted (a bad run has one per chain). */
const QUOTED = 3;

/** The console line of a finished unit with sampler problems ([] for a healthy one). */
export function healthLines(unitId: string, rec: Pick<UnitRecord, "extra"> | undefined): string[] {
  const ws = unitHealth(rec)?.warnings ?? [];
  if (ws.length === 0) return [];
  const more = ws.length > QUOTED ? `; and ${ws.length - QUOTED} more` : "";
  return [`warning: unit ${unitId}: ${ws.length} sampler warnings: ${ws.slice(0, QUOTED).join("; ")}${more}`];
}

/** The health records of `units` (finished in `out`), in unit order; units without one are skipped. */
export async function collectHealth(out: string, units: readonly WorkUnit[]): Promise<HealthRecord[]> {
  const records: HealthRecord[] = [];
  for (const u of units) {
    const h = unitHealth(await readJsonFile(join(unitDir(out, u.id), UNIT_FILE)) as UnitRecord);
    if (h) records.push(h);
  }
  return records;
}
