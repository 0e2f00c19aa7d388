/**
 * The inputs of a timed unit run (scripts/bench_sgld.ts, lib/bench/sweep_time.ts): a random initialization and
 * streams of uniform random token ids. Speed does not depend on their values, so benchmarks need no data.
 */
import type { ModelConfig } from "../model/config.ts";
import { initParams } from "../model/init.ts";
import { Rng } from "../util/random.ts";

/** n uniform random ids in [0, vocab). */
export function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

/**
 * The options runCheckpointSusceptibilities and runPerTokenSusceptibilities share, for a benchmark at
 * context length T: parameters, a base stream long enough for batches of up to `batch` sequences, and `probes`
 * probe streams with `contexts` per-token contexts each; add `sgld` (and `decode` for per-token units).
 */
export function benchUnitOptions(
  cfg: ModelConfig,
  o: {
    seqLen: number;
    batch: number;
    probes: number;
    contexts: number;
    deltaH: number;
    restrictions: string[];
  },
) {
  const T = o.seqLen;
  const stream = (seed: number) => randomTokens(Math.max(200_000, 4 * T * o.batch), cfg.d_vocab, seed);
  return {
    cfg,
    params: initParams(cfg, 1),
    step: 0,
    base: stream(1),
    probes: Array.from({ length: o.probes }, (_, p) => ({
      name: `p${p}`,
      tokens: stream(2 + p),
      contexts: randomTokens(o.contexts * T, cfg.d_vocab, 100 + p),
    })),
    deltaH: o.deltaH,
    restrictions: o.restrictions,
    seqLen: T,
    seed: 1,
  };
}
