/**
 * Output paths of the scripts stay inside runs/ or reports/ of the working folder, after resolving symlinks:
 * the tasks' --allow-write=runs,reports does not follow a symlink inside runs/, so without this check a link
 * there would let a sweep write anywhere. (runs/ itself may be a link, e.g. to scratch storage: the roots are
 * resolved too.)
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { UsageError } from "./cli.ts";

export const OUTPUT_ROOTS = ["runs", "reports"] as const;

/** The real path `path` would have: its deepest existing ancestor resolved, the rest appended. */
export function resolvedPath(path: string): string {
  let head = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(Deno.realPathSync(head), ...rest.reverse());
    } catch (err) {
      // A path the script may not even read is outside what it may write: keep it unresolved.
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        return join(head, ...rest.reverse());
      }
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      const up = dirname(head);
      if (up === head) return join(head, ...rest.reverse());
      rest.push(head.slice(up.length).replace(/^\/+/, ""));
      head = up;
    }
  }
}

function inside(child: string, root: string): boolean {
  const rel = relative(root, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Refuses an output path that resolves outside runs/ and reports/; `what` names the flag or field. */
export function requireOutputPath(path: string, what: string, roots: readonly string[] = OUTPUT_ROOTS): void {
  const real = resolvedPath(path);
  if (roots.some((r) => inside(real, resolvedPath(r)))) return;
  throw new UsageError(
    `${what}: ${path} resolves to ${real}, outside ${roots.map((r) => `${r}/`).join(" and ")}: ` +
      `outputs go there (a symlink may point elsewhere)`,
  );
}
