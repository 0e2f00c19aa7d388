/**
 * Mix a base shard and a probe shard by Algorithm 1 (appendix C.4) into a shard of whole contexts:
 * N contexts of n_ctx tokens are drawn from each shard with the same seed, and context j of the output is
 * the probe's context j iff ⌊(j+1)δh⌋ > ⌊jδh⌋, else the base's.
 *
 *   deno run --allow-read --allow-write scripts/mix.ts --base base.tokens --probe probe_code.tokens \
 *     --delta-h 0.1 --n-ctx 64 --count 10000 --seed 1 --out mixed_code_0.1
 */
import { parseArgs } from "node:util";
import { DataError } from "../lib/data/errors.ts";
import { mixShards } from "../lib/data/mix_shards.ts";

const USAGE =
  "usage: mix.ts --base SHARD --probe SHARD --delta-h X (0..1) --n-ctx N --count N [--seed S] --out SHARD";

class UsageError extends Error {}

function intFlag(flag: string, v: string | undefined, min: number): number {
  if (v === undefined) throw new UsageError(`${flag} is required`);
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${v}"`);
  }
  return n;
}

async function main(args: string[]): Promise<void> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        base: { type: "string" },
        probe: { type: "string" },
        "delta-h": { type: "string" },
        "n-ctx": { type: "string" },
        count: { type: "string" },
        seed: { type: "string", default: "0" },
        out: { type: "string" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return console.log(USAGE);
  for (const f of ["base", "probe", "out"] as const) {
    if (!values[f]) throw new UsageError(`--${f} is required`);
  }
  const dh = Number(values["delta-h"]);
  if (values["delta-h"] === undefined || !(dh >= 0 && dh <= 1)) {
    throw new UsageError(`--delta-h must be a number in [0, 1], got "${values["delta-h"]}"`);
  }
  const meta = await mixShards({
    base: values.base!,
    probe: values.probe!,
    deltaH: dh,
    nCtx: intFlag("--n-ctx", values["n-ctx"], 1),
    count: intFlag("--count", values.count, 1),
    seed: intFlag("--seed", values.seed, 0),
    out: values.out!,
  });
  console.log(
    `${values.out}: ${meta.documents} contexts of ${meta.contextLength} tokens, ${
      (meta.extra as { probeCount: number }).probeCount
    } from the probe`,
  );
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n${USAGE}`);
      Deno.exit(2);
    }
    if (err instanceof DataError) {
      console.error(`error: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}
