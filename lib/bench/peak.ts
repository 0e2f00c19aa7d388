/**
 * The adapter's achieved FP32 multiply-add peak, measured with kernels/fma_peak.wgsl: the ceiling against
 * which every other throughput figure is read ("x % of peak"). A datasheet figure would flatter: this is what
 * WebGPU code can reach on this adapter through this runtime (no tensor cores, Naga's loop counters, llvmpipe's
 * code generation included).
 *
 * The probe computes a closed-form affine chain (fmaChainReference), so its result is testable and its FLOP
 * count honest: 2 FLOPs per multiply-add, ACC·4 chains per invocation, UNROLL multiply-adds per loop trip.
 */
import type { Gpu } from "../gpu/device.ts";
import { params, readF32, storageBuffer, sync, uniformFrom } from "../gpu/buffers.ts";
import { type Dispatch, prepare, submitDispatches } from "../gpu/dispatch.ts";
import { loadKernel, validated } from "../gpu/kernel.ts";

/** Chains per invocation (ACC vec4s of 4 lanes) and multiply-adds per loop trip, as in the kernel. */
export const FMA_CHAINS = 8 * 4;
export const FMA_UNROLL = 4;

export interface FmaChainSpec {
  /** Invocations (each runs FMA_CHAINS chains). */
  invocations: number;
  /** Loop trips: every chain does iters·FMA_UNROLL multiply-adds. */
  iters: number;
  a: number;
  b: number;
  /** x₀ of chain (inv, lane) = seed + inv·stepInv + lane·stepLane. */
  seed: number;
  stepInv: number;
  stepLane: number;
  /** The fma() builtin (default) or a plain x·a + b. */
  useFma?: boolean;
  /** Invocations per workgroup (default 64 on CPU adapters, 256 on GPUs). */
  workgroup?: number;
}

/** x after n steps of x ← x·a + b from x₀, in float64 (closed form, stable for a ≠ 1). */
export function fmaChainReference(x0: number, a: number, b: number, n: number): number {
  if (a === 1) return x0 + n * b;
  const an = a ** n;
  return an * x0 + b * (an - 1) / (a - 1);
}

/** A prepared probe: `run(reps)` replays its dispatch reps times behind one sync; `read()` returns the chains. */
export interface FmaProbe {
  /** FLOPs of one dispatch: 2 · invocations · chains · iters · unroll. */
  flops: number;
  run(reps: number): Promise<number>;
  /** [invocations · FMA_CHAINS] final values, invocation-major, lane-minor. */
  read(): Promise<Float32Array>;
  dispose(): void;
}

const PER_SUBMIT = 16;

/** Compiles and binds the probe for `spec`. */
export async function prepareFmaProbe(gpu: Gpu, spec: FmaChainSpec): Promise<FmaProbe> {
  const wg = spec.workgroup ?? (gpu.kind === "cpu" ? 64 : 256);
  const groups = Math.ceil(spec.invocations / wg);
  if (groups > gpu.device.limits.maxComputeWorkgroupsPerDimension) {
    throw new RangeError(`fma probe: ${groups} workgroups exceed the per-dimension limit`);
  }
  const kernel = await loadKernel(gpu, "fma_peak", {
    consts: { WG: wg, USE_FMA: spec.useFma ?? true },
  });
  const bytes = spec.invocations * FMA_CHAINS * 4;
  const out = storageBuffer(gpu, "fma probe out", bytes);
  const uni = uniformFrom(
    gpu,
    "fma probe params",
    params([
      ["u32", spec.invocations],
      ["u32", spec.iters],
      ["f32", spec.a],
      ["f32", spec.b],
      ["f32", spec.seed],
      ["f32", spec.stepInv],
      ["f32", spec.stepLane],
      ["f32", 0],
    ]),
  );
  const op: Dispatch[] = [prepare(kernel, [uni, out], [groups])];
  const run = async (reps: number) => {
    const t0 = performance.now();
    for (let r = 0; r < reps; r += PER_SUBMIT) {
      submitDispatches(gpu, Array(Math.min(PER_SUBMIT, reps - r)).fill(op).flat(), "fma probe");
    }
    await sync(gpu);
    return (performance.now() - t0) / 1000;
  };
  await validated(gpu, "fma probe", () => submitDispatches(gpu, op, "fma probe warm-up"));
  await sync(gpu);
  return {
    flops: 2 * spec.invocations * FMA_CHAINS * spec.iters * FMA_UNROLL,
    run,
    read: () => readF32(gpu, out),
    dispose: () => {
      out.destroy();
      uni.destroy();
    },
  };
}

export interface PeakMeasurement {
  /** Best FP32 GFLOP/s over the variants tried. */
  gflops: number;
  /** The variant that reached it. */
  useFma: boolean;
  invocations: number;
  iters: number;
  secondsPerDispatch: number;
  /** GFLOP/s of every variant tried. */
  variants: Array<{ useFma: boolean; gflops: number }>;
}

/**
 * Measures the adapter's FP32 multiply-add peak: for the fma() builtin and for x·a + b, the dispatch is
 * grown until it takes ≥ 20 ms (so dispatch overhead is negligible), then replayed for about `seconds`; the
 * best of `trials` runs is kept (the least disturbed by other work on a shared machine).
 */
export async function measureFmaPeak(
  gpu: Gpu,
  opts: { seconds?: number; trials?: number } = {},
): Promise<PeakMeasurement> {
  const seconds = opts.seconds ?? 1;
  const trials = opts.trials ?? 2;
  // Enough invocations to fill the adapter: every llvmpipe thread needs a few workgroups, a big GPU ~10⁵+.
  const invocations = gpu.kind === "cpu" ? 64 * 8 * Math.max(1, navigator.hardwareConcurrency) : 1 << 20;
  const variants: Array<{ useFma: boolean; gflops: number }> = [];
  let best: PeakMeasurement | undefined;
  for (const useFma of [true, false]) {
    let iters = 64;
    let probe: FmaProbe | undefined;
    let once = 0;
    // a just below 1 keeps every chain bounded (it contracts to b/(1 − a)): no overflow at any length.
    const spec = {
      invocations,
      a: 0.99951171875,
      b: 0.0009765625,
      seed: 1,
      stepInv: 1e-3,
      stepLane: 1e-2,
      useFma,
    };
    for (;;) {
      probe = await prepareFmaProbe(gpu, { ...spec, iters });
      once = await probe.run(1);
      if (once >= 0.02 || iters >= 1 << 22) break;
      probe.dispose();
      iters *= Math.min(16, Math.max(2, Math.ceil(0.025 / Math.max(once, 1e-5))));
    }
    const reps = Math.max(2, Math.min(1000, Math.round(seconds / once)));
    let bestSeconds = Infinity;
    for (let t = 0; t < trials; t++) bestSeconds = Math.min(bestSeconds, (await probe.run(reps)) / reps);
    const gflops = probe.flops / bestSeconds / 1e9;
    probe.dispose();
    variants.push({ useFma, gflops });
    if (!best || gflops > best.gflops) {
      best = { gflops, useFma, invocations, iters, secondsPerDispatch: bestSeconds, variants };
    }
  }
  return best!;
}
