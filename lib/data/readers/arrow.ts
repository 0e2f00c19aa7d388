/**
 * Arrow IPC files as the Hugging Face `datasets` cache writes them (`*.arrow`, usually the IPC *stream*
 * format, one or more record batches; the random-access *file* format is read too). Record batches are
 * read one at a time from the file stream (npm:apache-arrow), so memory is bounded by one batch.
 *
 * Truncation: a stream that stops between batches parses cleanly, so the file's tail is checked first:
 * the stream format ends with the end-of-stream marker (0xFFFFFFFF 0x00000000; the pre-1.0 4-byte marker
 * is not accepted, since zero padding would pass for it), the file format with the magic "ARROW1".
 */

import { RecordBatchReader, Type } from "apache-arrow";
import { ReaderError } from "../errors.ts";
import { listInputFiles, openFile, readFully } from "./files.ts";

const MAGIC = "ARROW1";

/** Checks the start and end bytes of an Arrow IPC file; throws a ReaderError when it is cut short. */
export async function checkArrowFraming(path: string): Promise<void> {
  const file = await openFile(path);
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(Math.min(8, size));
    await readFully(file, head, 0);
    const tail = new Uint8Array(Math.min(8, size));
    await readFully(file, tail, size - tail.length);
    const text = (b: Uint8Array) => String.fromCharCode(...b);
    if (size < 8) throw new ReaderError(`${path}: ${size} bytes is too short for an Arrow IPC file`);
    if (text(head.subarray(0, 6)) === MAGIC) {
      if (text(tail.subarray(2)) !== MAGIC) {
        throw new ReaderError(`${path}: Arrow IPC file does not end with "${MAGIC}": truncated or corrupt`);
      }
      return;
    }
    const dv = new DataView(tail.buffer);
    const eos = dv.getUint32(0, true) === 0xffffffff && dv.getUint32(4, true) === 0;
    if (!eos) {
      throw new ReaderError(`${path}: Arrow IPC stream lacks its end-of-stream marker: truncated or corrupt`);
    }
  } finally {
    file.close();
  }
}

const isUtf8 = (id: number) => id === Type.Utf8 || id === Type.LargeUtf8;

/** Strings, plain or dictionary-encoded (both decode to JS strings). */
// deno-lint-ignore no-explicit-any
function isStringType(type: any): boolean {
  return isUtf8(type.typeId) || (type.typeId === Type.Dictionary && isUtf8(type.dictionary.typeId));
}

/** Documents from the string column `field` of an .arrow file or a folder of them. */
export async function* readArrowDocuments(path: string, field = "text"): AsyncGenerator<string> {
  for (const file of await listInputFiles(path, [".arrow"])) {
    await checkArrowFraming(file);
    const handle = await openFile(file);
    let row = 0;
    try {
      let reader: RecordBatchReader;
      try {
        reader = await RecordBatchReader.from(handle.readable);
      } catch (err) {
        throw new ReaderError(`${file}: not an Arrow IPC file (${(err as Error).message})`);
      }
      const batches = reader[Symbol.asyncIterator]();
      let batchIndex = 0;
      while (true) {
        let next: IteratorResult<unknown>;
        try {
          next = await batches.next();
        } catch (err) {
          const msg = (err as Error).message;
          const what = /Expected to read/.test(msg) ? "truncated" : "corrupt";
          throw new ReaderError(`${file}: ${what} Arrow data in record batch ${batchIndex} (${msg})`);
        }
        if (next.done) break;
        // deno-lint-ignore no-explicit-any
        const batch = next.value as any;
        const column = batch.getChild(field);
        if (!column) {
          const names = batch.schema.fields.map((f: { name: string }) => f.name).join(", ");
          throw new ReaderError(`${file}: missing field "${field}" (columns: ${names})`);
        }
        if (!isStringType(column.type)) {
          throw new ReaderError(
            `${file}: field "${field}" has Arrow type ${column.type}, expected a string column`,
          );
        }
        for (let i = 0; i < column.length; i++, row++) {
          const v = column.get(i);
          if (typeof v !== "string") throw new ReaderError(`${file}: row ${row}: field "${field}" is null`);
          yield v;
        }
        batchIndex++;
      }
    } finally {
      try {
        handle.close();
      } catch { /* the stream closed it */ }
    }
  }
}
