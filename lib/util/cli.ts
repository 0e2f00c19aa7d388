/**
 * Flag validation shared by the scripts: parse once at the edge, with errors that name the flag and say what
 * was expected. Scripts catch UsageError (and the library's own errors), print the message and exit 2.
 */
import { ChiInputError } from "./errors.ts";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { ConfigError, type ModelConfig, PAPER_CONFIG, TINY_CONFIG } from "../model/config.ts";
import { configFromJson } from "../model/checkpoint.ts";

/** A bad command-line flag; the message names it. */
export class UsageError extends ChiInputError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An integer flag ≥ min. */
export function flagInt(flag: string, value: string | undefined, min = 0): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A finite number flag in [min, max]. */
export function flagNumber(flag: string, value: string | undefined, min = -Infinity, max = Infinity): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag}: expected a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return n;
}

/** One of a fixed set of words. */
export function flagChoice<T extends string>(
  flag: string,
  value: string | undefined,
  choices: readonly T[],
): T {
  if (value === undefined || !(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${flag}: expected one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** An optional integer flag ≥ min: undefined when the flag was not given. */
export function flagIntOptional(flag: string, value: string | undefined, min = 0): number | undefined {
  return value === undefined ? undefined : flagInt(flag, value, min);
}

/** A flag that must be given (a non-empty string). */
export function flagRequired(flag: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

/** node:util parseArgs in strict mode without positionals, its errors (unknown flag, missing value) as UsageErrors. */
export function parseFlags<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The --model lines of every checkpoint-loading script's help. */
export const MODEL_USAGE =
  "--model paper|tiny|CONFIG_JSON  the config of checkpoints that carry none (.pth) and have no\n" +
  "                config.json beside them (CONFIG_JSON: chi's fields or a TransformerLens config dump)";

/**
 * --model: "paper", "tiny" or the path of a model config JSON (chi's ModelConfig fields or a TransformerLens
 * HookedTransformerConfig dump); undefined when the flag was not given.
 */
export async function flagModel(value: string | undefined): Promise<ModelConfig | undefined> {
  if (value === undefined) return undefined;
  if (value === "paper") return { ...PAPER_CONFIG };
  if (value === "tiny") return { ...TINY_CONFIG };
  if (value === "") throw new UsageError(`--model: expected paper, tiny or a model config JSON path, got ""`);
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(value));
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "file not found" : (err as Error).message;
    throw new UsageError(`--model: expected paper, tiny or a model config JSON path; ${value}: ${why}`);
  }
  try {
    return configFromJson(raw, value);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--model: ${err.message}`);
    throw err;
  }
}
