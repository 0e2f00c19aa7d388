/**
 * Raw dataset inputs of a sweep (a Parquet, Arrow, JSONL or text file or folder in `data`), tokenized once
 * with the sweep's tokenizer into a token shard under `<out>/data/`. The shard records where it came from
 * (the source line and a stamp of the input files' sizes and modification times) and the tokenizer's hash, so
 * a rerun reuses it, and an edited dataset or another tokenizer makes a new one rather than mixing them.
 */

import { join } from "node:path";
import { buildShard } from "../data/build_shard.ts";
import { readDocuments } from "../data/readers/mod.ts";
import { listInputFiles } from "../data/readers/files.ts";
import { readShardMeta } from "../data/shard.ts";
import type { Tokenizer } from "../data/tokenizer.ts";
import type { SweepDataSource } from "./config.ts";

const EXTENSIONS: Record<string, readonly string[]> = {
  jsonl: [".jsonl", ".ndjson", ".json"],
  arrow: [".arrow"],
  parquet: [".parquet"],
};

/** `<out>/data/base` or `<out>/data/probes/<name>`: where a raw input's shard goes. */
export function datasetShardPath(out: string, probe: string | null): string {
  return probe === null ? join(out, "data", "base") : join(out, "data", "probes", probe);
}

/** The source line a dataset's shard records (format, path, field, limit). */
export function datasetSourceLine(src: SweepDataSource): string {
  return `${src.format}:${src.path}${src.format === "text" ? "" : ` field=${src.field}`}` +
    (src.limit !== null ? ` limit=${src.limit}` : "");
}

/** Sizes and modification times of the dataset's input files: cheap, and changes when a file does. */
export async function datasetStamp(src: SweepDataSource): Promise<string> {
  const files = await listInputFiles(src.path, EXTENSIONS[src.format]);
  const parts = [];
  for (const f of files) {
    const st = await Deno.stat(f);
    parts.push(`${f}:${st.size}:${st.mtime?.getTime() ?? 0}`);
  }
  return parts.join("|");
}

/** Documents of a raw dataset input, with its field and limit. */
export function datasetDocuments(src: SweepDataSource): AsyncGenerator<string> {
  if (src.format === "shard") throw new RangeError(`${src.path} is a token shard, not a dataset`);
  return readDocuments(src.format, src.path, { field: src.field, limit: src.limit ?? undefined });
}

/** Whether the shard at `shard` was made from `src` as it is now, by `tokenizer`. */
export async function datasetShardIsCurrent(
  src: SweepDataSource,
  tokenizer: Tokenizer,
  shard: string,
): Promise<boolean> {
  try {
    const meta = await readShardMeta(shard);
    return meta.source === datasetSourceLine(src) && meta.tokenizerSha256 === tokenizer.hash &&
      meta.extra?.stamp === await datasetStamp(src);
  } catch {
    return false;
  }
}

/** Tokenizes `src` into `shard` unless a current shard is already there; true when it built one. */
export async function ensureDatasetShard(
  src: SweepDataSource,
  tokenizer: Tokenizer,
  shard: string,
): Promise<boolean> {
  if (await datasetShardIsCurrent(src, tokenizer, shard)) return false;
  await Deno.mkdir(join(shard, ".."), { recursive: true });
  const stamp = await datasetStamp(src);
  await buildShard(datasetDocuments(src), tokenizer, shard, {
    source: datasetSourceLine(src),
    extra: { stamp },
  });
  return true;
}

/**
 * Tokens of a dataset, counted by tokenizing its documents until `atLeast` tokens and `atLeastDocuments`
 * documents are seen (or the end): enough to say whether it is long enough without tokenizing a 100k-row
 * dataset whole. Documents are followed by the separator, as in a shard.
 */
export async function countDatasetTokens(
  src: SweepDataSource,
  tokenizer: Tokenizer,
  atLeast: number,
  atLeastDocuments = 0,
): Promise<{ tokens: number; documents: number; complete: boolean }> {
  let tokens = 0, documents = 0;
  const sep = tokenizer.endOfTextId === null ? 0 : 1;
  const docs = datasetDocuments(src);
  for await (const doc of docs) {
    tokens += tokenizer.encode(doc).length + sep;
    documents++;
    if (tokens >= atLeast && documents >= atLeastDocuments) {
      await docs.return(undefined);
      return { tokens, documents, complete: false };
    }
  }
  return { tokens, documents, complete: true };
}
