import assert from "node:assert/strict";
import { BYTE_TO_CHAR, byteLevelToBytes, preTokenize, utf8Runs } from "../lib/data/byte_level.ts";
import { TokenizerError } from "../lib/data/errors.ts";
import { tokenizerFromHfJson, trainBpe } from "../lib/data/tokenizer.ts";
import { Rng } from "../lib/util/random.ts";

const enc = new TextEncoder();

/** Id the trainer gives byte b when there are `nSpecial` special tokens: stand-ins sorted by code point. */
function trainedByteId(b: number, nSpecial = 0): number {
  const order = Array.from({ length: 256 }, (_, x) => x).sort(
    (x, y) => BYTE_TO_CHAR[x].codePointAt(0)! - BYTE_TO_CHAR[y].codePointAt(0)!,
  );
  return nSpecial + order.indexOf(b);
}

/** A GPT-2 style tokenizer.json: the 256 byte stand-ins at ids 0..255 in byte order, then merged tokens. */
function handMadeHfJson(merges: string[], extra: Record<string, unknown> = {}): string {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[BYTE_TO_CHAR[b]] = b;
  let next = 256;
  for (const m of merges) {
    const [l, r] = m.split(" ");
    if (vocab[l + r] === undefined) vocab[l + r] = next++;
  }
  return JSON.stringify({
    added_tokens: [{ id: next, content: "<|endoftext|>", special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
    decoder: { type: "ByteLevel" },
    model: { type: "BPE", vocab: { ...vocab, "<|endoftext|>": next }, merges, ...extra },
  });
}

function randomText(rng: Rng, length: number): string {
  const pools = [
    "abcdefghij klmnop QRSTUV 0123456789 .,;:!?'\"()[]{}",
    "\n\r\t \u00a0\u0085\ufeff\u2003\u3000",
    "éèüßøñçÅΩπЖжא日本語中文한국어",
    "😀🎉👍🏽🇯🇵\u0301\u200d",
  ];
  let s = "";
  for (let i = 0; i < length; i++) {
    const pool = [...pools[rng.weighted([6, 2, 2, 1])]];
    s += rng.pick(pool);
  }
  return s;
}

Deno.test("BYTE_TO_CHAR is GPT-2's bytes_to_unicode (space→Ġ, newline→Ċ, 0→Ā) and invertible", () => {
  assert.equal(BYTE_TO_CHAR[32], "Ġ");
  assert.equal(BYTE_TO_CHAR[10], "Ċ");
  assert.equal(BYTE_TO_CHAR[0], "Ā");
  assert.equal(BYTE_TO_CHAR[65], "A");
  assert.equal(BYTE_TO_CHAR[0xad], "Ń"); // soft hyphen, the last of the 68 remapped bytes: U+0100 + 67
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.deepEqual(byteLevelToBytes("ĠhiĊ"), Uint8Array.of(32, 104, 105, 10));
  assert.equal(byteLevelToBytes("\u4e00"), null);
});

Deno.test("preTokenize splits like GPT-2, including runs of spaces and contractions", () => {
  assert.deepEqual(preTokenize("Hello world's  end\n"), ["Hello", " world", "'s", " ", " end", "\n"]);
  assert.deepEqual(preTokenize("x = f(12)+3"), ["x", " =", " f", "(", "12", ")+", "3"]);
  // U+0085 and U+FEFF: whitespace for Rust's \s-equivalent here, so they split like spaces.
  assert.deepEqual(preTokenize("a\u0085b"), ["a", "\u0085", "b"]);
  const text = "Mixed: 日本語 text, 😀 emoji\t\ttabs.\r\n";
  assert.equal(preTokenize(text).join(""), text);
});

Deno.test("utf8Runs marks stray bytes and keeps valid sequences, covering every byte", () => {
  const bytes = Uint8Array.of(0x61, 0xe6, 0x97, 0xa5, 0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0x62);
  const runs = utf8Runs(bytes);
  assert.deepEqual(runs.map((r) => [r.start, r.end, r.valid]), [
    [0, 4, true], // "a日"
    [4, 5, false], // 0xff
    [5, 6, false], // overlong 0xc0 0x80
    [6, 7, false],
    [7, 8, false], // 0xed 0xa0 0x80 is a surrogate
    [8, 9, false],
    [9, 10, false],
    [10, 11, true],
  ]);
});

Deno.test("trainBpe learns the most frequent pair first, ties to the smaller id pair", () => {
  // "ab ab ab": (a,b) ×3, (Ġ,a) ×2 → merge a+b, then Ġ+ab.
  const t1 = trainBpe(["ab ab ab"], 258, { specialTokens: [], minFrequency: 0 });
  assert.equal(t1.mergeCount, 2);
  const a = trainedByteId(0x61), b = trainedByteId(0x62), sp = trainedByteId(0x20);
  assert.deepEqual(t1.merge(0), [a, b, 256]);
  assert.deepEqual(t1.merge(1), [sp, 256, 257]);
  assert.deepEqual(Array.from(t1.encode("ab ab")), [256, 257]);
  // "ab cd": every pair once; order by ids: (a,b) < (c,d) < (Ġ,cd).
  const t2 = trainBpe(["ab cd"], 259, { specialTokens: [], minFrequency: 0 });
  const c = trainedByteId(0x63), d = trainedByteId(0x64);
  assert.deepEqual([t2.merge(0), t2.merge(1), t2.merge(2)], [[a, b, 256], [c, d, 257], [sp, 257, 258]]);
});

Deno.test("trainBpe puts special tokens first, stops at minFrequency, and validates vocabSize", () => {
  const t = trainBpe(["ab ab ab xy"], 300);
  assert.equal(t.endOfTextId, 0);
  assert.equal(t.tokenText(0), "<|endoftext|>");
  // Only pairs seen ≥ 2 times merge: (a,b) and (Ġ,ab); so the vocabulary stops below the target.
  assert.equal(t.mergeCount, 2);
  assert.equal(t.vocabSize, 259);
  assert.throws(() => trainBpe(["x"], 100), TokenizerError);
});

Deno.test("Tokenizer.encode/decode round-trips random Unicode text exactly", () => {
  const rng = new Rng(1);
  const corpus = Array.from({ length: 40 }, () => randomText(rng, 300));
  const tok = trainBpe(corpus, 600);
  assert.ok(tok.vocabSize > 400);
  for (let i = 0; i < 50; i++) {
    const s = randomText(rng, 1 + rng.int(400));
    assert.equal(tok.decode(tok.encode(s)), s);
  }
  assert.equal(tok.decode(tok.encode("")), "");
  const withEot = "first doc<|endoftext|>second";
  const ids = tok.encode(withEot);
  assert.ok(Array.from(ids).includes(0));
  assert.equal(tok.decode(ids), withEot);
});

Deno.test("Tokenizer.encodeBytes/decodeBytes round-trip arbitrary bytes, including invalid UTF-8", () => {
  const rng = new Rng(2);
  const tok = trainBpe(["some text to learn a few merges from, some text"], 300);
  for (let i = 0; i < 30; i++) {
    const bytes = new Uint8Array(rng.int(200));
    for (let j = 0; j < bytes.length; j++) bytes[j] = rng.int(256);
    assert.deepEqual(tok.decodeBytes(tok.encodeBytes(bytes)), bytes);
  }
  assert.equal(tok.tokenText(tok.encodeBytes(Uint8Array.of(0xff))[0]), "\\xff");
});

Deno.test("Tokenizer applies loaded merges by rank, not by position", () => {
  const lowFirst = tokenizerFromHfJson(handMadeHfJson(["e l", "l l"]), "t1.json");
  const llFirst = tokenizerFromHfJson(handMadeHfJson(["l l", "e l"]), "t2.json");
  const show = (t: typeof lowFirst, s: string) => Array.from(t.encode(s), (id) => t.tokenText(id));
  assert.deepEqual(show(lowFirst, "ell"), ["el", "l"]);
  assert.deepEqual(show(llFirst, "ell"), ["e", "ll"]);
  const hello = tokenizerFromHfJson(
    handMadeHfJson(["h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o"]),
    "t3.json",
  );
  assert.deepEqual(show(hello, "hello wow"), ["hello", " wo", "w"]);
  // Byte ids of a GPT-2 style file: "A" is byte 65 → id 65.
  assert.deepEqual(Array.from(hello.encode("A")), [65]);
  // "aaa" with merge "a a": leftmost first → ["aa", "a"].
  const aa = tokenizerFromHfJson(handMadeHfJson(["a a"]), "t4.json");
  assert.deepEqual(show(aa, "aaaaa"), ["aa", "aa", "a"]);
});

Deno.test("tokenizerFromHfJson reads merges as strings or pairs and honours add_prefix_space and ignore_merges", () => {
  const asPairs = JSON.parse(handMadeHfJson(["h e", "l l"]));
  asPairs.model.merges = [["h", "e"], ["l", "l"]];
  const t = tokenizerFromHfJson(JSON.stringify(asPairs), "pairs.json");
  assert.deepEqual(Array.from(t.encode("hell"), (id) => t.tokenText(id)), ["he", "ll"]);
  const prefixed = JSON.parse(handMadeHfJson(["Ġ h"]));
  prefixed.pre_tokenizer.add_prefix_space = true;
  const tp = tokenizerFromHfJson(JSON.stringify(prefixed), "prefix.json");
  assert.deepEqual(Array.from(tp.encode("h"), (id) => tp.tokenText(id)), [" h"]);
  // ignore_merges: a word in the vocabulary is one token even when no merge chain builds it.
  const ig = JSON.parse(handMadeHfJson([]));
  ig.model.vocab["xyz"] = 400;
  ig.model.ignore_merges = true;
  const ti = tokenizerFromHfJson(JSON.stringify(ig), "ignore.json");
  assert.deepEqual(Array.from(ti.encode("xyz")), [400]);
});

Deno.test("Tokenizer.toHfJson round-trips: same hash, same encodings, same vocabulary", () => {
  const rng = new Rng(3);
  const corpus = Array.from({ length: 20 }, () => randomText(rng, 200));
  const tok = trainBpe(corpus, 500);
  const back = tokenizerFromHfJson(tok.toHfJson(), "roundtrip.json");
  assert.equal(back.hash, tok.hash);
  assert.match(tok.hash, /^[0-9a-f]{64}$/);
  assert.equal(back.vocabSize, tok.vocabSize);
  for (const s of corpus.slice(0, 5)) assert.deepEqual(back.encode(s), tok.encode(s));
  const other = trainBpe(corpus, 300);
  assert.notEqual(other.hash, tok.hash);
  const json = JSON.parse(tok.toHfJson());
  assert.equal(json.model.type, "BPE");
  assert.equal(json.pre_tokenizer.type, "ByteLevel");
  assert.equal(json.model.vocab["<|endoftext|>"], 0);
});

Deno.test("tokenizerFromHfJson and decode give errors naming the file and field", () => {
  type HfDoc = Record<string, unknown> & {
    model: Record<string, unknown> & { vocab: Record<string, unknown> };
  };
  const bad = (mutate: (j: HfDoc) => void) => {
    const j = JSON.parse(handMadeHfJson(["h e"]));
    mutate(j);
    return JSON.stringify(j);
  };
  assert.throws(() => tokenizerFromHfJson("{", "x.json"), /x\.json: not valid JSON/);
  assert.throws(
    () => tokenizerFromHfJson(bad((j) => j.model.type = "WordPiece"), "w.json"),
    /w\.json: field "model\.type"/,
  );
  assert.throws(
    () => tokenizerFromHfJson(bad((j) => j.normalizer = { type: "NFC" }), "n.json"),
    /n\.json: field "normalizer"/,
  );
  assert.throws(
    () => tokenizerFromHfJson(bad((j) => j.model.merges = ["q z"]), "m.json"),
    /m\.json: field "model\.merges\[0\]"/,
  );
  assert.throws(
    () => tokenizerFromHfJson(bad((j) => j.model.vocab["日"] = 999), "v.json"),
    /field "model\.vocab\["日"\]" contains a character outside/,
  );
  assert.throws(
    () => tokenizerFromHfJson(bad((j) => j.pre_tokenizer = { type: "Whitespace" }), "p.json"),
    (e: unknown) => e instanceof TokenizerError && /p\.json: field "pre_tokenizer"/.test(e.message),
  );
  const t = tokenizerFromHfJson(handMadeHfJson([]), "ok.json");
  assert.throws(() => t.decode([100000]), /ok\.json: token id 100000 is not in the vocabulary/);
  // A vocabulary without some byte cannot encode it: the error names the byte.
  const missing = JSON.parse(handMadeHfJson([]));
  delete missing.model.vocab[BYTE_TO_CHAR[0x7a]];
  const tm = tokenizerFromHfJson(JSON.stringify(missing), "missing.json");
  assert.throws(() => tm.encode("z"), /missing\.json: byte 0x7a has no token/);
  assert.deepEqual(enc.encode("ok"), tm.decodeBytes(tm.encode("ok")));
});
