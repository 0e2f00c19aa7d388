/**
 * A minimal PNG decoder for 8-bit RGB / RGBA non-interlaced images (what headless Chromium writes), used to
 * check report screenshots: chunks, zlib inflate (node:zlib) of the IDAT stream, and the five scanline
 * filters of the PNG specification (none, sub, up, average, Paeth).
 */

import { inflateSync } from "node:zlib";

/** Unsupported or malformed PNG input; says what was expected. */
export class PngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PngError";
  }
}

/** A decoded image: `data` holds `channels` bytes per pixel, rows top to bottom. */
export interface DecodedPng {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes PNG bytes (8-bit RGB or RGBA, no interlace). */
export function decodePng(bytes: Uint8Array, source = "PNG"): DecodedPng {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new PngError(`${source}: not a PNG (bad signature)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let width = 0;
  let height = 0;
  let channels: 3 | 4 = 4;
  const idat: Uint8Array[] = [];
  while (off + 8 <= bytes.length) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    const body = bytes.subarray(off + 8, off + 8 + len);
    if (body.length !== len) throw new PngError(`${source}: truncated ${type} chunk`);
    if (type === "IHDR") {
      width = view.getUint32(off + 8);
      height = view.getUint32(off + 12);
      const depth = body[8];
      const colour = body[9];
      const interlace = body[12];
      if (depth !== 8) throw new PngError(`${source}: bit depth ${depth} unsupported (expected 8)`);
      if (colour !== 2 && colour !== 6) {
        throw new PngError(`${source}: colour type ${colour} unsupported (expected 2 RGB or 6 RGBA)`);
      }
      if (interlace !== 0) throw new PngError(`${source}: interlaced PNG unsupported`);
      channels = colour === 2 ? 3 : 4;
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      break;
    }
    off += 12 + len;
  }
  if (width === 0 || height === 0) throw new PngError(`${source}: missing IHDR`);
  const joined = new Uint8Array(idat.reduce((a, c) => a + c.length, 0));
  let p = 0;
  for (const c of idat) {
    joined.set(c, p);
    p += c.length;
  }
  const raw = new Uint8Array(inflateSync(joined));
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) throw new PngError(`${source}: image data too short`);
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[dst + x - channels] : 0;
      const b = y > 0 ? out[dst - stride + x] : 0;
      const c = x >= channels && y > 0 ? out[dst - stride + x - channels] : 0;
      const v = raw[src + x];
      switch (filter) {
        case 0:
          out[dst + x] = v;
          break;
        case 1:
          out[dst + x] = (v + a) & 255;
          break;
        case 2:
          out[dst + x] = (v + b) & 255;
          break;
        case 3:
          out[dst + x] = (v + ((a + b) >> 1)) & 255;
          break;
        case 4:
          out[dst + x] = (v + paeth(a, b, c)) & 255;
          break;
        default:
          throw new PngError(`${source}: row ${y} has unknown filter type ${filter}`);
      }
    }
  }
  return { width, height, channels, data: out };
}

/** Screenshot statistics: fraction of pixels that are not near-white and number of distinct coarse colours. */
export function pixelStats(
  img: DecodedPng,
  whiteThreshold = 245,
): { nonWhiteFraction: number; distinctColours: number } {
  let nonWhite = 0;
  const colours = new Set<number>();
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const o = i * img.channels;
    const r = img.data[o];
    const g = img.data[o + 1];
    const b = img.data[o + 2];
    if (r < whiteThreshold || g < whiteThreshold || b < whiteThreshold) nonWhite++;
    colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
  }
  return { nonWhiteFraction: nonWhite / n, distinctColours: colours.size };
}
