/**
 * The tile autotuner (lib/model/matmul_tune.ts): its premise (every tile of a family gives the same bits when
 * the split-K choice is fixed), the tuned path (same bits as the heuristic, choices kept in the cache file and
 * read back; a sumBatch1 shape under its own key), a broken cache file refused by name, and the coordinate
 * descent on a synthetic timing.
 */
import assert from "node:assert/strict";
import { getGpu, type Gpu } from "../lib/gpu/device.ts";
import { readF32, storageFrom } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import { cpuTileNeighbours, createMatmul, gpuTileNeighbours } from "../lib/model/matmul.ts";
import { chooseCpuTile, vectorization } from "../lib/model/matmul_codegen.ts";
import { type CpuTile, type GpuTile, type MatmulSpec, normalizeMatmul } from "../lib/model/matmul_spec.ts";
import {
  setTileTuning,
  TileCacheError,
  type TileSearch,
  tunedTile,
  tuningFromFlags,
  tuningSummary,
} from "../lib/model/matmul_tune.ts";
import { UsageError } from "../lib/util/cli.ts";
import { uniforms } from "./support/random.ts";

interface Case {
  spec: MatmulSpec;
  sizes: { a: number; b: number; c: number; bias?: number };
}

/** Dense batched operands (A and B of batch entry z at z·size), optionally with bias, accumulate and alpha. */
function denseCase(
  M: number,
  N: number,
  K: number,
  o: {
    transA?: boolean;
    transB?: boolean;
    batch?: number;
    bias?: boolean;
    accumulate?: boolean;
    alpha?: number;
  },
): Case {
  const z = o.batch ?? 1;
  const per = { a: M * K, b: K * N, c: M * N };
  return {
    spec: {
      label: `tune ${M}×${N}×${K}`,
      M,
      N,
      K,
      transA: o.transA,
      transB: o.transB,
      alpha: o.alpha,
      accumulate: o.accumulate,
      batch: [z, 1],
      a: { ld: o.transA ? M : K, stride: [per.a, 0] },
      b: { ld: o.transB ? K : N, stride: [per.b, 0] },
      c: { ld: N, stride: [per.c, 0] },
      bias: o.bias ? { stride: [N, 0] } : undefined,
    },
    sizes: { a: z * per.a, b: z * per.b, c: z * per.c, bias: o.bias ? z * N : undefined },
  };
}

/** C after one run of `spec` (with `extra` fields) on fixed random operands. */
async function run(gpu: Gpu, c: Case, extra: Partial<MatmulSpec>): Promise<Float32Array> {
  const bufs = {
    a: storageFrom(gpu, "a", uniforms(c.sizes.a, 1)),
    b: storageFrom(gpu, "b", uniforms(c.sizes.b, 2)),
    c: storageFrom(gpu, "c", uniforms(c.sizes.c, 3)),
    bias: c.sizes.bias ? storageFrom(gpu, "bias", uniforms(c.sizes.bias, 4)) : undefined,
  };
  try {
    submitDispatches(
      gpu,
      await createMatmul(gpu, { ...c.spec, ...extra }, bufs.a, bufs.b, bufs.c, bufs.bias),
    );
    return await readF32(gpu, bufs.c);
  } finally {
    for (const b of Object.values(bufs)) b?.destroy();
  }
}

/**
 * A summed batch level 1 (sumBatch1) shaped like the transformer's Σ_h dQ[h]·W_Q[h]ᵀ: A [b0, b1, M, K] dense,
 * B [b1, N, K] shared over level 0 (read transposed), C [b0, M, N].
 */
function sumCase(M: number, N: number, K: number, b0: number, b1: number): Case {
  return {
    spec: {
      label: `tune sum ${M}×${N}×${K}`,
      M,
      N,
      K,
      transB: true,
      batch: [b0, b1],
      sumBatch1: true,
      a: { ld: K, stride: [b1 * M * K, M * K] },
      b: { ld: K, stride: [0, N * K] },
      c: { ld: N, stride: [M * N, 0] },
    },
    sizes: { a: b0 * b1 * M * K, b: b1 * N * K, c: b0 * M * N },
  };
}

const CASES: Case[] = [
  denseCase(64, 16, 64, { batch: 3, bias: true }),
  denseCase(37, 29, 71, { transB: true, accumulate: true, alpha: -0.5 }),
  // Small M·N, long K: the heuristic splits K (ks > 1), which the tuner keeps.
  denseCase(16, 20, 1024, { transA: true, accumulate: true }),
  sumCase(40, 24, 16, 3, 4),
];

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  const g = new Uint32Array(got.buffer), w = new Uint32Array(want.buffer);
  const i = g.findIndex((x, k) => x !== w[k]);
  assert.equal(i, -1, `${what}: element ${i} is ${got[i]}, the heuristic tile gives ${want[i]}`);
}

Deno.test("tile tuning: every cpu-family tile gives the heuristic tile's bits (split-K fixed)", async () => {
  const gpu = await getGpu();
  for (const c of CASES) {
    const want = await run(gpu, c, { variant: "cpu" });
    const ks = c.spec.K >= 1024 ? 4 : 1;
    // Narrow and wide, short and tall tiles, lanes along n or not (each kernel costs a compile: a sample).
    const tiles = [[4, 4, 1], [8, 16, 8], [32, 8, 2], [16, 4, 8], [32, 16, 1]];
    let tried = 0;
    for (const [tm, tn, wx] of tiles) {
      const tile: Partial<CpuTile> = { tm, tn, wx: ks > 1 ? 1 : wx, ks };
      sameBits(
        await run(gpu, c, { variant: "cpu", cpuTile: tile }),
        want,
        `${c.spec.label} ${JSON.stringify(tile)}`,
      );
      tried++;
    }
    console.log(`  ${c.spec.label}: ${tried} tiles, bit-identical`);
  }
});

Deno.test("tile tuning: every gpu-family tile gives the default tile's bits (split-K fixed)", async () => {
  const gpu = await getGpu();
  const c = CASES[1];
  const want = await run(gpu, c, { variant: "gpu", splitK: 1 });
  const tiles: GpuTile[] = [
    { bm: 32, bn: 16, bk: 32, tm: 8, tn: 2 },
  ];
  for (const tile of tiles) {
    const got = await run(gpu, c, { variant: "gpu", splitK: 1, gpuTile: tile });
    sameBits(got, want, `${c.spec.label} ${JSON.stringify(tile)}`);
  }
});

Deno.test("tile tuning: tuned tiles give the heuristic's bits; choices are cached in the file and read back", async () => {
  const gpu = await getGpu();
  const dir = await Deno.makeTempDir();
  const cacheFile = `${dir}/tiles.json`;
  try {
    const c = CASES[0];
    // The cpu family only: a gpu-family kernel takes ~10 s to compile on llvmpipe, a tuning dozens of them.
    for (const variant of ["cpu"] as const) {
      await setTileTuning(gpu, { mode: "heuristic" });
      const want = await run(gpu, c, { variant });
      await setTileTuning(gpu, { mode: "tuned", cacheFile });
      sameBits(await run(gpu, c, { variant }), want, `${variant} tuned`);
      const first = tuningSummary(gpu);
      assert.equal(first.tuned, 1, `${variant}: one shape timed`);
      assert.ok(first.seconds > 0 && first.speedup >= 1, JSON.stringify(first));
      // A new process (here: a fresh setTileTuning) takes the choice from the file without timing anything.
      await setTileTuning(gpu, { mode: "tuned", cacheFile });
      sameBits(await run(gpu, c, { variant }), want, `${variant} cached`);
      assert.deepEqual([tuningSummary(gpu).tuned, tuningSummary(gpu).cached], [0, 1]);
    }
    const file = JSON.parse(await Deno.readTextFile(cacheFile));
    assert.equal(file.format, "chi-tile-cache/1");
    const entries = Object.values(file.adapters as Record<string, Record<string, unknown>>)[0];
    assert.deepEqual(Object.keys(entries).map((k) => k.split(" ")[0]), ["cpu"]);
  } finally {
    await setTileTuning(gpu, { mode: "heuristic" });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tile tuning: a sumBatch1 shape is tuned on a twin keeping the summed level, under its own key, same bits", async () => {
  const gpu = await getGpu();
  const dir = await Deno.makeTempDir();
  const cacheFile = `${dir}/tiles.json`;
  try {
    const c = CASES[3];
    await setTileTuning(gpu, { mode: "heuristic" });
    const want = await run(gpu, c, { variant: "cpu" });
    await setTileTuning(gpu, { mode: "tuned", cacheFile });
    sameBits(await run(gpu, c, { variant: "cpu" }), want, "sumBatch1 tuned");
    assert.equal(tuningSummary(gpu).tuned, 1);
    const file = JSON.parse(await Deno.readTextFile(cacheFile));
    const keys = Object.keys(Object.values(file.adapters as Record<string, Record<string, unknown>>)[0]);
    assert.equal(keys.length, 1);
    assert.match(keys[0], /^cpu 40x24x16 NT .* batch 3 sum 4 /);
  } finally {
    await setTileTuning(gpu, { mode: "heuristic" });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tile tuning: the gpu family's candidates are distinct valid tiles within the device's limits", async () => {
  const gpu = await getGpu();
  const base: GpuTile = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 };
  const next = gpuTileNeighbours(gpu, "test", base);
  assert.ok(next.length >= 6, `${next.length} neighbours`);
  const lim = gpu.device.limits;
  for (const t of next) {
    assert.notDeepEqual(t, base);
    assert.ok(t.bm % t.tm === 0 && t.bn % t.tn === 0, JSON.stringify(t));
    assert.ok((t.bm / t.tm) * (t.bn / t.tn) <= lim.maxComputeInvocationsPerWorkgroup, JSON.stringify(t));
    assert.ok((t.bm + t.bn) * t.bk * 4 <= lim.maxComputeWorkgroupStorageSize, JSON.stringify(t));
  }
  assert.equal(new Set(next.map((t) => JSON.stringify(t))).size, next.length);
});

Deno.test("tile tuning: the cpu family's candidates keep split-K and fit the shape", () => {
  const s = normalizeMatmul(CASES[2].spec);
  const vec = vectorization(s);
  const base = chooseCpuTile(s, vec, {}, 2);
  assert.ok(base.ks > 1, "the long-K case splits K");
  const next = cpuTileNeighbours(s, vec, base.ks, 2, base);
  assert.ok(next.length >= 2);
  for (const t of next) {
    assert.equal(t.ks, base.ks);
    assert.ok(
      t.tn % 4 === 0 && t.tn <= Math.max(4, s.N) && t.tm <= s.M && t.tm * t.tn <= 512,
      JSON.stringify(t),
    );
  }
});

Deno.test("tile tuning: a cache file that is not chi's is refused, naming the file", async () => {
  const gpu = await getGpu();
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of [["broken.json", "{"], ["other.json", '{"format": "something else"}']]) {
      const file = `${dir}/${name}`;
      await Deno.writeTextFile(file, text);
      await assert.rejects(
        () => setTileTuning(gpu, { mode: "tuned", cacheFile: file }),
        (e: Error) => e instanceof TileCacheError && e.message.includes(file),
      );
    }
  } finally {
    await setTileTuning(gpu, { mode: "heuristic" });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tile tuning: coordinate descent walks to the fastest neighbour and keeps the base on small gains", async () => {
  // A stand-in adapter: the search below never touches a device.
  const fake = {
    record: { description: "test", vendor: "", architecture: "", backend: "none" },
  } as unknown as Gpu;
  const search = (ms: (x: number) => number): TileSearch<{ x: number }> => ({
    family: "cpu",
    shape: `s${Math.random()}`,
    base: { x: 4 },
    neighbours: (t) => [{ x: t.x * 2 }, { x: Math.max(1, t.x / 2) }].filter((c) => c.x !== t.x && c.x <= 64),
    time: (t) => Promise.resolve(ms(t.x)),
  });
  await setTileTuning(fake, { mode: "tuned" });
  // Fastest at x = 32: 4 → 8 → 16 → 32, then both neighbours are slower.
  assert.deepEqual(await tunedTile(fake, search((x) => Math.abs(Math.log2(x) - 5) + 1)), { x: 32 });
  // A neighbour 3 % faster is noise: the base stays.
  assert.deepEqual(await tunedTile(fake, search((x) => (x === 8 ? 0.97 : 1))), { x: 4 });
  // Unbuildable candidates (undefined) are skipped.
  const s = search((x) => (x === 8 ? 0.5 : 1));
  assert.deepEqual(await tunedTile(fake, { ...s, time: (t) => Promise.resolve(t.x === 8 ? undefined : 1) }), {
    x: 4,
  });
  const sum = tuningSummary(fake);
  assert.deepEqual([sum.tuned, sum.changed], [3, 1]);
  await setTileTuning(fake, { mode: "heuristic" });
  assert.deepEqual(await tunedTile(fake, search((x) => 1 / x)), { x: 4 }, "heuristic mode never times");
});

Deno.test("tile tuning: the scripts' flags give the tuning, and a bad value is refused naming the flag", () => {
  assert.deepEqual(tuningFromFlags({}), { mode: "heuristic" });
  assert.deepEqual(tuningFromFlags({ tiles: "tuned" }), { mode: "tuned", cacheFile: "runs/tile-cache.json" });
  assert.deepEqual(tuningFromFlags({ tiles: "tuned", "tile-cache": "x.json" }), {
    mode: "tuned",
    cacheFile: "x.json",
  });
  assert.throws(
    () => tuningFromFlags({ tiles: "fast" }),
    (e: Error) => e instanceof UsageError && /--tiles/.test(e.message),
  );
  assert.throws(
    () => tuningFromFlags({ "tile-cache": "x.json" }),
    (e: Error) => e instanceof UsageError && /--tile-cache/.test(e.message),
  );
});
