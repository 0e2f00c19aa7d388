/**
 * SGLD throughput of the transformer target: draws/s of one batched run (all restrictions × chains as copies,
 * with the mixed-batch L^δh observable of the probes) and per-token evaluations/s (the C.2 observable), and the
 * fraction of the adapter's measured matmul GFLOP/s the FLOPs of those runs reach.
 *
 *   deno run --allow-read=. --allow-write=runs --allow-env scripts/bench_sgld.ts [--config tiny|paper]
 *     [--restrictions 9] [--chains 2] [--batch 8] [--seq-len 64] [--draws 20] [--probes 1] [--contexts 16]
 *
 * Parameters are random (initParams): throughput does not depend on their values. FLOPs are counted as
 * 2·(multiply-adds) of the matmuls and attention products; the backward pass as twice the forward.
 */
import { runMain } from "../lib/util/main.ts";
import { parseArgs } from "node:util";
import { getGpu } from "../lib/gpu/device.ts";
import { PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import { initParams } from "../lib/model/init.ts";
import { measureMatmul } from "../lib/bench/matmul.ts";
import { flagChoice, flagInt, UsageError } from "../lib/util/cli.ts";
import {
  allRestrictions,
  probeContexts,
  runCheckpointSusceptibilities,
  runPerTokenSusceptibilities,
} from "../lib/estimate/unit.ts";
import { maxReplacedRows } from "../lib/estimate/transformer_target.ts";
import { forwardFlopsPerToken } from "../lib/sweep/work.ts";

function synthetic(n: number, vocab: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x % vocab;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      config: { type: "string", default: "tiny" },
      restrictions: { type: "string" },
      chains: { type: "string", default: "2" },
      batch: { type: "string", default: "8" },
      "seq-len": { type: "string" },
      draws: { type: "string", default: "20" },
      probes: { type: "string", default: "1" },
      contexts: { type: "string", default: "16" },
      "delta-h": { type: "string", default: "0.1" },
    },
  });
  const cfg = flagChoice("--config", values.config, ["tiny", "paper"] as const) === "paper"
    ? PAPER_CONFIG
    : TINY_CONFIG;
  const all = allRestrictions(cfg);
  const R = flagInt("--restrictions", values.restrictions ?? String(all.length), 1);
  if (R > all.length) throw new UsageError(`--restrictions: at most ${all.length} for this config, got ${R}`);
  const chains = flagInt("--chains", values.chains, 1);
  const batch = flagInt("--batch", values.batch, 1);
  const T = flagInt("--seq-len", values["seq-len"] ?? String(Math.min(cfg.n_ctx, 64)), 2);
  const draws = flagInt("--draws", values.draws, 1);
  const nProbes = flagInt("--probes", values.probes, 1);
  const nCtx = flagInt("--contexts", values.contexts, 1);
  const deltaH = Number(values["delta-h"]);
  const restrictions = ["full", ...all.slice(1, R)];
  const gpu = await getGpu();
  console.log(
    `adapter: ${gpu.record.description} (${gpu.kind}); config ${values.config}; ${navigator.hardwareConcurrency} CPU threads`,
  );

  const params = initParams(cfg, 1);
  const base = synthetic(200_000, cfg.d_vocab, 1);
  const probes = Array.from({ length: nProbes }, (_, i) => ({
    name: `p${i}`,
    tokens: synthetic(50_000, cfg.d_vocab, 2 + i),
  }));
  const C = R * chains;
  const f = forwardFlopsPerToken(cfg, T);
  const mm = await measureMatmul(gpu, { M: 512, N: 512, K: 512, seconds: 1 });
  console.log(`matmul 512³: ${mm.gflops.toFixed(2)} GFLOP/s`);

  const sgld = { chains, batch, draws, readEvery: Math.min(50, draws) };
  // Warm-up (pipeline compilation) with 1 draw, then the timed run.
  await runCheckpointSusceptibilities(gpu, {
    cfg,
    params,
    step: 0,
    base,
    probes,
    deltaH,
    restrictions,
    sgld: { ...sgld, draws: 1 },
    seqLen: T,
    seed: 1,
  });
  const t0 = performance.now();
  const res = await runCheckpointSusceptibilities(gpu, {
    cfg,
    params,
    step: 0,
    base,
    probes,
    deltaH,
    restrictions,
    sgld,
    seqLen: T,
    seed: 1,
  });
  const secs = (performance.now() - t0) / 1000;
  const h = res.run.result.health;
  const stepFlops = C * T * f * (3 * batch + nProbes * maxReplacedRows(batch, deltaH));
  console.log(
    `SGLD: ${R} restrictions × ${chains} chains = ${C} copies, batch ${batch}, seqLen ${T}, ${nProbes} probe(s): ` +
      `${h.drawsPerSecond.toFixed(2)} draws/s in the sampling loop (${draws} draws in ${
        h.seconds.toFixed(2)
      } s; ` +
      `${secs.toFixed(2)} s with setup and L0), ${
        (stepFlops * h.drawsPerSecond / 1e9).toFixed(2)
      } GFLOP/s = ` +
      `${(100 * stepFlops * h.drawsPerSecond / 1e9 / mm.gflops).toFixed(1)} % of matmul`,
  );

  const ptProbes = probes.map((p, i) => ({ ...p, contexts: probeContexts(p.tokens, T, nCtx, 10 + i) }));
  const t1 = performance.now();
  const pt = await runPerTokenSusceptibilities(gpu, {
    cfg,
    params,
    step: 0,
    base,
    probes: ptProbes,
    deltaH,
    restrictions,
    sgld,
    seqLen: T,
    seed: 1,
    decode: String,
  });
  const secs2 = (performance.now() - t1) / 1000;
  const h2 = pt.run.result.health;
  const evals = C * nProbes * nCtx * (T - 1) * draws;
  const ptFlops = C * T * f * (3 * batch + nProbes * maxReplacedRows(batch, deltaH) + nProbes * nCtx);
  console.log(
    `per-token: ${nProbes * nCtx} contexts × ${T - 1} tokens × ${C} copies per draw: ${
      (evals / h2.seconds).toFixed(0)
    } ` +
      `per-token evaluations/s (${h2.drawsPerSecond.toFixed(2)} draws/s; ${secs2.toFixed(2)} s in all), ` +
      `${(ptFlops * h2.drawsPerSecond / 1e9).toFixed(2)} GFLOP/s = ${
        (100 * ptFlops * h2.drawsPerSecond / 1e9 / mm.gflops).toFixed(1)
      } % of matmul`,
  );
}

if (import.meta.main) {
  await runMain(main);
}
