/**
 * Acquiring the WebGPU adapter and device. One device per process is shared by everything (tests included):
 * creating devices is slow and llvmpipe gains nothing from several.
 */

import { ChiInputError } from "../util/errors.ts";

/** What a run manifest records about the adapter: numbers mean nothing without it. */
export interface AdapterRecord {
  description: string;
  vendor: string;
  architecture: string;
  device: string;
  isFallbackAdapter: boolean;
  /** "cpu" for software adapters (llvmpipe, lavapipe, WARP, SwiftShader), "gpu" otherwise. */
  kind: "cpu" | "gpu";
  backend: string;
  features: string[];
  limits: Record<string, number>;
}

export interface Gpu {
  adapter: GPUAdapter;
  device: GPUDevice;
  /** Kernel family to use: workgroup-tiled kernels on real GPUs, register-blocked ones on CPU adapters. */
  kind: "cpu" | "gpu";
  hasTimestamps: boolean;
  record: AdapterRecord;
}

/** Thrown when no WebGPU adapter is available; the message says what to install. */
export class GpuUnavailableError extends ChiInputError {
  constructor(detail: string) {
    super(
      `no WebGPU adapter available (${detail}). chi needs a WebGPU adapter: on a machine without a GPU install ` +
        `Mesa's software rasterizers (Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1 libegl-mesa0), ` +
        `on a GPU machine its Vulkan driver. DENO_WEBGPU_BACKEND (vulkan, gl) selects a backend; an empty value ` +
        `disables all of them.`,
    );
    this.name = "GpuUnavailableError";
  }
}

/** Limits requested at the adapter's maximum: device defaults are too small for attention backward. */
const LIMITS_TO_RAISE = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxBindGroups",
  "maxUniformBufferBindingSize",
] as const;

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|warp|microsoft basic render/i;

let shared: Promise<Gpu> | undefined;

/**
 * Returns the process-wide GPU, acquiring it on first use.
 *
 * @example
 * ```ts
 * import { getGpu } from "chi";
 *
 * const gpu = await getGpu(); // the same device on every call
 * console.log(gpu.record.description, gpu.kind); // e.g. "llvmpipe (LLVM 15.0.6, 256 bits) cpu"
 * ```
 */
export function getGpu(): Promise<Gpu> {
  shared ??= acquireGpu().catch((err) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

/**
 * The Vulkan/Mesa loader prints "error: XDG_RUNTIME_DIR is invalid or not set" (twice) when the variable is
 * unset, which would make a healthy run print an error line; the deno.json task shell cannot default a
 * variable, so it is set here, before the adapter is requested. Without permission to read or set it, no-op.
 */
function ensureRuntimeDir(): void {
  try {
    if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", "/tmp");
  } catch {
    // No --allow-env for it: leave the environment as it is.
  }
}

async function acquireGpu(): Promise<Gpu> {
  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) {
    throw new GpuUnavailableError("navigator.gpu is missing in this runtime; use Deno ≥ 2.8.3");
  }
  ensureRuntimeDir();
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    const backend = Deno.env.get("DENO_WEBGPU_BACKEND");
    throw new GpuUnavailableError(
      backend === undefined
        ? "requestAdapter returned null"
        : `requestAdapter returned null with DENO_WEBGPU_BACKEND="${backend}"`,
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS_TO_RAISE) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === "number") requiredLimits[name] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  const hasTimestamps = adapter.features.has("timestamp-query");
  if (hasTimestamps) requiredFeatures.push("timestamp-query");
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  device.addEventListener("uncapturederror", (ev) => {
    // Errors outside an error scope would otherwise vanish: surface them loudly.
    console.error(`WebGPU uncaptured error: ${(ev as GPUUncapturedErrorEvent).error.message.trim()}`);
  });
  const info = adapter.info;
  const kind = info.isFallbackAdapter || SOFTWARE_ADAPTER.test(info.description) ? "cpu" : "gpu";
  const limits: Record<string, number> = {};
  for (const name of LIMITS_TO_RAISE) {
    limits[name] = (device.limits as unknown as Record<string, number>)[name];
  }
  const record: AdapterRecord = {
    description: info.description,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    isFallbackAdapter: info.isFallbackAdapter,
    kind,
    backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
    features: [...device.features].sort(),
    limits,
  };
  return { adapter, device, kind, hasTimestamps, record };
}
