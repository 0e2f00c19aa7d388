/**
 * Data pipeline throughput: BPE encoding (MB of text per second; target ≥ 1 MB/s), BPE training, corpus
 * generation, and reading 4 MB of documents from JSONL, Arrow IPC and Parquet.
 *
 *   deno bench --allow-read=/tmp --allow-write=/tmp bench/data_bench.ts
 */
import { RecordBatchStreamWriter, Table, Utf8, vectorFromArray } from "apache-arrow";
import { readDocuments } from "../lib/data/readers/mod.ts";
import { BASE_WEIGHTS, generateCorpus } from "../lib/data/synthetic.ts";
import { tokenizerFromHfJson, trainBpe } from "../lib/data/tokenizer.ts";
import { writeParquetFixture } from "../tests/fixtures/data/parquet_writer.ts";

const docs = [...generateCorpus({ seed: 1, stream: "bench", weights: BASE_WEIGHTS, chars: 4_000_000 })].map((
  d,
) => d.text);
const text = docs.join("");
const mb = new TextEncoder().encode(text).length / 1e6;
const tokenizer512 = trainBpe(docs.slice(0, 1500), 512);
const tokenizer5000 = trainBpe(docs, 5000);

// Fresh text the tokenizer's cache has not seen, so the benchmark measures BPE, not cache hits.
const fresh = [...generateCorpus({ seed: 2, stream: "bench-fresh", weights: BASE_WEIGHTS, chars: 1_000_000 })]
  .map((d) => d.text).join("");

const dir = Deno.makeTempDirSync({ prefix: "chi_data_bench_" });
Deno.writeTextFileSync(`${dir}/d.jsonl`, docs.map((d) => JSON.stringify({ text: d })).join("\n"));
{
  const writer = new RecordBatchStreamWriter();
  const file = await Deno.open(`${dir}/d.arrow`, { write: true, create: true, truncate: true });
  const piping = writer.toDOMStream().pipeTo(file.writable);
  for (let s = 0; s < docs.length; s += 1000) {
    const t = new Table({ text: vectorFromArray(docs.slice(s, s + 1000), new Utf8()) });
    for (const b of t.batches) writer.write(b);
  }
  writer.finish();
  await piping;
}
Deno.writeFileSync(
  `${dir}/d.parquet`,
  writeParquetFixture([{ name: "text", type: "string", values: docs }], 1000),
);

async function drain(format: "jsonl" | "arrow" | "parquet", path: string): Promise<void> {
  let chars = 0;
  for await (const d of readDocuments(format, path)) chars += d.length;
  if (chars !== text.length) throw new Error(`${format}: read ${chars} chars, expected ${text.length}`);
}

console.log(`corpus: ${mb.toFixed(2)} MB, ${docs.length} documents`);
Deno.bench(`encode ${mb.toFixed(1)} MB synthetic text, vocab 512 (MB/s = ${mb.toFixed(1)} / time)`, () => {
  for (const d of docs) tokenizer512.encode(d);
});
Deno.bench(`encode ${mb.toFixed(1)} MB synthetic text, vocab 5000`, () => {
  for (const d of docs) tokenizer5000.encode(d);
});
const json512 = tokenizer512.toHfJson();
Deno.bench(
  "encode 1 MB unseen text with an empty word cache (load tokenizer.json + encode), vocab 512",
  () => {
    tokenizerFromHfJson(json512, "bench").encode(fresh);
  },
);
Deno.bench("train BPE to 512 on 1.5k documents (~1 MB)", () => {
  trainBpe(docs.slice(0, 1500), 512);
});
Deno.bench("generate 1 MB of synthetic corpus", () => {
  for (const _ of generateCorpus({ seed: 3, stream: "x", weights: BASE_WEIGHTS, chars: 1_000_000 }));
});
Deno.bench(`read ${mb.toFixed(1)} MB JSONL`, async () => await drain("jsonl", `${dir}/d.jsonl`));
Deno.bench(`read ${mb.toFixed(1)} MB Arrow IPC stream`, async () => await drain("arrow", `${dir}/d.arrow`));
Deno.bench(
  `read ${mb.toFixed(1)} MB Parquet (uncompressed)`,
  async () => await drain("parquet", `${dir}/d.parquet`),
);
