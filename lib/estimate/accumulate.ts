/**
 * Device-side running sums for per-token susceptibilities (kernels/accumulate.wgsl): at each draw, from the
 * per-token losses ℓ [C, N] some forward pass produced and each chain's sampling-batch loss P (read from the
 * driver's loss ring inside the same command encoder), accumulate S_φ(P−ℓ)[c, n] and S_(P−ℓ)[c, n] with
 * φ = P − L0. The host reads the two [C, N] sums once at the end (perTokenChi in estimators.ts).
 */
import type { Gpu } from "../gpu/device.ts";
import { params, readBuffers, storageBuffer, uniformFrom, upload } from "../gpu/buffers.ts";
import { prepare } from "../gpu/dispatch.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { clear, copy, encodeProgram, submitProgram } from "../gpu/program.ts";
import type { PerTokenSums } from "./estimators.ts";
import type { DrawObservable } from "./sampler.ts";

export interface PerTokenAccumulator {
  readonly chains: number;
  readonly tokens: number;
  /** [2, C, N] f32: S_φ(P−ℓ) then S_(P−ℓ). */
  readonly sums: GPUBuffer;
  /** Draws accumulated so far (counted on the host as encode is called). */
  readonly draws: number;
  /** Sets L0 = L_n(w*) used for φ = P − L0 (queued write: before the first draw's submit). */
  setL0(L0: number): void;
  /**
   * Records one draw's update into `enc`: copies P = lossRing[slot·C … slot·C + C) and accumulates. The per-token
   * losses must already be recorded earlier in `enc`.
   */
  encode(enc: GPUCommandEncoder, lossRing: GPUBuffer, slot: number): void;
  /** Zeroes the sums and the draw count. */
  reset(): void;
  /** Reads the sums (one sync) and packages them with the host-side Σφ per chain. */
  read(sPhi: Float64Array): Promise<PerTokenSums>;
  destroy(): void;
}

const WG = 64;

/**
 * What both device-side accumulators (this one and the BIF's, influence.ts) need of their input: at most 65535
 * chains (one workgroup row z per chain) and a buffer `ell` holding [chains, tokens] f32 losses from `ellOffset`.
 */
export function checkLossRows(C: number, N: number, ell: GPUBuffer, ellOffset: number): void {
  if (!Number.isInteger(C) || C < 1 || C > 65535) {
    throw new RangeError(`chains must be in [1, 65535], got ${C}`);
  }
  if (ell.size < (ellOffset + C * N) * 4) {
    throw new RangeError(
      `per-token loss buffer "${ell.label}" holds ${ell.size} bytes, needs ${(ellOffset + C * N) * 4}`,
    );
  }
}

/**
 * Builds an accumulator over per-token losses stored in `ell` at element offset `ellOffset` as [chains, tokens]
 * (token n of chain c at ellOffset + c·tokens + n).
 */
export async function createPerTokenAccumulator(
  gpu: Gpu,
  opts: { chains: number; tokens: number; ell: GPUBuffer; ellOffset?: number },
): Promise<PerTokenAccumulator> {
  const { chains: C, tokens: N, ell } = opts;
  const ellOffset = opts.ellOffset ?? 0;
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`tokens must be a positive integer, got ${N}`);
  checkLossRows(C, N, ell, ellOffset);
  const kernel = await loadKernel(gpu, "accumulate", { consts: { WG } });
  const groups = Math.ceil(N / WG);
  const rowX = Math.min(groups, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const fields = (l0: number) =>
    params([["u32", C], ["u32", N], ["u32", ellOffset], ["u32", rowX], ["f32", l0]]);
  const u = uniformFrom(gpu, "accumulate.params", fields(0));
  const pBuf = storageBuffer(gpu, "accumulate.P", C * 4);
  const sums = storageBuffer(gpu, "accumulate.sums", 2 * C * N * 4);
  const dispatch = prepare(kernel, [u, ell, pBuf, sums], [rowX, Math.ceil(groups / rowX), C]);
  let draws = 0;
  return {
    chains: C,
    tokens: N,
    sums,
    get draws() {
      return draws;
    },
    setL0(L0: number) {
      if (!Number.isFinite(L0)) throw new RangeError(`L0 must be finite, got ${L0}`);
      upload(gpu, u, fields(L0));
    },
    encode(enc, lossRing, slot) {
      encodeProgram(enc, [copy(lossRing, slot * C * 4, pBuf, 0, C * 4), dispatch], "accumulate");
      draws++;
    },
    reset() {
      submitProgram(gpu, [clear(sums)], "accumulate.reset");
      draws = 0;
    },
    async read(sPhi: Float64Array): Promise<PerTokenSums> {
      if (sPhi.length !== C) throw new RangeError(`sPhi has ${sPhi.length} entries for ${C} chains`);
      const [b] = await readBuffers(gpu, [{ buffer: sums }]);
      const f = new Float32Array(b);
      return {
        chains: C,
        tokens: N,
        draws,
        sPhiD: Float64Array.from(f.subarray(0, C * N)),
        sD: Float64Array.from(f.subarray(C * N, 2 * C * N)),
        sPhi: Float64Array.from(sPhi),
      };
    },
    destroy() {
      u.destroy();
      pBuf.destroy();
      sums.destroy();
    },
  };
}

/** Records a forward pass that writes per-token losses (into an accumulator's `ell`). */
export interface TokenLossEval {
  encode(enc: GPUCommandEncoder): void;
}

/**
 * The DrawObservable of a device-side accumulator: at each draw, `evalTokens` records the per-token losses at the
 * pre-step weights, then `update` adds them to the running sums. Its ring width is 0: nothing per draw reaches
 * the host. `begin` runs once L0 is known, before the first draw.
 */
export function tokenLossObservable(
  evalTokens: TokenLossEval,
  begin: (L0: number) => void,
  update: (enc: GPUCommandEncoder, slot: number, lossRing: GPUBuffer) => void,
): DrawObservable {
  return {
    width: 0,
    begin,
    encode(enc, _step, _draw, _ring, slot, lossRing) {
      evalTokens.encode(enc);
      update(enc, slot, lossRing);
    },
  };
}

/**
 * The per-token DrawObservable: the per-token losses ℓ [C, N] of the probe contexts, then the accumulator's
 * update with each chain's batch loss P from the loss ring. The sampler must run `acc.chains` copies.
 */
export function perTokenObservable(evalTokens: TokenLossEval, acc: PerTokenAccumulator): DrawObservable {
  return tokenLossObservable(
    evalTokens,
    (L0) => {
      acc.reset();
      acc.setL0(L0);
    },
    (enc, slot, lossRing) => acc.encode(enc, lossRing, slot),
  );
}
