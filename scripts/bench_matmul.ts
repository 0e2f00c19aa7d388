/**
 * Prints matmul GFLOP/s for every variant at 512×512×512 and for the transformer's shapes (cpu variant), with the
 * adapter and runtime they were measured on.
 *
 *   deno run --allow-read=. --allow-env --allow-sys=cpus,loadavg scripts/bench_matmul.ts [--seconds 1] [--trials 3] [--all-variants]
 *
 * Each line is the best of --trials measurements: llvmpipe shares the CPU with everything else on the machine,
 * and the best run is the one least disturbed by it.
 * --all-variants also runs the reference and gpu kernels on the big shapes (minutes on llvmpipe).
 */
import { parseArgs } from "node:util";
import { installErrorEdge } from "../lib/util/main.ts";
import { UsageError } from "../lib/util/cli.ts";
import { getGpu } from "../lib/gpu/device.ts";
import { type MatmulBenchSpec, measureMatmul } from "../lib/bench/matmul.ts";
import { describeHost } from "../lib/bench/host.ts";
import type { MatmulVariant } from "../lib/model/matmul_spec.ts";

installErrorEdge();
const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "1" },
    trials: { type: "string", default: "3" },
    "all-variants": { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new UsageError(`--seconds: expected a positive number, got ${values.seconds}`);
const trials = Number(values.trials);
if (!Number.isInteger(trials) || trials < 1) {
  throw new UsageError(`--trials: expected a positive integer, got ${values.trials}`);
}

const gpu = await getGpu();
console.log(
  `adapter: ${gpu.record.description} (${gpu.record.vendor}, ${gpu.kind}), backend ${gpu.record.backend}, ` +
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPU threads`,
);

console.log(describeHost(gpu)); // CPU figures swing ~5× between CPUs: name the CPU and its load

const SHAPES: Array<[string, MatmulBenchSpec]> = [
  ["512³ NN", { M: 512, N: 512, K: 512 }],
  ["512³ NT", { M: 512, N: 512, K: 512, transB: true }],
  ["512³ TN", { M: 512, N: 512, K: 512, transA: true }],
  ["512³ TT", { M: 512, N: 512, K: 512, transA: true, transB: true }],
  ["qkv     [4096×256]·[256×768]", { M: 4096, N: 768, K: 256 }],
  ["unembed [4096×256]·[256×5000]", { M: 4096, N: 5000, K: 256 }],
  ["unembed [4096×256]·[5000×256]ᵀ", { M: 4096, N: 5000, K: 256, transB: true }],
  ["dX      [4096×768]·[256×768]ᵀ", { M: 4096, N: 256, K: 768, transB: true }],
  ["dW      [4096×256]ᵀ·[4096×768]", { M: 256, N: 768, K: 4096, transA: true }],
  ["dW      [65536×64]ᵀ·[65536×64]", { M: 64, N: 64, K: 65536, transA: true }],
];

for (const variant of ["cpu", "gpu", "reference"] as MatmulVariant[]) {
  for (const [name, spec] of SHAPES) {
    const small = name.startsWith("512³ NN");
    if (variant !== "cpu" && !small && !values["all-variants"]) continue;
    const cpu = variant === "cpu";
    let r = { gflops: 0, seconds: Infinity, reps: 0 };
    for (let t = 0; t < (cpu ? trials : 1); t++) {
      const m = await measureMatmul(gpu, {
        ...spec,
        variant,
        seconds: cpu ? seconds : undefined,
        reps: cpu ? undefined : 2,
      });
      if (m.gflops > r.gflops) r = m;
    }
    console.log(
      `${variant.padEnd(9)} ${name.padEnd(32)} ${r.gflops.toFixed(2).padStart(7)} GFLOP/s  ` +
        `${(r.seconds * 1e3).toFixed(2).padStart(8)} ms  (${r.reps} reps)`,
    );
  }
}
