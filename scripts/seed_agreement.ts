/**
 * Whether two runs that differ only in their seed agree within their error bars: |Δ|/SE of every χ and LLC
 * (lib/analysis/seed_agreement.ts) between two susceptibility.arrow files (or results folders).
 *
 *   deno run --allow-read=. scripts/seed_agreement.ts runs/a/results runs/b/results
 */
import { readSusceptibilityTable, SUSCEPTIBILITY_TABLE } from "../lib/tables/schema.ts";
import { formatAgreement, seedAgreement } from "../lib/analysis/seed_agreement.ts";
import { UsageError } from "../lib/util/cli.ts";
import { runMain } from "../lib/util/main.ts";

const USAGE =
  "usage: seed_agreement.ts <susceptibility.arrow or results folder> <the same of the other seed>";

async function table(path: string) {
  const info = await Deno.stat(path);
  return await readSusceptibilityTable(info.isDirectory ? `${path}/${SUSCEPTIBILITY_TABLE.file}` : path);
}

async function main(args: string[]): Promise<void> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) return console.log(USAGE);
  if (args.length !== 2) throw new UsageError(`expected two paths, got ${args.length}; ${USAGE}`);
  console.log(formatAgreement(seedAgreement(await table(args[0]), await table(args[1]))));
}

if (import.meta.main) await runMain(() => main(Deno.args));
