/**
 * The adapter's achieved FP32 multiply-add peak (kernels/fma_peak.wgsl via lib/bench/peak.ts), with the CPU
 * model, load average and adapter it was measured on, and the optional WebGPU features it offers. Other benches divide their FLOP/s by this figure.
 *
 *   deno run --allow-read=. --allow-env --allow-sys=cpus,loadavg scripts/bench_peak.ts [--seconds 1] [--json]
 *
 * --json prints one JSON object (for bench/device_check.sh) instead of the text lines.
 */
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { measureFmaPeak } from "../lib/bench/peak.ts";
import { describeHost } from "../lib/bench/host.ts";
import { adapterFeatures } from "../lib/bench/features.ts";
import { flagNumber } from "../lib/util/cli.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "1" }, json: { type: "boolean", default: false } },
  strict: true,
});
const seconds = flagNumber("--seconds", values.seconds, 0);
const gpu = await getGpu();
const host = describeHost(gpu);
const peak = await measureFmaPeak(gpu, { seconds });
// What faster kernels could use here (subgroups, shader-f16, cooperative matrices): printed with the peak.
const features = await adapterFeatures(gpu);
if (values.json) {
  console.log(JSON.stringify({ host, ...peak, features }));
} else {
  console.log(host);
  console.log(`adapter features: ${features.adapter.join(", ") || "(none)"}`);
  for (const [name, ok] of Object.entries(features.probed)) console.log(`  ${name}: ${ok}`);
  for (const v of peak.variants) {
    console.log(`FP32 multiply-add (${v.useFma ? "fma()" : "x·a + b"}): ${v.gflops.toFixed(1)} GFLOP/s`);
  }
  console.log(
    `FP32 peak: ${peak.gflops.toFixed(1)} GFLOP/s (${peak.invocations} invocations × ${peak.iters} trips, ` +
      `${(peak.secondsPerDispatch * 1e3).toFixed(2)} ms per dispatch)`,
  );
}
