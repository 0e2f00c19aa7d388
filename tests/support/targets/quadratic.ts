/**
 * Known-answer SGLD target: quadratic losses q_f(w) = ½wᵀA_f w − b_fᵀw + c_f over d parameters
 * (quadratic.wgsl beside this file). A linear regression's minibatch MSE is exactly such a form
 * (linearRegressionForms), so its localized posterior is Gaussian and every estimator has a closed form
 * (gaussian.ts).
 *
 * The sampling loss of step s is form batchOf(s) (the step's "minibatch"); extra form sets evaluated at draws
 * (L^δh, per-token losses) come from createFormsEval on the same parameter copies.
 */
import type { Gpu } from "../../../lib/gpu/device.ts";
import { storageBuffer, storageFrom, uniformFrom } from "../../../lib/gpu/buffers.ts";
import { type Dispatch, encodeDispatches, prepare } from "../../../lib/gpu/dispatch.ts";
import { uniformStruct } from "../../../lib/gpu/uniform.ts";
import type { DrawObservable, SamplingTarget } from "../../../lib/estimate/sampler.ts";
import { loadTargetKernel } from "./kernel.ts";

/** F quadratic forms over d parameters: A [F, d, d] (symmetric), b [F, d], c [F]. */
export interface QuadraticForms {
  d: number;
  count: number;
  A: Float64Array;
  b: Float64Array;
  c: Float64Array;
}

/** Checks the shapes and the symmetry of A; returns the forms. */
export function checkForms(name: string, q: QuadraticForms): QuadraticForms {
  const { d, count: F } = q;
  if (!Number.isInteger(d) || d < 1 || !Number.isInteger(F) || F < 1) {
    throw new RangeError(`${name}: d and count must be positive integers, got d=${d}, count=${F}`);
  }
  if (q.A.length !== F * d * d || q.b.length !== F * d || q.c.length !== F) {
    throw new RangeError(
      `${name}: A, b, c need ${F * d * d}, ${
        F * d
      }, ${F} values, got ${q.A.length}, ${q.b.length}, ${q.c.length}`,
    );
  }
  for (let f = 0; f < F; f++) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) {
        const a = q.A[(f * d + i) * d + j], b = q.A[(f * d + j) * d + i];
        if (Math.abs(a - b) > 1e-12 * (Math.abs(a) + Math.abs(b) + 1)) {
          throw new RangeError(`${name}: A of form ${f} is not symmetric at (${i}, ${j}): ${a} vs ${b}`);
        }
      }
    }
  }
  return q;
}

/** The MSE (1/m)Σ(x_i·w − y_i)² of each batch of rows as a form: A = 2XᵀX/m, b = 2Xᵀy/m, c = yᵀy/m. */
export function linearRegressionForms(
  X: ArrayLike<number>,
  y: ArrayLike<number>,
  d: number,
  batches: readonly (readonly number[])[],
): QuadraticForms {
  const n = y.length;
  if (X.length !== n * d) {
    throw new RangeError(`linearRegressionForms: X has ${X.length} values, expected ${n}×${d}`);
  }
  const F = batches.length;
  const A = new Float64Array(F * d * d), b = new Float64Array(F * d), c = new Float64Array(F);
  batches.forEach((rows, f) => {
    if (rows.length === 0) throw new RangeError(`linearRegressionForms: batch ${f} is empty`);
    const m = rows.length;
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= n) {
        throw new RangeError(`linearRegressionForms: row ${r} not in [0, ${n})`);
      }
      for (let i = 0; i < d; i++) {
        const xi = X[r * d + i];
        b[f * d + i] += 2 * xi * y[r] / m;
        for (let j = 0; j < d; j++) A[(f * d + i) * d + j] += 2 * xi * X[r * d + j] / m;
      }
      c[f] += y[r] * y[r] / m;
    }
  });
  return { d, count: F, A, b, c };
}

/** Float64 reference: q_f(w). */
export function formValue(q: QuadraticForms, f: number, w: ArrayLike<number>): number {
  const d = q.d;
  let s = q.c[f];
  for (let i = 0; i < d; i++) {
    let ai = 0;
    for (let j = 0; j < d; j++) ai += q.A[(f * d + i) * d + j] * w[j];
    s += 0.5 * w[i] * ai - q.b[f * d + i] * w[i];
  }
  return s;
}

/** Float64 reference: ∇q_f(w) = A_f w − b_f. */
export function formGrad(q: QuadraticForms, f: number, w: ArrayLike<number>): Float64Array {
  const d = q.d, g = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = -q.b[f * d + i];
    for (let j = 0; j < d; j++) s += q.A[(f * d + i) * d + j] * w[j];
    g[i] = s;
  }
  return g;
}

const WG = 64;

interface FormBuffers {
  A: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
}

function uploadForms(gpu: Gpu, label: string, q: QuadraticForms): FormBuffers {
  return {
    A: storageFrom(gpu, `${label}.A`, Float32Array.from(q.A)),
    b: storageFrom(gpu, `${label}.b`, Float32Array.from(q.b)),
    c: storageFrom(gpu, `${label}.c`, Float32Array.from(q.c)),
  };
}

export interface QuadraticTargetSpec {
  forms: QuadraticForms;
  nCopies: number;
  /** Elements per copy (≥ d, a multiple of 4; default d rounded up to 4). Elements past d have zero gradient. */
  stride?: number;
  /** The form (minibatch) of SGLD step s (default s mod forms.count). */
  batchOf?: (step: number) => number;
}

export interface QuadraticTarget extends SamplingTarget {
  readonly forms: QuadraticForms;
  readonly d: number;
  /** [C] f32: the last loss_grad's losses. */
  readonly loss: GPUBuffer;
  /** The form selected by the last setBatch. */
  readonly currentForm: number;
  destroy(): void;
}

/** Builds the target: C copies of d parameters (params/grads [C, stride]), the loss of step s = q_batchOf(s). */
export async function createQuadraticTarget(gpu: Gpu, spec: QuadraticTargetSpec): Promise<QuadraticTarget> {
  const forms = checkForms("quadratic target forms", spec.forms);
  const C = spec.nCopies;
  if (!Number.isInteger(C) || C < 1 || C > 65535) {
    throw new RangeError(`nCopies must be in [1, 65535], got ${C}`);
  }
  const stride = spec.stride ?? Math.ceil(forms.d / 4) * 4;
  if (!Number.isInteger(stride) || stride < forms.d || stride % 4 !== 0) {
    throw new RangeError(`stride must be a multiple of 4 and ≥ d = ${forms.d}, got ${stride}`);
  }
  const batchOf = spec.batchOf ?? ((s: number) => s % forms.count);
  const kernel = await loadTargetKernel(gpu, "quadratic", { entry: "loss_grad", consts: { WG } });
  const fb = uploadForms(gpu, "quadratic", forms);
  const params = storageBuffer(gpu, "quadratic.params", C * stride * 4);
  const grads = storageBuffer(gpu, "quadratic.grads", C * stride * 4);
  const loss = storageBuffer(gpu, "quadratic.loss", C * 4);
  const prm = uniformStruct(gpu, "quadratic.prm", [
    ["u32", forms.d],
    ["u32", stride],
    ["u32", forms.count],
    ["u32", 0],
    ["u32", C],
  ]);
  const sel = uniformFrom(gpu, "quadratic.sel", new Uint32Array(4));
  const selData = new Uint32Array(4);
  const dispatch = prepare(
    kernel,
    [prm, fb.A, fb.b, fb.c, params, grads, loss, sel],
    [Math.ceil(C / WG)],
    "quadratic.loss_grad",
  );
  let current = -1;
  return {
    gpu,
    nCopies: C,
    stride,
    params,
    grads,
    forms,
    d: forms.d,
    loss,
    get currentForm() {
      return current;
    },
    setBatch(step: number) {
      const f = batchOf(step);
      if (!Number.isInteger(f) || f < 0 || f >= forms.count) {
        throw new RangeError(`batchOf(${step}) = ${f} is not a form index in [0, ${forms.count})`);
      }
      current = f;
      selData[0] = f;
      gpu.device.queue.writeBuffer(sel, 0, selData);
    },
    encodeLossAndGrad(enc, lossRing, slot) {
      const pass = enc.beginComputePass({ label: "quadratic.loss_grad" });
      encodeDispatches(pass, [dispatch]);
      pass.end();
      enc.copyBufferToBuffer(loss, 0, lossRing, slot * C * 4, C * 4);
    },
    destroy() {
      for (const b of [fb.A, fb.b, fb.c, params, grads, loss, prm, sel]) b.destroy();
    },
  };
}

/** Evaluates F forms at every copy of a target into out[outOffset + c·F + f] (one dispatch, no gradient). */
export interface FormsEval {
  readonly forms: QuadraticForms;
  /** The output buffer: [C, F] from element outOffset. */
  readonly out: GPUBuffer;
  readonly outOffset: number;
  readonly dispatch: Dispatch;
  encode(enc: GPUCommandEncoder): void;
  destroy(): void;
}

/** Builds a FormsEval over `target`'s params; writes into `out` (default: a new [C, F] buffer). */
export async function createFormsEval(
  gpu: Gpu,
  target: QuadraticTarget,
  formsIn: QuadraticForms,
  out?: { buffer: GPUBuffer; offset?: number },
): Promise<FormsEval> {
  const forms = checkForms("forms eval", formsIn);
  if (forms.d !== target.d) throw new RangeError(`forms have d = ${forms.d}, the target d = ${target.d}`);
  const C = target.nCopies;
  const offset = out?.offset ?? 0;
  const outBuf = out?.buffer ?? storageBuffer(gpu, "forms.out", C * forms.count * 4);
  if (outBuf.size < (offset + C * forms.count) * 4) {
    throw new RangeError(
      `forms eval output "${outBuf.label}" holds ${outBuf.size} bytes, needs ${
        (offset + C * forms.count) * 4
      }`,
    );
  }
  const kernel = await loadTargetKernel(gpu, "quadratic", {
    entry: "forms",
    consts: { WG },
  });
  const fb = uploadForms(gpu, "forms", forms);
  const prm = uniformStruct(gpu, "forms.prm", [
    ["u32", forms.d],
    ["u32", target.stride],
    ["u32", forms.count],
    ["u32", offset],
    ["u32", C],
  ]);
  const dispatch = prepare(
    kernel,
    [prm, fb.A, fb.b, fb.c, target.params, outBuf],
    [Math.ceil(forms.count / WG), C],
    "quadratic.forms",
  );
  const owned = [fb.A, fb.b, fb.c, prm, ...(out ? [] : [outBuf])];
  return {
    forms,
    out: outBuf,
    outOffset: offset,
    dispatch,
    encode(enc) {
      const pass = enc.beginComputePass({ label: "quadratic.forms" });
      encodeDispatches(pass, [dispatch]);
      pass.end();
    },
    destroy() {
      for (const b of owned) b.destroy();
    },
  };
}

/**
 * A DrawObservable recording F forms at every copy per draw: ring row = [C, F] (width C·F), e.g. F = 1 for
 * L^δh of each chain. With evaluate = false it only copies what an earlier observable of the same draw already
 * evaluated into ev.out (to record per-token losses that a per-token observable computed).
 */
export function formsObservable(ev: FormsEval, nCopies: number, evaluate = true): DrawObservable {
  const width = nCopies * ev.forms.count;
  return {
    width,
    encode(enc, _step, _draw, ring, slot) {
      if (evaluate) ev.encode(enc);
      enc.copyBufferToBuffer(ev.out, ev.outOffset * 4, ring, slot * width * 4, width * 4);
    },
  };
}
