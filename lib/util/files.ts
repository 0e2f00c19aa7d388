/**
 * Atomic file output: every finished output is written to a temporary file beside its final path and then
 * renamed over it, so an interrupted run never leaves a half-written file under the final name.
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

/** Reads and parses a JSON file; a missing file or bad JSON gives an error naming the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new ChiInputError(`${path}: file not found`);
    throw new ChiInputError(`${path}: cannot read (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FileFormatError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
