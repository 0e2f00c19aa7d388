import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, storageFrom, upload } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import {
  buildTokenCsr,
  createEmbedding,
  createEmbeddingBackward,
  csrLength,
  embeddingBackwardReference,
  embeddingReference,
  type EmbeddingSpec,
  embeddingSpecFor,
} from "../lib/model/embedding.ts";
import { paramLayout } from "../lib/model/params.ts";
import { TINY_CONFIG } from "../lib/model/config.ts";
import { rng, uniforms } from "./support/random.ts";

/** C = 2 copies of a small parameter vector: W_E at 8, W_pos after it, other "tensors" around them. */
function smallSpec(V: number, addPositions: boolean, tokensCopyStride: number): EmbeddingSpec {
  const D = 16, T = 8;
  const we = 8, pos = we + V * D + 4;
  return {
    copies: 2,
    batch: 3,
    seqLen: T,
    dModel: D,
    dVocab: V,
    weOffset: we,
    posOffset: pos,
    paramStride: pos + T * D + 12,
    addPositions,
    tokensCopyStride,
    tokensOffset: 5,
    xOffset: 12,
  };
}

/** Token ids: `copies` batches of B·T ids drawn from the first `used` ids (few ids → many repeats). */
function makeTokens(n: number, used: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * used));
}

for (const addPositions of [false, true]) {
  for (const shared of [true, false]) {
    Deno.test(`embedding forward: matches f64 (C=2, ${shared ? "shared" : "per-copy"} tokens, positions ${addPositions})`, async () => {
      const gpu = await getGpu();
      const V = 11;
      const R = 24;
      const spec = smallSpec(V, addPositions, shared ? 0 : R + 7);
      const params = uniforms(2 * spec.paramStride, 1);
      const tokensAll = new Int32Array(5 + R + 7 + R + 2).fill(-3); // gaps hold invalid ids: never read
      const t0 = makeTokens(R, V, 2), t1 = makeTokens(R, V, 3);
      tokensAll.set(t0, 5);
      if (!shared) tokensAll.set(t1, 5 + R + 7);
      const xInit = uniforms(12 + 2 * R * 16 + 8, 4);
      const pBuf = storageFrom(gpu, "params", params);
      const tBuf = storageFrom(gpu, "tokens", tokensAll);
      const xBuf = storageFrom(gpu, "x", xInit);
      submitDispatches(gpu, await createEmbedding(gpu, spec, pBuf, tBuf, xBuf));
      const got = await readF32(gpu, xBuf);
      const want = embeddingReference(spec, params, tokensAll);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[12 + i] - Math.fround(want[i])));
      }
      for (let i = 0; i < 12; i++) assert.equal(got[i], xInit[i], `x[${i}] before the range was written`);
      for (let i = 12 + want.length; i < xInit.length; i++) assert.equal(got[i], xInit[i], `x[${i}] after`);
      // A copy or one f32 add: the result is the correctly rounded f64 value, bit for bit.
      console.log(`  max |gpu − fround(f64)| = ${maxDiff} (bound 0: exact)`);
      assert.equal(maxDiff, 0);
      for (const b of [pBuf, tBuf, xBuf]) b.destroy();
    });
  }
}

Deno.test("embedding forward: a token id outside [0, V) gives a NaN row", async () => {
  const gpu = await getGpu();
  const spec = { ...smallSpec(11, false, 0), copies: 1, tokensOffset: 0, xOffset: 0 };
  const tokens = makeTokens(24, 11, 5);
  tokens[9] = 11;
  const pBuf = storageFrom(gpu, "params", uniforms(spec.paramStride, 1));
  const tBuf = storageFrom(gpu, "tokens", tokens);
  const xBuf = storageFrom(gpu, "x", new Float32Array(24 * 16));
  submitDispatches(gpu, await createEmbedding(gpu, spec, pBuf, tBuf, xBuf));
  const got = await readF32(gpu, xBuf);
  for (let i = 0; i < got.length; i++) {
    assert.equal(Number.isNaN(got[i]), Math.floor(i / 16) === 9, `x[${i}] = ${got[i]}`);
  }
  for (const b of [pBuf, tBuf, xBuf]) b.destroy();
});

Deno.test("embedding CSR: rows grouped by token, in order, segments cover every row once", () => {
  const tokens = Int32Array.from([4, 1, 4, 4, 0, 1, 7]);
  const out = new Uint32Array(csrLength(7, 9));
  buildTokenCsr(tokens, 9, out);
  const S = 7;
  assert.equal(out[0], 4); // distinct ids 0, 1, 4, 7
  assert.deepEqual([...out.subarray(1, 5)], [0, 1, 4, 7]);
  assert.deepEqual([...out.subarray(1 + S, 1 + S + 5)], [0, 1, 3, 6, 7]);
  assert.deepEqual([...out.subarray(2 + 2 * S)], [4, 1, 5, 0, 2, 3, 6]);
});

async function runBackward(
  spec: EmbeddingSpec,
  batches: Int32Array[],
  seed: number,
): Promise<void> {
  const gpu = await getGpu();
  const C = spec.copies, R = spec.batch * spec.seqLen, D = spec.dModel;
  const dx = uniforms((spec.xOffset ?? 0) + C * R * D, seed);
  const grads0 = uniforms(C * spec.paramStride, seed + 1);
  const dxBuf = storageFrom(gpu, "dx", dx);
  const gBuf = storageFrom(gpu, "grads", grads0);
  const op = await createEmbeddingBackward(gpu, spec, dxBuf, gBuf);
  let expect: Float64Array = Float64Array.from(grads0);
  for (const tokens of batches) {
    // Each batch: rows regrouped on the host, the same prepared dispatch replayed.
    op.setTokens(tokens);
    submitDispatches(gpu, op.dispatches);
    expect = embeddingBackwardReference(spec, expect, dx.subarray(spec.xOffset ?? 0), tokens);
  }
  const got = await readF32(gpu, gBuf);
  // Recursive f32 summation of n terms errs by at most n·2⁻²⁴·Σ|terms| (Higham): the same scatter over
  // absolute values gives Σ|terms| per element; n = the most rows of one id in a batch, + 1 for the start value.
  let absSum: Float64Array = Float64Array.from(grads0, Math.abs);
  let maxCount = 0;
  for (const tokens of batches) {
    absSum = embeddingBackwardReference(
      spec,
      absSum,
      Float64Array.from(dx.subarray(spec.xOffset ?? 0), Math.abs),
      tokens,
    );
    const counts = new Map<number, number>();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    maxCount = Math.max(maxCount, ...counts.values());
  }
  const u = (maxCount + 1) * batches.length * 2 ** -24;
  let maxDiff = 0, maxRatio = 0;
  const we = spec.weOffset, end = we + spec.dVocab * D;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < spec.paramStride; i++) {
      const k = c * spec.paramStride + i;
      if (i < we || i >= end) {
        assert.equal(got[k], grads0[k], `grads[${k}] outside dW_E changed`);
        continue;
      }
      const diff = Math.abs(got[k] - expect[k]);
      maxDiff = Math.max(maxDiff, diff);
      maxRatio = Math.max(maxRatio, diff / (u * absSum[k] + 1e-30));
    }
  }
  console.log(
    `  max |gpu − f64| = ${maxDiff.toExponential(2)}; max of |gpu − f64| / (n·2⁻²⁴·Σ|terms|) = ` +
      `${maxRatio.toFixed(3)} (bound 1; most repeats of one id ${maxCount})`,
  );
  assert.ok(maxRatio <= 1, `error ${maxRatio} × the summation bound`);
  // Determinism: the same batch replayed from the same start gives identical bits.
  upload(gpu, gBuf, grads0);
  for (const tokens of batches) {
    op.setTokens(tokens);
    submitDispatches(gpu, op.dispatches);
  }
  const again = await readF32(gpu, gBuf);
  assert.deepEqual(again, got, "a replay of the same batches gave different bits");
  dxBuf.destroy();
  gBuf.destroy();
}

Deno.test("embedding backward: repeated tokens, shared batch, two batches replayed (C=2)", async () => {
  const spec = smallSpec(11, false, 0);
  await runBackward(spec, [makeTokens(24, 5, 7), makeTokens(24, 11, 8)], 20);
});

Deno.test("embedding backward: per-copy tokens, vocabulary larger than the batch (C=2)", async () => {
  const spec = smallSpec(300, true, 24);
  const a = makeTokens(48, 300, 9);
  a.fill(299, 3, 9); // a run of the last id
  await runBackward(spec, [a, makeTokens(48, 3, 10)], 30);
});

Deno.test("embedding backward: TINY model layout, B·T = 1024, per-copy tokens", async () => {
  const layout = paramLayout(TINY_CONFIG);
  const spec = { ...embeddingSpecFor(layout, { copies: 2, batch: 16, seqLen: 64, tokensCopyStride: 1024 }) };
  // Zipf-like ids: a few ids repeat hundreds of times.
  const r = rng(11);
  const tokens = Int32Array.from({ length: 2048 }, () => Math.floor(TINY_CONFIG.d_vocab * r() ** 4));
  await runBackward(spec, [tokens], 40);
});

Deno.test("embedding: bad arguments give errors naming them", async () => {
  const gpu = await getGpu();
  const spec = smallSpec(11, true, 0);
  const p = storageFrom(gpu, "params", new Float32Array(2 * spec.paramStride));
  const t = storageFrom(gpu, "tokens", new Int32Array(5 + 24));
  const x = storageFrom(gpu, "x", new Float32Array(12 + 2 * 24 * 16));
  await createEmbedding(gpu, spec, p, t, x); // the spec itself is fine
  await assert.rejects(
    () => createEmbedding(gpu, { ...spec, dModel: 18 }, p, t, x),
    /embedding dModel: 18 must/,
  );
  await assert.rejects(
    () => createEmbedding(gpu, { ...spec, posOffset: undefined }, p, t, x),
    /embedding posOffset: required/,
  );
  await assert.rejects(() => createEmbedding(gpu, { ...spec, weOffset: 6 }, p, t, x), /embedding weOffset/);
  await assert.rejects(
    () => createEmbedding(gpu, { ...spec, dVocab: 30 }, p, t, x),
    /embedding weOffset: W_E/,
  );
  await assert.rejects(
    () => createEmbedding(gpu, { ...spec, tokensCopyStride: 24 }, p, t, x),
    /embedding tokens:/,
  );
  await assert.rejects(
    () => createEmbedding(gpu, { ...spec, tokensCopyStride: 5 }, p, t, x),
    /tokensCopyStride/,
  );
  await assert.rejects(() => createEmbedding(gpu, { ...spec, xOffset: 16 }, p, t, x), /embedding x:/);
  const big = storageFrom(gpu, "big", new Float32Array(4096));
  await assert.rejects(() => createEmbedding(gpu, spec, big, t, big), /same buffer/);
  const op = await createEmbeddingBackward(gpu, spec, x, p);
  assert.throws(() => op.setTokens(new Int32Array(25)), /setTokens tokens: expected B·T = 24 .* got 25/);
  const bad = new Int32Array(48);
  bad[30] = 11;
  assert.throws(() => op.setTokens(bad), /token id 11 at position 30/);
  await assert.rejects(() => createEmbeddingBackward(gpu, spec, x, x), /same buffer/);
  await assert.rejects(
    () => createEmbeddingBackward(gpu, { ...spec, copies: 3 }, x, p),
    /embedding backward dx/,
  );
  for (const b of [p, t, x, big]) b.destroy();
});
