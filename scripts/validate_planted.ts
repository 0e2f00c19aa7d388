/**
 * χ̂ of every head of a model with a hand-wired induction circuit, under an induction-enriched probe
 * (lib/estimate/planted_validation.ts): prints the head roles, χ̂ ± SE per head and how many standard errors
 * separate the circuit's heads from the unused ones.
 *
 *   deno task validate-planted [--chains 4] [--draws 300] [--batch 16] [--unpaired] [--seed 0]
 */
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { runPlantedValidation } from "../lib/estimate/planted_validation.ts";
import { runMain } from "../lib/util/main.ts";
import { flagInt } from "../lib/util/cli.ts";

const USAGE = "usage: validate_planted.ts [--chains K] [--draws R] [--batch B] [--unpaired] [--seed S]";

async function main(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    options: {
      chains: { type: "string", default: "4" },
      draws: { type: "string", default: "300" },
      batch: { type: "string", default: "16" },
      unpaired: { type: "boolean", default: false },
      seed: { type: "string", default: "0" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (v.help) return console.log(USAGE);
  const t0 = performance.now();
  const r = await runPlantedValidation(await getGpu(), {
    chains: flagInt("--chains", v.chains, 1),
    draws: flagInt("--draws", v.draws, 2),
    batch: flagInt("--batch", v.batch, 1),
    paired: !v.unpaired,
    seed: flagInt("--seed", v.seed, 0),
    onProgress: (step, total) =>
      Deno.stdout.writeSync(new TextEncoder().encode(`\rSGLD step ${step}/${total}`)),
  });
  console.log();
  const names = Array.from(r.roles.layer, (l, i) => `${l}:${r.roles.head[i]}`);
  names.forEach((name, i) => {
    const c = r.chi[name];
    console.log(
      `${name}  induction ${r.roles.induction[i].toFixed(2)}  previous-token ${
        r.roles.previousToken[i].toFixed(2)
      }  χ ${c.chi.toExponential(3)} ± ${c.se.toExponential(2)}`,
    );
  });
  console.log(`full  χ ${r.chi.full.chi.toExponential(3)} ± ${r.chi.full.se.toExponential(2)}`);
  console.log(
    `circuit heads (0:0, 1:0) vs unused heads (0:1, 1:1): smallest separation ${
      r.minSeparation.toFixed(1)
    } standard errors (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
}

if (import.meta.main) await runMain(() => main(Deno.args));
