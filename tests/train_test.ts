/**
 * Training (lib/train/train.ts): a tiny model overfits one fixed batch; an interrupted run resumed from its
 * training state ends with the same weights, losses and checkpoints as an uninterrupted one.
 */
import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import type { ModelConfig } from "../lib/model/config.ts";
import { listCheckpoints, loadCheckpoint } from "../lib/model/checkpoint.ts";
import { train, TRAIN_DEFAULTS, TrainError, type TrainOptions } from "../lib/train/train.ts";
import { Rng } from "../lib/util/random.ts";

const gpu = await getGpu();

const CFG: ModelConfig = {
  n_layers: 2,
  n_heads: 2,
  d_model: 32,
  d_head: 16,
  n_ctx: 16,
  d_vocab: 50,
  normalization: "LN",
  positional: "shortformer",
};

function tokens(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(CFG.d_vocab));
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "chi_train_" });
}

Deno.test("train: a tiny model overfits one fixed batch of random tokens below 0.5 nats (from ≈ 4.2)", async () => {
  const dir = await tempDir();
  const fixed = tokens(4 * 16, 1);
  const opts: TrainOptions = {
    ...TRAIN_DEFAULTS,
    steps: 300,
    batch: 4,
    seqLen: 16,
    lr: 3e-3,
    warmup: 10,
    weightDecay: 0,
    logCheckpoints: 3,
    logEvery: 50,
  };
  const res = await train(gpu, CFG, () => fixed, opts, dir);
  const first = res.losses[0], last = res.losses[opts.steps - 1];
  console.log(
    `overfit: loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${opts.steps} steps, ` +
      `${res.tokensPerSecond.toFixed(0)} tokens/s`,
  );
  // Untrained: ln V plus the logit-variance term d_model·σ²/2 = 0.32 of the N(0, 0.8²/d_model) init.
  const expected = Math.log(CFG.d_vocab) + 0.32;
  assert.ok(Math.abs(first - expected) < 0.15, `initial loss ${first} far from ${expected}`);
  assert.ok(last < 0.5, `final loss ${last} not below 0.5`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train: an interrupted run resumes to the same weights, losses and checkpoints", async () => {
  const opts: TrainOptions = {
    ...TRAIN_DEFAULTS,
    steps: 40,
    batch: 2,
    seqLen: 16,
    warmup: 5,
    logCheckpoints: 6,
    logEvery: 4,
    stateEvery: 8,
  };
  const batches = (s: number) => tokens(2 * 16, 100 + s);
  const a = await tempDir();
  const full = await train(gpu, CFG, batches, opts, a);

  const b = await tempDir();
  class Interrupt extends Error {}
  await assert.rejects(
    train(
      gpu,
      CFG,
      (s) => {
        if (s === 23) throw new Interrupt(); // the last state was saved with the checkpoint of step 19
        return batches(s);
      },
      opts,
      b,
    ),
    Interrupt,
  );
  const resumed = await train(gpu, CFG, batches, opts, b);
  assert.equal(resumed.resumedFrom, 19);
  assert.deepEqual(Array.from(resumed.losses), Array.from(full.losses));
  const ca = await listCheckpoints(`${a}/checkpoints`), cb = await listCheckpoints(`${b}/checkpoints`);
  assert.deepEqual(cb.map((c) => c.step), ca.map((c) => c.step));
  for (let i = 0; i < ca.length; i++) {
    const [pa, pb] = [await loadCheckpoint(ca[i].path), await loadCheckpoint(cb[i].path)];
    assert.deepEqual(pb.params, pa.params, `checkpoint of step ${ca[i].step} differs`);
  }
  console.log(`resume: checkpoints at ${ca.map((c) => c.step).join(", ")} identical after resuming at 19`);

  // Resuming with other options is refused, naming the file.
  await assert.rejects(train(gpu, CFG, batches, { ...opts, lr: 2e-3 }, b), TrainError);
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});
