/**
 * Single-precision GEMM from the system's OpenBLAS through Deno's FFI (Debian: apt-get install
 * libopenblas0-pthread), for the CPU-path measurement of issue 12 item 6 (docs/cpu-path.md): how fast the
 * tiny SGLD's products and 512³ run natively on the same cores llvmpipe uses. A benchmark-side binding only:
 * nothing in chi's sampling path depends on it. Needs --allow-ffi (and the library: openBlas throws naming the
 * paths it tried when none loads).
 */

const CANDIDATES = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "libopenblas.so",
];

const SYMBOLS = {
  cblas_sgemm: {
    // order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_num_threads: { parameters: [], result: "i32" },
  openblas_get_config: { parameters: [], result: "pointer" },
} as const;

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

export interface Blas {
  /** The library file that loaded and its build configuration string (CPU core, threading). */
  path: string;
  config: string;
  /** C[M×N] = op(A)·op(B), row-major; A is M×K (K×M with transA), B is K×N (N×K with transB). */
  sgemm(
    M: number,
    N: number,
    K: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    transA?: boolean,
    transB?: boolean,
  ): void;
  setThreads(n: number): void;
  threads(): number;
  close(): void;
}

/** Opens OpenBLAS (the first candidate path that loads). */
export function openBlas(paths: readonly string[] = CANDIDATES): Blas {
  const errors: string[] = [];
  for (const path of paths) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(path, SYMBOLS);
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
      continue;
    }
    const s = lib.symbols;
    const cfgPtr = s.openblas_get_config();
    const config = cfgPtr ? new Deno.UnsafePointerView(cfgPtr).getCString() : "";
    return {
      path,
      config,
      sgemm(M, N, K, a, b, c, transA = false, transB = false) {
        if (a.length < M * K || b.length < K * N || c.length < M * N) {
          throw new RangeError(`sgemm ${M}×${N}×${K}: operands too small`);
        }
        s.cblas_sgemm(
          ROW_MAJOR,
          transA ? TRANS : NO_TRANS,
          transB ? TRANS : NO_TRANS,
          M,
          N,
          K,
          1,
          a,
          transA ? M : K,
          b,
          transB ? K : N,
          0,
          c,
          N,
        );
      },
      setThreads: (n) => s.openblas_set_num_threads(n),
      threads: () => s.openblas_get_num_threads(),
      close: () => lib.close(),
    };
  }
  throw new Error(`OpenBLAS not found (apt-get install libopenblas0-pthread); tried ${errors.join("; ")}`);
}

/** GFLOP/s of `blas.sgemm` on one shape: repeated for about `seconds`, best of `trials`. */
export function measureBlasSgemm(
  blas: Blas,
  spec: { M: number; N: number; K: number; transA?: boolean; transB?: boolean },
  seconds = 0.5,
  trials = 3,
): { gflops: number; seconds: number; reps: number } {
  const { M, N, K } = spec;
  const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.7131) * 0.5);
  const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.331) * 0.5);
  const c = new Float32Array(M * N);
  const run = (reps: number) => {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) blas.sgemm(M, N, K, a, b, c, spec.transA, spec.transB);
    return (performance.now() - t0) / 1000;
  };
  run(2);
  const once = Math.max(run(3) / 3, 1e-7);
  const reps = Math.max(3, Math.min(200_000, Math.round(seconds / once)));
  let best = Infinity;
  for (let t = 0; t < trials; t++) best = Math.min(best, run(reps) / reps);
  return { gflops: (2 * M * N * K) / best / 1e9, seconds: best, reps };
}
