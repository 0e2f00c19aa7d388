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
import { withFileErrors } from "../util/files.ts";
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

/** Names of the opcodes chi does not interpret, for the error that reports one. */
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
 * The unpickler's state and primitives: the pickle with a read position, the stack with its MARK positions,
 * and the memo. Errors report `pos`, the byte being read when the problem showed.
 */
class PickleMachine {
  readonly view: DataView;
  readonly text = new TextDecoder("utf-8", { fatal: false });
  readonly stack: unknown[] = [];
  readonly marks: number[] = [];
  readonly memo = new Map<number, unknown>();
  pos = 0;

  constructor(
    readonly file: string,
    readonly pkl: Uint8Array,
    readonly persistentLoad: (pid: unknown) => unknown,
  ) {
    this.view = new DataView(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  }

  fail(detail: string): never {
    throw new PthError(this.file, null, `data.pkl: ${detail}`);
  }

  /** Moves past the next `n` bytes and returns where they start; a pickle that ends sooner is an error. */
  take(n: number): number {
    if (this.pos + n > this.pkl.length) {
      this.fail(`ends in the middle of an opcode at byte ${this.pos} (truncated pickle)`);
    }
    this.pos += n;
    return this.pos - n;
  }

  u8(): number {
    return this.pkl[this.take(1)];
  }

  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  i32(): number {
    return this.view.getInt32(this.take(4), true);
  }

  /** An 8-byte length (FRAME, BINUNICODE8, BINBYTES8); beyond a safe integer it is an error. */
  u64(): number {
    const at = this.take(8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} at byte ${at} is too large`);
    return Number(v);
  }

  /** Big-endian, as pickle stores floats. */
  f64(): number {
    return this.view.getFloat64(this.take(8), false);
  }

  bytes(n: number): Uint8Array {
    const at = this.take(n);
    return this.pkl.subarray(at, at + n);
  }

  /** A newline-terminated text argument (GLOBAL's module and name). */
  line(): string {
    const end = this.pkl.indexOf(0x0a, this.pos);
    if (end < 0) this.fail(`unterminated GLOBAL at byte ${this.pos}`);
    const s = this.text.decode(this.pkl.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  push(x: unknown): void {
    this.stack.push(x);
  }

  /** Pops one value; popping below the innermost MARK is an underflow. */
  pop(): unknown {
    const { stack, marks } = this;
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      this.fail(`stack underflow at byte ${this.pos}`);
    }
    return stack.pop();
  }

  top(): unknown {
    return this.stack.length === 0
      ? this.fail(`empty stack at byte ${this.pos}`)
      : this.stack[this.stack.length - 1];
  }

  /** Pops everything above the innermost MARK, and the MARK. */
  popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail(`no MARK before byte ${this.pos}`);
    return this.stack.splice(m);
  }
}

/** An opcode's action; `at` is the opcode's own byte offset, the machine's `pos` is just past it. */
type OpHandler = (vm: PickleMachine, at: number) => void;

/** Pickle's STOP opcode: the value on the stack is the result. */
const STOP = 0x2e;

const CONTROL_OPS: Readonly<Record<number, OpHandler>> = {
  0x80: (vm) => void vm.u8(), // PROTO: the protocol version; 2-5 read alike
  0x95: (vm) => void vm.u64(), // FRAME: a length prefix only
  0x28: (vm) => void vm.marks.push(vm.stack.length), // MARK
};

const SCALAR_OPS: Readonly<Record<number, OpHandler>> = {
  0x4e: (vm) => vm.push(null), // NONE
  0x88: (vm) => vm.push(true), // NEWTRUE
  0x89: (vm) => vm.push(false), // NEWFALSE
  0x4b: (vm) => vm.push(vm.u8()), // BININT1
  0x4d: (vm) => vm.push(vm.u16()), // BININT2
  0x4a: (vm) => vm.push(vm.i32()), // BININT
  0x8a: (vm) => vm.push(decodeLong(vm.bytes(vm.u8()))), // LONG1
  0x47: (vm) => vm.push(vm.f64()), // BINFLOAT
  0x58: (vm) => vm.push(vm.text.decode(vm.bytes(vm.u32()))), // BINUNICODE
  0x8c: (vm) => vm.push(vm.text.decode(vm.bytes(vm.u8()))), // SHORT_BINUNICODE
  0x8d: (vm) => vm.push(vm.text.decode(vm.bytes(vm.u64()))), // BINUNICODE8
  0x43: (vm) => vm.push(vm.bytes(vm.u8()).slice()), // SHORT_BINBYTES
  0x42: (vm) => vm.push(vm.bytes(vm.u32()).slice()), // BINBYTES
  0x8e: (vm) => vm.push(vm.bytes(vm.u64()).slice()), // BINBYTES8
};

/** Tuples and lists are both JS arrays: nothing here needs to tell them apart. */
const CONTAINER_OPS: Readonly<Record<number, OpHandler>> = {
  0x7d: (vm) => vm.push(new PyDict()), // EMPTY_DICT
  0x5d: (vm) => vm.push([]), // EMPTY_LIST
  0x29: (vm) => vm.push([]), // EMPTY_TUPLE
  0x74: (vm) => vm.push(vm.popMark()), // TUPLE: the items since the MARK
  0x85: (vm) => vm.push([vm.pop()]), // TUPLE1
  0x86: (vm) => { // TUPLE2
    const b = vm.pop(), a = vm.pop();
    vm.push([a, b]);
  },
  0x87: (vm) => { // TUPLE3
    const c = vm.pop(), b = vm.pop(), a = vm.pop();
    vm.push([a, b, c]);
  },
  0x73: (vm) => { // SETITEM: dict[key] = value
    const v = vm.pop(), k = vm.pop();
    setItems(vm, vm.top(), [k, v]);
  },
  0x75: (vm) => { // SETITEMS: key, value pairs since the MARK
    const items = vm.popMark();
    setItems(vm, vm.top(), items);
  },
  0x61: (vm) => { // APPEND
    const v = vm.pop();
    appendItems(vm, vm.top(), [v]);
  },
  0x65: (vm) => { // APPENDS: the items since the MARK
    const items = vm.popMark();
    appendItems(vm, vm.top(), items);
  },
};

const MEMO_OPS: Readonly<Record<number, OpHandler>> = {
  0x71: (vm) => void vm.memo.set(vm.u8(), vm.top()), // BINPUT
  0x72: (vm) => void vm.memo.set(vm.u32(), vm.top()), // LONG_BINPUT
  0x94: (vm) => void vm.memo.set(vm.memo.size, vm.top()), // MEMOIZE: at the next free index
  0x68: (vm, at) => vm.push(memoGet(vm, vm.u8(), at)), // BINGET
  0x6a: (vm, at) => vm.push(memoGet(vm, vm.u32(), at)), // LONG_BINGET
};

const OBJECT_OPS: Readonly<Record<number, OpHandler>> = {
  0x63: (vm) => { // GLOBAL "module\nname\n"
    const module = vm.line();
    vm.push(new PyGlobal(module, vm.line()));
  },
  0x93: (vm, at) => { // STACK_GLOBAL: module and name from the stack
    const name = vm.pop(), module = vm.pop();
    if (typeof name !== "string" || typeof module !== "string") {
      vm.fail(`STACK_GLOBAL without strings at byte ${at}`);
    }
    vm.push(new PyGlobal(module as string, name as string));
  },
  0x52: (vm) => { // REDUCE: call a global with a tuple of arguments
    const args = vm.pop(), fn = vm.pop();
    vm.push(reduce(vm, fn, args));
  },
  0x62: (vm) => { // BUILD: object state (an OrderedDict's _metadata, …) is not needed
    vm.pop();
    vm.top();
  },
  0x51: (vm) => vm.push(vm.persistentLoad(vm.pop())), // BINPERSID: a storage, by its persistent id
};

/** Every opcode chi interprets (STOP aside, which ends the loop). */
const OPS: Readonly<Record<number, OpHandler>> = {
  ...CONTROL_OPS,
  ...SCALAR_OPS,
  ...CONTAINER_OPS,
  ...MEMO_OPS,
  ...OBJECT_OPS,
};

/**
 * Unpickles `data.pkl`. `persistentLoad` resolves BINPERSID ids. Throws a PthError naming the offending
 * opcode and its byte offset.
 */
function unpickle(file: string, pkl: Uint8Array, persistentLoad: (pid: unknown) => unknown): unknown {
  const vm = new PickleMachine(file, pkl, persistentLoad);
  for (;;) {
    if (vm.pos >= pkl.length) vm.fail("ends without STOP (truncated pickle)");
    const at = vm.pos;
    const op = pkl[vm.pos++];
    if (op === STOP) return vm.pop();
    const handler = OPS[op];
    if (handler === undefined) vm.fail(unsupportedOpcode(op, at));
    handler(vm, at);
  }
}

function unsupportedOpcode(op: number, at: number): string {
  const name = OPCODE_NAMES[op];
  return `unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}${name ? ` (${name})` : ""} ` +
    `at byte ${at}: chi reads state dicts of tensors, numbers, strings, tuples, lists and dicts`;
}

/** LONG1's payload: little-endian two's complement; a number when it is a safe integer, else a bigint. */
function decodeLong(b: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function memoGet(vm: PickleMachine, i: number, at: number): unknown {
  if (!vm.memo.has(i)) vm.fail(`memo entry ${i} read before it was written at byte ${at}`);
  return vm.memo.get(i);
}

function setItems(vm: PickleMachine, target: unknown, items: unknown[]): void {
  if (!(target instanceof PyDict)) vm.fail(`SETITEM(S) on a non-dict at byte ${vm.pos}`);
  for (let i = 0; i + 1 < items.length; i += 2) target.map.set(items[i], items[i + 1]);
}

function appendItems(vm: PickleMachine, target: unknown, items: unknown[]): void {
  if (!Array.isArray(target)) vm.fail(`APPEND(S) on a non-list at byte ${vm.pos}`);
  target.push(...items);
}

/**
 * REDUCE: calls the globals a state dict is built from (dicts, torch's tensor and parameter rebuilders);
 * any other call yields an opaque value.
 */
function reduce(vm: PickleMachine, fn: unknown, args: unknown): unknown {
  if (!Array.isArray(args)) vm.fail(`REDUCE with non-tuple arguments at byte ${vm.pos}`);
  if (!(fn instanceof PyGlobal)) return vm.fail(`REDUCE on a non-callable at byte ${vm.pos}`);
  switch (fn.qualified) {
    case "collections.OrderedDict":
    case "builtins.dict":
      return new PyDict();
    case "torch._utils._rebuild_tensor_v2":
    case "torch._utils._rebuild_tensor":
      return rebuildTensor(vm, fn, args);
    case "torch._utils._rebuild_parameter":
    case "torch._utils._rebuild_parameter_with_state":
      return args[0]; // (tensor, requires_grad, backward_hooks): the tensor is all a state dict needs
    default:
      return new PyOpaque(fn);
  }
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, …)` → a view into the storage. */
function rebuildTensor(vm: PickleMachine, fn: PyGlobal, args: unknown[]): TensorRef {
  const [storage, offset, shape, stride] = args;
  if (
    !(storage instanceof StorageRef) || !isInt(offset) || !Array.isArray(shape) ||
    !shape.every(isInt) || !Array.isArray(stride) || !stride.every(isInt) ||
    stride.length !== shape.length
  ) {
    return vm.fail(`${fn.qualified} with unexpected arguments at byte ${vm.pos}`);
  }
  return new TensorRef(storage, offset, shape as number[], stride as number[]);
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
  const { entries, prefix, pkl } = openArchive(bytes, file);
  const root = unpickle(file, pkl, (pid) => storageRef(file, pid));
  const { key, dict } = findStateDict(file, root);
  const tensors: PthTensor[] = [];
  for (const [name, v] of dict.map) {
    if (typeof name !== "string") {
      throw new PthError(file, null, `state dict key ${JSON.stringify(name)} is not a string`);
    }
    if (!(v instanceof TensorRef)) {
      throw new PthError(file, name, `expected a tensor, found ${describe(v)}`);
    }
    tensors.push(readTensor(file, name, v, entries[`${prefix}data/${v.storage.key}`]));
  }
  return { key, tensors };
}

/** The zip's records, the prefix (`<archive>/`) they share, and data.pkl; errors for anything else. */
function openArchive(
  bytes: Uint8Array,
  file: string,
): { entries: Record<string, Uint8Array>; prefix: string; pkl: Uint8Array } {
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
  return { entries, prefix, pkl: entries[pklName] };
}

/** torch.save's persistent id of a storage: `("storage", type, key, location, numel)`. */
function storageRef(file: string, pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) {
    throw new PthError(file, null, `data.pkl: unsupported persistent id ${JSON.stringify(pid)}`);
  }
  const [, type, key, , numel] = pid;
  if (!(type instanceof PyGlobal) || typeof key !== "string" || !isInt(numel)) {
    throw new PthError(file, null, `data.pkl: malformed storage id (type, key, location, numel)`);
  }
  return new StorageRef(type, key, numel);
}

/** The tensor `v` views, gathered from its storage's zip record (undefined when missing). */
function readTensor(file: string, name: string, v: TensorRef, record: Uint8Array | undefined): PthTensor {
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
  return { name, dtype: st.dtype, shape: [...v.shape], data: typed(st.dtype, data) };
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
  const bytes = await withFileErrors(() => Deno.readFile(path), (why) => new PthError(path, null, why));
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
