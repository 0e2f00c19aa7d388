// Fused causal attention backward, key side: for each key row j (with s_ij = scale · q[i]·k[j],
// P_ij = exp(s_ij − lse[i]) recomputed from the forward's log-sum-exp, i ≥ j):
//   dv[j] = Σ_{i≥j} P_ij dz[i]
//   dk[j] = scale · Σ_{i≥j} P_ij (dz[i]·v[j] − D[i]) q[i]
// D = rowsum(dz∘z) comes from attention_backward_dq, which must run first (with the same heads). dk and dv
// are overwritten, for the computed heads only.
// QB consecutive key rows per invocation (positions j0 … j0 + QB − 1 of one sequence; QB divides T), each with
// k[j], v[j] and both accumulators in registers as E/4 vec4s; the loop runs over the later query rows, loading
// each q, dz, lse and D row once for all QB keys (see kernels/attention_forward.wgsl for why, and for the
// `//#repeat U` blocks). Computed rows r = ((c·hn + h − h0)·B + b)·T + j over all C
// copies, for heads [h0, h0 + hn) (all H heads by default; the other heads' dk and dv are not written); rowAt
// gives the storage row.
// Grid: ceil(C·hn·B·T / (QB·WG)) workgroups folded into 2D (r0 = ((wid.y·nwg.x + wid.x)·WG + lid)·QB).
// Offsets in Params are in elements of the binding (vec4s for q, k, v, dz, dk, dv; f32 for lse, d).
// Includes kernels/attention_params.wgsl (Rows, the bindings 0 prm, 1 q, 2 k, 3 v, the row addressing),
// appended by lib/model/attention.ts.

const E4: u32 = 8u; // d_head / 4
const WG: u32 = 64u; // invocations per workgroup
const QB: u32 = 1u; // key rows per invocation

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
  let r0 = rowIndex(wid, nwg, lid) * QB;
  if (r0 >= prm.rows.n) {
    return;
  }
  let T = prm.rows.T;
  let at = rowAt(r0);
  let j0 = at.i;
  let row0 = at.row; // storage row of key j0
  let first = at.seq * T; // first row of this sequence in q and in lse/d
  let zstep = prm.rows.H * E4; // dz row stride along the sequence, in vec4s
  let z0 = zRow(at, 0u); // dz row of query 0 of this sequence

  //#repeat U
  var k_U: array<vec4<f32>, E4>;
  var v_U: array<vec4<f32>, E4>;
  var gk_U: array<vec4<f32>, E4>;
  var gv_U: array<vec4<f32>, E4>;
  for (var e = 0u; e < E4; e++) {
    k_U[e] = k[prm.k_off + (row0 + U) * E4 + e];
    v_U[e] = v[prm.v_off + (row0 + U) * E4 + e];
    gk_U[e] = vec4<f32>(0.0);
    gv_U[e] = vec4<f32>(0.0);
  }
  //#end
  for (var i = j0; i < T; i++) {
    let qi = prm.q_off + (first + i) * E4;
    let zi = prm.dz_off + z0 + i * zstep;
    var qr: array<vec4<f32>, E4>;
    var g: array<vec4<f32>, E4>;
    for (var e = 0u; e < E4; e++) {
      qr[e] = q[qi + e];
      g[e] = dz[zi + e];
    }
    let L = lse[prm.lse_off + first + i];
    let Di = d[prm.d_off + first + i];
    //#repeat U
    if (i >= j0 + U) {
      var s = 0.0;
      var dp = 0.0;
      for (var e = 0u; e < E4; e++) {
        s += dot(qr[e], k_U[e]);
        dp += dot(g[e], v_U[e]);
      }
      let p = exp(s * prm.scale - L);
      let ds = p * (dp - Di);
      for (var e = 0u; e < E4; e++) {
        gv_U[e] += p * g[e];
        gk_U[e] += ds * qr[e];
      }
    }
    //#end
  }
  //#repeat U
  for (var e = 0u; e < E4; e++) {
    dk[prm.dk_off + (row0 + U) * E4 + e] = gk_U[e] * prm.scale;
    dv[prm.dv_off + (row0 + U) * E4 + e] = gv_U[e];
  }
  //#end
}
