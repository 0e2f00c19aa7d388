// FP32 multiply-add throughput probe: every invocation runs ACC independent vec4 chains of the affine map
//   x ← x·a + b        (n_iter times; UNROLL maps per chain per loop trip, so n_iter·UNROLL in all)
// starting from x₀ = seed + invocation·step_inv + (4k + lane)·step_lane for chain k, lane 0..3, and stores
// the final x. The result has a closed form, xₙ = aⁿ·x₀ + b·(aⁿ − 1)/(a − 1) (a ≠ 1), so a test checks it
// against float64 (lib/bench/peak.ts, fmaChainReference): the probe computes what it claims to, so its
// FLOP count (2 per multiply-add) is honest. a and b are uniforms: the compiler cannot fold the chain.
// The chains are independent so that the FMA units' latency is hidden by instruction-level parallelism
// (llvmpipe runs invocations as 8-wide SIMD and each vec4 component as its own chain; a GPU hides the rest
// with many resident invocations). USE_FMA selects the fma() builtin or a plain x·a + b (which a backend may
// or may not contract into one instruction): the bench tries both and keeps the faster.
// Shapes: out [invocations · ACC] vec4, invocation-major (out[i·ACC + k] = chain k of invocation i).
// Bindings: 0 uniform Params, 1 out (read_write).
// Grid: ceil(invocations / WG) workgroups along x (the bench keeps it ≤ 65535); invocations past n return.

const WG: u32 = 64u; // invocations per workgroup
const ACC: u32 = 8u; // independent vec4 chains per invocation
const UNROLL: u32 = 4u; // multiply-adds per chain per loop trip (straight-line below: keep in sync)
const USE_FMA: bool = true;

struct Params {
  n: u32, // invocations
  n_iter: u32, // loop trips (each does UNROLL multiply-adds on every chain)
  a: f32,
  b: f32,
  seed: f32,
  step_inv: f32,
  step_lane: f32,
  _pad: f32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

fn madd(x: vec4<f32>, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  if (USE_FMA) {
    return fma(x, a, b);
  }
  return x * a + b;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= prm.n) {
    return;
  }
  let a = vec4<f32>(prm.a);
  let b = vec4<f32>(prm.b);
  let base = prm.seed + f32(i) * prm.step_inv;
  var x: array<vec4<f32>, ACC>;
  for (var k = 0u; k < ACC; k++) {
    let l = f32(4u * k);
    x[k] = vec4<f32>(base) + vec4<f32>(l, l + 1.0, l + 2.0, l + 3.0) * prm.step_lane;
  }
  // Chains held in named registers: an indexed array in the hot loop could be spilled to memory.
  var x0 = x[0];
  var x1 = x[1];
  var x2 = x[2];
  var x3 = x[3];
  var x4 = x[4];
  var x5 = x[5];
  var x6 = x[6];
  var x7 = x[7];
  for (var t = 0u; t < prm.n_iter; t++) {
    x0 = madd(x0, a, b);
    x1 = madd(x1, a, b);
    x2 = madd(x2, a, b);
    x3 = madd(x3, a, b);
    x4 = madd(x4, a, b);
    x5 = madd(x5, a, b);
    x6 = madd(x6, a, b);
    x7 = madd(x7, a, b);
    x0 = madd(x0, a, b);
    x1 = madd(x1, a, b);
    x2 = madd(x2, a, b);
    x3 = madd(x3, a, b);
    x4 = madd(x4, a, b);
    x5 = madd(x5, a, b);
    x6 = madd(x6, a, b);
    x7 = madd(x7, a, b);
    x0 = madd(x0, a, b);
    x1 = madd(x1, a, b);
    x2 = madd(x2, a, b);
    x3 = madd(x3, a, b);
    x4 = madd(x4, a, b);
    x5 = madd(x5, a, b);
    x6 = madd(x6, a, b);
    x7 = madd(x7, a, b);
    x0 = madd(x0, a, b);
    x1 = madd(x1, a, b);
    x2 = madd(x2, a, b);
    x3 = madd(x3, a, b);
    x4 = madd(x4, a, b);
    x5 = madd(x5, a, b);
    x6 = madd(x6, a, b);
    x7 = madd(x7, a, b);
  }
  let o = i * ACC;
  out[o] = x0;
  out[o + 1u] = x1;
  out[o + 2u] = x2;
  out[o + 3u] = x3;
  out[o + 4u] = x4;
  out[o + 5u] = x5;
  out[o + 6u] = x6;
  out[o + 7u] = x7;
}
