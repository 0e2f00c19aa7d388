// The uniform and the bindings of kernels/matmul.wgsl and kernels/matmul_tiled.wgsl (the "reference" and "gpu"
// matmul families), appended to both with kernels/matmul_batch.wgsl. lib/model/matmul.ts (paramMatmul) packs
// Params in this field order. Every offset, ld and stride is in f32 elements.
//
// Bindings (whole buffers; slices are addressed with the element offsets of `p`):
//   0 A:    f32 [..]  op(A[z]) at aOff + z0·aS0 + z1·aS1, leading dimension lda
//   1 B:    f32 [..]  op(B[z]) at bOff + z0·bS0 + z1·bS1, leading dimension ldb
//   2 C:    f32 [..]  C[z][m, n] = C[cOff + z0·cS0 + z1·cS1 + m·ldc + n]; read (accumulate) and written
//   3 BIAS: f32 [..]  bias[z][n] = BIAS[biasOff + z0·biasS0 + z1·biasS1 + n]; a dummy when hasBias = 0
//   4 p:    Params (uniform)

struct Params {
  M: u32,
  N: u32,
  K: u32,
  transA: u32,
  transB: u32,
  accumulate: u32,
  hasBias: u32,
  batch1: u32,
  // Row blocks per batch (ceil(M / block height)), number of (row block, batch) pairs, grid height.
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

// First element of the batch slice of `blk` in A, B, C and BIAS.
fn aBase(blk: RowBlock) -> u32 {
  return batchBase(p.aOff, p.aS0, p.aS1, blk);
}
fn bBase(blk: RowBlock) -> u32 {
  return batchBase(p.bOff, p.bS0, p.bS1, blk);
}
fn cBase(blk: RowBlock) -> u32 {
  return batchBase(p.cOff, p.cS0, p.cS1, blk);
}
fn biasBase(blk: RowBlock) -> u32 {
  return batchBase(p.biasOff, p.biasS0, p.biasS1, blk);
}
