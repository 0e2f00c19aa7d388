/**
 * The safetensors format (https://github.com/huggingface/safetensors): an unsigned 64-bit little-endian header
 * length N, N bytes of JSON header, then the raw little-endian tensor data. The header maps each tensor name to
 * {dtype, shape, data_offsets: [begin, end)} with offsets relative to the start of the data, plus an optional
 * "__metadata__" map of strings to strings. Writers pad the header with spaces to a multiple of 8 bytes so that
 * the data starts aligned, and lay the tensors out contiguously.
 *
 * Reading validates everything before any tensor is decoded and names the file and the tensor in every error.
 * Tensors whose bytes are not aligned for their element type are copied before a typed view is made.
 */
import { ChiInputError } from "../util/errors.ts";
import { withFileErrors, writeFileAtomic } from "../util/files.ts";

/** The dtypes this module can read. */
export type Dtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "U32" | "I16" | "I8" | "U8" | "BOOL";

/**
 * The dtypes this module can write (stored bytes are copied verbatim; no conversion). F16 and BF16 take their
 * bit patterns as a Uint16Array (a .pth converted as stored).
 */
export type WritableDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "U32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Headers larger than this are refused (the reference implementation uses the same bound). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The decoded typed array of a tensor. */
export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** The dtypes decoded as a copy of a typed view of their bytes, and the array type of each. */
const VIEWED: Record<
  "F64" | "I64" | "I32" | "U32" | "I16",
  { new (buffer: ArrayBufferLike, offset: number, length: number): TensorData; BYTES_PER_ELEMENT: number }
> = { F64: Float64Array, I64: BigInt64Array, I32: Int32Array, U32: Uint32Array, I16: Int16Array };

/** One tensor's header entry; begin/end are byte offsets relative to the start of the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  begin: number;
  end: number;
}

/** A tensor to write. Float32Array defaults to F32, Int32Array to I32, and so on. */
export interface TensorToWrite {
  shape: readonly number[];
  data:
    | Float64Array
    | Float32Array
    | BigInt64Array
    | Int32Array
    | Uint32Array
    | Uint16Array
    | Int16Array
    | Int8Array
    | Uint8Array;
  dtype?: WritableDtype;
}

/** Thrown for a malformed safetensors file or a bad request; the message names the file and the tensor. */
export class SafetensorsError extends ChiInputError {
  constructor(readonly file: string, readonly tensorName: string | null, detail: string) {
    super(`${file}${tensorName === null ? "" : `: tensor "${tensorName}"`}: ${detail}`);
    this.name = "SafetensorsError";
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(file: string): void {
  if (!LITTLE_ENDIAN) {
    throw new SafetensorsError(
      file,
      null,
      "this platform is big-endian; safetensors I/O needs little-endian",
    );
  }
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Converts one IEEE half-precision bit pattern to a number (used where Float16Array is unavailable). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Converts one bfloat16 bit pattern to a number. */
export function bf16BitsToNumber(b: number): number {
  const u32 = new Uint32Array([(b & 0xffff) << 16]);
  return new Float32Array(u32.buffer)[0];
}

/** A parsed safetensors file held in memory. Tensors are decoded on request. */
export class SafetensorsFile {
  private constructor(
    /** The file name used in error messages. */
    readonly path: string,
    private readonly bytes: Uint8Array,
    /** Absolute byte offset of the data section. */
    private readonly dataStart: number,
    readonly metadata: Readonly<Record<string, string>>,
    /** Header entries in data order. */
    readonly entries: readonly SafetensorsEntry[],
  ) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  private readonly byName: Map<string, SafetensorsEntry>;

  /** Parses and validates the bytes of a safetensors file; `path` names it in errors. */
  static parse(bytes: Uint8Array, path = "safetensors data"): SafetensorsFile {
    requireLittleEndian(path);
    if (bytes.length < 8) {
      throw new SafetensorsError(
        path,
        null,
        `truncated header: the file is ${bytes.length} bytes, shorter than the 8-byte header length`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLen = view.getBigUint64(0, true);
    if (headerLen > BigInt(bytes.length - 8)) {
      throw new SafetensorsError(
        path,
        null,
        `header length ${headerLen} runs past the end of the file (${bytes.length} bytes, so at most ${
          bytes.length - 8
        } header bytes): truncated file or not a safetensors file`,
      );
    }
    const n = Number(headerLen);
    if (n > MAX_HEADER_BYTES) {
      throw new SafetensorsError(path, null, `header length ${n} exceeds the maximum of ${MAX_HEADER_BYTES}`);
    }
    let header: unknown;
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
      header = JSON.parse(text);
    } catch (err) {
      throw new SafetensorsError(path, null, `header is not valid UTF-8 JSON (${(err as Error).message})`);
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      throw new SafetensorsError(path, null, "header is not a JSON object");
    }
    const dataStart = 8 + n;
    const dataLen = bytes.length - dataStart;
    let metadata: Record<string, string> = {};
    const entries: SafetensorsEntry[] = [];
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === "__metadata__") {
        metadata = parseMetadata(path, raw);
        continue;
      }
      entries.push(parseEntry(path, name, raw, dataLen));
    }
    entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
    for (let i = 1; i < entries.length; i++) {
      const prev = entries[i - 1], cur = entries[i];
      if (cur.begin < prev.end) {
        throw new SafetensorsError(
          path,
          cur.name,
          `data_offsets [${cur.begin}, ${cur.end}) overlap those of tensor "${prev.name}" [${prev.begin}, ${prev.end})`,
        );
      }
    }
    return new SafetensorsFile(path, bytes, dataStart, metadata, entries);
  }

  /** Tensor names in data order. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The header entry of `name`; throws naming the file and tensor if absent. */
  entry(name: string): SafetensorsEntry {
    const e = this.byName.get(name);
    if (!e) throw new SafetensorsError(this.path, name, "no such tensor in the file");
    return e;
  }

  /** The raw little-endian bytes of a tensor (a view into the file's bytes; do not modify). */
  raw(name: string): Uint8Array {
    const e = this.entry(name);
    return this.bytes.subarray(this.dataStart + e.begin, this.dataStart + e.end);
  }

  /** An ArrayBuffer and offset at which a typed view of `bytesPer`-byte elements can be made (copy if unaligned). */
  private aligned(
    name: string,
    bytesPer: number,
  ): { buffer: ArrayBufferLike; offset: number; length: number } {
    const raw = this.raw(name);
    const length = raw.length / bytesPer;
    if (raw.byteOffset % bytesPer === 0) return { buffer: raw.buffer, offset: raw.byteOffset, length };
    return { buffer: raw.slice().buffer, offset: 0, length };
  }

  /**
   * The tensor decoded to a typed array: F64 → Float64Array, F32/F16/BF16 → Float32Array, I64 → BigInt64Array,
   * I32 → Int32Array, U32 → Uint32Array, I16 → Int16Array, I8 → Int8Array, U8/BOOL → Uint8Array. The result
   * owns its memory (a copy), so modifying it leaves the file untouched.
   */
  tensor(name: string): TensorData {
    const e = this.entry(name);
    switch (e.dtype) {
      case "F32":
      case "F16":
      case "BF16":
        return this.float32(name);
      case "F64":
      case "I64":
      case "I32":
      case "U32":
      case "I16": {
        const Typed = VIEWED[e.dtype];
        const a = this.aligned(name, Typed.BYTES_PER_ELEMENT);
        return new Typed(a.buffer, a.offset, a.length).slice();
      }
      case "I8":
        return new Int8Array(this.raw(name).slice().buffer);
      case "U8":
      case "BOOL":
        return this.raw(name).slice();
    }
  }

  /**
   * A floating-point tensor as a new Float32Array: F32 copied, F16 and BF16 widened exactly, F64 rounded to
   * nearest; a finite F64 value too large for f32 is an error naming the tensor and the element (it would
   * silently become ±Infinity). Integer dtypes are an error.
   */
  float32(name: string): Float32Array {
    const e = this.entry(name);
    switch (e.dtype) {
      case "F32": {
        const a = this.aligned(name, 4);
        return new Float32Array(a.buffer, a.offset, a.length).slice();
      }
      case "F16": {
        const a = this.aligned(name, 2);
        const bits = new Uint16Array(a.buffer, a.offset, a.length);
        const out = new Float32Array(bits.length);
        if (typeof Float16Array === "function") {
          out.set(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
        } else {
          for (let i = 0; i < bits.length; i++) out[i] = f16BitsToNumber(bits[i]);
        }
        return out;
      }
      case "BF16": {
        const a = this.aligned(name, 2);
        const bits = new Uint16Array(a.buffer, a.offset, a.length);
        const wide = new Uint32Array(bits.length);
        for (let i = 0; i < bits.length; i++) wide[i] = bits[i] << 16;
        return new Float32Array(wide.buffer);
      }
      case "F64": {
        const a = this.aligned(name, 8);
        const src = new Float64Array(a.buffer, a.offset, a.length);
        const out = Float32Array.from(src);
        for (let i = 0; i < src.length; i++) {
          if (!Number.isFinite(out[i]) && Number.isFinite(src[i])) {
            throw new SafetensorsError(
              this.path,
              name,
              `F64 element ${i} (${src[i]}) is outside the float32 range; cannot convert to f32`,
            );
          }
        }
        return out;
      }
      default:
        throw new SafetensorsError(
          this.path,
          name,
          `dtype ${e.dtype} is not a floating-point type (expected F32, F16, BF16 or F64)`,
        );
    }
  }
}

function parseMetadata(path: string, raw: unknown): Record<string, string> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError(path, null, `"__metadata__" must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(
        path,
        null,
        `"__metadata__" value of "${k}" must be a string, got ${JSON.stringify(v)}`,
      );
    }
    out[k] = v;
  }
  return out;
}

function isDtype(s: unknown): s is Dtype {
  return typeof s === "string" && Object.hasOwn(DTYPE_BYTES, s);
}

function parseEntry(path: string, name: string, raw: unknown, dataLen: number): SafetensorsEntry {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError(path, name, "header entry must be an object {dtype, shape, data_offsets}");
  }
  const obj = raw as Record<string, unknown>;
  if (!isDtype(obj.dtype)) {
    throw new SafetensorsError(
      path,
      name,
      `unsupported dtype ${JSON.stringify(obj.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(", ")})`,
    );
  }
  const dtype = obj.dtype;
  const shape = obj.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(
      path,
      name,
      `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  const offs = obj.data_offsets;
  if (
    !Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) ||
    offs[0] > offs[1]
  ) {
    throw new SafetensorsError(
      path,
      name,
      `data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offs)}`,
    );
  }
  const [begin, end] = offs as [number, number];
  const expected = numel(shape) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw new SafetensorsError(
      path,
      name,
      `data_offsets [${begin}, ${end}) span ${end - begin} bytes but dtype ${dtype} × shape ${
        shapeText(shape)
      } needs ${expected}`,
    );
  }
  if (end > dataLen) {
    throw new SafetensorsError(
      path,
      name,
      `data_offsets [${begin}, ${end}) run past the end of the data section (${dataLen} bytes): truncated file`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/**
 * Reads and validates a safetensors file; a missing or unreadable file is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors } from "chi";
 *
 * const file = await readSafetensors("tests/fixtures/pth/plain.expected.safetensors");
 * assert.deepEqual(file.entry("embed.W_E").shape, [16, 8]);
 * assert.ok(file.names().includes("blocks.0.attn.W_Q"));
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const bytes = await withFileErrors(
    () => Deno.readFile(path),
    (why) => new SafetensorsError(path, null, why),
  );
  return SafetensorsFile.parse(bytes, path);
}

function defaultDtype(t: TensorToWrite): WritableDtype {
  const d = t.data;
  if (d instanceof Float32Array) return "F32";
  if (d instanceof Float64Array) return "F64";
  if (d instanceof Int32Array) return "I32";
  if (d instanceof Uint32Array) return "U32";
  if (d instanceof BigInt64Array) return "I64";
  if (d instanceof Int16Array) return "I16";
  if (d instanceof Int8Array) return "I8";
  return "U8";
}

const DTYPE_ARRAY: Readonly<Record<WritableDtype, abstract new (...args: never[]) => object>> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/**
 * Encodes tensors (in the given order, contiguous) and string metadata into safetensors bytes. The header is
 * padded with spaces to a multiple of 8. `path` only names the output in errors.
 */
export function encodeSafetensors(
  tensors: ReadonlyArray<readonly [string, TensorToWrite]> | Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> = {},
  path = "safetensors output",
): Uint8Array {
  requireLittleEndian(path);
  const list = Array.isArray(tensors)
    ? tensors as ReadonlyArray<readonly [string, TensorToWrite]>
    : Object.entries(tensors as Record<string, TensorToWrite>);
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(path, null, `metadata value of "${k}" must be a string, got ${typeof v}`);
    }
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  const seen = new Set<string>();
  for (const [name, t] of list) {
    if (name === "__metadata__") throw new SafetensorsError(path, name, "reserved tensor name");
    if (seen.has(name)) throw new SafetensorsError(path, name, "duplicate tensor name");
    seen.add(name);
    const dtype = t.dtype ?? defaultDtype(t);
    if (!Object.hasOwn(DTYPE_ARRAY, dtype)) {
      throw new SafetensorsError(path, name, `cannot write dtype ${JSON.stringify(dtype)}`);
    }
    if (!(t.data instanceof DTYPE_ARRAY[dtype])) {
      throw new SafetensorsError(
        path,
        name,
        `dtype ${dtype} needs a ${DTYPE_ARRAY[dtype].name}, got a ${t.data.constructor.name}`,
      );
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(path, name, `invalid shape ${JSON.stringify(t.shape)}`);
    }
    if (numel(t.shape) !== t.data.length) {
      throw new SafetensorsError(
        path,
        name,
        `shape ${shapeText(t.shape)} has ${numel(t.shape)} elements but the data has ${t.data.length}`,
      );
    }
    const size = t.data.byteLength;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [, t] of list) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Writes tensors and metadata to `path` as safetensors, atomically (temp file, then rename).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors, writeSafetensors } from "chi";
 *
 * const path = `${await Deno.makeTempDir()}/t.safetensors`;
 * await writeSafetensors(path, { w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, { note: "example" });
 * const file = await readSafetensors(path);
 * assert.deepEqual(file.float32("w"), new Float32Array([1, 2, 3, 4]));
 * assert.equal(file.metadata.note, "example");
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyArray<readonly [string, TensorToWrite]> | Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata, path);
  try {
    await writeFileAtomic(path, bytes);
  } catch (err) {
    throw new SafetensorsError(path, null, `cannot write (${(err as Error).message})`);
  }
}
