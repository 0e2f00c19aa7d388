// Column sums over row chunks (bias gradients): for every item (z, ch) and column n < N
//   OUT[outOff + z0·oS0 + z1·oS1 + ch·oC + n]  (+)=  alpha · Σ_{m ∈ chunk ch} SRC[srcOff + z0·sS0 + z1·sS1 + m·ld + n]
// where chunk ch holds rows [ch·R, min(M, ch·R + R)) and z = (z0, z1) ∈ [0, batch0) × [0, batch1).
// lib/model/matmul.ts runs it once (one chunk: straight into dst) or twice (pass 1: every chunk into a scratch row,
// alpha 1, overwrite; pass 2: the scratch rows of each z, read as a chunks×N matrix, into dst). Rows are added in
// order by one invocation, so the result is deterministic (no atomics).
//
// Bindings: 0 SRC f32 [..] (read), 1 OUT f32 [..] (written; read when accumulate = 1), 2 p: Params (uniform).
// Dispatch grid: x = ceil(N / WG); y·z ≥ chunks · batch0 · batch1, item = wg.y + wg.z · gridY, ch = item % chunks.

const WG: u32 = 64u;

struct Params {
  N: u32,
  M: u32,
  R: u32,
  chunks: u32,
  batch1: u32,
  total: u32,
  gridY: u32,
  accumulate: u32,
  srcOff: u32,
  ld: u32,
  sS0: u32,
  sS1: u32,
  outOff: u32,
  oS0: u32,
  oS1: u32,
  oC: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> SRC: array<f32>;
@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let item = wg.y + wg.z * p.gridY;
  let n = wg.x * WG + lid.x;
  if (item >= p.total || n >= p.N) {
    return;
  }
  let ch = item % p.chunks;
  let zb = item / p.chunks;
  let z0 = zb / p.batch1;
  let z1 = zb % p.batch1;
  let mBeg = ch * p.R;
  let mEnd = min(p.M, mBeg + p.R);
  var at = p.srcOff + z0 * p.sS0 + z1 * p.sS1 + mBeg * p.ld + n;
  var sum = 0.0;
  for (var m = mBeg; m < mEnd; m++) {
    sum += SRC[at];
    at += p.ld;
  }
  let o = p.outOff + z0 * p.oS0 + z1 * p.oS1 + ch * p.oC + n;
  var v = p.alpha * sum;
  if (p.accumulate != 0u) {
    v += OUT[o];
  }
  OUT[o] = v;
}
