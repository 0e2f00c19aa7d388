// Fused causal multi-head attention, forward (FlashAttention-2 style, TransformerLens semantics):
//   z[i] = Σ_{j≤i} softmax_j(scale · q[i]·k[j]) v[j],   lse[i] = log Σ_{j≤i} exp(scale · q[i]·k[j]).
// One query row per invocation: q[i] and the output accumulator live in registers as E/4
// vec4s; the loop over keys keeps an online max m and denominator l, rescaling only when the max grows.
// Computed rows are numbered r = ((c·hn + h − h0)·B + b)·T + i over all C copies, so one dispatch covers every
// copy, for heads [h0, h0 + hn) (all H heads by default; the other heads' z and lse are not written); rowAt
// gives the storage row.
// Grid: ceil(C·hn·B·T / WG) workgroups, folded into x·y ≤ 65535² (r = (wid.y·nwg.x + wid.x)·WG + lid);
// rows past the end return at once.
// Offsets in Params are in elements of the binding (vec4s for q, k, v, z; f32 for lse).
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
  lse_off: u32,
  scale: f32, // 1/sqrt(d_head)
}

@group(0) @binding(4) var<storage, read_write> z: array<vec4<f32>>; // [C, B, T, H, E]
@group(0) @binding(5) var<storage, read_write> lse: array<f32>; // [C, H, B, T]

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
  let row = at.row; // storage row of query i
  let kv0 = at.seq * prm.rows.T * E4; // first key/value row of this sequence, in vec4s

  var qr: array<vec4<f32>, E4>;
  for (var e = 0u; e < E4; e++) {
    qr[e] = q[prm.q_off + row * E4 + e];
  }
  // Key 0 is always visible: start the online softmax from it (no -inf arithmetic).
  var m = 0.0;
  for (var e = 0u; e < E4; e++) {
    m += dot(qr[e], k[prm.k_off + kv0 + e]);
  }
  m *= prm.scale;
  var l = 1.0;
  var acc: array<vec4<f32>, E4>;
  for (var e = 0u; e < E4; e++) {
    acc[e] = v[prm.v_off + kv0 + e];
  }
  for (var j = 1u; j <= i; j++) {
    let kr = prm.k_off + kv0 + j * E4;
    var s = 0.0;
    for (var e = 0u; e < E4; e++) {
      s += dot(qr[e], k[kr + e]);
    }
    s *= prm.scale;
    if (s > m) {
      let c = exp(m - s);
      l *= c;
      for (var e = 0u; e < E4; e++) {
        acc[e] *= c;
      }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    let vr = prm.v_off + kv0 + j * E4;
    for (var e = 0u; e < E4; e++) {
      acc[e] += p * v[vr + e];
    }
  }

  let zr = prm.z_off + zRow(at, i);
  let inv = 1.0 / l;
  for (var e = 0u; e < E4; e++) {
    z[zr + e] = acc[e] * inv;
  }
  lse[prm.lse_off + row] = m + log(l);
}
