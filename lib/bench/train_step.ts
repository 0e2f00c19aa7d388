/**
 * Throughput of one training step (forward, backward, AdamW) on the GPU and in plain TypeScript, for the
 * benchmark script. Measured, never asserted: timing belongs in benches, not tests.
 */
import type { Gpu } from "../gpu/device.ts";
import { readF32, upload } from "../gpu/buffers.ts";
import { submitProgram } from "../gpu/program.ts";
import type { ModelConfig } from "../model/config.ts";
import { initParams } from "../model/init.ts";
import { paramLayout } from "../model/params.ts";
import { referenceForwardBackward } from "../model/reference.ts";
import { createTransformer } from "../model/transformer.ts";
import { createAdamW } from "../model/adamw.ts";
import { randomTokens } from "./unit_inputs.ts";

export interface StepMeasurement {
  /** Tokens (B·T) processed per second. */
  tokensPerSecond: number;
  /** Seconds per step. */
  secondsPerStep: number;
  steps: number;
}

/**
 * Times `steps` GPU training steps (one submit each, as lib/train/train.ts runs them) after `warmup` untimed
 * ones; one sync at the end.
 */
export async function measureGpuTrainStep(
  gpu: Gpu,
  cfg: ModelConfig,
  batch: number,
  seqLen: number,
  steps: number,
  warmup = 2,
): Promise<StepMeasurement> {
  const P = paramLayout(cfg).stride;
  const model = await createTransformer(gpu, cfg, { copies: 1, batch, seqLen, sharedTokens: true });
  upload(gpu, model.params, initParams(cfg, 0));
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const m = gpu.device.createBuffer({ label: "bench adam m", size: P * 4, usage });
  const v = gpu.device.createBuffer({ label: "bench adam v", size: P * 4, usage });
  const adam = await createAdamW(
    gpu,
    { size: P, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 },
    model.params,
    model.grads!,
    m,
    v,
  );
  const batches = [0, 1, 2, 3].map((i) => randomTokens(batch * seqLen, cfg.d_vocab, i));
  const step = (s: number) => {
    model.setTokens(batches[s % batches.length]);
    adam.setStep(s + 1, 1e-4);
    submitProgram(gpu, [...model.forwardBackward, ...model.meanLoss(0), ...adam.dispatches], "bench step");
  };
  for (let s = 0; s < warmup; s++) step(s);
  await readF32(gpu, model.meanLosses, 0, (1) * 4);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) step(warmup + s);
  await readF32(gpu, model.meanLosses, 0, (1) * 4);
  const seconds = (performance.now() - t0) / 1000;
  model.destroy();
  m.destroy();
  v.destroy();
  return { tokensPerSecond: (steps * batch * seqLen) / seconds, secondsPerStep: seconds / steps, steps };
}

/** Times the same step in plain TypeScript: the float64 reference forward/backward plus an AdamW update. */
export function measureTypeScriptTrainStep(
  cfg: ModelConfig,
  batch: number,
  seqLen: number,
  steps: number,
): StepMeasurement {
  const params = Float64Array.from(initParams(cfg, 0));
  const m = new Float64Array(params.length), v = new Float64Array(params.length);
  const tokens = randomTokens(batch * seqLen, cfg.d_vocab, 0);
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) {
    const { grads } = referenceForwardBackward(cfg, params, tokens, batch, seqLen, true);
    const c1 = 1 - 0.9 ** s, c2 = 1 - 0.999 ** s;
    for (let i = 0; i < params.length; i++) {
      const g = grads![i];
      params[i] -= 1e-4 * 0.05 * params[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      params[i] -= (1e-4 * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { tokensPerSecond: (steps * batch * seqLen) / seconds, secondsPerStep: seconds / steps, steps };
}
