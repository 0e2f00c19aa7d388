/**
 * The error edge every script shares: run its main, and end an input or environment failure (isInputError)
 * with one line `error: <message>` on stderr and exit code 2. A stack trace only with CHI_DEBUG=1; an
 * unexpected exception (a bug) is rethrown, so Deno prints its stack and exits 1.
 */
import { isInputError } from "./errors.ts";

/** Whether CHI_DEBUG=1 is set (false where the script may not read it). */
function debug(): boolean {
  try {
    return Deno.env.get("CHI_DEBUG") === "1";
  } catch {
    return false;
  }
}

/** The one stderr line of an input failure: the message with its line breaks folded. */
export function errorLine(err: Error): string {
  return `error: ${err.message.replace(/\s*\n\s*/g, " ")}`;
}

function fail(err: Error): never {
  console.error(errorLine(err));
  if (debug()) console.error(err.stack);
  Deno.exit(2);
}

/** Runs `main`; see the module comment. */
export async function runMain(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (!isInputError(err)) throw err;
    fail(err);
  }
}

/**
 * The same edge for a script written as top-level statements rather than a main function: input failures
 * that escape the module (an uncaught error or a rejected top-level await) end the same way.
 */
export function installErrorEdge(): void {
  addEventListener("error", (e) => {
    if (isInputError(e.error)) {
      e.preventDefault();
      fail(e.error);
    }
  });
  addEventListener("unhandledrejection", (e) => {
    if (isInputError(e.reason)) {
      e.preventDefault();
      fail(e.reason);
    }
  });
}
