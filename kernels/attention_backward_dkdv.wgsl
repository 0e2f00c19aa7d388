// Fused causal attention backward, key side: for each key row j (with s_ij = scale · q[i]·k[j],
// P_ij = exp(s_ij − lse[i]) recomputed from the forward's log-sum-exp, i ≥ j):
//   dv[j] = Σ_{i≥j} P_ij dz[i]
//   dk[j] = scale · Σ_{i≥j} P_ij (dz[i]·v[j] − D[i]) q[i]
// D = rowsum(dz∘z) comes from attention_backward_dq, which must run first (with the same heads). dk and dv
// are overwritten, for the computed heads only.
// One key row per invocation; k[j], v[j] and both accumulators live in registers as E/4
// vec4s, the loop runs over the later query rows. Computed rows r = ((c·hn + h − h0)·B + b)·T + j over all C
// copies, for heads [h0, h0 + hn) (all H heads by default; the other heads' dk and dv are not written); rowAt
// gives the storage row.
// Grid: ceil(C·hn·B·T / WG) workgroups folded into 2D (r = (wid.y·nwg.x + wid.x)·WG + lid).
// Offsets in Params are in elements of the binding (vec4s for q, k, v, dz, dk, dv; f32 for lse, d).
// Includes kernels/attention_params.wgsl (Rows, the bindings 0 prm, 1 q, 2 k, 3 v, the row addressing),
// appended by lib/model/attention.ts.

const E4: u32 = 8u; // d_head / 4
const WG: u32 = 64u; // invocations per workgroup

struct Params {
  rows: Rows, // C·hn·B·T computed rows, T, B, H, h0, hn
  q_off: u32,
  k_off: u32,
  v_off: u32,
  dz_off: u32,
  lse_off: u32,
  d_off: u32,
  dk_off: u32,
  dv_off: u32,
  scale: f32, // 1/sqrt(d_head)
}

@group(0) @binding(4) var<storage, read> dz: array<vec4<f32>>; // [C, B, T, H, E] dLoss/dz
@group(0) @binding(5) var<storage, read> lse: array<f32>; // [C, H, B, T]
@group(0) @binding(6) var<storage, read> d: array<f32>; // [C, H, B, T] D = rowsum(dz∘z)
@group(0) @binding(7) var<storage, read_write> dk: array<vec4<f32>>; // [C, H, B, T, E]
@group(0) @binding(8) var<storage, read_write> dv: array<vec4<f32>>; // [C, H, B, T, E]

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let r = rowIndex(wid, nwg, lid);
  if (r >= prm.rows.n) {
    return;
  }
  let T = prm.rows.T;
  let at = rowAt(r);
  let j = at.i;
  let row = at.row; // storage row of key j
  let row0 = at.seq * T; // first row of this sequence in q and in lse/d
  let zstep = prm.rows.H * E4; // dz row stride along the sequence, in vec4s
  let z0 = zRow(at, 0u); // dz row of query 0 of this sequence

  var kr: array<vec4<f32>, E4>;
  var vr: array<vec4<f32>, E4>;
  var gk: array<vec4<f32>, E4>;
  var gv: array<vec4<f32>, E4>;
  for (var e = 0u; e < E4; e++) {
    kr[e] = k[prm.k_off + row * E4 + e];
    vr[e] = v[prm.v_off + row * E4 + e];
    gk[e] = vec4<f32>(0.0);
    gv[e] = vec4<f32>(0.0);
  }
  for (var i = j; i < T; i++) {
    let qi = prm.q_off + (row0 + i) * E4;
    let zi = prm.dz_off + z0 + i * zstep;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < E4; e++) {
      s += dot(q[qi + e], kr[e]);
      dp += dot(dz[zi + e], vr[e]);
    }
    let p = exp(s * prm.scale - lse[prm.lse_off + row0 + i]);
    let ds = p * (dp - d[prm.d_off + row0 + i]);
    for (var e = 0u; e < E4; e++) {
      gv[e] += p * dz[zi + e];
      gk[e] += ds * q[qi + e];
    }
  }
  let out = row * E4;
  for (var e = 0u; e < E4; e++) {
    dk[prm.dk_off + out + e] = gk[e] * prm.scale;
    dv[prm.dv_off + out + e] = gv[e];
  }
}
