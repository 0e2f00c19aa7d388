/**
 * The embedded default dataset: the synthetic corpus (lib/data/synthetic.ts) tokenized with a byte-level
 * BPE tokenizer trained on it. `ensureDefaultDataset(dir)` writes, into `dir`:
 *   tokenizer.json              the tokenizer (Hugging Face format),
 *   base.tokens / base.json     the base mixture q,
 *   probe_<name>.tokens/.json   one probe q′ per component, weight shifted toward that component,
 *   dataset.json                the manifest (options, generator version, tokenizer hash, shard metadata),
 * and reuses them when the manifest matches the requested options and every file is present with the size
 * its metadata promises. The manifest is written last, each file atomically, so an interrupted build is
 * rebuilt rather than half-reused.
 */

import { join } from "node:path";
import { buildShard } from "./build_shard.ts";
import { DataError } from "./errors.ts";
import { dtypeBytes, readShardMeta, type ShardMeta, shardPaths } from "./shard.ts";
import {
  BASE_WEIGHTS,
  COMPONENT_NAMES,
  type ComponentName,
  generateCorpus,
  type MixtureWeights,
  PROBE_STRENGTH,
  probeWeights,
} from "./synthetic.ts";
import { loadTokenizer, trainBpe } from "./tokenizer.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../util/files.ts";

/** Bump when the generator's output changes for the same options, so stale datasets are rebuilt. */
export const SYNTHETIC_GENERATOR_VERSION = 2;
const MANIFEST_FORMAT = "chi-default-dataset";

export interface DefaultDatasetOptions {
  /** Corpus seed (default 1234). */
  seed?: number;
  /** Tokenizer vocabulary (default 512, TINY_CONFIG.d_vocab). */
  vocabSize?: number;
  /** Characters of base text (default 5M ≈ 2.5M tokens). */
  baseChars?: number;
  /** Characters of each probe (default 1M ≈ 0.5M tokens). */
  probeChars?: number;
}

export interface DefaultDatasetManifest {
  format: typeof MANIFEST_FORMAT;
  generatorVersion: number;
  options: Required<DefaultDatasetOptions>;
  /** Characters of base text the tokenizer was trained on. */
  tokenizerTrainChars: number;
  tokenizerSha256: string;
  weights: { base: MixtureWeights; probes: Record<ComponentName, MixtureWeights>; probeStrength: number };
  shards: { base: ShardMeta; probes: Record<ComponentName, ShardMeta> };
}

export interface DefaultDataset {
  tokenizerPath: string;
  /** Path of the base shard's .tokens file (pass to readShard). */
  base: string;
  /** Component name → path of its probe shard's .tokens file. */
  probes: Record<ComponentName, string>;
  meta: DefaultDatasetManifest;
}

export const DEFAULT_DATASET_OPTIONS: Readonly<Required<DefaultDatasetOptions>> = Object.freeze({
  seed: 1234,
  vocabSize: 512,
  baseChars: 5_000_000,
  probeChars: 1_000_000,
});

/** The tokenizer sees at most this much base text: BPE merges for a 512-token vocabulary settle far sooner. */
const TOKENIZER_TRAIN_CHARS = 2_000_000;

function resolveOptions(opts: DefaultDatasetOptions): Required<DefaultDatasetOptions> {
  const o = { ...DEFAULT_DATASET_OPTIONS, ...opts };
  for (const k of ["seed", "vocabSize", "baseChars", "probeChars"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) {
      throw new DataError(`default dataset option ${k} must be a non-negative integer, got ${o[k]}`);
    }
  }
  if (o.baseChars < 1000 || o.probeChars < 1000) {
    throw new DataError(`baseChars and probeChars must be ≥ 1000, got ${o.baseChars} and ${o.probeChars}`);
  }
  return o;
}

function paths(dir: string) {
  return {
    manifest: join(dir, "dataset.json"),
    tokenizer: join(dir, "tokenizer.json"),
    base: join(dir, "base.tokens"),
    probe: (c: ComponentName) => join(dir, `probe_${c}.tokens`),
  };
}

function result(dir: string, meta: DefaultDatasetManifest): DefaultDataset {
  const p = paths(dir);
  const probes = {} as Record<ComponentName, string>;
  for (const c of COMPONENT_NAMES) probes[c] = p.probe(c);
  return { tokenizerPath: p.tokenizer, base: p.base, probes, meta };
}

/** The existing dataset in `dir` when it is complete and built with `o`; null otherwise (never throws). */
async function reuse(dir: string, o: Required<DefaultDatasetOptions>): Promise<DefaultDataset | null> {
  const p = paths(dir);
  try {
    const m = JSON.parse(await Deno.readTextFile(p.manifest)) as DefaultDatasetManifest;
    if (m.format !== MANIFEST_FORMAT || m.generatorVersion !== SYNTHETIC_GENERATOR_VERSION) return null;
    if (JSON.stringify(m.options) !== JSON.stringify(o)) return null;
    const tok = await loadTokenizer(p.tokenizer);
    if (tok.hash !== m.tokenizerSha256) return null;
    for (const path of [p.base, ...COMPONENT_NAMES.map(p.probe)]) {
      const meta = await readShardMeta(path);
      if (meta.tokenizerSha256 !== m.tokenizerSha256) return null;
      const size = (await Deno.stat(shardPaths(path).tokens)).size;
      if (size !== meta.tokens * dtypeBytes(meta.dtype)) return null;
    }
    return result(dir, m);
  } catch {
    return null;
  }
}

/** Component → number of documents, for a shard's metadata. */
function countComponents(counts: Map<ComponentName, number>): Record<string, number> {
  return Object.fromEntries(COMPONENT_NAMES.map((c) => [c, counts.get(c) ?? 0]));
}

/** Yields the texts of a corpus stream while counting documents per component into `counts`. */
function* texts(
  seed: number,
  stream: string,
  weights: MixtureWeights,
  chars: number,
  counts: Map<ComponentName, number>,
): Generator<string> {
  for (const d of generateCorpus({ seed, stream, weights, chars })) {
    counts.set(d.component, (counts.get(d.component) ?? 0) + 1);
    yield d.text;
  }
}

/**
 * Builds the default dataset in `dir`, or reuses a complete matching one. Takes a few seconds with the
 * defaults (about 5 M base characters, 2.5 M tokens).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureDefaultDataset, readShard } from "chi";
 *
 * // A small version of the embedded synthetic dataset (the defaults: 5 M base characters, a few seconds).
 * const dir = await Deno.makeTempDir();
 * const opts = { baseChars: 20_000, probeChars: 5_000, vocabSize: 300 };
 * const ds = await ensureDefaultDataset(dir, opts);
 * assert.equal((await readShard(ds.base)).meta.vocabSize, 300);
 * assert.ok("induction" in ds.probes);
 * assert.deepEqual((await ensureDefaultDataset(dir, opts)).meta, ds.meta); // complete and matching: reused
 * ```
 */
export async function ensureDefaultDataset(
  dir: string,
  opts: DefaultDatasetOptions = {},
): Promise<DefaultDataset> {
  const o = resolveOptions(opts);
  const existing = await reuse(dir, o);
  if (existing) return existing;
  await Deno.mkdir(dir, { recursive: true });
  const p = paths(dir);
  await Deno.remove(p.manifest).catch(() => {}); // the set is incomplete until the manifest is rewritten

  const trainChars = Math.min(TOKENIZER_TRAIN_CHARS, o.baseChars);
  const tokenizer = trainBpe(texts(o.seed, "base", BASE_WEIGHTS, trainChars, new Map()), o.vocabSize);
  await writeTextFileAtomic(p.tokenizer, tokenizer.toHfJson());

  const describe = (stream: string, chars: number) =>
    `synthetic corpus v${SYNTHETIC_GENERATOR_VERSION} (seed ${o.seed}, stream "${stream}", ${chars} chars)`;
  const baseCounts = new Map<ComponentName, number>();
  const baseMeta = await buildShard(
    texts(o.seed, "base", BASE_WEIGHTS, o.baseChars, baseCounts),
    tokenizer,
    p.base,
    {
      source: describe("base", o.baseChars),
      seed: o.seed,
      extra: () => ({ weights: BASE_WEIGHTS, componentDocuments: countComponents(baseCounts) }),
    },
  );

  const probeShards = {} as Record<ComponentName, ShardMeta>;
  const probeW = {} as Record<ComponentName, MixtureWeights>;
  for (const c of COMPONENT_NAMES) {
    const weights = probeW[c] = probeWeights(c);
    const counts = new Map<ComponentName, number>();
    const stream = `probe:${c}`;
    const meta = await buildShard(
      texts(o.seed, stream, weights, o.probeChars, counts),
      tokenizer,
      p.probe(c),
      {
        source: describe(stream, o.probeChars),
        seed: o.seed,
        extra: () => ({ weights, componentDocuments: countComponents(counts) }),
      },
    );
    probeShards[c] = meta;
  }

  const manifest: DefaultDatasetManifest = {
    format: MANIFEST_FORMAT,
    generatorVersion: SYNTHETIC_GENERATOR_VERSION,
    options: o,
    tokenizerTrainChars: trainChars,
    tokenizerSha256: tokenizer.hash,
    weights: { base: BASE_WEIGHTS, probes: probeW, probeStrength: PROBE_STRENGTH },
    shards: { base: baseMeta, probes: probeShards },
  };
  await writeJsonAtomic(p.manifest, manifest);
  return result(dir, manifest);
}
