/**
 * `deno task sweep --plan` (lib/sweep/plan.ts) on small stand-ins for the paper's files — a tiny tokenizer,
 * small shards and a JSONL dataset, two generated checkpoints, a config shaped like configs/paper.json
 * pointing at them: the work count equals a hand count, an estimate is printed, nothing is written, and bad
 * stand-ins are refused with one line naming the file or field.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { getGpu } from "../lib/gpu/device.ts";
import { type ModelConfig, PAPER_CONFIG } from "../lib/model/config.ts";
import { CheckpointError, checkpointPath, saveCheckpoint } from "../lib/model/checkpoint.ts";
import { initParams } from "../lib/model/init.ts";
import { trainBpe } from "../lib/data/tokenizer.ts";
import { buildShard } from "../lib/data/build_shard.ts";
import { parseSweepConfig, SweepConfigError } from "../lib/sweep/config.ts";
import { formatPlan, planSweep } from "../lib/sweep/plan.ts";
import { formatSamplingWork, sweepWork } from "../lib/sweep/work.ts";

const MODEL: ModelConfig = {
  n_layers: 1,
  n_heads: 2,
  d_model: 16,
  d_head: 8,
  n_ctx: 16,
  d_vocab: 300,
  normalization: "LN",
  positional: "shortformer",
};

const TEXT = [
  "The licensee may copy and distribute verbatim copies of the program's source code as received.",
  "def main(argv):\n    for name in argv:\n        print(name.upper())\n    return 0\n",
  "Fix the build on armhf; update the watch file and the standards version to the latest release.",
];

function docs(n: number, seed: number): string[] {
  return Array.from({ length: n }, (_, i) => `${TEXT[(i + seed) % 3]} (${i})`);
}

/** The stand-in files, in a fresh temp dir; returns the dir and a paper-shaped config pointing at them. */
async function standIns() {
  const dir = await Deno.makeTempDir({ prefix: "chi-plan-" });
  const tok = trainBpe(docs(30, 0), 280);
  await Deno.writeTextFile(join(dir, "tokenizer.json"), tok.toHfJson());
  await buildShard(docs(40, 0), tok, join(dir, "base"), { source: "test base" });
  await buildShard(docs(10, 1), tok, join(dir, "alpha"), { source: "test alpha" });
  await Deno.writeTextFile(
    join(dir, "beta.jsonl"),
    docs(10, 2).map((text) => JSON.stringify({ text }) + "\n").join(""),
  );
  await Deno.mkdir(join(dir, "checkpoints"));
  for (const step of [0, 10]) {
    await saveCheckpoint(checkpointPath(join(dir, "checkpoints"), step), MODEL, initParams(MODEL, step), {
      step,
    });
  }
  await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(MODEL));
  const raw = {
    name: "plan-test",
    out: join(dir, "out"),
    report: join(dir, "report", "index.html"),
    model: join(dir, "model.json"),
    checkpoints: join(dir, "checkpoints"),
    data: {
      tokenizer: join(dir, "tokenizer.json"),
      base: join(dir, "base.tokens"),
      probes: { alpha: join(dir, "alpha.tokens"), beta: { path: join(dir, "beta.jsonl"), field: "text" } },
    },
    deltaH: 0.1,
    select: "all",
    restrictions: "heads",
    sgld: { eps: 0.001, nbeta: 30, gamma: 300, chains: 2, draws: 3, burnIn: 0, batchSize: 4, seqLen: 16 },
    perToken: { contexts: 2, chains: 2, draws: 5, batchSize: 2 },
  };
  return { dir, raw };
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(e.name);
    if (e.isDirectory) { for (const f of await listTree(join(dir, e.name))) out.push(`${e.name}/${f}`); }
  }
  return out.sort();
}

Deno.test("sweep --plan: stand-in files give the hand-counted work and an estimate, and nothing is written", async () => {
  const { dir, raw } = await standIns();
  try {
    const before = await listTree(dir);
    const cfg = await parseSweepConfig(raw, "stand-in.json");
    const plan = await planSweep(cfg, { gpu: getGpu, budgetSeconds: 0 });
    const w = plan.work;
    // Hand count. Restrictions: full, 0:0, 0:1 (3; 2 heads). Units: a chi unit per checkpoint (2), one per-token, one
    // ablation. SGLD steps: 2 checkpoints × 3 draws, + 5 per-token draws.
    assert.deepStrictEqual(plan.restrictions, ["full", "0:0", "0:1"]);
    assert.deepStrictEqual(w.units, { chi: 2, perToken: 1, ablation: 1, total: 4 });
    assert.deepStrictEqual(w.sgldSteps, { chi: 6, perToken: 5, total: 11 });
    assert.equal(w.chiStep.motions.length, 7); // 3 restrictions × 2 chains + the paired run's still copy at w*
    assert.equal(w.perTokenStep.motions.length, 6);
    // Forward FLOPs per token, L·(fM + fA) + fU with fM = 2·4·D·H·E = 2048, fA = 2·2·(T/2)·H·E = 512 and
    // fU = 2·D·V = 9600: f = 12160.
    const f = 12160;
    assert.equal(w.forwardFlopsPerToken, f);
    // Per token, forward + backward: a full copy 3f = 36480; a head copy (its layer is the only one) the forward
    // f and the backward fU + (fM/4 + 2fA + fM)/H = 11392 (H = 2); the still copy only the unembedding fU = 9600 (its
    // residual stream comes from the representative: itself, which computes the layer, fM + fA = 2560).
    // Forward only: 6f + 9600 + 2560.
    const chiFwdBwd = 2 * 36480 + 4 * (f + 11392) + 9600 + 2560; // 179328
    const chiFwd = 6 * f + 9600 + 2560; // 85120
    // A chi step: 4 fwd+bwd rows and 2 probes × ⌈0.1·4⌉ = 1 replaced row forward, 16 tokens each; a unit is 3
    // steps plus L0 (2 chains × 4 rows at w*); two units.
    assert.equal(w.flops.chi, 2 * (3 * 16 * (4 * chiFwdBwd + 2 * chiFwd) + 8 * 16 * f));
    // A per-token step (6 copies, no still copy): 2 fwd+bwd rows, then 2 probes × (⌈0.2⌉ = 1 + 2 contexts) rows
    // forward; 5 steps plus L0 (2 chains × 2 rows).
    const ptFwdBwd = 2 * 36480 + 4 * (f + 11392); // 167168
    assert.equal(w.flops.perToken, 5 * 16 * (2 * ptFwdBwd + 6 * 6 * f) + 4 * 16 * f);
    // Ablation: 2 probes × 2 contexts × 16 tokens, unablated and with each of 2 heads zeroed.
    assert.equal(w.flops.ablation, 2 * 2 * 16 * 3 * f);
    assert.equal(w.flops.total, w.flops.chi + w.flops.perToken + w.flops.ablation);
    assert.deepStrictEqual(plan.checkpoints?.steps, [0, 10]);
    // Inputs: the shards' exact counts, the JSONL counted (to what it needs at least: 2 contexts × 16 tokens).
    assert.deepStrictEqual(plan.inputs.map((i) => [i.name, i.needed]), [["base", 64], ["alpha", 32], [
      "beta",
      32,
    ]]);
    assert.ok(plan.inputs.every((i) => i.tokens >= i.needed));
    const e = plan.estimate!;
    assert.ok(e.totalSeconds > 0 && Number.isFinite(e.totalSeconds));
    assert.ok(Math.abs(e.chi.seconds - w.flops.chi / e.chi.flopsPerSecond) < 1e-9 * e.chi.seconds);
    const text = formatPlan(cfg, plan).join("\n");
    assert.match(text, /work: 4 units \(2 chi, 1 per-token, 1 ablation\)/);
    assert.match(text, /SGLD steps: 6 chi \(2 × 3\) \+ 5 per-token = 11/);
    assert.match(text, /estimate on .+: /);
    assert.match(text, /how: timed SGLD steps/);
    assert.deepStrictEqual(await listTree(dir), before, "--plan wrote nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** planSweep's error for `raw`, which must be one line and satisfy `check`. */
async function refused(raw: unknown, check: (e: Error) => boolean): Promise<void> {
  const cfg = await parseSweepConfig(raw, "stand-in.json");
  await assert.rejects(() => planSweep(cfg, { estimate: false, source: "stand-in.json" }), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    if (e instanceof SweepConfigError) assert.ok(e.message.startsWith("stand-in.json: field"), e.message);
    assert.ok(check(e), e.message);
    return true;
  });
}

Deno.test("sweep --plan: bad stand-ins are refused with one line naming the file or field", async () => {
  const { dir, raw } = await standIns();
  try {
    await refused(
      { ...raw, data: { ...raw.data, probes: { ...raw.data.probes, alpha: join(dir, "missing.tokens") } } },
      (e) =>
        e instanceof SweepConfigError && e.field === "data.probes.alpha" && e.message.includes("missing"),
    );
    // A checkpoint of another model (d_model 32) among the selected ones.
    const other = { ...MODEL, d_model: 32, d_head: 16 };
    await saveCheckpoint(checkpointPath(join(dir, "checkpoints"), 20), other, initParams(other, 1), {
      step: 20,
    });
    await refused(
      raw,
      (e) =>
        e instanceof CheckpointError && e.message.includes("step_0000020") && e.message.includes("d_model"),
    );
    await Deno.remove(checkpointPath(join(dir, "checkpoints"), 20));
    // A probe too short for its per-token contexts (one short document; 2 × 16 tokens needed).
    await Deno.writeTextFile(join(dir, "short.jsonl"), JSON.stringify({ text: "Fix." }) + "\n");
    await refused(
      { ...raw, data: { ...raw.data, probes: { alpha: join(dir, "short.jsonl") } } },
      (e) =>
        e instanceof SweepConfigError && e.field === "data.probes.alpha" && e.message.includes("fewer than"),
    );
    // A shard made by another tokenizer than data.tokenizer.
    const tok2 = trainBpe(docs(30, 1), 270);
    await buildShard(docs(10, 1), tok2, join(dir, "other"), { source: "other tokenizer" });
    await refused(
      { ...raw, data: { ...raw.data, probes: { alpha: join(dir, "other.tokens") } } },
      (e) =>
        e instanceof SweepConfigError && e.field === "data.probes.alpha" &&
        e.message.includes("another tokenizer"),
    );
    // Per-token contexts chosen as documents: 12 asked for, the probes have 10 documents each.
    await refused(
      { ...raw, perToken: { ...raw.perToken, contexts: 12, contextChoice: "documents" } },
      (e) =>
        e instanceof SweepConfigError && e.field === "data.probes.alpha" &&
        e.message.includes("10 documents"),
    );
    // A checkpoint folder that is not there.
    await refused(
      { ...raw, checkpoints: join(dir, "nowhere") },
      (e) => e instanceof SweepConfigError && e.field === "checkpoints" && e.message.includes("nowhere"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatSamplingWork: the scripts' work line counts steps × copies × FLOPs as the plan does", () => {
  // "full" alone, 1 chain, unpaired, batch 1, no probes, one step of the paper model at T = 1024: forward +
  // backward of 1024 tokens, 3 · 1024 · 4,657,152 FLOP = 1.43e10 = 0.0143 TFLOP.
  const sgld = { chains: 1, batchSize: 1, burnIn: 0, draws: 1, stepsBetweenDraws: 1, paired: false };
  const one = formatSamplingWork(PAPER_CONFIG, 1024, 0.1, 1, {
    sgld,
    restrictions: ["full"],
    probes: 0,
    contexts: 0,
  });
  assert.equal(one, "work: 1 × 1 SGLD steps of 1 copies × batch 1, T 1024: 0.0143 TFLOP");
  // A head restriction samples "full" too (2 copies) and pairing adds the still copy (3); 2 units × (2 burn-in
  // + 1 draw × 3 thinning) = 2 × 5 steps. Per token (lib/model/flops.ts): full 3f = 13,971,456; head 0:0 the
  // forward f and the backward fU + (fM + 2fA) + (fM/4 + 2fA + fM)/8 = 4,345,856; the still copy fU = 2,560,000
  // and, as the representative, both layers below it (2 · 1,048,576): 27,631,616 · 1024 tokens · 10 steps.
  const paired = { ...sgld, burnIn: 2, stepsBetweenDraws: 3, paired: true };
  const more = formatSamplingWork(PAPER_CONFIG, 1024, 0.1, 2, {
    sgld: paired,
    restrictions: ["0:0"],
    probes: 0,
    contexts: 0,
  });
  assert.match(more, /^work: 2 × 5 SGLD steps of 3 copies × batch 1, T 1024: 0\.283 TFLOP$/);
});

Deno.test("sweepWork: thinning multiplies the SGLD steps of chi and per-token units (draws × stepsBetweenDraws)", () => {
  const shape = {
    model: PAPER_CONFIG,
    checkpoints: 2,
    probes: 1,
    restrictions: ["full", "0:0", "1:0"],
    deltaH: 0.1,
    seqLen: 16,
    sgld: { chains: 2, draws: 10, burnIn: 5, batchSize: 4, paired: false },
    perToken: { enabled: true, ablation: false, contexts: 1, chains: 2, draws: 4, batchSize: 4 },
  };
  const plain = sweepWork(shape);
  assert.deepStrictEqual(plain.sgldSteps, { chi: 2 * (5 + 10), perToken: 5 + 4, total: 39 });
  const thinned = sweepWork({ ...shape, sgld: { ...shape.sgld, stepsBetweenDraws: 3 } });
  assert.deepStrictEqual(thinned.sgldSteps, { chi: 2 * (5 + 30), perToken: 5 + 12, total: 87 });
});
