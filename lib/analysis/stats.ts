/**
 * Small descriptive statistics used by the report: Pearson correlation and least-squares line (Fig. 9,
 * Fig. 7 insets), 1-D histograms (Fig. 11) and 2-D binned counts (Fig. 7's density maps, aggregated here
 * because Vega-Lite has no hexbin and the raw points can number in the millions).
 */

/** Thrown when a statistic is asked of unusable input; says what was expected. */
export class StatsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StatsError";
  }
}

function checkPaired(x: ArrayLike<number>, y: ArrayLike<number>, min: number, what: string): void {
  if (x.length !== y.length) throw new StatsError(`${what}: x has ${x.length} values but y has ${y.length}`);
  if (x.length < min) throw new StatsError(`${what}: needs at least ${min} points, got ${x.length}`);
}

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}

/** Pearson's r; NaN when either variable is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPaired(x, y, 2, "pearson");
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Ordinary least squares y ≈ slope·x + intercept. */
export function linearFit(x: ArrayLike<number>, y: ArrayLike<number>): { slope: number; intercept: number } {
  checkPaired(x, y, 2, "linearFit");
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  if (sxx === 0) throw new StatsError("linearFit: all x values are equal; the slope is undefined");
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Minimum and maximum of finite values; [0, 0] for none. */
export function extent(v: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) continue;
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** Equal-width bin index of v in [lo, hi] with n bins (the top edge belongs to the last bin). */
function binIndex(v: number, lo: number, hi: number, n: number): number {
  if (hi <= lo) return 0;
  const k = Math.floor(((v - lo) / (hi - lo)) * n);
  return Math.min(Math.max(k, 0), n - 1);
}

/** Widens a degenerate domain so that a bin has positive width. */
function padDomain([lo, hi]: [number, number]): [number, number] {
  if (hi > lo) return [lo, hi];
  const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.5 : 0.5;
  return [lo - d, hi + d];
}

/** One histogram bar. */
export interface HistogramBin {
  x0: number;
  x1: number;
  count: number;
}

/** Equal-width histogram of finite values over `domain` (default: their extent); values outside are clamped. */
export function histogram(
  values: ArrayLike<number>,
  bins: number,
  domain?: [number, number],
): HistogramBin[] {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new StatsError(`histogram: bins must be a positive integer, got ${bins}`);
  }
  const [lo, hi] = padDomain(domain ?? extent(values));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) counts[binIndex(values[i], lo, hi, bins)]++;
  }
  const w = (hi - lo) / bins;
  return counts.map((count, k) => ({ x0: lo + k * w, x1: lo + (k + 1) * w, count }));
}

/** One non-empty cell of a 2-D binning. */
export interface Bin2D {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  count: number;
}

/** Counts of (x, y) pairs on an nx × ny grid over the given domains; only non-empty cells are returned. */
export function bin2d(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  nx: number,
  ny: number,
  xDomain?: [number, number],
  yDomain?: [number, number],
): Bin2D[] {
  checkPaired(x, y, 0, "bin2d");
  const [xlo, xhi] = padDomain(xDomain ?? extent(x));
  const [ylo, yhi] = padDomain(yDomain ?? extent(y));
  const counts = new Uint32Array(nx * ny);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
    counts[binIndex(x[i], xlo, xhi, nx) * ny + binIndex(y[i], ylo, yhi, ny)]++;
  }
  const wx = (xhi - xlo) / nx;
  const wy = (yhi - ylo) / ny;
  const out: Bin2D[] = [];
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < ny; j++) {
      const count = counts[i * ny + j];
      if (count > 0) {
        out.push({
          x0: xlo + i * wx,
          x1: xlo + (i + 1) * wx,
          y0: ylo + j * wy,
          y1: ylo + (j + 1) * wy,
          count,
        });
      }
    }
  }
  return out;
}
