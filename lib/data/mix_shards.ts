/**
 * Shard-level mixing (what scripts/mix.ts runs): draws the same number of contexts from a base and a
 * probe shard with one seed, mixes them by Algorithm 1 (mix.ts), and writes a context shard whose metadata
 * records δh, both sources and how many contexts came from the probe.
 */

import { MixError } from "./errors.ts";
import { mixContexts } from "./mix.ts";
import { readShard, sampleContexts, type ShardMeta, writeShard } from "./shard.ts";

export interface MixShardsOptions {
  base: string;
  probe: string;
  deltaH: number;
  nCtx: number;
  count: number;
  seed: number;
  out: string;
}

export async function mixShards(o: MixShardsOptions): Promise<ShardMeta> {
  const base = await readShard(o.base), probe = await readShard(o.probe);
  if (base.meta.tokenizerSha256 !== probe.meta.tokenizerSha256) {
    throw new MixError(`${o.base} and ${o.probe} were tokenized with different tokenizers: cannot mix them`);
  }
  // One seed for both, so that q′ = q picks the same offsets and the mixture equals the base contexts.
  const b = sampleContexts(base.tokens, o.nCtx, o.count, o.seed);
  const p = sampleContexts(probe.tokens, o.nCtx, o.count, o.seed);
  const mixed = mixContexts(b, p, o.nCtx, o.deltaH);
  return await writeShard(o.out, mixed.contexts, {
    vocabSize: base.meta.vocabSize,
    tokenizerSha256: base.meta.tokenizerSha256,
    source: `mix(base=${o.base}, probe=${o.probe}, deltaH=${o.deltaH})`,
    documents: o.count,
    separatorId: base.meta.separatorId,
    seed: o.seed,
    contextLength: o.nCtx,
    extra: { deltaH: o.deltaH, base: o.base, probe: o.probe, probeCount: mixed.probeCount },
  });
}
