// Philox4x32-10 counter-based RNG and Box-Muller normals: a function library (no bindings, no entry point),
// appended to the source of kernels that draw noise (kernels/sgld.wgsl; the tests' known-answer kernel).
// Bit-identical to lib/util/philox.ts. WGSL has no u64, so the 32×32→64 product is built from 16-bit limbs.
//
// chi's convention: counter = (element / 4, step, stream, 0), key = (seed_lo, seed_hi); element e of a copy takes
// lane e % 4 of its block. Uniform u = (f32(x >> 8) + 1)·2⁻²⁴ ∈ (0, 1]; Box-Muller pairs lanes (0,1) and (2,3).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;
const PHILOX_TWO_PI: f32 = 6.283185307179586;

// (hi, lo) words of the 64-bit product a·b.
fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let p0 = al * bl;
  let p1 = al * bh;
  let p2 = ah * bl;
  let p3 = ah * bh;
  let mid = (p0 >> 16u) + (p1 & 0xffffu) + (p2 & 0xffffu);
  let hi = p3 + (p1 >> 16u) + (p2 >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
  let r0 = philox_mulhilo(PHILOX_M0, c.x);
  let r1 = philox_mulhilo(PHILOX_M1, c.z);
  return vec4<u32>(r1.x ^ c.y ^ k.x, r1.y, r0.x ^ c.w ^ k.y, r0.y);
}

// Ten rounds, the key bumped by the Weyl constants between rounds (straight-line: no loop counter).
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  let w = vec2<u32>(PHILOX_W0, PHILOX_W1);
  var c = philox_round(counter, key);
  var k = key + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  k = k + w;
  c = philox_round(c, k);
  return c;
}

// Uniforms in (0, 1] from the top 24 bits of each word (exact in f32; never 0).
fn philox_uniforms(bits: vec4<u32>) -> vec4<f32> {
  return (vec4<f32>(bits >> vec4<u32>(8u)) + vec4<f32>(1.0)) * 5.9604644775390625e-8;
}

// Four standard normals from one block by Box-Muller.
fn philox_normals(bits: vec4<u32>) -> vec4<f32> {
  let u = philox_uniforms(bits);
  let r = sqrt(-2.0 * log(u.xz));
  let t = PHILOX_TWO_PI * u.yw;
  return vec4<f32>(r.x * cos(t.x), r.x * sin(t.x), r.y * cos(t.y), r.y * sin(t.y));
}
