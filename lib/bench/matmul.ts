/**
 * Matmul throughput: GFLOP/s of one prepared createMatmul dispatch, replayed many times behind one sync (a sync
 * costs ~10 ms on Deno, so single-dispatch timings would measure the sync). Used by bench/matmul_bench.ts and
 * scripts/bench_matmul.ts.
 */
import type { Gpu } from "../gpu/device.ts";
import { storageBuffer, sync, upload } from "../gpu/buffers.ts";
import { type Dispatch, submitDispatches } from "../gpu/dispatch.ts";
import { validated } from "../gpu/kernel.ts";
import { createMatmul } from "../model/matmul.ts";
import type { CpuTile, MatmulVariant } from "../model/matmul_spec.ts";

export interface MatmulBenchSpec {
  M: number;
  N: number;
  K: number;
  variant?: MatmulVariant;
  transA?: boolean;
  transB?: boolean;
  /** Forced register tile of the "cpu" family (default: chosen from the shape). */
  cpuTile?: Partial<CpuTile>;
  /** Timed dispatches; default: enough for about `seconds` (after the warm-up). */
  reps?: number;
  /** Target duration when reps is not given (default 1 s). */
  seconds?: number;
}

/** Dispatches per submit: one command buffer per batch keeps encoding cost out of the way. */
const PER_SUBMIT = 16;

function filled(gpu: Gpu, label: string, n: number): GPUBuffer {
  const buf = storageBuffer(gpu, label, n * 4);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.7131 + label.length) * 0.5;
  upload(gpu, buf, x);
  return buf;
}

async function timeReps(gpu: Gpu, op: Dispatch[], reps: number): Promise<number> {
  const t0 = performance.now();
  for (let r = 0; r < reps; r += PER_SUBMIT) {
    submitDispatches(gpu, Array(Math.min(PER_SUBMIT, reps - r)).fill(op).flat(), "bench matmul");
  }
  await sync(gpu);
  return (performance.now() - t0) / 1000;
}

/** A prepared dense matmul on fresh buffers: `run(reps)` replays it reps times behind one sync. */
export interface MatmulBench {
  /** 2·M·N·K. */
  flops: number;
  run(reps: number): Promise<number>;
  dispose(): void;
}

/** Prepares (compiles, binds, warms up and validates) the matmul of a bench case. */
export async function prepareMatmulBench(gpu: Gpu, spec: MatmulBenchSpec): Promise<MatmulBench> {
  const { M, N, K } = spec;
  const a = filled(gpu, "bench a", M * K);
  const b = filled(gpu, "bench b", K * N);
  const c = storageBuffer(gpu, "bench c", M * N * 4);
  const dispose = () => [a, b, c].forEach((x) => x.destroy());
  try {
    const op = await createMatmul(
      gpu,
      {
        label: `bench ${M}×${N}×${K}`,
        M,
        N,
        K,
        transA: spec.transA,
        transB: spec.transB,
        a: {},
        b: {},
        c: {},
        variant: spec.variant,
        cpuTile: spec.cpuTile,
      },
      a,
      b,
      c,
    );
    await validated(gpu, "bench matmul warm-up", () => submitDispatches(gpu, op));
    await sync(gpu);
    return { flops: 2 * M * N * K, run: (reps) => timeReps(gpu, op, reps), dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

/**
 * Seconds per matmul and GFLOP/s of a dense M×N×K product (A M×K, B K×N as stored before the transposes) on
 * fresh buffers: warm-up, then `reps` dispatches, 16 per submit, one sync at the end.
 */
export async function measureMatmul(
  gpu: Gpu,
  spec: MatmulBenchSpec,
): Promise<{ gflops: number; seconds: number; reps: number }> {
  const bench = await prepareMatmulBench(gpu, spec);
  try {
    let reps = spec.reps;
    if (reps === undefined) {
      const once = await bench.run(2) / 2;
      reps = Math.max(2, Math.min(2000, Math.round((spec.seconds ?? 1) / once)));
    }
    const seconds = (await bench.run(reps)) / reps;
    return { gflops: bench.flops / seconds / 1e9, seconds, reps };
  } finally {
    bench.dispose();
  }
}
