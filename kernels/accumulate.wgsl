// Per-token susceptibility running sums (paper C.2, devinterp's per-token estimator), updated once per draw on
// the device so no per-draw tensor reaches the host. For every chain c and token n:
//   d = P[c] − ell[c, n]          (P: the chain's loss on the sampling minibatch at this draw, ℓ: per-token loss)
//   φ = P[c] − l0                 (l0 = L_n(w*))
//   sums[0, c, n] += φ · d        (S_φ(P−ℓ))
//   sums[1, c, n] += d            (S_(P−ℓ))
//
// Bindings:
//   0 p: Params (uniform)
//   1 ell: [*] f32      — per-token losses, token n of chain c at ell_offset + c·tokens + n
//   2 ploss: [C] f32    — P of each chain at this draw (copied from the loss ring by the host-side op)
//   3 sums: [2, C, tokens] f32 (read-write)
// Grid: (row_x, rows, C) workgroups of WG; token n = (wg.y·row_x + wg.x)·WG + local, chain c = wg.z.

const WG: u32 = 64u;

struct Params {
  chains: u32,
  tokens: u32,
  ell_offset: u32,
  row_x: u32,
  l0: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ell: array<f32>;
@group(0) @binding(2) var<storage, read> ploss: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = (wg.y * p.row_x + wg.x) * WG + li;
  if (n >= p.tokens) {
    return;
  }
  let c = wg.z;
  let P = ploss[c];
  let d = P - ell[p.ell_offset + c * p.tokens + n];
  let phi = P - p.l0;
  let i = c * p.tokens + n;
  sums[i] = sums[i] + phi * d;
  let j = p.chains * p.tokens + i;
  sums[j] = sums[j] + d;
}
