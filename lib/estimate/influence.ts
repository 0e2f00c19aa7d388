/**
 * Bayesian influence functions (devinterp's 2026 release): BIF(i, j) = −Cov_w[ℓ_i(w), ℓ_j(w)] under the
 * localized posterior, between the loss ℓ_i of probe token i and the loss ℓ_j of training token j. A positive BIF
 * means that where the posterior makes training token j cheaper it makes probe token i dearer: up-weighting j
 * (which pulls the posterior toward low ℓ_j) would raise ℓ_i; a negative BIF, that j's data helps i. The sign is
 * that of the first-order change of E_w[ℓ_i] when token j's weight in the loss grows: ∂E[ℓ_i]/∂(nβ·weight_j) =
 * −Cov[ℓ_i, ℓ_j] (differentiate the Gibbs measure of eq. 27, as for χ in eq. 41).
 *
 * Accumulated on the device per draw (kernels/bif_accumulate.wgsl) like the per-token χ sums: per chain c,
 * Σ_t x_i·x_j over probe × training pairs and Σ_t x_n over both sets, with x = ℓ − ℓ(w*) (centring on w* keeps the
 * f32 sums to fluctuations). Per chain, Cov_c = (S2 − S1_i·S1_j/r)/(r − 1); the estimate is the mean over chains
 * and its standard error the spread over chains, as for χ̂.
 */
import type { Gpu } from "../gpu/device.ts";
import { params, readBuffers, storageBuffer, storageFrom, uniformFrom, upload } from "../gpu/buffers.ts";
import { prepare } from "../gpu/dispatch.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { clear, encodeProgram, submitProgram } from "../gpu/program.ts";
import type { DrawObservable } from "./sampler.ts";
import { checkLossRows, type TokenLossEval, tokenLossObservable } from "./accumulate.ts";

/** A contiguous range of token indices inside each chain's row of per-token losses. */
export interface TokenRange {
  start: number;
  count: number;
}

/** Running sums of one run (float64 copies of the device's f32 sums). */
export interface BifSums {
  chains: number;
  draws: number;
  probe: number;
  train: number;
  /** [C, probe, train]: Σ_t x_i·x_j. */
  s2: Float64Array;
  /** [C, probe + train]: Σ_t x_n, probe tokens first. */
  s1: Float64Array;
}

export interface BifAccumulator {
  readonly chains: number;
  readonly probe: TokenRange;
  readonly train: TokenRange;
  readonly draws: number;
  /** The per-token losses at w* ([tokens], the full row): x = ℓ − centre. Queued write, before the first draw. */
  setCentre(centre: ArrayLike<number>): void;
  /** Records one draw (the per-token losses must already be recorded earlier in `enc`). */
  encode(enc: GPUCommandEncoder): void;
  reset(): void;
  read(): Promise<BifSums>;
  destroy(): void;
}

const WG = 64;

/**
 * An accumulator over per-token losses in `ell` at element offset `ellOffset` as [chains, tokens]; probe and
 * training tokens are two ranges of that row.
 */
export async function createBifAccumulator(
  gpu: Gpu,
  o: {
    chains: number;
    tokens: number;
    ell: GPUBuffer;
    ellOffset?: number;
    probe: TokenRange;
    train: TokenRange;
  },
): Promise<BifAccumulator> {
  const { chains: C, tokens: N, ell, probe, train } = o;
  const ellOffset = o.ellOffset ?? 0;
  checkLossRows(C, N, ell, ellOffset);
  for (const [name, r] of [["probe", probe], ["train", train]] as const) {
    if (
      !Number.isInteger(r.start) || !Number.isInteger(r.count) || r.start < 0 || r.count < 1 ||
      r.start + r.count > N
    ) {
      throw new RangeError(`${name} tokens [${r.start}, ${r.start + r.count}) are not inside a row of ${N}`);
    }
  }
  const pairs = probe.count * train.count;
  const kernel = await loadKernel(gpu, "bif_accumulate", { consts: { WG } });
  const groups = Math.ceil(pairs / WG);
  const rowX = Math.min(groups, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const u = uniformFrom(
    gpu,
    "bif.params",
    params([
      ["u32", C],
      ["u32", N],
      ["u32", ellOffset],
      ["u32", rowX],
      ["u32", probe.start],
      ["u32", probe.count],
      ["u32", train.start],
      ["u32", train.count],
    ]),
  );
  const centre = storageFrom(gpu, "bif.centre", new Float32Array(N));
  const s1Len = C * (probe.count + train.count);
  const sums = storageBuffer(gpu, "bif.sums", (C * pairs + s1Len) * 4);
  const dispatch = prepare(kernel, [u, ell, centre, sums], [rowX, Math.ceil(groups / rowX), C], "bif");
  let draws = 0;
  return {
    chains: C,
    probe,
    train,
    get draws() {
      return draws;
    },
    setCentre(c) {
      if (c.length !== N) throw new RangeError(`centre has ${c.length} values for rows of ${N}`);
      upload(gpu, centre, Float32Array.from(c));
    },
    encode(enc) {
      encodeProgram(enc, [dispatch], "bif");
      draws++;
    },
    reset() {
      submitProgram(gpu, [clear(sums)], "bif.reset");
      draws = 0;
    },
    async read() {
      const [b] = await readBuffers(gpu, [{ buffer: sums }]);
      const f = new Float32Array(b);
      return {
        chains: C,
        draws,
        probe: probe.count,
        train: train.count,
        s2: Float64Array.from(f.subarray(0, C * pairs)),
        s1: Float64Array.from(f.subarray(C * pairs, C * pairs + s1Len)),
      };
    },
    destroy() {
      u.destroy();
      centre.destroy();
      sums.destroy();
    },
  };
}

/**
 * The BIF DrawObservable (tokenLossObservable): the per-token losses, then the accumulator's update. Call
 * acc.setCentre before the run.
 */
export function bifObservable(evalTokens: TokenLossEval, acc: BifAccumulator): DrawObservable {
  return tokenLossObservable(evalTokens, () => acc.reset(), (enc) => acc.encode(enc));
}

export interface BifEstimate {
  probe: number;
  train: number;
  /** [probe, train]: −Cov averaged over the chains given. */
  bif: Float64Array;
  /** [probe, train]: standard error over those chains (NaN with one chain). */
  se: Float64Array;
  chains: number;
}

/** BIF of the chains `chains` from running sums (see the module comment). */
export function bifEstimate(s: BifSums, chains: readonly number[]): BifEstimate {
  const { probe: P, train: T, draws: r } = s;
  if (r < 2) throw new RangeError(`bifEstimate: needs at least 2 draws, got ${r}`);
  if (chains.length === 0) throw new RangeError("bifEstimate: no chains");
  for (const c of chains) {
    if (!Number.isInteger(c) || c < 0 || c >= s.chains) {
      throw new RangeError(`bifEstimate: chain ${c} not in [0, ${s.chains})`);
    }
  }
  const K = chains.length, pairs = P * T;
  const sum = new Float64Array(pairs), sq = new Float64Array(pairs);
  for (const c of chains) {
    const o1 = c * (P + T);
    for (let i = 0; i < P; i++) {
      const si = s.s1[o1 + i];
      for (let j = 0; j < T; j++) {
        const q = i * T + j;
        const b = -(s.s2[c * pairs + q] - si * s.s1[o1 + P + j] / r) / (r - 1);
        sum[q] += b;
        sq[q] += b * b;
      }
    }
  }
  const bif = new Float64Array(pairs), se = new Float64Array(pairs);
  for (let q = 0; q < pairs; q++) {
    const m = sum[q] / K;
    bif[q] = m;
    se[q] = K > 1 ? Math.sqrt(Math.max(0, (sq[q] - K * m * m) / (K - 1)) / K) : NaN;
  }
  return { probe: P, train: T, bif, se, chains: K };
}

/** Host float64 reference of the device sums from per-draw losses ℓ [draws, C, tokens]. For tests. */
export function bifSumsReference(
  ell: ArrayLike<number>,
  o: {
    chains: number;
    draws: number;
    tokens: number;
    centre: ArrayLike<number>;
    probe: TokenRange;
    train: TokenRange;
  },
): BifSums {
  const { chains: C, draws: D, tokens: N, centre, probe, train } = o;
  if (ell.length !== D * C * N) {
    throw new RangeError(`bifSumsReference: ${ell.length} losses for ${D}×${C}×${N}`);
  }
  const P = probe.count, T = train.count;
  const s2 = new Float64Array(C * P * T), s1 = new Float64Array(C * (P + T));
  for (let t = 0; t < D; t++) {
    for (let c = 0; c < C; c++) {
      const row = (t * C + c) * N;
      const x = (n: number) => ell[row + n] - centre[n];
      for (let i = 0; i < P; i++) {
        const xi = x(probe.start + i);
        s1[c * (P + T) + i] += xi;
        for (let j = 0; j < T; j++) s2[(c * P + i) * T + j] += xi * x(train.start + j);
      }
      for (let j = 0; j < T; j++) s1[c * (P + T) + P + j] += x(train.start + j);
    }
  }
  return { chains: C, draws: D, probe: P, train: T, s2, s1 };
}
