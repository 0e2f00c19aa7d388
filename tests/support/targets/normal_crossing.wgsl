// Known-answer SGLD target: the normal-crossing singular model f(x) = x·Π_i w_i^{p_i} under mean-squared error
// on a fixed dataset (x_j, y_j), j < n, evaluated from its sufficient statistics (exact for the full batch):
//   m = Π_i w_i^{p_i},  L(w) = (1/n)Σ_j (x_j·m − y_j)² = m²·sxx − 2m·sxy + syy
//   ∂L/∂w_i = (2m·sxx − 2sxy) · p_i·w_i^{p_i−1}·Π_{k≠i} w_k^{p_k}
// with sxx = mean x², sxy = mean x·y, syy = mean y². Integer powers by repeated products (WGSL's pow is
// undefined for negative bases). The weights are elements 0 … k−1 of each copy; elements k … stride−1 get 0.
//
// Bindings:
//   0 prm: Params (uniform)
//   1 w: [C, stride] f32 parameters
//   2 grads: [C, stride] f32 (read-write)
//   3 loss: [C] f32 (read-write)
// Grid: ceil(C / WG) workgroups; invocation c handles copy c.

const WG: u32 = 64u;

struct Params {
  copies: u32,
  stride: u32,
  k: u32,
  _pad: u32,
  powers: vec4<u32>,
  powers_hi: vec4<u32>,
  sxx: f32,
  sxy: f32,
  syy: f32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

fn ipow(x: f32, p: u32) -> f32 {
  var r = 1.0;
  for (var i = 0u; i < p; i++) {
    r *= x;
  }
  return r;
}

fn power(i: u32) -> u32 {
  if (i < 4u) {
    return prm.powers[i];
  }
  return prm.powers_hi[i - 4u];
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= prm.copies) {
    return;
  }
  let base = c * prm.stride;
  var m = 1.0;
  for (var i = 0u; i < prm.k; i++) {
    m *= ipow(w[base + i], power(i));
  }
  loss[c] = m * m * prm.sxx - 2.0 * m * prm.sxy + prm.syy;
  let dldm = 2.0 * m * prm.sxx - 2.0 * prm.sxy;
  for (var i = 0u; i < prm.stride; i++) {
    var g = 0.0;
    if (i < prm.k) {
      let p = power(i);
      // max(p, 1) − 1: select() evaluates both arms, and p − 1 would wrap for p = 0.
      var dm = f32(p) * ipow(w[base + i], max(p, 1u) - 1u);
      for (var j = 0u; j < prm.k; j++) {
        if (j != i) {
          dm *= ipow(w[base + j], power(j));
        }
      }
      g = dldm * dm;
    }
    grads[base + i] = g;
  }
}
