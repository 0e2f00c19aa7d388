/**
 * Byte-level BPE tokenizer: train on a corpus, encode and decode with exact round trip (any UTF-8 text, and
 * any bytes through `encodeBytes`), and read/write Hugging Face `tokenizer.json` files of byte-level BPE
 * models (GPT-2 style: `ByteLevel` pre-tokenizer with the GPT-2 regex, `BPE` model, `ByteLevel` decoder).
 *
 * Special tokens (by default one, "<|endoftext|>", id 0, the document separator of token shards) are matched
 * whole in the input before pre-tokenization, as Hugging Face does for added tokens; nothing is added
 * around the input (no BOS/EOS), so `decode(encode(s)) === s` for every well-formed string.
 *
 * Encoding speed comes from a cache pre-token → ids and a packed pair → rank map; each uncached word is
 * merged with a heap keyed by (rank, position), which is the Rust `Word::merge_all` order.
 */

import { createHash } from "node:crypto";
import { byteLevelToBytes, bytesToByteLevel, GPT2_PRETOKENIZE, utf8Runs } from "./byte_level.ts";
import {
  type BpeModel,
  escapeRegExp,
  MAX_VOCAB,
  pairKey,
  trainBpeModel,
  type TrainBpeOptions,
} from "./bpe_train.ts";
import { TokenizerError } from "./errors.ts";

export type { TrainBpeOptions } from "./bpe_train.ts";

/** Options a tokenizer.json may set that change encoding. */
export interface TokenizerOptions {
  /** HF ByteLevel `add_prefix_space`: prepend a space when the text does not start with whitespace. */
  addPrefixSpace?: boolean;
  /** HF BPE `ignore_merges`: a pre-token that is itself in the vocabulary becomes that one token. */
  ignoreMerges?: boolean;
  /** Where the tokenizer came from, for error messages. */
  source?: string;
}

const CACHE_LIMIT = 1 << 20; // pre-tokens; the cache is cleared when it grows past this (bounded memory)
const MAX_WORD_BYTES = 1 << 24; // heap keys pack the position into 24 bits

/**
 * A byte-level BPE tokenizer (GPT-2 style pre-tokenization): encode, decode, per-token text and
 * bytes, and Hugging Face tokenizer.json export. Build one with `trainBpe`, `loadTokenizer` or
 * `tokenizerFromHfJson`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainBpe } from "chi";
 *
 * const texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"];
 * const tok = trainBpe(texts, 280); // 256 bytes, "<|endoftext|>" and up to 23 merges
 * const ids = tok.encode("the cat sat");
 * assert.equal(tok.decode(ids), "the cat sat"); // byte-level: every text round-trips
 * assert.ok(ids.length < "the cat sat".length); // merged pairs take one id
 * console.log(Array.from(ids, (id) => tok.tokenText(id))); // e.g. ["the", " cat", " sat"]
 * ```
 */
export class Tokenizer {
  readonly vocabSize: number;
  readonly source: string;
  readonly addPrefixSpace: boolean;
  readonly ignoreMerges: boolean;
  /** Id of "<|endoftext|>" when the tokenizer has it, else null. */
  readonly endOfTextId: number | null;
  readonly #tokenBytes: (Uint8Array | undefined)[];
  readonly #merges: ReadonlyArray<readonly [number, number, number]>;
  readonly #specials: ReadonlyArray<{ id: number; content: string }>;
  readonly #byteIds: Int32Array;
  /** pairKey(a, b) → rank * MAX_VOCAB + result id. */
  readonly #ranks = new Map<number, number>();
  readonly #bytesToId = new Map<string, number>();
  readonly #specialSplit: RegExp | null;
  readonly #specialIds = new Map<string, number>();
  #cache = new Map<string, Int32Array>();
  #hash: string | null = null;

  constructor(model: BpeModel, opts: TokenizerOptions = {}) {
    this.source = opts.source ?? "tokenizer";
    this.addPrefixSpace = opts.addPrefixSpace ?? false;
    this.ignoreMerges = opts.ignoreMerges ?? false;
    this.#tokenBytes = model.tokenBytes;
    this.#merges = model.merges;
    this.#specials = model.specials;
    this.#byteIds = model.byteIds;
    this.vocabSize = model.tokenBytes.length;
    for (const [rank, [a, b, c]] of model.merges.entries()) {
      const k = pairKey(a, b);
      if (!this.#ranks.has(k)) this.#ranks.set(k, rank * MAX_VOCAB + c);
    }
    const specialIdSet = new Set(model.specials.map((s) => s.id));
    for (let id = 0; id < model.tokenBytes.length; id++) {
      const bytes = model.tokenBytes[id];
      if (bytes && !specialIdSet.has(id)) {
        const key = latin1(bytes);
        if (!this.#bytesToId.has(key)) this.#bytesToId.set(key, id);
      }
    }
    for (const s of model.specials) this.#specialIds.set(s.content, s.id);
    // Longest first so that a special token that is a prefix of another does not win.
    const alternatives = [...model.specials].sort((x, y) => y.content.length - x.content.length)
      .map((s) => escapeRegExp(s.content));
    this.#specialSplit = alternatives.length > 0 ? new RegExp(`(${alternatives.join("|")})`) : null;
    this.endOfTextId = this.#specialIds.get("<|endoftext|>") ?? null;
  }

  /** Token ids of a text. Special-token strings in the text become their special ids. */
  encode(text: string): Int32Array {
    const out = new IdBuffer(Math.max(16, text.length >> 2));
    if (this.addPrefixSpace && text.length > 0 && !/^\p{White_Space}/u.test(text)) text = " " + text;
    if (this.#specialSplit) {
      const parts = text.split(this.#specialSplit);
      for (let i = 0; i < parts.length; i++) {
        if (i % 2 === 1) out.push(this.#specialIds.get(parts[i])!);
        else if (parts[i].length > 0) this.#encodeOrdinary(parts[i], out);
      }
    } else {
      this.#encodeOrdinary(text, out);
    }
    return out.result();
  }

  /**
   * Token ids of arbitrary bytes: valid UTF-8 stretches are encoded as text, each stray byte becomes its
   * byte token, so `decodeBytes(encodeBytes(b))` equals `b` for every byte string.
   */
  encodeBytes(bytes: Uint8Array): Int32Array {
    const out = new IdBuffer(Math.max(16, bytes.length >> 2));
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    for (const run of utf8Runs(bytes)) {
      if (run.valid) {
        out.pushAll(this.encode(decoder.decode(bytes.subarray(run.start, run.end))));
      } else {
        out.push(this.#byteId(bytes[run.start]));
      }
    }
    return out.result();
  }

  /** Text of a sequence of ids; bytes that are not valid UTF-8 decode to U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(this.decodeBytes(ids));
  }

  /** Exact bytes of a sequence of ids. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.#bytesOf(ids[i]).length;
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.#bytesOf(ids[i]);
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  /** One token for display: its text when valid UTF-8, with stray bytes written as \xNN. */
  tokenText(id: number): string {
    const bytes = this.#bytesOf(id);
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    let s = "";
    for (const run of utf8Runs(bytes)) {
      s += run.valid
        ? decoder.decode(bytes.subarray(run.start, run.end))
        : `\\x${bytes[run.start].toString(16).padStart(2, "0")}`;
    }
    return s;
  }

  /** The bytes of one token (a copy). */
  tokenBytes(id: number): Uint8Array {
    return this.#bytesOf(id).slice();
  }

  /** Special tokens and their ids. */
  get specialTokens(): ReadonlyArray<{ id: number; content: string }> {
    return this.#specials;
  }

  /** Number of merges (rank order). */
  get mergeCount(): number {
    return this.#merges.length;
  }

  /** The merge of rank r as [left id, right id, result id]. */
  merge(rank: number): readonly [number, number, number] {
    const m = this.#merges[rank];
    if (!m) {
      throw new TokenizerError(`${this.source}: no merge of rank ${rank} (${this.#merges.length} merges)`);
    }
    return m;
  }

  /**
   * Stable hex SHA-256 of everything that decides encoding: token bytes by id, merges in order, special
   * tokens, and the two options. Equal for a tokenizer and its tokenizer.json round trip.
   */
  get hash(): string {
    if (this.#hash === null) {
      const canonical = JSON.stringify({
        kind: "byte-level-bpe/1",
        tokens: this.#tokenBytes.map((b) => (b ? bytesHex(b) : null)),
        merges: this.#merges.map(([a, b]) => [a, b]),
        specials: [...this.#specials].sort((x, y) => x.id - y.id).map((s) => [s.id, s.content]),
        addPrefixSpace: this.addPrefixSpace,
        ignoreMerges: this.ignoreMerges,
      });
      this.#hash = createHash("sha256").update(canonical).digest("hex");
    }
    return this.#hash;
  }

  /** A Hugging Face tokenizer.json (byte-level BPE, merges as "a b" strings for older readers too). */
  toHfJson(): string {
    const specialIds = new Set(this.#specials.map((s) => s.id));
    const vocab: Record<string, number> = {};
    for (let id = 0; id < this.#tokenBytes.length; id++) {
      const b = this.#tokenBytes[id];
      if (!b) continue;
      const key = specialIds.has(id) ? this.#specials.find((s) => s.id === id)!.content : bytesToByteLevel(b);
      vocab[key] = id;
    }
    const byteLevel = (addPrefixSpace: boolean) => ({
      type: "ByteLevel",
      add_prefix_space: addPrefixSpace,
      trim_offsets: true,
      use_regex: true,
    });
    const json = {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.#specials.map((s) => ({
        id: s.id,
        content: s.content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: byteLevel(this.addPrefixSpace),
      post_processor: { ...byteLevel(true), trim_offsets: false },
      decoder: byteLevel(true),
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: this.ignoreMerges,
        vocab,
        merges: this.#merges.map(([a, b]) =>
          `${bytesToByteLevel(this.#tokenBytes[a]!)} ${bytesToByteLevel(this.#tokenBytes[b]!)}`
        ),
      },
    };
    return JSON.stringify(json, null, 2) + "\n";
  }

  #bytesOf(id: number): Uint8Array {
    const b = Number.isInteger(id) ? this.#tokenBytes[id] : undefined;
    if (!b) {
      throw new TokenizerError(
        `${this.source}: token id ${id} is not in the vocabulary (size ${this.vocabSize})`,
      );
    }
    return b;
  }

  #byteId(byte: number): number {
    const id = this.#byteIds[byte];
    if (id < 0) {
      throw new TokenizerError(
        `${this.source}: byte 0x${
          byte.toString(16).padStart(2, "0")
        } has no token, so this text cannot be encoded`,
      );
    }
    return id;
  }

  #encodeOrdinary(text: string, out: IdBuffer): void {
    for (const m of text.matchAll(GPT2_PRETOKENIZE)) {
      const word = m[0];
      let ids = this.#cache.get(word);
      if (ids === undefined) {
        ids = this.#encodeWord(word);
        if (this.#cache.size >= CACHE_LIMIT) this.#cache = new Map();
        this.#cache.set(word, ids);
      }
      out.pushAll(ids);
    }
  }

  /** BPE on one pre-token: apply merges lowest rank first, ties leftmost (heap of rank·2^24 + position). */
  #encodeWord(word: string): Int32Array {
    const bytes = new TextEncoder().encode(word);
    const n = bytes.length;
    if (this.ignoreMerges) {
      const whole = this.#bytesToId.get(latin1(bytes));
      if (whole !== undefined) return Int32Array.of(whole);
    }
    if (n >= MAX_WORD_BYTES) {
      throw new TokenizerError(
        `${this.source}: a pre-token of ${n} bytes is too long to encode (limit ${MAX_WORD_BYTES})`,
      );
    }
    const sym = new Int32Array(n);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      sym[i] = this.#byteId(bytes[i]);
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    if (n === 1) return sym;
    const heap = new MinHeap();
    const pushPair = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const r = this.#ranks.get(pairKey(sym[i], sym[j]));
      if (r !== undefined) heap.push(Math.floor(r / MAX_VOCAB) * MAX_WORD_BYTES + i);
    };
    for (let i = 0; i + 1 < n; i++) pushPair(i);
    let alive = n;
    while (heap.size > 0) {
      const top = heap.pop();
      const i = top % MAX_WORD_BYTES;
      const j = next[i];
      if (sym[i] < 0 || j < 0) continue; // merged away since queued
      const r = this.#ranks.get(pairKey(sym[i], sym[j]));
      if (r === undefined || Math.floor(r / MAX_VOCAB) !== Math.floor(top / MAX_WORD_BYTES)) continue; // stale
      sym[i] = r % MAX_VOCAB;
      sym[j] = -1;
      const k = next[j];
      next[i] = k;
      if (k >= 0) prev[k] = i;
      alive--;
      if (prev[i] >= 0) pushPair(prev[i]);
      pushPair(i);
    }
    const out = new Int32Array(alive);
    for (let i = 0, o = 0; i >= 0 && o < alive; i = next[i]) out[o++] = sym[i];
    return out;
  }
}

/**
 * Trains a byte-level BPE tokenizer to `vocabSize` tokens (see bpe_train.ts for the exact procedure).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainBpe } from "chi";
 *
 * const texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"];
 * const tok = trainBpe(texts, 270, { minFrequency: 2 });
 * assert.ok(tok.vocabSize <= 270);
 * assert.equal(tok.endOfTextId, 0); // special tokens take the first ids, then the 256 bytes
 * ```
 */
export function trainBpe(texts: Iterable<string>, vocabSize: number, opts: TrainBpeOptions = {}): Tokenizer {
  return new Tokenizer(trainBpeModel(texts, vocabSize, opts), { source: "trained tokenizer" });
}

/**
 * Loads a Hugging Face tokenizer.json of a byte-level BPE model. `source` (usually the path) names the file
 * in errors. Unsupported pieces (normalizers, non-ByteLevel pre-tokenizers, dropout) are refused with an
 * error naming the field, rather than encoding differently from the original.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenizerFromHfJson, trainBpe } from "chi";
 *
 * const texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"];
 * const tok = trainBpe(texts, 280);
 * const again = tokenizerFromHfJson(tok.toHfJson(), "tokenizer.json"); // what Hugging Face's tokenizers reads
 * assert.deepEqual(again.encode("the dog"), tok.encode("the dog"));
 * assert.equal(again.hash, tok.hash);
 * ```
 */
export function tokenizerFromHfJson(json: string, source: string): Tokenizer {
  const fail = (field: string, msg: string): never => {
    throw new TokenizerError(`${source}: field "${field}" ${msg}`);
  };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new TokenizerError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) fail("(root)", "must be a JSON object");
  const model = doc.model;
  if (!isObject(model)) return fail("model", "must be an object");
  if (model.type !== undefined && model.type !== "BPE") {
    fail("model.type", `must be "BPE", got ${JSON.stringify(model.type)}`);
  }
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
    fail("model.dropout", "must be null (BPE dropout is not supported)");
  }
  for (const f of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
    if (model[f] !== undefined && model[f] !== null && model[f] !== "") {
      fail(`model.${f}`, "must be null for byte-level BPE");
    }
  }
  if (doc.normalizer !== undefined && doc.normalizer !== null) {
    fail("normalizer", "must be null (normalizers are not supported)");
  }
  let addPrefixSpace = false;
  const pre = doc.pre_tokenizer;
  if (pre !== undefined && pre !== null) {
    if (!isObject(pre) || pre.type !== "ByteLevel") {
      fail(
        "pre_tokenizer",
        `must be {"type": "ByteLevel"}, got ${JSON.stringify(isObject(pre) ? pre.type : pre)}`,
      );
    }
    const p = pre as Record<string, unknown>;
    if (p.use_regex === false) fail("pre_tokenizer.use_regex", "must be true (the GPT-2 split)");
    addPrefixSpace = p.add_prefix_space === true;
  }
  const decoder = doc.decoder;
  if (decoder !== undefined && decoder !== null && (!isObject(decoder) || decoder.type !== "ByteLevel")) {
    fail(
      "decoder",
      `must be {"type": "ByteLevel"}, got ${JSON.stringify(isObject(decoder) ? decoder.type : decoder)}`,
    );
  }
  const vocab = model.vocab;
  if (!isObject(vocab)) return fail("model.vocab", "must be an object token → id");

  const added = doc.added_tokens ?? [];
  if (!Array.isArray(added)) return fail("added_tokens", "must be an array");
  const specials: Array<{ id: number; content: string }> = [];
  for (const [i, t] of added.entries()) {
    if (!isObject(t) || typeof t.content !== "string" || t.content.length === 0 || !isId(t.id)) {
      fail(`added_tokens[${i}]`, "must have a non-empty string content and an integer id");
    }
    const tt = t as { id: number; content: string };
    specials.push({ id: tt.id, content: tt.content });
  }
  const specialById = new Map(specials.map((s) => [s.id, s.content]));

  const tokenBytes: (Uint8Array | undefined)[] = [];
  const encoder = new TextEncoder();
  for (const s of specials) tokenBytes[s.id] = encoder.encode(s.content);
  const idOf = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    if (!isId(id) || id >= MAX_VOCAB) {
      fail(`model.vocab["${token}"]`, `must be an integer id in [0, ${MAX_VOCAB}), got ${id}`);
    }
    const special = specialById.get(id as number);
    if (special !== undefined) {
      if (special !== token) {
        fail(`model.vocab["${token}"]`, `has id ${id}, which added_tokens gives to "${special}"`);
      }
      continue;
    }
    const bytes = byteLevelToBytes(token);
    if (bytes === null || bytes.length === 0) {
      fail(`model.vocab["${token}"]`, "contains a character outside the GPT-2 byte-level alphabet");
    }
    if (tokenBytes[id as number] !== undefined) fail(`model.vocab["${token}"]`, `reuses id ${id}`);
    tokenBytes[id as number] = bytes!;
    idOf.set(token, id as number);
  }
  const byteIds = new Int32Array(256).fill(-1);
  for (let id = 0; id < tokenBytes.length; id++) {
    const b = tokenBytes[id];
    if (b && b.length === 1 && !specialById.has(id) && byteIds[b[0]] < 0) byteIds[b[0]] = id;
  }

  const rawMerges = model.merges ?? [];
  if (!Array.isArray(rawMerges)) return fail("model.merges", "must be an array");
  const merges: Array<[number, number, number]> = [];
  for (const [i, m] of rawMerges.entries()) {
    let pair: unknown[];
    if (typeof m === "string") pair = m.split(" ");
    else if (Array.isArray(m)) pair = m;
    else return fail(`model.merges[${i}]`, `must be "left right" or ["left", "right"]`);
    if (pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      fail(`model.merges[${i}]`, `must name exactly two tokens, got ${JSON.stringify(m)}`);
    }
    const [l, r] = pair as [string, string];
    const a = idOf.get(l), b = idOf.get(r), c = idOf.get(l + r);
    if (a === undefined || b === undefined || c === undefined) {
      fail(`model.merges[${i}]`, `(${JSON.stringify(m)}) uses a token missing from model.vocab`);
    }
    merges.push([a!, b!, c!]);
  }
  // Holes in the id range are allowed (decoding them is an error), but the size counts up to the top id.
  return new Tokenizer({ tokenBytes: tokenBytes as Uint8Array[], merges, specials, byteIds }, {
    source,
    addPrefixSpace,
    ignoreMerges: model.ignore_merges === true,
  });
}

/**
 * Reads a tokenizer.json file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadTokenizer, trainBpe } from "chi";
 *
 * const path = `${await Deno.makeTempDir()}/tokenizer.json`;
 * await Deno.writeTextFile(path, trainBpe(["a small corpus", "a smaller corpus"], 270).toHfJson());
 * const tok = await loadTokenizer(path);
 * assert.equal(tok.decode(tok.encode("a small corpus")), "a small corpus");
 * ```
 */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new TokenizerError(`${path}: cannot read tokenizer (${(err as Error).message})`);
  }
  return tokenizerFromHfJson(text, path);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isId(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function bytesHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, "0");
  return s;
}

/** Growable Int32Array. */
class IdBuffer {
  #buf: Int32Array;
  #len = 0;
  constructor(capacity: number) {
    this.#buf = new Int32Array(capacity);
  }
  #reserve(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    const grown = new Int32Array(Math.max(this.#buf.length * 2, this.#len + extra));
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
  }
  push(id: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = id;
  }
  pushAll(ids: Int32Array): void {
    this.#reserve(ids.length);
    this.#buf.set(ids, this.#len);
    this.#len += ids.length;
  }
  result(): Int32Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Binary min-heap of numbers. */
class MinHeap {
  #a: number[] = [];
  get size(): number {
    return this.#a.length;
  }
  push(x: number): void {
    const a = this.#a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.#a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
