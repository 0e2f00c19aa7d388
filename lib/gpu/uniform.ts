/** Uniform parameter structs of the kernels: the `params` block every WGSL file opens with. */
import type { Gpu } from "./device.ts";
import { params, uniformFrom } from "./buffers.ts";

/** A uniform buffer holding a struct of 4-byte scalars, in declaration order. */
export function uniformStruct(
  gpu: Gpu,
  label: string,
  fields: Array<["u32" | "i32" | "f32", number]>,
): GPUBuffer {
  return uniformFrom(gpu, label, params(fields));
}
