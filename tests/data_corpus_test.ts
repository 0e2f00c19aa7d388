import assert from "node:assert/strict";
import { buildCorpus } from "../lib/data/corpus.ts";
import { mixShards } from "../lib/data/mix_shards.ts";
import { readShard, sampleContexts } from "../lib/data/shard.ts";
import { loadTokenizer } from "../lib/data/tokenizer.ts";

Deno.test("buildCorpus trains a tokenizer on JSONL input, writes the shard, and reloads the tokenizer", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "chi_corpus_" });
  const docs = Array.from(
    { length: 50 },
    (_, i) => `document ${i}: the quick brown fox ${"jumps ".repeat(i % 5)}`,
  );
  Deno.writeTextFileSync(`${dir}/in.jsonl`, docs.map((d) => JSON.stringify({ body: d })).join("\n"));
  const r = await buildCorpus({
    input: `${dir}/in.jsonl`,
    format: "jsonl",
    field: "body",
    out: `${dir}/out`,
    train: { vocabSize: 300 },
  });
  assert.equal(r.tokenizerPath, `${dir}/out.tokenizer.json`);
  const tok = await loadTokenizer(r.tokenizerPath);
  assert.equal(tok.hash, r.meta.tokenizerSha256);
  const shard = await readShard(`${dir}/out`);
  assert.equal(shard.meta.documents, 50);
  assert.equal(tok.decode(shard.tokens), docs.map((d) => d + "<|endoftext|>").join(""));
  // Loading the saved tokenizer gives the same shard.
  const again = await buildCorpus({
    input: `${dir}/in.jsonl`,
    format: "jsonl",
    field: "body",
    out: `${dir}/again`,
    tokenizer: r.tokenizerPath,
    limit: 10,
  });
  assert.equal(again.meta.documents, 10);
  await assert.rejects(
    buildCorpus({ input: `${dir}/in.jsonl`, format: "jsonl", out: `${dir}/x`, tokenizer: r.tokenizerPath }),
    /in\.jsonl:1: missing field "text" \(keys: body\)/,
  );
  await assert.rejects(
    buildCorpus({ input: `${dir}/in.jsonl`, format: "jsonl", out: `${dir}/x` }),
    /exactly one of a tokenizer/,
  );
});

Deno.test("mixShards: q' = q reproduces the base contexts; δh = 1 gives the probe's", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "chi_mixshards_" });
  const docs = ["alpha beta gamma delta ".repeat(40), "one two three four five ".repeat(40)];
  Deno.writeTextFileSync(`${dir}/a.txt`, docs[0]);
  Deno.writeTextFileSync(`${dir}/b.txt`, docs[1]);
  const a = await buildCorpus({
    input: `${dir}/a.txt`,
    format: "text",
    out: `${dir}/a`,
    train: { vocabSize: 280 },
  });
  await buildCorpus({ input: `${dir}/b.txt`, format: "text", out: `${dir}/b`, tokenizer: a.tokenizerPath });
  const o = { nCtx: 8, count: 20, seed: 3 };
  await mixShards({ ...o, base: `${dir}/a`, probe: `${dir}/a`, deltaH: 0.5, out: `${dir}/same` });
  const base = await readShard(`${dir}/a`);
  assert.deepEqual([...(await readShard(`${dir}/same`)).tokens], [...sampleContexts(base.tokens, 8, 20, 3)]);
  const meta = await mixShards({ ...o, base: `${dir}/a`, probe: `${dir}/b`, deltaH: 1, out: `${dir}/all` });
  assert.equal((meta.extra as { probeCount: number }).probeCount, 20);
  const probe = await readShard(`${dir}/b`);
  assert.deepEqual([...(await readShard(`${dir}/all`)).tokens], [...sampleContexts(probe.tokens, 8, 20, 3)]);
});
