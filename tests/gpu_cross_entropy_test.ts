import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, storageBuffer, storageFrom } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import {
  checkTokens,
  createCrossEntropy,
  createMeanLoss,
  crossEntropyReference,
  type CrossEntropySpec,
} from "../lib/model/cross_entropy.ts";
import { rng } from "./support/random.ts";

interface Case {
  C: number;
  B: number;
  T: number;
  V: number;
  /** Per-copy token stride: 0 (shared batch) or ≥ B·T. */
  tokStride: number;
  tokOff: number;
  logitsOff: number;
  lossOff: number;
  /** Logit spread and shift (a large shift tests the max subtraction). */
  spread: number;
  shift: number;
}

function makeData(k: Case, seed: number) {
  const r = rng(seed);
  const R = k.C * k.B * k.T;
  const logits = new Float32Array(R * k.V);
  for (let i = 0; i < logits.length; i++) logits[i] = k.shift + k.spread * (2 * r() - 1);
  const nTok = k.tokOff + (k.tokStride === 0 ? k.B * k.T : (k.C - 1) * k.tokStride + k.B * k.T) + 3;
  const tokens = new Int32Array(nTok).fill(-7); // padding is invalid on purpose: it must never be read
  for (let c = 0; c < (k.tokStride === 0 ? 1 : k.C); c++) {
    for (let i = 0; i < k.B * k.T; i++) tokens[k.tokOff + c * k.tokStride + i] = Math.floor(r() * k.V);
  }
  return { logits, tokens, R };
}

async function runCase(
  k: Case,
  mode: "forward" | "backward",
  chunks = 1,
  layout?: CrossEntropySpec["layout"],
) {
  const gpu = await getGpu();
  const { logits, tokens, R } = makeData(k, 11 + k.V);
  const tokBuf = storageFrom(gpu, "tokens", tokens);
  const lossBuf = storageFrom(gpu, "losses", new Float32Array(k.lossOff + R + 5).fill(99));
  const outBuf = storageFrom(gpu, "mean losses", new Float32Array(3 * k.C + 2).fill(99));
  const per = Math.ceil(R / chunks);
  const logitBufs: GPUBuffer[] = [];
  const dispatches = [];
  for (let start = 0; start < R; start += per) {
    const rows = Math.min(per, R - start);
    const data = new Float32Array(k.logitsOff + rows * k.V + 9);
    data.set(logits.subarray(start * k.V, (start + rows) * k.V), k.logitsOff);
    const buf = storageFrom(gpu, "logits", data);
    logitBufs.push(buf);
    const spec: CrossEntropySpec = {
      copies: k.C,
      batch: k.B,
      seqLen: k.T,
      vocab: k.V,
      mode,
      tokensOffset: k.tokOff,
      tokensCopyStride: k.tokStride,
      logitsOffset: k.logitsOff,
      lossOffset: k.lossOff,
      rowStart: start,
      rowCount: rows,
      layout,
    };
    dispatches.push(...await createCrossEntropy(gpu, spec, buf, tokBuf, lossBuf));
  }
  // Mean losses into slot 1 of a 3-slot ring: [slot][copy].
  dispatches.push(
    ...await createMeanLoss(
      gpu,
      { copies: k.C, batch: k.B, seqLen: k.T, lossOffset: k.lossOff, outOffset: k.C },
      lossBuf,
      outBuf,
    ),
  );
  submitDispatches(gpu, dispatches);
  const gotLoss = await readF32(gpu, lossBuf);
  const gotOut = await readF32(gpu, outBuf);
  const gotLogits = new Float32Array(R * k.V);
  let at = 0;
  for (const buf of logitBufs) {
    const all = await readF32(gpu, buf);
    const rows = Math.min(per, R - at);
    gotLogits.set(all.subarray(k.logitsOff, k.logitsOff + rows * k.V), at * k.V);
    // Padding around the chunk is untouched.
    for (let i = 0; i < k.logitsOff; i++) assert.equal(all[i], 0);
    for (let i = k.logitsOff + rows * k.V; i < all.length; i++) assert.equal(all[i], 0);
    at += rows;
    buf.destroy();
  }
  for (let i = 0; i < k.lossOff; i++) assert.equal(gotLoss[i], 99, "losses before lossOffset untouched");
  for (let i = 0; i < k.C; i++) assert.equal(gotOut[i], 99, "other ring slots untouched");
  for (let i = 2 * k.C; i < gotOut.length; i++) assert.equal(gotOut[i], 99, "other ring slots untouched");
  tokBuf.destroy();
  lossBuf.destroy();
  outBuf.destroy();
  const ref = crossEntropyReference(logits, tokens, {
    copies: k.C,
    batch: k.B,
    seqLen: k.T,
    vocab: k.V,
    tokensOffset: k.tokOff,
    tokensCopyStride: k.tokStride,
  });
  return {
    logits,
    tokens,
    ref,
    losses: gotLoss.subarray(k.lossOff, k.lossOff + R),
    mean: gotOut.subarray(k.C, 2 * k.C),
    dlogits: gotLogits,
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const CASES: Array<[string, Case]> = [
  ["V=37, C=2 per-copy tokens, offsets", {
    C: 2,
    B: 3,
    T: 5,
    V: 37,
    tokStride: 17,
    tokOff: 3,
    logitsOff: 13,
    lossOff: 7,
    spread: 4,
    shift: 0,
  }],
  ["V=5000, C=2 shared tokens (stride 0)", {
    C: 2,
    B: 2,
    T: 4,
    V: 5000,
    tokStride: 0,
    tokOff: 1,
    logitsOff: 4,
    lossOff: 2,
    spread: 6,
    shift: 50,
  }],
  ["V=512, C=1, T=2", {
    C: 1,
    B: 5,
    T: 2,
    V: 512,
    tokStride: 10,
    tokOff: 0,
    logitsOff: 0,
    lossOff: 0,
    spread: 3,
    shift: -20,
  }],
];

// Both kernel layouts on every adapter: a row per invocation (the CPU default) and a workgroup per row (GPUs').
for (const [name, k] of CASES) {
  Deno.test(`cross entropy backward vs f64 (${name})`, async () => {
    for (const [chunks, layout] of [[1, "row"], [3, "row"], [1, "workgroup"], [3, "workgroup"]] as const) {
      const got = await runCase(k, "backward", chunks, layout);
      const scale = 1 / (k.B * (k.T - 1));
      const dLoss = maxAbsDiff(got.losses, got.ref.losses);
      const dGrad = maxAbsDiff(got.dlogits, got.ref.dlogits) / scale;
      const dMean = maxAbsDiff(got.mean, got.ref.meanLoss);
      console.log(
        `  ${layout}, chunks=${chunks}: max |Δloss| ${
          dLoss.toExponential(2)
        } (bound 2e-5), max |Δdlogits|/scale ` +
          `${dGrad.toExponential(2)} (bound 1e-6), max |Δmean| ${dMean.toExponential(2)} (bound 2e-5)`,
      );
      assert.ok(dLoss < 2e-5, `loss diff ${dLoss}`);
      assert.ok(dGrad < 1e-6, `dlogits diff ${dGrad}·scale`);
      assert.ok(dMean < 2e-5, `mean diff ${dMean}`);
      // The last position of every sequence has loss 0 and a zero gradient row, exactly.
      for (let g = k.T - 1; g < got.losses.length; g += k.T) {
        assert.equal(got.losses[g], 0);
        for (let v = 0; v < k.V; v++) assert.equal(got.dlogits[g * k.V + v], 0);
      }
    }
  });
}

Deno.test("cross entropy forward mode leaves the logits untouched and gives the same losses", async () => {
  const k = CASES[0][1];
  for (const layout of ["row", "workgroup"] as const) {
    const got = await runCase(k, "forward", 1, layout);
    assert.deepEqual(got.dlogits, got.logits);
    const dLoss = maxAbsDiff(got.losses, got.ref.losses);
    console.log(`  ${layout}: max |Δloss| ${dLoss.toExponential(2)} (bound 2e-5)`);
    assert.ok(dLoss < 2e-5);
  }
});

Deno.test("cross entropy, CPU layout: vec4 rows (V, offset multiples of 4) give the scalar rows' bits", async () => {
  const gpu = await getGpu();
  const k = CASES[2][1];
  const buffers = [
    new Float32Array(k.C * k.B * k.T * k.V + 1),
    new Int32Array(k.B * k.T),
    new Float32Array(k.B * k.T),
  ]
    .map((a, i) => storageFrom(gpu, `b${i}`, a));
  const spec = {
    copies: k.C,
    batch: k.B,
    seqLen: k.T,
    vocab: k.V,
    tokensCopyStride: 0,
    layout: "row",
  } as const;
  for (const [logitsOffset, label] of [[0, "cross_entropy (vec4 rows)"], [1, "cross_entropy"]] as const) {
    const [op] = await createCrossEntropy(
      gpu,
      { ...spec, mode: "backward", logitsOffset },
      ...buffers as [
        GPUBuffer,
        GPUBuffer,
        GPUBuffer,
      ],
    );
    assert.equal(op.label, label);
  }
  buffers.forEach((b) => b.destroy());
  for (const mode of ["forward", "backward"] as const) {
    const vec4 = await runCase({ ...k, logitsOff: 0 }, mode, 1, "row");
    const scalar = await runCase({ ...k, logitsOff: 1 }, mode, 1, "row"); // unaligned: the scalar kernel
    assert.deepEqual(vec4.losses, scalar.losses, `${mode}: losses differ`);
    assert.deepEqual(vec4.dlogits, scalar.dlogits, `${mode}: logits differ`);
  }
});

Deno.test("cross entropy backward: dlogits match central finite differences of the mean loss (f64)", async () => {
  const k: Case = { ...CASES[0][1], V: 23, B: 2, T: 4 };
  const got = await runCase(k, "backward");
  const spec = {
    copies: k.C,
    batch: k.B,
    seqLen: k.T,
    vocab: k.V,
    tokensOffset: k.tokOff,
    tokensCopyStride: k.tokStride,
  };
  const x = Float64Array.from(got.logits);
  const h = 1e-5;
  const r = rng(5);
  let maxRel = 0;
  const R = k.C * k.B * k.T;
  // Every target entry plus random others, in every row (the last positions must give 0).
  for (let g = 0; g < R; g++) {
    const c = Math.floor(g / (k.B * k.T));
    const bt = g % (k.B * k.T);
    const entries = [Math.floor(r() * k.V), Math.floor(r() * k.V)];
    if (g % k.T !== k.T - 1) entries.push(got.tokens[k.tokOff + c * k.tokStride + bt + 1]);
    for (const v of entries) {
      const i = g * k.V + v;
      const x0 = x[i];
      x[i] = x0 + h;
      const up = crossEntropyReference(x, got.tokens, spec).meanLoss[c];
      x[i] = x0 - h;
      const dn = crossEntropyReference(x, got.tokens, spec).meanLoss[c];
      x[i] = x0;
      const fd = (up - dn) / (2 * h);
      const scale = 1 / (k.B * (k.T - 1));
      maxRel = Math.max(maxRel, Math.abs(got.dlogits[i] - fd) / scale);
    }
  }
  console.log(`  max |gpu dlogits − FD| / gradScale = ${maxRel.toExponential(2)} (bound 1e-5)`);
  assert.ok(maxRel < 1e-5, `FD mismatch ${maxRel}`);
});

Deno.test("cross entropy of uniform logits is ln V (V = 37, 5000)", async () => {
  const gpu = await getGpu();
  for (const V of [37, 5000]) {
    const C = 2, B = 2, T = 3;
    const logits = storageFrom(gpu, "logits", new Float32Array(C * B * T * V).fill(3.7));
    const tokens = storageFrom(gpu, "tokens", Int32Array.from({ length: B * T }, (_, i) => (i * 7) % V));
    const losses = storageBuffer(gpu, "losses", C * B * T * 4);
    const out = storageBuffer(gpu, "out", C * 4);
    const spec = { copies: C, batch: B, seqLen: T, vocab: V, tokensCopyStride: 0 };
    submitDispatches(gpu, [
      ...await createCrossEntropy(gpu, { ...spec, mode: "forward" }, logits, tokens, losses),
      ...await createMeanLoss(gpu, spec, losses, out),
    ]);
    const l = await readF32(gpu, losses);
    const m = await readF32(gpu, out);
    for (let g = 0; g < C * B * T; g++) {
      const want = g % T === T - 1 ? 0 : Math.log(V);
      assert.ok(Math.abs(l[g] - want) < 2e-6 * Math.log(V), `row ${g}: ${l[g]} vs ${want}`);
    }
    for (const v of m) assert.ok(Math.abs(v - Math.log(V)) < 2e-6 * Math.log(V), `mean ${v} vs ln ${V}`);
    console.log(`  V=${V}: loss ${l[0]} vs ln V = ${Math.log(V)}`);
    for (const b of [logits, tokens, losses, out]) b.destroy();
  }
});

Deno.test("cross entropy: NaN/Inf logits and out-of-range targets give a NaN loss", async () => {
  const gpu = await getGpu();
  const B = 1, T = 4;
  // V = 40 takes the CPU layout's vec4 rows, V = 37 its scalar rows.
  for (const [V, layout] of [[37, "row"], [40, "row"], [37, "workgroup"]] as const) {
    const data = new Float32Array(B * T * V);
    data[0 * V + 5] = NaN; // row 0
    data[1 * V + V - 1] = Infinity; // row 1
    const logits = storageFrom(gpu, "logits", data);
    const tokens = storageFrom(gpu, "tokens", Int32Array.from([1, 2, 3, V])); // row 2's target is V
    const losses = storageBuffer(gpu, "losses", B * T * 4);
    submitDispatches(
      gpu,
      await createCrossEntropy(
        gpu,
        { copies: 1, batch: B, seqLen: T, vocab: V, tokensCopyStride: 0, mode: "backward", layout },
        logits,
        tokens,
        losses,
      ),
    );
    const l = await readF32(gpu, losses);
    assert.ok(Number.isNaN(l[0]) && Number.isNaN(l[1]) && Number.isNaN(l[2]), `${layout}: losses ${l}`);
    assert.equal(l[3], 0);
    for (const b of [logits, tokens, losses]) b.destroy();
  }
});

Deno.test("checkTokens names the source, the position and the id; op arguments are checked", async () => {
  checkTokens(Int32Array.from([0, 4, 36]), 37, "batch 3");
  assert.throws(
    () => checkTokens(Int32Array.from([0, 4, 37, 2]), 37, "batch 3 of data/train.bin"),
    /batch 3 of data\/train\.bin: token id 37 at position 2 is not in \[0, 37\)/,
  );
  assert.throws(() => checkTokens(Int32Array.from([-1]), 37, "probe"), /probe: token id -1 at position 0/);
  const gpu = await getGpu();
  const small = storageBuffer(gpu, "small", 64);
  const spec: CrossEntropySpec = {
    copies: 2,
    batch: 2,
    seqLen: 4,
    vocab: 37,
    tokensCopyStride: 8,
    mode: "backward",
  };
  await assert.rejects(() => createCrossEntropy(gpu, spec, small, small, small), /cross entropy logits/);
  await assert.rejects(
    () => createCrossEntropy(gpu, { ...spec, seqLen: 1 }, small, small, small),
    /cross entropy seqLen: expected an integer ≥ 2/,
  );
  small.destroy();
});
