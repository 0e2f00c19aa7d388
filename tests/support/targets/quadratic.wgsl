// Known-answer SGLD target: quadratic forms over the first d elements of each parameter copy,
//   q_f(w) = ½·wᵀA_f·w − b_fᵀw + c_f,   ∇q_f(w) = A_f·w − b_f
// (a linear regression's MSE over a minibatch is one: A = 2XᵀX/n, b = 2Xᵀy/n, c = yᵀy/n).
// Computed as q = c + Σ_j ½·w_j·(g_j − b_j) with g = A·w − b (no separate wᵀAw pass).
//
// One invocation per copy (loss_grad) or per (form, copy) (forms), serial over d: these targets are small
// (d ≤ a few hundred), and on CPU adapters workgroup barriers cost far more than the O(d²) arithmetic.
//
// Entry loss_grad: the sampling loss of every copy under form sel.form (the step's "minibatch"):
//   grads[c·stride + j] = g_j for j < d, 0 for d ≤ j < stride;  loss[c] = q_form(w_c).
//   Grid: ceil(C / WG) workgroups; invocation c handles copy c.
// Entry forms: every form at every copy, no gradient:  out[out_offset + c·n_forms + f] = q_f(w_c).
//   Grid: (ceil(n_forms / WG), C) workgroups; invocation (f, c).
//
// Bindings (contiguous per entry point):
//   0 prm: Params (uniform)
//   1 amat: [n_forms, d, d] f32 (row-major, symmetric)
//   2 bvec: [n_forms, d] f32
//   3 cvec: [n_forms] f32
//   4 w: [C, stride] f32 parameters
//   5 dst: loss_grad: grads [C, stride] (read-write); forms: out [*] (read-write)
//   6 loss: [C] f32 (loss_grad only)
//   7 sel: Sel (uniform, loss_grad only) — the form of this step, written by the host before each submit

const WG: u32 = 64u;

struct Params {
  d: u32,
  stride: u32,
  n_forms: u32,
  out_offset: u32,
  copies: u32,
}

struct Sel {
  form: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> amat: array<f32>;
@group(0) @binding(2) var<storage, read> bvec: array<f32>;
@group(0) @binding(3) var<storage, read> cvec: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;
@group(0) @binding(7) var<uniform> sel: Sel;

// g_j of form f at copy c.
fn grad_j(f: u32, c: u32, j: u32) -> f32 {
  let d = prm.d;
  var s = 0.0;
  for (var i = 0u; i < d; i++) {
    s += amat[(f * d + j) * d + i] * w[c * prm.stride + i];
  }
  return s - bvec[f * d + j];
}

@compute @workgroup_size(WG)
fn loss_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= prm.copies) {
    return;
  }
  let f = sel.form;
  var acc = 0.0;
  for (var j = 0u; j < prm.stride; j++) {
    if (j < prm.d) {
      let g = grad_j(f, c, j);
      dst[c * prm.stride + j] = g;
      acc += 0.5 * w[c * prm.stride + j] * (g - bvec[f * prm.d + j]);
    } else {
      dst[c * prm.stride + j] = 0.0;
    }
  }
  loss[c] = cvec[f] + acc;
}

@compute @workgroup_size(WG)
fn forms(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  let c = gid.y;
  if (f >= prm.n_forms) {
    return;
  }
  var acc = 0.0;
  for (var j = 0u; j < prm.d; j++) {
    acc += 0.5 * w[c * prm.stride + j] * (grad_j(f, c, j) - bvec[f * prm.d + j]);
  }
  dst[prm.out_offset + c * prm.n_forms + f] = cvec[f] + acc;
}
