// Fused causal attention backward, query side: for each query row i (with s_ij = scale · q[i]·k[j],
// P_ij = exp(s_ij − lse[i]) recomputed from the forward's log-sum-exp, j ≤ i):
//   D[i]  = Σ_e dz[i]·z[i]                       (rowsum(dO∘O), written for the key-side pass)
//   dq[i] = scale · Σ_{j≤i} P_ij (dz[i]·v[j] − D[i]) k[j]
// dq and D are overwritten, for the computed heads only. Run before attention_backward_dkdv, which reads D.
// QB consecutive query rows per invocation (positions i0 … i0 + QB − 1 of one sequence; QB divides T), each with
// q[i], dz[i] and its dq accumulator in registers as E/4 vec4s; each key and value row is loaded once for all QB
// rows (see kernels/attention_forward.wgsl for why, and for the `//#repeat U` blocks). Computed rows r = ((c·hn + h − h0)·B + b)·T + i over all C copies, for heads [h0, h0 + hn) (all H
// heads by default; the other heads' dq and D are not written); rowAt gives the storage row.
// Grid: ceil(C·hn·B·T / (QB·WG)) workgroups folded into 2D (r0 = ((wid.y·nwg.x + wid.x)·WG + lid)·QB).
// Offsets in Params are in elements of the binding (vec4s for q, k, v, z, dz, dq; f32 for lse, d).
// Includes kernels/attention_params.wgsl (Rows, the bindings 0 prm, 1 q, 2 k, 3 v, the row addressing),
// appended by lib/model/attention.ts.

const E4: u32 = 8u; // d_head / 4
const WG: u32 = 64u; // invocations per workgroup
const QB: u32 = 1u; // query rows per invocation

struct Params {
  rows: Rows, // C·hn·B·T computed rows, T, B, H, h0, hn
  q_off: u32,
  k_off: u32,
  v_off: u32,
  z_off: u32,
  dz_off: u32,
  lse_off: u32,
  d_off: u32,
  dq_off: u32,
  scale: f32, // 1/sqrt(d_head)
}

@group(0) @binding(4) var<storage, read> z: array<vec4<f32>>; // [C, B, T, H, E] forward output O
@group(0) @binding(5) var<storage, read> dz: array<vec4<f32>>; // [C, B, T, H, E] dLoss/dz
@group(0) @binding(6) var<storage, read> lse: array<f32>; // [C, H, B, T]
@group(0) @binding(7) var<storage, read_write> d: array<f32>; // [C, H, B, T] D = rowsum(dz∘z)
@group(0) @binding(8) var<storage, read_write> dq: array<vec4<f32>>; // [C, H, B, T, E]

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
  let at = rowAt(r0);
  let i0 = at.i;
  let row0 = at.row; // storage row of query i0
  let kv0 = at.seq * prm.rows.T * E4;

  //#repeat U
  var q_U: array<vec4<f32>, E4>;
  var g_U: array<vec4<f32>, E4>;
  var acc_U: array<vec4<f32>, E4>;
  let zr_U = prm.dz_off + zRow(at, i0 + U);
  let zo_U = prm.z_off + zRow(at, i0 + U);
  var dacc_U = vec4<f32>(0.0);
  for (var e = 0u; e < E4; e++) {
    q_U[e] = q[prm.q_off + (row0 + U) * E4 + e];
    g_U[e] = dz[zr_U + e];
    dacc_U += g_U[e] * z[zo_U + e];
    acc_U[e] = vec4<f32>(0.0);
  }
  let D_U = (dacc_U.x + dacc_U.y) + (dacc_U.z + dacc_U.w);
  d[prm.d_off + row0 + U] = D_U;
  let L_U = lse[prm.lse_off + row0 + U];
  //#end

  for (var j = 0u; j < i0 + QB; j++) {
    var kj: array<vec4<f32>, E4>;
    var vj: array<vec4<f32>, E4>;
    for (var e = 0u; e < E4; e++) {
      kj[e] = k[prm.k_off + kv0 + j * E4 + e];
      vj[e] = v[prm.v_off + kv0 + j * E4 + e];
    }
    //#repeat U
    if (j <= i0 + U) {
      var s = 0.0;
      var dp = 0.0;
      for (var e = 0u; e < E4; e++) {
        s += dot(q_U[e], kj[e]);
        dp += dot(g_U[e], vj[e]);
      }
      let ds = exp(s * prm.scale - L_U) * (dp - D_U);
      for (var e = 0u; e < E4; e++) {
        acc_U[e] += ds * kj[e];
      }
    }
    //#end
  }
  //#repeat U
  for (var e = 0u; e < E4; e++) {
    dq[prm.dq_off + (row0 + U) * E4 + e] = acc_U[e] * prm.scale;
  }
  //#end
}
