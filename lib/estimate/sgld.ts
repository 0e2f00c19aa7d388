/**
 * The localized SGLD step of the reference sampler (devinterp) as one GPU op over many chains; restriction
 * masks (lib/model/restriction.ts) let chains of different weight restrictions (eq. 40: the 16 heads and
 * "full") run in the same dispatch.
 *
 * Update per element of chain c (kernels/sgld.wgsl):
 *   Δw = −(ε/2)·M·G·(nβ·∇L̄_batch(w) + γ(w − w*) + λw) + √ε·M·√G·ξ
 * with M the bit of the chain's restriction mask, G = 1 or the RMSProp preconditioner 1/(√V + 0.1),
 * V ← 0.99V + 0.01g² (V starts at 0), and ξ from Philox with counter (element/4, step, streamBase + c, 0) and key
 * (seed_lo, seed_hi) (lib/util/philox.ts regenerates any ξ on the host).
 */
import type { Gpu } from "../gpu/device.ts";
import { params, storageBuffer, storageFrom, uniformFrom, upload } from "../gpu/buffers.ts";
import { type Dispatch, encodeDispatches, prepare } from "../gpu/dispatch.ts";
import { composeWgsl, kernelFromSource, readWgsl, specialize } from "../gpu/kernel.ts";
import { fullMask, maskWords } from "../model/restriction.ts";
import { seedKey } from "../util/philox.ts";
import { SGLD_DEFAULTS, SgldOptionError, type SgldSettings, validateSgld } from "./sgld_settings.ts";

/**
 * What the update kernel reads of the SGLD settings (lib/estimate/sgld_settings.ts; λ default 0, RMSProp default
 * off) and where its noise comes from.
 */
export type SgldHyper =
  & Pick<SgldSettings, "eps" | "nbeta" | "gamma">
  & Partial<Pick<SgldSettings, "lambda" | "rmsprop">>
  & {
    /** Philox key: a non-negative integer below 2⁵³ (default 0). */
    seed?: number;
    /** Chain c draws from Philox stream streamBase + c (default 0). */
    streamBase?: number;
  };

export interface SgldBuffers {
  /** Chains, elements per copy (stride, a multiple of 4). */
  nCopies: number;
  stride: number;
  /** [C, stride] parameters, updated in place. */
  params: GPUBuffer;
  /** [C, stride] gradients of the mean minibatch loss. */
  grads: GPUBuffer;
  /** [stride] localization centre w*, or [C, stride] with wStarPerChain. */
  wStar: GPUBuffer;
  wStarPerChain?: boolean;
  /** Restriction masks (each maskWords(stride) words); default: one full mask. */
  masks?: readonly Uint32Array[];
  /** Restriction index of each chain (default all 0). */
  restrictionOf?: ArrayLike<number>;
}

/** A built SGLD op: replay `encode` each step after `setStep`. */
export interface SgldOp {
  readonly nCopies: number;
  readonly stride: number;
  /** [C] u32: first step at which a chain produced a non-finite weight, 0xffffffff when healthy. */
  readonly flags: GPUBuffer;
  /** [C, stride] RMSProp second moments, or null without RMSProp. */
  readonly v: GPUBuffer | null;
  readonly dispatches: readonly Dispatch[];
  /** Sets the step whose noise the next submitted `encode` draws (a queue.writeBuffer: call before that submit). */
  setStep(step: number): void;
  /** Records the update into its own compute pass of `enc`. */
  encode(enc: GPUCommandEncoder): void;
  /** Clears the health flags and the RMSProp moments (queued writes). */
  reset(): void;
  /** Frees the op's own buffers (flags, V, masks, uniforms). */
  destroy(): void;
}

/** Healthy value of a flag word. */
export const FLAG_HEALTHY = 0xffffffff;

const WG = 64;

function checkHyper(h: SgldHyper): void {
  validateSgld({ ...SGLD_DEFAULTS, ...h, lambda: h.lambda ?? 0, rmsprop: h.rmsprop ?? false });
  if (h.seed !== undefined && (!Number.isSafeInteger(h.seed) || h.seed < 0)) {
    throw new SgldOptionError("seed", `must be a non-negative integer below 2^53, got ${h.seed}`);
  }
  const sb = h.streamBase ?? 0;
  if (!Number.isInteger(sb) || sb < 0 || sb > 0xffffffff) {
    throw new SgldOptionError("streamBase", `must be a u32, got ${sb}`);
  }
}

/** The buffers' shapes and the restriction masks checked; the masks (default: one full mask) and chain → mask. */
function checkBuffers(bufs: SgldBuffers): { masks: readonly Uint32Array[]; restrictionOf: Uint32Array } {
  const { nCopies: C, stride } = bufs;
  if (!Number.isInteger(C) || C < 1 || C > 65535) {
    throw new SgldOptionError("nCopies", `must be in [1, 65535], got ${C}`);
  }
  if (!Number.isInteger(stride) || stride < 4 || stride % 4 !== 0) {
    throw new SgldOptionError("stride", `must be a positive multiple of 4 elements, got ${stride}`);
  }
  const bytesPerChain = stride * 4;
  const need = (name: string, buf: GPUBuffer, bytes: number) => {
    if (buf.size < bytes) throw new SgldOptionError(name, `buffer holds ${buf.size} bytes, needs ${bytes}`);
  };
  need("params", bufs.params, C * bytesPerChain);
  need("grads", bufs.grads, C * bytesPerChain);
  need("wStar", bufs.wStar, (bufs.wStarPerChain ? C : 1) * bytesPerChain);

  const words = maskWords(stride);
  const masks = bufs.masks ?? [fullMask(stride)];
  if (masks.length === 0) throw new SgldOptionError("masks", "needs at least one restriction mask");
  masks.forEach((m, r) => {
    if (m.length !== words) {
      throw new SgldOptionError(
        "masks",
        `mask ${r} has ${m.length} words, expected maskWords(${stride}) = ${words}`,
      );
    }
  });
  const restrictionOf = Uint32Array.from(bufs.restrictionOf ?? new Array(C).fill(0));
  if (restrictionOf.length !== C) {
    throw new SgldOptionError("restrictionOf", `has ${restrictionOf.length} entries for ${C} chains`);
  }
  restrictionOf.forEach((r, c) => {
    if (r >= masks.length) {
      throw new SgldOptionError(
        "restrictionOf",
        `chain ${c} names restriction ${r}, only ${masks.length} masks given`,
      );
    }
  });
  return { masks, restrictionOf };
}

/** How many chains' [chains, stride] ranges one storage binding takes (all C, or groups of that many). */
function chainsPerBinding(gpu: Gpu, C: number, bytesPerChain: number): number {
  const maxBinding = gpu.device.limits.maxStorageBufferBindingSize;
  const align = gpu.device.limits.minStorageBufferOffsetAlignment;
  if (bytesPerChain > maxBinding) {
    throw new SgldOptionError(
      "stride",
      `one copy (${bytesPerChain} bytes) exceeds maxStorageBufferBindingSize ${maxBinding}`,
    );
  }
  const perGroup = C * bytesPerChain <= maxBinding ? C : Math.floor(maxBinding / bytesPerChain);
  if (perGroup < C && bytesPerChain % align !== 0) {
    throw new SgldOptionError(
      "stride",
      `${C} chains × ${bytesPerChain} bytes exceed one storage binding (${maxBinding} bytes) and a copy's byte size is ` +
        `not a multiple of minStorageBufferOffsetAlignment ${align}: pad the stride to a multiple of ${
          align / 4
        } elements`,
    );
  }
  return perGroup;
}

/**
 * Builds the SGLD op for the chains of `bufs`. Chains are bound in groups whose [chains, stride] range fits the
 * device's maxStorageBufferBindingSize (llvmpipe: 128 MiB); grouping needs stride·4 to be a multiple of
 * minStorageBufferOffsetAlignment (256 bytes: stride a multiple of 64) unless all chains fit in one binding.
 */
export async function createSgld(gpu: Gpu, bufs: SgldBuffers, hyper: SgldHyper): Promise<SgldOp> {
  checkHyper(hyper);
  const { nCopies: C, stride } = bufs;
  const { masks, restrictionOf } = checkBuffers(bufs);
  const bytesPerChain = stride * 4;
  const words = maskWords(stride);

  const perGroup = chainsPerBinding(gpu, C, bytesPerChain);

  const rmsprop = hyper.rmsprop ?? false;
  const perChainW = bufs.wStarPerChain ?? false;
  const source = composeWgsl(
    specialize("sgld", readWgsl("sgld"), { WG, RMSPROP: rmsprop, WSTAR_PER_CHAIN: perChainW }),
    ["philox"],
  );
  const kernel = await kernelFromSource(gpu, "sgld", source, "main");

  const maskData = new Uint32Array(masks.length * words);
  masks.forEach((m, r) => maskData.set(m, r * words));
  const maskBuf = storageFrom(gpu, "sgld.masks", maskData);
  const restrictionBuf = storageFrom(gpu, "sgld.restrictionOf", restrictionOf);
  const flags = storageFrom(gpu, "sgld.flags", new Uint32Array(C).fill(FLAG_HEALTHY));
  const v = rmsprop ? storageBuffer(gpu, "sgld.v", C * bytesPerChain) : null;
  const dummyV = rmsprop ? null : storageBuffer(gpu, "sgld.v(unused)", 16);
  const stepBuf = uniformFrom(gpu, "sgld.step", new Uint32Array(4));
  const [seedLo, seedHi] = seedKey(hyper.seed ?? 0);

  const blocks = stride / 4;
  const groups = Math.ceil(blocks / WG);
  const rowX = Math.min(groups, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const rows = Math.ceil(groups / rowX);
  const owned: GPUBuffer[] = [stepBuf, maskBuf, restrictionBuf, flags];
  const dispatches: Dispatch[] = [];
  for (let c0 = 0; c0 < C; c0 += perGroup) {
    const n = Math.min(perGroup, C - c0);
    const range = (buffer: GPUBuffer): GPUBufferBinding => ({
      buffer,
      offset: c0 * bytesPerChain,
      size: n * bytesPerChain,
    });
    const u = uniformFrom(
      gpu,
      `sgld.params[${c0}]`,
      params([
        ["u32", blocks],
        ["u32", words],
        ["u32", c0],
        ["u32", rowX],
        ["u32", seedLo],
        ["u32", seedHi],
        ["u32", hyper.streamBase ?? 0],
        ["u32", 0],
        ["f32", hyper.eps / 2],
        ["f32", Math.sqrt(hyper.eps)],
        ["f32", hyper.nbeta],
        ["f32", hyper.gamma],
        ["f32", hyper.lambda ?? 0],
      ]),
    );
    owned.push(u);
    dispatches.push(prepare(
      kernel,
      [
        u,
        stepBuf,
        range(bufs.params),
        range(bufs.grads),
        perChainW ? range(bufs.wStar) : { buffer: bufs.wStar, offset: 0, size: bytesPerChain },
        maskBuf,
        restrictionBuf,
        v ? range(v) : dummyV!,
        flags,
      ],
      [rowX, rows, n],
      `sgld[chains ${c0}..${c0 + n - 1}]`,
    ));
  }
  if (dummyV) owned.push(dummyV);
  const stepData = new Uint32Array(4);

  return {
    nCopies: C,
    stride,
    flags,
    v,
    dispatches,
    setStep(step: number): void {
      if (!Number.isInteger(step) || step < 0 || step > 0xfffffffe) {
        throw new RangeError(`SGLD step must be an integer in [0, 2^32 - 2], got ${step}`);
      }
      stepData[0] = step;
      gpu.device.queue.writeBuffer(stepBuf, 0, stepData);
    },
    encode(enc: GPUCommandEncoder): void {
      const pass = enc.beginComputePass({ label: "sgld" });
      encodeDispatches(pass, dispatches);
      pass.end();
    },
    reset(): void {
      upload(gpu, flags, new Uint32Array(C).fill(FLAG_HEALTHY));
      if (v) {
        const enc = gpu.device.createCommandEncoder({ label: "sgld.reset" });
        enc.clearBuffer(v);
        gpu.device.queue.submit([enc.finish()]);
      }
    },
    destroy(): void {
      for (const b of owned) b.destroy();
      v?.destroy();
    },
  };
}
