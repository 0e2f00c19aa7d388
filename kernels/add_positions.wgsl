// Adds the positional embedding to every sequence of every copy (shortformer query/key input when the model has
// no layer norm; with LN this add is fused into kernels/layernorm.wgsl):
//   y[c, b, t, d] = x[c, b, t, d] + W_pos[c][t, d]
//
// Shapes (f32 elements):
//   x, y   [C, B, T, D]  contiguous, at x_off / y_off
//   params [C, P]        copy c's W_pos [n_ctx, D] starts at c·P + pos_off
// Bindings: 0 uniform Params; 1 x (read); 2 params (read); 3 y (read_write). x and y are different buffers.
// Grid: ceil(C·B·T·D / WG) workgroups folded into 2-D (i = (wid.y·nwg.x + wid.x)·WG + lid).

const WG: u32 = 64u;

struct Params {
  n: u32, // C·B·T·D
  per_copy: u32, // B·T·D
  td: u32, // T·D: one sequence
  x_off: u32,
  y_off: u32,
  pos_off: u32, // W_pos of copy 0
  param_stride: u32, // P
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>; // [C, B, T, D]
@group(0) @binding(2) var<storage, read> w: array<f32>; // [C, P]
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [C, B, T, D]

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= prm.n) {
    return;
  }
  let c = i / prm.per_copy;
  let td = (i % prm.per_copy) % prm.td; // t·D + d
  y[prm.y_off + i] = x[prm.x_off + i] + w[c * prm.param_stride + prm.pos_off + td];
}
