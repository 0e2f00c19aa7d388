/**
 * Writes what `bench/torch_reference.py --check DIR` compares against: a chi checkpoint of the tiny model
 * (random init, safetensors), a token batch, and chi's float64 reference loss and gradient on them
 * (lib/model/reference.ts). The manual correctness check of the PyTorch side by side (issue 12): if the two
 * models disagree, chi / PyTorch compares different computations. Not a test: CI has no PyTorch.
 *
 *   deno run --allow-read=.,/tmp --allow-write=/tmp bench/torch_check_fixture.ts /tmp/chi-torch-check
 *   /usr/bin/python3 bench/torch_reference.py --check /tmp/chi-torch-check
 */
import { TINY_CONFIG } from "../lib/model/config.ts";
import { initParams } from "../lib/model/init.ts";
import { saveCheckpoint } from "../lib/model/checkpoint.ts";
import { referenceForwardBackward } from "../lib/model/reference.ts";
import { Rng } from "../lib/util/random.ts";

const dir = Deno.args[0] ?? "/tmp/chi-torch-check";
await Deno.mkdir(dir, { recursive: true });
const cfg = TINY_CONFIG;
const B = 3, T = 48;
const params = initParams(cfg, 7);
// Non-trivial LayerNorm weights and biases: the default init (w = 1, b = 0) would hide a swapped pair.
const rng = new Rng(11);
for (let i = 0; i < params.length; i++) params[i] += 0.01 * (rng.int(200) - 100) / 100;
const tokens = Int32Array.from({ length: B * T }, () => rng.int(cfg.d_vocab));
await saveCheckpoint(`${dir}/model.safetensors`, cfg, params, { step: 0 });
const ref = referenceForwardBackward(cfg, Float64Array.from(params), tokens, B, T, true);
await Deno.writeFile(`${dir}/tokens.bin`, new Uint8Array(tokens.buffer));
await Deno.writeFile(`${dir}/grads.bin`, new Uint8Array(ref.grads!.buffer));
await Deno.writeTextFile(
  `${dir}/expected.json`,
  JSON.stringify({ config: cfg, batch: B, seq_len: T, loss: ref.loss }, null, 1) + "\n",
);
console.log(`wrote ${dir}: tiny model, ${B}×${T} tokens, chi reference loss ${ref.loss}`);
