/**
 * Device-side running sums for per-token susceptibilities (kernels/accumulate.wgsl): at each draw, from the
 * per-token losses ℓ [C, N] some forward pass produced and each chain's sampling-batch loss P (read from the
 * driver's loss ring inside the same command encoder), accumulate S_φ(P−ℓ)[c, n] and S_(P−ℓ)[c, n] with
 * φ = P − L0. The host reads the two [C, N] sums once at the end (perTokenChi in estimators.ts).
 */
import type { Gpu } from "../gpu/device.ts";
import { params, readBuffers, storageBuffer, uniformFrom, upload } from "../gpu/buffers.ts";
import { encodeDispatches, prepare } from "../gpu/dispatch.ts";
import { loadKernel } from "../gpu/kernel.ts";
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
 * Builds an accumulator over per-token losses stored in `ell` at element offset `ellOffset` as [chains, tokens]
 * (token n of chain c at ellOffset + c·tokens + n).
 */
export async function createPerTokenAccumulator(
  gpu: Gpu,
  opts: { chains: number; tokens: number; ell: GPUBuffer; ellOffset?: number },
): Promise<PerTokenAccumulator> {
  const { chains: C, tokens: N, ell } = opts;
  const ellOffset = opts.ellOffset ?? 0;
  if (!Number.isInteger(C) || C < 1 || C > 65535) {
    throw new RangeError(`chains must be in [1, 65535], got ${C}`);
  }
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`tokens must be a positive integer, got ${N}`);
  if (ell.size < (ellOffset + C * N) * 4) {
    throw new RangeError(
      `per-token loss buffer "${ell.label}" holds ${ell.size} bytes, needs ${(ellOffset + C * N) * 4}`,
    );
  }
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
      enc.copyBufferToBuffer(lossRing, slot * C * 4, pBuf, 0, C * 4);
      const pass = enc.beginComputePass({ label: "accumulate" });
      encodeDispatches(pass, [dispatch]);
      pass.end();
      draws++;
    },
    reset() {
      const enc = gpu.device.createCommandEncoder({ label: "accumulate.reset" });
      enc.clearBuffer(sums);
      gpu.device.queue.submit([enc.finish()]);
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

/**
 * The per-token DrawObservable: at each draw, `evalTokens` records the per-token losses ℓ [C, N] of the probe
 * contexts at the pre-step weights into the accumulator's `ell` buffer, then the accumulator adds the draw to its
 * running sums. Its ring width is 0: nothing per draw reaches the host. The sampler must run `acc.chains` copies.
 */
export function perTokenObservable(
  evalTokens: { encode(enc: GPUCommandEncoder): void },
  acc: PerTokenAccumulator,
): DrawObservable {
  return {
    width: 0,
    begin(L0: number) {
      acc.reset();
      acc.setL0(L0);
    },
    encode(enc, _step, _draw, _ring, slot, lossRing) {
      evalTokens.encode(enc);
      acc.encode(enc, lossRing, slot);
    },
  };
}
