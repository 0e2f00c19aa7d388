// Softmax cross-entropy over the vocabulary, fused with its backward (llm.c's fused classifier), batched over
// copies. Global rows are g = (c·B + b)·T + t over all C copies; row g predicts token (b, t+1) of copy c:
//   tgt = tokens[tok_off + c·tok_stride + b·T + t + 1]            (t < T−1; the last position has none)
//   loss[loss_off + g] = logsumexp(logits[g, :]) − logits[g, tgt]   (0 for t = T−1; NaN if the row holds
//                                                                        a NaN/Inf or tgt is ≥ V)
//   BACKWARD: logits[g, :] ← (softmax(logits[g, :]) − onehot(tgt)) · grad_scale   (in place; 0 for t = T−1)
// The dispatch covers the chunk of rows [row_start, row_start + rows); the logits binding holds only that chunk
// (row g at logits_off + (g − row_start)·V), the losses binding the whole [C, B, T].
// Entry main: one workgroup per row. Each invocation scans a strided slice of the row keeping its own max and
// sum of exp(x − max); one tree reduction in workgroup memory merges the (max, sum) pairs. Then, in BACKWARD
// mode, each invocation rewrites its slice. Grid: rows workgroups, folded into x·y ≤ 65535²
// (row = wid.y·nwg.x + wid.x); workgroups past the end return at once.
// Entry main_rows (CPU adapters): the same formulas with one invocation per row and WG rows per workgroup, no
// barriers: llvmpipe runs a workgroup on one thread and each barrier of `main` costs a coroutine switch, which at
// V = 512 took longer than the arithmetic. Grid: ceil(rows / WG) workgroups, folded like `main`'s.
// Entry main_rows4 (CPU adapters, V and logits_off multiples of 4): main_rows reading and writing each row as
// vec4s, and keeping exp(x − max) in the row between the sum and the gradient pass. llvmpipe gathers a load
// whose address differs per lane one lane at a time, so a vec4 costs about what a scalar does. Same operations
// in the same order as main_rows, so the same bits. Grid: as main_rows.
// Entry mean_loss: one workgroup per copy, out[out_off + c] = Σ_{b, t<T−1} loss[loss_off + (c·B + b)·T + t]
// / (B·(T−1)), per-invocation Kahan sums then a tree reduction (deterministic). Grid: C workgroups.

const WG: u32 = 64u; // invocations per workgroup (power of two)
const BACKWARD: bool = false; // overwrite the logits with dlogits

struct Params {
  rows: u32, // rows in this chunk
  row_start: u32, // global index of the chunk's first row
  V: u32,
  T: u32,
  BT: u32, // B·T: rows per copy
  logits_off: u32,
  tok_off: u32,
  tok_stride: u32, // per-copy token stride (0: every copy sees the same batch)
  loss_off: u32,
  grad_scale: f32, // 1/(B·(T−1)) for the gradient of the mean loss
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>; // [rows, V] at logits_off
@group(0) @binding(2) var<storage, read> tokens: array<i32>; // [C or 1, B, T] at tok_off (+ c·tok_stride)
@group(0) @binding(3) var<storage, read_write> losses: array<f32>; // [C, B, T] at loss_off

// The same binding as `logits`, as vec4s (main_rows4 only; an entry point uses one of the two).
@group(0) @binding(1) var<storage, read_write> logits4: array<vec4<f32>>; // [rows, V / 4] at logits_off / 4

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;
var<workgroup> red_bad: array<u32, WG>;

const NEG_BIG: f32 = -3.0e38; // a finite "−∞": merging two empty slices gives 0·exp(0), never NaN

fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// The token global row g predicts: the next one of its sequence (g must not be a sequence's last position).
fn target_of(g: u32) -> u32 {
  let c = g / prm.BT;
  return u32(tokens[prm.tok_off + c * prm.tok_stride + (g - c * prm.BT) + 1u]);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= prm.rows) {
    return;
  }
  let V = prm.V;
  let g = prm.row_start + row;
  let t = g % prm.T;
  let base = prm.logits_off + row * V;
  if (t + 1u == prm.T) {
    // No target: loss 0 and, in backward mode, a zero gradient row.
    if (lid == 0u) {
      losses[prm.loss_off + g] = 0.0;
    }
    if (BACKWARD) {
      for (var i = lid; i < V; i += WG) {
        logits[base + i] = 0.0;
      }
    }
    return;
  }
  let tgt = target_of(g);
  // Read the target logit before any invocation overwrites the row.
  let x_target = logits[base + min(tgt, V - 1u)];

  var m = NEG_BIG;
  var bad = 0u;
  for (var i = lid; i < V; i += WG) {
    let x = logits[base + i];
    if (!is_finite(x)) {
      bad = 1u;
    }
    m = max(m, x);
  }
  var s = 0.0;
  for (var i = lid; i < V; i += WG) {
    s += exp(logits[base + i] - m);
  }
  red_m[lid] = m;
  red_s[lid] = s;
  red_bad[lid] = bad;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      let m1 = red_m[lid];
      let m2 = red_m[lid + k];
      let mm = max(m1, m2);
      red_s[lid] = red_s[lid] * exp(m1 - mm) + red_s[lid + k] * exp(m2 - mm);
      red_m[lid] = mm;
      red_bad[lid] = red_bad[lid] | red_bad[lid + k];
    }
    workgroupBarrier();
  }
  let mx = red_m[0];
  let sum = red_s[0];
  let invalid = red_bad[0] != 0u || tgt >= V;
  if (lid == 0u) {
    var loss = mx + log(sum) - x_target;
    if (invalid) {
      loss = bitcast<f32>(0x7fc00000u);
    }
    losses[prm.loss_off + g] = loss;
  }
  if (BACKWARD) {
    let inv = prm.grad_scale / sum;
    for (var i = lid; i < V; i += WG) {
      var d = exp(logits[base + i] - mx) * inv;
      if (i == tgt) {
        d -= prm.grad_scale;
      }
      logits[base + i] = d;
    }
  }
}

@compute @workgroup_size(WG)
fn main_rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = (wid.y * nwg.x + wid.x) * WG + lid;
  if (row >= prm.rows) {
    return;
  }
  let V = prm.V;
  let g = prm.row_start + row;
  let t = g % prm.T;
  let base = prm.logits_off + row * V;
  if (t + 1u == prm.T) {
    losses[prm.loss_off + g] = 0.0;
    if (BACKWARD) {
      for (var i = 0u; i < V; i++) {
        logits[base + i] = 0.0;
      }
    }
    return;
  }
  let tgt = target_of(g);
  let x_target = logits[base + min(tgt, V - 1u)];
  var m = NEG_BIG;
  var bad = false;
  for (var i = 0u; i < V; i++) {
    let x = logits[base + i];
    bad = bad || !is_finite(x);
    m = max(m, x);
  }
  var sum = 0.0;
  for (var i = 0u; i < V; i++) {
    sum += exp(logits[base + i] - m);
  }
  var loss = m + log(sum) - x_target;
  if (bad || tgt >= V) {
    loss = bitcast<f32>(0x7fc00000u);
  }
  losses[prm.loss_off + g] = loss;
  if (BACKWARD) {
    let inv = prm.grad_scale / sum;
    for (var i = 0u; i < V; i++) {
      var d = exp(logits[base + i] - m) * inv;
      if (i == tgt) {
        d -= prm.grad_scale;
      }
      logits[base + i] = d;
    }
  }
}

@compute @workgroup_size(WG)
fn main_rows4(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = (wid.y * nwg.x + wid.x) * WG + lid;
  if (row >= prm.rows) {
    return;
  }
  let V4 = prm.V / 4u;
  let g = prm.row_start + row;
  let t = g % prm.T;
  let base = prm.logits_off / 4u + row * V4;
  if (t + 1u == prm.T) {
    losses[prm.loss_off + g] = 0.0;
    if (BACKWARD) {
      for (var i = 0u; i < V4; i++) {
        logits4[base + i] = vec4<f32>();
      }
    }
    return;
  }
  let tgt = target_of(g);
  let tc = min(tgt, prm.V - 1u);
  let x_target = logits4[base + tc / 4u][tc % 4u];
  var m = NEG_BIG;
  var bad = false;
  for (var i = 0u; i < V4; i++) {
    let x = logits4[base + i];
    bad = bad || !is_finite(x.x) || !is_finite(x.y) || !is_finite(x.z) || !is_finite(x.w);
    m = max(max(max(max(m, x.x), x.y), x.z), x.w);
  }
  var sum = 0.0;
  for (var i = 0u; i < V4; i++) {
    let x = logits4[base + i];
    let e = vec4<f32>(exp(x.x - m), exp(x.y - m), exp(x.z - m), exp(x.w - m));
    sum += e.x;
    sum += e.y;
    sum += e.z;
    sum += e.w;
    if (BACKWARD) {
      logits4[base + i] = e;
    }
  }
  var loss = m + log(sum) - x_target;
  if (bad || tgt >= prm.V) {
    loss = bitcast<f32>(0x7fc00000u);
  }
  losses[prm.loss_off + g] = loss;
  if (BACKWARD) {
    let inv = prm.grad_scale / sum;
    for (var i = 0u; i < V4; i++) {
      logits4[base + i] = logits4[base + i] * inv;
    }
    if (tgt < prm.V) {
      logits4[base + tgt / 4u][tgt % 4u] -= prm.grad_scale;
    }
  }
}

struct MeanParams {
  B: u32,
  T: u32,
  loss_off: u32,
  out_off: u32,
  inv_count: f32, // 1/(B·(T−1))
}

@group(0) @binding(0) var<uniform> mprm: MeanParams;
@group(0) @binding(1) var<storage, read> mloss: array<f32>; // [C, B, T] at loss_off
@group(0) @binding(2) var<storage, read_write> mout: array<f32>; // [C] at out_off

@compute @workgroup_size(WG)
fn mean_loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let T = mprm.T;
  let n = mprm.B * (T - 1u); // predictions per copy
  let base = mprm.loss_off + c * mprm.B * T;
  var s = 0.0;
  var comp = 0.0; // Kahan compensation
  for (var j = lid; j < n; j += WG) {
    let b = j / (T - 1u);
    let y = mloss[base + j + b] - comp; // skip position T−1 of each sequence
    let u = s + y;
    comp = (u - s) - y;
    s = u;
  }
  red_s[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red_s[lid] += red_s[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    mout[mprm.out_off + c] = red_s[0] * mprm.inv_count;
  }
}
