/**
 * A small typed layer over Arrow IPC files with a fixed column schema: a table is declared once as
 * `{column: kind}`, and from that declaration come its TypeScript row and column types, its Arrow schema,
 * a validating reader (missing column, wrong type or nulls → TableError naming the file and column) and a
 * fast atomic writer that takes typed arrays (no per-row objects are built for ~1M-row tables).
 */

import { ChiInputError } from "../util/errors.ts";
import {
  type Data,
  DataType,
  Field,
  Float64,
  Int32,
  makeData,
  Precision,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  type Vector,
} from "apache-arrow";
import { withFileErrors, writeFileAtomic } from "../util/files.ts";

/** The column types the results tables use. */
export type ColumnKind = "int32" | "float64" | "utf8";

/** A table declaration: its usual file name and its columns in order. */
export interface TableDef<C extends Record<string, ColumnKind>> {
  /** Short name for messages and the schema metadata, e.g. "susceptibility". */
  readonly name: string;
  /** File name inside a run's results folder, e.g. "susceptibility.arrow". */
  readonly file: string;
  readonly columns: C;
  /** Optional semantic check on whole columns; returns a problem (column and message) or undefined. */
  readonly check?: (cols: ReadColumns<C>) => ColumnProblem | undefined;
}

/** A problem found by a table's semantic check. */
export interface ColumnProblem {
  column: string;
  message: string;
}

type ReadKind<K extends ColumnKind> = K extends "int32" ? Int32Array
  : K extends "float64" ? Float64Array
  : string[];
type WriteKind<K extends ColumnKind> = K extends "int32" ? Int32Array | readonly number[]
  : K extends "float64" ? Float64Array | readonly number[]
  : readonly string[];
type ValueKind<K extends ColumnKind> = K extends "utf8" ? string : number;

/** Columns as read back: Int32Array / Float64Array / string[]. */
export type ReadColumns<C extends Record<string, ColumnKind>> = { [K in keyof C]: ReadKind<C[K]> };
/** Columns accepted by the writer: typed arrays or plain arrays of numbers / strings. */
export type WriteColumns<C extends Record<string, ColumnKind>> = { [K in keyof C]: WriteKind<C[K]> };
/** One row as a plain object. */
export type Row<C extends Record<string, ColumnKind>> = { [K in keyof C]: ValueKind<C[K]> };

/** Bad table content or shape; names the file (or "(in memory)") and the column. */
export class TableError extends ChiInputError {
  constructor(readonly file: string, readonly column: string, message: string) {
    super(`${file}: column "${column}": ${message}`);
    this.name = "TableError";
  }
}

/** Declares a table; the column order of `columns` is the file's column order. */
export function defineTable<C extends Record<string, ColumnKind>>(def: TableDef<C>): TableDef<C> {
  return Object.freeze(def);
}

function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case "int32":
      return new Int32();
    case "float64":
      return new Float64();
    case "utf8":
      return new Utf8();
  }
}

/**
 * Columns of `rows` rows for a declared table, in its column order, numbers zero and strings unset: for a writer
 * that fills the table row by row.
 */
export function emptyColumns<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  rows: number,
): ReadColumns<C> {
  const column = (kind: ColumnKind) =>
    kind === "int32"
      ? new Int32Array(rows)
      : kind === "float64"
      ? new Float64Array(rows)
      : new Array<string>(rows);
  return Object.fromEntries(
    Object.entries(def.columns).map(([name, kind]) => [name, column(kind)]),
  ) as ReadColumns<C>;
}

/** The Arrow schema of a declared table (non-nullable columns, metadata `chi.table` = name). */
export function arrowSchema<C extends Record<string, ColumnKind>>(def: TableDef<C>): Schema {
  const fields = Object.entries(def.columns).map(([name, kind]) => new Field(name, arrowType(kind), false));
  return new Schema(fields, new Map([["chi.table", def.name]]));
}

/** Number of rows of a column set; every column must be present and of one length. */
function columnLength<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  cols: Record<string, unknown>,
  file: string,
): number {
  let n = -1;
  let first = "";
  for (const name of Object.keys(def.columns)) {
    const col = cols[name] as { length: number } | undefined;
    if (col === undefined || col === null || typeof col.length !== "number") {
      throw new TableError(
        file,
        name,
        `missing (table ${def.name} needs ${Object.keys(def.columns).join(", ")})`,
      );
    }
    if (n < 0) {
      n = col.length;
      first = name;
    } else if (col.length !== n) {
      throw new TableError(file, name, `has ${col.length} rows but column "${first}" has ${n}`);
    }
  }
  for (const name of Object.keys(cols)) {
    if (!(name in def.columns)) throw new TableError(file, name, `not a column of table ${def.name}`);
  }
  return Math.max(n, 0);
}

/**
 * A numeric column as the typed array Arrow stores: a typed array is taken as it is; a plain array is copied
 * with every value checked (`problem`: what is wrong with the value, or null).
 */
function typedValues<A extends Int32Array | Float64Array>(
  values: A | readonly number[],
  Typed: new (length: number) => A,
  problem: (v: number) => string | null,
  file: string,
  column: string,
): A {
  if (values instanceof Typed) return values;
  const data = new Typed(values.length);
  for (let i = 0; i < values.length; i++) {
    const why = problem(values[i]);
    if (why !== null) throw new TableError(file, column, `row ${i}: ${why}`);
    data[i] = values[i];
  }
  return data;
}

/** What is wrong with a value of an int32 column, or null. */
const int32Problem = (v: number) =>
  Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? null : `expected a 32-bit integer, got ${v}`;

/** What is wrong with a value of a float64 column (a plain array from JS may hold anything), or null. */
const float64Problem = (v: unknown) => typeof v === "number" ? null : `expected a number, got ${typeof v}`;

function int32Data(values: Int32Array | readonly number[], file: string, column: string): Data {
  const data = typedValues(values, Int32Array, int32Problem, file, column);
  return makeData({ type: new Int32(), length: data.length, nullCount: 0, data });
}

function float64Data(values: Float64Array | readonly number[], file: string, column: string): Data {
  const data = typedValues(values, Float64Array, float64Problem, file, column);
  return makeData({ type: new Float64(), length: data.length, nullCount: 0, data });
}

/** Utf8 column built directly from offsets and bytes; repeated strings are encoded once. */
function utf8Data(values: readonly string[], file: string, column: string): Data {
  const enc = new TextEncoder();
  const cache = new Map<string, Uint8Array>();
  const offsets = new Int32Array(values.length + 1);
  const pieces: Uint8Array[] = new Array(values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const s = values[i];
    if (typeof s !== "string") {
      throw new TableError(file, column, `row ${i}: expected a string, got ${typeof s}`);
    }
    let bytes = cache.get(s);
    if (bytes === undefined) {
      bytes = enc.encode(s);
      if (cache.size < 65536) cache.set(s, bytes);
    }
    pieces[i] = bytes;
    total += bytes.length;
    if (total > 2147483647) throw new TableError(file, column, "more than 2 GiB of text in one column");
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < values.length; i++) data.set(pieces[i], offsets[i]);
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data });
}

/** Builds an Arrow Table of the declared schema from columns (validated; typed arrays used without copy). */
export function toArrowTable<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  cols: WriteColumns<C>,
  file = "(in memory)",
): Table {
  const length = columnLength(def, cols as Record<string, unknown>, file);
  const schema = arrowSchema(def);
  const children = Object.entries(def.columns).map(([name, kind]) => {
    const values = (cols as Record<string, unknown>)[name];
    if (kind === "int32") return int32Data(values as Int32Array | number[], file, name);
    if (kind === "float64") return float64Data(values as Float64Array | number[], file, name);
    return utf8Data(values as string[], file, name);
  });
  const struct = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, struct)]);
}

/** Writes columns as an Arrow IPC file atomically, after the table's semantic check. */
export async function writeTable<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  path: string,
  cols: WriteColumns<C>,
): Promise<void> {
  const table = toArrowTable(def, cols, path);
  if (def.check) {
    const problem = def.check(fromArrowTable(def, table, path));
    if (problem) throw new TableError(path, problem.column, problem.message);
  }
  await writeFileAtomic(path, tableToIPC(table, "file"));
}

function describeType(t: DataType): string {
  return String(t);
}

function isInt32(t: DataType): boolean {
  return DataType.isInt(t) && t.bitWidth === 32 && t.isSigned;
}

function isFloat64(t: DataType): boolean {
  return DataType.isFloat(t) && t.precision === Precision.DOUBLE;
}

function isUtf8Like(t: DataType): boolean {
  return DataType.isUtf8(t) || (DataType.isDictionary(t) && DataType.isUtf8(t.dictionary));
}

/** Decodes a Utf8 vector; consecutive equal byte runs (sorted tables) reuse the previous string. */
function readUtf8(vec: Vector): string[] {
  const out: string[] = new Array(vec.length);
  if (DataType.isDictionary(vec.type)) {
    for (let i = 0; i < vec.length; i++) out[i] = vec.get(i) as string;
    return out;
  }
  const dec = new TextDecoder();
  let row = 0;
  for (const chunk of vec.data) {
    const offsets = chunk.valueOffsets as Int32Array;
    const bytes = chunk.values as Uint8Array;
    let prevStart = -1;
    let prevEnd = -1;
    let prev = "";
    for (let i = 0; i < chunk.length; i++) {
      const s = offsets[chunk.offset + i];
      const e = offsets[chunk.offset + i + 1];
      let same = prevStart >= 0 && e - s === prevEnd - prevStart;
      for (let k = 0; same && k < e - s; k++) same = bytes[s + k] === bytes[prevStart + k];
      if (!same) prev = dec.decode(bytes.subarray(s, e));
      prevStart = s;
      prevEnd = e;
      out[row++] = prev;
    }
  }
  return out;
}

/** Validates an Arrow table against a declaration and returns its columns. */
export function fromArrowTable<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  table: Table,
  file = "(in memory)",
): ReadColumns<C> {
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(def.columns)) {
    const vec = table.getChild(name);
    if (vec === null) {
      const have = table.schema.fields.map((f) => f.name).join(", ") || "none";
      throw new TableError(file, name, `missing from table ${def.name} (columns present: ${have})`);
    }
    const ok = kind === "int32"
      ? isInt32(vec.type)
      : kind === "float64"
      ? isFloat64(vec.type)
      : isUtf8Like(vec.type);
    if (!ok) {
      const want = kind === "int32" ? "Int32" : kind === "float64" ? "Float64" : "Utf8";
      throw new TableError(file, name, `expected ${want}, found ${describeType(vec.type)}`);
    }
    if (vec.nullCount > 0) {
      throw new TableError(file, name, `has ${vec.nullCount} null values; nulls are not allowed`);
    }
    if (kind === "utf8") out[name] = readUtf8(vec);
    else out[name] = vec.toArray();
  }
  return out as ReadColumns<C>;
}

/** Reads and validates an Arrow IPC file (file or stream format). */
export async function readTable<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  path: string,
): Promise<ReadColumns<C>> {
  const bytes = await withFileErrors(() => Deno.readFile(path), (why) => new TableError(path, "(file)", why));
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    throw new TableError(path, "(file)", `not an Arrow IPC file (${(err as Error).message})`);
  }
  const cols = fromArrowTable(def, table, path);
  if (def.check) {
    const problem = def.check(cols);
    if (problem) throw new TableError(path, problem.column, problem.message);
  }
  return cols;
}

/** Number of rows in a column set. */
export function rowCount<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  cols: ReadColumns<C>,
): number {
  const first = Object.keys(def.columns)[0];
  return (cols[first] as { length: number }).length;
}

/** Converts row objects to columns (convenient for small tables and tests). */
export function rowsToColumns<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  rows: readonly Row<C>[],
): WriteColumns<C> {
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(def.columns)) {
    if (kind === "int32") out[name] = Int32Array.from(rows, (r) => r[name] as number);
    else if (kind === "float64") out[name] = Float64Array.from(rows, (r) => r[name] as number);
    else out[name] = rows.map((r) => r[name] as string);
  }
  return out as WriteColumns<C>;
}

/** Row `i` of a column set as a plain object. */
export function rowAt<C extends Record<string, ColumnKind>>(
  def: TableDef<C>,
  cols: ReadColumns<C>,
  i: number,
): Row<C> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def.columns)) out[name] = (cols[name] as ArrayLike<unknown>)[i];
  return out as Row<C>;
}
