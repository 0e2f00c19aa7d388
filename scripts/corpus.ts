/**
 * Tokenize a corpus into a token shard (NAME.tokens + NAME.json), from text files or folders, JSONL, Arrow
 * IPC (Hugging Face `datasets` cache) or Parquet (as the hub serves it).
 *
 *   deno run --allow-read --allow-write scripts/corpus.ts --input DIR_OR_FILE --format parquet \
 *     [--field text] (--tokenizer tokenizer.json | --train-tokenizer --vocab-size 5000) --out shards/github
 */
import { buildCorpus } from "../lib/data/corpus.ts";
import { guessFormat, READER_FORMATS, type ReaderFormat } from "../lib/data/readers/mod.ts";
import type { TextSplit } from "../lib/data/readers/text.ts";
import { runMain } from "../lib/util/main.ts";
import { requireOutputPath } from "../lib/util/output_path.ts";
import { flagIntOptional, flagRequired, parseFlags, UsageError } from "../lib/util/cli.ts";

const USAGE = `usage: corpus.ts --input PATH [--format text|jsonl|arrow|parquet] [--field NAME]
                 [--split file|paragraph|line] [--limit N]
                 (--tokenizer tokenizer.json | --train-tokenizer --vocab-size N [--train-chars N]
                  [--tokenizer-out PATH])
                 --out SHARD [--strict]
  --strict   refuse text/JSONL input with bytes that are not UTF-8 (default: replace them, with a warning)`;

async function main(args: string[]): Promise<void> {
  const v = parseFlags(args, {
    input: { type: "string" },
    format: { type: "string" },
    field: { type: "string" },
    split: { type: "string" },
    limit: { type: "string" },
    tokenizer: { type: "string" },
    "train-tokenizer": { type: "boolean", default: false },
    "vocab-size": { type: "string" },
    "train-chars": { type: "string" },
    "tokenizer-out": { type: "string" },
    out: { type: "string" },
    strict: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  }).values;
  if (v.help) {
    console.log(USAGE);
    return;
  }
  const input = flagRequired("--input", v.input);
  const out = flagRequired("--out", v.out);
  requireOutputPath(out, "--out", ["runs"]);
  if (v["tokenizer-out"] !== undefined) requireOutputPath(v["tokenizer-out"], "--tokenizer-out", ["runs"]);
  const format = (v.format ?? guessFormat(input)) as ReaderFormat | null;
  if (format === null) throw new UsageError(`--format is required: cannot tell the format of "${input}"`);
  if (!READER_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${READER_FORMATS.join(", ")}, got "${format}"`);
  }
  if (v.split !== undefined && !["file", "paragraph", "line"].includes(v.split)) {
    throw new UsageError(`--split must be file, paragraph or line, got "${v.split}"`);
  }
  if (v.split !== undefined && format !== "text") {
    throw new UsageError("--split applies to --format text only");
  }
  if (v.field !== undefined && format === "text") {
    throw new UsageError("--field does not apply to --format text");
  }
  const train = v["train-tokenizer"];
  if (train === (v.tokenizer !== undefined)) {
    throw new UsageError("give exactly one of --tokenizer PATH or --train-tokenizer --vocab-size N");
  }
  const vocabSize = flagIntOptional("--vocab-size", v["vocab-size"], 1);
  if (train && vocabSize === undefined) throw new UsageError("--train-tokenizer needs --vocab-size N");
  if (!train && (vocabSize !== undefined || v["train-chars"] || v["tokenizer-out"])) {
    throw new UsageError("--vocab-size, --train-chars and --tokenizer-out need --train-tokenizer");
  }
  const started = performance.now();
  const progress = Deno.stderr.isTerminal()
    ? (p: { documents: number; tokens: number }) =>
      Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${p.documents} documents, ${p.tokens} tokens`))
    : undefined;
  const result = await buildCorpus({
    input,
    format,
    field: v.field,
    split: v.split as TextSplit | undefined,
    limit: flagIntOptional("--limit", v.limit, 1),
    out,
    tokenizer: v.tokenizer,
    train: train
      ? {
        vocabSize: vocabSize!,
        trainChars: flagIntOptional("--train-chars", v["train-chars"], 1),
        savePath: v["tokenizer-out"],
      }
      : undefined,
    onProgress: progress,
    strictUtf8: v.strict,
  });
  if (progress) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
  if (result.invalidUtf8 > 0) {
    console.error(
      `warning: ${input}: ${result.invalidUtf8} byte sequences that are not UTF-8 were replaced by U+FFFD ` +
        `(--strict refuses such input)`,
    );
  }
  const s = (performance.now() - started) / 1000;
  const m = result.meta;
  console.log(
    `${out}: ${m.documents} documents, ${m.tokens} ${m.dtype} tokens (vocab ${m.vocabSize}) in ${
      s.toFixed(1)
    } s; ` +
      `tokenizer ${result.tokenizerPath}`,
  );
}

if (import.meta.main) await runMain(() => main(Deno.args));
