// Localized SGLD step (the reference sampler's update, devinterp), for a group of chains at once, per element:
//   Δw = −(ε/2)·M·G·(nβ·g + γ(w − w*) + λw) + √ε·M·√G·ξ
// g the mean-minibatch-loss gradient, M ∈ {0,1} the restriction mask bit of the element for the chain's
// restriction, G = 1 (plain SGLD) or 1/(√V + 0.1) with V ← 0.99V + 0.01g² (RMSProp-SGLD), ξ ~ N(0,1) from
// Philox4x32-10 with counter (element/4, step, stream_base + chain, 0) and key (seed_lo, seed_hi).
// Elements whose mask bit is 0 are left untouched (their V too). A non-finite new weight in a moved element
// records the step into flags[chain] by atomicMin (0xffffffff = healthy).
//
// Each invocation handles one 4-element block (one Philox block → 4 normals). Chains live at stride `stride`
// elements (a multiple of 4); this dispatch covers chains chain_base … chain_base + n_chains − 1, whose
// w/grad/v ranges are bound starting at chain_base (so local chain z sits at offset z·stride).
//
// Bindings:
//   0 p: Params (uniform)
//   1 st: Step (uniform)                      — the SGLD step, rewritten each step by the host
//   2 w: [n_chains, stride/4] vec4<f32>      — parameters of this dispatch's chains (read-write)
//   3 grad: [n_chains, stride/4] vec4<f32>   — gradients of the mean minibatch loss
//   4 wstar: [stride/4] vec4<f32>            — localization centre shared by all chains,
//            or [n_chains, stride/4] when WSTAR_PER_CHAIN
//   5 mask: [R, mask_words] u32               — restriction bitsets, bit e%32 of word e/32 = element e moves
//   6 restriction_of: [C] u32                 — restriction index of each (global) chain
//   7 v: [n_chains, stride/4] vec4<f32>      — RMSProp second moments (a 16-byte dummy unless RMSPROP)
//   8 flags: [C] atomic<u32>                  — first step with a non-finite weight, per (global) chain
// Grid: (row_x, rows, n_chains) workgroups of WG; block b = (wg.y·row_x + wg.x)·WG + local, b < stride/4.

const WG: u32 = 64u;
const RMSPROP: bool = false;
const WSTAR_PER_CHAIN: bool = false;

struct Params {
  blocks: u32,        // stride / 4: vec4 blocks per copy
  mask_words: u32,    // u32 words per restriction mask: ceil(stride / 32)
  chain_base: u32,    // global index of this dispatch's first chain
  row_x: u32,         // workgroups per grid row
  seed_lo: u32,
  seed_hi: u32,
  stream_base: u32,
  _pad: u32,
  half_eps: f32,      // ε/2
  sqrt_eps: f32,      // √ε
  nbeta: f32,
  gamma: f32,
  lambda: f32,
}

struct Step {
  step: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> wstar: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> mask: array<u32>;
@group(0) @binding(6) var<storage, read> restriction_of: array<u32>;
@group(0) @binding(7) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> flags: array<atomic<u32>>;

fn non_finite(x: vec4<f32>) -> bool {
  let e = bitcast<vec4<u32>>(x) & vec4<u32>(0x7f800000u);
  return any(e == vec4<u32>(0x7f800000u));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let b = (wg.y * p.row_x + wg.x) * WG + li;
  if (b >= p.blocks) {
    return;
  }
  let chain = p.chain_base + wg.z;
  let r = restriction_of[chain];
  let e0 = 4u * b;
  let bits = (mask[r * p.mask_words + e0 / 32u] >> (e0 % 32u)) & 0xfu;
  if (bits == 0u) {
    return;
  }
  let moves = vec4<bool>((bits & 1u) != 0u, (bits & 2u) != 0u, (bits & 4u) != 0u, (bits & 8u) != 0u);
  let idx = wg.z * p.blocks + b;
  let g = grad[idx];
  let wv = w[idx];
  var ws: vec4<f32>;
  if (WSTAR_PER_CHAIN) {
    ws = wstar[idx];
  } else {
    ws = wstar[b];
  }
  var pre = vec4<f32>(1.0);
  var noise_scale = vec4<f32>(p.sqrt_eps);
  if (RMSPROP) {
    let vv = 0.99 * v[idx] + 0.01 * g * g;
    v[idx] = select(v[idx], vv, moves);
    pre = 1.0 / (sqrt(vv) + 0.1);
    noise_scale = p.sqrt_eps * sqrt(pre);
  }
  let xi = philox_normals(philox4x32_10(vec4<u32>(b, st.step, p.stream_base + chain, 0u), vec2<u32>(p.seed_lo, p.seed_hi)));
  let drift = p.nbeta * g + p.gamma * (wv - ws) + p.lambda * wv;
  let nw = select(wv, wv - p.half_eps * pre * drift + noise_scale * xi, moves);
  w[idx] = nw;
  if (non_finite(nw)) {
    atomicMin(&flags[chain], st.step);
  }
}
