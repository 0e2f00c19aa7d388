// LayerNorm over the last dimension (TransformerLens: biased variance, eps inside the square root), forward and
// backward, batched over C parameter copies. Activations [C, B, T, D]: global row g = c·R + r, R = B·T rows per
// copy, t = r mod T. Float tensors are addressed in vec4s (D, every offset and the parameter stride are
// multiples of 4 floats); stats in floats. Params and grads [C, P]: copy c at c·P, w and b [D] and
// W_pos [n_ctx, D] at offsets inside a copy.
//
// Entry forward:   μ = mean(x_g), rstd = 1/√(mean((x_g − μ)²) + eps), y_g = (x_g − μ)·rstd·w + b,
//                  stats[g] = (μ, rstd); WITH_Y2: y2_g = y_g + W_pos[t] (the shortformer query/key input).
//   Bindings: 0 uniform Params, 1 x (read), 2 params (read), 3 y (write), 4 stats (write), 5 y2 (write).
// Entry backward_dx: with g = dy (+ dy2 when WITH_DY2), x̂ = (x − μ)·rstd, γ = g·w:
//                  dx_g += rstd·(γ − mean(γ) − x̂·mean(γ·x̂))   (accumulated: dx is the residual gradient)
//   Bindings: 0 uniform, 1 x, 2 params, 3 stats, 4 dy, 5 dy2 (read; bound to dy when absent), 6 dx (read_write).
//   Both row entries: LANES invocations per row (a power of two; 1 on CPU adapters, where barriers are costly,
//   more on GPUs), ROWS rows per workgroup, a tree reduction over the lanes in workgroup memory.
//   Grid: ceil(C·R / ROWS) workgroups folded into x·y ≤ 65535² (workgroup = wid.y·nwg.x + wid.x).
// Entry backward_partial: deterministic column sums, first pass. Rows of each copy are cut into n_blocks
//   blocks of block_rows rows; partial[c, blk, 0, :] = Σ_{r in blk} g·x̂ and partial[c, blk, 1, :] = Σ g.
//   Bindings: 0 uniform, 1 x, 2 stats, 3 dy, 4 dy2 (bound to dy when absent), 5 partial [C, n_blocks, 2, D]
//   (write). Grid: one invocation per (c, blk, vec4 column): ceil(C·n_blocks·D/4 / WG) workgroups, folded.
// Entry backward_fused (CPU adapters): backward_dx and backward_partial in one pass, see below.
// Entry backward_reduce: second pass, dw[c] += Σ_blk partial[c, blk, 0], db[c] += Σ_blk partial[c, blk, 1]
//   in block order. Bindings: 0 uniform, 1 partial (read), 2 grads (read_write).
//   Grid: one invocation per (c, w or b, vec4 column): ceil(C·2·D/4 / WG) workgroups, folded.

const LANES: u32 = 1u; // invocations per row (power of two)
const ROWS: u32 = 64u; // rows per workgroup in the row entries
const WG: u32 = 64u; // invocations per workgroup in the column entries and backward_fused (≥ D/4 there)
const WITH_Y2: bool = false; // forward: also write y2 = y + W_pos[t]
const WITH_DY2: bool = false; // backward: g = dy + dy2

struct Params {
  n_rows: u32, // C·R
  R: u32, // rows per copy
  T: u32,
  D4: u32, // D / 4
  inv_d: f32, // 1 / D
  eps: f32,
  p_stride4: u32, // vec4s between parameter copies
  w_off4: u32, // vec4s, w inside a copy
  b_off4: u32, // vec4s, b inside a copy
  pos_off4: u32, // vec4s, W_pos inside a copy (WITH_Y2)
  x_off4: u32, // vec4s: x
  y_off4: u32, // vec4s: y (forward), dy (backward)
  y2_off4: u32, // vec4s: y2 (forward), dy2 (backward)
  dx_off4: u32, // vec4s: dx (backward)
  stats_off: u32, // floats: stats [C·R, 2]
  block_rows: u32, // rows per column block (backward_partial)
  n_blocks: u32, // column blocks per copy
}

@group(0) @binding(0) var<uniform> prm: Params;

var<workgroup> red: array<vec2<f32>, ROWS * LANES>;

/** Sum of `v` over the LANES lanes of each row (every lane gets the total). Call from uniform control flow. */
fn lane_sum(v: vec2<f32>, lid: u32) -> vec2<f32> {
  if (LANES == 1u) {
    return v;
  }
  let lane = lid % LANES;
  red[lid] = v;
  workgroupBarrier();
  for (var k = LANES / 2u; k > 0u; k >>= 1u) {
    if (lane < k) {
      red[lid] += red[lid + k];
    }
    workgroupBarrier();
  }
  let total = red[lid - lane];
  workgroupBarrier(); // everyone has read before the next call overwrites red
  return total;
}

fn hsum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// ---- forward ----

@group(0) @binding(1) var<storage, read> fx: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> fparams: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> fy: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> fstats: array<f32>;
@group(0) @binding(5) var<storage, read_write> fy2: array<vec4<f32>>;

@compute @workgroup_size(ROWS * LANES)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let lane = lid % LANES;
  let g_raw = (wid.y * nwg.x + wid.x) * ROWS + lid / LANES;
  let valid = g_raw < prm.n_rows;
  // Rows past the end compute on the last row (keeping every lane in the reductions) and write nothing.
  let g = min(g_raw, prm.n_rows - 1u);
  let D4 = prm.D4;
  let xb = prm.x_off4 + g * D4;
  var s = vec4<f32>(0.0);
  for (var j = lane; j < D4; j += LANES) {
    s += fx[xb + j];
  }
  let mean = lane_sum(vec2<f32>(hsum(s), 0.0), lid).x * prm.inv_d;
  // Two passes (mean, then squared deviations): E[x²] − μ² would cancel for rows with a large mean.
  var q = vec4<f32>(0.0);
  for (var j = lane; j < D4; j += LANES) {
    let d = fx[xb + j] - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(lane_sum(vec2<f32>(hsum(q), 0.0), lid).x * prm.inv_d + prm.eps);
  if (!valid) {
    return;
  }
  if (lane == 0u) {
    fstats[prm.stats_off + 2u * g] = mean;
    fstats[prm.stats_off + 2u * g + 1u] = rstd;
  }
  let c = g / prm.R;
  let t = (g - c * prm.R) % prm.T;
  let pb = c * prm.p_stride4;
  for (var j = lane; j < D4; j += LANES) {
    let y = (fx[xb + j] - mean) * rstd * fparams[pb + prm.w_off4 + j] + fparams[pb + prm.b_off4 + j];
    fy[prm.y_off4 + g * D4 + j] = y;
    if (WITH_Y2) {
      fy2[prm.y2_off4 + g * D4 + j] = y + fparams[pb + prm.pos_off4 + t * D4 + j];
    }
  }
}

// ---- backward: dx ----

@group(0) @binding(1) var<storage, read> bx: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bparams: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bstats: array<f32>;
@group(0) @binding(4) var<storage, read> bdy: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bdy2: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> bdx: array<vec4<f32>>;

fn grad_out(g: u32, j: u32) -> vec4<f32> {
  var d = bdy[prm.y_off4 + g * prm.D4 + j];
  if (WITH_DY2) {
    d += bdy2[prm.y2_off4 + g * prm.D4 + j];
  }
  return d;
}

@compute @workgroup_size(ROWS * LANES)
fn backward_dx(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let lane = lid % LANES;
  let g_raw = (wid.y * nwg.x + wid.x) * ROWS + lid / LANES;
  let valid = g_raw < prm.n_rows;
  let g = min(g_raw, prm.n_rows - 1u);
  let D4 = prm.D4;
  let mean = bstats[prm.stats_off + 2u * g];
  let rstd = bstats[prm.stats_off + 2u * g + 1u];
  let xb = prm.x_off4 + g * D4;
  let wb = (g / prm.R) * prm.p_stride4 + prm.w_off4;
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var j = lane; j < D4; j += LANES) {
    let gw = grad_out(g, j) * bparams[wb + j];
    sg += gw;
    sgx += gw * ((bx[xb + j] - mean) * rstd);
  }
  let sums = lane_sum(vec2<f32>(hsum(sg), hsum(sgx)), lid) * prm.inv_d;
  if (!valid) {
    return;
  }
  for (var j = lane; j < D4; j += LANES) {
    let gw = grad_out(g, j) * bparams[wb + j];
    let xh = (bx[xb + j] - mean) * rstd;
    bdx[prm.dx_off4 + g * D4 + j] += rstd * (gw - sums.x - xh * sums.y);
  }
}

// ---- backward: dw, db (two passes, deterministic) ----

@group(0) @binding(1) var<storage, read> cx: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> cstats: array<f32>;
@group(0) @binding(3) var<storage, read> cdy: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> cdy2: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> partial: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward_partial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  let D4 = prm.D4;
  let n_blocks = prm.n_blocks;
  if (i >= prm.n_rows / prm.R * n_blocks * D4) {
    return;
  }
  let j = i % D4;
  let q = i / D4; // c·n_blocks + blk
  let c = q / n_blocks;
  let blk = q - c * n_blocks;
  let r0 = blk * prm.block_rows;
  let r1 = min(prm.R, r0 + prm.block_rows);
  var dw = vec4<f32>(0.0);
  var db = vec4<f32>(0.0);
  for (var r = r0; r < r1; r++) {
    let g = c * prm.R + r;
    var d = cdy[prm.y_off4 + g * D4 + j];
    if (WITH_DY2) {
      d += cdy2[prm.y2_off4 + g * D4 + j];
    }
    let xh = (cx[prm.x_off4 + g * D4 + j] - cstats[prm.stats_off + 2u * g]) * cstats[prm.stats_off + 2u * g + 1u];
    dw += d * xh;
    db += d;
  }
  partial[(2u * q) * D4 + j] = dw;
  partial[(2u * q + 1u) * D4 + j] = db;
}

// ---- backward: dx, dw, db partials fused (CPU adapters) ----
// One workgroup per block of block_rows rows of one copy (a multiple of WG), tile by tile of WG rows:
// phase 1, one row per invocation: the row sums mean(γ), mean(γ·x̂) into workgroup memory; phase 2, one vec4
// column per invocation (D/4 ≤ WG): dx for the tile's rows, and the column sums of g·x̂ and g kept in
// registers, written to partial[c, blk] at the end. Two barriers per tile, no partial pass over the
// activations. Grid: C·n_blocks workgroups, folded (workgroup = c·n_blocks + blk).

var<workgroup> row_sums: array<vec4<f32>, WG>; // (mean, rstd, mean(γ), mean(γ·x̂)) per row of the tile

@group(0) @binding(1) var<storage, read> ux: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> uparams: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> ustats: array<f32>;
@group(0) @binding(4) var<storage, read> udy: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> udy2: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> udx: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> upartial: array<vec4<f32>>;

fn fused_grad_out(g: u32, j: u32) -> vec4<f32> {
  var d = udy[prm.y_off4 + g * prm.D4 + j];
  if (WITH_DY2) {
    d += udy2[prm.y2_off4 + g * prm.D4 + j];
  }
  return d;
}

@compute @workgroup_size(WG)
fn backward_fused(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let q = wid.y * nwg.x + wid.x; // c·n_blocks + blk
  let C = prm.n_rows / prm.R;
  if (q >= C * prm.n_blocks) {
    return; // uniform: the whole workgroup leaves
  }
  let D4 = prm.D4;
  let c = q / prm.n_blocks;
  let blk = q - c * prm.n_blocks;
  let r_start = blk * prm.block_rows;
  let r_end = min(prm.R, r_start + prm.block_rows);
  let wb = c * prm.p_stride4 + prm.w_off4;
  let j = lid; // phase 2 column
  var dw = vec4<f32>(0.0);
  var db = vec4<f32>(0.0);
  for (var r0 = r_start; r0 < r_end; r0 += WG) {
    // Phase 1: row r0 + lid.
    let r = r0 + lid;
    if (r < r_end) {
      let g = c * prm.R + r;
      let mean = ustats[prm.stats_off + 2u * g];
      let rstd = ustats[prm.stats_off + 2u * g + 1u];
      var sg = vec4<f32>(0.0);
      var sgx = vec4<f32>(0.0);
      for (var k = 0u; k < D4; k++) {
        let gw = fused_grad_out(g, k) * uparams[wb + k];
        sg += gw;
        sgx += gw * ((ux[prm.x_off4 + g * D4 + k] - mean) * rstd);
      }
      row_sums[lid] = vec4<f32>(mean, rstd, hsum(sg) * prm.inv_d, hsum(sgx) * prm.inv_d);
    }
    workgroupBarrier();
    // Phase 2: column j over the tile's rows.
    if (j < D4) {
      let w = uparams[wb + j];
      let n = min(WG, r_end - r0);
      for (var i = 0u; i < n; i++) {
        let g = c * prm.R + r0 + i;
        let s = row_sums[i];
        let d = fused_grad_out(g, j);
        let xh = (ux[prm.x_off4 + g * D4 + j] - s.x) * s.y;
        udx[prm.dx_off4 + g * D4 + j] += s.y * (d * w - s.z - xh * s.w);
        dw += d * xh;
        db += d;
      }
    }
    workgroupBarrier(); // row_sums is rewritten by the next tile
  }
  if (j < D4) {
    upartial[(2u * q) * D4 + j] = dw;
    upartial[(2u * q + 1u) * D4 + j] = db;
  }
}

@group(0) @binding(1) var<storage, read> rpartial: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> rgrads: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward_reduce(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  let D4 = prm.D4;
  if (i >= prm.n_rows / prm.R * 2u * D4) {
    return;
  }
  let j = i % D4;
  let q = i / D4; // 2c + (0: w, 1: b)
  let c = q / 2u;
  let which = q - 2u * c;
  var s = vec4<f32>(0.0);
  for (var blk = 0u; blk < prm.n_blocks; blk++) {
    s += rpartial[(2u * (c * prm.n_blocks + blk) + which) * D4 + j];
  }
  let off = select(prm.w_off4, prm.b_off4, which == 1u);
  rgrads[c * prm.p_stride4 + off + j] += s;
}
