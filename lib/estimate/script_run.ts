/**
 * Table plumbing of the estimation scripts. (Their error edge is lib/util/main.ts, shared by every script.)
 */

type Column = ArrayLike<number> | readonly string[];

/** Concatenates the columns of several tables of one schema (typed arrays stay typed). */
export function concatColumns<T extends Record<string, Column>>(parts: readonly T[]): T {
  if (parts.length === 0) throw new RangeError("concatColumns: no tables");
  const out: Record<string, Column> = {};
  for (const key of Object.keys(parts[0])) {
    const cols = parts.map((p) => p[key]);
    const first = cols[0];
    if (first instanceof Int32Array || first instanceof Float64Array) {
      const n = cols.reduce((a, c) => a + c.length, 0);
      const arr = first instanceof Int32Array ? new Int32Array(n) : new Float64Array(n);
      let at = 0;
      for (const c of cols) {
        arr.set(c as ArrayLike<number>, at);
        at += c.length;
      }
      out[key] = arr;
    } else {
      out[key] = cols.flatMap((c) => Array.from(c as ArrayLike<number | string>)) as Column;
    }
  }
  return out as T;
}
