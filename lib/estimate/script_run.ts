/**
 * The error handling and table plumbing of the estimation scripts: known errors (bad flags, bad files, bad
 * options, a diverging chain) print one clear line; bad flags exit with code 2, other known errors with 1.
 */
import { UsageError } from "../util/cli.ts";
import { CheckpointError } from "../model/checkpoint.ts";
import { PthError } from "../model/pth.ts";
import { SafetensorsError } from "../model/safetensors.ts";
import { ConfigError } from "../model/config.ts";
import { DataError } from "../data/errors.ts";
import { GpuUnavailableError } from "../gpu/device.ts";
import { TableError } from "../analysis/tables.ts";
import { SgldOptionError } from "./sgld.ts";
import { SgldDivergenceError } from "./sampler.ts";

/** Runs a script's main, mapping errors to messages and exit codes (2 for usage errors). */
export async function runScript(main: () => Promise<void>, usage: string): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n${usage}`);
      Deno.exit(2);
    }
    const known = [
      CheckpointError,
      PthError,
      SafetensorsError,
      ConfigError,
      DataError,
      GpuUnavailableError,
      TableError,
      SgldOptionError,
      SgldDivergenceError,
      RangeError,
      Deno.errors.NotFound,
    ];
    if (known.some((k) => err instanceof k)) {
      console.error(`error: ${(err as Error).message}`);
      Deno.exit(1);
    }
    throw err;
  }
}

type Column = ArrayLike<number> | readonly string[];

/** Concatenates the columns of several tables of one schema (typed arrays stay typed). */
export function concatColumns<T extends Record<string, Column>>(parts: readonly T[]): T {
  if (parts.length === 0) throw new RangeError("concatColumns: no tables");
  const out: Record<string, Column> = {};
  for (const key of Object.keys(parts[0])) {
    const cols = parts.map((p) => p[key]);
    const first = cols[0];
    if (first instanceof Int32Array || first instanceof Float64Array) {
      const n = cols.reduce((a, c) => a + c.length, 0);
      const arr = first instanceof Int32Array ? new Int32Array(n) : new Float64Array(n);
      let at = 0;
      for (const c of cols) {
        arr.set(c as ArrayLike<number>, at);
        at += c.length;
      }
      out[key] = arr;
    } else {
      out[key] = cols.flatMap((c) => Array.from(c as ArrayLike<number | string>)) as Column;
    }
  }
  return out as T;
}
