// What the fused attention kernels share (kernels/attention_forward.wgsl, attention_backward_dq.wgsl,
// attention_backward_dkdv.wgsl), appended to each by lib/model/attention.ts: the head of their Params, the
// bindings 0-3 they all have, and the row addressing. Each kernel declares its own constants E4 (d_head / 4) and
// WG (invocations per workgroup) and its own `struct Params` (the operands differ), which opens with
// `rows: Rows` and lists the element offsets of its bindings 1, 2, … in order, then `scale: f32`.
//
// Rows r = ((c·H + h)·B + b)·T + i over all C copies: q, k, v, dq, dk, dv are [C, H, B, T, E] (row r at r·E4
// vec4s), lse and d are [C, H, B, T] (one f32 per row), z and dz are [C, B, T, H, E] (zRow below).

// The head of every Params, packed first by lib/model/attention.ts. As the first member of a uniform struct it
// takes bytes 0-15, exactly where four u32 fields would.
struct Rows {
  n: u32, // C·H·B·T
  T: u32,
  B: u32,
  H: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>; // [C, H, B, T, E]
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>; // [C, H, B, T, E]
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>; // [C, H, B, T, E]

// The row of invocation `lid` of workgroup `wid`: the grid is ceil(rows / WG) workgroups folded into 2D,
// row = (wid.y·nwg.x + wid.x)·WG + lid; rows past prm.rows.n must return at once.
fn rowIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

// Where row r lies: its sequence seq = (c·H + h)·B + b, position i in it, copy c, head h, batch element b.
struct Row {
  seq: u32,
  i: u32,
  c: u32,
  h: u32,
  b: u32,
}

fn rowAt(r: u32) -> Row {
  let seq = r / prm.rows.T;
  let ch = seq / prm.rows.B;
  return Row(seq, r - seq * prm.rows.T, ch / prm.rows.H, ch % prm.rows.H, seq % prm.rows.B);
}

// Offset, in vec4s, of position i of row `at`'s sequence in the z layout [C, B, T, H, E].
fn zRow(at: Row, i: u32) -> u32 {
  return (((at.c * prm.rows.B + at.b) * prm.rows.T + i) * prm.rows.H + at.h) * E4;
}
