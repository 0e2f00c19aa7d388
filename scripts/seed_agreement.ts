/**
 * Whether two runs that differ only in their seed agree within their error bars: |Δ|/SE of every χ and LLC
 * (lib/analysis/seed_agreement.ts) between two susceptibility.arrow files (or results folders).
 *
 *   deno run --allow-read=. scripts/seed_agreement.ts runs/a/results runs/b/results
 */
import { readSusceptibilityTable, SUSCEPTIBILITY_TABLE } from "../lib/analysis/tables.ts";
import { formatAgreement, seedAgreement } from "../lib/analysis/seed_agreement.ts";

const USAGE =
  "usage: seed_agreement.ts <susceptibility.arrow or results folder> <the same of the other seed>";

async function table(path: string) {
  const info = await Deno.stat(path);
  return await readSusceptibilityTable(info.isDirectory ? `${path}/${SUSCEPTIBILITY_TABLE.file}` : path);
}

if (import.meta.main) {
  if (Deno.args.length !== 2) {
    console.error(USAGE);
    Deno.exit(2);
  }
  console.log(formatAgreement(seedAgreement(await table(Deno.args[0]), await table(Deno.args[1]))));
}
