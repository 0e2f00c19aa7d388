// Reference batched matmul: the plain, readable variant (one output element per invocation).
//
// Computes, for every batch index (z0, z1) in [0, batch0) × [0, batch1):
//   C[z] (M×N) = alpha · op(A[z]) (M×K) · op(B[z]) (K×N) + bias[z][n] (if hasBias) + C[z] (if accumulate)
// op(A)[m, k] = A[a + m·lda + k]   (transA = 0, A stored M×K)   or A[a + k·lda + m]   (transA = 1, stored K×M)
// op(B)[k, n] = B[b + k·ldb + n]   (transB = 0, B stored K×N)   or B[b + n·ldb + k]   (transB = 1, stored N×K)
// with a = aOff + z0·aS0 + z1·aS1 (likewise b, c, bias); every offset, ld and stride is in f32 elements.
//
// Includes kernels/matmul_params.wgsl (Params, the bindings 0 A, 1 B, 2 C, 3 BIAS, 4 p, the operand bases) and
// kernels/matmul_batch.wgsl (the (row block, batch) pairs), appended by lib/model/matmul.ts.
// Dispatch grid: x = ceil(N / 8); y·z ≥ ceil(M / 8) · batch0 · batch1, the linear index wg.y + wg.z · gridY
// enumerating (row block, batch) pairs (folded into z when it exceeds maxComputeWorkgroupsPerDimension).
// Workgroup 8×8: x along n, y along m.

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let linear = pairIndex(wg, p.gridY);
  if (linear >= p.total) {
    return;
  }
  let blk = rowBlock(linear, p.mBlocks, p.batch1);
  let n = wg.x * 8u + lid.x;
  let m = blk.rows * 8u + lid.y;
  if (m >= p.M || n >= p.N) {
    return;
  }
  let a = aBase(blk);
  let b = bBase(blk);
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
    out += BIAS[biasBase(blk) + n];
  }
  let ci = cBase(blk) + m * p.ldc + n;
  if (p.accumulate != 0u) {
    out += C[ci];
  }
  C[ci] = out;
}
