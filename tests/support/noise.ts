/**
 * Philox on the device outside the SGLD step: raw blocks for known-answer checks, and a fill of the exact normals
 * the SGLD kernel draws (element i at `step` on `stream`), for tests that regenerate them on the host. The
 * Philox functions themselves live in kernels/philox.wgsl.
 */
import type { Gpu } from "../../lib/gpu/device.ts";
import { params, readU32, storageBuffer, storageFrom, uniformFrom } from "../../lib/gpu/buffers.ts";
import { type Dispatch, prepare, submitDispatches } from "../../lib/gpu/dispatch.ts";
import { composeWgsl, kernelFromSource } from "../../lib/gpu/kernel.ts";
import { seedKey } from "../../lib/util/philox.ts";

const RAW_SOURCE = `
// Philox4x32-10 blocks of arbitrary (counter, key) pairs.
// Bindings: 0 counters: [n] vec4<u32>; 1 keys: [n] vec2<u32>; 2 out: [n] vec4<u32>.
// Grid: ceil(n / 64) workgroups of 64.
@group(0) @binding(0) var<storage, read> counters: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> keys: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<u32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= arrayLength(&out)) {
    return;
  }
  out[i] = philox4x32_10(counters[i], keys[i]);
}
`;

const FILL_SOURCE = `
// The SGLD normals of elements 0 … n−1 (n a multiple of 4) at one step and stream:
//   out[i] = philox_normals(philox4x32_10((i/4, step, stream, 0), (seed_lo, seed_hi)))[i % 4].
// Bindings: 0 p: Params (uniform); 1 st: Step (uniform); 2 out: [n/4] vec4<f32>.
// Grid: (row_x, rows) workgroups of 64; block b = (wg.y·row_x + wg.x)·64 + local.
struct Params { blocks: u32, row_x: u32, stream: u32, seed_lo: u32, seed_hi: u32 }
struct Step { step: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let b = (wg.y * p.row_x + wg.x) * 64u + li;
  if (b >= p.blocks) {
    return;
  }
  out[b] = philox_normals(philox4x32_10(vec4<u32>(b, st.step, p.stream, 0u), vec2<u32>(p.seed_lo, p.seed_hi)));
}
`;

/** Philox4x32-10 on the device for n (counter, key) pairs: counters [n·4] u32, keys [n·2] u32 → [n·4] u32. */
export async function philoxBlocksGpu(
  gpu: Gpu,
  counters: Uint32Array,
  keys: Uint32Array,
): Promise<Uint32Array> {
  const n = counters.length / 4;
  if (!Number.isInteger(n) || keys.length !== 2 * n) {
    throw new RangeError(
      `need 4 counter words and 2 key words per block, got ${counters.length} and ${keys.length}`,
    );
  }
  const kernel = await kernelFromSource(gpu, "philox_raw", composeWgsl(RAW_SOURCE, ["philox"]));
  const cb = storageFrom(gpu, "philox.counters", counters);
  const kb = storageFrom(gpu, "philox.keys", keys);
  const ob = storageBuffer(gpu, "philox.out", n * 16);
  submitDispatches(gpu, [prepare(kernel, [cb, kb, ob], [Math.ceil(n / 64)])], "philox_raw");
  const out = await readU32(gpu, ob);
  cb.destroy();
  kb.destroy();
  ob.destroy();
  return out;
}

/** A prepared fill of `out[0 … n)` with the SGLD normals of one stream; `setStep` before each submit. */
export interface NormalFill {
  dispatch: Dispatch;
  setStep(step: number): void;
  destroy(): void;
}

/** Builds a NormalFill over the first n elements (n a multiple of 4) of `out`. */
export async function createNormalFill(
  gpu: Gpu,
  out: GPUBuffer,
  n: number,
  opts: { seed?: number; stream?: number } = {},
): Promise<NormalFill> {
  if (!Number.isInteger(n) || n <= 0 || n % 4 !== 0) {
    throw new RangeError(`n must be a positive multiple of 4, got ${n}`);
  }
  if (out.size < n * 4) throw new RangeError(`buffer "${out.label}" holds ${out.size} bytes, needs ${n * 4}`);
  const kernel = await kernelFromSource(gpu, "philox_fill", composeWgsl(FILL_SOURCE, ["philox"]));
  const blocks = n / 4;
  const groups = Math.ceil(blocks / 64);
  const rowX = Math.min(groups, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const [lo, hi] = seedKey(opts.seed ?? 0);
  const u = uniformFrom(
    gpu,
    "philox_fill.params",
    params([["u32", blocks], ["u32", rowX], ["u32", opts.stream ?? 0], ["u32", lo], ["u32", hi]]),
  );
  const stepBuf = uniformFrom(gpu, "philox_fill.step", new Uint32Array(4));
  const stepData = new Uint32Array(4);
  const binding: GPUBufferBinding = { buffer: out, offset: 0, size: n * 4 };
  return {
    dispatch: prepare(kernel, [u, stepBuf, binding], [rowX, Math.ceil(groups / rowX)], "philox_fill"),
    setStep(step: number) {
      stepData[0] = step;
      gpu.device.queue.writeBuffer(stepBuf, 0, stepData);
    },
    destroy() {
      u.destroy();
      stepBuf.destroy();
    },
  };
}
