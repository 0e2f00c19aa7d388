/**
 * The CPU-path measurement of issue 12 item 6 (docs/cpu-path.md): per product shape of the tiny SGLD step
 * (lib/bench/cpu_path.ts) and at 512³, GFLOP/s of chi's llvmpipe "cpu" matmul family, of OpenBLAS through
 * Deno's FFI (1 thread and all threads) and, with --torch [--torch-threads N], of PyTorch-CPU; the seconds of matmul each puts
 * under one copy-step; the FMA peak; the per-dispatch and readback costs and the dispatches per SGLD step;
 * and the WebGPU features the adapter offers (subgroups, shader-f16, cooperative matrices).
 *
 *   deno task bench-cpu-path [--seconds 0.5] [--torch] [--no-blas] [--config tiny|paper] [--batch 8] [--seq-len 64]
 *   LP_NATIVE_VECTOR_WIDTH=128 deno task bench-cpu-path --no-blas    # llvmpipe's vector width (128 or 256)
 */
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { measureMatmul } from "../lib/bench/matmul.ts";
import { measureFmaPeak } from "../lib/bench/peak.ts";
import { describeHost } from "../lib/bench/host.ts";
import { measureBlasSgemm, openBlas } from "../lib/bench/blas.ts";
import { type Product, productFlops, sgldProducts } from "../lib/bench/cpu_path.ts";
import { measureOverheads } from "../lib/bench/overhead.ts";
import { adapterFeatures } from "../lib/bench/features.ts";
import { PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import { createTransformer } from "../lib/model/transformer.ts";
import { flagChoice, flagInt, flagNumber } from "../lib/util/cli.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "0.5" },
    torch: { type: "boolean", default: false },
    "no-blas": { type: "boolean", default: false },
    config: { type: "string", default: "tiny" },
    batch: { type: "string", default: "8" },
    "seq-len": { type: "string", default: "64" },
    copies: { type: "string", default: "18" },
    "torch-threads": { type: "string" },
  },
  strict: true,
});
const seconds = flagNumber("--seconds", values.seconds, 0);
const cfg = flagChoice("--config", values.config, ["tiny", "paper"]) === "paper" ? PAPER_CONFIG : TINY_CONFIG;
const B = flagInt("--batch", values.batch, 1), T = flagInt("--seq-len", values["seq-len"], 2);
const copies = flagInt("--copies", values.copies, 1);
const gpu = await getGpu();
console.log(describeHost(gpu));
const feats = await adapterFeatures(gpu);
console.log(`adapter features: ${feats.adapter.join(", ") || "(none)"}`);
for (const [name, ok] of Object.entries(feats.probed)) console.log(`  ${name}: ${ok}`);

const peak = await measureFmaPeak(gpu, { seconds });
console.log(`FP32 FMA peak (llvmpipe): ${peak.gflops.toFixed(1)} GFLOP/s`);

const blas = values["no-blas"] ? undefined : openBlas();
if (blas) console.log(`OpenBLAS: ${blas.path} (${blas.config}), ${blas.threads()} threads by default`);
const allThreads = blas?.threads() ?? 1;

const products: Product[] = [{ name: "512³", M: 512, N: 512, K: 512, count: 0 }, ...sgldProducts(cfg, B, T)];
let torchRows: Array<{ gflops: number }> = [];
if (values.torch) {
  const spec = products.map((p) => `${p.M},${p.N},${p.K},${p.transA ? 1 : 0},${p.transB ? 1 : 0}`).join(";");
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      "bench/torch_reference.py",
      "--matmul",
      spec,
      "--json",
      ...(values["torch-threads"] ? ["--threads", values["torch-threads"]] : []),
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("bench/torch_reference.py --matmul failed");
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const rep = JSON.parse(lines[lines.length - 1]);
  console.log(`PyTorch ${rep.torch}, ${rep.threads} threads`);
  torchRows = rep.rows;
}

const cols = [
  "llvmpipe",
  ...(blas ? ["BLAS 1t", `BLAS ${allThreads}t`] : []),
  ...(values.torch ? ["torch"] : []),
];
console.log(
  `${"product".padEnd(30)} ${"M×N×K".padEnd(16)} count  ${cols.map((c) => c.padStart(9)).join(" ")}`,
);
const perStep = new Array(cols.length).fill(0);
const dense = new Array(cols.length).fill(0);
for (const [i, p] of products.entries()) {
  const g: number[] = [];
  g.push((await measureMatmul(gpu, { ...p, variant: "cpu", seconds })).gflops);
  if (blas) {
    blas.setThreads(1);
    g.push(measureBlasSgemm(blas, p, seconds).gflops);
    blas.setThreads(allThreads);
    g.push(measureBlasSgemm(blas, p, seconds).gflops);
  }
  if (values.torch) g.push(torchRows[i].gflops);
  g.forEach((x, j) => {
    const t = (p.count * 2 * p.M * p.N * p.K) / (x * 1e9);
    perStep[j] += t;
    if (!p.name.startsWith("attn")) dense[j] += t;
  });
  console.log(
    `${p.name.padEnd(30)} ${`${p.M}×${p.N}×${p.K}`.padEnd(16)} ${String(p.count).padStart(5)}  ${
      g.map((x) => x.toFixed(2).padStart(9)).join(" ")
    }   GFLOP/s`,
  );
}
const flops = productFlops(products);
const attnFlops = productFlops(products.filter((p) => p.name.startsWith("attn")));
const rate = (t: number[]) =>
  cols.map((c, j) => `${c} ${(t[j] * 1e3).toFixed(2)} ms (≤ ${(1 / t[j]).toFixed(1)} copy-steps/s)`).join(
    "; ",
  );
console.log(
  `matmul per copy-step (${(flops / 1e9).toFixed(3)} GFLOP, attention ${
    (attnFlops / 1e9).toFixed(3)
  } of it), ` +
    `each product one call: ${rate(perStep)}`,
);
// chi runs attention in fused kernels over all sequences, heads and copies in one dispatch: the llvmpipe
// column's one-small-product-per-dispatch figures overstate its attention cost (bench-sgld has the real rate).
console.log(`dense products only (no attention): ${rate(dense)}`);

const oh = await measureOverheads(gpu);
const model = await createTransformer(gpu, cfg, { copies, batch: B, seqLen: T, sharedTokens: true });
const nDispatch = model.forwardBackward.length;
model.destroy();
console.log(
  `per dispatch ${(oh.dispatchSeconds * 1e6).toFixed(1)} µs; readback round trip ${
    (oh.readbackSeconds * 1e3).toFixed(2)
  } ms; ` +
    `forward+backward of ${copies} copies = ${nDispatch} ops → ${
      (nDispatch * oh.dispatchSeconds * 1e3).toFixed(2)
    } ` +
    `ms of dispatch overhead per step (${
      (nDispatch * oh.dispatchSeconds * 1e3 / copies).toFixed(3)
    } ms per copy-step)`,
);
blas?.close();
