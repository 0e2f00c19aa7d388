/**
 * Embedding, LayerNorm and AdamW at the paper's shape: B·T = 8 × 1024 = 8192 rows, d_model 256, d_vocab 5000,
 * one parameter copy of the paper's model (3,355,016 parameters), C = 1.
 *
 *   deno bench --allow-read=. --allow-env bench/ops_bench.ts
 *
 * Every readback or sync costs ~10 ms on Deno, so each iteration submits the op REPS times in one command
 * buffer behind one sync: the reported time is for REPS runs (divide by REPS). setTokens (the host-side
 * counting sort and upload of the embedding backward) is timed on its own.
 */
import { getGpu } from "../lib/gpu/device.ts";
import { storageBuffer, sync, upload } from "../lib/gpu/buffers.ts";
import { type Dispatch, submitDispatches } from "../lib/gpu/dispatch.ts";
import { validated } from "../lib/gpu/kernel.ts";
import { PAPER_CONFIG } from "../lib/model/config.ts";
import { paramLayout } from "../lib/model/params.ts";
import { createEmbedding, createEmbeddingBackward, embeddingSpecFor } from "../lib/model/embedding.ts";
import { createLayerNorm, createLayerNormBackward, layerNormSpecFor } from "../lib/model/layernorm.ts";
import { createAdamW } from "../lib/model/adamw.ts";

const REPS = 10;
const B = 8, T = 1024, D = PAPER_CONFIG.d_model, V = PAPER_CONFIG.d_vocab, R = B * T;

const gpu = await getGpu();
const layout = paramLayout(PAPER_CONFIG);
const P = layout.stride;

function filled(label: string, n: number, scale = 1): GPUBuffer {
  const b = storageBuffer(gpu, label, n * 4);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.7131 + label.length) * scale;
  upload(gpu, b, x);
  return b;
}

// Zipf-like token ids, as in text: a few ids repeat hundreds of times.
let seed = 12345;
const tokens = Int32Array.from({ length: R }, () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return Math.floor(V * (seed / 2 ** 32) ** 3);
});
const tokBuf = storageBuffer(gpu, "tokens", R * 4);
upload(gpu, tokBuf, tokens);

const params = filled("params", P, 0.05);
const grads = filled("grads", P, 1e-3);
const m = filled("m", P, 1e-4);
const v = filled("v", P, 1e-6);
const x = filled("x", R * D);
const y = filled("y", R * D);
const y2 = filled("y2", R * D);
const dy = filled("dy", R * D, 1e-3);
const dy2 = filled("dy2", R * D, 1e-3);
const dx = filled("dx", R * D, 1e-3);
const stats = storageBuffer(gpu, "stats", 2 * R * 4);

const embSpec = embeddingSpecFor(layout, { copies: 1, batch: B, seqLen: T, tokensCopyStride: 0 });
const lnSpec = layerNormSpecFor(layout, "blocks.0.ln1", { copies: 1, batch: B, seqLen: T });
const embFwd = await createEmbedding(gpu, embSpec, params, tokBuf, x);
const embBwd = await createEmbeddingBackward(gpu, embSpec, dx, grads);
embBwd.setTokens(tokens);
const lnFwd = await createLayerNorm(gpu, lnSpec, x, params, y, stats, y2);
const lnBwd = await createLayerNormBackward(gpu, lnSpec, dy, x, stats, params, dx, grads, dy2);
const adam = await createAdamW(gpu, { size: P }, params, grads, m, v);
adam.setStep(100, 1e-3);

console.log(
  `adapter: ${gpu.record.description} (${gpu.record.vendor}, ${gpu.kind}), backend ${gpu.record.backend}, ` +
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPU threads; B·T = ${R}, D = ${D}, ` +
    `V = ${V}, ${layout.count} parameters; each GPU bench iteration = ${REPS} runs behind one sync`,
);

function benchOp(name: string, ops: Dispatch[]): void {
  let checked = false;
  Deno.bench(`${name} ×${REPS}`, { group: "ops" }, async (b) => {
    if (!checked) {
      await validated(gpu, name, () => submitDispatches(gpu, ops));
      await sync(gpu);
      checked = true;
    }
    b.start();
    submitDispatches(gpu, Array(REPS).fill(ops).flat());
    await sync(gpu);
    b.end();
  });
}

benchOp("embedding forward", embFwd);
benchOp("embedding backward", embBwd.dispatches);
benchOp("layernorm forward (+ y2)", lnFwd);
benchOp("layernorm backward (+ dy2)", lnBwd);
benchOp("adamw (3.36M params)", adam.dispatches);
Deno.bench("embedding setTokens (host CSR + upload) ×1", { group: "host" }, () => embBwd.setTokens(tokens));
