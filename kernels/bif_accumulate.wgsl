// Bayesian influence running sums (BIF(i, j) = −Cov_w[ℓ_i, ℓ_j], devinterp 2026), updated once per draw on the
// device like the per-token χ sums. For chain c, probe token i and training token j, with x = ℓ − centre
// (centre: each token's loss at w*, so the f32 sums hold fluctuations, not the large mean losses):
//   s2[c, i, j] += x_i · x_j
//   s1[c, i]     += x_i   (probe tokens, written by the threads with j = 0)
//   s1[c, Np + j] += x_j  (training tokens, written by the threads with i = 0)
//
// Bindings:
//   0 p: Params (uniform)
//   1 ell: [*] f32      — per-token losses, token n of chain c at ell_offset + c·tokens + n
//   2 centre: [tokens] f32
//   3 sums: [C·Np·Nt + C·(Np + Nt)] f32 (read-write): s2 then s1
// Grid: (row_x, rows, C) workgroups of WG over the Np·Nt pairs, pair q = (wg.y·row_x + wg.x)·WG + local,
// i = q / Nt, j = q % Nt, chain c = wg.z.

const WG: u32 = 64u;

struct Params {
  chains: u32,
  tokens: u32,
  ell_offset: u32,
  row_x: u32,
  probe_start: u32,
  probe_count: u32,
  train_start: u32,
  train_count: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ell: array<f32>;
@group(0) @binding(2) var<storage, read> centre: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let q = (wg.y * p.row_x + wg.x) * WG + li;
  let pairs = p.probe_count * p.train_count;
  if (q >= pairs) {
    return;
  }
  let c = wg.z;
  let i = q / p.train_count;
  let j = q % p.train_count;
  let row = p.ell_offset + c * p.tokens;
  let ni = p.probe_start + i;
  let nj = p.train_start + j;
  let xi = ell[row + ni] - centre[ni];
  let xj = ell[row + nj] - centre[nj];
  let k = c * pairs + q;
  sums[k] = sums[k] + xi * xj;
  let s1 = p.chains * pairs + c * (p.probe_count + p.train_count);
  if (j == 0u) {
    sums[s1 + i] = sums[s1 + i] + xi;
  }
  if (i == 0u) {
    sums[s1 + p.probe_count + j] = sums[s1 + p.probe_count + j] + xj;
  }
}
