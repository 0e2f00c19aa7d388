/**
 * The known-answer targets' WGSL kernels live beside their TypeScript (they are test code, not part of
 * kernels/): read, specialized and compiled here like loadKernel does for kernels/.
 */
import type { Gpu } from "../../../lib/gpu/device.ts";
import { type ConstValue, type Kernel, kernelFromSource, specialize } from "../../../lib/gpu/kernel.ts";

/** Loads tests/support/targets/<file>.wgsl, specializes its constants and compiles entry point `entry`. */
export function loadTargetKernel(
  gpu: Gpu,
  file: string,
  opts: { entry?: string; consts?: Record<string, ConstValue> } = {},
): Promise<Kernel> {
  const name = `target_${file}`;
  const entry = opts.entry ?? "main";
  const source = specialize(
    name,
    Deno.readTextFileSync(new URL(`${file}.wgsl`, import.meta.url)),
    opts.consts,
  );
  return kernelFromSource(gpu, entry === "main" ? name : `${name}:${entry}`, source, entry);
}
