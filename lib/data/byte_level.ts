/**
 * The byte-level conventions of GPT-2 and Hugging Face's `ByteLevel` pre-tokenizer: every byte has a
 * printable stand-in character (so vocabularies are JSON strings), and text is split into "words" by the
 * GPT-2 regex before BPE. Also: splitting arbitrary bytes into valid UTF-8 runs and stray bytes, so that
 * encoding bytes that are not UTF-8 still round-trips exactly.
 */

/**
 * GPT-2's `bytes_to_unicode`: printable Latin-1 bytes map to themselves; the other 68 bytes map to
 * U+0100.. in byte order. Index = byte, value = the stand-in character.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable(b) ? b : next++);
  return Object.freeze(out);
})();

/** Inverse of BYTE_TO_CHAR: stand-in character → byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** A token's bytes as its byte-level string (the form used as keys in tokenizer.json). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** Byte-level string → bytes; null when a character is outside the 256-character alphabet. */
export function byteLevelToBytes(text: string): Uint8Array | null {
  const out: number[] = [];
  for (const ch of text) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * The GPT-2 pre-tokenizer regex, with `\s` replaced by `\p{White_Space}` so that JavaScript splits like
 * the Rust `regex` crate (they disagree on U+0085 and U+FEFF for `\s`).
 */
export const GPT2_PRETOKENIZE =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** Splits text into GPT-2 pre-tokens. The pieces concatenate back to the input exactly. */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_PRETOKENIZE) ?? [];
}

/** A run of bytes: a valid UTF-8 stretch [start, end) or one stray byte that starts no valid sequence. */
export interface Utf8Run {
  start: number;
  end: number;
  valid: boolean;
}

/** Length of the valid UTF-8 sequence starting at i (RFC 3629: no overlongs, surrogates, > U+10FFFF), or 0. */
export function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) =>
    i + k < bytes.length && bytes[i + k] >= lo && bytes[i + k] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80, hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80, hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** Splits bytes into maximal valid UTF-8 runs and single invalid bytes, in order, covering every byte. */
export function utf8Runs(bytes: Uint8Array): Utf8Run[] {
  const runs: Utf8Run[] = [];
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = utf8SequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > runStart) runs.push({ start: runStart, end: i, valid: true });
    runs.push({ start: i, end: i + 1, valid: false });
    i++;
    runStart = i;
  }
  if (i > runStart) runs.push({ start: runStart, end: i, valid: true });
  return runs;
}
