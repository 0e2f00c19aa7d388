/**
 * WGSL kernels: loaded from kernels/, specialized by replacing marked constants, compiled once per
 * (source, entry point) and cached.
 *
 * Specialization is explicit and textual: a kernel file declares its tunables as module constants, e.g.
 *     const TILE_M: u32 = 4u;
 * and `loadWgsl("matmul", { TILE_M: 8 })` rewrites that one declaration. Naming a constant the file does not
 * declare is an error, so a typo cannot silently fall back to the default.
 *
 * Composition is textual too: blocks several kernels share (kernels/philox.wgsl, the matmul and attention
 * headers) are plain WGSL files appended to the kernel's own text by `composeWgsl`; WGSL resolves module-scope
 * names in any order, so a header may use the kernel's constants and the kernel the header's functions.
 */
import type { Gpu } from "./device.ts";

/** Thrown when a kernel fails to load, specialize, compile or validate; names the kernel. */
export class KernelError extends Error {
  constructor(readonly kernel: string, message: string) {
    super(`kernel "${kernel}": ${message}`);
    this.name = "KernelError";
  }
}

export type ConstValue = number | boolean;

const KERNEL_DIR = new URL("../../kernels/", import.meta.url);
const fileCache = new Map<string, string>();

/** Reads kernels/<name>.wgsl (cached). */
export function readWgsl(name: string): string {
  let text = fileCache.get(name);
  if (text === undefined) {
    const url = new URL(`${name}.wgsl`, KERNEL_DIR);
    try {
      text = Deno.readTextFileSync(url);
    } catch (err) {
      throw new KernelError(name, `cannot read ${url.pathname} (${(err as Error).message})`);
    }
    fileCache.set(name, text);
  }
  return text;
}

/**
 * A kernel's source followed by the shared blocks it includes (kernels/<name>.wgsl each, in the order given,
 * unspecialized): the one place kernels are composed. Specialize the kernel's text before composing, so that
 * its constants are the ones rewritten.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { composeWgsl, readWgsl } from "chi/lib/gpu/kernel.ts";
 *
 * // The SGLD step draws its noise from kernels/philox.wgsl.
 * const source = composeWgsl(readWgsl("sgld"), ["philox"]);
 * assert.ok(source.endsWith(readWgsl("philox")));
 * ```
 */
export function composeWgsl(source: string, include: readonly string[] = []): string {
  return [source, ...include.map(readWgsl)].join("\n");
}

/** Rewrites `const NAME: T = …;` declarations of `source` with the given values. */
export function specialize(name: string, source: string, consts: Record<string, ConstValue> = {}): string {
  let out = source;
  for (const [key, value] of Object.entries(consts)) {
    const re = new RegExp(`^(\\s*const\\s+${key}\\s*:\\s*(\\w+)\\s*=\\s*)[^;]+;`, "m");
    const m = re.exec(out);
    if (!m) {
      throw new KernelError(name, `specialization constant ${key} is not declared as "const ${key}: T = …;"`);
    }
    out = out.replace(re, `$1${wgslLiteral(name, key, m[2], value)};`);
  }
  return out;
}

/**
 * Expands the `//#repeat NAME` … `//#end` blocks of `source`: each is written once and repeated `counts[NAME]`
 * times, with NAME, standing alone or ending an identifier after `_` (`acc_U`), replaced by 0, 1, … in turn.
 * Why: WGSL has no way to keep an array indexed by a loop variable in registers unless the compiler unrolls the
 * loop, and CPU adapters do not unroll large bodies; a kernel that keeps several rows' state per invocation
 * writes that state as separate variables instead. A block naming a count not given, or left open, is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { repeatBlocks } from "chi/lib/gpu/kernel.ts";
 *
 * const src = "//#repeat U\nvar acc_U = x[i + U];\n//#end\n";
 * assert.equal(repeatBlocks("demo", src, { U: 2 }), "var acc_0 = x[i + 0];\nvar acc_1 = x[i + 1];\n");
 * ```
 */
export function repeatBlocks(name: string, source: string, counts: Record<string, number>): string {
  const lines = source.split("\n");
  const out: string[] = [];
  for (let at = 0; at < lines.length; at++) {
    const open = /^\s*\/\/#repeat\s+(\w+)\s*$/.exec(lines[at]);
    if (!open) {
      out.push(lines[at]);
      continue;
    }
    const key = open[1];
    const count = counts[key];
    if (count === undefined || !Number.isInteger(count) || count < 1) {
      throw new KernelError(
        name,
        `line ${at + 1}: //#repeat ${key} needs a positive integer count, got ${count}`,
      );
    }
    const end = lines.findIndex((l, i) => i > at && /^\s*\/\/#(end|repeat)\b/.test(l));
    if (end < 0 || !/^\s*\/\/#end\s*$/.test(lines[end])) {
      throw new KernelError(
        name,
        `line ${at + 1}: //#repeat ${key} is not closed by //#end before the next directive`,
      );
    }
    const word = new RegExp(`(?<![A-Za-z0-9])${key}(?![A-Za-z0-9_])`, "g");
    const block = lines.slice(at + 1, end);
    for (let u = 0; u < count; u++) out.push(...block.map((l) => l.replace(word, String(u))));
    at = end;
  }
  return out.join("\n");
}

function wgslLiteral(name: string, key: string, type: string, value: ConstValue): string {
  if (type === "bool") {
    if (typeof value !== "boolean") throw new KernelError(name, `${key} is bool, got ${value}`);
    return String(value);
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new KernelError(name, `${key} is ${type}, got ${value}`);
  }
  switch (type) {
    case "u32":
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new KernelError(name, `${key} must be a u32, got ${value}`);
      }
      return `${value}u`;
    case "i32":
      if (!Number.isInteger(value)) throw new KernelError(name, `${key} must be an i32, got ${value}`);
      return `${value}i`;
    case "f32": {
      const s = String(Math.fround(value));
      return /[.eE]/.test(s) ? s : `${s}.0`;
    }
    default:
      throw new KernelError(name, `${key} has type ${type}; only u32, i32, f32 and bool can be specialized`);
  }
}

/** A compiled compute pipeline with its name, for binding and dispatching. */
export class Kernel {
  constructor(
    readonly gpu: Gpu,
    readonly name: string,
    readonly pipeline: GPUComputePipeline,
  ) {}

  /** Bind group 0 from buffers (whole) or buffer ranges, in binding order 0, 1, 2, … */
  bind(resources: Array<GPUBuffer | GPUBufferBinding>): GPUBindGroup {
    return this.gpu.device.createBindGroup({
      label: this.name,
      layout: this.pipeline.getBindGroupLayout(0),
      entries: resources.map((r, i) => ({
        binding: i,
        resource: r instanceof GPUBuffer ? { buffer: r } : r,
      })),
    });
  }

  /** Records one dispatch into an open compute pass. */
  dispatch(pass: GPUComputePassEncoder, group: GPUBindGroup, x: number, y = 1, z = 1): void {
    const max = this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new KernelError(
        this.name,
        `dispatch ${x}×${y}×${z} exceeds maxComputeWorkgroupsPerDimension ${max}`,
      );
    }
    if (x === 0 || y === 0 || z === 0) return;
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
  }
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<Kernel>>>();

/**
 * Compiles (or returns the cached) kernel for WGSL source text. `name` labels errors; `entry` is the entry point.
 */
export function kernelFromSource(gpu: Gpu, name: string, source: string, entry = "main"): Promise<Kernel> {
  let cache = pipelineCache.get(gpu.device);
  if (!cache) pipelineCache.set(gpu.device, cache = new Map());
  const key = `${entry}\u0000${source}`;
  let k = cache.get(key);
  if (!k) {
    k = compile(gpu, name, source, entry);
    cache.set(key, k);
    k.catch(() => cache!.delete(key));
  }
  return k;
}

/**
 * Loads kernels/<file>.wgsl, specializes its constants, appends the shared blocks `include` names
 * (`composeWgsl`) and compiles entry point `entry`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGpu, KernelError, loadKernel } from "chi";
 *
 * const gpu = await getGpu();
 * // kernels/axpy.wgsl's fill1 entry point with its workgroup size WG specialized to 32.
 * const fill = await loadKernel(gpu, "axpy", { entry: "fill1", consts: { WG: 32 } });
 * assert.equal(fill.name, "axpy:fill1");
 * // A constant the file does not declare is an error, not a silent default.
 * assert.throws(() => loadKernel(gpu, "axpy", { consts: { TYPO: 1 } }), KernelError);
 * ```
 */
export function loadKernel(
  gpu: Gpu,
  file: string,
  opts: { entry?: string; consts?: Record<string, ConstValue>; include?: readonly string[] } = {},
): Promise<Kernel> {
  const entry = opts.entry ?? "main";
  const source = composeWgsl(specialize(file, readWgsl(file), opts.consts), opts.include);
  return kernelFromSource(gpu, entry === "main" ? file : `${file}:${entry}`, source, entry);
}

async function compile(gpu: Gpu, name: string, source: string, entry: string): Promise<Kernel> {
  const { device } = gpu;
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: name, code: source });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0) {
    await device.popErrorScope();
    const lines = source.split("\n");
    const detail = errors.map((m) => {
      const where = m.lineNum > 0 ? `line ${m.lineNum}: ${lines[m.lineNum - 1]?.trim() ?? ""}\n    ` : "";
      return `${where}${m.message.trim()}`;
    }).join("\n  ");
    throw new KernelError(name, `WGSL compilation failed:\n  ${detail}`);
  }
  let pipeline: GPUComputePipeline;
  try {
    pipeline = await device.createComputePipelineAsync({
      label: name,
      layout: "auto",
      compute: { module, entryPoint: entry },
    });
  } catch (err) {
    await device.popErrorScope();
    throw new KernelError(name, `pipeline creation failed: ${(err as Error).message.trim()}`);
  }
  const scoped = await device.popErrorScope();
  if (scoped) throw new KernelError(name, `validation failed: ${scoped.message.trim()}`);
  return new Kernel(gpu, name, pipeline);
}

/**
 * Runs `fn` inside a validation error scope and throws a KernelError naming `label` if any command it
 * recorded or submitted was invalid (an out-of-range binding, a wrong buffer usage…).
 */
export async function validated<T>(gpu: Gpu, label: string, fn: () => T | Promise<T>): Promise<T> {
  gpu.device.pushErrorScope("validation");
  let out: T;
  try {
    out = await fn();
  } catch (e) {
    await gpu.device.popErrorScope();
    throw e;
  }
  const err = await gpu.device.popErrorScope();
  if (err) throw new KernelError(label, `validation error: ${err.message.trim()}`);
  return out;
}
