/**
 * AdamW with PyTorch semantics (torch.optim.AdamW defaults amsgrad=False, maximize=False), kernels/adamw.wgsl:
 *   p ← p − lr·wd·p;  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
 *   p ← p − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + eps)
 * elementwise over all parameter copies at once ([C, P] buffers updated as one range). The step number and
 * learning rate change every step, so they live in a uniform that `setStep` rewrites (queue.writeBuffer,
 * ordered before the next submit) with the bias corrections computed in float64 on the host.
 *
 * Layout padding (elements between tensors) stays exactly 0 as long as its gradient is 0: p, m, v start at 0
 * and every term of the update is then 0.
 */
import type { Gpu } from "../gpu/device.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { params as packParams, upload } from "../gpu/buffers.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { requireDistinct, requireFinite, requireInt, requireMultiple, requireSpan } from "../gpu/checks.ts";
import { foldGrid } from "../gpu/grid.ts";
import { uniformStruct } from "../gpu/uniform.ts";

const WG = 64;

/** The paper's training hyperparameters (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.05). */
export const ADAMW_DEFAULTS = Object.freeze({
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.05,
});

export interface AdamWSpec {
  /** Elements updated (e.g. C·P); a multiple of 4 (vec4 kernel; layout strides always are). */
  size: number;
  /** Element offset of the range in all four buffers; a multiple of 4 (default 0). */
  offset?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

interface Hyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

function checkHyper(spec: AdamWSpec): Hyper {
  const beta1 = requireFinite("adamw beta1", spec.beta1 ?? ADAMW_DEFAULTS.beta1);
  const beta2 = requireFinite("adamw beta2", spec.beta2 ?? ADAMW_DEFAULTS.beta2);
  const eps = requireFinite("adamw eps", spec.eps ?? ADAMW_DEFAULTS.eps);
  const weightDecay = requireFinite("adamw weightDecay", spec.weightDecay ?? ADAMW_DEFAULTS.weightDecay);
  for (const [name, b] of [["beta1", beta1], ["beta2", beta2]] as const) {
    if (!(b >= 0 && b < 1)) throw new RangeError(`adamw ${name}: expected a number in [0, 1), got ${b}`);
  }
  if (!(eps > 0)) throw new RangeError(`adamw eps: expected a positive number, got ${eps}`);
  if (!(weightDecay >= 0)) throw new RangeError(`adamw weightDecay: expected ≥ 0, got ${weightDecay}`);
  return { beta1, beta2, eps, weightDecay };
}

function checkStep(t: number, lr: number): void {
  requireInt("adamw step t", t, 1);
  requireFinite("adamw lr", lr);
  if (lr < 0) throw new RangeError(`adamw lr: expected ≥ 0, got ${lr}`);
}

/** The step's scalars in float64: 1 − lr·wd, lr/(1 − β1^t), √(1 − β2^t). */
export function adamWStepScalars(
  h: Hyper,
  t: number,
  lr: number,
): { decay: number; stepSize: number; sqrtBc2: number } {
  return {
    decay: 1 - lr * h.weightDecay,
    stepSize: lr / (1 - h.beta1 ** t),
    sqrtBc2: Math.sqrt(1 - h.beta2 ** t),
  };
}

export interface AdamW {
  dispatches: Dispatch[];
  /**
   * Sets step t (1 for the first update: bias corrections 1 − β^t) and learning rate for the next replays.
   * Before the first call the uniform holds NaN, so a forgotten setStep turns the parameters into NaN loudly.
   */
  setStep(t: number, lr: number): void;
}

/**
 * Prepares one AdamW update of params from grads, with moment buffers m and v (one dispatch).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAdamW, getGpu, readF32, storageBuffer, storageFrom, submitProgram } from "chi";
 *
 * const gpu = await getGpu();
 * const params = storageFrom(gpu, "params", new Float32Array([1, 1, 1, 1]));
 * const grads = storageFrom(gpu, "grads", new Float32Array([1, -1, 2, 0]));
 * const m = storageBuffer(gpu, "m", 16), v = storageBuffer(gpu, "v", 16);
 * const adamw = await createAdamW(gpu, { size: 4, weightDecay: 0 }, params, grads, m, v);
 * adamw.setStep(1, 0.1); // update 1 at lr 0.1
 * submitProgram(gpu, adamw.dispatches);
 * // The first bias-corrected step moves each parameter by lr·sign(g) (0 where g = 0).
 * const p = await readF32(gpu, params);
 * [0.9, 1.1, 0.9, 1].forEach((want, i) => assert.ok(Math.abs(p[i] - want) < 1e-6));
 * ```
 */
export async function createAdamW(
  gpu: Gpu,
  spec: AdamWSpec,
  params: GPUBuffer,
  grads: GPUBuffer,
  m: GPUBuffer,
  v: GPUBuffer,
): Promise<AdamW> {
  if (typeof spec !== "object" || spec === null) throw new RangeError("adamw spec: expected an object");
  const n = requireMultiple("adamw size", requireInt("adamw size", spec.size, 4));
  const off = requireMultiple("adamw offset", requireInt("adamw offset", spec.offset ?? 0));
  const h = checkHyper(spec);
  const bufs: Array<[string, GPUBuffer]> = [
    ["adamw params", params],
    ["adamw grads", grads],
    ["adamw m", m],
    [
      "adamw v",
      v,
    ],
  ];
  for (const [name, b] of bufs) requireSpan(gpu, name, b, off + n);
  for (let i = 0; i < bufs.length; i++) requireDistinct(bufs[i], bufs.filter((_, j) => j !== i));
  const kernel = await loadKernel(gpu, "adamw", { consts: { WG } });
  const fields = (decay: number, stepSize: number, sqrtBc2: number): Array<["u32" | "f32", number]> => [
    ["u32", n / 4],
    ["u32", off / 4],
    ["f32", h.beta1],
    ["f32", 1 - h.beta1],
    ["f32", h.beta2],
    ["f32", 1 - h.beta2],
    ["f32", h.eps],
    ["f32", decay],
    ["f32", stepSize],
    ["f32", sqrtBc2],
  ];
  const u = uniformStruct(gpu, "adamw params", fields(NaN, NaN, NaN));
  const dispatches = [
    prepare(kernel, [u, params, grads, m, v], foldGrid(Math.ceil(n / 4 / WG), "adamw"), "adamw"),
  ];
  const setStep = (t: number, lr: number) => {
    checkStep(t, lr);
    const s = adamWStepScalars(h, t, lr);
    upload(gpu, u, packParams(fields(s.decay, s.stepSize, s.sqrtBc2)));
  };
  return { dispatches, setStep };
}

export interface AdamWState {
  params: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** Float64 reference of one step (returns the new state; inputs untouched), in PyTorch's operation order. */
export function adamWReference(
  spec: Omit<AdamWSpec, "size" | "offset">,
  state: AdamWState,
  grads: ArrayLike<number>,
  t: number,
  lr: number,
): AdamWState {
  const h = checkHyper({ size: 0, ...spec });
  checkStep(t, lr);
  const n = state.params.length;
  if (state.m.length !== n || state.v.length !== n || grads.length !== n) {
    throw new RangeError(`adamWReference: params, m, v and grads must have equal lengths (params has ${n})`);
  }
  const { decay, stepSize, sqrtBc2 } = adamWStepScalars(h, t, lr);
  const out: AdamWState = { params: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const g = grads[i];
    const m = h.beta1 * state.m[i] + (1 - h.beta1) * g;
    const v = h.beta2 * state.v[i] + (1 - h.beta2) * g * g;
    out.m[i] = m;
    out.v[i] = v;
    out.params[i] = state.params[i] * decay - stepSize * m / (Math.sqrt(v) / sqrtBc2 + h.eps);
  }
  return out;
}
