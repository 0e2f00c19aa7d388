/**
 * Conversion of checkpoints that carry no config (the paper's torch.save `.pth` state dicts, or safetensors
 * converted from them) into chi checkpoints: `step_NNNNNNN.safetensors` with the config and step in their
 * metadata and a config.json beside them, so that later runs need neither --model nor the original files.
 * Every tensor goes through loadCheckpoint's validation; float16/bfloat16 values are widened to float32
 * exactly, so the converted file gives bit-for-bit the parameters the .pth gives.
 */
import {
  CheckpointError,
  checkpointPath,
  loadCheckpoint,
  type LoadedCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import type { ModelConfig } from "./config.ts";

/** One converted file. */
export interface Converted {
  from: string;
  to: string;
  step: number;
  loaded: LoadedCheckpoint;
}

/**
 * Loads `src` (config from its metadata, a config.json beside it, or `model`) and writes it as a chi checkpoint
 * into `outDir`. The step comes from the file (metadata or a `checkpoint_NNNNNNN` / `step_NNNNNNN` name), else
 * from `step`; neither is an error naming the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertCheckpoint, loadCheckpoint } from "chi";
 *
 * const model = {
 *   n_layers: 2, n_heads: 2, d_model: 8, d_head: 4, n_ctx: 8, d_vocab: 16, normalization: "LN", positional: "shortformer",
 * } as const;
 * const out = await Deno.makeTempDir();
 * const { to } = await convertCheckpoint("tests/fixtures/pth/plain.pth", out, model, 100);
 * const converted = await loadCheckpoint(to); // self-describing now: no config argument needed
 * assert.equal(converted.step, 100);
 * assert.deepEqual(converted.config, model);
 * ```
 */
export async function convertCheckpoint(
  src: string,
  outDir: string,
  model?: ModelConfig,
  step?: number,
): Promise<Converted> {
  const loaded = await loadCheckpoint(src, model);
  const s = loaded.step ?? step;
  if (s === undefined) {
    throw new CheckpointError(
      src,
      null,
      "no step: the name is not step_NNNNNNN or checkpoint_NNNNNNN and no step was given (--step N)",
    );
  }
  const to = checkpointPath(outDir, s);
  await Deno.mkdir(outDir, { recursive: true });
  await saveCheckpoint(to, loaded.config, loaded.params, { step: s, writeConfigJson: true });
  return { from: src, to, step: s, loaded };
}
