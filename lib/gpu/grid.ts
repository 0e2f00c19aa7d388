/**
 * Grid folding for 1-D kernels: WebGPU caps each grid dimension at 65535 workgroups
 * (maxComputeWorkgroupsPerDimension), so a long 1-D launch is folded into x·y workgroups.
 */

const MAX_GRID = 65535;

/**
 * Folds a 1-D count of workgroups into a 2-D grid [x, y] with x, y ≤ 65535 (kernels number workgroups as
 * wid.y·nwg.x + wid.x and return past the end). Throws past 65535² workgroups.
 */
export function foldGrid(workgroups: number, label = "grid"): [number, number] {
  if (!Number.isInteger(workgroups) || workgroups < 0) {
    throw new RangeError(`${label}: workgroup count ${workgroups} is not a non-negative integer`);
  }
  if (workgroups <= MAX_GRID) return [workgroups, 1];
  const y = Math.ceil(workgroups / MAX_GRID);
  if (y > MAX_GRID) throw new RangeError(`${label}: ${workgroups} workgroups exceed 65535² even folded`);
  return [Math.ceil(workgroups / y), y];
}
