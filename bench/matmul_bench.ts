/**
 * Matmul throughput per variant and shape (`deno bench --allow-read=. --allow-env bench/matmul_bench.ts`). Each
 * iteration replays 4 prepared dispatches behind one sync; divide the time per iteration by 4 for one matmul.
 * GFLOP/s per case: scripts/bench_matmul.ts.
 */
import { getGpu } from "../lib/gpu/device.ts";
import { type MatmulBenchSpec, prepareMatmulBench } from "../lib/bench/matmul.ts";

const gpu = await getGpu();
const REPS = 4;

const CASES: Array<[string, MatmulBenchSpec]> = [
  ["512³ NN", { M: 512, N: 512, K: 512 }],
  ["512³ NT", { M: 512, N: 512, K: 512, transB: true }],
  ["512³ TN", { M: 512, N: 512, K: 512, transA: true }],
  ["qkv [4096×256]·[256×768]", { M: 4096, N: 768, K: 256 }],
  ["unembed [4096×256]·[256×5000]", { M: 4096, N: 5000, K: 256 }],
  ["dX [4096×768]·[256×768]ᵀ", { M: 4096, N: 256, K: 768, transB: true }],
  ["dW [4096×256]ᵀ·[4096×768]", { M: 256, N: 768, K: 4096, transA: true }],
];

for (const variant of ["cpu", "gpu", "reference"] as const) {
  for (const [name, spec] of CASES) {
    // The reference and tiled kernels take seconds per large product on llvmpipe: bench them at 512³ only.
    if (variant !== "cpu" && !name.startsWith("512³ NN")) continue;
    const bench = await prepareMatmulBench(gpu, { ...spec, variant });
    Deno.bench({
      name: `matmul ${variant} ${name} ×${REPS}`,
      group: name,
      baseline: variant === "cpu",
      n: variant === "cpu" ? undefined : 2,
      async fn() {
        await bench.run(REPS);
      },
    });
  }
}
