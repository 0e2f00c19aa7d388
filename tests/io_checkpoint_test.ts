import assert from "node:assert/strict";
import { ConfigError, type ModelConfig, PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import { paramLayout } from "../lib/model/params.ts";
import {
  CHECKPOINT_FORMAT,
  CheckpointError,
  checkpointPath,
  configFromJson,
  listCheckpoints,
  loadCheckpoint,
  loadTrainState,
  saveCheckpoint,
  saveTrainState,
  type TrainState,
} from "../lib/model/checkpoint.ts";
import { readSafetensors } from "../lib/model/safetensors.ts";
import { rng } from "./support/random.ts";

/** Deterministic parameters (padding left zero), distinct per element so misplaced tensors are caught. */
function fakeParams(cfg: ModelConfig, seed = 1): Float32Array {
  const layout = paramLayout(cfg);
  const p = new Float32Array(layout.stride);
  const r = rng(seed);
  for (const t of layout.tensors) {
    for (let i = 0; i < t.size; i++) p[t.offset + i] = r() - 0.5;
  }
  return p;
}

/** A hand-built safetensors file (like one converted from a TransformerLens .pth), any dtypes. */
function buildFile(
  tensors: Array<[string, string, number[], Uint8Array]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, dtype, shape, bytes] of tensors) {
    header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
    off += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [, , , bytes] of tensors) {
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** The TransformerLens state dict of a config as a hand-built file, with IGNORE and mask buffers. */
function transformerLensFile(cfg: ModelConfig, params: Float32Array, opts: {
  drop?: string;
  reshape?: [string, number[]];
  add?: Array<[string, string, number[], Uint8Array]>;
} = {}): Uint8Array {
  const layout = paramLayout(cfg);
  const tensors: Array<[string, string, number[], Uint8Array]> = [];
  for (const t of layout.tensors) {
    if (t.name === opts.drop) continue;
    const shape = opts.reshape?.[0] === t.name ? opts.reshape[1] : [...t.shape];
    tensors.push([t.name, "F32", shape, f32Bytes(params.subarray(t.offset, t.offset + t.size))]);
    if (t.name.endsWith("attn.b_O")) {
      const prefix = t.name.slice(0, -"b_O".length);
      tensors.push([`${prefix}IGNORE`, "F32", [], f32Bytes(Float32Array.of(-Infinity))]);
      const mask = new Uint8Array(cfg.n_ctx * cfg.n_ctx);
      for (let i = 0; i < cfg.n_ctx; i++) for (let j = 0; j <= i; j++) mask[i * cfg.n_ctx + j] = 1;
      tensors.push([`${prefix}mask`, "BOOL", [cfg.n_ctx, cfg.n_ctx], mask]);
    }
  }
  tensors.push(...(opts.add ?? []));
  return buildFile(tensors);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chi_ckpt_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejectsNaming(p: Promise<unknown>, file: string, ...fragments: string[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CheckpointError || err instanceof ConfigError, `unexpected error type: ${err}`);
    assert.ok(err.message.includes(file), `message should name ${file}: ${err.message}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `"${f}" not in: ${err.message}`);
    return true;
  });
}

Deno.test("checkpointPath: step padded to 7 digits", () => {
  assert.equal(checkpointPath("runs/a/", 100), "runs/a/step_0000100.safetensors");
  assert.equal(checkpointPath("d", 49900), "d/step_0049900.safetensors");
  assert.throws(() => checkpointPath("d", -1), RangeError);
});

Deno.test("saveCheckpoint/loadCheckpoint: TINY_CONFIG round-trips exactly with metadata and TL names", async () => {
  await withDir(async (dir) => {
    const params = fakeParams(TINY_CONFIG);
    const path = checkpointPath(dir, 1234);
    await saveCheckpoint(path, TINY_CONFIG, params, { step: 1234, extra: { run: "unit" } });
    const file = await readSafetensors(path);
    assert.equal(file.metadata.format, CHECKPOINT_FORMAT);
    assert.equal(file.metadata.step, "1234");
    assert.deepEqual(JSON.parse(file.metadata.config), TINY_CONFIG);
    const layout = paramLayout(TINY_CONFIG);
    assert.deepEqual(file.names(), layout.tensors.map((t) => t.name));
    assert.deepEqual(file.entry("blocks.1.attn.W_O").shape, [4, 16, 64]);
    const got = await loadCheckpoint(path);
    assert.deepEqual(got.config, TINY_CONFIG);
    assert.equal(got.configSource, "metadata");
    assert.equal(got.step, 1234);
    assert.equal(got.metadata.run, "unit");
    assert.deepEqual(got.warnings, []);
    assert.deepEqual(got.params, params);
    // Loading with the same expected config is fine.
    assert.deepEqual((await loadCheckpoint(path, { ...TINY_CONFIG })).params, params);
  });
});

Deno.test("saveCheckpoint/loadCheckpoint: PAPER_CONFIG layout (3,355,016 parameters) round-trips", async () => {
  await withDir(async (dir) => {
    const layout = paramLayout(PAPER_CONFIG);
    assert.equal(layout.count, 3_355_016);
    const params = fakeParams(PAPER_CONFIG, 7);
    const path = checkpointPath(dir, 49900);
    await saveCheckpoint(path, PAPER_CONFIG, params, { step: 49900 });
    assert.equal((await Deno.stat(path)).size > 3_355_016 * 4, true);
    const got = await loadCheckpoint(path, PAPER_CONFIG);
    assert.equal(got.step, 49900);
    assert.deepEqual(got.config, PAPER_CONFIG);
    assert.equal(got.params.length, layout.stride);
    for (let i = 0; i < params.length; i++) {
      if (got.params[i] !== params[i]) assert.fail(`element ${i}: ${got.params[i]} vs ${params[i]}`);
    }
  });
});

Deno.test("saveCheckpoint: refuses a wrong-length or non-finite parameter buffer", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/x.safetensors`;
    const stride = paramLayout(TINY_CONFIG).stride;
    await rejectsNaming(
      saveCheckpoint(path, TINY_CONFIG, new Float32Array(stride - 4), { step: 0 }),
      path,
      `expected ${stride} elements`,
    );
    const p = fakeParams(TINY_CONFIG);
    p[17] = NaN;
    await rejectsNaming(saveCheckpoint(path, TINY_CONFIG, p, { step: 0 }), path, "element 17 is NaN");
    await rejectsNaming(
      saveCheckpoint(path, TINY_CONFIG, fakeParams(TINY_CONFIG), { step: 0, extra: { step: "9" } }),
      path,
      `"step" is reserved`,
    );
  });
});

Deno.test("loadCheckpoint: a converted TransformerLens file needs a config; buffers are skipped with warnings", async () => {
  await withDir(async (dir) => {
    const params = fakeParams(TINY_CONFIG, 3);
    const path = `${dir}/checkpoint_0000100.safetensors`;
    await Deno.writeFile(path, transformerLensFile(TINY_CONFIG, params));
    await rejectsNaming(loadCheckpoint(path), path, "no model config", "config.json");
    const got = await loadCheckpoint(path, TINY_CONFIG);
    assert.equal(got.configSource, "argument");
    assert.equal(got.step, 100);
    assert.deepEqual(got.params, params);
    assert.equal(got.warnings.length, 4);
    assert.ok(got.warnings.some((w) => w.includes('"blocks.0.attn.IGNORE"')));
    assert.ok(got.warnings.some((w) => w.includes('"blocks.1.attn.mask" (BOOL [64, 64])')));
    // A TransformerLens config dump beside it provides the config.
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        n_layers: 2,
        d_model: 64,
        n_ctx: 64,
        d_head: 16,
        n_heads: 4,
        d_vocab: 512,
        d_mlp: null,
        act_fn: null,
        normalization_type: "LN",
        attn_only: true,
        positional_embedding_type: "shortformer",
        attention_dir: "causal",
        seed: 0,
      }),
    );
    const viaJson = await loadCheckpoint(path);
    assert.equal(viaJson.configSource, "config.json");
    assert.deepEqual(viaJson.config, TINY_CONFIG);
    assert.deepEqual(viaJson.params, params);
  });
});

Deno.test("loadCheckpoint: missing tensor, wrong shape, unexpected parameter and config mismatch are errors", async () => {
  await withDir(async (dir) => {
    const params = fakeParams(TINY_CONFIG);
    const missing = `${dir}/missing.safetensors`;
    await Deno.writeFile(missing, transformerLensFile(TINY_CONFIG, params, { drop: "blocks.1.attn.W_K" }));
    await rejectsNaming(
      loadCheckpoint(missing, TINY_CONFIG),
      missing,
      'tensor "blocks.1.attn.W_K"',
      "missing parameter",
      "expected shape [4, 64, 16]",
    );
    const wrong = `${dir}/wrong.safetensors`;
    await Deno.writeFile(
      wrong,
      transformerLensFile(TINY_CONFIG, params, { reshape: ["blocks.0.attn.W_Q", [4, 16, 64]] }),
    );
    await rejectsNaming(
      loadCheckpoint(wrong, TINY_CONFIG),
      wrong,
      'tensor "blocks.0.attn.W_Q"',
      "wrong shape: expected [4, 64, 16], found [4, 16, 64]",
    );
    const extra = `${dir}/extra.safetensors`;
    await Deno.writeFile(
      extra,
      transformerLensFile(TINY_CONFIG, params, {
        add: [["blocks.0.mlp.W_in", "F32", [2], f32Bytes(Float32Array.of(1, 2))]],
      }),
    );
    await rejectsNaming(
      loadCheckpoint(extra, TINY_CONFIG),
      extra,
      'tensor "blocks.0.mlp.W_in"',
      "unexpected parameter tensor",
    );
    // A checkpoint saved with metadata, loaded while expecting another config.
    const saved = checkpointPath(dir, 5);
    await saveCheckpoint(saved, TINY_CONFIG, params, { step: 5 });
    await rejectsNaming(
      loadCheckpoint(saved, { ...TINY_CONFIG, n_ctx: 32, d_vocab: 100 }),
      saved,
      "config mismatch",
      "n_ctx: 64 vs 32",
      "d_vocab: 512 vs 100",
    );
    // A file of a bigger model loaded as a smaller one: the extra layer is an error, not silently dropped.
    const big: ModelConfig = { ...TINY_CONFIG, n_layers: 3 };
    const bigPath = `${dir}/big.safetensors`;
    await Deno.writeFile(bigPath, transformerLensFile(big, fakeParams(big)));
    await rejectsNaming(
      loadCheckpoint(bigPath, TINY_CONFIG),
      bigPath,
      'tensor "blocks.2.',
      "unexpected parameter tensor",
    );
    // Non-finite parameter values.
    const nanParams = params.slice();
    nanParams[paramLayout(TINY_CONFIG).byName.get("unembed.b_U")!.offset + 3] = Infinity;
    const nanPath = `${dir}/nan.safetensors`;
    await Deno.writeFile(nanPath, transformerLensFile(TINY_CONFIG, nanParams));
    await rejectsNaming(loadCheckpoint(nanPath, TINY_CONFIG), nanPath, 'tensor "unembed.b_U"', "element 3");
  });
});

Deno.test("saveCheckpoint: writeConfigJson writes config.json and refuses a folder of another model", async () => {
  await withDir(async (dir) => {
    await saveCheckpoint(checkpointPath(dir, 0), TINY_CONFIG, fakeParams(TINY_CONFIG), {
      step: 0,
      writeConfigJson: true,
    });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/config.json`)), TINY_CONFIG);
    await saveCheckpoint(checkpointPath(dir, 10), TINY_CONFIG, fakeParams(TINY_CONFIG), {
      step: 10,
      writeConfigJson: true,
    });
    const other: ModelConfig = { ...TINY_CONFIG, n_layers: 1 };
    await rejectsNaming(
      saveCheckpoint(checkpointPath(dir, 20), other, fakeParams(other), { step: 20, writeConfigJson: true }),
      "step_0000020",
      "describes a different model",
      "n_layers: 2 vs 1",
    );
  });
});

Deno.test("configFromJson: chi configs need every field; TransformerLens configs must be attention-only", () => {
  assert.throws(() => configFromJson({ n_layers: 2 }, "c.json"), /c\.json: missing field/);
  assert.throws(
    () => configFromJson({ ...TINY_CONFIG, normalization: undefined }, "c.json"),
    /"normalization": c\.json: missing field/,
  );
  assert.throws(
    () =>
      configFromJson({
        n_layers: 2,
        d_model: 64,
        n_ctx: 64,
        d_head: 16,
        n_heads: 4,
        d_vocab: 512,
        attn_only: false,
        normalization_type: "LN",
      }, "tl.json"),
    /tl\.json: only attention-only models are supported/,
  );
  const none = configFromJson({
    n_layers: 1,
    d_model: 8,
    n_ctx: 4,
    d_head: 4,
    n_heads: 2,
    d_vocab: 10,
    attn_only: true,
    normalization_type: null,
  }, "tl.json");
  assert.equal(none.normalization, "none");
  assert.equal(none.positional, "standard");
});

Deno.test("listCheckpoints: sorted by step, ignores other files, refuses duplicates", async () => {
  await withDir(async (dir) => {
    for (const s of [1000, 0, 25, 49900]) await Deno.writeFile(checkpointPath(dir, s), new Uint8Array(0));
    await Deno.writeTextFile(`${dir}/config.json`, "{}");
    await Deno.writeTextFile(`${dir}/step_12.safetensors.123.tmp`, "");
    assert.deepEqual(await listCheckpoints(dir), [
      { step: 0, path: `${dir}/step_0000000.safetensors` },
      { step: 25, path: `${dir}/step_0000025.safetensors` },
      { step: 1000, path: `${dir}/step_0001000.safetensors` },
      { step: 49900, path: `${dir}/step_0049900.safetensors` },
    ]);
    await Deno.writeFile(`${dir}/checkpoint_0000025.safetensors`, new Uint8Array(0));
    await rejectsNaming(listCheckpoints(dir), dir, "two checkpoints for step 25");
    await rejectsNaming(listCheckpoints(`${dir}/nope`), `${dir}/nope`, "checkpoint folder not found");
  });
});

Deno.test("saveTrainState/loadTrainState: round-trip exactly; a train state is not a checkpoint", async () => {
  await withDir(async (dir) => {
    const stride = paramLayout(TINY_CONFIG).stride;
    const state: TrainState = {
      config: { ...TINY_CONFIG },
      step: 777,
      params: fakeParams(TINY_CONFIG, 1),
      adamM: fakeParams(TINY_CONFIG, 2),
      adamV: fakeParams(TINY_CONFIG, 3).map(Math.abs),
      rngState: Uint32Array.of(0xdeadbeef, 1, 2, 0xffffffff),
      dataCursor: 2 ** 40 + 3,
      lossHistory: Float64Array.of(8.5, 7.25, Math.PI),
      extra: { note: "resume" },
    };
    const path = `${dir}/train_state.safetensors`;
    await saveTrainState(path, state);
    const got = await loadTrainState(path, TINY_CONFIG);
    assert.deepEqual(got, state);
    assert.equal(got.params.length, stride);
    await rejectsNaming(loadCheckpoint(path), path, "is a training state");
    const ckpt = checkpointPath(dir, 1);
    await saveCheckpoint(ckpt, TINY_CONFIG, state.params, { step: 1 });
    await rejectsNaming(loadTrainState(ckpt), ckpt, "not a chi training state");
    await rejectsNaming(
      loadTrainState(path, { ...TINY_CONFIG, d_vocab: 256 }),
      path,
      "config mismatch",
      "d_vocab: 512 vs 256",
    );
    await rejectsNaming(
      saveTrainState(path, { ...state, adamV: new Float32Array(3) }),
      path,
      'tensor "adam.v"',
      `expected ${stride} elements`,
    );
  });
});
