/**
 * JSON Lines: one JSON object per line, the document text in a chosen field (a dotted path such as
 * "meta.text" reaches into nested objects). Streams line by line. Errors name the file, the line and the
 * field: invalid JSON, a missing field, a field that is not a string.
 */

import { ReaderError } from "../errors.ts";
import { listInputFiles, readLines, type Utf8Tally } from "./files.ts";

/** The value at a dotted path, or `undefined` when some step is missing. */
export function fieldAt(obj: unknown, field: string): unknown {
  let v: unknown = obj;
  for (const key of field.split(".")) {
    if (typeof v !== "object" || v === null || Array.isArray(v) || !(key in v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Documents of a .jsonl file or a folder of them (default extensions .jsonl, .json, .ndjson). */
export async function* readJsonlDocuments(
  path: string,
  field = "text",
  utf8?: Utf8Tally,
): AsyncGenerator<string> {
  if (field.length === 0) throw new ReaderError("JSONL field name must not be empty");
  for (const file of await listInputFiles(path, [".jsonl", ".ndjson", ".json"])) {
    for await (const { line, number } of readLines(file, utf8)) {
      if (line.trim().length === 0) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new ReaderError(
          `${file}:${number}: invalid JSON (${(err as Error).message}); truncated or corrupt?`,
        );
      }
      const v = fieldAt(obj, field);
      if (v === undefined) {
        const keys = typeof obj === "object" && obj !== null ? Object.keys(obj).slice(0, 10).join(", ") : "";
        throw new ReaderError(`${file}:${number}: missing field "${field}" (keys: ${keys || "none"})`);
      }
      if (typeof v !== "string") {
        throw new ReaderError(`${file}:${number}: field "${field}" is ${describeType(v)}, expected a string`);
      }
      yield v;
    }
  }
}
