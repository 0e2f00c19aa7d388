/**
 * The SGLD settings: one shape from the sweep config's `sgld` object and the scripts' sampler flags through the
 * units and the sampler to the records in manifests and unit files. One defaults object (the paper's,
 * appendix C.3), one validation, applied by `resolveSgld` wherever partial settings come in: the sweep config
 * (lib/sweep/config.ts, which extends the settings with `seqLen` and its own defaults), the scripts' flags
 * (lib/estimate/script_inputs.ts parseSgld), the units (lib/estimate/unit.ts) and runSgld.
 *
 * Field ↔ config ↔ flag: every field has its name in the sweep config's `sgld` object; the scripts' flags
 * are SGLD_FLAGS (e.g. batchSize ↔ --batch, stepsBetweenDraws ↔ --thin, paired ↔ --unpaired).
 */
import { ChiInputError } from "../util/errors.ts";

export interface SgldSettings {
  /** Step size ε (devinterp's lr); > 0. */
  eps: number;
  /** nβ: multiplies the MEAN minibatch loss gradient; > 0. */
  nbeta: number;
  /** Localization strength γ; ≥ 0 (0: no localization). */
  gamma: number;
  /** Weight decay λ; ≥ 0. */
  lambda: number;
  /** RMSProp-SGLD preconditioning. */
  rmsprop: boolean;
  /** Chains per restriction; ≥ 1. */
  chains: number;
  /** Draws kept per chain; ≥ 1. */
  draws: number;
  /** Sequences per minibatch; ≥ 1. */
  batchSize: number;
  /** Steps before the first draw; ≥ 0. */
  burnIn: number;
  /** SGLD steps per kept draw (thinning); ≥ 1. */
  stepsBetweenDraws: number;
  /**
   * Common-random-numbers control variate for χ̂ and the LLC: one extra copy with an all-zero mask stays at w*,
   * and χ̂ centres φ and ΔL per draw on that copy's losses (estimators.ts, "Paired variant"), and the LLC
   * centres each draw on it (estimateLlc: the batch noise of L0 enters estimate and error bar). Not for the
   * per-token estimates.
   */
  paired: boolean;
}

/**
 * The paper's sampler (appendix C.3) and devinterp's draw bookkeeping. χ̂ and the LLC are paired by default: on
 * a Gaussian posterior with batch noise only the paired error bars are calibrated
 * (tests/estimate_calibration_test.ts), and paired χ̂ has smaller SE (docs/estimators.md).
 */
export const SGLD_DEFAULTS: Readonly<SgldSettings> = Object.freeze({
  eps: 0.001,
  nbeta: 30,
  gamma: 300,
  lambda: 0,
  rmsprop: false,
  chains: 4,
  draws: 200,
  batchSize: 64,
  burnIn: 0,
  stepsBetweenDraws: 1,
  paired: true,
});

/** Appendix C.3's changes for per-token susceptibilities (C.2); pairing is not implemented for them. */
export const PER_TOKEN_DEFAULTS: Readonly<SgldSettings> = Object.freeze({
  ...SGLD_DEFAULTS,
  draws: 100,
  batchSize: 16,
  paired: false,
});

/** The scripts' flag of each field (lib/estimate/script_inputs.ts); λ has none. */
export const SGLD_FLAGS: Readonly<Record<keyof SgldSettings, string>> = Object.freeze({
  eps: "--eps",
  nbeta: "--nbeta",
  gamma: "--gamma",
  lambda: "lambda",
  rmsprop: "--rmsprop",
  chains: "--chains",
  draws: "--draws",
  batchSize: "--batch",
  burnIn: "--burn-in",
  stepsBetweenDraws: "--thin",
  paired: "--unpaired",
});

/** Thrown for an invalid sampler option; names the option. */
export class SgldOptionError extends ChiInputError {
  constructor(readonly option: string, message: string) {
    super(`SGLD option "${option}": ${message}`); // named "SgldOptionError" by ChiInputError
  }
}

type Rule = { kind: "number"; min: number; open: boolean } | { kind: "int"; min: number } | { kind: "bool" };

const RULES: Readonly<Record<keyof SgldSettings, Rule>> = {
  eps: { kind: "number", min: 0, open: true },
  nbeta: { kind: "number", min: 0, open: true },
  gamma: { kind: "number", min: 0, open: false },
  lambda: { kind: "number", min: 0, open: false },
  rmsprop: { kind: "bool" },
  chains: { kind: "int", min: 1 },
  draws: { kind: "int", min: 1 },
  batchSize: { kind: "int", min: 1 },
  burnIn: { kind: "int", min: 0 },
  stepsBetweenDraws: { kind: "int", min: 1 },
  paired: { kind: "bool" },
};

/** The fields of SgldSettings in declaration order. */
export const SGLD_FIELDS = Object.keys(RULES) as (keyof SgldSettings)[];

/** Why `v` is not a valid value of `field` ("expected … , got …"), or undefined when it is. */
export function sgldFieldProblem(field: keyof SgldSettings, v: unknown): string | undefined {
  const rule = RULES[field];
  const got = `got ${JSON.stringify(v) ?? String(v)}`;
  if (rule.kind === "bool") return typeof v === "boolean" ? undefined : `expected true or false, ${got}`;
  if (rule.kind === "int") {
    const ok = typeof v === "number" && Number.isSafeInteger(v) && v >= rule.min;
    return ok ? undefined : `expected an integer ≥ ${rule.min}, ${got}`;
  }
  const ok = typeof v === "number" && Number.isFinite(v) && (rule.open ? v > rule.min : v >= rule.min);
  return ok ? undefined : `expected a number ${rule.open ? ">" : "≥"} ${rule.min}, ${got}`;
}

/** How a validation failure is reported: the field at fault and what was wrong. */
export type SgldFail = (field: keyof SgldSettings, message: string) => never;

const throwOption: SgldFail = (field, message) => {
  throw new SgldOptionError(field, message);
};

/**
 * The one validation of SGLD settings: every field present and valid, else `fail(field, message)` (default: an
 * SgldOptionError naming the field; the sweep config names "sgld.<field>", the scripts the flag).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SGLD_DEFAULTS, validateSgld } from "chi";
 *
 * assert.equal(validateSgld({ ...SGLD_DEFAULTS }).gamma, 300);
 * assert.throws(() => validateSgld({ ...SGLD_DEFAULTS, eps: -1 }), /"eps"/); // the error names the field
 * ```
 */
export function validateSgld(
  s: Readonly<Record<string, unknown>>,
  fail: SgldFail = throwOption,
): SgldSettings {
  const out: Record<string, unknown> = {};
  for (const field of SGLD_FIELDS) {
    const problem = sgldFieldProblem(field, s[field]);
    if (problem !== undefined) fail(field, problem);
    out[field] = s[field];
  }
  return out as unknown as SgldSettings;
}

/**
 * `partial` over `defaults` (undefined fields keep the default), validated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PER_TOKEN_DEFAULTS, resolveSgld } from "chi";
 *
 * const s = resolveSgld({ chains: 2, draws: undefined }); // over SGLD_DEFAULTS, the paper's appendix C.3
 * assert.equal(s.chains, 2);
 * assert.equal(s.draws, 200);
 * assert.equal(resolveSgld({}, PER_TOKEN_DEFAULTS).batchSize, 16);
 * ```
 */
export function resolveSgld(
  partial: Readonly<Partial<SgldSettings>> | undefined,
  defaults: Readonly<SgldSettings> = SGLD_DEFAULTS,
  fail: SgldFail = throwOption,
): SgldSettings {
  const merged: Record<string, unknown> = { ...defaults };
  for (const field of SGLD_FIELDS) {
    const v = partial?.[field];
    if (v !== undefined) merged[field] = v;
  }
  return validateSgld(merged, fail);
}
