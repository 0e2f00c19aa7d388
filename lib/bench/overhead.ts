/**
 * Fixed costs of driving the adapter from Deno, measured: one near-empty dispatch (replayed many times behind
 * one sync) and one readback round trip (a 4-byte copy + mapAsync, which waits for all queued work and then
 * sleeps ~10 ms on Deno). At the tiny model's shapes a step's kernels are each a few µs of arithmetic, so these
 * costs, times the dispatches per step, bound what any WGSL kernel can reach there (docs/cpu-path.md).
 */
import type { Gpu } from "../gpu/device.ts";
import { readF32, storageBuffer, sync } from "../gpu/buffers.ts";
import { prepareFmaProbe } from "./peak.ts";

export interface Overheads {
  /** Seconds per near-empty dispatch (one workgroup, one loop trip), 16 per submit. */
  dispatchSeconds: number;
  /** Seconds per readback round trip of 4 bytes with nothing else queued. */
  readbackSeconds: number;
}

export async function measureOverheads(gpu: Gpu, reps = 2000, readbacks = 20): Promise<Overheads> {
  const probe = await prepareFmaProbe(gpu, {
    invocations: 1,
    iters: 1,
    a: 1,
    b: 0,
    seed: 0,
    stepInv: 0,
    stepLane: 0,
    workgroup: 64,
  });
  let dispatchSeconds: number;
  try {
    await probe.run(64);
    dispatchSeconds = (await probe.run(reps)) / reps;
  } finally {
    probe.dispose();
  }
  const buf = storageBuffer(gpu, "readback probe", 4);
  try {
    await readF32(gpu, buf);
    await sync(gpu);
    const t0 = performance.now();
    for (let i = 0; i < readbacks; i++) await readF32(gpu, buf);
    return { dispatchSeconds, readbackSeconds: (performance.now() - t0) / 1000 / readbacks };
  } finally {
    buf.destroy();
  }
}
