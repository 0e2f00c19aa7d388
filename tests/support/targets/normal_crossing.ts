/**
 * Known-answer SGLD target: the normal-crossing singular model f(x) = x·Π wᵢ^{pᵢ} with MSE on a fixed dataset
 * (normal_crossing.wgsl beside this file), devinterp's accuracy test: x ~ N(0, 2²), y = 0.25·N(0, 1), n = 1000,
 * full batch, w* = 0. Its learning coefficient is λ = 1/(2·max pᵢ) (p = [1,1] → 0.5, [2,2] → 0.25).
 */
import type { Gpu } from "../../../lib/gpu/device.ts";
import { params, storageBuffer, uniformFrom } from "../../../lib/gpu/buffers.ts";
import { encodeDispatches, prepare } from "../../../lib/gpu/dispatch.ts";
import { PhiloxStream } from "../../../lib/util/philox.ts";
import type { SamplingTarget } from "../../../lib/estimate/sampler.ts";
import { loadTargetKernel } from "./kernel.ts";

/** Sufficient statistics of a 1-D regression dataset: means of x², x·y, y². */
export interface CrossingData {
  n: number;
  sxx: number;
  sxy: number;
  syy: number;
}

/** devinterp's dataset, drawn from chi's Philox stream: x ~ N(0, 2²), y = 0.25·N(0, 1), independent. */
export function crossingData(n = 1000, seed = 42): CrossingData {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`crossingData: n must be a positive integer, got ${n}`);
  }
  const rng = new PhiloxStream(seed, 7);
  let sxx = 0, sxy = 0, syy = 0;
  for (let j = 0; j < n; j++) {
    const x = 2 * rng.normal(), y = 0.25 * rng.normal();
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
  }
  return { n, sxx: sxx / n, sxy: sxy / n, syy: syy / n };
}

/** Float64 reference of the loss at weights w (powers p). */
export function crossingLoss(data: CrossingData, powers: readonly number[], w: ArrayLike<number>): number {
  let m = 1;
  powers.forEach((p, i) => m *= w[i] ** p);
  return m * m * data.sxx - 2 * m * data.sxy + data.syy;
}

/** The learning coefficient of the model at w = 0: 1/(2·max pᵢ). */
export function crossingLambda(powers: readonly number[]): number {
  return 1 / (2 * Math.max(...powers));
}

export interface CrossingTarget extends SamplingTarget {
  readonly powers: readonly number[];
  readonly data: CrossingData;
  /** Elements 0 … k−1 of each copy are the weights; the rest is padding (mask it out). */
  readonly k: number;
  destroy(): void;
}

const WG = 64;

/** Builds the target for `nCopies` copies of k = powers.length weights (stride 4 or 8). */
export async function createCrossingTarget(
  gpu: Gpu,
  spec: { powers: readonly number[]; nCopies: number; data?: CrossingData },
): Promise<CrossingTarget> {
  const { powers, nCopies: C } = spec;
  const k = powers.length;
  if (k < 1 || k > 8) throw new RangeError(`powers: 1 to 8 exponents, got ${k}`);
  powers.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p > 16) {
      throw new RangeError(`powers[${i}]: an integer in [0, 16], got ${p}`);
    }
  });
  if (!Number.isInteger(C) || C < 1) throw new RangeError(`nCopies must be a positive integer, got ${C}`);
  const data = spec.data ?? crossingData();
  const stride = k <= 4 ? 4 : 8;
  const pw = [...powers, ...new Array(8 - k).fill(0)];
  const kernel = await loadTargetKernel(gpu, "normal_crossing", { consts: { WG } });
  const prm = uniformFrom(
    gpu,
    "crossing.prm",
    params([
      ["u32", C],
      ["u32", stride],
      ["u32", k],
      ["u32", 0],
      ...pw.map((p) => ["u32", p] as ["u32", number]),
      ["f32", data.sxx],
      ["f32", data.sxy],
      ["f32", data.syy],
    ]),
  );
  const paramsBuf = storageBuffer(gpu, "crossing.params", C * stride * 4);
  const grads = storageBuffer(gpu, "crossing.grads", C * stride * 4);
  const loss = storageBuffer(gpu, "crossing.loss", C * 4);
  const dispatch = prepare(kernel, [prm, paramsBuf, grads, loss], [Math.ceil(C / WG)], "crossing.loss_grad");
  return {
    gpu,
    nCopies: C,
    stride,
    params: paramsBuf,
    grads,
    powers,
    data,
    k,
    setBatch() {
      // Full batch: every step sees the whole dataset.
    },
    encodeLossAndGrad(enc, lossRing, slot) {
      const pass = enc.beginComputePass({ label: "crossing.loss_grad" });
      encodeDispatches(pass, [dispatch]);
      pass.end();
      enc.copyBufferToBuffer(loss, 0, lossRing, slot * C * 4, C * 4);
    },
    destroy() {
      for (const b of [prm, paramsBuf, grads, loss]) b.destroy();
    },
  };
}
