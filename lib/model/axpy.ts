/**
 * axpy (y += a·x, used to add gradient streams) and fill (y = value, to zero gradients inside a compute pass)
 * over contiguous f32 ranges (the argument checks, grid folding and uniform structs they share with the other
 * ops are in lib/gpu/checks.ts, grid.ts and uniform.ts).
 *
 * Zeroing gradients: the trainer should use `encoder.clearBuffer(grads, byteOffset, byteLength)` before it
 * begins the step's compute pass (one command, a memset on the CPU adapter, no pipeline switch). `createFill`
 * exists for zeroing in the middle of a pass, where ending the pass is not wanted.
 */
import type { Gpu } from "../gpu/device.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { requireDistinct, requireFinite, requireInt, requireSpan } from "../gpu/checks.ts";
import { foldGrid } from "../gpu/grid.ts";
import { uniformStruct } from "../gpu/uniform.ts";

/** Invocations per workgroup of the elementwise kernels. */
const WG = 64;

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
