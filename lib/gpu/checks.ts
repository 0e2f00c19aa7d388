/**
 * Argument checks shared by the kernel wrappers of lib/model and lib/train: u32 ranges, vec4 alignment, finite
 * scalars, buffer spans that fit one storage binding, and write/read aliasing that WebGPU forbids. Each error
 * names the op and the field so a wrong shape fails before a dispatch is prepared.
 */
import type { Gpu } from "./device.ts";

/** Checks that `value` is an integer ≥ `min` (and < 2³² since it goes into a u32); returns it. */
export function requireInt(name: string, value: number, min = 0): number {
  if (!Number.isInteger(value) || value < min || value > 0xffffffff) {
    throw new RangeError(`${name}: expected an integer ≥ ${min} (u32), got ${value}`);
  }
  return value;
}

/** Checks that `value` is a multiple of `k` (vec4 kernels address in whole vec4s). */
export function requireMultiple(name: string, value: number, k = 4): number {
  if (value % k !== 0) throw new RangeError(`${name}: ${value} must be a multiple of ${k} (vec4 addressing)`);
  return value;
}

/** Checks that a finite number was given. */
export function requireFinite(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(`${name}: expected a finite number, got ${value}`);
  }
  return value;
}

/**
 * Checks that `buffer` holds at least `endElement` 4-byte elements (the one past the last one accessed) and
 * can be bound whole as a storage buffer on this device.
 */
export function requireSpan(gpu: Gpu, name: string, buffer: GPUBuffer, endElement: number): void {
  const max = gpu.device.limits.maxStorageBufferBindingSize;
  if (buffer.size > max) {
    throw new RangeError(
      `${name}: buffer "${buffer.label}" has ${buffer.size} bytes, more than this device binds at once ` +
        `(maxStorageBufferBindingSize ${max}); split the op into chunks`,
    );
  }
  if (endElement * 4 > buffer.size) {
    throw new RangeError(
      `${name}: the op addresses elements up to ${endElement} (${endElement * 4} bytes) but buffer ` +
        `"${buffer.label}" holds ${buffer.size / 4} elements (${buffer.size} bytes)`,
    );
  }
}

/**
 * Checks that a buffer written by a dispatch is none of the buffers it reads: WebGPU forbids binding one buffer
 * read-only and writable in the same dispatch.
 */
export function requireDistinct(
  written: [string, GPUBuffer],
  read: Array<[string, GPUBuffer | undefined]>,
): void {
  for (const [name, buf] of read) {
    if (buf === written[1]) {
      throw new RangeError(
        `${written[0]} and ${name} are the same buffer ("${buf.label}"): the op writes ${
          written[0]
        } while it ` +
          `reads ${name}, which one dispatch cannot do; use separate buffers`,
      );
    }
  }
}
