/** File-system helpers shared by the readers: opening with clear errors, and listing a folder's files. */

import { join } from "node:path";
import { ReaderError } from "../errors.ts";

/** Opens a file for reading; a missing file or a folder is a ReaderError naming the path. */
export async function openFile(path: string): Promise<Deno.FsFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new ReaderError(`${path}: file not found`);
    throw new ReaderError(`${path}: cannot open (${(err as Error).message})`);
  }
  const info = await file.stat();
  if (!info.isFile) {
    file.close();
    throw new ReaderError(`${path}: not a regular file`);
  }
  return file;
}

/**
 * The input files of `path`: the path itself when it is a file, else every non-hidden regular file below
 * it (recursively), sorted by path so that the document order is reproducible. `extensions` (e.g.
 * [".jsonl"]) filters a folder's files.
 */
export async function listInputFiles(path: string, extensions?: readonly string[]): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new ReaderError(`${path}: no such file or folder`);
    throw new ReaderError(`${path}: cannot read (${(err as Error).message})`);
  }
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
export async function* readLines(path: string): AsyncGenerator<{ line: string; number: number }> {
  const file = await openFile(path);
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let rest = "";
  let number = 0;
  try {
    for await (const chunk of file.readable) {
      rest += decoder.decode(chunk, { stream: true });
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
    rest += decoder.decode();
    if (rest.length > 0) yield { line: rest, number: ++number };
  } finally {
    try {
      file.close();
    } catch { /* already closed by the stream */ }
  }
}
