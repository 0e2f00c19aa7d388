/**
 * Prepared dispatches: a pipeline, its bind group and its grid, built once and replayed every step.
 * A model step is a list of these recorded into one compute pass: re-encoding costs a few µs per dispatch,
 * re-creating bind groups would cost far more.
 */
import type { Gpu } from "./device.ts";
import type { Kernel } from "./kernel.ts";

export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: readonly [number, number, number];
}

/**
 * Prepares a dispatch of `kernel` over bindings 0, 1, 2, … (whole buffers: kernels address into them with
 * element offsets from their uniform parameters, since binding offsets must be 256-byte aligned).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, prepare, readF32, storageFrom, submitProgram } from "chi";
 * import { kernelFromSource } from "chi/lib/gpu/kernel.ts";
 *
 * const gpu = await getGpu();
 * const kernel = await kernelFromSource(gpu, "double", `
 * @group(0) @binding(0) var<storage, read_write> x: array<f32>;
 * @compute @workgroup_size(64)
 * fn main(@builtin(global_invocation_id) id: vec3<u32>) {
 *   if (id.x < arrayLength(&x)) { x[id.x] = 2.0 * x[id.x]; }
 * }`);
 * const x = storageFrom(gpu, "x", new Float32Array([1, 2, 3]));
 * const step = prepare(kernel, [x], [1]); // one workgroup of 64 covers the 3 elements
 * submitProgram(gpu, [step]);
 * submitProgram(gpu, [step]); // a prepared dispatch is replayed as it is
 * assert.deepEqual(await readF32(gpu, x), new Float32Array([4, 8, 12]));
 * ```
 */
export function prepare(
  kernel: Kernel,
  resources: Array<GPUBuffer | GPUBufferBinding>,
  workgroups: readonly [number, number?, number?],
  label = kernel.name,
): Dispatch {
  const [x, y = 1, z = 1] = workgroups;
  const max = kernel.gpu.device.limits.maxComputeWorkgroupsPerDimension;
  if (x > max || y > max || z > max) {
    throw new RangeError(
      `kernel "${kernel.name}": grid ${x}×${y}×${z} exceeds maxComputeWorkgroupsPerDimension ${max}`,
    );
  }
  return { label, pipeline: kernel.pipeline, bindGroup: kernel.bind(resources), workgroups: [x, y, z] };
}

/** Records dispatches, in order, into an open compute pass. */
export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) {
    const [x, y, z] = d.workgroups;
    if (x === 0 || y === 0 || z === 0) continue;
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }
}

/** Encodes the dispatches in one compute pass and submits them (no wait). */
export function submitDispatches(gpu: Gpu, dispatches: readonly Dispatch[], label = "step"): void {
  const enc = gpu.device.createCommandEncoder({ label });
  const pass = enc.beginComputePass({ label });
  encodeDispatches(pass, dispatches);
  pass.end();
  gpu.device.queue.submit([enc.finish()]);
}
