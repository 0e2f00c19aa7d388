// Workgroup-tiled batched matmul for real GPUs (the "gpu" variant; on llvmpipe it is correct but slow, see
// lib/model/matmul_codegen.ts for the CPU family). Same operation, addressing and Params as kernels/matmul.wgsl:
//   C[z] (M×N) = alpha · op(A[z]) (M×K) · op(B[z]) (K×N) + bias[z][n] (if hasBias) + C[z] (if accumulate)
// Each workgroup computes a BM×BN block of one C[z]: it stages BM×BK of op(A) and BK×BN of op(B) in workgroup
// memory (zero-padded past M, N, K), then every invocation accumulates TM×TN outputs in registers at rows
// ty + i·WY and columns tx + j·WX of the block (strided: conflict-free reads, coalesced stores).
//
// Includes kernels/matmul_params.wgsl (Params, the bindings 0 A, 1 B, 2 C, 3 BIAS, 4 p, the operand bases) and
// kernels/matmul_batch.wgsl (the (row block, batch) pairs), appended by lib/model/matmul.ts.
// Dispatch grid: x = ceil(N / BN); y·z ≥ ceil(M / BM) · batch0 · batch1, the linear index wg.y + wg.z · gridY
// enumerating (row block, batch) pairs. Workgroup WX×WY = (BN / TN)×(BM / TM) invocations.

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
const TM: u32 = 4u;
const TN: u32 = 4u;
const WX: u32 = BN / TN;
const WY: u32 = BM / TM;
const NT: u32 = WX * WY;

// As[kk·BM + mm] = op(A)[m0 + mm, k0 + kk]; Bs[kk·BN + nn] = op(B)[k0 + kk, n0 + nn].
var<workgroup> As: array<f32, BK * BM>;
var<workgroup> Bs: array<f32, BK * BN>;

@compute @workgroup_size(WX, WY)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  // Uniform per workgroup, so the early return keeps the barriers below in uniform control flow.
  let linear = pairIndex(wg, p.gridY);
  if (linear >= p.total) {
    return;
  }
  let blk = rowBlock(linear, p.mBlocks, p.batch1);
  let m0 = blk.rows * BM;
  let n0 = wg.x * BN;
  let a = aBase(blk);
  let b = bBase(blk);

  var acc: array<f32, TM * TN>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // Stage op(A): walk the stored rows so consecutive invocations read consecutive addresses.
    for (var e = li; e < BM * BK; e += NT) {
      var mm: u32;
      var kk: u32;
      if (p.transA == 0u) {
        mm = e / BK;
        kk = e % BK;
      } else {
        kk = e / BM;
        mm = e % BM;
      }
      let m = m0 + mm;
      let k = k0 + kk;
      var v = 0.0;
      if (m < p.M && k < p.K) {
        if (p.transA == 0u) {
          v = A[a + m * p.lda + k];
        } else {
          v = A[a + k * p.lda + m];
        }
      }
      As[kk * BM + mm] = v;
    }
    for (var e = li; e < BN * BK; e += NT) {
      var nn: u32;
      var kk: u32;
      if (p.transB == 0u) {
        kk = e / BN;
        nn = e % BN;
      } else {
        nn = e / BK;
        kk = e % BK;
      }
      let n = n0 + nn;
      let k = k0 + kk;
      var v = 0.0;
      if (n < p.N && k < p.K) {
        if (p.transB == 0u) {
          v = B[b + k * p.ldb + n];
        } else {
          v = B[b + n * p.ldb + k];
        }
      }
      Bs[kk * BN + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var av: array<f32, TM>;
      var bv: array<f32, TN>;
      for (var i = 0u; i < TM; i++) {
        av[i] = As[kk * BM + lid.y + i * WY];
      }
      for (var j = 0u; j < TN; j++) {
        bv[j] = Bs[kk * BN + lid.x + j * WX];
      }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  let c = cBase(blk);
  let bias = biasBase(blk);
  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * WY;
    if (m >= p.M) {
      continue;
    }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x + j * WX;
      if (n >= p.N) {
        continue;
      }
      var out = p.alpha * acc[i * TN + j];
      if (p.hasBias != 0u) {
        out += BIAS[bias + n];
      }
      let ci = c + m * p.ldc + n;
      if (p.accumulate != 0u) {
        out += C[ci];
      }
      C[ci] = out;
    }
  }
}
