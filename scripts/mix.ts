/**
 * Mix a base shard and a probe shard by Algorithm 1 (appendix C.4) into a shard of whole contexts:
 * N contexts of n_ctx tokens are drawn from each shard with the same seed, and context j of the output is
 * the probe's context j iff ⌊(j+1)δh⌋ > ⌊jδh⌋, else the base's.
 *
 *   deno run --allow-read --allow-write scripts/mix.ts --base base.tokens --probe probe_code.tokens \
 *     --delta-h 0.1 --n-ctx 64 --count 10000 --seed 1 --out mixed_code_0.1
 */
import { mixShards } from "../lib/data/mix_shards.ts";
import { runMain } from "../lib/util/main.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";
import { flagInt, flagNumber, flagRequired, parseFlags } from "../lib/util/cli.ts";

const USAGE =
  "usage: mix.ts --base SHARD --probe SHARD --delta-h X (0..1) --n-ctx N --count N [--seed S] --out SHARD";

async function main(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    base: { type: "string" },
    probe: { type: "string" },
    "delta-h": { type: "string" },
    "n-ctx": { type: "string" },
    count: { type: "string" },
    seed: { type: "string", default: "0" },
    out: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (values.help) return console.log(USAGE);
  const out = flagRequired("--out", values.out);
  requireOutputPath(out, "--out", ["runs"]);
  const meta = await mixShards({
    base: flagRequired("--base", values.base),
    probe: flagRequired("--probe", values.probe),
    deltaH: flagNumber("--delta-h", values["delta-h"], 0, 1),
    nCtx: flagInt("--n-ctx", values["n-ctx"], 1),
    count: flagInt("--count", values.count, 1),
    seed: flagInt("--seed", values.seed, 0),
    out,
  });
  console.log(
    `${out}: ${meta.documents} contexts of ${meta.contextLength} tokens, ${
      (meta.extra as { probeCount: number }).probeCount
    } from the probe`,
  );
}

if (import.meta.main) await runMain(() => main(Deno.args));
