/**
 * Builds the real-text dataset of docs/real-text.md from text every Debian machine has (licenses, package
 * changelogs, the Python standard library): a BPE tokenizer, a base shard and one probe shard per genre.
 *
 *   deno task system-text [--out runs/data/debian-text] [--vocab-size 1024] [--base-chars 600000]
 *     [--probe-chars 200000] [--seed 0]
 */
import {
  buildSystemText,
  SYSTEM_TEXT_DEFAULTS,
  systemTextSources,
  writeSystemText,
} from "../lib/data/system_text.ts";
import { runMain } from "../lib/util/main.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";
import { flagInt, parseFlags } from "../lib/util/cli.ts";

const USAGE =
  `usage: system_text.ts [--out DIR] [--vocab-size N] [--base-chars N] [--probe-chars N] [--seed N]`;

async function main(args: string[]): Promise<void> {
  const v = parseFlags(args, {
    out: { type: "string", default: "runs/data/debian-text" },
    "vocab-size": { type: "string", default: "1024" },
    "base-chars": { type: "string", default: String(SYSTEM_TEXT_DEFAULTS.baseChars) },
    "probe-chars": { type: "string", default: String(SYSTEM_TEXT_DEFAULTS.probeChars) },
    seed: { type: "string", default: "0" },
    help: { type: "boolean", default: false },
  }).values;
  if (v.help) {
    console.log(USAGE);
    return;
  }
  requireOutputPath(v.out!, "--out", ["runs"]);
  const t0 = performance.now();
  const ds = await buildSystemText(systemTextSources(), {
    baseChars: flagInt("--base-chars", v["base-chars"], 1),
    probeChars: flagInt("--probe-chars", v["probe-chars"], 1),
    seed: flagInt("--seed", v.seed, 0),
  });
  const t1 = performance.now();
  const files = await writeSystemText(ds, v.out!, flagInt("--vocab-size", v["vocab-size"], 257));
  const t2 = performance.now();
  for (const g of ds.genres) {
    console.log(
      `${g.name}: ${g.files} files (${g.description}); base ${g.base.length} documents, probe ${g.probe.length}`,
    );
  }
  for (const [name, path] of Object.entries(files.shards)) {
    console.log(`${path}: ${files.documents[name]} documents, ${files.tokens[name]} tokens`);
  }
  console.log(
    `tokenizer ${files.tokenizer}; read ${((t1 - t0) / 1000).toFixed(1)} s, tokenizer + shards ${
      ((t2 - t1) / 1000).toFixed(1)
    } s`,
  );
}

if (import.meta.main) await runMain(() => main(Deno.args));
