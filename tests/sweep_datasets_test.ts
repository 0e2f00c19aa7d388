/**
 * Data inputs of a sweep config as token shards or raw datasets (lib/sweep/config.ts, lib/sweep/datasets.ts),
 * and the paper recipe configs/paper.json.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parseSweepConfig,
  readSweepConfig,
  SweepConfigError,
  sweepConfigToJson,
} from "../lib/sweep/config.ts";
import { prepareData } from "../lib/sweep/prepare.ts";
import { readShard } from "../lib/data/shard.ts";
import { trainBpe } from "../lib/data/tokenizer.ts";
import { buildShard } from "../lib/data/build_shard.ts";
import { PAPER_CONFIG } from "../lib/model/config.ts";
import { PAPER_CHECKPOINT_STEPS } from "../lib/train/schedule.ts";

Deno.test("sweep config: data inputs are shards or raw datasets, by extension or an explicit format", async () => {
  const c = await parseSweepConfig({
    data: {
      tokenizer: "t.json",
      base: "b.tokens",
      probes: {
        a: "a.parquet",
        b: { path: "hf/b", format: "arrow", field: "code", limit: 10 },
        c: "c.jsonl",
        d: "d",
      },
    },
  }, "t.json");
  assert.deepStrictEqual(c.data!.base, { path: "b.tokens", format: "shard", field: "text", limit: null });
  assert.deepStrictEqual(c.data!.probes.a, {
    path: "a.parquet",
    format: "parquet",
    field: "text",
    limit: null,
  });
  assert.deepStrictEqual(c.data!.probes.b, { path: "hf/b", format: "arrow", field: "code", limit: 10 });
  assert.equal(c.data!.probes.c.format, "jsonl");
  assert.equal(c.data!.probes.d.format, "shard");
  const json = sweepConfigToJson(c);
  assert.deepStrictEqual((json.data as { probes: unknown }).probes, {
    a: "a.parquet",
    b: { path: "hf/b", format: "arrow", field: "code", limit: 10 },
    c: "c.jsonl",
    d: "d",
  });
  assert.deepStrictEqual(await parseSweepConfig(json), c);
  const bad = async (src: unknown, field: string, text: string) =>
    await assert.rejects(
      () => parseSweepConfig({ data: { tokenizer: "t", base: "b", probes: { p: src } } }, "t.json"),
      (e: unknown) => e instanceof SweepConfigError && e.field === field && e.message.includes(text),
    );
  await bad({ path: "x", format: "csv" }, "data.probes.p.format", "expected one of shard, text, jsonl");
  await bad({ path: "x.tokens", field: "code" }, "data.probes.p", "apply to raw datasets");
  await bad({ format: "parquet" }, "data.probes.p.path", "required");
  await bad({ path: "x.parquet", limit: 0 }, "data.probes.p.limit", "≥ 1");
  await bad(3, "data.probes.p", "expected a path");
});

Deno.test("sweep prepare: a raw JSONL probe is tokenized once into <out>/data and rebuilt when it changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi-datasets-" });
  try {
    const texts = Array.from(
      { length: 20 },
      (_, i) => `Document ${i}: the quick brown fox jumps over ${i} dogs.`,
    );
    const tok = trainBpe(texts, 300);
    await Deno.writeTextFile(join(dir, "tokenizer.json"), tok.toHfJson());
    // The base must hold one minibatch (8 × 64 tokens by default): the texts ten times over.
    await buildShard(Array.from({ length: 10 }, () => texts).flat(), tok, join(dir, "base"), {
      source: "base",
    });
    const jsonl = join(dir, "probe.jsonl");
    await Deno.writeTextFile(
      jsonl,
      texts.slice(0, 5).map((text) => JSON.stringify({ text }) + "\n").join(""),
    );
    const cfg = await parseSweepConfig({
      out: join(dir, "out"),
      data: { tokenizer: join(dir, "tokenizer.json"), base: join(dir, "base.tokens"), probes: { p: jsonl } },
    });
    const logs: string[] = [];
    const d1 = await prepareData(cfg, (l) => logs.push(l));
    assert.equal(d1.probes[0].path, join(dir, "out", "data", "probes", "p"));
    const s1 = await readShard(d1.probes[0].path);
    assert.equal(s1.meta.documents, 5);
    assert.deepStrictEqual(
      Array.from(s1.tokens),
      texts.slice(0, 5).flatMap((
        t,
      ) => [...tok.encode(t), ...(tok.endOfTextId === null ? [] : [tok.endOfTextId])]),
    );
    assert.equal(logs.filter((l) => l.startsWith("tokenizing data.probes.p")).length, 1);
    await prepareData(cfg, (l) => logs.push(l));
    assert.equal(logs.filter((l) => l.startsWith("tokenizing")).length, 1, "the second run reuses the shard");
    await Deno.writeTextFile(
      jsonl,
      texts.slice(0, 7).map((text) => JSON.stringify({ text }) + "\n").join(""),
    );
    const d3 = await prepareData(cfg, (l) => logs.push(l));
    assert.equal(
      logs.filter((l) => l.startsWith("tokenizing")).length,
      2,
      "an edited dataset is tokenized again",
    );
    assert.equal((await readShard(d3.probes[0].path)).meta.documents, 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configs/paper.json: the paper's model, checkpoint set S, 14 probes, δh and C.3's sampler settings", async () => {
  const c = await readSweepConfig("configs/paper.json");
  assert.equal(c.model, "paper");
  assert.deepStrictEqual(c.modelConfig, PAPER_CONFIG);
  assert.deepStrictEqual(c.select, { kind: "steps", steps: [...PAPER_CHECKPOINT_STEPS] });
  assert.deepStrictEqual(Object.keys(c.data!.probes).sort(), [
    "arxiv",
    "cc",
    "dm_mathematics",
    "enron_emails",
    "freelaw",
    "github-all",
    "hackernews",
    "nih_exporter",
    "philpapers",
    "pubmed_abstracts",
    "pubmed_central",
    "stackexchange",
    "uspto_backgrounds",
    "wikipedia_en",
  ]);
  assert.equal(c.data!.base.path, "data/paper/dsir-pile-1m-2");
  assert.equal(c.deltaH, 0.1);
  assert.equal(c.restrictions, "heads");
  const { eps, nbeta, gamma, chains, draws, batchSize, seqLen, paired } = c.sgld;
  assert.deepStrictEqual(
    { eps, nbeta, gamma, chains, draws, batchSize, seqLen, paired },
    { eps: 0.001, nbeta: 30, gamma: 300, chains: 4, draws: 200, batchSize: 64, seqLen: 1024, paired: false },
  );
  const pt = c.perToken;
  assert.deepStrictEqual(
    [pt.enabled, pt.step, pt.contexts, pt.contextChoice, pt.chains, pt.draws, pt.batchSize],
    [true, 49900, 160, "documents", 4, 100, 16],
  );
  // Manifests store the config's JSON form: it parses back to the same config.
  assert.deepStrictEqual(await parseSweepConfig(sweepConfigToJson(c)), c);
});
