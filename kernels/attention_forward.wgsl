// Fused causal multi-head attention, forward (FlashAttention-2 style, TransformerLens semantics):
//   z[i] = Σ_{j≤i} softmax_j(scale · q[i]·k[j]) v[j],   lse[i] = log Σ_{j≤i} exp(scale · q[i]·k[j]).
// QB consecutive query rows per invocation (positions i0 … i0 + QB − 1 of one sequence; QB divides T): each row
// keeps q and its output accumulator in registers as E/4 vec4s, with an online max m and denominator l rescaled
// only when the max grows. The loop over keys loads each key and value row once for all QB rows, which is what
// makes the kernel fast on CPU adapters, whose loads from storage buffers (issued per SIMD lane), not the arithmetic, bound this kernel; row u skips
// the keys past its own position (j > i0 + u). The `//#repeat U` blocks are written once and repeated for
// U = 0 … QB − 1 by lib/gpu/kernel.ts (repeatBlocks), so that each row's state stays in registers.
// Computed rows are numbered r = ((c·hn + h − h0)·B + b)·T + i over all C copies, so one dispatch covers every
// copy, for heads [h0, h0 + hn) (all H heads by default; the other heads' z and lse are not written); rowAt
// gives the storage row.
// Grid: ceil(C·hn·B·T / (QB·WG)) workgroups, folded into x·y ≤ 65535² (r0 = ((wid.y·nwg.x + wid.x)·WG + lid)·QB);
// invocations past the end return at once.
// Offsets in Params are in elements of the binding (vec4s for q, k, v, z; f32 for lse).
// Includes kernels/attention_params.wgsl (Rows, the bindings 0 prm, 1 q, 2 k, 3 v, the row addressing),
// appended by lib/model/attention.ts.

const E4: u32 = 8u; // d_head / 4
const WG: u32 = 64u; // invocations per workgroup
const QB: u32 = 1u; // query rows per invocation (the `//#repeat U` blocks are repeated QB times)

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
  let r0 = rowIndex(wid, nwg, lid) * QB;
  if (r0 >= prm.rows.n) {
    return;
  }
  let at = rowAt(r0);
  let i0 = at.i;
  let row0 = at.row; // storage row of query i0
  let kv0 = at.seq * prm.rows.T * E4; // first key/value row of this sequence, in vec4s

  // Key 0 is visible to every row: start each online softmax from it (no -inf arithmetic).
  //#repeat U
  var q_U: array<vec4<f32>, E4>;
  var m_U = 0.0;
  var acc_U: array<vec4<f32>, E4>;
  for (var e = 0u; e < E4; e++) {
    q_U[e] = q[prm.q_off + (row0 + U) * E4 + e];
    m_U += dot(q_U[e], k[prm.k_off + kv0 + e]);
    acc_U[e] = v[prm.v_off + kv0 + e];
  }
  m_U *= prm.scale;
  var l_U = 1.0;
  //#end

  for (var j = 1u; j < i0 + QB; j++) {
    var kj: array<vec4<f32>, E4>;
    var vj: array<vec4<f32>, E4>;
    for (var e = 0u; e < E4; e++) {
      kj[e] = k[prm.k_off + kv0 + j * E4 + e];
      vj[e] = v[prm.v_off + kv0 + j * E4 + e];
    }
    //#repeat U
    if (j <= i0 + U) {
      var s = 0.0;
      for (var e = 0u; e < E4; e++) {
        s += dot(q_U[e], kj[e]);
      }
      s *= prm.scale;
      if (s > m_U) {
        let c = exp(m_U - s);
        l_U *= c;
        for (var e = 0u; e < E4; e++) {
          acc_U[e] *= c;
        }
        m_U = s;
      }
      let p = exp(s - m_U);
      l_U += p;
      for (var e = 0u; e < E4; e++) {
        acc_U[e] += p * vj[e];
      }
    }
    //#end
  }

  //#repeat U
  {
    let zr = prm.z_off + zRow(at, i0 + U);
    let inv = 1.0 / l_U;
    for (var e = 0u; e < E4; e++) {
      z[zr + e] = acc_U[e] * inv;
    }
    lse[prm.lse_off + row0 + U] = m_U + log(l_U);
  }
  //#end
}
