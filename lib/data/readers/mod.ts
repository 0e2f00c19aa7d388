/** One entry point over all corpus readers: a format name, an input path, and the text field. */

import type { Utf8Tally } from "./files.ts";
import { ReaderError } from "../errors.ts";
import { readArrowDocuments } from "./arrow.ts";
import { readJsonlDocuments } from "./jsonl.ts";
import { readParquetDocuments } from "./parquet.ts";
import { readTextDocuments, type TextSplit } from "./text.ts";

export const READER_FORMATS = ["text", "jsonl", "arrow", "parquet"] as const;
export type ReaderFormat = typeof READER_FORMATS[number];

export interface ReadDocumentsOptions {
  /** Text field of JSONL, Arrow and Parquet records (default "text"). */
  field?: string;
  /** What a document is in plain text input (default "file"). */
  split?: TextSplit;
  /** Stop after this many documents. */
  limit?: number;
  /** Counts (or, strict, refuses) bytes that are not UTF-8 in text and JSONL input. */
  utf8?: Utf8Tally;
}

/** Documents of `input` (a file or folder) in `format`, streamed. */
export async function* readDocuments(
  format: ReaderFormat,
  input: string,
  opts: ReadDocumentsOptions = {},
): AsyncGenerator<string> {
  const field = opts.field ?? "text";
  let source: AsyncGenerator<string>;
  switch (format) {
    case "text":
      source = readTextDocuments(input, { split: opts.split, utf8: opts.utf8 });
      break;
    case "jsonl":
      source = readJsonlDocuments(input, field, opts.utf8);
      break;
    case "arrow":
      source = readArrowDocuments(input, field);
      break;
    case "parquet":
      source = readParquetDocuments(input, field);
      break;
    default:
      throw new ReaderError(`format must be one of ${READER_FORMATS.join(", ")}, got "${format}"`);
  }
  const limit = opts.limit ?? Infinity;
  let n = 0;
  if (n >= limit) return;
  for await (const doc of source) {
    yield doc;
    if (++n >= limit) {
      await source.return(undefined);
      return;
    }
  }
}

/** The format a path most likely holds, from its extension; null when unknown. */
export function guessFormat(path: string): ReaderFormat | null {
  if (/\.(jsonl|ndjson)$/.test(path)) return "jsonl";
  if (path.endsWith(".arrow")) return "arrow";
  if (path.endsWith(".parquet")) return "parquet";
  if (/\.(txt|md)$/.test(path)) return "text";
  return null;
}
