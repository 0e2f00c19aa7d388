import assert from "node:assert/strict";
import { ShardError } from "../lib/data/errors.ts";
import {
  contextAt,
  contextBatch,
  dtypeForVocab,
  readShard,
  readShardMeta,
  sampleContexts,
  shardPaths,
  ShardWriter,
  writeShard,
} from "../lib/data/shard.ts";
import { buildShard } from "../lib/data/build_shard.ts";
import { trainBpe } from "../lib/data/tokenizer.ts";

const tmp = () => Deno.makeTempDirSync({ prefix: "chi_shard_" });

Deno.test("dtypeForVocab picks uint16 up to 65536 ids and uint32 above", () => {
  assert.equal(dtypeForVocab(512), "uint16");
  assert.equal(dtypeForVocab(65536), "uint16");
  assert.equal(dtypeForVocab(65537), "uint32");
  assert.throws(() => dtypeForVocab(0), /vocabSize must be/);
  assert.deepEqual(shardPaths("/a/b.tokens"), { tokens: "/a/b.tokens", meta: "/a/b.json" });
  assert.deepEqual(shardPaths("/a/b.json"), shardPaths("/a/b"));
});

Deno.test("ShardWriter streams documents with separators through a small buffer; readShard returns them", async () => {
  const dir = tmp();
  const w = await ShardWriter.create(`${dir}/s`, {
    vocabSize: 100,
    tokenizerSha256: "abc",
    source: "unit test",
    separatorId: 0,
    seed: 7,
    bufferTokens: 3, // forces several flushes, including one triggered by a separator
  });
  await w.writeDocument([5, 6, 7, 8]);
  await w.writeDocument([]);
  await w.writeDocument([99, 1]);
  const meta = await w.close();
  assert.equal(meta.documents, 3);
  assert.equal(meta.tokens, 9);
  const s = await readShard(`${dir}/s.tokens`);
  assert.ok(s.tokens instanceof Uint16Array);
  assert.deepEqual([...s.tokens], [5, 6, 7, 8, 0, 0, 99, 1, 0]);
  assert.equal(s.meta.seed, 7);
  assert.equal(s.meta.tokenizerSha256, "abc");
  assert.equal((await Deno.stat(`${dir}/s.tokens`)).size, 18);
  // No temp file is left behind.
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["s.json", "s.tokens"]);
});

Deno.test("a vocabulary above 65536 gives a uint32 shard", async () => {
  const dir = tmp();
  await writeShard(`${dir}/big`, [70000, 3, 65536], {
    vocabSize: 70001,
    tokenizerSha256: "x",
    source: "t",
    documents: 1,
    separatorId: null,
    seed: null,
  });
  const s = await readShard(`${dir}/big.json`);
  assert.ok(s.tokens instanceof Uint32Array);
  assert.deepEqual([...s.tokens], [70000, 3, 65536]);
  assert.equal((await Deno.stat(`${dir}/big.tokens`)).size, 12);
});

Deno.test("readShard rejects truncated, padded and corrupt files and bad metadata, naming the file", async () => {
  const dir = tmp();
  const meta = {
    vocabSize: 50,
    tokenizerSha256: "x",
    source: "t",
    documents: 1,
    separatorId: null,
    seed: null,
  };
  await writeShard(`${dir}/a`, [1, 2, 3, 4], meta);
  const bytes = Deno.readFileSync(`${dir}/a.tokens`);
  Deno.writeFileSync(`${dir}/a.tokens`, bytes.subarray(0, 5));
  await assert.rejects(
    readShard(`${dir}/a`),
    (e: unknown) =>
      e instanceof ShardError &&
      /a\.tokens: file is truncated: 5 bytes, metadata says 4 uint16 tokens = 8 bytes/.test(e.message),
  );
  Deno.writeFileSync(`${dir}/a.tokens`, new Uint8Array(10));
  await assert.rejects(readShard(`${dir}/a`), /longer than its metadata says/);
  Deno.writeFileSync(`${dir}/a.tokens`, new Uint8Array(Uint16Array.of(1, 2, 60, 3).buffer));
  await assert.rejects(readShard(`${dir}/a`), /token 2 is 60, outside the vocabulary \[0, 50\): corrupt/);
  Deno.writeTextFileSync(`${dir}/a.json`, "{");
  await assert.rejects(readShardMeta(`${dir}/a`), /a\.json: not valid JSON/);
  Deno.writeTextFileSync(
    `${dir}/a.json`,
    JSON.stringify({ format: "chi-token-shard", version: 1, dtype: "int8" }),
  );
  await assert.rejects(readShardMeta(`${dir}/a`), /a\.json: field "dtype" must be/);
  await assert.rejects(readShard(`${dir}/missing`), /missing\.json: shard metadata not found/);
  await assert.rejects(
    writeShard(`${dir}/b`, [1, 50], meta),
    /token 1 is 50, outside the vocabulary/,
  );
  const w = await ShardWriter.create(`${dir}/c`, { ...meta, separatorId: null });
  await assert.rejects(w.writeDocument([1, 2.5]), /document 0 token 1 is 2.5/);
  await w.abort();
});

Deno.test("sampleContexts is deterministic from the seed and copies real windows", () => {
  const tokens = Uint16Array.from({ length: 1000 }, (_, i) => i);
  const a = sampleContexts(tokens, 16, 50, 3);
  assert.deepEqual(a, sampleContexts(tokens, 16, 50, 3));
  assert.notDeepEqual(a, sampleContexts(tokens, 16, 50, 4));
  assert.equal(a.length, 50 * 16);
  for (let c = 0; c < 50; c++) {
    const s = a[c * 16];
    assert.ok(s >= 0 && s <= 1000 - 16);
    for (let t = 0; t < 16; t++) assert.equal(a[c * 16 + t], s + t);
  }
  // The last possible window is reachable: a shard exactly one context long always yields it.
  assert.deepEqual([...sampleContexts(tokens.subarray(0, 16), 16, 2, 1)], [
    ...tokens.subarray(0, 16),
    ...tokens.subarray(0, 16),
  ]);
  assert.throws(() => sampleContexts(tokens, 1001, 1, 1), /does not fit in a shard of 1000 tokens/);
  assert.throws(() => sampleContexts(tokens, 0, 1, 1), /nCtx must be an integer ≥ 1/);
});

Deno.test("contextBatch depends only on (seed, step): a resumed run sees the same batches", () => {
  const tokens = Uint16Array.from({ length: 5000 }, (_, i) => i % 4000);
  const opts = { nCtx: 8, batch: 4, seed: 11 };
  const run = (steps: number[]) => steps.map((step) => contextBatch(tokens, { ...opts, step }));
  const full = run([0, 1, 2, 3, 4]);
  const resumed = run([3, 4]);
  assert.deepEqual(resumed, full.slice(3));
  assert.notDeepEqual(full[0], full[1]);
  assert.notDeepEqual(contextBatch(tokens, { ...opts, seed: 12, step: 0 }), full[0]);
  assert.throws(() => contextBatch(tokens, { ...opts, step: -1 }), /step must be an integer ≥ 0/);
});

Deno.test("buildShard tokenizes documents with <|endoftext|> separators and decodes back", async () => {
  const dir = tmp();
  const docs = ["hello world, hello there", "données brutes ✓", "a\nb\n"];
  const tok = trainBpe(docs, 300);
  async function* stream() {
    for (const d of docs) yield d;
  }
  const meta = await buildShard(stream(), tok, `${dir}/t`, { source: "three docs", extra: { note: 1 } });
  assert.equal(meta.documents, 3);
  assert.equal(meta.tokenizerSha256, tok.hash);
  assert.equal(meta.separatorId, 0);
  assert.equal(meta.extra?.note, 1);
  assert.equal(meta.extra?.chars, docs.join("").length);
  const s = await readShard(`${dir}/t`);
  assert.equal(tok.decode(s.tokens), docs.map((d) => d + "<|endoftext|>").join(""));
});

Deno.test("contextAt reads whole contexts of a context shard", async () => {
  const dir = tmp();
  await writeShard(`${dir}/c`, [1, 2, 3, 4, 5, 6], {
    vocabSize: 10,
    tokenizerSha256: "x",
    source: "ctx",
    documents: 3,
    separatorId: null,
    seed: null,
    contextLength: 2,
  });
  const s = await readShard(`${dir}/c`);
  assert.deepEqual([...contextAt(s, 2)], [5, 6]);
  assert.throws(() => contextAt(s, 3), /context index must be in \[0, 3\)/);
});
