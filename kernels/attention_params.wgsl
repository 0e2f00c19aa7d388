// What the fused attention kernels share (kernels/attention_forward.wgsl, attention_backward_dq.wgsl,
// attention_backward_dkdv.wgsl), appended to each by lib/model/attention.ts: the head of their Params, the
// bindings 0-3 they all have, and the row addressing. Each kernel declares its own constants E4 (d_head / 4) and
// WG (invocations per workgroup) and its own `struct Params` (the operands differ), which opens with
// `rows: Rows` and lists the element offsets of its bindings 1, 2, … in order, then `scale: f32`.
//
// Storage rows ((c·H + h)·B + b)·T + i over all C copies: q, k, v, dq, dk, dv are [C, H, B, T, E] (row at
// row·E4 vec4s), lse and d are [C, H, B, T] (one f32 per row), z and dz are [C, B, T, H, E] (zRow below).
// A dispatch may compute only the heads [h0, h0 + hn) of every copy (AttentionShape.heads): the buffers keep
// the layout of all H heads, the grid covers the C·hn·B·T computed rows r = ((c·hn + h − h0)·B + b)·T + i, and
// rowAt maps r to its storage row; the other heads' rows are neither read nor written. With every head
// (h0 = 0, hn = H) the computed row is the storage row.

// The head of every Params, packed first by lib/model/attention.ts as eight u32 (the last two zero). A struct
// member of a uniform struct must be followed by at least roundUp(16, its size) bytes: eight u32 take bytes
// 0-31, exactly where eight u32 fields would, so the offsets that follow start at byte 32.
struct Rows {
  n: u32, // computed rows, C·hn·B·T
  T: u32,
  B: u32,
  H: u32, // heads in the layout
  h0: u32, // first computed head
  hn: u32, // computed heads (H when all)
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>; // [C, H, B, T, E]
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>; // [C, H, B, T, E]
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>; // [C, H, B, T, E]

// The computed row of invocation `lid` of workgroup `wid`: the grid is ceil(rows / WG) workgroups folded into
// 2D, r = (wid.y·nwg.x + wid.x)·WG + lid; rows past prm.rows.n must return at once.
fn rowIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

// Where a computed row lies: its sequence seq = (c·H + h)·B + b in the layout, position i in it, copy c,
// head h, batch element b, and its storage row = seq·T + i (the index into lse and d; times E4 into q, k, v,
// dq, dk, dv).
struct Row {
  seq: u32,
  i: u32,
  c: u32,
  h: u32,
  b: u32,
  row: u32,
}

// Computed row r = ((c·hn + h − h0)·B + b)·T + i → its Row.
fn rowAt(r: u32) -> Row {
  let s = r / prm.rows.T; // computed sequence (c·hn + h − h0)·B + b
  let i = r - s * prm.rows.T;
  let ch = s / prm.rows.B;
  let b = s - ch * prm.rows.B;
  let c = ch / prm.rows.hn;
  let h = prm.rows.h0 + (ch - c * prm.rows.hn);
  let seq = (c * prm.rows.H + h) * prm.rows.B + b;
  return Row(seq, i, c, h, b, seq * prm.rows.T + i);
}

// Offset, in vec4s, of position i of row `at`'s sequence in the z layout [C, B, T, H, E].
fn zRow(at: Row, i: u32) -> u32 {
  return (((at.c * prm.rows.B + at.b) * prm.rows.T + i) * prm.rows.H + at.h) * E4;
}
