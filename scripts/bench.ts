/**
 * Throughput on the current WebGPU adapter: matmul GFLOP/s at 512³ and the training step's tokens/s for the
 * tiny default config (against the same step in plain TypeScript) and for the paper's config.
 *
 *   deno task bench [--paper-batch 2] [--steps 5] [--skip-paper]
 */
import { runMain } from "../lib/util/main.ts";
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { measureMatmul } from "../lib/bench/matmul.ts";
import { describeHost } from "../lib/bench/host.ts";
import { measureGpuTrainStep, measureTypeScriptTrainStep } from "../lib/bench/train_step.ts";
import { PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import { flagInt } from "../lib/util/cli.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "paper-batch": { type: "string", default: "2" },
      steps: { type: "string", default: "10" },
      "skip-paper": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("deno task bench [--steps N] [--paper-batch B] [--skip-paper]");
    return;
  }
  const steps = flagInt("--steps", values.steps, 1);
  const paperBatch = flagInt("--paper-batch", values["paper-batch"], 1);
  const gpu = await getGpu();
  const a = gpu.record;
  console.log(
    `adapter: ${a.description || a.device || a.vendor} (${gpu.kind}, fallback ${a.isFallbackAdapter})`,
  );

  console.log(describeHost(gpu)); // CPU figures swing ~5× between CPUs: name the CPU and its load
  const mm = await measureMatmul(gpu, { M: 512, N: 512, K: 512 });
  console.log(`matmul 512×512×512: ${mm.gflops.toFixed(1)} GFLOP/s`);

  const tinyB = 16, tinyT = TINY_CONFIG.n_ctx;
  const gpuTiny = await measureGpuTrainStep(gpu, TINY_CONFIG, tinyB, tinyT, steps);
  const tsTiny = measureTypeScriptTrainStep(TINY_CONFIG, tinyB, tinyT, 2);
  console.log(
    `tiny config (B=${tinyB}, T=${tinyT}) train step: WebGPU ${
      gpuTiny.tokensPerSecond.toFixed(0)
    } tokens/s ` +
      `(${(gpuTiny.secondsPerStep * 1000).toFixed(1)} ms/step), plain TypeScript ` +
      `${tsTiny.tokensPerSecond.toFixed(0)} tokens/s: ${
        (gpuTiny.tokensPerSecond / tsTiny.tokensPerSecond).toFixed(1)
      }×`,
  );
  if (!values["skip-paper"]) {
    const T = PAPER_CONFIG.n_ctx;
    const p = await measureGpuTrainStep(gpu, PAPER_CONFIG, paperBatch, T, Math.max(1, Math.min(steps, 3)), 1);
    console.log(
      `paper config (B=${paperBatch}, T=${T}) train step: ${p.tokensPerSecond.toFixed(0)} tokens/s ` +
        `(${p.secondsPerStep.toFixed(2)} s/step)`,
    );
  }
}

await runMain(main);
