/**
 * A small seeded pseudo-random generator for host-side data work (corpus generation, context sampling,
 * shuffles). xoshiro128** (Blackman & Vigna 2018) seeded through splitmix32, so any 32-bit seed gives a
 * well-mixed state. Not for cryptography; for reproducibility: the same seed gives the same stream on every
 * machine, because everything is 32-bit integer arithmetic.
 */

/** splitmix32 step: returns [next state, output]. Used to expand a seed into the 128-bit xoshiro state. */
function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a over the UTF-16 code units of a label: a stable 32-bit key for `Rng.fork`. */
function hashLabel(label: string | number): number {
  const text = typeof label === "number" ? `#${label}` : label;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

export class RngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RngError";
  }
}

const TWO_POW_32 = 4294967296;

/**
 * Seeded xoshiro128** generator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "chi";
 *
 * const rng = new Rng(42);
 * const u = rng.float(), k = rng.int(6), z = rng.normal();
 * assert.ok(u >= 0 && u < 1 && Number.isInteger(k) && Number.isFinite(z));
 * assert.equal(new Rng(42).float(), u); // the same seed, the same stream, on every machine
 * // Forks are independent substreams keyed by a label, whatever was drawn before.
 * assert.equal(new Rng(42).fork("tokens").uint32(), rng.fork("tokens").uint32());
 * ```
 */
export class Rng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;
  /** The 32-bit key this generator was built from; `fork` derives children from it, not from the state. */
  readonly key: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed) || !Number.isInteger(seed)) {
      throw new RngError(`seed must be an integer, got ${seed}`);
    }
    // Fold seeds beyond 32 bits (e.g. 2**40 + 1) into the key instead of silently dropping high bits.
    const key = (seed >>> 0) ^ (Math.floor(seed / TWO_POW_32) >>> 0) * 0x9e3779b1;
    this.key = key >>> 0;
    let st = this.key;
    let out: number;
    [st, out] = splitmix32(st);
    this.#s0 = out;
    [st, out] = splitmix32(st);
    this.#s1 = out;
    [st, out] = splitmix32(st);
    this.#s2 = out;
    [st, out] = splitmix32(st);
    this.#s3 = out;
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1; // the all-zero state is a fixed point
  }

  /** A generator with an explicit xoshiro128** state (for known-answer tests against the reference C code). */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    const rng = new Rng(0);
    rng.#s0 = s0 | 0;
    rng.#s1 = s1 | 0;
    rng.#s2 = s2 | 0;
    rng.#s3 = s3 | 0;
    return rng;
  }

  /** Next uniform 32-bit unsigned integer (xoshiro128**). */
  uint32(): number {
    const s0 = this.#s0, s1 = this.#s1, s2 = this.#s2, s3 = this.#s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11);
    this.#s0 = n0;
    this.#s1 = n1;
    this.#s2 = n2;
    this.#s3 = n3;
    return r >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the incomplete top bucket). 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RngError(`int(n): n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.uint32();
    while (x >= limit) x = this.uint32();
    return x % n;
  }

  /** Standard normal draw (Box-Muller; the second value is discarded so each call uses exactly two uint32). */
  normal(): number {
    const u1 = (this.uint32() + 1) / (TWO_POW_32 + 1); // in (0, 1): log is finite
    const u2 = this.float();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Picks index i with probability weights[i] / sum(weights). Weights must be ≥ 0 with a positive sum. */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) throw new RngError(`weighted: weight ${i} is ${w}, expected ≥ 0`);
      total += w;
    }
    if (!(total > 0)) throw new RngError("weighted: weights sum to 0");
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // Rounding can leave u ≥ 0 after the loop: return the last index with positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** Uniformly random element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RngError("pick: empty array");
    return items[this.int(items.length)];
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T, A extends { length: number; [i: number]: T }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /**
   * An independent generator for a named substream. It depends only on this generator's key and the label,
   * not on how many numbers were drawn, so adding draws in one substream never shifts another.
   */
  fork(label: string | number): Rng {
    const [, mixed] = splitmix32((this.key ^ Math.imul(hashLabel(label), 0x27d4eb2f)) | 0);
    return new Rng(mixed);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
