/**
 * Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"; the Random123 reference) on
 * the host, bit-identical to kernels/philox.wgsl, and the Box-Muller normals the SGLD kernel derives from it.
 *
 * chi's noise convention (used by kernels/sgld.wgsl, regenerable here element by element):
 *   counter = (floor(element / 4), step, stream, 0), key = (seed_lo, seed_hi)
 * where `element` is the index inside one parameter copy, `step` the SGLD step, `stream` = streamBase + chain
 * index and the 64-bit seed is split into two u32 words (a seed below 2³² has seed_hi = 0). One block gives four
 * normals: element e takes lane e % 4. No RNG state exists anywhere: any element of any chain at any step can be
 * regenerated, independently of the dispatch shape and of how many chains run together.
 *
 * Uniforms: u = (f32(x >> 8) + 1)·2⁻²⁴ ∈ (0, 1] (exact in f32, never 0, so log(u) is finite). Box-Muller pairs
 * lanes (0, 1) and (2, 3): z0 = r0·cos(2πu1), z1 = r0·sin(2πu1) with r0 = √(−2 ln u0); z2, z3 likewise from u2, u3.
 */

const M0 = 0xD2511F53;
const M1 = 0xCD9E8D57;
const W0 = 0x9E3779B9;
const W1 = 0xBB67AE85;

/** The high 32 bits of the 64-bit product of two u32 (16-bit limbs: every partial product is exact). */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const p0 = al * bl, p1 = al * bh, p2 = ah * bl, p3 = ah * bh;
  const mid = (p0 >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  return (p3 + (p1 >>> 16) + (p2 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * One Philox4x32-10 block: 4 u32 words from a 4-word counter and a 2-word key.
 * Writes into `out` (allocated when omitted) and returns it.
 */
export function philox4x32(
  counter: ArrayLike<number>,
  key: ArrayLike<number>,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let c0 = counter[0] >>> 0, c1 = counter[1] >>> 0, c2 = counter[2] >>> 0, c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi32(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** Splits a non-negative integer seed below 2⁵³ into the Philox key (seed_lo, seed_hi). */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative integer below 2^53, got ${seed}`);
  }
  return [seed % 0x100000000, Math.floor(seed / 0x100000000)];
}

/** The uniform in (0, 1] of one Philox word, as the kernels compute it (exact in f32). */
export function philoxUniform(x: number): number {
  return ((x >>> 8) + 1) * 2 ** -24;
}

/** Box-Muller on one block's four words: four standard normals (f64 here; the kernel computes them in f32). */
export function boxMuller4(bits: ArrayLike<number>, out: Float64Array = new Float64Array(4)): Float64Array {
  const r0 = Math.sqrt(-2 * Math.log(philoxUniform(bits[0])));
  const t0 = 2 * Math.PI * philoxUniform(bits[1]);
  const r1 = Math.sqrt(-2 * Math.log(philoxUniform(bits[2])));
  const t1 = 2 * Math.PI * philoxUniform(bits[3]);
  out[0] = r0 * Math.cos(t0);
  out[1] = r0 * Math.sin(t0);
  out[2] = r1 * Math.cos(t1);
  out[3] = r1 * Math.sin(t1);
  return out;
}

/**
 * The SGLD noise ξ of parameter `element` at `step` on `stream` (= streamBase + chain) under `seed`: exactly
 * what kernels/sgld.wgsl draws, up to f32 rounding of log/sin/cos on the device.
 */
export function sgldNormal(seed: number, stream: number, step: number, element: number): number {
  const bits = philox4x32([Math.floor(element / 4), step, stream, 0], seedKey(seed));
  return boxMuller4(bits)[element % 4];
}

/**
 * A deterministic host generator of normals and uniforms built on the same counter scheme (counter = (i, 0, 0,
 * stream)): for test data that must not depend on another module's PRNG.
 */
export class PhiloxStream {
  #i = 0;
  #buf = new Float64Array(4);
  #bits = new Uint32Array(4);
  #lane = 4;
  readonly #key: [number, number];
  constructor(seed: number, readonly stream = 0) {
    this.#key = seedKey(seed);
  }
  #refill(): void {
    philox4x32([this.#i++ >>> 0, 0, 0, this.stream], this.#key, this.#bits);
    boxMuller4(this.#bits, this.#buf);
    this.#lane = 0;
  }
  /** A standard normal. */
  normal(): number {
    if (this.#lane === 4) this.#refill();
    return this.#buf[this.#lane++];
  }
  /** A uniform in (0, 1]. */
  uniform(): number {
    if (this.#lane === 4) this.#refill();
    return philoxUniform(this.#bits[this.#lane++]);
  }
}
