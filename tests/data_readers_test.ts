import assert from "node:assert/strict";
import { RecordBatchStreamWriter, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { ReaderError } from "../lib/data/errors.ts";
import { readDocuments } from "../lib/data/readers/mod.ts";
import { readTextDocuments } from "../lib/data/readers/text.ts";
import { writeParquetFixture } from "./fixtures/data/parquet_writer.ts";

const tmp = () => Deno.makeTempDirSync({ prefix: "chi_readers_" });
const collect = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const d of it) out.push(d);
  return out;
};
const TEXTS = ["first document ✓", "second\nwith two lines", "", "日本語 and émoji 🎉", "x".repeat(70000)];

Deno.test("text reader: a file, a sorted folder, and paragraph/line splits", async () => {
  const dir = tmp();
  Deno.mkdirSync(`${dir}/sub`);
  Deno.writeTextFileSync(`${dir}/b.txt`, "para one\nstill one\n\npara two\r\n");
  Deno.writeTextFileSync(`${dir}/a.txt`, "alpha");
  Deno.writeTextFileSync(`${dir}/sub/c.md`, "gamma\n");
  Deno.writeTextFileSync(`${dir}/.hidden`, "skip me");
  assert.deepEqual(await collect(readDocuments("text", dir)), [
    "alpha\n",
    "para one\nstill one\n\npara two\n",
    "gamma\n",
  ]);
  assert.deepEqual(await collect(readTextDocuments(`${dir}/b.txt`, { split: "paragraph" })), [
    "para one\nstill one\n",
    "para two\n",
  ]);
  assert.deepEqual(await collect(readDocuments("text", `${dir}/b.txt`, { split: "line" })), [
    "para one",
    "still one",
    "para two",
  ]);
  // A long file comes in pieces cut at line ends.
  Deno.writeTextFileSync(`${dir}/long.txt`, "0123456789\n".repeat(100));
  const pieces = await collect(readTextDocuments(`${dir}/long.txt`, { maxDocumentChars: 100 }));
  assert.equal(pieces.join(""), "0123456789\n".repeat(100));
  assert.ok(pieces.every((p) => p.length <= 110 && p.endsWith("\n")));
  await assert.rejects(collect(readDocuments("text", `${dir}/nope`)), /nope: no such file or folder/);
  assert.deepEqual(await collect(readDocuments("text", dir, { limit: 1 })), ["alpha\n"]);
});

Deno.test("JSONL reader: chosen (nested) field, and errors naming file, line and field", async () => {
  const dir = tmp();
  const lines = TEXTS.map((t, i) => JSON.stringify({ id: i, text: t, meta: { body: t.toUpperCase() } }));
  Deno.writeTextFileSync(`${dir}/a.jsonl`, lines.join("\n") + "\n\n");
  assert.deepEqual(await collect(readDocuments("jsonl", `${dir}/a.jsonl`)), TEXTS);
  assert.deepEqual(
    await collect(readDocuments("jsonl", dir, { field: "meta.body" })),
    TEXTS.map((t) => t.toUpperCase()),
  );
  const bad = (content: string) => {
    Deno.writeTextFileSync(`${dir}/bad.jsonl`, content);
    return collect(readDocuments("jsonl", `${dir}/bad.jsonl`));
  };
  await assert.rejects(
    bad('{"text": "ok"}\n{"body": "x"}\n'),
    (e: unknown) =>
      e instanceof ReaderError && /bad\.jsonl:2: missing field "text" \(keys: body\)/.test(e.message),
  );
  await assert.rejects(bad('{"text": 5}\n'), /bad\.jsonl:1: field "text" is a number, expected a string/);
  await assert.rejects(bad('{"text": "ok"}\n{"text": "trunc'), /bad\.jsonl:2: invalid JSON/);
});

/** An Arrow IPC stream with plain Utf8 `text` and an int column, in batches, as `datasets` writes it. */
async function writeArrow(path: string, texts: string[], batch: number): Promise<void> {
  const writer = new RecordBatchStreamWriter();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const piping = writer.toDOMStream().pipeTo(file.writable);
  for (let s = 0; s < texts.length; s += batch) {
    const part = texts.slice(s, s + batch);
    const table = new Table({
      text: vectorFromArray(part, new Utf8()),
      n: vectorFromArray(part.map((t) => t.length)),
    });
    for (const b of table.batches) writer.write(b);
  }
  writer.finish();
  await piping;
}

Deno.test("Arrow reader: streams record batches of an HF-style IPC stream; clear errors", async () => {
  const dir = tmp();
  const many = Array.from({ length: 250 }, (_, i) => `${TEXTS[i % TEXTS.length]} #${i}`);
  await writeArrow(`${dir}/data-00000-of-00001.arrow`, many, 64);
  assert.deepEqual(await collect(readDocuments("arrow", dir)), many);
  await assert.rejects(
    collect(readDocuments("arrow", dir, { field: "n" })),
    /field "n" has Arrow type .*expected a string column/,
  );
  await assert.rejects(
    collect(readDocuments("arrow", dir, { field: "body" })),
    /missing field "body" \(columns: text, n\)/,
  );
  const bytes = Deno.readFileSync(`${dir}/data-00000-of-00001.arrow`);
  Deno.writeFileSync(`${dir}/cut.arrow`, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(collect(readDocuments("arrow", `${dir}/cut.arrow`)), /cut\.arrow: .*truncated/);
  const corrupt = bytes.slice();
  corrupt.fill(0x5a, 8, 200);
  Deno.writeFileSync(`${dir}/corrupt.arrow`, corrupt);
  await assert.rejects(
    collect(readDocuments("arrow", `${dir}/corrupt.arrow`)),
    (e: unknown) => e instanceof ReaderError && /corrupt\.arrow: /.test(e.message),
  );
  // The random-access file format is accepted too.
  const t = new Table({ text: vectorFromArray(["a", "b"], new Utf8()) });
  Deno.writeFileSync(`${dir}/file.arrow`, tableToIPC(t, "file"));
  assert.deepEqual(await collect(readDocuments("arrow", `${dir}/file.arrow`)), ["a", "b"]);
});

Deno.test("Parquet reader: row groups streamed, chosen column, nulls/types/truncation reported", async () => {
  const dir = tmp();
  const texts = Array.from({ length: 45 }, (_, i) => `${TEXTS[i % TEXTS.length]} #${i}`);
  const bytes = writeParquetFixture([
    { name: "id", type: "int32", values: texts.map((_, i) => i) },
    { name: "text", type: "string", values: texts },
    { name: "maybe", type: "string", values: texts.map((t, i) => (i === 30 ? null : t)) },
  ], 16);
  Deno.writeFileSync(`${dir}/train-00000.parquet`, bytes);
  assert.deepEqual(await collect(readDocuments("parquet", dir)), texts);
  // The committed fixture (made once by parquet_writer.ts) reads the same way.
  const fixture = new URL("./fixtures/data/tiny.parquet", import.meta.url).pathname;
  assert.deepEqual(await collect(readDocuments("parquet", fixture)), [
    "hello parquet",
    "second row ✓",
    "third",
  ]);
  await assert.rejects(
    collect(readDocuments("parquet", dir, { field: "id" })),
    /field "id" has Parquet type INT32/,
  );
  await assert.rejects(
    collect(readDocuments("parquet", dir, { field: "x" })),
    /missing field "x" \(columns: id, text, maybe\)/,
  );
  await assert.rejects(
    collect(readDocuments("parquet", dir, { field: "maybe" })),
    /row 30: field "maybe" is null/,
  );
  Deno.writeFileSync(`${dir}/cut.parquet`, bytes.subarray(0, bytes.length - 40));
  await assert.rejects(collect(readDocuments("parquet", `${dir}/cut.parquet`)), /cut\.parquet: .*truncated/);
  const corrupt = bytes.slice();
  corrupt.fill(0xff, bytes.length - 60, bytes.length - 10);
  Deno.writeFileSync(`${dir}/corrupt.parquet`, corrupt);
  await assert.rejects(
    collect(readDocuments("parquet", `${dir}/corrupt.parquet`)),
    /corrupt\.parquet: corrupt Parquet/,
  );
  Deno.writeTextFileSync(`${dir}/text.parquet`, "not parquet at all");
  await assert.rejects(collect(readDocuments("parquet", `${dir}/text.parquet`)), /not a Parquet file/);
});
