/**
 * A program: the ordered list of GPU operations of one model step: dispatches, buffer clears and copies.
 * Consecutive dispatches share one compute pass; a clear or copy closes it (they are encoder commands).
 * Programs are built once and re-encoded every step, which costs a few µs per dispatch.
 */
import type { Gpu } from "./device.ts";
import { type Dispatch, encodeDispatches } from "./dispatch.ts";

export interface ClearOp {
  kind: "clear";
  buffer: GPUBuffer;
  /** Bytes; multiples of 4. */
  byteOffset: number;
  byteLength: number;
}

export interface CopyOp {
  kind: "copy";
  src: GPUBuffer;
  srcByteOffset: number;
  dst: GPUBuffer;
  dstByteOffset: number;
  byteLength: number;
}

export type Op = Dispatch | ClearOp | CopyOp;

/** Zero `byteLength` bytes of `buffer` from `byteOffset` (the whole buffer by default). */
export function clear(buffer: GPUBuffer, byteOffset = 0, byteLength = buffer.size - byteOffset): ClearOp {
  return { kind: "clear", buffer, byteOffset, byteLength };
}

/** Copy bytes between buffers. */
export function copy(
  src: GPUBuffer,
  srcByteOffset: number,
  dst: GPUBuffer,
  dstByteOffset: number,
  byteLength: number,
): CopyOp {
  return { kind: "copy", src, srcByteOffset, dst, dstByteOffset, byteLength };
}

function isDispatch(op: Op): op is Dispatch {
  return !("kind" in op);
}

/**
 * Records the program into `enc`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeProgram, getGpu, prepare, readF32, storageFrom } from "chi";
 * import { clear } from "chi/lib/gpu/program.ts";
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
 * const enc = gpu.device.createCommandEncoder();
 * encodeProgram(enc, [prepare(kernel, [x], [1]), clear(x, 0, 4)]); // double, then zero element 0
 * gpu.device.queue.submit([enc.finish()]);
 * assert.deepEqual(await readF32(gpu, x), new Float32Array([0, 4, 6]));
 * ```
 */
export function encodeProgram(enc: GPUCommandEncoder, ops: readonly Op[], label = "program"): void {
  let run: Dispatch[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const pass = enc.beginComputePass({ label });
    encodeDispatches(pass, run);
    pass.end();
    run = [];
  };
  for (const op of ops) {
    if (isDispatch(op)) {
      run.push(op);
      continue;
    }
    flush();
    if (op.kind === "clear") {
      if (op.byteLength > 0) enc.clearBuffer(op.buffer, op.byteOffset, op.byteLength);
    } else if (op.byteLength > 0) {
      enc.copyBufferToBuffer(op.src, op.srcByteOffset, op.dst, op.dstByteOffset, op.byteLength);
    }
  }
  flush();
}

/**
 * Encodes and submits a program on its own (no wait).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, readF32, storageFrom, submitProgram } from "chi";
 * import { copy } from "chi/lib/gpu/program.ts";
 *
 * const gpu = await getGpu();
 * const a = storageFrom(gpu, "a", new Float32Array([1, 2]));
 * const b = storageFrom(gpu, "b", new Float32Array(2));
 * submitProgram(gpu, [copy(a, 0, b, 0, 8)]);
 * assert.deepEqual(await readF32(gpu, b), new Float32Array([1, 2]));
 * ```
 */
export function submitProgram(gpu: Gpu, ops: readonly Op[], label = "program"): void {
  const enc = gpu.device.createCommandEncoder({ label });
  encodeProgram(enc, ops, label);
  gpu.device.queue.submit([enc.finish()]);
}
