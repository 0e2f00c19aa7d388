// Fused causal attention backward, query side: for each query row i (with s_ij = scale · q[i]·k[j],
// P_ij = exp(s_ij − lse[i]) recomputed from the forward's log-sum-exp, j ≤ i):
//   D[i]  = Σ_e dz[i]·z[i]                       (rowsum(dO∘O), written for the key-side pass)
//   dq[i] = scale · Σ_{j≤i} P_ij (dz[i]·v[j] − D[i]) k[j]
// dq and D are overwritten, for the computed heads only. Run before attention_backward_dkdv, which reads D.
// One query row per invocation; q[i], dz[i] and the dq accumulator live in registers as
// E/4 vec4s. Computed rows r = ((c·hn + h − h0)·B + b)·T + i over all C copies, for heads [h0, h0 + hn) (all H
// heads by default; the other heads' dq and D are not written); rowAt gives the storage row.
// Grid: ceil(C·hn·B·T / WG) workgroups folded into 2D (r = (wid.y·nwg.x + wid.x)·WG + lid).
// Offsets in Params are in elements of the binding (vec4s for q, k, v, z, dz, dq; f32 for lse, d).
// Includes kernels/attention_params.wgsl (Rows, the bindings 0 prm, 1 q, 2 k, 3 v, the row addressing),
// appended by lib/model/attention.ts.

const E4: u32 = 8u; // d_head / 4
const WG: u32 = 64u; // invocations per workgroup

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
  let r = rowIndex(wid, nwg, lid);
  if (r >= prm.rows.n) {
    return;
  }
  let at = rowAt(r);
  let i = at.i;
  let zr = zRow(at, i);
  let row = at.row; // storage row of query i
  let kv0 = at.seq * prm.rows.T * E4;

  var qr: array<vec4<f32>, E4>;
  var g: array<vec4<f32>, E4>;
  var dacc = vec4<f32>(0.0);
  for (var e = 0u; e < E4; e++) {
    qr[e] = q[prm.q_off + row * E4 + e];
    g[e] = dz[prm.dz_off + zr + e];
    dacc += g[e] * z[prm.z_off + zr + e];
  }
  let Di = (dacc.x + dacc.y) + (dacc.z + dacc.w);
  d[prm.d_off + row] = Di;
  let L = lse[prm.lse_off + row];

  var acc: array<vec4<f32>, E4>;
  for (var e = 0u; e < E4; e++) {
    acc[e] = vec4<f32>(0.0);
  }
  for (var j = 0u; j <= i; j++) {
    let kr = prm.k_off + kv0 + j * E4;
    let vr = prm.v_off + kv0 + j * E4;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < E4; e++) {
      s += dot(qr[e], k[kr + e]);
      dp += dot(g[e], v[vr + e]);
    }
    let ds = exp(s * prm.scale - L) * (dp - Di);
    for (var e = 0u; e < E4; e++) {
      acc[e] += ds * k[kr + e];
    }
  }
  let dqr = prm.dq_off + row * E4;
  for (var e = 0u; e < E4; e++) {
    dq[dqr + e] = acc[e] * prm.scale;
  }
}
