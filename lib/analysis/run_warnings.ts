/**
 * Everything a reader should not take at face value in a run, over every checkpoint: estimates whose chains
 * have not mixed (split-R̂ > 1.1), too few effective draws, a negative LLC (from susceptibility.arrow), and
 * chains whose draw loss still drifts, settles below L0 or barely moves (the sampler's HealthRecords, kept in
 * the manifest's extra.health by the sweep and scripts/susceptibility.ts).
 */
import { CHAIN_ESS_WARN, DRIFT_WARN } from "../estimate/health.ts";
import type { HealthRecord } from "../estimate/health_record.ts";
import { RHAT_WARN } from "../estimate/diagnostics.ts";
import { compareRestrictions } from "../model/restriction.ts";
import type { SusceptibilityColumns } from "../tables/schema.ts";

export type WarningKind = "rhat" | "ess" | "negative-llc" | "non-stationary";

/** One warning, located by checkpoint, estimate and restriction (and probe or chain where it has one). */
export interface RunWarning {
  step: number;
  /** "χ", "LLC", or the sampler chain of a χ/LLC ("chi") or per-token ("per_token") run. */
  estimate: "χ" | "LLC" | "chain (chi)" | "chain (per_token)";
  restriction: string;
  probe: string;
  chain: number | null;
  kind: WarningKind;
  problem: string;
}

/** Warnings of one estimate's diagnostics (empty when none): the rules of the diagnostics table. */
export function estimateFlags(
  o: { rhat: number; ess: number; chains: number; llc?: number },
): { kind: WarningKind; problem: string }[] {
  const out: { kind: WarningKind; problem: string }[] = [];
  if (o.rhat > RHAT_WARN) out.push({ kind: "rhat", problem: `R̂ ${o.rhat.toFixed(2)} > ${RHAT_WARN}` });
  if (o.ess < 10 * o.chains) {
    out.push({ kind: "ess", problem: `ESS ${o.ess.toFixed(0)} < ${10 * o.chains} (10 per chain)` });
  }
  if (o.llc !== undefined && o.llc < 0) {
    out.push({ kind: "negative-llc", problem: `negative LLC ${o.llc.toPrecision(3)}` });
  }
  return out;
}

/** The chain-level warnings of one health record: non-stationary, sub-L0 and poorly mixing chains. */
export function chainFlags(c: HealthRecord["chains"][number]): { kind: WarningKind; problem: string }[] {
  const out: { kind: WarningKind; problem: string }[] = [];
  if (Math.abs(c.driftZ) > DRIFT_WARN) {
    out.push({
      kind: "non-stationary",
      problem: `non-stationary trace: second half − first half = ${
        c.driftZ.toFixed(1)
      } SE (|z| > ${DRIFT_WARN})`,
    });
  }
  if (c.llc < 0) out.push({ kind: "negative-llc", problem: `chain LLC ${c.llc.toPrecision(3)} < 0` });
  if (c.ess < CHAIN_ESS_WARN) {
    out.push({ kind: "ess", problem: `chain ESS ${c.ess.toFixed(1)} < ${CHAIN_ESS_WARN}` });
  }
  return out;
}

/** The health records of a manifest (extra.health; absent or malformed entries are skipped). */
export function healthRecordsOf(manifest: Record<string, unknown> | undefined): HealthRecord[] {
  const extra = manifest?.extra as Record<string, unknown> | undefined;
  const list = extra?.health;
  if (!Array.isArray(list)) return [];
  return list.filter((h): h is HealthRecord =>
    typeof h === "object" && h !== null && typeof h.step === "number" && Array.isArray(h.chains) &&
    Array.isArray(h.restrictions)
  );
}

function susceptibilityWarnings(t: SusceptibilityColumns): RunWarning[] {
  const out: RunWarning[] = [];
  const llcSeen = new Set<string>();
  for (let i = 0; i < t.step.length; i++) {
    const at = { step: t.step[i], restriction: t.restriction[i], chain: null };
    for (const f of estimateFlags({ rhat: t.chi_rhat[i], ess: t.chi_ess[i], chains: t.n_chains[i] })) {
      out.push({ ...at, estimate: "χ", probe: t.probe[i], ...f });
    }
    // The LLC is one number per restriction and step (one SGLD run serves every probe): flagged once.
    const key = `${t.step[i]}/${t.restriction[i]}`;
    if (llcSeen.has(key)) continue;
    llcSeen.add(key);
    const o = { rhat: t.llc_rhat[i], ess: t.llc_ess[i], chains: t.n_chains[i], llc: t.llc[i] };
    for (const f of estimateFlags(o)) out.push({ ...at, estimate: "LLC", probe: "", ...f });
  }
  return out;
}

function healthWarnings(records: readonly HealthRecord[]): RunWarning[] {
  return records.flatMap((h) =>
    h.chains.flatMap((c) =>
      chainFlags(c).map((f): RunWarning => ({
        step: h.step,
        estimate: h.kind === "per_token" ? "chain (per_token)" : "chain (chi)",
        restriction: h.restrictions[c.restriction] ?? String(c.restriction),
        probe: "",
        chain: c.chain,
        ...f,
      }))
    )
  );
}

/** Every warning of the run, by step, then restriction, then estimate. */
export function runWarnings(t: SusceptibilityColumns, records: readonly HealthRecord[]): RunWarning[] {
  return [...susceptibilityWarnings(t), ...healthWarnings(records)].sort((a, b) =>
    a.step - b.step || compareRestrictions(a.restriction, b.restriction) ||
    a.estimate.localeCompare(b.estimate) || a.probe.localeCompare(b.probe) ||
    (a.chain ?? -1) - (b.chain ?? -1)
  );
}

/** Counts by kind, e.g. {rhat: 3, "negative-llc": 1}. */
export function warningCounts(ws: readonly RunWarning[]): Partial<Record<WarningKind, number>> {
  const out: Partial<Record<WarningKind, number>> = {};
  for (const w of ws) out[w.kind] = (out[w.kind] ?? 0) + 1;
  return out;
}
