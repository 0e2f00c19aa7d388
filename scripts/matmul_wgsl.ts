/**
 * Writes the WGSL of the generated ("cpu") matmul family for every matmul of one training step, one file per
 * matmul, for reading: the kernels of that family are generated per shape by lib/model/matmul_codegen.ts and
 * never exist as files in kernels/. Layer 0's matmuls stand for every layer (they have the same shapes).
 *
 *   deno task matmul-wgsl [--model tiny|paper|CONFIG_JSON] [--batch 16] [--seq 64] [--copies 1] [--cores 2]
 *                         [--out runs/matmul-wgsl]
 *
 * No adapter is needed: the tile depends only on the shape and the number of CPU threads (--cores; the
 * sweep's SGLD runs --copies parameter copies at once).
 */
import { join } from "node:path";
import { runMain } from "../lib/util/main.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";
import { flagInt, flagModel, parseFlags } from "../lib/util/cli.ts";
import { TINY_CONFIG } from "../lib/model/config.ts";
import { paramLayout } from "../lib/model/params.ts";
import { TRAIN_DEFAULTS } from "../lib/train/train.ts";
import { cpuMatmulWgsl } from "../lib/model/matmul_codegen.ts";
import type { MatmulSpec } from "../lib/model/matmul_spec.ts";
import {
  netDims,
  outInputGradSpec,
  outSpec,
  outWeightGradSpec,
  qkvInputGradSpec,
  qkvSpec,
  qkvWeightGradSpec,
  unembedChunks,
  unembedInputGradSpec,
  unembedSpec,
  unembedWeightGradSpec,
} from "../lib/model/transformer_specs.ts";

const USAGE =
  `usage: matmul_wgsl.ts [--model tiny|paper|CONFIG_JSON (default tiny)] [--batch B (default ${TRAIN_DEFAULTS.batch})]
  [--seq T (default n_ctx)] [--copies C (default 1)] [--cores N (default 2)] [--out DIR (default runs/matmul-wgsl)]`;

/** The distinct matmuls of one forward and backward pass (layer 0, head 0 for the per-head input gradients). */
function stepMatmuls(
  cfg: typeof TINY_CONFIG,
  copies: number,
  batch: number,
  seq: number,
): MatmulSpec[] {
  const d = netDims(cfg, paramLayout(cfg), copies, batch, seq);
  const [chunk] = unembedChunks(d.C, d.R, d.C * d.R);
  return [
    qkvSpec(d, 0, "Q"),
    outSpec(d, 0),
    unembedSpec(d, chunk),
    unembedInputGradSpec(d, chunk),
    unembedWeightGradSpec(d, chunk),
    outInputGradSpec(d, 0),
    outWeightGradSpec(d, 0),
    qkvInputGradSpec(d, 0, "Q", false),
    qkvWeightGradSpec(d, 0, "Q"),
  ];
}

async function main(args: string[]): Promise<void> {
  const { values: v } = parseFlags(args, {
    model: { type: "string" },
    batch: { type: "string", default: String(TRAIN_DEFAULTS.batch) },
    seq: { type: "string" },
    copies: { type: "string", default: "1" },
    cores: { type: "string", default: "2" },
    out: { type: "string", default: "runs/matmul-wgsl" },
    help: { type: "boolean", default: false },
  });
  if (v.help) return console.log(USAGE);
  requireOutputPath(v.out, "--out", ["runs"]);
  const cfg = (await flagModel(v.model)) ?? { ...TINY_CONFIG };
  const batch = flagInt("--batch", v.batch, 1);
  const seq = v.seq === undefined ? cfg.n_ctx : flagInt("--seq", v.seq, 1);
  const copies = flagInt("--copies", v.copies, 1);
  const cores = flagInt("--cores", v.cores, 1);
  await Deno.mkdir(v.out, { recursive: true });
  for (const spec of stepMatmuls(cfg, copies, batch, seq)) {
    const file = join(v.out, `${spec.label!.replace(/[^A-Za-z0-9_]+/g, "_")}.wgsl`);
    await Deno.writeTextFile(file, cpuMatmulWgsl(spec, cores));
    console.log(
      `${file}  M ${spec.M}, N ${spec.N}, K ${spec.K}${spec.transA ? ", A stored K×M" : ""}${
        spec.transB ? ", B stored N×K" : ""
      }`,
    );
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
