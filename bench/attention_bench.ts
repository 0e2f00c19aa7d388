/**
 * Fused causal attention throughput: forward and backward tokens/s and GFLOP/s for the tiny default shape and
 * the paper's shape, each measured as many dispatches behind one sync.
 *
 *   deno run --allow-read=. --allow-env bench/attention_bench.ts [--seconds 2] [--copies 1] [--only tiny|paper]
 *
 * FLOPs are counted over the causal (i, j ≤ i) pairs: 4·E per pair forward (q·k and p·v), 10·E backward
 * (q·k recomputed, dz·v, p·dz, ds·q, ds·k).
 */
import { parseArgs } from "node:util";
import { getGpu, type Gpu } from "../lib/gpu/device.ts";
import { storageBuffer, sync, upload } from "../lib/gpu/buffers.ts";
import { type Dispatch, submitDispatches } from "../lib/gpu/dispatch.ts";
import { validated } from "../lib/gpu/kernel.ts";
import {
  attentionFlops,
  type AttentionShape,
  createAttentionBackward,
  createAttentionForward,
} from "../lib/model/attention.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "2" },
    copies: { type: "string", default: "1" },
    only: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const copies = Number(values.copies);
if (!(seconds > 0)) throw new Error(`--seconds: expected a positive number, got ${values.seconds}`);
if (!Number.isInteger(copies) || copies < 1) {
  throw new Error(`--copies: expected a positive integer, got ${values.copies}`);
}

const SHAPES: Record<string, AttentionShape> = {
  tiny: { C: copies, B: 16, T: 64, H: 4, E: 16 },
  paper: { C: copies, B: 8, T: 1024, H: 8, E: 32 },
};
if (values.only !== undefined && !(values.only in SHAPES)) {
  throw new Error(`--only: expected one of ${Object.keys(SHAPES).join(", ")}, got ${values.only}`);
}

/** Seconds per run of `list`, from `reps` runs submitted back to back behind one sync (after a warm-up). */
async function timeDispatches(
  gpu: Gpu,
  list: Dispatch[],
  target: number,
): Promise<{ s: number; reps: number }> {
  await validated(gpu, "warm-up", () => submitDispatches(gpu, list));
  await sync(gpu);
  let t0 = performance.now();
  submitDispatches(gpu, list);
  await sync(gpu);
  const once = (performance.now() - t0) / 1000;
  const reps = Math.max(1, Math.min(1000, Math.round(target / once)));
  t0 = performance.now();
  for (let r = 0; r < reps; r += 16) submitDispatches(gpu, Array(Math.min(16, reps - r)).fill(list).flat());
  await sync(gpu);
  return { s: (performance.now() - t0) / 1000 / reps, reps };
}

const gpu = await getGpu();
console.log(
  `adapter: ${gpu.record.description} (${gpu.record.vendor}, ${gpu.kind}, fallback ${gpu.record.isFallbackAdapter}), ` +
    `backend ${gpu.record.backend}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPU threads`,
);
for (const [name, shape] of Object.entries(SHAPES)) {
  if (values.only !== undefined && values.only !== name) continue;
  const rows = shape.C * shape.H * shape.B * shape.T, n = rows * shape.E;
  const buf = (label: string, len: number) => {
    const b = storageBuffer(gpu, label, len * 4);
    const x = new Float32Array(len);
    for (let i = 0; i < len; i++) x[i] = Math.sin(i * 0.7131 + label.length) * 1.5;
    upload(gpu, b, x);
    return b;
  };
  const [q, k, v, z, dz, dq, dk, dv] = ["q", "k", "v", "z", "dz", "dq", "dk", "dv"].map((l) => buf(l, n));
  const [lse, d] = ["lse", "d"].map((l) => buf(l, rows));
  const op = (buffer: GPUBuffer) => ({ buffer, offset: 0 });
  const fwd = await createAttentionForward(gpu, shape, {
    q: op(q),
    k: op(k),
    v: op(v),
    z: op(z),
    lse: op(lse),
  });
  const bwd = await createAttentionBackward(gpu, shape, {
    q: op(q),
    k: op(k),
    v: op(v),
    z: op(z),
    lse: op(lse),
    dz: op(dz),
    dq: op(dq),
    dk: op(dk),
    dv: op(dv),
    d: op(d),
  });
  await validated(gpu, "forward", () => submitDispatches(gpu, fwd)); // lse and z for the backward
  const flops = attentionFlops(shape);
  const tokens = shape.C * shape.B * shape.T;
  for (
    const [pass, list, f] of [["forward", fwd, flops.forward], ["backward", bwd, flops.backward]] as const
  ) {
    const { s, reps } = await timeDispatches(gpu, list, seconds / 2);
    console.log(
      `${name.padEnd(5)} C=${shape.C} B=${shape.B} T=${shape.T} H=${shape.H} E=${shape.E} ${
        pass.padEnd(8)
      }: ` +
        `${(s * 1e3).toFixed(2).padStart(8)} ms  ${(tokens / s).toExponential(3)} tokens/s  ` +
        `${(f / s / 1e9).toFixed(2).padStart(6)} GFLOP/s  (${reps} runs behind one sync)`,
    );
  }
  for (const b of [q, k, v, z, dz, dq, dk, dv, lse, d]) b.destroy();
}
