/**
 * GPU buffers: creation, upload and readback. Every readback is a full device sync (~10 ms on Deno), so
 * read many values at once and rarely: `readBuffers` maps one staging buffer for several ranges.
 */
import type { Gpu } from "./device.ts";

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Rounds a byte size up to a multiple of 4 (and at least 4): WebGPU copies and bindings need it. */
export function align4(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

/**
 * A storage buffer of `byteLength` bytes, zero-filled, usable as copy source and destination.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, readF32, storageBuffer } from "chi";
 *
 * const gpu = await getGpu();
 * const buf = storageBuffer(gpu, "zeros", 16); // 4 floats
 * assert.deepEqual(await readF32(gpu, buf), new Float32Array(4));
 * ```
 */
export function storageBuffer(gpu: Gpu, label: string, byteLength: number): GPUBuffer {
  const max = gpu.device.limits.maxBufferSize;
  if (byteLength > max) {
    throw new RangeError(`buffer "${label}": ${byteLength} bytes exceeds the device's maxBufferSize ${max}`);
  }
  return gpu.device.createBuffer({ label, size: align4(byteLength), usage: STORAGE });
}

/**
 * A storage buffer holding a copy of `data`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, readF32, storageFrom } from "chi";
 *
 * const gpu = await getGpu();
 * const buf = storageFrom(gpu, "x", new Float32Array([1, 2, 3, 4]));
 * assert.deepEqual(await readF32(gpu, buf), new Float32Array([1, 2, 3, 4]));
 * ```
 */
export function storageFrom(gpu: Gpu, label: string, data: ArrayBufferView): GPUBuffer {
  const buf = storageBuffer(gpu, label, data.byteLength);
  upload(gpu, buf, data);
  return buf;
}

/**
 * Writes `data` into `buffer` at `byteOffset` (queued; ordered before later submits).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, readF32, storageBuffer, upload } from "chi";
 *
 * const gpu = await getGpu();
 * const buf = storageBuffer(gpu, "x", 16);
 * upload(gpu, buf, new Float32Array([5, 6]), 8); // floats 2 and 3
 * assert.deepEqual(await readF32(gpu, buf), new Float32Array([0, 0, 5, 6]));
 * ```
 */
export function upload(gpu: Gpu, buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    gpu.device.queue.writeBuffer(buffer, byteOffset, bytes);
  } else {
    const padded = new Uint8Array(align4(bytes.byteLength));
    padded.set(bytes);
    gpu.device.queue.writeBuffer(buffer, byteOffset, padded);
  }
}

/** A uniform buffer holding `data` (16-byte padded, as uniform structs require). */
export function uniformFrom(gpu: Gpu, label: string, data: ArrayBufferView): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buf = gpu.device.createBuffer({
    label,
    size,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  upload(gpu, buf, data);
  return buf;
}

/**
 * Packs the fields of a WGSL uniform struct made only of 4-byte scalars (u32, i32, f32), in declaration order.
 * Example: params([["u32", M], ["u32", N], ["f32", scale]]).
 */
export function params(fields: Array<["u32" | "i32" | "f32", number]>): Uint8Array {
  const bytes = new Uint8Array(Math.max(16, Math.ceil(fields.length / 4) * 16));
  const view = new DataView(bytes.buffer);
  fields.forEach(([type, value], i) => {
    if (type === "f32") view.setFloat32(4 * i, value, true);
    else if (type === "i32") view.setInt32(4 * i, value, true);
    else {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new RangeError(`uniform field ${i}: ${value} is not a u32`);
      }
      view.setUint32(4 * i, value, true);
    }
  });
  return bytes;
}

export interface Range {
  buffer: GPUBuffer;
  byteOffset?: number;
  /** Defaults to the rest of the buffer. */
  byteLength?: number;
}

/**
 * Copies several buffer ranges into one staging buffer, maps it once, and returns a copy of each range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, readBuffers, storageFrom } from "chi";
 *
 * const gpu = await getGpu();
 * const a = storageFrom(gpu, "a", new Float32Array([1, 2, 3]));
 * const b = storageFrom(gpu, "b", new Uint32Array([7, 8]));
 * // One device sync for both reads.
 * const [ra, rb] = await readBuffers(gpu, [{ buffer: a, byteOffset: 4 }, { buffer: b }]);
 * assert.deepEqual(new Float32Array(ra), new Float32Array([2, 3]));
 * assert.deepEqual(new Uint32Array(rb), new Uint32Array([7, 8]));
 * ```
 */
export async function readBuffers(gpu: Gpu, ranges: Range[]): Promise<ArrayBuffer[]> {
  const spans = ranges.map((r) => {
    const offset = r.byteOffset ?? 0;
    const length = r.byteLength ?? r.buffer.size - offset;
    if (offset % 4 !== 0 || length % 4 !== 0) throw new RangeError("readback ranges must be 4-byte aligned");
    return { ...r, offset, length };
  });
  const total = spans.reduce((s, r) => s + r.length, 0);
  const staging = gpu.device.createBuffer({
    label: "readback",
    size: align4(total),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = gpu.device.createCommandEncoder({ label: "readback" });
  let at = 0;
  for (const s of spans) {
    if (s.length > 0) enc.copyBufferToBuffer(s.buffer, s.offset, staging, at, s.length);
    at += s.length;
  }
  gpu.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  // getMappedRange's view is detached at unmap(): copy each range out first.
  const mapped = staging.getMappedRange();
  const out: ArrayBuffer[] = [];
  at = 0;
  for (const s of spans) {
    out.push(mapped.slice(at, at + s.length));
    at += s.length;
  }
  staging.unmap();
  staging.destroy();
  return out;
}

/**
 * Reads a whole buffer (or a range) as float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, readF32, storageFrom } from "chi";
 *
 * const gpu = await getGpu();
 * const buf = storageFrom(gpu, "x", new Float32Array([1, 2, 3, 4]));
 * assert.deepEqual(await readF32(gpu, buf, 4, 8), new Float32Array([2, 3])); // bytes 4 … 11
 * ```
 */
export async function readF32(
  gpu: Gpu,
  buffer: GPUBuffer,
  byteOffset = 0,
  byteLength?: number,
): Promise<Float32Array> {
  const [b] = await readBuffers(gpu, [{ buffer, byteOffset, byteLength }]);
  return new Float32Array(b);
}

/**
 * Reads a whole buffer (or a range) as uint32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, readU32, storageFrom } from "chi";
 *
 * const gpu = await getGpu();
 * const buf = storageFrom(gpu, "ids", new Uint32Array([7, 8, 9]));
 * assert.deepEqual(await readU32(gpu, buf), new Uint32Array([7, 8, 9]));
 * ```
 */
export async function readU32(
  gpu: Gpu,
  buffer: GPUBuffer,
  byteOffset = 0,
  byteLength?: number,
): Promise<Uint32Array> {
  const [b] = await readBuffers(gpu, [{ buffer, byteOffset, byteLength }]);
  return new Uint32Array(b);
}

/** Waits until all submitted work is done (a full sync: use for timing, not in loops). */
export function sync(gpu: Gpu): Promise<void> {
  return gpu.device.queue.onSubmittedWorkDone();
}
