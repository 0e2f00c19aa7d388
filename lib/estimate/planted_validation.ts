/**
 * Known-answer check of the susceptibility method on a planted induction circuit (planted_induction.ts): base
 * q = blocks of random tokens of which half repeat, probe q′ = blocks that all repeat (induction-enriched). χ̂
 * of every head (eq. 41, paired by default) should single out the two heads of the circuit, previous-token 0:0
 * and induction 1:0, against the two unused heads 0:1 and 1:1.
 */
import type { Gpu } from "../gpu/device.ts";
import { type HeadRoles, headRoles } from "./head_roles.ts";
import { plantedInductionModel, plantedInductionStream } from "./planted_induction.ts";
import type { SusceptibilityInput } from "../tables/schema.ts";
import { runCheckpointSusceptibilities } from "./unit.ts";
import { FULL } from "../model/restriction.ts";

export interface PlantedValidationOptions {
  chains?: number;
  draws?: number;
  batch?: number;
  /** Common-random-numbers χ̂ (default true: without it minibatch noise makes every head alike). */
  paired?: boolean;
  seed?: number;
  onProgress?: (step: number, total: number) => void;
}

/** Separation of two estimates in combined standard errors: (a − b) / √(se_a² + se_b²). */
export function separation(a: number, seA: number, b: number, seB: number): number {
  return (a - b) / Math.sqrt(seA * seA + seB * seB);
}

export interface PlantedValidationResult {
  roles: HeadRoles;
  susceptibility: SusceptibilityInput;
  /** χ̂ ± SE by head name. */
  chi: Record<string, { chi: number; se: number }>;
  /** Smallest |separation| of a circuit head (0:0, 1:0) from an unused head (0:1, 1:1). */
  minSeparation: number;
}

const CIRCUIT = ["0:0", "1:0"], UNUSED = ["0:1", "1:1"];

export async function runPlantedValidation(
  gpu: Gpu,
  o: PlantedValidationOptions = {},
): Promise<PlantedValidationResult> {
  const seed = o.seed ?? 0;
  const { cfg, params } = plantedInductionModel();
  const span = cfg.n_ctx / 2 - 2;
  const stream = (repeatFraction: number, tokens: number, s: number) =>
    plantedInductionStream({ vocab: cfg.d_vocab, span, tokens, repeatFraction, seed: s });
  const r = await runCheckpointSusceptibilities(gpu, {
    cfg,
    params,
    step: 0,
    base: stream(0.5, 200_000, seed * 2 + 1),
    probes: [{ name: "induction", tokens: stream(1, 100_000, seed * 2 + 2) }],
    deltaH: 0.1,
    restrictions: [FULL, ...CIRCUIT, ...UNUSED].sort(),
    sgld: {
      chains: o.chains ?? 4,
      draws: o.draws ?? 300,
      batchSize: o.batch ?? 16,
      paired: o.paired ?? true,
    },
    readEvery: 50,
    seqLen: cfg.n_ctx,
    seed,
    onProgress: o.onProgress,
  });
  const s = r.susceptibility;
  const chi: PlantedValidationResult["chi"] = {};
  for (let i = 0; i < s.chi.length; i++) chi[s.restriction[i]] = { chi: s.chi[i], se: s.chi_se[i] };
  let minSeparation = Infinity;
  for (const a of CIRCUIT) {
    for (const b of UNUSED) {
      const z = Math.abs(separation(chi[a].chi, chi[a].se, chi[b].chi, chi[b].se));
      minSeparation = Math.min(minSeparation, z);
    }
  }
  return { roles: headRoles(cfg, params, { span: cfg.n_ctx / 2 }), susceptibility: s, chi, minSeparation };
}
