/**
 * axpy (y += a·x, used to add gradient streams) and fill (y = value, to zero gradients inside a compute pass)
 * over contiguous f32 ranges, plus the argument checks and grid folding shared by the elementwise and row ops
 * of lib/model and lib/train (cross entropy, embedding, layer norm, AdamW).
 *
 * Zeroing gradients: the trainer should use `encoder.clearBuffer(grads, byteOffset, byteLength)` before it
 * begins the step's compute pass (one command, a memset on the CPU adapter, no pipeline switch). `createFill`
 * exists for zeroing in the middle of a pass, where ending the pass is not wanted.
 */
import type { Gpu } from "../gpu/device.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { params, uniformFrom } from "../gpu/buffers.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";

/** Invocations per workgroup of the elementwise kernels. */
const WG = 64;
const MAX_GRID = 65535;

/**
 * Folds a 1-D count of workgroups into a 2-D grid [x, y] with x, y ≤ 65535 (kernels number workgroups as
 * wid.y·nwg.x + wid.x and return past the end). Throws past 65535² workgroups.
 */
export function foldGrid(workgroups: number, label = "grid"): [number, number] {
  if (!Number.isInteger(workgroups) || workgroups < 0) {
    throw new RangeError(`${label}: workgroup count ${workgroups} is not a non-negative integer`);
  }
  if (workgroups <= MAX_GRID) return [workgroups, 1];
  const y = Math.ceil(workgroups / MAX_GRID);
  if (y > MAX_GRID) throw new RangeError(`${label}: ${workgroups} workgroups exceed 65535² even folded`);
  return [Math.ceil(workgroups / y), y];
}

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

/** A uniform buffer holding a struct of 4-byte scalars, in declaration order. */
export function uniformStruct(
  gpu: Gpu,
  label: string,
  fields: Array<["u32" | "i32" | "f32", number]>,
): GPUBuffer {
  return uniformFrom(gpu, label, params(fields));
}

export interface AxpySpec {
  /** Number of elements. */
  n: number;
  /** The scale a (fixed for the prepared dispatch). */
  a: number;
  /** Element offset of x (default 0). */
  xOffset?: number;
  /** Element offset of y (default 0). */
  yOffset?: number;
}

/**
 * y[yOffset + i] += a·x[xOffset + i] for i < n. Uses vec4s when n and both offsets are multiples of 4, scalars
 * otherwise. x and y must be different buffers.
 */
export async function createAxpy(gpu: Gpu, spec: AxpySpec, x: GPUBuffer, y: GPUBuffer): Promise<Dispatch[]> {
  const n = requireInt("axpy n", spec.n);
  const a = requireFinite("axpy a", spec.a);
  const xOff = requireInt("axpy xOffset", spec.xOffset ?? 0);
  const yOff = requireInt("axpy yOffset", spec.yOffset ?? 0);
  requireSpan(gpu, "axpy x", x, xOff + n);
  requireSpan(gpu, "axpy y", y, yOff + n);
  requireDistinct(["axpy y", y], [["axpy x", x]]);
  const vec = n % 4 === 0 && xOff % 4 === 0 && yOff % 4 === 0;
  const k = vec ? 4 : 1;
  const items = n / k;
  const kernel = await loadKernel(gpu, "axpy", { entry: vec ? "axpy4" : "axpy1" });
  const u = uniformStruct(gpu, "axpy params", [["u32", items], ["u32", xOff / k], ["u32", yOff / k], [
    "f32",
    a,
  ]]);
  return [prepare(kernel, [u, x, y], foldGrid(Math.ceil(items / WG), "axpy"), `axpy${k}`)];
}

export interface FillSpec {
  /** Number of elements. */
  n: number;
  /** Element offset (default 0). */
  offset?: number;
  /** The value written (default 0). */
  value?: number;
}

/** y[offset + i] = value for i < n (vec4s when n and offset are multiples of 4). */
export async function createFill(gpu: Gpu, spec: FillSpec, y: GPUBuffer): Promise<Dispatch[]> {
  const n = requireInt("fill n", spec.n);
  const off = requireInt("fill offset", spec.offset ?? 0);
  const value = requireFinite("fill value", spec.value ?? 0);
  requireSpan(gpu, "fill y", y, off + n);
  const vec = n % 4 === 0 && off % 4 === 0;
  const k = vec ? 4 : 1;
  const items = n / k;
  const kernel = await loadKernel(gpu, "axpy", { entry: vec ? "fill4" : "fill1" });
  const u = uniformStruct(gpu, "fill params", [["u32", items], ["u32", 0], ["u32", off / k], ["f32", value]]);
  return [prepare(kernel, [u, y], foldGrid(Math.ceil(items / WG), "fill"), `fill${k}`)];
}

/** Float64 reference: returns y + a·x (elementwise; x and y of equal length). */
export function axpyReference(a: number, x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  if (x.length !== y.length) throw new RangeError(`axpyReference: x has ${x.length} elements, y ${y.length}`);
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = y[i] + a * x[i];
  return out;
}
