/**
 * The embedded default corpus: a mixture of six synthetic components with planted structure (see
 * docs/synthetic.md). The base distribution q is a fixed mixture; each probe q′ shifts most of the weight
 * onto one component. Every document is generated from its own forked random stream, so the corpus is a
 * pure function of (seed, weights, size), and the base and every probe share the same component tables
 * (the same multigram chain), as the mixtures of one language should.
 */

import { Rng } from "../util/random.ts";
import { DataError } from "./errors.ts";
import { arithmeticComponent } from "./synthetic/arithmetic.ts";
import { bracketsComponent } from "./synthetic/brackets.ts";
import { codeComponent } from "./synthetic/code.ts";
import type { ComponentGenerator } from "./synthetic/component.ts";
import { inductionComponent } from "./synthetic/induction.ts";
import { multigramComponent } from "./synthetic/multigram.ts";
import { proseComponent } from "./synthetic/prose.ts";

export const COMPONENT_NAMES = ["multigram", "induction", "brackets", "arithmetic", "code", "prose"] as const;
export type ComponentName = typeof COMPONENT_NAMES[number];
export type MixtureWeights = Readonly<Record<ComponentName, number>>;

/** The base mixture q (weights by document). Induction and multigram dominate: the structures to recover. */
export const BASE_WEIGHTS: MixtureWeights = Object.freeze({
  multigram: 0.1,
  induction: 0.75,
  brackets: 0.03,
  arithmetic: 0.03,
  code: 0.05,
  prose: 0.04,
});

/** Share of a probe's documents moved onto its component: q′ = (1 − s)·q + s·onehot. */
export const PROBE_STRENGTH = 0.8;

/**
 * The probe mixture that shifts weight toward `name`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeWeights } from "chi";
 *
 * const w = probeWeights("code"); // 0.8 of the weight on code, the base mixture's 0.2 spread over all
 * assert.ok(Math.abs(w.code - 0.81) < 1e-12);
 * assert.ok(Math.abs(Object.values(w).reduce((a, b) => a + b, 0) - 1) < 1e-12);
 * ```
 */
export function probeWeights(name: ComponentName, strength = PROBE_STRENGTH): MixtureWeights {
  if (!(strength >= 0 && strength <= 1)) {
    throw new DataError(`probe strength must be in [0, 1], got ${strength}`);
  }
  const w = {} as Record<ComponentName, number>;
  for (const c of COMPONENT_NAMES) w[c] = (1 - strength) * BASE_WEIGHTS[c] + (c === name ? strength : 0);
  return w;
}

/** The six component generators of a corpus seed. */
export function syntheticComponents(seed: number): Record<ComponentName, ComponentGenerator> {
  return {
    multigram: multigramComponent(seed),
    induction: inductionComponent(),
    brackets: bracketsComponent(),
    arithmetic: arithmeticComponent(),
    code: codeComponent(),
    prose: proseComponent(),
  };
}

export interface SyntheticDocument {
  component: ComponentName;
  text: string;
}

export interface GenerateCorpusOptions {
  /** Corpus seed: fixes the component tables (shared by base and probes). */
  seed: number;
  /** Names the document stream (e.g. "base", "probe:code"), so base and probes draw different documents. */
  stream: string;
  weights: MixtureWeights;
  /** Stop once the documents total at least this many characters. */
  chars: number;
  /** Documents are at least minDocChars + U[0, spreadDocChars) characters (default 400 + U[0, 800)). */
  minDocChars?: number;
  spreadDocChars?: number;
}

/**
 * Generates documents until `chars` characters; deterministic from (seed, stream, weights, sizes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateCorpus, probeWeights } from "chi";
 *
 * const docs = [...generateCorpus({ seed: 1, stream: "probe:code", weights: probeWeights("code"), chars: 5000 })];
 * assert.ok(docs.reduce((n, d) => n + d.text.length, 0) >= 5000);
 * console.log(docs[0].component, docs[0].text.slice(0, 60));
 * ```
 */
export function* generateCorpus(opts: GenerateCorpusOptions): Generator<SyntheticDocument> {
  const { seed, weights, chars } = opts;
  if (!Number.isInteger(seed)) throw new DataError(`seed must be an integer, got ${seed}`);
  if (!(Number.isFinite(chars) && chars >= 0)) throw new DataError(`chars must be ≥ 0, got ${chars}`);
  const minDoc = opts.minDocChars ?? 400, spread = opts.spreadDocChars ?? 800;
  const components = syntheticComponents(seed);
  const w = COMPONENT_NAMES.map((c) => {
    const v = weights[c];
    if (!(typeof v === "number" && v >= 0 && Number.isFinite(v))) {
      throw new DataError(`weights.${c} must be a number ≥ 0, got ${v}`);
    }
    return v;
  });
  const root = new Rng(seed).fork(`stream:${opts.stream}`);
  let total = 0;
  for (let i = 0; total < chars; i++) {
    const r = root.fork(i);
    const component = COMPONENT_NAMES[r.weighted(w)];
    const text = components[component].generate(r, minDoc + (spread > 0 ? r.int(spread) : 0));
    total += text.length;
    yield { component, text };
  }
}
