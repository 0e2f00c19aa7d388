/**
 * The one base class of input and environment failures. Anything a user can fix — a bad flag, config field,
 * file, shard, tokenizer, checkpoint, a missing permission, a full disk — is a ChiInputError (or is mapped to
 * one by isInputError), so the single script edge (lib/util/main.ts) can end it with one line and exit 2
 * while an unexpected exception, a real bug, still shows its stack.
 */

/** An input or environment failure; the message names the file, field or flag and what was expected. */
export class ChiInputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // The class actually constructed ("ShardError", …): a subclass that adds nothing needs no constructor.
    this.name = new.target.name;
  }
}

/** A file whose bytes are not what its format requires (corrupt JSON, truncated table). */
export class FileFormatError extends ChiInputError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileFormatError";
  }
}

// Deno's file-system and permission errors: each is the environment's fault, never the code's.
const DENO_ENV_ERRORS = [
  "NotFound",
  "PermissionDenied",
  "NotCapable",
  "AlreadyExists",
  "IsADirectory",
  "NotADirectory",
  "FilesystemLoop",
  "InvalidData",
  "UnexpectedEof",
  "WriteZero",
  "Busy",
] as const;

// OS error codes Deno reports on plain Errors (ENOSPC and EROFS have no Deno.errors class of their own).
const OS_CODES = new Set([
  "ENOSPC",
  "EROFS",
  "EACCES",
  "EPERM",
  "EDQUOT",
  "EMFILE",
  "ENOTDIR",
  "EISDIR",
  "EXDEV",
]);
const OS_MESSAGE = /\((os error (28|30|13|1|122|24|20|21|18))\)/;

/** Whether `err` is an input or environment failure (one line, exit 2) rather than a bug (stack). */
export function isInputError(err: unknown): err is Error {
  if (err instanceof ChiInputError) return true;
  // Range checks of library options (batch larger than the data, a step outside the run) are input mistakes.
  if (err instanceof RangeError && !/Invalid array length|Maximum call stack/.test(err.message)) return true;
  const errors = Deno.errors as unknown as Record<
    string,
    (abstract new (...a: never[]) => Error) | undefined
  >;
  for (const name of DENO_ENV_ERRORS) {
    const cls = errors[name];
    if (cls && err instanceof cls) return true;
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && OS_CODES.has(code)) return true;
    // node:util parseArgs (unknown flag, missing value) in scripts that call it directly.
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) return true;
    if (OS_MESSAGE.test(err.message)) return true;
  }
  return false;
}
