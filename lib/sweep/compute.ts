/**
 * Binds work units to the estimators of lib/estimate/unit.ts: a chi unit is runCheckpointSusceptibilities at
 * its checkpoint, a per_token unit runPerTokenSusceptibilities, an ablation unit runAblation, each with the
 * unit's own seed. The per-token contexts of a probe are drawn from the sweep seed (not the unit's), so the
 * per-token and ablation units refer to the same contexts.
 */

import type { Gpu } from "../gpu/device.ts";
import type { ModelConfig } from "../model/config.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { readShard, type TokenArray } from "../data/shard.ts";
import { loadTokenizer, type Tokenizer } from "../data/tokenizer.ts";
import {
  probeContexts,
  runAblation,
  runCheckpointSusceptibilities,
  runPerTokenSusceptibilities,
} from "../estimate/unit.ts";
import { chiSgld, perTokenSgld, type SweepConfig } from "./config.ts";
import type { SweepData } from "./prepare.ts";
import type { ComputeUnit, UnitKind } from "./units.ts";
import { type HeadRoleOptions, headRoles, headRolesColumns } from "../estimate/head_roles.ts";
import { inductionNameIds } from "../data/synthetic/induction.ts";
import { unitSeed } from "./units.ts";
import { documentContexts } from "../data/document_contexts.ts";
import { healthRecord } from "../estimate/health_record.ts";
import { FULL } from "../model/restriction.ts";

/** Loaded token streams and tokenizer of a sweep, read once per process. */
export interface LoadedData {
  base: TokenArray;
  probes: { name: string; tokens: TokenArray; separatorId: number | null }[];
  tokenizer: Tokenizer;
}

export async function loadSweepData(data: SweepData): Promise<LoadedData> {
  const base = (await readShard(data.base)).tokens;
  const probes = [];
  for (const p of data.probes) {
    const shard = await readShard(p.path);
    probes.push({ name: p.name, tokens: shard.tokens, separatorId: shard.meta.separatorId });
  }
  return { base, probes, tokenizer: await loadTokenizer(data.tokenizer) };
}

/**
 * The per-token contexts of probe `name`: perToken.contexts contexts of sgld.seqLen tokens, random windows or
 * documents' starts (perToken.contextChoice).
 */
export function sweepContexts(
  cfg: SweepConfig,
  name: string,
  tokens: ArrayLike<number>,
  separatorId: number | null,
): Int32Array {
  if (cfg.perToken.contextChoice === "documents") {
    return documentContexts(
      tokens,
      separatorId,
      cfg.sgld.seqLen,
      cfg.perToken.contexts,
      unitSeed(cfg.seed, `contexts/${name}`),
    );
  }
  return probeContexts(
    tokens,
    cfg.sgld.seqLen,
    cfg.perToken.contexts,
    unitSeed(cfg.seed, `contexts/${name}`),
  );
}

/**
 * Version of the head-role diagnostic in chi units; bump when its numbers change for the same inputs. Version 2:
 * on the embedded synthetic data the repeated spans are 16 of the corpus's induction names (the tokens its
 * induction heads learn to copy); on other data, random tokens of the whole vocabulary as before.
 */
export const HEAD_ROLES_VERSION = "repeated-2";

/** Head-role options of a sweep: names spans on the embedded synthetic data (see HEAD_ROLES_VERSION). */
export function sweepHeadRoleOptions(cfg: SweepConfig, tokenizer: Tokenizer, nCtx: number): HeadRoleOptions {
  if (cfg.data !== null) return { seed: cfg.seed };
  // Two spans must fit in the context: 16 names, or half of a smaller n_ctx (headRoleSpanProblem checks ≥ 2).
  return { seed: cfg.seed, span: Math.min(16, Math.floor(nCtx / 2)), tokens: inductionNameIds(tokenizer) };
}

/** Why a model with context `nCtx` cannot get head roles (two spans of ≥ 2 tokens), or null when it can. */
export function headRoleSpanProblem(nCtx: number): string | null {
  return nCtx >= 4
    ? null
    : `n_ctx ${nCtx} is below 4: the head-role diagnostic needs two spans of ≥ 2 tokens`;
}

/** What each unit kind's numbers depend on besides checkpoint, probes, restrictions and seed. */
export function unitSettings(cfg: SweepConfig, model: ModelConfig, dataHashes: Record<string, string>) {
  const common = { model, data: dataHashes, seqLen: cfg.sgld.seqLen };
  const pt = cfg.perToken;
  // contextChoice enters only when it is "documents": units of window contexts keep their earlier ids.
  const choice = pt.contextChoice === "documents" ? { contextChoice: pt.contextChoice } : {};
  return {
    // headRoles names the head-role diagnostic's version (head_roles.ts): its table is part of each chi unit.
    chi: { ...common, deltaH: cfg.deltaH, sgld: chiSgld(cfg), headRoles: HEAD_ROLES_VERSION },
    per_token: {
      ...common,
      deltaH: cfg.deltaH,
      sgld: perTokenSgld(cfg),
      contexts: pt.contexts,
      contextSeed: cfg.seed,
      ...choice,
    },
    ablation: { ...common, contexts: pt.contexts, contextSeed: cfg.seed, ...choice },
  } satisfies Record<UnitKind, unknown>;
}

/** Relative cost of each unit kind in token-forward-backward passes (drives the progress bar's ETA). */
export function unitCosts(cfg: SweepConfig, restrictions: number, probes: number): Record<UnitKind, number> {
  const s = cfg.sgld, pt = cfg.perToken;
  const copies = (restrictions + 1) * s.chains + (s.paired ? 1 : 0);
  const chi = (s.burnIn + s.draws) * copies * s.batchSize * (1 + 0.5 * probes * cfg.deltaH);
  const ptCopies = (restrictions + 1) * pt.chains;
  const perToken = pt.draws * ptCopies * (pt.batchSize + (probes * pt.contexts) / 3);
  const ablation = (restrictions * probes * pt.contexts) / 3;
  return { chi: chi * s.seqLen, per_token: perToken * s.seqLen, ablation: Math.max(1, ablation * s.seqLen) };
}

/** The unit computation of a sweep on `gpu`. */
export function sweepCompute(gpu: Gpu, cfg: SweepConfig, data: LoadedData): ComputeUnit {
  const contexts = new Map<string, Int32Array>();
  const contextsOf = (name: string, tokens: ArrayLike<number>, separatorId: number | null) => {
    if (!contexts.has(name)) contexts.set(name, sweepContexts(cfg, name, tokens, separatorId));
    return contexts.get(name)!;
  };
  return async (unit, progress) => {
    // The configured model serves checkpoints that carry no config (.pth files); null: from the checkpoints.
    const ckpt = await loadCheckpoint(unit.checkpoint, cfg.modelConfig ?? undefined);
    const probes = unit.probes.map((name) => {
      const p = data.probes.find((p) => p.name === name);
      if (!p) throw new Error(`unit ${unit.id}: probe "${name}" is not loaded`);
      return p;
    });
    const onProgress = (step: number, total: number) => progress(total > 0 ? step / total : 0);
    const s = cfg.sgld;
    // What a chi unit and a per-token unit sample alike: the unit's checkpoint, restrictions and seed.
    const sampling = {
      cfg: ckpt.config,
      params: ckpt.params,
      step: unit.step,
      base: data.base,
      deltaH: cfg.deltaH,
      restrictions: unit.restrictions,
      readEvery: 5,
      seqLen: s.seqLen,
      seed: unit.seed,
      onProgress,
    };
    if (unit.kind === "chi") {
      const r = await runCheckpointSusceptibilities(gpu, { ...sampling, probes, sgld: chiSgld(cfg) });
      // Mechanistic roles of the same checkpoint's heads (float64 reference pass on the CPU), to read χ against.
      const roles = headRoles(
        ckpt.config,
        ckpt.params,
        sweepHeadRoleOptions(cfg, data.tokenizer, ckpt.config.n_ctx),
      );
      return {
        tables: {
          susceptibility: r.susceptibility,
          traces: r.traces,
          chi_terms: r.chiTerms,
          head_roles: headRolesColumns(unit.step, roles),
        },
        extra: {
          sampler: r.run.result.record,
          L0: r.run.result.L0,
          drawsPerSecond: r.run.result.health.drawsPerSecond,
          health: healthRecord("chi", unit.step, r.run),
        },
      };
    }
    const withContexts = probes.map((p) => ({ ...p, contexts: contextsOf(p.name, p.tokens, p.separatorId) }));
    if (unit.kind === "per_token") {
      const r = await runPerTokenSusceptibilities(gpu, {
        ...sampling,
        probes: withContexts,
        sgld: perTokenSgld(cfg),
        decode: (id) => data.tokenizer.tokenText(id),
      });
      return {
        tables: { per_token: r.perToken, contexts: r.contexts },
        extra: {
          sampler: r.run.result.record,
          L0: r.run.result.L0,
          consistency: r.consistency,
          health: healthRecord("per_token", unit.step, r.run),
        },
      };
    }
    const heads = unit.restrictions.filter((r) => r !== FULL);
    const r = await runAblation(gpu, {
      cfg: ckpt.config,
      params: ckpt.params,
      step: unit.step,
      probes: withContexts,
      heads,
      seqLen: s.seqLen,
    });
    progress(1);
    return { tables: { ablation: r.ablation } };
  };
}
