import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { readF32, storageFrom } from "../lib/gpu/buffers.ts";
import { submitDispatches } from "../lib/gpu/dispatch.ts";
import { axpyReference, createAxpy, createFill } from "../lib/model/axpy.ts";
import { foldGrid } from "../lib/gpu/grid.ts";
import { uniforms } from "./support/random.ts";

for (
  const c of [
    { n: 4096, xOffset: 8, yOffset: 12, a: 0.37 }, // vec4 path
    { n: 1003, xOffset: 5, yOffset: 2, a: -1.5 }, // scalar path (odd length, unaligned offsets)
    { n: 64 * 65535 + 37, xOffset: 0, yOffset: 1, a: 2 }, // scalar, 65536 workgroups: folded 2-D grid
  ]
) {
  Deno.test(`axpy: y += a·x matches f64 (n=${c.n}, offsets ${c.xOffset}/${c.yOffset})`, async () => {
    const gpu = await getGpu();
    const xs = uniforms(c.xOffset + c.n + 3, 1);
    const ys = uniforms(c.yOffset + c.n + 5, 2);
    const x = storageFrom(gpu, "x", xs);
    const y = storageFrom(gpu, "y", ys);
    submitDispatches(gpu, await createAxpy(gpu, c, x, y));
    const got = await readF32(gpu, y);
    const want = axpyReference(
      c.a,
      xs.subarray(c.xOffset, c.xOffset + c.n),
      ys.subarray(c.yOffset, c.yOffset + c.n),
    );
    let maxDiff = 0;
    for (let i = 0; i < c.n; i++) maxDiff = Math.max(maxDiff, Math.abs(got[c.yOffset + i] - want[i]));
    // Elements outside the range are untouched.
    for (let i = 0; i < c.yOffset; i++) assert.equal(got[i], ys[i]);
    for (let i = c.yOffset + c.n; i < ys.length; i++) assert.equal(got[i], ys[i]);
    console.log(`  max |gpu − f64| = ${maxDiff.toExponential(2)} (bound 1e-6: one f32 fma on values ≤ 3)`);
    assert.ok(maxDiff < 1e-6, `max diff ${maxDiff}`);
    x.destroy();
    y.destroy();
  });
}

Deno.test("fill: writes the value over the range only (vec4 and scalar)", async () => {
  const gpu = await getGpu();
  for (const [n, offset] of [[256, 4], [37, 3]]) {
    const init = uniforms(offset + n + 7, 3);
    const y = storageFrom(gpu, "y", init);
    submitDispatches(gpu, await createFill(gpu, { n, offset, value: 0 }, y));
    const got = await readF32(gpu, y);
    for (let i = 0; i < init.length; i++) {
      assert.equal(got[i], i >= offset && i < offset + n ? 0 : init[i], `element ${i} (n=${n})`);
    }
    y.destroy();
  }
});

Deno.test("axpy: bad arguments give errors naming them", async () => {
  const gpu = await getGpu();
  const x = storageFrom(gpu, "x", new Float32Array(16));
  const y = storageFrom(gpu, "y", new Float32Array(16));
  await assert.rejects(() => createAxpy(gpu, { n: 17, a: 1 }, x, y), /axpy x: .* holds 16 elements/);
  await assert.rejects(() => createAxpy(gpu, { n: 8, a: 1, yOffset: 12 }, x, y), /axpy y/);
  await assert.rejects(() => createAxpy(gpu, { n: 8, a: NaN }, x, y), /axpy a: expected a finite number/);
  await assert.rejects(() => createAxpy(gpu, { n: 8, a: 1 }, x, x), /same buffer/);
  assert.deepEqual(foldGrid(70000), [35000, 2]);
  x.destroy();
  y.destroy();
});
