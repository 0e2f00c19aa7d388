import assert from "node:assert/strict";
import { getGpu, type Gpu } from "../lib/gpu/device.ts";
import { readBuffers, storageBuffer, upload } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import { validated } from "../lib/gpu/kernel.ts";
import { adapterKey, setTileTuning, TileCacheError } from "../lib/model/matmul_tune.ts";
import {
  attentionBackwardReference,
  AttentionError,
  type AttentionHeads,
  type AttentionOptions,
  attentionReference,
  type AttentionShape,
  createAttentionBackward,
  createAttentionForward,
} from "../lib/model/attention.ts";
import { normals } from "./support/random.ts";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as NaN
  }
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

const SENTINEL = 12345.5;

interface Layout {
  /** Element offsets of q, k, v inside one shared input buffer (multiples of 4). */
  qkv: [number, number, number];
  /** Element offsets of dq, dk, dv inside one shared gradient buffer. */
  grads: [number, number, number];
  /** Leading padding of the z/dz/lse/d buffers. */
  pad: number;
}

const PACKED: Layout = { qkv: [0, 0, 0], grads: [0, 0, 0], pad: 0 };

/** Lays q, k, v out in one buffer at the given offsets (0 = packed back to back). */
function offsets(n: number, l: Layout): { qkv: number[]; grads: number[] } {
  const pack = (o: number[]) => o.every((x) => x === 0) ? [0, n, 2 * n] : o;
  return { qkv: pack(l.qkv), grads: pack(l.grads) };
}

/** Runs the GPU forward (and, with dz, the backward) and reads everything back. */
async function runGpu(
  gpu: Gpu,
  shape: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dz?: Float32Array,
  layout: Layout = PACKED,
  opts: AttentionOptions = {},
) {
  const rows = shape.C * shape.H * shape.B * shape.T;
  const n = rows * shape.E;
  const o = offsets(n, layout);
  const P = layout.pad;
  const fill = (len: number) => new Float32Array(len).fill(SENTINEL);
  const qkvBuf = storageBuffer(gpu, "qkv", (Math.max(...o.qkv) + n) * 4);
  upload(gpu, qkvBuf, q, o.qkv[0] * 4);
  upload(gpu, qkvBuf, k, o.qkv[1] * 4);
  upload(gpu, qkvBuf, v, o.qkv[2] * 4);
  const zBuf = storageBuffer(gpu, "z", (P + n + 8) * 4);
  const lseBuf = storageBuffer(gpu, "lse", (P + rows + 8) * 4);
  upload(gpu, zBuf, fill(P + n + 8));
  upload(gpu, lseBuf, fill(P + rows + 8));
  const fwd = await createAttentionForward(gpu, shape, {
    q: { buffer: qkvBuf, offset: o.qkv[0] },
    k: { buffer: qkvBuf, offset: o.qkv[1] },
    v: { buffer: qkvBuf, offset: o.qkv[2] },
    z: { buffer: zBuf, offset: P },
    lse: { buffer: lseBuf, offset: P },
  }, opts);
  const list = [...fwd];
  const gradLen = Math.max(...o.grads) + n + 8;
  const gBuf = storageBuffer(gpu, "dqkv", gradLen * 4);
  const dzBuf = storageBuffer(gpu, "dz", (P + n) * 4);
  const dBuf = storageBuffer(gpu, "d", (P + rows) * 4);
  if (dz) {
    upload(gpu, dzBuf, dz, P * 4);
    upload(gpu, gBuf, fill(gradLen)); // outputs must overwrite, not accumulate
    list.push(
      ...await createAttentionBackward(gpu, shape, {
        q: { buffer: qkvBuf, offset: o.qkv[0] },
        k: { buffer: qkvBuf, offset: o.qkv[1] },
        v: { buffer: qkvBuf, offset: o.qkv[2] },
        z: { buffer: zBuf, offset: P },
        lse: { buffer: lseBuf, offset: P },
        dz: { buffer: dzBuf, offset: P },
        dq: { buffer: gBuf, offset: o.grads[0] },
        dk: { buffer: gBuf, offset: o.grads[1] },
        dv: { buffer: gBuf, offset: o.grads[2] },
        d: { buffer: dBuf, offset: P },
      }, opts),
    );
  }
  await validated(gpu, "attention test", () => submitDispatches(gpu, list));
  const [zAll, lseAll, gAll] =
    (await readBuffers(gpu, [{ buffer: zBuf }, { buffer: lseBuf }, { buffer: gBuf }]))
      .map((b) => new Float32Array(b));
  for (const buf of [qkvBuf, zBuf, lseBuf, gBuf, dzBuf, dBuf]) buf.destroy();
  // Padding around the outputs must be untouched.
  const untouched = (a: Float32Array, from: number, to: number, what: string) => {
    for (let i = from; i < to; i++) {
      assert.equal(a[i], SENTINEL, `${what}[${i}] outside the output was written`);
    }
  };
  untouched(zAll, 0, P, "z");
  untouched(zAll, P + n, P + n + 8, "z");
  untouched(lseAll, 0, P, "lse");
  untouched(lseAll, P + rows, P + rows + 8, "lse");
  const out = {
    z: zAll.slice(P, P + n),
    lse: lseAll.slice(P, P + rows),
    dq: gAll.slice(o.grads[0], o.grads[0] + n),
    dk: gAll.slice(o.grads[1], o.grads[1] + n),
    dv: gAll.slice(o.grads[2], o.grads[2] + n),
  };
  if (dz) {
    const used = new Uint8Array(gradLen);
    for (const g of o.grads) used.fill(1, g, g + n);
    for (let i = 0; i < gradLen; i++) {
      if (!used[i]) assert.equal(gAll[i], SENTINEL, `gradient buffer [${i}] outside dq/dk/dv was written`);
    }
  }
  return out;
}

function inputs(shape: AttentionShape, seed: number, sd = 1) {
  const n = shape.C * shape.H * shape.B * shape.T * shape.E;
  return {
    q: normals(n, seed, sd),
    k: normals(n, seed + 1, sd),
    v: normals(n, seed + 2),
    dz: normals(n, seed + 3),
  };
}

const SHAPES: Array<{ shape: AttentionShape; layout: Layout }> = [
  {
    shape: { C: 2, B: 3, T: 64, H: 4, E: 16 },
    layout: { qkv: [4, 24_580, 60_000], grads: [8, 24_600, 49_200], pad: 12 },
  },
  { shape: { C: 2, B: 3, T: 1, H: 4, E: 32 }, layout: PACKED },
  { shape: { C: 1, B: 2, T: 37, H: 2, E: 32 }, layout: { qkv: [0, 0, 0], grads: [0, 0, 0], pad: 100 } },
  { shape: { C: 2, B: 1, T: 70, H: 3, E: 4 }, layout: PACKED },
];

const fmt = (s: AttentionShape) => `C=${s.C} B=${s.B} T=${s.T} H=${s.H} E=${s.E}`;

/** The adapter's default rows per invocation, and one row (the GPU default), so both kernel layouts are tested. */
const ROWS: AttentionOptions[] = [{}, { rows: 1 }];

Deno.test("createAttentionForward: z and lse match the float64 reference (several shapes, offsets, C copies)", async () => {
  const gpu = await getGpu();
  for (const { shape, layout } of SHAPES) {
    for (const opts of ROWS) {
      const { q, k, v } = inputs(shape, 10);
      const got = await runGpu(gpu, shape, q, k, v, undefined, layout, opts);
      const ref = attentionReference(shape, q, k, v);
      const dz = maxAbsDiff(got.z, ref.z), dl = maxAbsDiff(got.lse, ref.lse);
      console.log(
        `  forward ${fmt(shape)} rows ${opts.rows ?? "default"}: max |Δz| ${dz.toExponential(2)}, ` +
          `max |Δlse| ${dl.toExponential(2)}`,
      );
      assert.ok(dz < 2e-5, `z differs by ${dz}`);
      assert.ok(dl < 2e-5, `lse differs by ${dl}`);
    }
  }
});

Deno.test("createAttentionBackward: dq, dk, dv match the float64 reference and overwrite their destinations", async () => {
  const gpu = await getGpu();
  for (const { shape, layout } of SHAPES) {
    for (const opts of ROWS) {
      const { q, k, v, dz } = inputs(shape, 20);
      const got = await runGpu(gpu, shape, q, k, v, dz, layout, opts);
      const ref = attentionBackwardReference(shape, q, k, v, dz);
      const scale = Math.max(maxAbs(ref.dq), maxAbs(ref.dk), maxAbs(ref.dv));
      const d = [maxAbsDiff(got.dq, ref.dq), maxAbsDiff(got.dk, ref.dk), maxAbsDiff(got.dv, ref.dv)];
      console.log(
        `  backward ${fmt(shape)} rows ${opts.rows ?? "default"}: max |Δdq| ${d[0].toExponential(2)}, |Δdk| ${
          d[1].toExponential(2)
        }, ` +
          `|Δdv| ${d[2].toExponential(2)} (max |grad| ${scale.toFixed(2)})`,
      );
      for (const [name, x] of [["dq", d[0]], ["dk", d[1]], ["dv", d[2]]] as const) {
        assert.ok(x < 5e-5 * Math.max(1, scale), `${name} differs by ${x}`);
      }
    }
  }
});

Deno.test("createAttentionForward/Backward: every number of rows per invocation gives the same bits", async () => {
  const gpu = await getGpu();
  // T = 64 takes up to 64 rows per invocation, T = 70 at most 2, T = 37 only 1; one case computes a head subset.
  // (More rows per invocation compile slowly on llvmpipe, so the test stops at 8.)
  const cases: AttentionShape[] = [
    { C: 2, B: 3, T: 64, H: 4, E: 16 },
    { C: 2, B: 1, T: 70, H: 3, E: 4 },
    { C: 1, B: 2, T: 37, H: 2, E: 32 },
    { C: 2, B: 2, T: 32, H: 4, E: 8, heads: { first: 1, count: 2 } },
  ];
  const bits = (o: Record<string, Float32Array>) => Object.values(o).map((a) => new Uint32Array(a.buffer));
  for (const shape of cases) {
    const { q, k, v, dz } = inputs(shape, 80);
    const one = bits(await runGpu(gpu, shape, q, k, v, dz, PACKED, { rows: 1 }));
    for (const rows of [2, 4, 8, undefined]) {
      const got = bits(await runGpu(gpu, shape, q, k, v, dz, PACKED, { rows }));
      for (let t = 0; t < one.length; t++) {
        assert.deepEqual(
          got[t],
          one[t],
          `${fmt(shape)}: rows ${rows ?? "default"}, output ${t} differs from rows 1`,
        );
      }
    }
  }
});

Deno.test("createAttentionForward/Backward under --tiles tuned: rows timed, cached as family attention, same bits", async () => {
  const gpu = await getGpu();
  const shape: AttentionShape = { C: 2, B: 2, T: 32, H: 2, E: 8 };
  const { q, k, v, dz } = inputs(shape, 90);
  const bits = (o: Record<string, Float32Array>) => Object.values(o).map((a) => new Uint32Array(a.buffer));
  const plain = bits(await runGpu(gpu, shape, q, k, v, dz));
  const cacheFile = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.remove(cacheFile);
  try {
    await setTileTuning(gpu, { mode: "tuned", cacheFile });
    assert.deepEqual(bits(await runGpu(gpu, shape, q, k, v, dz)), plain, "tuned rows changed the bits");
    const cache = JSON.parse(await Deno.readTextFile(cacheFile));
    const entries = Object.values(cache.adapters)[0] as Record<string, { tile: { rows: number } }>;
    const keys = Object.keys(entries).filter((key) => key.startsWith("attention ")).sort();
    assert.deepEqual(keys, ["attention backward T 32 E 8", "attention forward T 32 E 8"]);
    for (const key of keys) {
      console.log(`  ${key}: ${entries[key].tile.rows} rows per invocation`);
      assert.ok([1, 2, 4, 8, 16].includes(entries[key].tile.rows), `${key}: ${entries[key].tile.rows}`);
    }
    // A cache entry whose rows do not divide T would mix sequences in one invocation: refused, naming the file.
    entries["attention forward T 32 E 8"].tile.rows = 3;
    cache.adapters[adapterKey(gpu)] = entries;
    await Deno.writeTextFile(cacheFile, JSON.stringify(cache));
    await setTileTuning(gpu, { mode: "tuned", cacheFile });
    await assert.rejects(
      () => runGpu(gpu, shape, q, k, v, dz),
      (e: unknown) =>
        e instanceof TileCacheError && e.message.includes(cacheFile) && /rows 3/.test(e.message),
    );
  } finally {
    await setTileTuning(gpu, { mode: "heuristic" });
    await Deno.remove(cacheFile).catch(() => {});
  }
});

Deno.test("attentionBackwardReference: dq, dk, dv match central finite differences of Σ dz·z", () => {
  const shape: AttentionShape = { C: 2, B: 1, T: 5, H: 2, E: 4 };
  const { q, k, v, dz } = inputs(shape, 30);
  const x = { q: Float64Array.from(q), k: Float64Array.from(k), v: Float64Array.from(v) };
  const loss = () => {
    const { z } = attentionReference(shape, x.q, x.k, x.v);
    let s = 0;
    for (let i = 0; i < z.length; i++) s += dz[i] * z[i];
    return s;
  };
  const g = attentionBackwardReference(shape, x.q, x.k, x.v, dz);
  const h = 1e-5;
  let worst = 0;
  for (const [name, arr, grad] of [["q", x.q, g.dq], ["k", x.k, g.dk], ["v", x.v, g.dv]] as const) {
    for (let i = 0; i < arr.length; i++) {
      const keep = arr[i];
      arr[i] = keep + h;
      const up = loss();
      arr[i] = keep - h;
      const down = loss();
      arr[i] = keep;
      const fd = (up - down) / (2 * h);
      const diff = Math.abs(fd - grad[i]);
      worst = Math.max(worst, diff);
      assert.ok(diff < 1e-7, `d${name}[${i}]: analytic ${grad[i]}, finite difference ${fd}`);
    }
  }
  console.log(`  finite differences: max |analytic − numeric| ${worst.toExponential(2)}`);
});

Deno.test("createAttentionForward/Backward: causal — changing a later key/value leaves earlier rows unchanged", async () => {
  const gpu = await getGpu();
  const shape: AttentionShape = { C: 1, B: 2, T: 16, H: 2, E: 8 };
  const { q, k, v, dz } = inputs(shape, 40);
  const base = await runGpu(gpu, shape, q, k, v, dz);
  const t = 9; // perturb key/value position t of every sequence
  const k2 = k.slice(), v2 = v.slice();
  for (let seq = 0; seq < shape.B * shape.H; seq++) {
    for (let e = 0; e < shape.E; e++) {
      k2[(seq * shape.T + t) * shape.E + e] += 3;
      v2[(seq * shape.T + t) * shape.E + e] -= 2;
    }
  }
  const moved = await runGpu(gpu, shape, q, k2, v2, dz);
  const { B, T, H, E } = shape;
  let changedLater = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let h = 0; h < H; h++) {
        const zr = ((b * T + i) * H + h) * E, qr = ((h * B + b) * T + i) * E;
        const zd = maxAbsDiff(base.z.subarray(zr, zr + E), moved.z.subarray(zr, zr + E));
        const qd = maxAbsDiff(base.dq.subarray(qr, qr + E), moved.dq.subarray(qr, qr + E));
        if (i < t) {
          assert.equal(zd, 0, `z row ${i} (b ${b}, h ${h}) changed with key ${t}`);
          assert.equal(qd, 0, `dq row ${i} (b ${b}, h ${h}) changed with key ${t}`);
        } else if (zd > 1e-3) changedLater++;
      }
    }
  }
  assert.ok(changedLater > 0, "the perturbation changed no later row either: the test does not bite");
  console.log(`  causal: rows < ${t} bit-identical, ${changedLater} later rows changed`);
});

Deno.test("createAttentionForward/Backward: large scores (|s| in the hundreds) stay finite and match the reference", async () => {
  const gpu = await getGpu();
  const shape: AttentionShape = { C: 1, B: 2, T: 48, H: 2, E: 16 };
  const { q, k, v, dz } = inputs(shape, 50, 12); // scores scale·q·k = 144·Σ_16 N·N / 4, |s| up to ~500
  const got = await runGpu(gpu, shape, q, k, v, dz);
  const ref = attentionReference(shape, q, k, v);
  const gref = attentionBackwardReference(shape, q, k, v, dz);
  for (const [name, a] of Object.entries(got)) {
    for (let i = 0; i < a.length; i++) assert.ok(Number.isFinite(a[i]), `${name}[${i}] = ${a[i]}`);
  }
  const maxLse = maxAbs(ref.lse);
  const dz_ = maxAbsDiff(got.z, ref.z), dl = maxAbsDiff(got.lse, ref.lse) / maxLse;
  const dv = maxAbsDiff(got.dv, gref.dv);
  console.log(
    `  large scores (max |lse| ${maxLse.toFixed(0)}): max |Δz| ${dz_.toExponential(2)}, ` +
      `rel |Δlse| ${dl.toExponential(2)}, max |Δdv| ${dv.toExponential(2)}`,
  );
  assert.ok(maxLse > 300, `scores not large enough (max |lse| ${maxLse})`);
  // f32 scores carry ~1e-7 relative error, i.e. ~1e-4 absolute here; softmax amplifies it by at most that.
  assert.ok(dz_ < 1e-3, `z differs by ${dz_}`);
  assert.ok(dl < 1e-6, `lse differs by ${dl} relative`);
  assert.ok(dv < 1e-3, `dv differs by ${dv}`);
});

Deno.test("createAttentionForward/Backward: paper shape (T=1024, E=32, H=8, B=2) agrees with the reference on sampled sequences", async () => {
  const gpu = await getGpu();
  const shape: AttentionShape = { C: 1, B: 2, T: 1024, H: 8, E: 32 };
  const { q, k, v, dz } = inputs(shape, 60);
  const got = await runGpu(gpu, shape, q, k, v, dz);
  const { B, T, H, E } = shape;
  const one: AttentionShape = { C: 1, B: 1, T, H: 1, E };
  const worst = { z: 0, lse: 0, dq: 0, dk: 0, dv: 0 };
  for (const seq of [0, 7, 13]) { // seq = h·B + b
    const h = Math.floor(seq / B), b = seq % B;
    const rows = (a: Float32Array) => a.slice(seq * T * E, (seq + 1) * T * E);
    const zrows = (a: Float32Array) => {
      const out = new Float32Array(T * E);
      for (let i = 0; i < T; i++) {
        out.set(a.subarray(((b * T + i) * H + h) * E, ((b * T + i) * H + h + 1) * E), i * E);
      }
      return out;
    };
    const [qs, ks, vs] = [rows(q), rows(k), rows(v)];
    const ref = attentionReference(one, qs, ks, vs);
    const gref = attentionBackwardReference(one, qs, ks, vs, zrows(dz));
    worst.z = Math.max(worst.z, maxAbsDiff(zrows(got.z), ref.z));
    worst.lse = Math.max(worst.lse, maxAbsDiff(got.lse.slice(seq * T, (seq + 1) * T), ref.lse));
    worst.dq = Math.max(worst.dq, maxAbsDiff(rows(got.dq), gref.dq));
    worst.dk = Math.max(worst.dk, maxAbsDiff(rows(got.dk), gref.dk));
    worst.dv = Math.max(worst.dv, maxAbsDiff(rows(got.dv), gref.dv));
  }
  console.log(
    `  paper shape, sequences 0, 7, 13: ` +
      Object.entries(worst).map(([n, x]) => `max |Δ${n}| ${x.toExponential(2)}`).join(", "),
  );
  for (const [n, x] of Object.entries(worst)) assert.ok(x < 1e-4, `${n} differs by ${x}`);
});

Deno.test("createAttentionForward/Backward: all operands in one arena buffer (read and written by one dispatch)", async () => {
  const gpu = await getGpu();
  const shape: AttentionShape = { C: 2, B: 2, T: 20, H: 2, E: 8 };
  const rows = shape.C * shape.H * shape.B * shape.T, n = rows * shape.E;
  const { q, k, v, dz } = inputs(shape, 70);
  // Offsets (elements): q, k, v, z, dz, dq, dk, dv of n each, then lse and d of `rows` each, with gaps.
  const names = ["q", "k", "v", "z", "dz", "dq", "dk", "dv", "lse", "d"] as const;
  const at: Record<string, number> = {};
  let end = 4;
  for (const name of names) {
    at[name] = end;
    end += (name === "lse" || name === "d" ? rows : n) + 4;
  }
  const arena = storageBuffer(gpu, "arena", end * 4);
  upload(gpu, arena, new Float32Array(end).fill(SENTINEL));
  for (const [name, data] of [["q", q], ["k", k], ["v", v], ["dz", dz]] as const) {
    upload(gpu, arena, data, at[name] * 4);
  }
  const op = (name: string) => ({ buffer: arena, offset: at[name] });
  const list = [
    ...await createAttentionForward(gpu, shape, {
      q: op("q"),
      k: op("k"),
      v: op("v"),
      z: op("z"),
      lse: op("lse"),
    }),
    ...await createAttentionBackward(gpu, shape, {
      q: op("q"),
      k: op("k"),
      v: op("v"),
      z: op("z"),
      lse: op("lse"),
      dz: op("dz"),
      dq: op("dq"),
      dk: op("dk"),
      dv: op("dv"),
      d: op("d"),
    }),
  ];
  await validated(gpu, "arena attention", () => submitDispatches(gpu, list));
  const [all] = (await readBuffers(gpu, [{ buffer: arena }])).map((b) => new Float32Array(b));
  arena.destroy();
  const ref = attentionReference(shape, q, k, v);
  const gref = attentionBackwardReference(shape, q, k, v, dz);
  const get = (name: string, len: number) => all.slice(at[name], at[name] + len);
  const d = {
    z: maxAbsDiff(get("z", n), ref.z),
    lse: maxAbsDiff(get("lse", rows), ref.lse),
    dq: maxAbsDiff(get("dq", n), gref.dq),
    dk: maxAbsDiff(get("dk", n), gref.dk),
    dv: maxAbsDiff(get("dv", n), gref.dv),
  };
  console.log(
    `  arena: ${Object.entries(d).map(([name, x]) => `max |Δ${name}| ${x.toExponential(2)}`).join(", ")}`,
  );
  for (const [name, x] of Object.entries(d)) assert.ok(x < 2e-5, `${name} differs by ${x}`);
  for (let i = 0; i < 4; i++) assert.equal(all[i], SENTINEL, `arena[${i}] before the operands was written`);
  for (const name of names) {
    const len = name === "lse" || name === "d" ? rows : n;
    for (let i = at[name] + len; i < at[name] + len + 4; i++) {
      assert.equal(all[i], SENTINEL, `arena gap after ${name} was written`);
    }
  }
});

Deno.test("createAttentionForward/Backward: bad shapes and operands throw errors naming the argument", async () => {
  const gpu = await getGpu();
  const shape: AttentionShape = { C: 1, B: 1, T: 4, H: 2, E: 8 };
  const n = 64;
  const big = storageBuffer(gpu, "big", 4 * 4 * n);
  const small = storageBuffer(gpu, "small", 4 * (n - 1));
  const io = {
    q: { buffer: big, offset: 0 },
    k: { buffer: big, offset: n },
    v: { buffer: big, offset: 2 * n },
    z: { buffer: big, offset: 3 * n },
    lse: { buffer: small, offset: 0 },
  };
  const rejects = async (f: () => Promise<unknown>, argument: string, pattern: RegExp) => {
    await assert.rejects(f, (e: unknown) => {
      assert.ok(e instanceof AttentionError, String(e));
      assert.equal(e.argument, argument);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await rejects(() => createAttentionForward(gpu, { ...shape, E: 6 }, io), "shape.E", /multiple of 4/);
  await rejects(() => createAttentionForward(gpu, { ...shape, T: 0 }, io), "shape.T", /positive integer/);
  for (const rows of [0, 1.5, 65]) {
    await rejects(
      () => createAttentionForward(gpu, shape, io, { rows }),
      "opts.rows",
      /integer in \[1, 64\]/,
    );
  }
  await rejects(
    () => createAttentionForward(gpu, shape, { ...io, k: { buffer: small, offset: 4 } }),
    "k",
    /needs 64 f32.*"small"/,
  );
  await rejects(
    () => createAttentionForward(gpu, shape, { ...io, v: { buffer: big, offset: 2 } }),
    "v",
    /multiple of 4/,
  );
  await rejects(
    () => createAttentionForward(gpu, shape, { ...io, z: { buffer: big, offset: 2 * n + 4 } }),
    "z",
    /overlaps v/,
  );
  const bio = {
    ...io,
    lse: { buffer: small, offset: 0 },
    dz: { buffer: big, offset: 3 * n },
    dq: { buffer: small, offset: 0 },
    dk: { buffer: small, offset: 0 },
    dv: { buffer: small, offset: 0 },
    d: { buffer: small, offset: 0 },
  };
  await rejects(() => createAttentionBackward(gpu, shape, bio), "dq", /needs 64 f32/);
  const { dz: _, ...missing } = bio;
  await rejects(
    () =>
      createAttentionBackward(
        gpu,
        shape,
        missing as unknown as Parameters<typeof createAttentionBackward>[2],
      ),
    "dz",
    /expected \{buffer/,
  );
  assert.throws(
    () => attentionReference(shape, new Float32Array(n), new Float32Array(n - 1), new Float32Array(n)),
    /attention: k: expected 64/,
  );
  big.destroy();
  small.destroy();
});

// ---------------------------------------------------------------------------------------------------------
// Head subsets (AttentionShape.heads).

/** What the head-subset runs fill every output with first: outputs of heads not computed must keep it. */
const UNTOUCHED = 777;

/**
 * Fills z, lse, dq, dk, dv, d with UNTOUCHED, runs the forward for `forward` (heads included) and, when
 * `backward` is given, the backward for it, all operands at odd offsets inside shared buffers; reads the
 * outputs back (layout of all H heads) and the backward's workgroup grids.
 */
async function runHeads(
  gpu: Gpu,
  forward: AttentionShape,
  data: { q: Float32Array; k: Float32Array; v: Float32Array; dz: Float32Array },
  backward?: AttentionShape,
) {
  const rows = forward.C * forward.H * forward.B * forward.T, n = rows * forward.E;
  const at3 = [4, n + 8, 2 * n + 12]; // q, k, v (and dq, dk, dv) in one buffer each, gaps of 4
  const buffer = (label: string, len: number, fill: number) => {
    const b = storageBuffer(gpu, label, len * 4);
    upload(gpu, b, new Float32Array(len).fill(fill));
    return b;
  };
  const qkv = buffer("qkv", 3 * n + 16, 0);
  for (const [x, off] of [[data.q, at3[0]], [data.k, at3[1]], [data.v, at3[2]]] as const) {
    upload(gpu, qkv, x, off * 4);
  }
  const zBuf = buffer("z", n + 8, UNTOUCHED), dzBuf = buffer("dz", n + 4, 0);
  upload(gpu, dzBuf, data.dz, 4 * 4);
  const lseBuf = buffer("lse", rows + 4, UNTOUCHED), dBuf = buffer("d", rows + 4, UNTOUCHED);
  const gBuf = buffer("dqkv", 3 * n + 16, UNTOUCHED);
  const qkvIO = {
    q: { buffer: qkv, offset: at3[0] },
    k: { buffer: qkv, offset: at3[1] },
    v: { buffer: qkv, offset: at3[2] },
    z: { buffer: zBuf, offset: 8 },
    lse: { buffer: lseBuf, offset: 4 },
  };
  const list = await createAttentionForward(gpu, forward, qkvIO);
  const bwd = backward
    ? await createAttentionBackward(gpu, backward, {
      ...qkvIO,
      dz: { buffer: dzBuf, offset: 4 },
      dq: { buffer: gBuf, offset: at3[0] },
      dk: { buffer: gBuf, offset: at3[1] },
      dv: { buffer: gBuf, offset: at3[2] },
      d: { buffer: dBuf, offset: 4 },
    })
    : [];
  await validated(gpu, "attention heads test", () => submitDispatches(gpu, [...list, ...bwd]));
  const [z, lse, g, d] = (await readBuffers(gpu, [zBuf, lseBuf, gBuf, dBuf].map((buffer) => ({ buffer }))))
    .map((b) => new Float32Array(b));
  for (const b of [qkv, zBuf, dzBuf, lseBuf, dBuf, gBuf]) b.destroy();
  return {
    z: z.slice(8, 8 + n),
    lse: lse.slice(4, 4 + rows),
    dq: g.slice(at3[0], at3[0] + n),
    dk: g.slice(at3[1], at3[1] + n),
    dv: g.slice(at3[2], at3[2] + n),
    d: d.slice(4, 4 + rows),
    grids: bwd.map((x) => x.workgroups),
    fwdGrid: list[0].workgroups,
  };
}

/**
 * Checks one head-restricted output against the all-heads run: per sequence (c, h, b) of the layout
 * [C, H, B, T, per] (or, with `zLayout`, [C, B, T, H, per]), a computed head's values have the full run's bits
 * and any other head's are all UNTOUCHED. Returns a copy with the untouched values zeroed (what the float64
 * reference with the same heads holds there).
 */
function checkHeads(
  name: string,
  shape: AttentionShape & { heads: AttentionHeads },
  got: Float32Array,
  full: Float32Array,
  per: number,
  zLayout = false,
): Float32Array {
  const { C, B, T, H } = shape, { first, count } = shape.heads;
  const gotBits = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const fullBits = new Uint32Array(full.buffer, full.byteOffset, full.length);
  const zeroed = got.slice();
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < H; h++) {
      const computed = h >= first && h < first + count;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < T; i++) {
          const at = (zLayout ? ((c * B + b) * T + i) * H + h : ((c * H + h) * B + b) * T + i) * per;
          for (let e = at; e < at + per; e++) {
            if (computed) {
              if (gotBits[e] !== fullBits[e]) {
                assert.fail(
                  `${name}[${e}] (c ${c}, h ${h}, b ${b}, i ${i}): ${got[e]}, all heads gave ${full[e]}`,
                );
              }
            } else {
              assert.equal(got[e], UNTOUCHED, `${name}[${e}] of head ${h} (not computed) was written`);
              zeroed[e] = 0;
            }
          }
        }
      }
    }
  }
  return zeroed;
}

const HEAD_CASES: Array<{ shape: AttentionShape; subsets: AttentionHeads[] }> = [
  {
    shape: { C: 2, B: 3, T: 37, H: 4, E: 16 },
    subsets: [{ first: 1, count: 1 }, { first: 1, count: 2 }, { first: 3, count: 1 }],
  },
  { shape: { C: 3, B: 2, T: 21, H: 3, E: 8 }, subsets: [{ first: 1, count: 1 }, { first: 1, count: 2 }] },
];

Deno.test("createAttentionBackward: heads {first, count} computes only those heads, bit-identical to all heads, the rest untouched", async () => {
  const gpu = await getGpu();
  for (const { shape, subsets } of HEAD_CASES) {
    const data = inputs(shape, 80);
    const full = await runHeads(gpu, shape, data, shape);
    const fullRef = attentionBackwardReference(shape, data.q, data.k, data.v, data.dz);
    for (const heads of subsets) {
      const sub = { ...shape, heads };
      const got = await runHeads(gpu, shape, data, sub);
      const rows = shape.C * heads.count * shape.B * shape.T;
      assert.deepEqual(got.grids, [[Math.ceil(rows / 64), 1, 1], [Math.ceil(rows / 64), 1, 1]], "grid");
      const ref = attentionBackwardReference(sub, data.q, data.k, data.v, data.dz);
      const d: number[] = [];
      for (const name of ["dq", "dk", "dv"] as const) {
        const zeroed = checkHeads(name, sub, got[name], full[name], shape.E);
        // The reference with heads: the full reference's values on the computed heads, 0 elsewhere.
        for (let e = 0; e < zeroed.length; e++) {
          const want = got[name][e] === UNTOUCHED ? 0 : fullRef[name][e];
          assert.equal(ref[name][e], want, `reference ${name}[${e}] with heads`);
        }
        const scale = maxAbs(ref[name]);
        d.push(maxAbsDiff(zeroed, ref[name]));
        assert.ok(d[d.length - 1] < 5e-5 * Math.max(1, scale), `${name} differs by ${d[d.length - 1]}`);
      }
      checkHeads("d", sub, got.d, full.d, 1);
      console.log(
        `  heads ${heads.first}..${heads.first + heads.count - 1} of ${fmt(shape)}: bit-identical to all ` +
          `heads, others untouched; max |Δ| vs float64 dq ${d[0].toExponential(2)}, dk ${
            d[1].toExponential(2)
          }, dv ${d[2].toExponential(2)}`,
      );
    }
    // Every head spelled out is the default.
    const all = await runHeads(gpu, shape, data, { ...shape, heads: { first: 0, count: shape.H } });
    for (const name of ["dq", "dk", "dv", "d"] as const) {
      assert.deepEqual(new Uint32Array(all[name].buffer), new Uint32Array(full[name].buffer), name);
    }
  }
});

Deno.test("createAttentionForward: heads {first, count} writes only those heads' z and lse, bit-identical to all heads", async () => {
  const gpu = await getGpu();
  const { shape } = HEAD_CASES[0];
  const data = inputs(shape, 90);
  const full = await runHeads(gpu, shape, data);
  for (const heads of [{ first: 1, count: 1 }, { first: 1, count: 2 }]) {
    const sub = { ...shape, heads };
    const got = await runHeads(gpu, sub, data);
    const rows = shape.C * heads.count * shape.B * shape.T;
    assert.deepEqual(got.fwdGrid, [Math.ceil(rows / 64), 1, 1], "grid");
    const ref = attentionReference(sub, data.q, data.k, data.v);
    const dz = maxAbsDiff(checkHeads("z", sub, got.z, full.z, shape.E, true), ref.z);
    const dl = maxAbsDiff(checkHeads("lse", sub, got.lse, full.lse, 1), ref.lse);
    console.log(
      `  forward heads ${heads.first}..${
        heads.first + heads.count - 1
      }: bit-identical to all heads, others ` +
        `untouched; max |Δz| ${dz.toExponential(2)}, |Δlse| ${dl.toExponential(2)} vs float64`,
    );
    assert.ok(dz < 2e-5, `z differs by ${dz}`);
    assert.ok(dl < 2e-5, `lse differs by ${dl}`);
  }
});

Deno.test("createAttentionForward/Backward: bad heads throw errors naming the field", async () => {
  const gpu = await getGpu();
  const shape: AttentionShape = { C: 1, B: 1, T: 4, H: 3, E: 8 };
  const n = 96;
  const buf = (label: string) => ({ buffer: storageBuffer(gpu, label, 4 * n) });
  const io = { q: buf("q"), k: buf("k"), v: buf("v"), z: buf("z"), lse: buf("lse") };
  const bio = { ...io, dz: buf("dz"), dq: buf("dq"), dk: buf("dk"), dv: buf("dv"), d: buf("d") };
  const cases: Array<[unknown, string, RegExp]> = [
    [null, "shape.heads", /expected \{first, count\}/],
    [1, "shape.heads", /expected \{first, count\}/],
    [{ first: -1, count: 1 }, "shape.heads.first", /non-negative integer, got -1/],
    [{ first: 0.5, count: 1 }, "shape.heads.first", /non-negative integer, got 0.5/],
    [{ count: 1 }, "shape.heads.first", /non-negative integer, got undefined/],
    [{ first: 0, count: 0 }, "shape.heads.count", /positive integer, got 0/],
    [{ first: 1, count: 1.5 }, "shape.heads.count", /positive integer, got 1.5/],
    [{ first: 2, count: 2 }, "shape.heads.count", /heads \[2, 4\) exceed the H = 3 heads/],
    [{ first: 3, count: 1 }, "shape.heads.count", /heads \[3, 4\) exceed/],
  ];
  const check = (argument: string, pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof AttentionError, String(e));
    assert.equal(e.argument, argument);
    assert.match(e.message, pattern);
    return true;
  };
  for (const [heads, argument, pattern] of cases) {
    const bad = { ...shape, heads } as AttentionShape;
    await assert.rejects(() => createAttentionForward(gpu, bad, io), check(argument, pattern));
    await assert.rejects(() => createAttentionBackward(gpu, bad, bio), check(argument, pattern));
    const x = new Float32Array(n);
    assert.throws(() => attentionBackwardReference(bad, x, x, x, x), check(argument, pattern));
    assert.throws(() => attentionReference(bad, x, x, x), check(argument, pattern));
  }
  for (const b of Object.values(bio)) b.buffer.destroy();
});
