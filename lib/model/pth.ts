/**
 * PyTorch `.pth` / `.pt` files as written by `torch.save` (PyTorch ≥ 1.6): a zip archive holding
 * `<archive>/data.pkl` (a pickle of the saved object), one record `<archive>/data/<key>` per storage (raw
 * little-endian elements), and `<archive>/version` (and, in newer versions, `<archive>/byteorder`).
 *
 * Only what a state dict needs is understood, so that no Python and no general unpickler are required: the
 * pickle opcodes of protocols 2-5 that dicts, tuples, lists, strings, numbers and tensors use; the globals
 * `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` (and `_rebuild_parameter`) and the
 * `torch.*Storage` types; persistent ids `("storage", type, key, location, numel)`. Tensors are gathered from
 * their storage through their storage offset and strides, so non-contiguous views (transposes, slices of a
 * fused storage, expanded views) come out as the same contiguous tensors `tensor.contiguous()` gives.
 * Any other opcode is an error naming it; any other global becomes an opaque value that is an error only if
 * the state dict itself holds it.
 *
 * The state dict is the top-level dict when it holds tensors, else the dict under "model", "state_dict" or
 * "model_state_dict". Every tensor of it is returned in pickle (insertion) order, buffers included:
 * lib/model/checkpoint.ts decides what is a parameter.
 */
import { unzipSync } from "fflate";
import { ChiInputError } from "../util/errors.ts";
import { encodeSafetensors, SafetensorsFile, type TensorToWrite, type WritableDtype } from "./safetensors.ts";

/** A .pth file chi cannot read (not a zip, an unsupported opcode or storage type, …); names the file. */
export class PthError extends ChiInputError {
  constructor(readonly file: string, readonly tensorName: string | null, detail: string) {
    super(`${file}${tensorName === null ? "" : `: tensor "${tensorName}"`}: ${detail}`);
    this.name = "PthError";
  }
}

/** One tensor of a state dict, contiguous, in its stored dtype (F16/BF16 as bit patterns). */
export interface PthTensor {
  name: string;
  dtype: WritableDtype;
  shape: number[];
  data: TensorToWrite["data"];
}

/** A state dict read from a .pth file. */
export interface PthStateDict {
  /** The key the state dict was nested under ("model", "state_dict", …), or null when it is the whole file. */
  key: string | null;
  tensors: PthTensor[];
}

/** Keys a training script commonly nests the model's state dict under. */
const NESTED_KEYS = ["model", "state_dict", "model_state_dict"];

/** torch storage types → safetensors dtype, element size and typed array. */
const STORAGES: Readonly<Record<string, { dtype: WritableDtype; bytes: number }>> = {
  FloatStorage: { dtype: "F32", bytes: 4 },
  HalfStorage: { dtype: "F16", bytes: 2 },
  BFloat16Storage: { dtype: "BF16", bytes: 2 },
  DoubleStorage: { dtype: "F64", bytes: 8 },
  LongStorage: { dtype: "I64", bytes: 8 },
  IntStorage: { dtype: "I32", bytes: 4 },
  ShortStorage: { dtype: "I16", bytes: 2 },
  CharStorage: { dtype: "I8", bytes: 1 },
  ByteStorage: { dtype: "U8", bytes: 1 },
  BoolStorage: { dtype: "BOOL", bytes: 1 },
};

/** A `module.name` global the pickle refers to. */
class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object built from a global chi does not interpret (harmless unless the state dict holds it). */
class PyOpaque {
  constructor(readonly global: PyGlobal) {}
}

/** A Python dict or OrderedDict (insertion order kept). */
class PyDict {
  readonly map = new Map<unknown, unknown>();
}

/** A storage named by a persistent id; its bytes live in the zip record data/<key>. */
class StorageRef {
  constructor(readonly type: PyGlobal, readonly key: string, readonly numel: number) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a view into a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x49: "INT",
  0x4c: "LONG",
  0x46: "FLOAT",
  0x53: "STRING",
  0x56: "UNICODE",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x8b: "LONG4",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x92: "NEWOBJ_EX",
  0x81: "NEWOBJ",
  0x50: "PERSID",
  0x69: "INST",
  0x6f: "OBJ",
  0x70: "PUT",
  0x67: "GET",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x64: "DICT",
  0x6c: "LIST",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
};

function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x);
}

/**
 * Unpickles `data.pkl`. `persistentLoad` resolves BINPERSID ids. Throws a PthError naming the offending
 * opcode and its byte offset.
 */
function unpickle(file: string, pkl: Uint8Array, persistentLoad: (pid: unknown) => unknown): unknown {
  const view = new DataView(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  const text = new TextDecoder("utf-8", { fatal: false });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const fail = (detail: string): never => {
    throw new PthError(file, null, `data.pkl: ${detail}`);
  };
  const need = (n: number) => {
    if (pos + n > pkl.length) fail(`ends in the middle of an opcode at byte ${pos} (truncated pickle)`);
  };
  const u8 = () => (need(1), pkl[pos++]);
  const u16 = () => (need(2), pos += 2, view.getUint16(pos - 2, true));
  const u32 = () => (need(4), pos += 4, view.getUint32(pos - 4, true));
  const i32 = () => (need(4), pos += 4, view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} at byte ${pos - 8} is too large`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), pos += n, pkl.subarray(pos - n, pos));
  const line = () => {
    const end = pkl.indexOf(0x0a, pos);
    if (end < 0) fail(`unterminated GLOBAL at byte ${pos}`);
    const s = text.decode(pkl.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      fail(`stack underflow at byte ${pos}`);
    }
    return stack.pop();
  };
  const top = () => (stack.length === 0 ? fail(`empty stack at byte ${pos}`) : stack[stack.length - 1]);
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) fail(`no MARK before byte ${pos}`);
    return stack.splice(m!);
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof PyDict)) fail(`SETITEM(S) on a non-dict at byte ${pos}`);
    for (let i = 0; i + 1 < items.length; i += 2) (target as PyDict).map.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) fail(`APPEND(S) on a non-list at byte ${pos}`);
    (target as unknown[]).push(...items);
  };
  const reduce = (fn: unknown, args: unknown) => {
    if (!Array.isArray(args)) fail(`REDUCE with non-tuple arguments at byte ${pos}`);
    const a = args as unknown[];
    if (!(fn instanceof PyGlobal)) return fail(`REDUCE on a non-callable at byte ${pos}`);
    switch (fn.qualified) {
      case "collections.OrderedDict":
      case "builtins.dict":
        return new PyDict();
      case "torch._utils._rebuild_tensor_v2":
      case "torch._utils._rebuild_tensor": {
        const [storage, offset, shape, stride] = a;
        if (
          !(storage instanceof StorageRef) || !isInt(offset) || !Array.isArray(shape) ||
          !shape.every(isInt) || !Array.isArray(stride) || !stride.every(isInt) ||
          stride.length !== shape.length
        ) {
          return fail(`${fn.qualified} with unexpected arguments at byte ${pos}`);
        }
        return new TensorRef(storage, offset, shape as number[], stride as number[]);
      }
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state":
        return a[0];
      default:
        return new PyOpaque(fn);
    }
  };
  for (;;) {
    if (pos >= pkl.length) fail("ends without STOP (truncated pickle)");
    const at = pos;
    const op = pkl[pos++];
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME: a length prefix only
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: { // LONG1: little-endian two's complement
        const b = bytes(u8());
        let v = 0n;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case 0x47: // BINFLOAT: big-endian float64
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text.decode(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(bytes(u64())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(bytes(u64()).slice());
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(new PyGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof name !== "string" || typeof module !== "string") {
          fail(`STACK_GLOBAL without strings at byte ${at}`);
        }
        stack.push(new PyGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x62: // BUILD: object state (an OrderedDict's _metadata, …) is not needed
        pop();
        top();
        break;
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo entry ${i} read before it was written at byte ${at}`);
        stack.push(memo.get(i));
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        fail(
          `unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}${
            name ? ` (${name})` : ""
          } at byte ${at}: ` +
            `chi reads state dicts of tensors, numbers, strings, tuples, lists and dicts`,
        );
      }
    }
  }
}

/** Contiguous bytes of a (possibly strided) view: element i of the result is the element at its index. */
function gather(
  src: Uint8Array,
  elem: number,
  offset: number,
  shape: number[],
  stride: number[],
): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * elem);
  if (n === 0) return out;
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) contiguous = false;
    expect *= shape[d];
  }
  if (contiguous) {
    out.set(src.subarray(offset * elem, (offset + n) * elem));
    return out;
  }
  const index = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let i = 0; i < n; i++) {
    out.set(src.subarray(at * elem, (at + 1) * elem), i * elem);
    // Odometer over the multi-index, last dimension fastest.
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      at += stride[d];
      if (index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

function typed(dtype: WritableDtype, b: Uint8Array): TensorToWrite["data"] {
  const buf = b.buffer as ArrayBuffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf, b.byteOffset, b.byteLength / 4);
    case "F64":
      return new Float64Array(buf, b.byteOffset, b.byteLength / 8);
    case "F16":
    case "BF16":
      return new Uint16Array(buf, b.byteOffset, b.byteLength / 2);
    case "I64":
      return new BigInt64Array(buf, b.byteOffset, b.byteLength / 8);
    case "I32":
      return new Int32Array(buf, b.byteOffset, b.byteLength / 4);
    case "U32":
      return new Uint32Array(buf, b.byteOffset, b.byteLength / 4);
    case "I16":
      return new Int16Array(buf, b.byteOffset, b.byteLength / 2);
    case "I8":
      return new Int8Array(buf, b.byteOffset, b.byteLength);
    case "U8":
    case "BOOL":
      return b;
  }
}

function describe(x: unknown): string {
  if (x instanceof PyOpaque) return `a ${x.global.qualified} object`;
  if (x instanceof PyDict) return "a dict";
  if (Array.isArray(x)) return "a tuple or list";
  if (x === null) return "None";
  return `a ${typeof x}`;
}

/** The state dict inside the unpickled object, and the key it was found under. */
function findStateDict(file: string, root: unknown): { key: string | null; dict: PyDict } {
  if (!(root instanceof PyDict)) {
    throw new PthError(file, null, `expected a state dict (a dict of tensors), found ${describe(root)}`);
  }
  const hasTensors = [...root.map.values()].some((v) => v instanceof TensorRef);
  if (hasTensors) return { key: null, dict: root };
  for (const key of NESTED_KEYS) {
    const v = root.map.get(key);
    if (v instanceof PyDict) return { key, dict: v };
  }
  const keys = [...root.map.keys()].map((k) => JSON.stringify(k)).join(", ");
  throw new PthError(
    file,
    null,
    `no state dict: the top-level dict holds no tensors and no dict under ${
      NESTED_KEYS.map((k) => `"${k}"`).join(", ")
    } (its keys: ${keys || "none"})`,
  );
}

/**
 * Parses the bytes of a `torch.save` file into its state dict. `file` names it in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePth } from "chi";
 *
 * const bytes = await Deno.readFile("tests/fixtures/pth/plain.pth"); // torch.save(model.state_dict(), …)
 * const dict = parsePth(bytes, "plain.pth");
 * assert.deepEqual(dict.tensors.find((t) => t.name === "embed.W_E")?.shape, [16, 8]);
 * ```
 */
export function parsePth(bytes: Uint8Array, file: string): PthStateDict {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)) {
    throw new PthError(
      file,
      null,
      bytes[0] === 0x80
        ? "a legacy (PyTorch < 1.6) torch.save file: load it in Python and save it again with a current torch.save"
        : "not a torch.save zip archive (no zip signature at the start)",
    );
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    throw new PthError(
      file,
      null,
      `not a readable zip archive (${(err as Error).message}): truncated or damaged?`,
    );
  }
  const pklName = Object.keys(entries).find((n) => n === "data.pkl" || n.endsWith("/data.pkl"));
  if (pklName === undefined) {
    throw new PthError(file, null, "the zip archive has no data.pkl: not written by torch.save");
  }
  const prefix = pklName.slice(0, -"data.pkl".length);
  const order = entries[`${prefix}byteorder`];
  if (order !== undefined && new TextDecoder().decode(order).trim() !== "little") {
    throw new PthError(
      file,
      null,
      `byteorder is "${new TextDecoder().decode(order).trim()}"; chi reads little-endian`,
    );
  }
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) {
      throw new PthError(file, null, `data.pkl: unsupported persistent id ${JSON.stringify(pid)}`);
    }
    const [, type, key, , numel] = pid;
    if (!(type instanceof PyGlobal) || typeof key !== "string" || !isInt(numel)) {
      throw new PthError(file, null, `data.pkl: malformed storage id (type, key, location, numel)`);
    }
    return new StorageRef(type, key, numel);
  };
  const root = unpickle(file, entries[pklName], persistentLoad);
  const { key, dict } = findStateDict(file, root);
  const tensors: PthTensor[] = [];
  for (const [name, v] of dict.map) {
    if (typeof name !== "string") {
      throw new PthError(file, null, `state dict key ${JSON.stringify(name)} is not a string`);
    }
    if (!(v instanceof TensorRef)) {
      throw new PthError(file, name, `expected a tensor, found ${describe(v)}`);
    }
    const t = v.storage.type;
    const st = t.module === "torch" ? STORAGES[t.name] : undefined;
    if (st === undefined) {
      throw new PthError(
        file,
        name,
        `storage type ${t.qualified} is not supported (supported: ${
          Object.keys(STORAGES).map((s) => `torch.${s}`).join(", ")
        })`,
      );
    }
    const record = entries[`${prefix}data/${v.storage.key}`];
    if (record === undefined) {
      throw new PthError(file, name, `storage record data/${v.storage.key} is missing from the archive`);
    }
    if (record.length < v.storage.numel * st.bytes) {
      throw new PthError(
        file,
        name,
        `storage record data/${v.storage.key} has ${record.length} bytes, fewer than its ${v.storage.numel} ` +
          `${t.name} elements need (${v.storage.numel * st.bytes})`,
      );
    }
    const n = v.shape.reduce((a, b) => a * b, 1);
    const last = v.offset + v.shape.reduce((a, d, i) => a + (d - 1) * v.stride[i], 0);
    if (v.shape.some((d) => d < 0) || v.stride.some((s) => s < 0) || (n > 0 && last >= v.storage.numel)) {
      throw new PthError(
        file,
        name,
        `view (offset ${v.offset}, shape [${v.shape.join(", ")}], stride [${v.stride.join(", ")}]) ` +
          `reaches past its storage of ${v.storage.numel} elements`,
      );
    }
    const data = gather(record, st.bytes, v.offset, v.shape, v.stride);
    tensors.push({ name, dtype: st.dtype, shape: [...v.shape], data: typed(st.dtype, data) });
  }
  return { key, tensors };
}

/**
 * Reads a `torch.save` file's state dict; a missing or unreadable file is a PthError naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPth } from "chi";
 *
 * const dict = await readPth("tests/fixtures/pth/plain.pth");
 * assert.equal(dict.key, null); // a bare state dict, not nested under "model" or "state_dict"
 * assert.ok(dict.tensors.every((t) => t.dtype === "F32"));
 * ```
 */
export async function readPth(path: string): Promise<PthStateDict> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new PthError(path, null, "file not found");
    throw new PthError(path, null, `cannot read (${(err as Error).message})`);
  }
  return parsePth(bytes, path);
}

/**
 * The state dict as an in-memory safetensors file (tensors as stored, no metadata), so that checkpoint
 * loading validates a .pth exactly as it validates a converted safetensors file.
 */
export function pthAsSafetensors(sd: PthStateDict, file: string): SafetensorsFile {
  const bytes = encodeSafetensors(
    sd.tensors.map((t) => [t.name, { shape: t.shape, data: t.data, dtype: t.dtype }] as const),
    {},
    file,
  );
  return SafetensorsFile.parse(bytes, file);
}

/** True for a path chi reads as a torch.save file rather than safetensors. */
export function isPthPath(path: string): boolean {
  return /\.(pth|pt)$/i.test(path);
}
