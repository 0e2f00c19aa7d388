import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { decodePng, pixelStats, PngError } from "./support/png.ts";

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, body.length);
  out.set([...type].map((c) => c.charCodeAt(0)), 4);
  out.set(body, 8);
  return out; // CRC left zero: the decoder does not check it.
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Independent encoder: row y uses filter filters[y % filters.length], as the PNG specification defines them. */
function encodePng(
  w: number,
  h: number,
  channels: 3 | 4,
  pixels: Uint8Array,
  filters: number[],
  depth = 8,
  interlace = 0,
): Uint8Array {
  const stride = w * channels;
  const raw = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const f = filters[y % filters.length];
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const cur = pixels[y * stride + x];
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f];
      raw[y * (stride + 1) + 1 + x] = (cur - pred) & 255;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr.set([depth, channels === 3 ? 2 : 6, 0, 0, interlace], 8);
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 37 + ((i * i) >> 3)) & 255);
}

Deno.test("decodePng: recovers RGBA and RGB pixels under all five scanline filters", () => {
  for (const channels of [3, 4] as const) {
    const w = 7;
    const h = 10;
    const px = pattern(w * h * channels);
    const img = decodePng(encodePng(w, h, channels, px, [0, 1, 2, 3, 4]));
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    assert.equal(img.channels, channels);
    assert.deepEqual(img.data, px);
  }
});

Deno.test("decodePng: unsupported depth, interlacing and non-PNG bytes are PngErrors", () => {
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3]), "x.png"), /x\.png: not a PNG/);
  assert.throws(() => decodePng(encodePng(1, 1, 3, new Uint8Array(6), [0], 16)), /bit depth 16 unsupported/);
  assert.throws(() => decodePng(encodePng(1, 1, 3, new Uint8Array(3), [0], 8, 1)), PngError);
});

Deno.test("pixelStats: fraction of non-white pixels and coarse distinct colours", () => {
  const px = new Uint8Array([255, 255, 255, 255, 255, 255, 0, 0, 0, 200, 30, 30]);
  const s = pixelStats({ width: 2, height: 2, channels: 3, data: px });
  assert.equal(s.nonWhiteFraction, 0.5);
  assert.equal(s.distinctColours, 3);
});
