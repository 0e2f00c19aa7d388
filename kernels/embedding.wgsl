// Token embedding (forward) and its gradient (backward), batched over C parameter copies. All float tensors are
// addressed in vec4s (d_model, every offset and the parameter stride are multiples of 4 floats).
//
// Entry forward: x[c, r, :] = W_E[c][tok[c, r], :] (+ W_pos[c][r mod T, :] when ADD_POS, the "standard"
// positional mode; shortformer adds positions to the attention inputs instead).
//   Shapes: tokens int32 [C or 1, B, T] (copy c at tok_off + c·tok_stride; tok_stride 0 = one shared batch),
//   params [C, P] (copy c at c·P; W_E [V, D] at we_off, W_pos [n_ctx, D] at pos_off inside a copy),
//   x [C, B, T, D] at x_off. Row r = b·T + t inside a copy, R = B·T rows per copy.
//   Bindings: 0 uniform FwdParams, 1 tokens (read), 2 params (read), 3 x (write).
//   Grid: one invocation per (global row g = c·R + r, vec4 column j): ceil(C·R·D/4 / WG) workgroups folded
//   into x·y ≤ 65535² (item = (wid.y·nwg.x + wid.x)·WG + lid); items past the end return at once.
//   A token id outside [0, V) writes NaN (never reads another tensor): validate batches on the host.
//
// Entry backward: dW_E[c][v, :] += Σ_{r: tok[c, r] = v} dx[c, r, :], without atomics. The host groups the rows
// of each token-copy by token id (counting sort, CSR) and uploads, per token-copy (at c·csr_stride; csr_stride
// 0 when all copies share one batch), the u32 record
//   [0]                    K, the number of distinct tokens
//   [1, 1 + S)             the distinct token ids (first K used)
//   [1 + S, 2 + 2S)        segment starts into the row list (first K + 1 used)
//   [2 + 2S, 2 + 2S + R)   rows r grouped by token, increasing r inside a group
// with S = min(R, V) slots. One workgroup per (copy, slot k): slot k < K sums the rows of its token in list
// order (deterministic: the same batch always gives bit-identical gradients) and adds the sum to the
// gradient row; slots k ≥ K return at once. Rows of distinct tokens touch distinct gradient rows, so no two
// workgroups write the same element.
//   Shapes: csr u32 [C or 1, 2 + 2S + R], dx [C, B, T, D] at dx_off, grads [C, P] (copy c at c·P, dW_E at
//   we_off inside a copy).
//   Bindings: 0 uniform BwdParams, 1 csr (read), 2 dx (read), 3 grads (read_write).
//   Grid: C·S workgroups folded into x·y ≤ 65535² (slot index = wid.y·nwg.x + wid.x); each invocation strides
//   over the vec4 columns of the row.

const WG: u32 = 64u; // invocations per workgroup
const ADD_POS: bool = false; // forward: add W_pos (the "standard" positional mode)

struct FwdParams {
  items: u32, // C·R·D4
  D4: u32, // d_model / 4
  R: u32, // rows per copy, B·T
  T: u32,
  V: u32, // vocabulary size (token range check)
  tok_off: u32, // elements
  tok_stride: u32, // elements between copies' tokens (0: shared batch)
  x_off4: u32, // vec4s
  p_stride4: u32, // vec4s between parameter copies
  we_off4: u32, // vec4s, W_E inside a copy
  pos_off4: u32, // vec4s, W_pos inside a copy (ADD_POS only)
}

@group(0) @binding(0) var<uniform> fp: FwdParams;
@group(0) @binding(1) var<storage, read> tokens: array<i32>;
@group(0) @binding(2) var<storage, read> fparams: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> x: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= fp.items) {
    return;
  }
  let j = i % fp.D4;
  let g = i / fp.D4;
  let c = g / fp.R;
  let r = g - c * fp.R;
  let tok = tokens[fp.tok_off + c * fp.tok_stride + r];
  if (tok < 0 || u32(tok) >= fp.V) {
    x[fp.x_off4 + i] = vec4<f32>(bitcast<f32>(0x7fc00000u));
    return;
  }
  let pbase = c * fp.p_stride4;
  var e = fparams[pbase + fp.we_off4 + u32(tok) * fp.D4 + j];
  if (ADD_POS) {
    let t = r % fp.T;
    e += fparams[pbase + fp.pos_off4 + t * fp.D4 + j];
  }
  x[fp.x_off4 + i] = e;
}

struct BwdParams {
  slots: u32, // S = min(R, V): workgroups per copy
  copies: u32, // C
  D4: u32,
  R: u32,
  csr_stride: u32, // u32 elements between token-copies' CSR records (0: shared batch)
  dx_off4: u32, // vec4s
  p_stride4: u32, // vec4s between gradient copies
  we_off4: u32, // vec4s, dW_E inside a copy
}

@group(0) @binding(0) var<uniform> bp: BwdParams;
@group(0) @binding(1) var<storage, read> csr: array<u32>;
@group(0) @binding(2) var<storage, read> dx: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> grads: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let w = wid.y * nwg.x + wid.x;
  if (w >= bp.slots * bp.copies) {
    return;
  }
  let c = w / bp.slots;
  let k = w - c * bp.slots;
  let base = c * bp.csr_stride;
  if (k >= csr[base]) {
    return;
  }
  let S = bp.slots;
  let tok = csr[base + 1u + k];
  let s0 = csr[base + 1u + S + k];
  let s1 = csr[base + 2u + S + k];
  let rows = base + 2u + 2u * S;
  let dx_base = bp.dx_off4 + c * bp.R * bp.D4;
  let g_base = c * bp.p_stride4 + bp.we_off4 + tok * bp.D4;
  for (var j = lid; j < bp.D4; j += WG) {
    var acc = vec4<f32>(0.0);
    for (var s = s0; s < s1; s++) {
      acc += dx[dx_base + csr[rows + s] * bp.D4 + j];
    }
    grads[g_base + j] += acc;
  }
}
