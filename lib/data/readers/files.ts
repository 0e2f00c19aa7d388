/**
 * File-system helpers shared by the readers: opening with clear errors, reading a byte range, and listing a
 * folder's files.
 */

import { join } from "node:path";
import { ReaderError } from "../errors.ts";
import { withFileErrors } from "../../util/files.ts";

const readerError = (path: string) => (why: string) => new ReaderError(`${path}: ${why}`);

/** Opens a file for reading; a missing file or a folder is a ReaderError naming the path. */
export async function openFile(path: string): Promise<Deno.FsFile> {
  const file = await withFileErrors(() => Deno.open(path, { read: true }), readerError(path), {
    verb: "open",
  });
  const info = await file.stat();
  if (!info.isFile) {
    file.close();
    throw new ReaderError(`${path}: not a regular file`);
  }
  return file;
}

/**
 * Fills `into` with the file's bytes from offset `at` (a read may return fewer bytes than asked; a file that
 * ends early leaves the rest of `into` as it was).
 */
export async function readFully(file: Deno.FsFile, into: Uint8Array, at: number): Promise<void> {
  await file.seek(at, Deno.SeekMode.Start);
  let got = 0;
  while (got < into.length) {
    const n = await file.read(into.subarray(got));
    if (n === null) break;
    got += n;
  }
}

/**
 * The input files of `path`: the path itself when it is a file, else every non-hidden regular file below
 * it (recursively), sorted by path so that the document order is reproducible. `extensions` (e.g.
 * [".jsonl"]) filters a folder's files.
 */
export async function listInputFiles(path: string, extensions?: readonly string[]): Promise<string[]> {
  const info = await withFileErrors(() => Deno.stat(path), readerError(path), {
    notFound: "no such file or folder",
  });
  if (info.isFile) return [path];
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && (!extensions || extensions.some((x) => e.name.endsWith(x)))) out.push(p);
    }
  };
  await walk(path);
  out.sort();
  if (out.length === 0) {
    throw new ReaderError(
      `${path}: folder holds no input files${extensions ? ` (${extensions.join(", ")})` : ""}`,
    );
  }
  return out;
}

/**
 * Lines of a UTF-8 file as a stream, with their 1-based numbers; the final line need not end in "\n".
 * Only one chunk and the current partial line are in memory. "\r\n" endings lose the "\r".
 */
export async function* readLines(
  path: string,
  utf8?: Utf8Tally,
): AsyncGenerator<{ line: string; number: number }> {
  const file = await openFile(path);
  const decoder = new TextDecoder("utf-8", { fatal: utf8?.strict ?? false });
  let rest = "";
  let number = 0;
  let carry = new Uint8Array(0);
  try {
    for await (const chunk of file.readable) {
      try {
        const decoded = decoder.decode(chunk, { stream: true });
        if (utf8) {
          // Replacement characters the decoder made, not the ones the file spells out as EF BF BD.
          const joined = new Uint8Array(carry.length + chunk.length);
          joined.set(carry);
          joined.set(chunk, carry.length);
          utf8.invalid += countReplacements(decoded) - countSpelledReplacements(joined);
          carry = joined.slice(Math.max(0, joined.length - 2));
        }
        rest += decoded;
      } catch (err) {
        if (!(err instanceof TypeError)) throw err;
        throw new ReaderError(
          `${path}: bytes that are not UTF-8 at or after line ${number + 1 + countNewlines(rest)} (--strict)`,
        );
      }
      let nl: number;
      let from = 0;
      while ((nl = rest.indexOf("\n", from)) >= 0) {
        let line = rest.slice(from, nl);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        yield { line, number: ++number };
        from = nl + 1;
      }
      rest = rest.slice(from);
    }
    try {
      const tail = decoder.decode();
      if (utf8) utf8.invalid += countReplacements(tail);
      rest += tail;
    } catch {
      throw new ReaderError(`${path}: the file ends inside a UTF-8 sequence`);
    }
    if (rest.length > 0) yield { line: rest, number: ++number };
  } finally {
    try {
      file.close();
    } catch { /* already closed by the stream */ }
  }
}

/**
 * Bytes that are not UTF-8, counted while reading (or, with `strict`, refused at the first): the decoder
 * replaces them with U+FFFD, which would otherwise be tokenized without a word.
 */
export interface Utf8Tally {
  strict: boolean;
  /** Invalid sequences replaced so far. */
  invalid: number;
}

function countReplacements(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\uFFFD"); i >= 0; i = s.indexOf("\uFFFD", i + 1)) n++;
  return n;
}

/** EF BF BD triples (a U+FFFD the file itself contains); the first two bytes may be the previous chunk's. */
function countSpelledReplacements(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xef && b[i + 1] === 0xbf && b[i + 2] === 0xbd) n++;
  return n;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}
