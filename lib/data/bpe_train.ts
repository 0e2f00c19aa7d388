/**
 * Byte-level BPE training (Sennrich et al. 2016; GPT-2's byte-level variant), following the Hugging Face
 * `BpeTrainer` so the merges come out in the same order: special tokens get the first ids, then the 256
 * byte stand-ins sorted by code point, then one new token per merge. Each step merges the most frequent
 * adjacent pair, ties going to the smaller (left id, right id). A merge whose string already exists
 * reuses that id (so the vocabulary can grow by less than one per merge, as in the Rust trainer).
 */

import { BYTE_TO_CHAR, preTokenize } from "./byte_level.ts";
import { TokenizerError } from "./errors.ts";

/** Vocabulary ids must fit in 21 bits so that a pair packs into one exact double key. */
export const MAX_VOCAB = 1 << 21;

/** Packs an ordered id pair into one number (exact: < 2^42). Smaller key ⇔ lexicographically smaller pair. */
export function pairKey(a: number, b: number): number {
  return a * MAX_VOCAB + b;
}

/** The learned model: bytes of every token by id, and the merges in rank order as [left, right, result]. */
export interface BpeModel {
  tokenBytes: Uint8Array[];
  merges: Array<[number, number, number]>;
  /** Special tokens (never merged, matched whole in input text), with their ids. */
  specials: Array<{ id: number; content: string }>;
  /** Byte value → token id. */
  byteIds: Int32Array;
}

export interface TrainBpeOptions {
  /** Special tokens given the first ids; default ["<|endoftext|>"] (used as the document separator). */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged (default 2: a merge seen once does not generalize). */
  minFrequency?: number;
}

/** Counts pre-tokens ("words") over all texts. */
export function countWords(texts: Iterable<string>, specials: readonly string[] = []): Map<string, number> {
  const counts = new Map<string, number>();
  const specialSplit = specials.length > 0 ? new RegExp(specials.map(escapeRegExp).join("|"), "g") : null;
  for (const text of texts) {
    const parts = specialSplit ? text.split(specialSplit) : [text];
    for (const part of parts) {
      for (const w of preTokenize(part)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Max-heap of (count, pair key): larger count first, then smaller key. */
class PairHeap {
  counts: number[] = [];
  keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  #above(i: number, j: number): boolean {
    const ci = this.counts[i], cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  #swap(i: number, j: number): void {
    const c = this.counts[i], k = this.keys[i];
    this.counts[i] = this.counts[j];
    this.keys[i] = this.keys[j];
    this.counts[j] = c;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#above(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }

  /** Removes the top; returns [count, key]. */
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!, lastK = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      const n = this.counts.length;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < n && this.#above(l, m)) m = l;
        if (r < n && this.#above(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Token bytes by id, the byte → id table, and an index from a token's bytes back to its id. */
interface Vocab {
  tokenBytes: Uint8Array[];
  byteIds: Int32Array;
  /** Latin-1 string of a token's bytes → its id (non-special tokens only). */
  idOfBytes: Map<string, number>;
}

/** The corpus as distinct words (token id sequences), each with its count. */
interface Words {
  words: number[][];
  counts: number[];
}

/** Adjacent-pair counts, the words each pair occurs in, and a heap to find the most frequent pair. */
interface PairIndex {
  pairCounts: Map<number, number>;
  where: Map<number, Set<number>>;
  heap: PairHeap;
}

/** Trains byte-level BPE on the word counts until the vocabulary has `vocabSize` tokens (or no pair is left). */
export function trainBpeModel(
  texts: Iterable<string>,
  vocabSize: number,
  opts: TrainBpeOptions = {},
): BpeModel {
  const specialTokens = opts.specialTokens ?? ["<|endoftext|>"];
  const minFrequency = opts.minFrequency ?? 2;
  validateTrainArgs(vocabSize, specialTokens);
  const vocab = initialVocab(specialTokens);
  const corpus = wordsAsIds(countWords(texts, specialTokens), vocab.byteIds);
  const pairs = indexPairs(corpus);
  const merges: Array<[number, number, number]> = [];
  while (vocab.tokenBytes.length < vocabSize) {
    const key = nextPair(pairs, minFrequency);
    if (key === null) break;
    const a = Math.floor(key / MAX_VOCAB), b = key % MAX_VOCAB;
    const c = mergedTokenId(vocab, a, b);
    merges.push([a, b, c]);
    applyMerge(corpus, pairs, a, b, c);
  }
  return {
    tokenBytes: vocab.tokenBytes,
    merges,
    specials: specialTokens.map((content, id) => ({ id, content })),
    byteIds: vocab.byteIds,
  };
}

function validateTrainArgs(vocabSize: number, specialTokens: readonly string[]): void {
  const base = specialTokens.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < base || vocabSize > MAX_VOCAB) {
    throw new TokenizerError(
      `vocabSize must be an integer in [${base}, ${MAX_VOCAB}] (256 bytes + ${specialTokens.length} special), got ${vocabSize}`,
    );
  }
  if (new Set(specialTokens).size !== specialTokens.length || specialTokens.some((s) => s.length === 0)) {
    throw new TokenizerError(
      `specialTokens must be distinct non-empty strings, got ${JSON.stringify(specialTokens)}`,
    );
  }
}

/** Ids: specials, then bytes ordered by their stand-in character's code point (the HF trainer's order). */
function initialVocab(specialTokens: readonly string[]): Vocab {
  const tokenBytes: Uint8Array[] = specialTokens.map((s) => new TextEncoder().encode(s));
  const byteIds = new Int32Array(256);
  const byteOrder = Array.from({ length: 256 }, (_, b) => b).sort(
    (x, y) => BYTE_TO_CHAR[x].codePointAt(0)! - BYTE_TO_CHAR[y].codePointAt(0)!,
  );
  for (const b of byteOrder) {
    byteIds[b] = tokenBytes.length;
    tokenBytes.push(Uint8Array.of(b));
  }
  const idOfBytes = new Map<string, number>();
  for (let id = specialTokens.length; id < tokenBytes.length; id++) {
    idOfBytes.set(String.fromCharCode(...tokenBytes[id]), id);
  }
  return { tokenBytes, byteIds, idOfBytes };
}

function wordsAsIds(wordCounts: Map<string, number>, byteIds: Int32Array): Words {
  const words: number[][] = [];
  const counts: number[] = [];
  const encoder = new TextEncoder();
  for (const [w, c] of wordCounts) {
    words.push(Array.from(encoder.encode(w), (b) => byteIds[b]));
    counts.push(c);
  }
  return { words, counts };
}

function indexPairs({ words, counts }: Words): PairIndex {
  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi], c = counts[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i], w[i + 1]);
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + c);
      addOccurrence(where, k, wi);
    }
  }
  const heap = new PairHeap();
  for (const [k, c] of pairCounts) heap.push(c, k);
  return { pairCounts, where, heap };
}

function addOccurrence(where: Map<number, Set<number>>, key: number, wordIndex: number): void {
  let s = where.get(key);
  if (!s) where.set(key, s = new Set());
  s.add(wordIndex);
}

/** The key of the most frequent pair, or null when none is left at `minFrequency` or more. */
function nextPair({ pairCounts, heap }: PairIndex, minFrequency: number): number | null {
  while (heap.size > 0) {
    const [count, key] = heap.pop();
    const current = pairCounts.get(key) ?? 0;
    if (count !== current) {
      if (current > 0) heap.push(current, key); // stale entry: counts only fall, so re-queue the true value
      continue;
    }
    return count < 1 || count < minFrequency ? null : key;
  }
  return null;
}

/** The id of the token a + b, adding it to the vocabulary unless its bytes already have one. */
function mergedTokenId(vocab: Vocab, a: number, b: number): number {
  const { tokenBytes, idOfBytes } = vocab;
  const merged = new Uint8Array(tokenBytes[a].length + tokenBytes[b].length);
  merged.set(tokenBytes[a]);
  merged.set(tokenBytes[b], tokenBytes[a].length);
  const mergedKey = String.fromCharCode(...merged);
  let c = idOfBytes.get(mergedKey);
  if (c === undefined) {
    c = tokenBytes.length;
    tokenBytes.push(merged);
    idOfBytes.set(mergedKey, c);
  }
  return c;
}

/**
 * Replaces the pair (a, b) by `c` in every word holding it, updating the pair counts incrementally:
 * each such word's old pairs are subtracted and its new pairs added, and only pairs holding `c` are new to
 * the heap (others keep their stale entries, which nextPair corrects lazily).
 */
function applyMerge({ words, counts }: Words, pairs: PairIndex, a: number, b: number, c: number): void {
  const { pairCounts, where, heap } = pairs;
  const key = pairKey(a, b);
  const touched = new Set<number>();
  for (const wi of where.get(key) ?? []) {
    const w = words[wi], wc = counts[wi];
    if (!holdsPair(w, a, b)) continue;
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i], w[i + 1]);
      pairCounts.set(k, pairCounts.get(k)! - wc);
    }
    const out = mergePair(w, a, b, c);
    words[wi] = out;
    for (let i = 0; i + 1 < out.length; i++) {
      const k = pairKey(out[i], out[i + 1]);
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + wc);
      if (out[i] === c || out[i + 1] === c) {
        touched.add(k);
        addOccurrence(where, k, wi);
      }
    }
  }
  where.delete(key);
  pairCounts.delete(key);
  for (const k of touched) {
    const tc = pairCounts.get(k)!;
    if (tc > 0) heap.push(tc, k);
  }
}

function holdsPair(w: readonly number[], a: number, b: number): boolean {
  for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) return true;
  return false;
}

/** The word with each non-overlapping (a, b), left to right, replaced by c. */
function mergePair(w: readonly number[], a: number, b: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < w.length; i++) {
    if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
      out.push(c);
      i++;
    } else out.push(w[i]);
  }
  return out;
}
