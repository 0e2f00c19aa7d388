/**
 * Do two runs that differ only in their seed agree within their stated error bars? For every (step, probe,
 * restriction) both susceptibility tables hold, z = |a − b| / √(SE_a² + SE_b²) of χ and of the LLC (the LLC once
 * per (step, restriction): one sampling run serves every probe) and of the one-L0 LLC beside it. With honest
 * SEs z is the absolute value of a standard normal: median 0.67, 5 % above 2, 0.3 % above 3.
 */
import type { SusceptibilityColumns } from "../tables/schema.ts";

export interface Agreement {
  /** z per compared estimate. */
  z: number[];
  median: number;
  max: number;
  /** Fraction with z > 2 and z > 3. */
  over2: number;
  over3: number;
}

export interface SeedAgreement {
  chi: Agreement;
  llc: Agreement;
  llcDevinterp: Agreement;
  /** Rows of `a` with no partner in `b`. */
  unmatched: number;
}

function agreement(z: number[]): Agreement {
  const s = [...z].filter((x) => !Number.isNaN(x)).sort((u, v) => u - v);
  return {
    z,
    median: s.length ? s[s.length >> 1] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
    over2: s.filter((x) => x > 2).length / s.length,
    over3: s.filter((x) => x > 3).length / s.length,
  };
}

/** Compares two susceptibility tables row by row (matched on step, probe, restriction). */
export function seedAgreement(a: SusceptibilityColumns, b: SusceptibilityColumns): SeedAgreement {
  const key = (t: SusceptibilityColumns, i: number) =>
    `${t.step[i]}\u0000${t.probe[i]}\u0000${t.restriction[i]}`;
  const inB = new Map<string, number>();
  for (let j = 0; j < b.step.length; j++) inB.set(key(b, j), j);
  const z = (x: number, sx: number, y: number, sy: number) => Math.abs(x - y) / Math.hypot(sx, sy);
  const chi: number[] = [], llc: number[] = [], dev: number[] = [];
  const llcSeen = new Set<string>();
  let unmatched = 0;
  for (let i = 0; i < a.step.length; i++) {
    const j = inB.get(key(a, i));
    if (j === undefined) {
      unmatched++;
      continue;
    }
    chi.push(z(a.chi[i], a.chi_se[i], b.chi[j], b.chi_se[j]));
    const r = `${a.step[i]}\u0000${a.restriction[i]}`;
    if (llcSeen.has(r)) continue;
    llcSeen.add(r);
    llc.push(z(a.llc[i], a.llc_se[i], b.llc[j], b.llc_se[j]));
    dev.push(z(a.llc_devinterp[i], a.llc_devinterp_se[i], b.llc_devinterp[j], b.llc_devinterp_se[j]));
  }
  return { chi: agreement(chi), llc: agreement(llc), llcDevinterp: agreement(dev), unmatched };
}

/** One line per estimate kind. */
export function formatAgreement(s: SeedAgreement): string {
  const line = (name: string, g: Agreement) =>
    `${name}: ${g.z.length} estimates, |Δ|/SE median ${g.median.toFixed(2)}, max ${g.max.toFixed(2)}, ` +
    `${(100 * g.over2).toFixed(0)}% > 2, ${(100 * g.over3).toFixed(0)}% > 3`;
  return [line("χ", s.chi), line("LLC", s.llc), line("LLC, one L0", s.llcDevinterp)].join("\n") +
    (s.unmatched ? `\n${s.unmatched} rows of the first table have no partner in the second` : "");
}
