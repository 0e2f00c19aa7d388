/**
 * The tests' one seeded random generator: mulberry32, a 32-bit-state generator whose every step is 32-bit
 * integer arithmetic, so a seed gives the same stream on every machine.
 *
 * Kernel and estimator tests draw their inputs from here rather than from lib/util/random.ts's `Rng` on
 * purpose: the inputs a test checks must not move when the library's generator changes. (Tests of code that
 * takes an `Rng`, such as corpus generation or initialization, still pass it one.)
 */

/** mulberry32 from `seed`: a stream of uniform 32-bit unsigned integers. */
export function uint32s(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform [0, 1) stream from `seed` (multiples of 2⁻³²). */
export function rng(seed: number): () => number {
  const next = uint32s(seed);
  return () => next() / 4294967296;
}

/** `n` uniform draws in [lo, hi) from `seed`, rounded to float32. */
export function uniforms(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Standard normal draws (Box-Muller) from a uniform [0, 1) generator. */
export function normal(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** `n` normal draws of standard deviation `sd` from `seed`, rounded to float32. */
export function normals(n: number, seed: number, sd = 1): Float32Array {
  const z = normal(rng(seed));
  return Float32Array.from({ length: n }, () => sd * z());
}
