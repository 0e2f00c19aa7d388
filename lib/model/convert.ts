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
