// Batch addressing of every matmul family: a function library (no bindings, no Params, no entry point),
// appended to kernels/matmul.wgsl and kernels/matmul_tiled.wgsl (with kernels/matmul_params.wgsl) and to the
// kernels lib/model/matmul_codegen.ts generates, which bake the sizes in as literals and keep their own uniform.
//
// The grid they share: workgroups along x cover n; one linear index wg.y + wg.z · gridY enumerates the
// (row block, batch) pairs, row block fastest, then z1, then z0 (the pairs fold into z when they exceed
// maxComputeWorkgroupsPerDimension). Operand slices of batch index (z0, z1) start at off + z0·s0 + z1·s1
// elements of their binding.

// One (row block, batch) pair: row block `rows` (of whatever height the kernel's blocks have) of batch (z0, z1).
struct RowBlock {
  rows: u32,
  z0: u32,
  z1: u32,
}

// The linear (row block, batch) index of workgroup `wg` in a grid `gridY` workgroups high.
fn pairIndex(wg: vec3<u32>, gridY: u32) -> u32 {
  return wg.y + wg.z * gridY;
}

// The pair of linear index `linear`, with `rowBlocks` row blocks per batch and `batch1` batch indices along z1.
fn rowBlock(linear: u32, rowBlocks: u32, batch1: u32) -> RowBlock {
  let zb = linear / rowBlocks;
  return RowBlock(linear % rowBlocks, zb / batch1, zb % batch1);
}

// First element of the batch slice of `blk` in an operand at offset `off` with batch strides `s0`, `s1`.
fn batchBase(off: u32, s0: u32, s1: u32, blk: RowBlock) -> u32 {
  return off + blk.z0 * s0 + blk.z1 * s1;
}
