// Reference batched matmul: the plain, readable variant (one output element per invocation).
//
// Computes, for every batch index (z0, z1) in [0, batch0) × [0, batch1):
//   C[z] (M×N) = alpha · op(A[z]) (M×K) · op(B[z]) (K×N) + bias[z][n] (if hasBias) + C[z] (if accumulate)
// op(A)[m, k] = A[a + m·lda + k]   (transA = 0, A stored M×K)   or A[a + k·lda + m]   (transA = 1, stored K×M)
// op(B)[k, n] = B[b + k·ldb + n]   (transB = 0, B stored K×N)   or B[b + n·ldb + k]   (transB = 1, stored N×K)
// with a = aOff + z0·aS0 + z1·aS1 (likewise b, c, bias); every offset, ld and stride is in f32 elements.
//
// Bindings (whole buffers; slices are addressed with the element offsets of `p`):
//   0 A:    f32 [..]  op(A[z]) slices as above
//   1 B:    f32 [..]  op(B[z]) slices as above
//   2 C:    f32 [..]  C[z][m, n] = C[c + m·ldc + n]; read (accumulate) and written
//   3 BIAS: f32 [..]  bias[z][n] = BIAS[biasOff + z0·biasS0 + z1·biasS1 + n]; a dummy when hasBias = 0
//   4 p:    Params (uniform)
// Dispatch grid: x = ceil(N / 8); y·z ≥ ceil(M / 8) · batch0 · batch1, the linear index wg.y + wg.z · gridY
// enumerating (row block, batch) pairs (folded into z when it exceeds maxComputeWorkgroupsPerDimension).
// Workgroup 8×8: x along n, y along m.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  transA: u32,
  transB: u32,
  accumulate: u32,
  hasBias: u32,
  batch1: u32,
  // Row blocks per batch (ceil(M / 8)), number of (row block, batch) pairs, grid height.
  mBlocks: u32,
  total: u32,
  gridY: u32,
  aOff: u32,
  lda: u32,
  aS0: u32,
  aS1: u32,
  bOff: u32,
  ldb: u32,
  bS0: u32,
  bS1: u32,
  cOff: u32,
  ldc: u32,
  cS0: u32,
  cS1: u32,
  biasOff: u32,
  biasS0: u32,
  biasS1: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read> BIAS: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let linear = wg.y + wg.z * p.gridY;
  if (linear >= p.total) {
    return;
  }
  let mBlock = linear % p.mBlocks;
  let zb = linear / p.mBlocks;
  let z0 = zb / p.batch1;
  let z1 = zb % p.batch1;
  let n = wg.x * 8u + lid.x;
  let m = mBlock * 8u + lid.y;
  if (m >= p.M || n >= p.N) {
    return;
  }
  let a = p.aOff + z0 * p.aS0 + z1 * p.aS1;
  let b = p.bOff + z0 * p.bS0 + z1 * p.bS1;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var av: f32;
    if (p.transA == 0u) {
      av = A[a + m * p.lda + k];
    } else {
      av = A[a + k * p.lda + m];
    }
    var bv: f32;
    if (p.transB == 0u) {
      bv = B[b + k * p.ldb + n];
    } else {
      bv = B[b + n * p.ldb + k];
    }
    acc = fma(av, bv, acc);
  }
  var out = p.alpha * acc;
  if (p.hasBias != 0u) {
    out += BIAS[p.biasOff + z0 * p.biasS0 + z1 * p.biasS1 + n];
  }
  let ci = p.cOff + z0 * p.cS0 + z1 * p.cS1 + m * p.ldc + n;
  if (p.accumulate != 0u) {
    out += C[ci];
  }
  C[ci] = out;
}
