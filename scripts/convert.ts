/**
 * Converts checkpoints without a config (PyTorch `.pth` state dicts, TransformerLens names) into chi's
 * safetensors checkpoints: `<out>/step_NNNNNNN.safetensors` (config and step in the metadata) + config.json.
 * Not needed to use `.pth` files (every script reads them directly); useful to hand on self-describing files.
 *
 *   deno task convert --model paper --checkpoints runs/paper/pth --out runs/paper/checkpoints
 *   deno task convert --model paper --checkpoint runs/paper/pth/checkpoint_0049900.pth --out runs/paper/checkpoints
 */
import {
  flagIntOptional,
  flagModel,
  flagRequired,
  MODEL_USAGE,
  parseFlags,
  UsageError,
} from "../lib/util/cli.ts";
import { convertCheckpoint } from "../lib/model/convert.ts";
import { skippedNote } from "../lib/model/checkpoint.ts";
import { CHECKPOINT_OPTIONS, selectCheckpoints } from "../lib/estimate/script_inputs.ts";
import { runMain } from "../lib/util/main.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";

const USAGE = `usage: convert.ts --checkpoints DIR [--steps a,b,c] | --checkpoint FILE… [--step N]  --out DIR
  inputs:  .pth/.pt (torch.save state dicts, plain or under "model"/"state_dict") or config-less .safetensors;
           a folder's files are named step_NNNNNNN.* or checkpoint_NNNNNNN.*
  [${MODEL_USAGE}]
  --step N   the step of a single --checkpoint whose name carries none
  --out DIR  where step_NNNNNNN.safetensors and config.json are written`;

async function main(args: string[]): Promise<void> {
  const { values: v } = parseFlags(args, {
    ...CHECKPOINT_OPTIONS,
    step: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (v.help) return console.log(USAGE);
  const out = flagRequired("--out", v.out);
  requireOutputPath(out, "--out", ["runs"]);
  const model = await flagModel(v.model);
  const step = flagIntOptional("--step", v.step, 0);
  if (v.checkpoint && v.checkpoints) throw new UsageError("give --checkpoint or --checkpoints, not both");
  // Files are listed by path only: convertCheckpoint reads each once, and reads the step itself.
  const inputs = v.checkpoint ?? (await selectCheckpoints(v, false, model)).map((c) => c.path);
  if (step !== undefined && inputs.length !== 1) {
    throw new UsageError("--step goes with a single --checkpoint");
  }
  let noted = false;
  for (const path of inputs) {
    const c = await convertCheckpoint(path, out, model, step);
    const note = skippedNote(path, c.loaded);
    if (note !== null && !noted) {
      noted = true;
      console.error(`note: ${note}`);
    }
    console.log(`${c.from} → ${c.to} (step ${c.step}, config from ${c.loaded.configSource})`);
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
