import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, readU32, storageFrom, upload } from "../lib/gpu/buffers.ts";
import { createSgld, FLAG_HEALTHY } from "../lib/estimate/sgld.ts";
import { SgldOptionError } from "../lib/estimate/sgld_settings.ts";
import { maskCount, maskFromSlices, restrictionMask } from "../lib/model/restriction.ts";
import { PhiloxStream, sgldNormal } from "../lib/util/philox.ts";
import { headSlices, paramLayout } from "../lib/model/params.ts";
import type { ModelConfig } from "../lib/model/config.ts";

function normals(n: number, seed: number, scale = 1): Float32Array {
  const r = new PhiloxStream(seed, 99);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

interface RefSpec {
  C: number;
  P: number;
  eps: number;
  nbeta: number;
  gamma: number;
  lambda: number;
  rmsprop: boolean;
  seed: number;
  streamBase: number;
  masks: Uint32Array[];
  restrictionOf: number[];
  wStarPerChain: boolean;
}

/** Float64 reference of one SGLD step (devinterp's update) on every chain; v updated in place. */
function sgldReference(
  s: RefSpec,
  step: number,
  w: Float64Array,
  g: ArrayLike<number>,
  wStar: ArrayLike<number>,
  v: Float64Array,
): Float64Array {
  const out = Float64Array.from(w);
  for (let c = 0; c < s.C; c++) {
    const m = s.masks[s.restrictionOf[c]];
    for (let e = 0; e < s.P; e++) {
      if (((m[e >>> 5] >>> (e & 31)) & 1) === 0) continue;
      const i = c * s.P + e;
      const ws = wStar[s.wStarPerChain ? i : e];
      let pre = 1;
      if (s.rmsprop) {
        v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
        pre = 1 / (Math.sqrt(v[i]) + 0.1);
      }
      const drift = s.nbeta * g[i] + s.gamma * (w[i] - ws) + s.lambda * w[i];
      const xi = sgldNormal(s.seed, s.streamBase + c, step, e);
      out[i] = w[i] - (s.eps / 2) * pre * drift + Math.sqrt(s.eps) * Math.sqrt(pre) * xi;
    }
  }
  return out;
}

for (const rmsprop of [false, true]) {
  for (const wStarPerChain of [false, true]) {
    Deno.test(`sgld kernel: two steps match the f64 reference (rmsprop=${rmsprop}, per-chain w*=${wStarPerChain})`, async () => {
      const gpu = await getGpu();
      const C = 5, P = 1000; // P not a multiple of 32: the last mask word is partial
      const masks = [
        maskFromSlices(P, [{ start: 0, length: P }]),
        maskFromSlices(P, [{ start: 3, length: 250 }, { start: 601, length: 37 }]), // unaligned slices
        maskFromSlices(P, [{ start: 999, length: 1 }]),
      ];
      const spec: RefSpec = {
        C,
        P,
        eps: 1e-3,
        nbeta: 30,
        gamma: 300,
        lambda: 0.01,
        rmsprop,
        seed: 2 ** 33 + 5,
        streamBase: 11,
        masks,
        restrictionOf: [0, 1, 2, 1, 0],
        wStarPerChain,
      };
      const wStar = normals((wStarPerChain ? C : 1) * P, 1, 0.5);
      const w0 = normals(C * P, 2, 0.5);
      const g1 = normals(C * P, 3), g2 = normals(C * P, 4, 2);
      const params = storageFrom(gpu, "w", w0), grads = storageFrom(gpu, "g", g1);
      const wStarBuf = storageFrom(gpu, "w*", wStar);
      const op = await createSgld(gpu, {
        nCopies: C,
        stride: P,
        params,
        grads,
        wStar: wStarBuf,
        wStarPerChain,
        masks,
        restrictionOf: spec.restrictionOf,
      }, spec);
      // Two steps chained on the GPU against the reference chained in f64 from the same w0 (V carried over).
      let ref: Float64Array = Float64Array.from(w0);
      const v2 = new Float64Array(C * P);
      let maxDiff = 0;
      for (const [step, g] of [[7, g1], [8, g2]] as const) {
        upload(gpu, grads, g);
        op.setStep(step);
        const enc = gpu.device.createCommandEncoder();
        op.encode(enc);
        gpu.device.queue.submit([enc.finish()]);
        ref = sgldReference(spec, step, ref, g, wStar, v2);
      }
      const got = await readF32(gpu, params);
      let moved = 0;
      for (let i = 0; i < C * P; i++) {
        const d = Math.abs(got[i] - ref[i]);
        maxDiff = Math.max(maxDiff, d);
        if (ref[i] !== w0[i]) moved++;
        else assert.equal(got[i], w0[i], `element ${i} is masked out and must be untouched bit for bit`);
      }
      const expectMoved = spec.restrictionOf.reduce((s, r) => s + maskCount(masks[r]), 0);
      console.log(
        `  max |gpu − f64| = ${maxDiff.toExponential(2)} over ${moved} moved elements ` +
          `(bound 2e-6: a few f32 roundings of terms ≤ ~0.5 and f32 log/cos in the normals); ${
            C * P - moved
          } untouched`,
      );
      assert.equal(moved, expectMoved);
      assert.ok(maxDiff < 2e-6, `max diff ${maxDiff}`);
      if (rmsprop) {
        const vGot = await readF32(gpu, op.v!);
        let vDiff = 0;
        for (let i = 0; i < C * P; i++) vDiff = Math.max(vDiff, Math.abs(vGot[i] - v2[i]));
        console.log(`  RMSProp V: max |gpu − f64| = ${vDiff.toExponential(2)} (bound 1e-6)`);
        assert.ok(vDiff < 1e-6);
      }
      const flags = await readU32(gpu, op.flags);
      assert.deepEqual([...flags], new Array(C).fill(FLAG_HEALTHY));
      op.destroy();
      for (const b of [params, grads, wStarBuf]) b.destroy();
    });
  }
}

Deno.test("sgld kernel: a non-finite gradient flags its chain with the step; other chains stay healthy", async () => {
  const gpu = await getGpu();
  const C = 3, P = 64;
  const g = normals(C * P, 5);
  g[1 * P + 17] = NaN;
  g[2 * P + 40] = Infinity;
  const params = storageFrom(gpu, "w", new Float32Array(C * P));
  const grads = storageFrom(gpu, "g", g);
  const wStar = storageFrom(gpu, "w*", new Float32Array(P));
  // Chain 2's restriction excludes element 40: its Inf gradient never touches a moving weight.
  const masks = [maskFromSlices(P, [{ start: 0, length: P }]), maskFromSlices(P, [{ start: 0, length: 32 }])];
  const op = await createSgld(gpu, {
    nCopies: C,
    stride: P,
    params,
    grads,
    wStar,
    masks,
    restrictionOf: [0, 0, 1],
  }, {
    eps: 1e-3,
    nbeta: 1,
    gamma: 0,
  });
  op.setStep(42);
  const enc = gpu.device.createCommandEncoder();
  op.encode(enc);
  gpu.device.queue.submit([enc.finish()]);
  const flags = await readU32(gpu, op.flags);
  console.log(
    `  flags after step 42: ${[...flags].map((f) => f === FLAG_HEALTHY ? "healthy" : f).join(", ")}`,
  );
  assert.deepEqual([...flags], [FLAG_HEALTHY, 42, FLAG_HEALTHY]);
  op.destroy();
  for (const b of [params, grads, wStar]) b.destroy();
});

Deno.test("restriction masks: a head's mask covers exactly its headSlices; full covers every tensor", () => {
  const cfg = {
    n_layers: 2,
    d_model: 16,
    d_head: 4,
    n_heads: 4,
    n_ctx: 8,
    d_vocab: 11,
    normalization: "LN",
    positional: "shortformer",
  } as ModelConfig;
  const layout = paramLayout(cfg);
  const m = restrictionMask(layout, "1:2");
  const slices = headSlices(layout, 1, 2);
  assert.equal(maskCount(m), slices.reduce((s, x) => s + x.length, 0));
  assert.equal(maskCount(m), 4 * 16 * 4 + 3 * 4);
  for (const { start, length } of slices) {
    for (const e of [start, start + length - 1]) assert.equal((m[e >>> 5] >>> (e & 31)) & 1, 1);
    if (start > 0) assert.equal((m[(start - 1) >>> 5] >>> ((start - 1) & 31)) & 1, 0);
  }
  assert.equal(maskCount(restrictionMask(layout, "full")), layout.count);
  assert.throws(() => restrictionMask(layout, "head 3"), /neither "full" nor a head/);
  assert.throws(() => restrictionMask(layout, "2:0"), /layer 2 not in/);
});

Deno.test("sgld options: bad hyperparameters and shapes give errors naming them", async () => {
  const gpu = await getGpu();
  const b = storageFrom(gpu, "b", new Float32Array(8));
  const bufs = { nCopies: 2, stride: 4, params: b, grads: b, wStar: b };
  await assert.rejects(() => createSgld(gpu, bufs, { eps: 0, nbeta: 1, gamma: 0 }), SgldOptionError);
  await assert.rejects(() => createSgld(gpu, bufs, { eps: 1e-3, nbeta: NaN, gamma: 0 }), /"nbeta"/);
  await assert.rejects(
    () => createSgld(gpu, { ...bufs, stride: 6 }, { eps: 1, nbeta: 1, gamma: 0 }),
    /"stride"/,
  );
  await assert.rejects(
    () => createSgld(gpu, { ...bufs, nCopies: 3 }, { eps: 1, nbeta: 1, gamma: 0 }),
    /"params": buffer holds 32 bytes, needs 48/,
  );
  await assert.rejects(
    () => createSgld(gpu, { ...bufs, restrictionOf: [0, 1] }, { eps: 1, nbeta: 1, gamma: 0 }),
    /chain 1 names restriction 1/,
  );
  b.destroy();
});
