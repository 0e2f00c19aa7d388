// The mixed-batch loss L_n^δh of every copy and probe (paper eq. 38, appendix C.4 Algorithm 1), computed from
// the sampling minibatch's own forward pass plus a forward pass over only the contexts Algorithm 1 replaces:
//   out[p, c] = base_mean[c] + inv_norm · Σ_{i < m} Σ_{t < T−1} (probe_ell[c, p·M + i, t] − base_ell[c, rows[i], t])
// with m = sel[0] (contexts replaced at this step, ≤ M), rows[i] = sel[1 + i] (their rows in the minibatch) and
// inv_norm = 1 / (B·(T−1)) (the mean over the minibatch's predictions). Position T−1 predicts nothing.
//
// Bindings:
//   0 p: Params (uniform)
//   1 base_ell: [C, B, T] f32      — per-token losses of the sampling minibatch (transformer tokenLosses)
//   2 probe_ell: [C, P·M, T] f32   — per-token losses of the probe contexts, M rows per probe
//   3 base_mean: [C] f32           — each copy's mean minibatch loss L_n (transformer meanLosses slot 0)
//   4 sel: [1 + M] u32             — m, then the replaced rows
//   5 out: [P, C] f32 (write)
// Grid: (P, C, 1) workgroups of WG threads; the threads of a workgroup stride over the m·(T−1) terms and a
// tree reduction in workgroup memory sums them.

const WG: u32 = 64u;

struct Params {
  copies: u32,
  batch: u32,
  seq_len: u32,
  rows_per_probe: u32,
  probes: u32,
  inv_norm: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> base_ell: array<f32>;
@group(0) @binding(2) var<storage, read> probe_ell: array<f32>;
@group(0) @binding(3) var<storage, read> base_mean: array<f32>;
@group(0) @binding(4) var<storage, read> sel: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let probe = wg.x;
  let c = wg.y;
  let T = p.seq_len;
  let M = p.rows_per_probe;
  let m = min(sel[0], M);
  let n_probes = p.probes;
  let terms = m * (T - 1u);
  var acc = 0.0;
  for (var e = li; e < terms; e = e + WG) {
    let i = e / (T - 1u);
    let t = e % (T - 1u);
    let pr = (c * n_probes * M + probe * M + i) * T + t;
    let br = (c * p.batch + sel[1u + i]) * T + t;
    acc = acc + (probe_ell[pr] - base_ell[br]);
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) {
      partial[li] = partial[li] + partial[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    out[probe * p.copies + c] = base_mean[c] + p.inv_norm * partial[0];
  }
}
