/**
 * A per-run health summary of SGLD chains, from the draw losses alone: the checks users of devinterp run by eye
 * on loss traces (is the chain still drifting? did it settle below L0? how many effective draws?).
 */
import type { SgldResult } from "./sampler.ts";

/** |driftZ| above this: the chain's second half differs from its first, i.e. the trace is not stationary. */
export const DRIFT_WARN = 4;
/** Fewer effective draws than this in one chain: its mean is too noisy to check anything by. */
export const CHAIN_ESS_WARN = 10;

export interface ChainHealth {
  chain: number;
  restriction: number;
  meanLoss: number;
  stdLoss: number;
  /** Largest loss over all steps, burn-in included. */
  maxLoss: number;
  /** nβ·(mean draw loss − L0), or − the still copy's mean draw loss in a paired run (its λ̂). */
  llc: number;
  /** Integrated autocorrelation time of the draw losses (draws), Sokal's window. */
  tau: number;
  /** Effective sample size draws / tau. */
  ess: number;
  /**
   * (mean of the second half − mean of the first half) / its standard error from each half's own variance and
   * autocorrelation time: |z| > DRIFT_WARN means the trace is still drifting (not stationary).
   */
  driftZ: number;
}

export interface HealthSummary {
  chains: ChainHealth[];
  L0: number;
  drawsPerSecond: number;
  stepsPerSecond: number;
  seconds: number;
  readbacks: number;
  /** Human-readable problems (empty when none was found). */
  warnings: string[];
}

/** Integrated autocorrelation time of x: 1 + 2Σρ_k over Sokal's window (smallest M with M ≥ 5·τ(M)). */
export function autocorrelationTime(x: ArrayLike<number>): number {
  const n = x.length;
  if (n < 4) return 1;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let c0 = 0;
  for (let i = 0; i < n; i++) c0 += (x[i] - mean) ** 2;
  if (c0 === 0) return 1;
  let tau = 1;
  for (let k = 1; k < n / 2; k++) {
    let ck = 0;
    for (let i = 0; i + k < n; i++) ck += (x[i] - mean) * (x[i + k] - mean);
    tau += 2 * ck / c0;
    if (k >= 5 * tau) break;
  }
  return Math.max(tau, 1 / n);
}

function meanVar(x: ArrayLike<number>, from: number, to: number): [number, number] {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i];
  const m = s / (to - from);
  let ss = 0;
  for (let i = from; i < to; i++) ss += (x[i] - m) ** 2;
  return [m, to - from > 1 ? ss / (to - from - 1) : 0];
}

/**
 * The health of every chain of a run, with warnings for drifting, sub-L0 and poorly mixing chains. `still`: the
 * copy index of a paired run's still copy (SamplingRun.still), which is not a chain and is left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { healthSummary, type runSgld } from "chi";
 *
 * // A paired run's result: copy 0 a chain whose 40 draws hover at 1.0, copy 1 the still copy at w* (0.9 on
 * // the same batches); its single L0 (1.2) came from an unlucky batch.
 * const chain = Array.from({ length: 40 }, (_, t) => 1.0 + 0.01 * Math.sin(t));
 * const atWStar = chain.map((l) => l - 0.1);
 * const result = {
 *   chains: 2,
 *   draws: 40,
 *   losses: Float64Array.from([...chain, ...atWStar]),
 *   L0: 1.2,
 *   restrictionOf: Int32Array.from([0, 1]),
 *   record: { nbeta: 10, eps: 1e-3, gamma: 100 },
 *   health: { maxLoss: Float64Array.of(1.1, 1.0), drawsPerSecond: 1, stepsPerSecond: 1, seconds: 40, readbacks: 1 },
 * } as unknown as Awaited<ReturnType<typeof runSgld>>;
 * const h = healthSummary(result, 1);
 * assert.equal(h.chains.length, 1); // the still copy is not a chain
 * assert.ok(Math.abs(h.chains[0].llc - 1) < 1e-9); // nβ · mean(L_t(w_t) − L_t(w*)) = 10 · 0.1
 * assert.ok(!h.warnings.some((w) => w.includes("below"))); // against L0 it would read λ̂ ≈ −2
 * ```
 */
export function healthSummary(result: SgldResult, still?: number): HealthSummary {
  const { chains: C, draws, losses, L0, record, health } = result;
  // λ̂ of a chain as the run's LLC estimates it: a paired run centres each draw on the still copy's loss at w*
  // on the same batch (lib/estimate/unit.ts), an unpaired one on the single L0.
  const ref = still === undefined ? L0 : meanVar(losses, still * draws, (still + 1) * draws)[0];
  const refName = still === undefined ? "L0" : "the loss at w* on the same batches";
  const warnings: string[] = [];
  const out: ChainHealth[] = [];
  for (let c = 0; c < C; c++) {
    if (c === still) continue;
    const x = losses.subarray(c * draws, (c + 1) * draws);
    const [meanLoss, varLoss] = meanVar(x, 0, draws);
    const tau = autocorrelationTime(x);
    const h = Math.floor(draws / 2);
    let driftZ = 0;
    if (h >= 2) {
      // Each half's own variance and autocorrelation time (Geweke's test): those of the whole series contain
      // the drift itself, which inflates both and hides it (a steady ramp then never reaches |z| > 4).
      const [m1, v1] = meanVar(x, 0, h), [m2, v2] = meanVar(x, h, draws);
      const t1 = autocorrelationTime(x.subarray(0, h)), t2 = autocorrelationTime(x.subarray(h));
      const se = Math.sqrt(v1 * t1 / h + v2 * t2 / (draws - h));
      driftZ = se > 0 ? (m2 - m1) / se : 0;
    }
    const llc = record.nbeta * (meanLoss - ref);
    const ch: ChainHealth = {
      chain: c,
      restriction: result.restrictionOf[c],
      meanLoss,
      stdLoss: Math.sqrt(varLoss),
      maxLoss: health.maxLoss[c],
      llc,
      tau,
      ess: draws / tau,
      driftZ,
    };
    out.push(ch);
    if (Math.abs(driftZ) > DRIFT_WARN) {
      warnings.push(
        `chain ${c}: the draw loss still drifts (second half − first half = ${
          driftZ.toFixed(1)
        } standard errors): ` +
          `raise burnIn or draws, or lower ε (now ${record.eps})`,
      );
    }
    if (llc < 0) {
      warnings.push(
        `chain ${c}: mean draw loss is below ${refName} (λ̂ = ${
          llc.toPrecision(3)
        }): w* is not a local minimum at this ` +
          `resolution; raise γ (now ${record.gamma}) or nβ (now ${record.nbeta})`,
      );
    }
    if (ch.ess < CHAIN_ESS_WARN) {
      warnings.push(
        `chain ${c}: only ${ch.ess.toFixed(1)} effective draws (autocorrelation time ${
          tau.toFixed(1)
        } draws): ` +
          `raise draws or stepsBetweenDraws`,
      );
    }
  }
  return {
    chains: out,
    L0,
    drawsPerSecond: health.drawsPerSecond,
    stepsPerSecond: health.stepsPerSecond,
    seconds: health.seconds,
    readbacks: health.readbacks,
    warnings,
  };
}

/**
 * A plain-text table of a health summary.
 *
 * @example
 * ```ts
 * import { formatHealth } from "chi";
 *
 * console.log(formatHealth({
 *   chains: [{ chain: 0, restriction: 0, meanLoss: 3.1, stdLoss: 0.05, maxLoss: 3.3, llc: 12.5, tau: 2.1, ess: 95, driftZ: 0.4 }],
 *   L0: 2.68,
 *   drawsPerSecond: 40,
 *   stepsPerSecond: 40,
 *   seconds: 5,
 *   readbacks: 4,
 *   warnings: [],
 * })); // one row per chain, then L0 and the throughput
 * ```
 */
export function formatHealth(h: HealthSummary): string {
  const head = "chain restr   mean loss    std loss    max loss       λ̂     tau     ESS  drift z";
  const rows = h.chains.map((c) =>
    [
      String(c.chain).padStart(5),
      String(c.restriction).padStart(5),
      c.meanLoss.toPrecision(6).padStart(11),
      c.stdLoss.toPrecision(3).padStart(11),
      c.maxLoss.toPrecision(6).padStart(11),
      c.llc.toPrecision(4).padStart(8),
      c.tau.toFixed(1).padStart(7),
      c.ess.toFixed(0).padStart(7),
      c.driftZ.toFixed(2).padStart(8),
    ].join(" ")
  );
  const tail = `L0 = ${h.L0.toPrecision(6)}; ${h.stepsPerSecond.toPrecision(3)} steps/s, ${
    h.drawsPerSecond.toPrecision(3)
  } draws/s over ${h.seconds.toFixed(2)} s, ${h.readbacks} readbacks`;
  return [head, ...rows, tail, ...h.warnings.map((w) => `warning: ${w}`)].join("\n");
}
