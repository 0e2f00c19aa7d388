/**
 * Work units of a sweep and their on-disk store. A unit is one group of independent work, computed whole:
 *
 *   chi/step_NNNNNNN        every probe × restriction at one checkpoint (one SGLD run per checkpoint serves
 *                           them all) → susceptibility.arrow, traces.arrow, chi_terms.arrow; and the
 *                           heads' mechanistic roles at that checkpoint → head_roles.arrow
 *   per_token/step_NNNNNNN  per-token χ for every probe's contexts × restriction → per_token.arrow, contexts.arrow
 *   ablation/step_NNNNNNN   zero-ablation loss deltas on the same contexts → ablation.arrow
 *
 * Each unit's seed is derived from the sweep seed and the unit id alone, so its numbers do not depend on which
 * process runs it or in what order. A unit is written into a temporary folder beside its final one and renamed
 * into place with its unit.json last, so `units/<id>/` either holds the whole unit or does not exist: a kill -9
 * loses only the unit in flight, and a rerun skips every finished unit. unit.json records a fingerprint of
 * everything the unit's numbers depend on; a finished unit with another fingerprint is an error, never reused.
 */

import { ChiInputError } from "../util/errors.ts";
import { basename, dirname, join } from "node:path";
import {
  ABLATION_TABLE,
  type AblationInput,
  CHI_TERMS_TABLE,
  type ChiTermsInput,
  CONTEXTS_TABLE,
  type ContextsInput,
  HEAD_ROLES_TABLE,
  type HeadRolesInput,
  PER_TOKEN_TABLE,
  type PerTokenInput,
  SUSCEPTIBILITY_TABLE,
  type SusceptibilityInput,
  TRACES_TABLE,
  type TracesInput,
} from "../tables/schema.ts";
import { type ColumnKind, type TableDef, writeTable } from "../tables/arrow_table.ts";
import { exists, readJsonFile, writeJsonAtomic } from "../util/files.ts";
import { sha256Hex } from "../util/hash.ts";
import { tryClaim } from "./claims.ts";

export type UnitKind = "chi" | "per_token" | "ablation";

/** The tables a unit of each kind writes (file names as in results/). */
export const UNIT_TABLES: Readonly<Record<UnitKind, readonly TableDef<Record<string, ColumnKind>>[]>> = {
  chi: [SUSCEPTIBILITY_TABLE, TRACES_TABLE, CHI_TERMS_TABLE, HEAD_ROLES_TABLE],
  per_token: [PER_TOKEN_TABLE, CONTEXTS_TABLE],
  ablation: [ABLATION_TABLE],
} as unknown as Record<UnitKind, TableDef<Record<string, ColumnKind>>[]>;

/** What a unit's computation returns: the columns of its tables, keyed by table name. */
export interface UnitTables {
  susceptibility?: SusceptibilityInput;
  traces?: TracesInput;
  chi_terms?: ChiTermsInput;
  head_roles?: HeadRolesInput;
  per_token?: PerTokenInput;
  contexts?: ContextsInput;
  ablation?: AblationInput;
}

export interface WorkUnit {
  /** "chi/step_0000100": also its folder under units/. */
  id: string;
  kind: UnitKind;
  /** Checkpoint step and file. */
  step: number;
  checkpoint: string;
  probes: readonly string[];
  restrictions: readonly string[];
  /** Derived from the sweep seed and the id. */
  seed: number;
  /** SHA-256 over everything the unit's numbers depend on (see planUnits). */
  fingerprint: string;
  /** Relative cost (e.g. SGLD steps × chains), for the progress bar's ETA. */
  cost: number;
  /** Fingerprint of the code that computes it (code_fingerprint.ts); part of `fingerprint` when set. */
  code?: string;
}

/** A unit store problem (stale unit of another config, missing units at merge); names the folder. */
export class UnitError extends ChiInputError {
  constructor(message: string) {
    super(message);
    this.name = "UnitError";
  }
}

/** The 32-bit seed of unit `id` in a sweep seeded `seed`: the first 4 bytes of SHA-256("seed:id"). */
export function unitSeed(seed: number, id: string): number {
  return parseInt(sha256Hex(`${seed}:${id}`).slice(0, 8), 16) >>> 0;
}

/** "chi/step_0000100". */
export function unitId(kind: UnitKind, step: number): string {
  return `${kind}/step_${String(step).padStart(7, "0")}`;
}

/** A checkpoint a sweep estimates, with the content hash that goes into unit fingerprints. */
export interface PlannedCheckpoint {
  step: number;
  path: string;
  sha256: string;
}

export interface PlanOptions {
  checkpoints: readonly PlannedCheckpoint[];
  probes: readonly string[];
  restrictions: readonly string[];
  seed: number;
  /** Step of the per-token and ablation units, or null for none. */
  perTokenStep: number | null;
  ablation: boolean;
  /** Everything else each kind's numbers depend on (model, data hashes, hyperparameters): JSON values. */
  settings: Readonly<Record<UnitKind, unknown>>;
  /** Relative cost of one unit of each kind. */
  cost: Readonly<Record<UnitKind, number>>;
  /** Fingerprint of the code (lib/util/code_fingerprint.ts): units of other code are never reused. */
  code?: string;
}

/** Canonical JSON: object keys sorted, so the fingerprint does not depend on key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) =>
        `${JSON.stringify(k)}:${canonicalJson(o[k])}`
      )
        .join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/**
 * The sweep's units in canonical order: chi units by step, then the per-token and ablation units. The order
 * is the merge order and the order shards deal from.
 */
export function planUnits(o: PlanOptions): WorkUnit[] {
  const make = (kind: UnitKind, c: PlannedCheckpoint): WorkUnit => {
    const id = unitId(kind, c.step);
    const seed = unitSeed(o.seed, id);
    const fingerprint = sha256Hex(canonicalJson({
      id,
      seed,
      checkpoint: c.sha256,
      probes: o.probes,
      restrictions: o.restrictions,
      settings: o.settings[kind],
      code: o.code,
    }));
    return {
      id,
      kind,
      step: c.step,
      checkpoint: c.path,
      probes: [...o.probes],
      restrictions: [...o.restrictions],
      seed,
      fingerprint,
      cost: o.cost[kind],
      ...(o.code === undefined ? {} : { code: o.code }),
    };
  };
  const sorted = [...o.checkpoints].sort((a, b) => a.step - b.step);
  const units = sorted.map((c) => make("chi", c));
  if (o.perTokenStep !== null) {
    const c = sorted.find((c) => c.step === o.perTokenStep);
    if (!c) throw new UnitError(`per-token step ${o.perTokenStep} is not a selected checkpoint`);
    units.push(make("per_token", c));
    if (o.ablation) units.push(make("ablation", c));
  }
  return units;
}

/** The folder of a finished unit. */
export function unitDir(out: string, id: string): string {
  return join(out, "units", id);
}

export const UNIT_FILE = "unit.json";

/** unit.json: the unit, its fingerprint and how it was computed. */
export interface UnitRecord {
  id: string;
  kind: UnitKind;
  step: number;
  checkpoint: string;
  seed: number;
  fingerprint: string;
  /** The code fingerprint it was computed with (absent in units of older versions). */
  code?: string;
  rows: Record<string, number>;
  seconds: number;
  created: string;
  /** Free-form facts from the computation (adapter, sampler record, health). */
  extra: Record<string, unknown>;
}

/**
 * Whether `unit` is finished in `out`. A finished unit whose fingerprint differs is an error naming its
 * folder (the sweep folder holds results of another config or other checkpoints).
 */
export async function isUnitDone(out: string, unit: WorkUnit): Promise<boolean> {
  const dir = unitDir(out, unit.id);
  const file = join(dir, UNIT_FILE);
  // The folder first: writeUnit renames a finished folder into place with its unit.json inside, so once the
  // folder exists the file does too. (File first would race a concurrent rename between the two checks.)
  if (!(await exists(dir))) return false;
  if (!(await exists(file))) {
    throw new UnitError(`${dir}: a unit folder without ${UNIT_FILE}: not written by this tool; remove it`);
  }
  const rec = await readJsonFile(file) as Partial<UnitRecord>;
  if (rec === null || typeof rec !== "object" || typeof rec.fingerprint !== "string") {
    throw new UnitError(`${file}: not a unit record (no "fingerprint"): remove ${dir} to recompute the unit`);
  }
  if (rec.fingerprint !== unit.fingerprint) {
    if (unit.code !== undefined && rec.code !== unit.code) {
      throw new UnitError(
        `${dir}: computed by other code (lib/ or kernels/ changed since; code ${
          String(rec.code ?? "unrecorded").slice(0, 12)
        }…, now ${
          unit.code.slice(0, 12)
        }…): delete the unit folders to recompute them, or use another "out" folder`,
      );
    }
    throw new UnitError(
      `${dir}: finished with another config, seed or checkpoint (fingerprint ${
        String(rec.fingerprint).slice(0, 12)
      }…, this sweep needs ${unit.fingerprint.slice(0, 12)}…): use another "out" folder or delete this one`,
    );
  }
  return true;
}

const TMP_MARK = ".tmp-";

/** Removes temporary folders of `unit` left by an interrupted earlier run (only this unit's). */
export async function removeStaleTemp(out: string, unit: WorkUnit): Promise<number> {
  const final = unitDir(out, unit.id);
  const parent = dirname(final);
  const prefix = `${basename(final)}${TMP_MARK}`;
  let removed = 0;
  if (!(await exists(parent))) return 0;
  for await (const ent of Deno.readDir(parent)) {
    if (ent.name.startsWith(prefix)) {
      await Deno.remove(join(parent, ent.name), { recursive: true });
      removed++;
    }
  }
  return removed;
}

function tableRows(cols: unknown): number {
  const first = Object.values(cols as Record<string, { length: number }>)[0];
  return first?.length ?? 0;
}

/**
 * Writes a finished unit: its tables (validated by the table writers) and unit.json into a temporary folder,
 * then one rename into units/<id>. Every table of the unit's kind must be present.
 */
export async function writeUnit(
  out: string,
  unit: WorkUnit,
  tables: UnitTables,
  seconds: number,
  extra: Record<string, unknown> = {},
): Promise<UnitRecord> {
  const final = unitDir(out, unit.id);
  await Deno.mkdir(dirname(final), { recursive: true });
  const tmp = `${final}${TMP_MARK}${Deno.pid}-${Math.floor(performance.now())}`;
  await Deno.mkdir(tmp, { recursive: true });
  const rows: Record<string, number> = {};
  try {
    for (const def of UNIT_TABLES[unit.kind]) {
      const cols = (tables as Record<string, unknown>)[def.name];
      if (cols === undefined) {
        throw new UnitError(`unit ${unit.id}: the computation returned no ${def.name} table`);
      }
      await writeTable(def, join(tmp, def.file), cols as never);
      rows[def.name] = tableRows(cols);
    }
    const record: UnitRecord = {
      id: unit.id,
      kind: unit.kind,
      step: unit.step,
      checkpoint: unit.checkpoint,
      seed: unit.seed,
      fingerprint: unit.fingerprint,
      ...(unit.code === undefined ? {} : { code: unit.code }),
      rows,
      seconds,
      created: new Date().toISOString(),
      extra,
    };
    await writeJsonAtomic(join(tmp, UNIT_FILE), record);
    try {
      await Deno.rename(tmp, final);
    } catch (err) {
      // Another process finished the same unit first (overlapping shards): its copy stands.
      if (!(await exists(join(final, UNIT_FILE)))) throw err;
      await Deno.remove(tmp, { recursive: true });
    }
    return record;
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** Computes one unit's tables; `progress(fraction)` reports progress within the unit (0…1). */
export type ComputeUnit = (
  unit: WorkUnit,
  progress: (fraction: number) => void,
) => Promise<{ tables: UnitTables; extra?: Record<string, unknown> }>;

export interface RunUnitsHooks {
  /** Called with the cost finished so far (skipped units count as finished) and the total. */
  onProgress?: (done: number, total: number, current: WorkUnit | null) => void;
  /**
   * Called once per unit: skipped (already finished), computed (with its record), or elsewhere (another
   * process holds its claim: claims.ts).
   */
  onUnit?: (unit: WorkUnit, status: "skipped" | "computed" | "elsewhere", record?: UnitRecord) => void;
}

export interface RunUnitsResult {
  computed: string[];
  skipped: string[];
  /** Units another process was computing (their claims were held). */
  elsewhere: string[];
  seconds: number;
}

/** Runs every unfinished unit of `units` in order, writing each atomically; finished ones are skipped. */
export async function runUnits(
  out: string,
  units: readonly WorkUnit[],
  compute: ComputeUnit,
  hooks: RunUnitsHooks = {},
): Promise<RunUnitsResult> {
  const t0 = performance.now();
  const total = units.reduce((s, u) => s + u.cost, 0);
  let done = 0;
  const computed: string[] = [];
  const skipped: string[] = [];
  const elsewhere: string[] = [];
  const skip = (unit: WorkUnit) => {
    done += unit.cost;
    skipped.push(unit.id);
    hooks.onUnit?.(unit, "skipped");
    hooks.onProgress?.(done, total, null);
  };
  for (const unit of units) {
    if (await isUnitDone(out, unit)) {
      skip(unit);
      continue;
    }
    const claim = await tryClaim(out, unit.id);
    if (claim === null) {
      done += unit.cost;
      elsewhere.push(unit.id);
      hooks.onUnit?.(unit, "elsewhere");
      hooks.onProgress?.(done, total, null);
      continue;
    }
    try {
      // Another process may have finished it between the check and the claim.
      if (await isUnitDone(out, unit)) {
        skip(unit);
        continue;
      }
      await removeStaleTemp(out, unit);
      const t = performance.now();
      const before = done;
      hooks.onProgress?.(done, total, unit);
      const { tables, extra } = await compute(unit, (f) => {
        const frac = Math.min(1, Math.max(0, Number.isFinite(f) ? f : 0));
        hooks.onProgress?.(before + frac * unit.cost, total, unit);
      });
      const record = await writeUnit(out, unit, tables, (performance.now() - t) / 1000, extra);
      done += unit.cost;
      computed.push(unit.id);
      hooks.onUnit?.(unit, "computed", record);
      hooks.onProgress?.(done, total, null);
    } finally {
      await claim.release();
    }
  }
  return { computed, skipped, elsewhere, seconds: (performance.now() - t0) / 1000 };
}

/** The ids of `units` not yet finished in `out`. */
export async function missingUnits(out: string, units: readonly WorkUnit[]): Promise<string[]> {
  const missing: string[] = [];
  for (const u of units) if (!(await isUnitDone(out, u))) missing.push(u.id);
  return missing;
}

/**
 * Checks every finished unit of `units` against its fingerprint before anything is written, and refuses with
 * one message naming all the units that were computed by other code or another config (isUnitDone's check,
 * for the whole plan at once).
 */
export async function checkUnitStore(out: string, units: readonly WorkUnit[]): Promise<void> {
  const stale: string[] = [];
  let first: UnitError | undefined;
  for (const u of units) {
    try {
      await isUnitDone(out, u);
    } catch (err) {
      if (!(err instanceof UnitError)) throw err;
      first ??= err;
      stale.push(u.id);
    }
  }
  if (first === undefined) return;
  if (stale.length === 1) throw first;
  throw new UnitError(
    `${stale.length} finished units cannot be reused (${stale.slice(0, 6).join(", ")}${
      stale.length > 6 ? ", …" : ""
    }); the first: ${first.message}`,
  );
}
