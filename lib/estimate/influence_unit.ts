/**
 * One checkpoint's Bayesian influence functions (lib/estimate/influence.ts) between the tokens of fixed probe
 * contexts and of fixed training contexts (drawn from the base stream q), under the localized posterior of the
 * whole model: one SGLD run of K chains, every draw evaluating the per-token losses of all contexts on the
 * device and adding the probe × training outer product to the running sums. Returns the influence.arrow columns.
 */
import type { Gpu } from "../gpu/device.ts";
import { readBuffers, upload } from "../gpu/buffers.ts";
import { encodeProgram } from "../gpu/program.ts";
import type { ModelConfig } from "../model/config.ts";
import { paramLayout } from "../model/params.ts";
import { createTransformer } from "../model/transformer.ts";
import type { InfluenceInput } from "../tables/schema.ts";
import { runSgld, type SgldResult } from "./sampler.ts";
import { resolveSgld, type SgldSettings } from "./sgld_settings.ts";
import { FULL, restrictionMask } from "../model/restriction.ts";
import { bifEstimate, bifObservable, createBifAccumulator } from "./influence.ts";
import { createTransformerTarget, lossAtWStar, wStarBuffer } from "./transformer_target.ts";

export interface InfluenceOptions {
  cfg: ModelConfig;
  params: Float32Array;
  step: number;
  /** Base stream q: the sampling minibatches. */
  base: ArrayLike<number>;
  probe: { name: string; contexts: Int32Array };
  /** Training contexts [count, seqLen] (e.g. sampleContexts of the base stream). */
  train: Int32Array;
  /** Sampler settings; unset ones keep SGLD_DEFAULTS (`paired` does not apply). */
  sgld?: Partial<SgldSettings>;
  seqLen: number;
  seed: number;
  decode: (id: number) => string;
  onProgress?: (step: number, total: number, drawsPerSecond: number) => void;
}

/** BIF of every (probe token, training token) pair; rows only for positions that predict a token (1..T−1). */
export async function runInfluence(
  gpu: Gpu,
  o: InfluenceOptions,
): Promise<{ influence: InfluenceInput; result: SgldResult }> {
  const T = o.seqLen;
  for (const [name, c] of [["probe", o.probe.contexts], ["train", o.train]] as const) {
    if (c.length === 0 || c.length % T !== 0) {
      throw new RangeError(`${name} contexts: ${c.length} tokens is not a positive multiple of ${T}`);
    }
  }
  const P = o.probe.contexts.length / T, Q = o.train.length / T;
  const sgld = resolveSgld(o.sgld);
  const K = sgld.chains;
  const batch = sgld.batchSize;
  const N = (P + Q) * T;
  const layout = paramLayout(o.cfg);
  const target = await createTransformerTarget(gpu, {
    cfg: o.cfg,
    copies: K,
    batch,
    seqLen: T,
    base: o.base,
    seed: o.seed,
  });
  const model = await createTransformer(gpu, o.cfg, {
    copies: K,
    batch: P + Q,
    seqLen: T,
    sharedTokens: true,
  }, {
    params: target.params,
    withGrads: false,
  });
  const all = new Int32Array(N);
  all.set(o.probe.contexts);
  all.set(o.train, P * T);
  model.setTokens(all, "influence contexts");
  const acc = await createBifAccumulator(gpu, {
    chains: K,
    tokens: N,
    ell: model.tokenLosses,
    probe: { start: 0, count: P * T },
    train: { start: P * T, count: Q * T },
  });
  const wStar = wStarBuffer(gpu, o.params);
  try {
    // Centre: every token's loss at w* (copy 0 after loading w* into all copies; the sampler reloads w* anyway).
    const copies = new Float32Array(K * layout.stride);
    for (let c = 0; c < K; c++) copies.set(o.params, c * layout.stride);
    upload(gpu, target.params, copies);
    const enc = gpu.device.createCommandEncoder({ label: "influence.centre" });
    encodeProgram(enc, model.forward, "influence.centre");
    gpu.device.queue.submit([enc.finish()]);
    const [buf] = await readBuffers(gpu, [{ buffer: model.tokenLosses }]);
    acc.setCentre(new Float32Array(buf).subarray(0, N));
    const L0 = await lossAtWStar(gpu, o.cfg, o.params, {
      base: o.base,
      batch,
      seqLen: T,
      seed: o.seed,
      batches: K,
    });
    const fwd = model.forward;
    const result = await runSgld(target, wStar, {
      ...sgld,
      seed: o.seed,
      L0,
      masks: [restrictionMask(layout, FULL)],
      onProgress: o.onProgress,
    }, [bifObservable({ encode: (e) => encodeProgram(e, fwd, "influence.forward") }, acc)]);
    const est = bifEstimate(await acc.read(), [...Array(K).keys()]);
    const rows = P * (T - 1) * Q * (T - 1);
    const cols = {
      step: new Int32Array(rows).fill(o.step),
      probe: new Array<string>(rows).fill(o.probe.name),
      probe_context: new Int32Array(rows),
      probe_position: new Int32Array(rows),
      probe_text: new Array<string>(rows),
      train_context: new Int32Array(rows),
      train_position: new Int32Array(rows),
      train_text: new Array<string>(rows),
      bif: new Float64Array(rows),
      bif_se: new Float64Array(rows),
    };
    let r = 0;
    const Nt = Q * T;
    for (let a = 0; a < P; a++) {
      for (let t = 0; t < T - 1; t++) {
        // ℓ at position t predicts token t + 1: the table's position is the predicted token's.
        const i = a * T + t;
        const pText = o.decode(o.probe.contexts[i + 1]);
        for (let b = 0; b < Q; b++) {
          for (let s = 0; s < T - 1; s++, r++) {
            const j = b * T + s;
            cols.probe_context[r] = a;
            cols.probe_position[r] = t + 1;
            cols.probe_text[r] = pText;
            cols.train_context[r] = b;
            cols.train_position[r] = s + 1;
            cols.train_text[r] = o.decode(o.train[j + 1]);
            cols.bif[r] = est.bif[i * Nt + j];
            cols.bif_se[r] = est.se[i * Nt + j];
          }
        }
      }
    }
    return { influence: cols, result };
  } finally {
    wStar.destroy();
    acc.destroy();
    model.destroy();
    target.destroy();
  }
}

/** The `top` training tokens with the largest |BIF| for one probe token (row indices into the columns). */
export function topInfluences(
  t: InfluenceInput,
  probeContext: number,
  probePosition: number,
  top: number,
): number[] {
  const rows: number[] = [];
  for (let r = 0; r < t.bif.length; r++) {
    if (t.probe_context[r] === probeContext && t.probe_position[r] === probePosition) rows.push(r);
  }
  return rows.sort((a, b) => Math.abs(t.bif[b]) - Math.abs(t.bif[a])).slice(0, top);
}
