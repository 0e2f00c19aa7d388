/**
 * Which optional WebGPU features this runtime and adapter offer for faster kernels (issue 12 item 3):
 * subgroups, shader-f16, and cooperative (subgroup) matrices. adapter.features lists what the adapter
 * advertises; but subgroups work on lavapipe without being listed (docs notes), so each is also probed by
 * requesting a throwaway device with it and compiling a shader that uses it.
 */
import type { Gpu } from "../gpu/device.ts";

const PROBES: Record<string, { feature: string; wgsl: string }> = {
  "shader-f16": {
    feature: "shader-f16",
    wgsl: "enable f16;\n@compute @workgroup_size(1) fn main() { var x: f16 = 1.0h; x = x * 2.0h; }",
  },
  subgroups: {
    feature: "subgroups",
    wgsl:
      "@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(subgroup_size) s: u32, @builtin(local_invocation_index) i: u32) { o[i] = subgroupAdd(f32(s)); }",
  },
  // wgpu's experimental cooperative-matrix extension (Vulkan VK_KHR_cooperative_matrix); not in the WebGPU spec.
  "cooperative-matrix (wgpu experimental)": {
    feature: "experimental-cooperative-matrix",
    wgsl: "enable wgpu_cooperative_matrix;\n@compute @workgroup_size(64) fn main() {}",
  },
};

export interface FeatureReport {
  /** adapter.features, sorted. */
  adapter: string[];
  /** Per probe: "yes", or why not (not requestable / shader rejected). */
  probed: Record<string, string>;
}

export async function adapterFeatures(gpu: Gpu): Promise<FeatureReport> {
  const adapter: string[] = [...gpu.adapter.features].sort();
  const probed: Record<string, string> = {};
  for (const [name, p] of Object.entries(PROBES)) {
    // wgpu may accept a shader using the feature on a device that never requested it (subgroups on lavapipe).
    gpu.device.pushErrorScope("validation");
    const info0 = await gpu.device.createShaderModule({ code: p.wgsl }).getCompilationInfo();
    const err0 = await gpu.device.popErrorScope();
    const ok0 = !err0 && info0.messages.every((x) => x.type !== "error");
    probed[`${name}, shader on chi's device without requesting it`] = ok0 ? "compiles" : "rejected";
    let device: GPUDevice | undefined;
    try {
      device = await gpu.adapter.requestDevice({ requiredFeatures: [p.feature as GPUFeatureName] });
    } catch (e) {
      probed[name] = `no (device request refused: ${
        (e as Error).message.trim().split("\n")[0].slice(0, 100)
      })`;
      continue;
    }
    try {
      device.pushErrorScope("validation");
      const m = device.createShaderModule({ code: p.wgsl });
      const info = await m.getCompilationInfo();
      const err = await device.popErrorScope();
      const msgs = info.messages.filter((x) => x.type === "error").map((x) => x.message.trim());
      probed[name] = msgs.length === 0 && !err
        ? `yes (${adapter.includes(p.feature) ? "listed" : "not listed in adapter.features"})`
        : `no (shader rejected: ${(msgs[0] ?? err?.message ?? "").split("\n")[0].slice(0, 100)})`;
    } finally {
      device.destroy();
    }
  }
  return { adapter, probed };
}
