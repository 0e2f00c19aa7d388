/**
 * torch.save files read without Python: every fixture in tests/fixtures/pth was written by PyTorch itself
 * (make_fixtures.py there), with the expected tensors written by Python alone beside them.
 */
import assert from "node:assert/strict";
import { type ModelConfig, PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import {
  CheckpointError,
  listCheckpoints,
  loadCheckpoint,
  type LoadedCheckpoint,
  skippedNote,
} from "../lib/model/checkpoint.ts";
import { parsePth, PthError, type PthTensor, readPth } from "../lib/model/pth.ts";
import { encodeSafetensors, readSafetensors } from "../lib/model/safetensors.ts";
import { convertCheckpoint } from "../lib/model/convert.ts";
import { referenceForwardBackward } from "../lib/model/reference.ts";
import { flagModel, UsageError } from "../lib/util/cli.ts";
import { parseSweepConfig } from "../lib/sweep/config.ts";
import { prepareCheckpoints } from "../lib/sweep/prepare.ts";

const FIXTURES = new URL("./fixtures/pth/", import.meta.url).pathname;

/** The micro model of make_fixtures.py. */
const MICRO: ModelConfig = {
  n_layers: 2,
  n_heads: 2,
  d_model: 8,
  d_head: 4,
  n_ctx: 8,
  d_vocab: 16,
  normalization: "LN",
  positional: "shortformer",
};

const VALID = [
  "plain",
  "nested_model",
  "nested_state_dict",
  "tl_buffers",
  "float16",
  "bfloat16",
  "float64",
  "strided",
];

function bytesOf(t: PthTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Bit patterns, so that -0 vs 0 or NaN payloads would count as differences. */
function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chi_pth_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function rejectsWith(
  p: Promise<unknown> | (() => unknown),
  type: new (...a: never[]) => Error,
  ...fragments: string[]
) {
  const check = (err: unknown) => {
    assert.ok(err instanceof type, `expected a ${type.name}, got ${err}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `"${f}" not in: ${err.message}`);
    assert.ok(!err.message.includes("\n"), `one line expected: ${err.message}`);
    return true;
  };
  return typeof p === "function" ? assert.throws(p, check) : assert.rejects(p, check);
}

Deno.test("readPth: every form's tensors equal Python's contiguous export bit for bit", async () => {
  for (const name of VALID) {
    const sd = await readPth(`${FIXTURES}${name}.pth`);
    const expected = await readSafetensors(`${FIXTURES}${name}.expected.safetensors`);
    const params = sd.tensors.filter((t) => !/\.(mask|IGNORE)$/.test(t.name));
    assert.deepEqual(params.map((t) => t.name), expected.entries.map((e) => e.name), name);
    for (const t of params) {
      const e = expected.entry(t.name);
      assert.equal(t.dtype, e.dtype, `${name} ${t.name}`);
      assert.deepEqual(t.shape, [...e.shape], `${name} ${t.name}`);
      assert.deepEqual(bytesOf(t), expected.raw(t.name), `${name} ${t.name}: bytes differ`);
    }
    const key = name === "nested_model" ? "model" : name === "nested_state_dict" ? "state_dict" : null;
    assert.equal(sd.key, key, name);
  }
});

Deno.test("readPth: non-contiguous views (transposed, offset into a fused storage, strided, expanded)", async () => {
  const sd = await readPth(`${FIXTURES}strided.pth`);
  const get = (n: string) => sd.tensors.find((t) => t.name === n)!;
  // ln_final.w was torch.tensor([1.25]).expand(8): one stored element, stride 0.
  assert.deepEqual([...(get("ln_final.w").data as Float32Array)], new Array(8).fill(1.25));
  // W_Q, W_K, W_V of a layer are consecutive slices of one storage: all different, none all-zero.
  const q = bytesOf(get("blocks.0.attn.W_Q")), k = bytesOf(get("blocks.0.attn.W_K"));
  assert.notDeepEqual(q, k);
  assert.deepEqual(get("unembed.W_U").shape, [8, 16]);
});

Deno.test("loadCheckpoint: a .pth gives the same parameters as the safetensors route; TL buffers are one note", async () => {
  for (const name of VALID) {
    const viaPth = await loadCheckpoint(`${FIXTURES}${name}.pth`, MICRO);
    const viaSt = await loadCheckpoint(`${FIXTURES}${name}.expected.safetensors`, MICRO);
    assert.equal(viaPth.configSource, "argument");
    assert.deepEqual(bits(viaPth.params), bits(viaSt.params), name);
    assert.equal(viaPth.warnings.length, name === "tl_buffers" ? 4 : 0, name);
  }
  const tl = await loadCheckpoint(`${FIXTURES}tl_buffers.pth`, MICRO);
  const note = skippedNote("tl_buffers.pth", tl)!;
  assert.match(note, /^tl_buffers\.pth: skipped 4 non-parameter tensors \(TransformerLens buffers: /);
  assert.ok(note.includes("blocks.0.attn.mask") && note.includes("blocks.1.attn.IGNORE"), note);
  assert.equal(skippedNote("plain.pth", await loadCheckpoint(`${FIXTURES}plain.pth`, MICRO)), null);
  // float16 storages widen exactly: every value is an f16 value.
  const f16 = await loadCheckpoint(`${FIXTURES}float16.pth`, MICRO);
  assert.ok(f16.params.every((x) => Math.fround(x) === x && new Float16Array([x])[0] === x));
});

Deno.test("loadCheckpoint: a .pth without a config needs one; a wrong one is named", async () => {
  const path = `${FIXTURES}plain.pth`;
  await rejectsWith(loadCheckpoint(path), CheckpointError, path, "no model config", "--model");
  await rejectsWith(
    loadCheckpoint(path, TINY_CONFIG),
    CheckpointError,
    path,
    'tensor "embed.W_E"',
    "wrong shape",
  );
});

Deno.test("malformed .pth files: one clear error naming the file and what was found", async () => {
  const f = (n: string) => `${FIXTURES}${n}.pth`;
  await rejectsWith(readPth(f("truncated")), PthError, f("truncated"), "not a readable zip archive");
  await rejectsWith(
    readPth(f("bad_opcode")),
    PthError,
    f("bad_opcode"),
    "unsupported pickle opcode 0x8f (EMPTY_SET)",
  );
  await rejectsWith(
    readPth(f("complex_weight")),
    PthError,
    f("complex_weight"),
    'tensor "unembed.b_U"',
    "storage type torch.ComplexFloatStorage is not supported",
  );
  // An int64 weight reads (LongStorage is a storage chi knows) but is no parameter.
  await rejectsWith(
    loadCheckpoint(f("int64_weight"), MICRO),
    CheckpointError,
    f("int64_weight"),
    'tensor "embed.W_E"',
    "dtype I64",
  );
  await rejectsWith(readPth(f("absent")), PthError, f("absent"), "file not found");
  const st = encodeSafetensors({ w: { shape: [1], data: new Float32Array(1) } });
  rejectsWith(() => parsePth(st, "renamed.pth"), PthError, "renamed.pth", "not a torch.save zip archive");
  rejectsWith(() => parsePth(Uint8Array.of(0x80, 2, 0x8a, 10), "old.pth"), PthError, "old.pth", "legacy");
  // A truncated pickle inside a good zip: rebuild plain.pth's data.pkl cut short.
  const { unzipSync, zipSync } = await import("fflate");
  const entries = unzipSync(await Deno.readFile(f("plain")));
  entries["plain/data.pkl"] = entries["plain/data.pkl"].subarray(0, 300);
  rejectsWith(
    () => parsePth(zipSync(entries, { level: 0 }), "cut.pth"),
    PthError,
    "cut.pth",
    "data.pkl",
    "truncated",
  );
});

Deno.test("listCheckpoints: a folder of checkpoint_NNNNNNN.pth files maps to steps", async () => {
  await withDir(async (dir) => {
    await Deno.copyFile(`${FIXTURES}plain.pth`, `${dir}/checkpoint_0001000.pth`);
    await Deno.copyFile(`${FIXTURES}tl_buffers.pth`, `${dir}/checkpoint_0000000.pth`);
    await Deno.copyFile(`${FIXTURES}float16.pth`, `${dir}/step_0000020.pt`);
    await Deno.writeTextFile(`${dir}/notes.txt`, "");
    const list = await listCheckpoints(dir);
    assert.deepEqual(list.map((c) => c.step), [0, 20, 1000]);
    const last = await loadCheckpoint(list[2].path, MICRO);
    assert.equal(last.step, 1000);
    // convert: chi checkpoints with config and step in the metadata, loadable without a config.
    const out = `${dir}/converted`;
    for (const c of list) await convertCheckpoint(c.path, out, MICRO);
    const converted = await listCheckpoints(out);
    assert.deepEqual(converted.map((c) => c.step), [0, 20, 1000]);
    const back = await loadCheckpoint(converted[2].path);
    assert.equal(back.configSource, "metadata");
    assert.deepEqual(back.config, MICRO);
    assert.deepEqual(bits(back.params), bits(last.params));
    await rejectsWith(
      convertCheckpoint(`${FIXTURES}plain.pth`, out, MICRO),
      CheckpointError,
      "plain.pth",
      "no step",
    );
    assert.equal((await convertCheckpoint(`${FIXTURES}plain.pth`, out, MICRO, 7)).step, 7);
  });
});

Deno.test("paper config: a TransformerLens .pth (float16) gives the per-token losses of torch and of the safetensors route", async () => {
  const expected = JSON.parse(await Deno.readTextFile(`${FIXTURES}paper_tl.expected.json`)) as {
    sha256: Record<string, string>;
    dtype: Record<string, string>;
    tokens: number[];
    losses: number[];
  };
  const sd = await readPth(`${FIXTURES}paper_tl.pth`);
  const params = sd.tensors.filter((t) => !/\.(mask|IGNORE)$/.test(t.name));
  assert.deepEqual(params.map((t) => t.name), Object.keys(expected.sha256));
  for (const t of params) {
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", bytesOf(t) as Uint8Array<ArrayBuffer>),
    );
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(hex, expected.sha256[t.name], t.name);
    assert.equal(t.dtype, expected.dtype[t.name], t.name);
  }
  const viaPth = await loadCheckpoint(`${FIXTURES}paper_tl.pth`, PAPER_CONFIG);
  assert.equal(viaPth.warnings.length, 4);
  const tokens = Int32Array.from(expected.tokens);
  const losses = (ck: LoadedCheckpoint) =>
    referenceForwardBackward(ck.config, Float64Array.from(ck.params), tokens, 1, tokens.length, false)
      .tokenLosses;
  const got = losses(viaPth);
  for (let t = 0; t < expected.losses.length; t++) {
    assert.ok(
      Math.abs(got[t] - expected.losses[t]) <= 1e-9 * Math.max(1, expected.losses[t]),
      `position ${t}: ${got[t]} vs torch ${expected.losses[t]}`,
    );
  }
  await withDir(async (dir) => {
    await Deno.copyFile(`${FIXTURES}paper_tl.pth`, `${dir}/checkpoint_0049900.pth`);
    const c = await convertCheckpoint(`${dir}/checkpoint_0049900.pth`, `${dir}/st`, PAPER_CONFIG);
    const viaSt = await loadCheckpoint(c.to);
    assert.equal(viaSt.step, 49900);
    assert.deepEqual(bits(viaSt.params), bits(viaPth.params));
    assert.deepEqual(losses(viaSt), got);
  });
});

Deno.test("flagModel: paper, tiny, a config JSON (chi or TransformerLens), else a UsageError naming --model", async () => {
  assert.equal(await flagModel(undefined), undefined);
  assert.deepEqual(await flagModel("paper"), PAPER_CONFIG);
  assert.deepEqual(await flagModel("tiny"), TINY_CONFIG);
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/micro.json`, JSON.stringify(MICRO));
    assert.deepEqual(await flagModel(`${dir}/micro.json`), MICRO);
    await Deno.writeTextFile(
      `${dir}/tl.json`,
      JSON.stringify({
        n_layers: 2,
        n_heads: 2,
        d_model: 8,
        d_head: 4,
        n_ctx: 8,
        d_vocab: 16,
        attn_only: true,
        normalization_type: "LN",
        positional_embedding_type: "shortformer",
      }),
    );
    assert.deepEqual(await flagModel(`${dir}/tl.json`), MICRO);
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ ...MICRO, d_model: -1 }));
    await rejectsWith(flagModel(`${dir}/bad.json`), UsageError, "--model", "d_model");
  });
  await rejectsWith(flagModel("papr"), UsageError, "--model", "papr", "file not found");
});

Deno.test("sweep: the configured model is the config of a .pth checkpoint folder", async () => {
  await withDir(async (dir) => {
    await Deno.copyFile(`${FIXTURES}plain.pth`, `${dir}/checkpoint_0000100.pth`);
    await Deno.copyFile(`${FIXTURES}tl_buffers.pth`, `${dir}/checkpoint_0000000.pth`);
    await Deno.writeTextFile(`${dir}/micro.json`, JSON.stringify(MICRO));
    const data = { tokenizer: `${dir}/t.json`, base: `${dir}/b.tokens`, probes: { p: `${dir}/p.tokens` } };
    const cfg = await parseSweepConfig({ model: `${dir}/micro.json`, checkpoints: dir, data, select: "all" });
    const logs: string[] = [];
    const noGpu = () => Promise.reject(new Error("no training expected"));
    const prepared = await prepareCheckpoints(cfg, { tokenizer: "", base: "", probes: [] }, {
      gpu: noGpu,
      allowTraining: false,
      log: (l) => logs.push(l),
    });
    assert.deepEqual(prepared.modelConfig, MICRO);
    assert.deepEqual(prepared.selected.map((c) => c.step), [0, 100]);
    // Without the model the same folder cannot be read.
    const bare = await parseSweepConfig({ model: "checkpoints", checkpoints: dir, data, select: "all" });
    await rejectsWith(
      prepareCheckpoints(bare, { tokenizer: "", base: "", probes: [] }, { gpu: noGpu, allowTraining: false }),
      CheckpointError,
      "no model config",
    );
  });
});
