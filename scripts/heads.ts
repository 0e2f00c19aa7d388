/**
 * Head roles over checkpoints: induction and previous-token scores of every head on repeated random tokens
 * (lib/estimate/head_roles.ts), printed as a table and written as head_roles.arrow + manifest.json. Use it to
 * see whether (and when) a model develops induction heads before reading its susceptibilities.
 *
 *   deno task heads --checkpoints runs/train-tiny/checkpoints [--steps 0,500,2000] [--out runs/heads-tiny]
 *
 * Flags: --checkpoints DIR | --checkpoint FILE (repeatable)  --steps a,b,c  --model paper|tiny|CONFIG_JSON
 *        --sequences N  --span S  --seed N
 *        --names TOKENIZER_JSON (draw the spans from the synthetic corpus's induction names, as that tokenizer
 *        encodes them, instead of the whole vocabulary)  --out DIR (default: print only)
 */
import { headRoles, headRolesColumns } from "../lib/estimate/head_roles.ts";
import { writeHeadRolesTable } from "../lib/tables/schema.ts";
import { concatColumns } from "../lib/estimate/script_run.ts";
import { runMain } from "../lib/util/main.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";
import {
  CHECKPOINT_OPTIONS,
  loadScriptCheckpoint,
  selectCheckpoints,
} from "../lib/estimate/script_inputs.ts";
import { writeRunManifest } from "../lib/util/manifest.ts";
import { flagInt, flagIntOptional, flagModel, MODEL_USAGE, parseFlags } from "../lib/util/cli.ts";
import { loadTokenizer } from "../lib/data/tokenizer.ts";
import { inductionNameIds } from "../lib/data/synthetic/induction.ts";

const USAGE = `usage: heads.ts --checkpoints DIR | --checkpoint FILE… [--steps a,b,c] (.safetensors or .pth)
  [${MODEL_USAGE}]
  [--sequences N (default ≈ 2048 query positions)] [--span S (default n_ctx/2)] [--seed N (default 0)]
  [--names TOKENIZER_JSON (spans of the synthetic corpus's induction names, e.g. runs/data/default/tokenizer.json)]
  [--out DIR (writes head_roles.arrow and manifest.json)]`;

async function main(args: string[]): Promise<void> {
  const { values: v } = parseFlags(args, {
    ...CHECKPOINT_OPTIONS,
    sequences: { type: "string" },
    span: { type: "string" },
    seed: { type: "string", default: "0" },
    names: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (v.help) return console.log(USAGE);
  if (v.out) requireOutputPath(v.out, "--out", ["runs"]);
  const model = await flagModel(v.model);
  const checkpoints = await selectCheckpoints(v, false, model);
  const opts = {
    sequences: flagIntOptional("--sequences", v.sequences, 1),
    span: flagIntOptional("--span", v.span, 2),
    seed: flagInt("--seed", v.seed, 0),
    tokens: v.names === undefined ? undefined : inductionNameIds(await loadTokenizer(v.names)),
  };
  const parts = [];
  for (const ck of checkpoints) {
    const loaded = await loadScriptCheckpoint(ck.path, model);
    const roles = headRoles(loaded.config, loaded.params, opts);
    const cols = headRolesColumns(ck.step, roles);
    parts.push(cols);
    const fmt = (a: Float64Array) => Array.from(a, (x) => x.toFixed(2).padStart(5)).join("");
    if (parts.length === 1) {
      console.log(`step   ${"induction".padEnd(5 * cols.layer.length)}  previous-token`);
    }
    console.log(
      `${String(ck.step).padStart(6)} ${fmt(roles.induction)}  ${fmt(roles.previousToken)}  ` +
        `loss first ${roles.lossFirst.toFixed(2)} repeat ${roles.lossSecond.toFixed(2)}`,
    );
  }
  console.log(`heads: ${parts[0].restriction.join(" ")}`);
  if (!v.out) return;
  await Deno.mkdir(v.out, { recursive: true });
  await writeHeadRolesTable(`${v.out}/head_roles.arrow`, concatColumns(parts));
  await writeRunManifest(v.out, {
    config: {
      ...opts,
      tokens: v.names === undefined ? "whole vocabulary" : `induction names (${v.names})`,
    },
    seeds: { tokens: opts.seed },
    inputs: Object.fromEntries(checkpoints.map((c) => [`checkpoint_${c.step}`, c.path])),
    adapter: null,
  });
  console.log(`${v.out}: head_roles.arrow (${parts.length} checkpoints), manifest.json`);
}

if (import.meta.main) await runMain(() => main(Deno.args));
