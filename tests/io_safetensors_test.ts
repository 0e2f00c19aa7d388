import assert from "node:assert/strict";
import {
  bf16BitsToNumber,
  encodeSafetensors,
  f16BitsToNumber,
  readSafetensors,
  SafetensorsError,
  SafetensorsFile,
  writeSafetensors,
} from "../lib/model/safetensors.ts";

/** Builds a safetensors file by hand: exact header text (no padding unless given), then raw data bytes. */
function handBuilt(header: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint16(2 * i, v, true));
  return out;
}

function throwsNaming(fn: () => unknown, file: string, ...fragments: Array<string | RegExp>): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SafetensorsError, `expected SafetensorsError, got ${err}`);
    assert.ok(err.message.startsWith(file), `message should name the file: ${err.message}`);
    for (const f of fragments) {
      if (typeof f === "string") assert.ok(err.message.includes(f), `"${f}" not in: ${err.message}`);
      else assert.match(err.message, f);
    }
    return true;
  });
}

Deno.test("writeSafetensors/readSafetensors: round-trip of every written dtype with metadata", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_st_" });
  try {
    const path = `${dir}/all.safetensors`;
    const f32 = Float32Array.from([1.5, -2.25, 3.4028234663852886e38, 1e-45, 0, -0]);
    const f64 = Float64Array.from([Math.PI, -1e300, 5e-324]);
    const i32 = Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1]);
    const u32 = Uint32Array.from([0, 2 ** 32 - 1, 12345]);
    const i64 = BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]);
    const u8 = Uint8Array.from([0, 7, 255]);
    // u8 first so that every later tensor starts unaligned relative to the data start.
    await writeSafetensors(path, [
      ["u8", { shape: [3], data: u8 }],
      ["f32", { shape: [2, 3], data: f32 }],
      ["f64", { shape: [3], data: f64 }],
      ["i32", { shape: [3, 1], data: i32 }],
      ["u32", { shape: [3], data: u32 }],
      ["i64", { shape: [3], data: i64 }],
      ["empty", { shape: [0, 4], data: new Float32Array(0) }],
      ["scalar", { shape: [], data: Float32Array.of(7) }],
    ], { note: "hello", "ünï": "cødé" });
    const file = await readSafetensors(path);
    assert.deepEqual(file.metadata, { note: "hello", "ünï": "cødé" });
    assert.deepEqual(file.names(), ["u8", "f32", "f64", "i32", "u32", "i64", "empty", "scalar"]);
    assert.deepEqual(file.entry("f32"), { name: "f32", dtype: "F32", shape: [2, 3], begin: 3, end: 27 });
    assert.deepEqual(file.tensor("f32"), f32);
    assert.ok(Object.is(file.float32("f32")[5], -0));
    assert.deepEqual(file.tensor("f64"), f64);
    assert.deepEqual(file.tensor("i32"), i32);
    assert.deepEqual(file.tensor("u32"), u32);
    assert.deepEqual(file.tensor("i64"), i64);
    assert.deepEqual(file.tensor("u8"), u8);
    assert.deepEqual(file.tensor("empty"), new Float32Array(0));
    assert.deepEqual(file.entry("scalar").shape, []);
    assert.deepEqual(file.tensor("scalar"), Float32Array.of(7));
    // The returned arrays are copies.
    (file.tensor("f32") as Float32Array)[0] = 99;
    assert.equal(file.float32("f32")[0], 1.5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeSafetensors: header padded with spaces to a multiple of 8, contiguous offsets", () => {
  for (const name of ["a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"]) {
    const bytes = encodeSafetensors({ [name]: { shape: [2], data: Float32Array.of(1, 2) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0, `header length ${n} for name ${name}`);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.match(header, /^\{.*\} *$/);
    assert.equal(JSON.parse(header)[name].data_offsets.join(","), "0,8");
    assert.equal(bytes.length, 8 + n + 8);
  }
  const bytes = encodeSafetensors([
    ["x", { shape: [3], data: Float32Array.of(1, 2, 3) }],
    ["y", { shape: [2], data: Int32Array.of(4, 5) }],
  ]);
  const file = SafetensorsFile.parse(bytes, "mem");
  assert.deepEqual(file.entries.map((e) => [e.begin, e.end]), [[0, 12], [12, 20]]);
  assert.equal(file.metadata.format, undefined);
});

Deno.test("encodeSafetensors: refuses data that does not match the shape or the dtype", () => {
  assert.throws(
    () => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }, {}, "out.safetensors"),
    /out\.safetensors: tensor "w": shape \[2, 2\] has 4 elements but the data has 3/,
  );
  assert.throws(
    () => encodeSafetensors({ w: { shape: [2], data: new Int32Array(2), dtype: "F32" } }, {}, "o"),
    /tensor "w": dtype F32 needs a Float32Array, got a Int32Array/,
  );
});

Deno.test("SafetensorsFile.float32: hand-built F16 and BF16 values (unaligned data) give known answers", () => {
  // F16: 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), +inf, 0.333251953125 (0x3555).
  const f16 = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0x3555];
  const f16Want = [1, -2, 0.5, 65504, 2 ** -24, Infinity, 0.333251953125];
  // BF16: 1, -2, 3.140625 (0x4049), largest finite 0x7f7f, 2^-133 (subnormal 0x0001), -0.
  const bf16 = [0x3f80, 0xc000, 0x4049, 0x7f7f, 0x0001, 0x8000];
  const bf16Want = [1, -2, 3.140625, 3.3895313892515355e38, 2 ** -133, -0];
  const data = new Uint8Array([...u16le(f16), ...u16le(bf16)]);
  const header = JSON.stringify({
    __metadata__: { source: "hand" },
    h: { dtype: "F16", shape: [7], data_offsets: [0, 14] },
    b: { dtype: "BF16", shape: [2, 3], data_offsets: [14, 26] },
  }) + " ";
  const bytes = handBuilt(header, data);
  assert.equal((8 + new TextEncoder().encode(header).length) % 2, 1, "data should start at an odd offset");
  const file = SafetensorsFile.parse(bytes, "hand.safetensors");
  assert.deepEqual([...file.float32("h")], f16Want);
  assert.deepEqual([...file.float32("b")], bf16Want);
  assert.ok(Object.is(file.float32("b")[5], -0));
  assert.deepEqual(file.metadata, { source: "hand" });
  // The scalar converters agree with the typed-array path.
  assert.deepEqual(f16.map(f16BitsToNumber), f16Want);
  assert.deepEqual(bf16.map(bf16BitsToNumber), bf16Want);
  assert.ok(Number.isNaN(f16BitsToNumber(0x7e00)));
});

Deno.test("SafetensorsFile.float32: F64 rounds to f32 and an out-of-range value is an error naming it", () => {
  const ok = encodeSafetensors({ d: { shape: [2], data: Float64Array.of(0.1, -1e-50) } });
  assert.deepEqual([...SafetensorsFile.parse(ok, "a").float32("d")], [Math.fround(0.1), -0]);
  const bad = encodeSafetensors({ d: { shape: [3], data: Float64Array.of(1, 1e39, Infinity) } });
  throwsNaming(
    () => SafetensorsFile.parse(bad, "big.safetensors").float32("d"),
    "big.safetensors",
    'tensor "d"',
    "element 1",
  );
  const ints = encodeSafetensors({ n: { shape: [1], data: Int32Array.of(1) } });
  throwsNaming(
    () => SafetensorsFile.parse(ints, "i.safetensors").float32("n"),
    "i.safetensors",
    "not a floating-point",
  );
});

Deno.test("readSafetensors: malformed files give errors naming the file and the problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chi_st_bad_" });
  try {
    const good = encodeSafetensors({ w: { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } });
    const cases: Array<[string, Uint8Array, Array<string | RegExp>]> = [
      ["empty", new Uint8Array(0), ["truncated header", "0 bytes"]],
      ["short", new Uint8Array([1, 2, 3]), ["truncated header"]],
      [
        "toolong",
        (() => {
          const b = good.slice();
          new DataView(b.buffer).setBigUint64(0, 1000n, true);
          return b;
        })(),
        ["header length 1000 runs past the end of the file"],
      ],
      [
        "huge",
        (() => {
          const b = good.slice();
          new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true);
          return b;
        })(),
        ["runs past the end of the file"],
      ],
      ["badjson", handBuilt("{not json", new Uint8Array(0)), ["header is not valid UTF-8 JSON"]],
      ["array", handBuilt("[1,2]", new Uint8Array(0)), ["header is not a JSON object"]],
      [
        "mismatch",
        handBuilt(
          JSON.stringify({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }),
          new Uint8Array(16),
        ),
        ['tensor "w"', "span 12 bytes but dtype F32 × shape [2, 2] needs 16"],
      ],
      ["truncated", good.subarray(0, good.length - 4), [
        'tensor "w"',
        "run past the end of the data section",
        "truncated",
      ]],
      [
        "overlap",
        handBuilt(
          JSON.stringify({
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
          }),
          new Uint8Array(12),
        ),
        ['tensor "b"', 'overlap those of tensor "a"'],
      ],
      [
        "baddtype",
        handBuilt(
          JSON.stringify({ w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }),
          new Uint8Array(1),
        ),
        ['tensor "w"', 'unsupported dtype "F8_E4M3"'],
      ],
      [
        "badshape",
        handBuilt(
          JSON.stringify({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }),
          new Uint8Array(4),
        ),
        ['tensor "w"', "shape must be an array of non-negative integers"],
      ],
      [
        "badoffsets",
        handBuilt(
          JSON.stringify({ w: { dtype: "F32", shape: [1], data_offsets: [8, 4] } }),
          new Uint8Array(8),
        ),
        ['tensor "w"', "data_offsets must be [begin, end]"],
      ],
      ["badmeta", handBuilt(JSON.stringify({ __metadata__: { step: 5 } }), new Uint8Array(0)), [
        '"__metadata__" value of "step" must be a string',
      ]],
    ];
    for (const [name, bytes, fragments] of cases) {
      const path = `${dir}/${name}.safetensors`;
      await Deno.writeFile(path, bytes);
      await assert.rejects(readSafetensors(path), (err: unknown) => {
        assert.ok(err instanceof SafetensorsError, `${name}: expected SafetensorsError, got ${err}`);
        assert.ok(err.message.startsWith(path), `${name}: message should name the file: ${err.message}`);
        for (const f of fragments) {
          if (typeof f === "string") {
            assert.ok(err.message.includes(f), `${name}: "${f}" not in: ${err.message}`);
          } else assert.match(err.message, f);
        }
        return true;
      });
    }
    await assert.rejects(readSafetensors(`${dir}/absent.safetensors`), /absent\.safetensors: file not found/);
    // The untouched good file still reads.
    await Deno.writeFile(`${dir}/good.safetensors`, good);
    assert.deepEqual(
      (await readSafetensors(`${dir}/good.safetensors`)).float32("w"),
      Float32Array.of(1, 2, 3, 4),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SafetensorsFile.entry: an absent tensor is an error naming the file and the tensor", () => {
  const file = SafetensorsFile.parse(
    encodeSafetensors({ a: { shape: [1], data: Float32Array.of(1) } }),
    "x.st",
  );
  throwsNaming(() => file.float32("nope"), "x.st", 'tensor "nope"', "no such tensor");
});
