/**
 * Token shards: a corpus tokenized once into a compact binary file `NAME.tokens` (little-endian uint16 when
 * the vocabulary fits in 16 bits, else uint32) plus `NAME.json` metadata (format version, tokenizer SHA-256,
 * source, document and token counts, dtype, seed). Documents are concatenated, each followed by the
 * separator token (normally "<|endoftext|>") when the tokenizer has one.
 *
 * Contexts of n_ctx tokens are cut at offsets drawn from a seed: `sampleContexts` draws a fixed set, and
 * `contextBatch` draws the batch of a training step from (seed, step) alone, so a resumed run sees the
 * same batches as an uninterrupted one.
 */

import { ShardError } from "./errors.ts";
import { withFileErrors, writeFileAtomic, writeJsonAtomic } from "../util/files.ts";
import { Rng } from "../util/random.ts";

export const SHARD_FORMAT = "chi-token-shard";
export const SHARD_VERSION = 1;

export type TokenDtype = "uint16" | "uint32";
export type TokenArray = Uint16Array | Uint32Array;

export interface ShardMeta {
  format: typeof SHARD_FORMAT;
  version: number;
  dtype: TokenDtype;
  vocabSize: number;
  /** `Tokenizer.hash` of the tokenizer that produced the ids. */
  tokenizerSha256: string;
  /** Human-readable description of where the text came from (paths, generator and its options). */
  source: string;
  documents: number;
  tokens: number;
  /** Id appended after every document, or null when none was. */
  separatorId: number | null;
  /** Seed of whatever randomness produced the text (synthetic generator, mixing), or null. */
  seed: number | null;
  /** Set when the shard is a sequence of whole contexts of this length (e.g. a mixed dataset). */
  contextLength?: number;
  /** Free-form extra facts (component counts of a synthetic corpus, mixing parameters). */
  extra?: Record<string, unknown>;
}

export interface Shard {
  tokens: TokenArray;
  meta: ShardMeta;
}

/** The smallest dtype that holds every id of a vocabulary. */
export function dtypeForVocab(vocabSize: number): TokenDtype {
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 2 ** 32) {
    throw new ShardError(`vocabSize must be an integer in [1, 2^32], got ${vocabSize}`);
  }
  return vocabSize <= 65536 ? "uint16" : "uint32";
}

/** Bytes per token of a dtype. */
export function dtypeBytes(dtype: TokenDtype): 2 | 4 {
  return dtype === "uint16" ? 2 : 4;
}

/**
 * The two file paths of a shard. Accepts "NAME", "NAME.tokens" or "NAME.json" and returns
 * {tokens: "NAME.tokens", meta: "NAME.json"}.
 */
export function shardPaths(path: string): { tokens: string; meta: string } {
  const base = path.replace(/\.(tokens|json)$/, "");
  return { tokens: `${base}.tokens`, meta: `${base}.json` };
}

// Typed-array views use the platform's byte order; the format is little-endian.
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new ShardError("token shards need a little-endian machine");
}

export interface ShardWriterOptions {
  vocabSize: number;
  tokenizerSha256: string;
  source: string;
  /** Appended after each document; null for none. */
  separatorId: number | null;
  seed?: number | null;
  contextLength?: number;
  /** Flush to disk once this many tokens are buffered (default 1M). */
  bufferTokens?: number;
}

/**
 * Streams documents into a shard. Tokens go to a temporary file beside the target in chunks; `close()`
 * renames it into place and writes the metadata last, so a shard with metadata is always complete.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readShard, ShardWriter } from "chi";
 *
 * const path = `${await Deno.makeTempDir()}/corpus`;
 * const writer = await ShardWriter.create(path, { vocabSize: 512, tokenizerSha256: "0".repeat(64), source: "example", separatorId: 0 });
 * await writer.writeDocument([5, 6, 7]);
 * await writer.writeDocument([8, 9]);
 * const meta = await writer.close(); // the metadata is written last: a shard with metadata is complete
 * assert.equal(meta.documents, 2);
 * assert.deepEqual(Array.from((await readShard(path)).tokens), [5, 6, 7, 0, 8, 9, 0]);
 * ```
 */
export class ShardWriter {
  readonly path: string;
  readonly dtype: TokenDtype;
  readonly #opts: ShardWriterOptions;
  readonly #file: Deno.FsFile;
  readonly #tmp: string;
  readonly #buf: TokenArray;
  #fill = 0;
  #documents = 0;
  #tokens = 0;
  #closed = false;
  #extra: Record<string, unknown> = {};

  private constructor(path: string, file: Deno.FsFile, tmp: string, opts: ShardWriterOptions) {
    this.path = path;
    this.#file = file;
    this.#tmp = tmp;
    this.#opts = opts;
    this.dtype = dtypeForVocab(opts.vocabSize);
    const n = opts.bufferTokens ?? 1 << 20;
    this.#buf = this.dtype === "uint16" ? new Uint16Array(n) : new Uint32Array(n);
  }

  /** Opens a writer for the shard at `path` ("NAME", "NAME.tokens" or "NAME.json"). */
  static async create(path: string, opts: ShardWriterOptions): Promise<ShardWriter> {
    requireLittleEndian();
    const sep = opts.separatorId;
    if (sep !== null && (!Number.isInteger(sep) || sep < 0 || sep >= opts.vocabSize)) {
      throw new ShardError(`separatorId must be null or an id in [0, ${opts.vocabSize}), got ${sep}`);
    }
    if (opts.bufferTokens !== undefined && !(Number.isInteger(opts.bufferTokens) && opts.bufferTokens > 0)) {
      throw new ShardError(`bufferTokens must be a positive integer, got ${opts.bufferTokens}`);
    }
    dtypeForVocab(opts.vocabSize);
    const { tokens } = shardPaths(path);
    const tmp = `${tokens}.${Deno.pid}.tmp`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    } catch (err) {
      throw new ShardError(`${tokens}: cannot create shard (${(err as Error).message})`);
    }
    return new ShardWriter(tokens, file, tmp, opts);
  }

  get documents(): number {
    return this.#documents;
  }

  get tokens(): number {
    return this.#tokens;
  }

  /** Merges facts into the metadata's `extra`. */
  setExtra(extra: Record<string, unknown>): void {
    Object.assign(this.#extra, extra);
  }

  /** Appends one document's ids (and the separator). Ids must be in [0, vocabSize). */
  async writeDocument(ids: ArrayLike<number>): Promise<void> {
    if (this.#closed) throw new ShardError(`${this.path}: writer is closed`);
    const v = this.#opts.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < v) || !Number.isInteger(id)) {
        throw new ShardError(
          `${this.path}: document ${this.#documents} token ${i} is ${id}, outside the vocabulary [0, ${v})`,
        );
      }
      this.#buf[this.#fill++] = id;
      if (this.#fill === this.#buf.length) await this.#flush();
    }
    this.#tokens += ids.length;
    if (this.#opts.separatorId !== null) {
      this.#buf[this.#fill++] = this.#opts.separatorId;
      this.#tokens++;
      if (this.#fill === this.#buf.length) await this.#flush();
    }
    this.#documents++;
  }

  async #flush(): Promise<void> {
    let bytes = new Uint8Array(this.#buf.buffer, 0, this.#fill * this.#buf.BYTES_PER_ELEMENT);
    while (bytes.length > 0) bytes = bytes.subarray(await this.#file.write(bytes));
    this.#fill = 0;
  }

  /** Finishes the shard: flushes, renames into place, writes the metadata. Returns the metadata. */
  async close(): Promise<ShardMeta> {
    if (this.#closed) throw new ShardError(`${this.path}: writer is already closed`);
    this.#closed = true;
    try {
      await this.#flush();
    } finally {
      this.#file.close();
    }
    await Deno.rename(this.#tmp, this.path);
    const meta: ShardMeta = {
      format: SHARD_FORMAT,
      version: SHARD_VERSION,
      dtype: this.dtype,
      vocabSize: this.#opts.vocabSize,
      tokenizerSha256: this.#opts.tokenizerSha256,
      source: this.#opts.source,
      documents: this.#documents,
      tokens: this.#tokens,
      separatorId: this.#opts.separatorId,
      seed: this.#opts.seed ?? null,
    };
    if (this.#opts.contextLength !== undefined) meta.contextLength = this.#opts.contextLength;
    if (Object.keys(this.#extra).length > 0) meta.extra = { ...this.#extra };
    await writeJsonAtomic(shardPaths(this.path).meta, meta);
    return meta;
  }

  /** Abandons the shard, removing the temporary file. */
  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
    await Deno.remove(this.#tmp).catch(() => {});
  }
}

/**
 * Writes an in-memory token array as a shard in one go (e.g. a mixed set of contexts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readShard, writeShard } from "chi";
 *
 * const dir = await Deno.makeTempDir();
 * const meta = { vocabSize: 512, tokenizerSha256: "0".repeat(64), source: "example", separatorId: 0, seed: null, documents: 1 };
 * await writeShard(`${dir}/s`, [5, 6, 7, 0], meta); // s.tokens (uint16 for a vocabulary ≤ 65536) and s.json
 * const shard = await readShard(`${dir}/s`);
 * assert.deepEqual(Array.from(shard.tokens), [5, 6, 7, 0]);
 * assert.equal(shard.meta.dtype, "uint16");
 * ```
 */
export async function writeShard(
  path: string,
  tokens: ArrayLike<number>,
  meta: Omit<ShardMeta, "format" | "version" | "dtype" | "tokens">,
): Promise<ShardMeta> {
  requireLittleEndian();
  const dtype = dtypeForVocab(meta.vocabSize);
  const arr = dtype === "uint16" ? new Uint16Array(tokens.length) : new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (!(id >= 0 && id < meta.vocabSize) || !Number.isInteger(id)) {
      throw new ShardError(`${path}: token ${i} is ${id}, outside the vocabulary [0, ${meta.vocabSize})`);
    }
    arr[i] = id;
  }
  const full: ShardMeta = {
    format: SHARD_FORMAT,
    version: SHARD_VERSION,
    dtype,
    tokens: tokens.length,
    ...meta,
  };
  const paths = shardPaths(path);
  await writeFileAtomic(paths.tokens, new Uint8Array(arr.buffer));
  await writeJsonAtomic(paths.meta, full);
  return full;
}

/** Validates parsed metadata; `where` names the file. */
export function parseShardMeta(raw: unknown, where: string): ShardMeta {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new ShardError(`${where}: field "${field}" must be ${expected}, got ${JSON.stringify(got)}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail("(root)", "an object", raw);
  const m = raw as Record<string, unknown>;
  if (m.format !== SHARD_FORMAT) fail("format", `"${SHARD_FORMAT}"`, m.format);
  if (m.version !== SHARD_VERSION) fail("version", `${SHARD_VERSION} (this reader's version)`, m.version);
  if (m.dtype !== "uint16" && m.dtype !== "uint32") fail("dtype", `"uint16" or "uint32"`, m.dtype);
  const count = (f: string) => {
    const v = m[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) fail(f, "a non-negative integer", v);
  };
  for (const f of ["vocabSize", "documents", "tokens"]) count(f);
  if (m.vocabSize === 0) fail("vocabSize", "positive", 0);
  if (dtypeForVocab(m.vocabSize as number) !== m.dtype && m.dtype === "uint16") {
    fail("dtype", `"uint32" for vocabSize ${m.vocabSize}`, m.dtype);
  }
  if (typeof m.tokenizerSha256 !== "string") fail("tokenizerSha256", "a string", m.tokenizerSha256);
  if (typeof m.source !== "string") fail("source", "a string", m.source);
  if (m.separatorId !== null && (typeof m.separatorId !== "number" || !Number.isInteger(m.separatorId))) {
    fail("separatorId", "an integer or null", m.separatorId);
  }
  if (m.seed !== null && m.seed !== undefined && typeof m.seed !== "number") {
    fail("seed", "a number or null", m.seed);
  }
  if (m.contextLength !== undefined) {
    const c = m.contextLength;
    if (typeof c !== "number" || !Number.isInteger(c) || c < 1) {
      fail("contextLength", "a positive integer", c);
    }
    if ((m.tokens as number) % (c as number) !== 0) {
      fail("contextLength", `a divisor of tokens (${m.tokens})`, c);
    }
  }
  return { ...m, seed: (m.seed as number | null | undefined) ?? null } as unknown as ShardMeta;
}

/** A ShardError about `path`, for withFileErrors. */
const shardError = (path: string) => (why: string) => new ShardError(`${path}: ${why}`);

/** Reads just the metadata of a shard. */
export async function readShardMeta(path: string): Promise<ShardMeta> {
  const metaPath = shardPaths(path).meta;
  const text = await withFileErrors(() => Deno.readTextFile(metaPath), shardError(metaPath), {
    notFound: "shard metadata not found",
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ShardError(`${metaPath}: not valid JSON (${(err as Error).message})`);
  }
  return parseShardMeta(raw, metaPath);
}

/**
 * Reads a shard whole and checks it against its metadata: the file size must be tokens × dtype bytes
 * (a truncated or padded file is an error naming both numbers) and every id must be below vocabSize.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readShard, writeShard } from "chi";
 *
 * const dir = await Deno.makeTempDir();
 * const meta = { vocabSize: 512, tokenizerSha256: "0".repeat(64), source: "example", separatorId: 0, seed: null, documents: 1 };
 * await writeShard(`${dir}/s`, [5, 6, 7, 0], meta);
 * const { tokens, meta: read } = await readShard(`${dir}/s.tokens`); // "s", "s.tokens" or "s.json"
 * assert.equal(tokens.length, read.tokens);
 * assert.equal(read.source, "example");
 * ```
 */
export async function readShard(path: string): Promise<Shard> {
  requireLittleEndian();
  const meta = await readShardMeta(path);
  const tokensPath = shardPaths(path).tokens;
  const bytes = await withFileErrors(() => Deno.readFile(tokensPath), shardError(tokensPath), {
    notFound: "token file not found",
  });
  const width = dtypeBytes(meta.dtype);
  const expected = meta.tokens * width;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "longer than its metadata says";
    throw new ShardError(
      `${tokensPath}: file is ${what}: ${bytes.length} bytes, metadata says ${meta.tokens} ${meta.dtype} tokens = ${expected} bytes`,
    );
  }
  // Deno.readFile returns a fresh, offset-0 buffer, so the typed view is aligned.
  const tokens = meta.dtype === "uint16"
    ? new Uint16Array(bytes.buffer, bytes.byteOffset, meta.tokens)
    : new Uint32Array(bytes.buffer, bytes.byteOffset, meta.tokens);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= meta.vocabSize) {
      throw new ShardError(
        `${tokensPath}: token ${i} is ${
          tokens[i]
        }, outside the vocabulary [0, ${meta.vocabSize}): corrupt file`,
      );
    }
  }
  return { tokens, meta };
}

function requireCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ShardError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

function requireRoom(tokens: ArrayLike<number>, nCtx: number): void {
  requireCount("nCtx", nCtx, 1);
  if (tokens.length < nCtx) {
    throw new ShardError(`a context of ${nCtx} tokens does not fit in a shard of ${tokens.length} tokens`);
  }
}

/** Copies `count` windows of nCtx tokens starting at offsets drawn from `rng` into an Int32Array. */
function cutContexts(tokens: ArrayLike<number>, nCtx: number, count: number, rng: Rng): Int32Array {
  const out = new Int32Array(count * nCtx);
  const starts = tokens.length - nCtx + 1;
  for (let c = 0; c < count; c++) {
    const s = rng.int(starts);
    const row = c * nCtx;
    for (let t = 0; t < nCtx; t++) out[row + t] = tokens[s + t];
  }
  return out;
}

/**
 * `count` contexts of nCtx tokens, row-major [count, nCtx], each starting at a uniformly random offset
 * drawn from `seed` (with replacement). The same (tokens, nCtx, count, seed) gives the same contexts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleContexts } from "chi";
 *
 * const tokens = Int32Array.from({ length: 100 }, (_, i) => i);
 * const contexts = sampleContexts(tokens, 8, 3, 42); // [3, 8]: 3 windows of 8 consecutive tokens
 * assert.equal(contexts.length, 3 * 8);
 * assert.equal(contexts[1] - contexts[0], 1);
 * assert.deepEqual(sampleContexts(tokens, 8, 3, 42), contexts); // same seed, same contexts
 * ```
 */
export function sampleContexts(
  tokens: ArrayLike<number>,
  nCtx: number,
  count: number,
  seed: number,
): Int32Array {
  requireRoom(tokens, nCtx);
  requireCount("count", count, 0);
  return cutContexts(tokens, nCtx, count, new Rng(seed).fork("sampleContexts"));
}

export interface ContextBatchOptions {
  nCtx: number;
  batch: number;
  seed: number;
  /** Training step (≥ 0): the batch depends only on (seed, step), never on earlier calls. */
  step: number;
}

/**
 * The batch of one training step, [batch, nCtx] row-major, a pure function of (tokens, seed, step).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contextBatch } from "chi";
 *
 * const tokens = Int32Array.from({ length: 1000 }, (_, i) => i % 512);
 * const opts = { nCtx: 16, batch: 4, seed: 0 };
 * const b7 = contextBatch(tokens, { ...opts, step: 7 });
 * assert.equal(b7.length, 4 * 16);
 * assert.deepEqual(contextBatch(tokens, { ...opts, step: 7 }), b7); // step 7's batch, whatever ran before
 * ```
 */
export function contextBatch(tokens: ArrayLike<number>, opts: ContextBatchOptions): Int32Array {
  requireRoom(tokens, opts.nCtx);
  requireCount("batch", opts.batch, 1);
  requireCount("step", opts.step, 0);
  if (!Number.isInteger(opts.seed)) throw new ShardError(`seed must be an integer, got ${opts.seed}`);
  return cutContexts(tokens, opts.nCtx, opts.batch, new Rng(opts.seed).fork(`contextBatch:${opts.step}`));
}

/** Context i of a shard whose metadata has contextLength (a copy, Int32Array). */
export function contextAt(shard: Shard, i: number): Int32Array {
  const n = shard.meta.contextLength;
  if (n === undefined) throw new ShardError(`shard "${shard.meta.source}" is not a set of contexts`);
  const count = shard.meta.tokens / n;
  if (!Number.isInteger(i) || i < 0 || i >= count) {
    throw new ShardError(`context index must be in [0, ${count}), got ${i}`);
  }
  return Int32Array.from(shard.tokens.subarray(i * n, (i + 1) * n));
}
