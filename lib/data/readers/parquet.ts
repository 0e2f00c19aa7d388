/**
 * Parquet files as the Hugging Face hub serves them, read with npm:hyparquet (pure JS) and its
 * decompressors (snappy, gzip, brotli, zstd, lz4). Streaming: the footer is read first, then one row group
 * at a time, and only the requested column, through a file-backed AsyncBuffer, so memory is bounded by
 * one row group of one column.
 */

import { parquetMetadataAsync, parquetRead } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { ReaderError } from "../errors.ts";
import { describeType } from "./jsonl.ts";
import { listInputFiles, openFile, readFully } from "./files.ts";

/** hyparquet's AsyncBuffer over an open file: byte ranges read on demand. */
function fileBuffer(file: Deno.FsFile, size: number) {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const out = new Uint8Array(Math.max(0, stop - start));
      await readFully(file, out, start);
      return out.buffer;
    },
  };
}

/** Documents from the string column `field` of a .parquet file or a folder of them. */
export async function* readParquetDocuments(path: string, field = "text"): AsyncGenerator<string> {
  for (const file of await listInputFiles(path, [".parquet"])) {
    const handle = await openFile(file);
    try {
      const size = (await handle.stat()).size;
      const buffer = fileBuffer(handle, size);
      const head = new Uint8Array(await buffer.slice(0, 4));
      const tail = new Uint8Array(await buffer.slice(Math.max(0, size - 4), size));
      const magic = (b: Uint8Array) => String.fromCharCode(...b) === "PAR1";
      if (size < 12 || !magic(head)) throw new ReaderError(`${file}: not a Parquet file (no "PAR1" header)`);
      if (!magic(tail)) {
        throw new ReaderError(`${file}: Parquet file does not end with "PAR1": truncated or corrupt`);
      }
      // deno-lint-ignore no-explicit-any
      let meta: any;
      try {
        meta = await parquetMetadataAsync(buffer);
      } catch (err) {
        throw new ReaderError(`${file}: corrupt Parquet footer (${(err as Error).message})`);
      }
      const columns = meta.schema.slice(1).map((s: { name: string }) => s.name);
      const element = meta.schema.find((s: { name: string }, i: number) => i > 0 && s.name === field);
      if (!element) {
        throw new ReaderError(`${file}: missing field "${field}" (columns: ${columns.join(", ")})`);
      }
      if (element.type !== "BYTE_ARRAY" || element.num_children) {
        throw new ReaderError(
          `${file}: field "${field}" has Parquet type ${
            element.type ?? "group"
          }, expected a string (BYTE_ARRAY)`,
        );
      }
      let rowStart = 0;
      for (const [g, group] of meta.row_groups.entries()) {
        const rowEnd = rowStart + Number(group.num_rows);
        let rows: unknown[][] = [];
        try {
          await parquetRead({
            file: buffer,
            metadata: meta,
            columns: [field],
            rowStart,
            rowEnd,
            compressors,
            onComplete: (r: unknown[][]) => {
              rows = r;
            },
          });
        } catch (err) {
          throw new ReaderError(
            `${file}: corrupt Parquet data in row group ${g} (${(err as Error).message})`,
          );
        }
        for (const [i, row] of rows.entries()) {
          const v = row[0];
          if (typeof v !== "string") {
            throw new ReaderError(
              `${file}: row ${rowStart + i}: field "${field}" is ${describeType(v)}, expected a string`,
            );
          }
          yield v;
        }
        rowStart = rowEnd;
      }
    } finally {
      handle.close();
    }
  }
}
