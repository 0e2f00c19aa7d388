// axpy and fill over a contiguous range of f32 elements:
//   axpy:  y[y_off + i] += a · x[x_off + i]    for i < n   (adds gradient streams)
//   fill:  y[y_off + i]  = value               for i < n   (zeroes gradients inside a compute pass)
// Entry points: axpy4 / fill4 (n, x_off, y_off multiples of 4; one vec4 per invocation, offsets in vec4s),
// axpy1 / fill1 (any alignment; one element per invocation, offsets in elements).
// x and y must be different buffers (a buffer cannot be bound read-only and writable in one dispatch).
// Grid: ceil(items / WG) workgroups, folded into x·y ≤ 65535² (item = (wid.y·nwg.x + wid.x)·WG + lid);
// items past the end return at once.

const WG: u32 = 64u; // invocations per workgroup

struct Params {
  n: u32, // items: elements (axpy1, fill1) or vec4s (axpy4, fill4)
  x_off: u32, // offset of x, in items
  y_off: u32, // offset of y, in items
  a: f32, // scale (axpy) or value (fill)
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>; // [n] vec4s at x_off
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>; // [n] vec4s at y_off

@compute @workgroup_size(WG)
fn axpy4(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= prm.n) {
    return;
  }
  y4[prm.y_off + i] += prm.a * x4[prm.x_off + i];
}

@group(0) @binding(0) var<uniform> prm1: Params;
@group(0) @binding(1) var<storage, read> x1: array<f32>; // [n] at x_off
@group(0) @binding(2) var<storage, read_write> y1: array<f32>; // [n] at y_off

@compute @workgroup_size(WG)
fn axpy1(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= prm1.n) {
    return;
  }
  y1[prm1.y_off + i] += prm1.a * x1[prm1.x_off + i];
}

// fill: bindings 0 (Params; x_off unused) and 1 (y).
@group(0) @binding(0) var<uniform> prmf: Params;
@group(0) @binding(1) var<storage, read_write> f4: array<vec4<f32>>; // [n] vec4s at y_off
@group(0) @binding(1) var<storage, read_write> f1: array<f32>; // [n] at y_off

@compute @workgroup_size(WG)
fn fill4(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= prmf.n) {
    return;
  }
  f4[prmf.y_off + i] = vec4<f32>(prmf.a);
}

@compute @workgroup_size(WG)
fn fill1(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= prmf.n) {
    return;
  }
  f1[prmf.y_off + i] = prmf.a;
}
