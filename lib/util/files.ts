/**
 * Atomic file output: every finished output is written to a temporary file beside its final path and then
 * renamed over it, so an interrupted run never leaves a half-written file under the final name. And the one
 * wording of a failed read (withFileErrors), whichever error type the reader throws.
 */

import { ChiInputError, FileFormatError } from "./errors.ts";

/** Writes bytes to `path` atomically (temp file in the same folder, then rename). */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Writes text to `path` atomically. */
export function writeTextFileAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Writes a value as pretty JSON to `path` atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** True when `path` exists (file or folder). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Runs a file-system call (read, open, stat) and turns its failure into the caller's own error: `fail(why)` with
 * why = `notFound` (default "file not found") for a missing path, else "cannot <verb> (<the system's message>)".
 */
export async function withFileErrors<T>(
  call: () => Promise<T>,
  fail: (why: string) => Error,
  { notFound = "file not found", verb = "read" } = {},
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw fail(notFound);
    throw fail(`cannot ${verb} (${(err as Error).message})`);
  }
}

/** Reads and parses a JSON file; a missing file or bad JSON gives an error naming the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await withFileErrors(
    () => Deno.readTextFile(path),
    (why) => new ChiInputError(`${path}: ${why}`),
  );
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FileFormatError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
