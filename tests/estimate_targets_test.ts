import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, storageBuffer, upload } from "../lib/gpu/buffers.ts";
import {
  createFormsEval,
  createQuadraticTarget,
  formGrad,
  formValue,
  linearRegressionForms,
} from "./support/targets/quadratic.ts";
import { createCrossingTarget, crossingData, crossingLoss } from "./support/targets/normal_crossing.ts";
import { formMinimizer, invert } from "./support/targets/gaussian.ts";
import { PhiloxStream } from "../lib/util/philox.ts";

function regression(n: number, d: number, seed: number) {
  const r = new PhiloxStream(seed, 1);
  const X = Float64Array.from({ length: n * d }, () => r.normal());
  const y = Float64Array.from({ length: n }, (_, i) => X[i * d] - 0.5 * X[i * d + 1] + 0.3 * r.normal());
  return { X, y };
}

Deno.test("quadratic target: linearRegressionForms equals the MSE; its gradient passes a central finite difference", () => {
  const d = 5, n = 40;
  const { X, y } = regression(n, d, 1);
  const rows = [...Array(n).keys()];
  const q = linearRegressionForms(X, y, d, [rows, rows.slice(0, 7)]);
  const w = [0.3, -0.2, 0.1, 0.7, -1];
  for (const [f, rs] of [[0, rows], [1, rows.slice(0, 7)]] as const) {
    let mse = 0;
    for (const r of rs) {
      let p = 0;
      for (let i = 0; i < d; i++) p += X[r * d + i] * w[i];
      mse += (p - y[r]) ** 2 / rs.length;
    }
    assert.ok(Math.abs(formValue(q, f, w) - mse) < 1e-12, `form ${f}: ${formValue(q, f, w)} vs MSE ${mse}`);
    const g = formGrad(q, f, w);
    let maxFd = 0;
    for (let i = 0; i < d; i++) {
      const h = 1e-5, wp = [...w], wm = [...w];
      wp[i] += h;
      wm[i] -= h;
      maxFd = Math.max(maxFd, Math.abs((formValue(q, f, wp) - formValue(q, f, wm)) / (2 * h) - g[i]));
    }
    console.log(
      `  form ${f}: |q − MSE| < 1e-12, max |central FD − ∇q| = ${maxFd.toExponential(2)} (bound 1e-7)`,
    );
    assert.ok(maxFd < 1e-7);
  }
  const wStar = formMinimizer(q, 0);
  const g0 = formGrad(q, 0, wStar);
  assert.ok(Math.max(...g0.map(Math.abs)) < 1e-10, "∇q(w*) = 0 at the minimizer");
  const I = invert([2, 1, 1, 3], 2);
  assert.deepEqual([...I].map((x) => +x.toFixed(12)), [0.6, -0.2, -0.2, 0.4]);
});

Deno.test("quadratic target (WGSL): loss_grad and forms match f64 on every copy (d = 70 > workgroup)", async () => {
  const gpu = await getGpu();
  const d = 70, n = 90, C = 3;
  const { X, y } = regression(n, d, 2);
  const rows = [...Array(n).keys()];
  const q = linearRegressionForms(X, y, d, [rows.slice(0, 45), rows.slice(45)]);
  const target = await createQuadraticTarget(gpu, { forms: q, nCopies: C, stride: 76 });
  const r = new PhiloxStream(3, 2);
  const w = new Float32Array(C * 76);
  for (let c = 0; c < C; c++) for (let i = 0; i < d; i++) w[c * 76 + i] = 0.2 * r.normal();
  w[76 + 72] = 5; // padding: must be ignored
  upload(gpu, target.params, w);
  const ring = storageBuffer(gpu, "ring", 4 * C * 4);
  target.setBatch(1); // form 1
  const enc = gpu.device.createCommandEncoder();
  target.encodeLossAndGrad(enc, ring, 2);
  gpu.device.queue.submit([enc.finish()]);
  const grads = await readF32(gpu, target.grads), losses = await readF32(gpu, ring);
  const ev = await createFormsEval(gpu, target, q);
  const enc2 = gpu.device.createCommandEncoder();
  ev.encode(enc2);
  gpu.device.queue.submit([enc2.finish()]);
  const all = await readF32(gpu, ev.out);
  let gDiff = 0, lDiff = 0, scale = 0;
  for (let c = 0; c < C; c++) {
    const wc = Array.from(w.subarray(c * 76, c * 76 + d));
    const g = formGrad(q, 1, wc);
    for (let i = 0; i < 76; i++) gDiff = Math.max(gDiff, Math.abs(grads[c * 76 + i] - (i < d ? g[i] : 0)));
    lDiff = Math.max(lDiff, Math.abs(losses[2 * C + c] - formValue(q, 1, wc)));
    for (let f = 0; f < 2; f++) lDiff = Math.max(lDiff, Math.abs(all[c * 2 + f] - formValue(q, f, wc)));
    scale = Math.max(scale, formValue(q, 1, wc));
  }
  console.log(
    `  max |Δ∇| = ${gDiff.toExponential(2)} (bound 1e-4), max |Δq| = ${lDiff.toExponential(2)} ` +
      `(bound 1e-5·|q|, |q| ≤ ${scale.toFixed(2)}): f32 sums of 70 products`,
  );
  assert.ok(gDiff < 1e-4);
  assert.ok(lDiff < 1e-5 * Math.max(1, scale));
  assert.equal(target.currentForm, 1);
  assert.throws(() => target.setBatch(-1 as number), /is not a form index/);
  ev.destroy();
  target.destroy();
  ring.destroy();
});

Deno.test("normal-crossing target (WGSL): loss and gradient match f64 and a central finite difference", async () => {
  const gpu = await getGpu();
  const data = crossingData();
  console.log(
    `  data: sxx ${data.sxx.toFixed(4)} (4), sxy ${data.sxy.toFixed(5)} (0), syy ${
      data.syy.toFixed(5)
    } (0.0625)`,
  );
  assert.ok(Math.abs(data.sxx - 4) < 0.5 && Math.abs(data.syy - 0.0625) < 0.01);
  for (const powers of [[1, 1], [2, 3], [0, 2, 1]]) {
    const C = 4;
    const t = await createCrossingTarget(gpu, { powers, nCopies: C, data });
    const w = new Float32Array(C * t.stride);
    const r = new PhiloxStream(4, 3);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < t.k; i++) w[c * t.stride + i] = Math.fround(0.8 * r.normal());
    }
    upload(gpu, t.params, w);
    const ring = storageBuffer(gpu, "ring", C * 4);
    const enc = gpu.device.createCommandEncoder();
    t.encodeLossAndGrad(enc, ring, 0);
    gpu.device.queue.submit([enc.finish()]);
    const g = await readF32(gpu, t.grads), l = await readF32(gpu, ring);
    let lDiff = 0, gDiff = 0;
    for (let c = 0; c < C; c++) {
      const wc = Array.from(w.subarray(c * t.stride, c * t.stride + t.k));
      lDiff = Math.max(lDiff, Math.abs(l[c] - crossingLoss(data, powers, wc)));
      for (let i = 0; i < t.stride; i++) {
        let fd = 0;
        if (i < t.k) {
          const h = 1e-6, wp = [...wc], wm = [...wc];
          wp[i] += h;
          wm[i] -= h;
          fd = (crossingLoss(data, powers, wp) - crossingLoss(data, powers, wm)) / (2 * h);
        }
        gDiff = Math.max(gDiff, Math.abs(g[c * t.stride + i] - fd) / Math.max(1, Math.abs(fd)));
      }
    }
    console.log(
      `  p=[${powers}]: max |Δloss| = ${lDiff.toExponential(2)} (bound 1e-5), max rel |∇ − central FD| = ${
        gDiff.toExponential(2)
      } (bound 1e-4)`,
    );
    assert.ok(lDiff < 1e-5 && gDiff < 1e-4);
    t.destroy();
    ring.destroy();
  }
});
