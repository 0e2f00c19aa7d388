// AdamW step, PyTorch semantics (torch.optim.AdamW, amsgrad off, maximize off), elementwise over a contiguous
// range of n elements at element offset off of four same-shaped buffers (typically [C, P], all copies at once):
//   p ← p·(1 − lr·wd)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// The step-dependent scalars (1 − lr·wd, lr/(1 − β1^t), √(1 − β2^t)) are computed on the host in float64 and
// rewritten in the uniform before each step. Elements with p = m = v = g = 0 (layout padding) stay 0.
// Bindings: 0 uniform Params, 1 params (read_write), 2 grads (read), 3 m (read_write), 4 v (read_write), all
// array<vec4<f32>> (n and off multiples of 4). Grid: one vec4 per invocation, ceil(n/4 / WG) workgroups folded
// into x·y ≤ 65535² (item = (wid.y·nwg.x + wid.x)·WG + lid); items past the end return at once.

const WG: u32 = 64u; // invocations per workgroup

struct Params {
  n4: u32, // vec4s to update
  off4: u32, // offset in vec4s, the same in all four buffers
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  decay: f32, // 1 − lr·weight_decay
  step_size: f32, // lr / (1 − β1^t)
  sqrt_bc2: f32, // √(1 − β2^t)
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> p: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= prm.n4) {
    return;
  }
  let k = prm.off4 + i;
  let gk = g[k];
  let mk = prm.beta1 * m[k] + prm.one_minus_beta1 * gk;
  let vk = prm.beta2 * v[k] + prm.one_minus_beta2 * gk * gk;
  m[k] = mk;
  v[k] = vk;
  let denom = sqrt(vk) / prm.sqrt_bc2 + prm.eps;
  p[k] = p[k] * prm.decay - prm.step_size * (mk / denom);
}
