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

/** A storage buffer of `byteLength` bytes, zero-filled, usable as copy source and destination. */
export function storageBuffer(gpu: Gpu, label: string, byteLength: number): GPUBuffer {
  const max = gpu.device.limits.maxBufferSize;
  if (byteLength > max) {
    throw new RangeError(`buffer "${label}": ${byteLength} bytes exceeds the device's maxBufferSize ${max}`);
  }
  return gpu.device.createBuffer({ label, size: align4(byteLength), usage: STORAGE });
}

/** A storage buffer holding a copy of `data`. */
export function storageFrom(gpu: Gpu, label: string, data: ArrayBufferView): GPUBuffer {
  const buf = storageBuffer(gpu, label, data.byteLength);
  upload(gpu, buf, data);
  return buf;
}

/** Writes `data` into `buffer` at `byteOffset` (queued; ordered before later submits). */
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

/** Copies several buffer ranges into one staging buffer, maps it once, and returns a copy of each range. */
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

/** Reads a whole buffer (or a range) as float32. */
export async function readF32(
  gpu: Gpu,
  buffer: GPUBuffer,
  byteOffset = 0,
  byteLength?: number,
): Promise<Float32Array> {
  const [b] = await readBuffers(gpu, [{ buffer, byteOffset, byteLength }]);
  return new Float32Array(b);
}

/** Reads a whole buffer (or a range) as uint32. */
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
