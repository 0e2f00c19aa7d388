/**
 * The machine a benchmark figure was measured on: CPU model, threads, load average, adapter, backend, Deno
 * version and llvmpipe's vector width. The llvmpipe kernels' speed swings about 5× between CPUs and a
 * loaded machine halves it, so every CPU figure is printed next to this line (issue 12).
 */
import os from "node:os";
import type { Gpu } from "../gpu/device.ts";

function granted(desc: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync?.(desc).state === "granted";
}

/**
 * The CPU model (node:os cpus(), needs --allow-sys=cpus: Deno 2.9 reads /proc/cpuinfo only under --allow-all)
 * and, where /proc/cpuinfo is readable, its SIMD flags.
 */
export function cpuModel(): string {
  if (!granted({ name: "sys", kind: "cpus" })) return "unknown CPU (no --allow-sys=cpus)";
  let model = os.cpus()[0]?.model?.trim() || "unknown CPU";
  if (granted({ name: "read", path: "/proc/cpuinfo" })) {
    try {
      const flags = /^flags\s*:\s*(.+)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1]?.split(/\s+/) ??
        [];
      const simd = ["avx512f", "avx2", "fma", "asimd"].filter((f) => flags.includes(f));
      if (simd.length > 0) model += ` (${simd.join(" ")})`;
    } catch {
      // flags are a nicety: the model name is what the figure needs
    }
  }
  return model;
}

/** The 1-, 5- and 15-minute load averages (needs --allow-sys=loadavg), or undefined. */
export function loadAverage(): [number, number, number] | undefined {
  if (!granted({ name: "sys", kind: "loadavg" })) return undefined;
  const [a, b, c] = Deno.loadavg();
  return [a, b, c];
}

/** One line naming the host and adapter, for the head of every benchmark's output. */
export function describeHost(gpu?: Gpu): string {
  const parts = [`CPU: ${cpuModel()}, ${navigator.hardwareConcurrency} threads`];
  const load = loadAverage();
  if (load) parts.push(`load average ${load.map((x) => x.toFixed(2)).join(" ")}`);
  if (gpu) {
    const r = gpu.record;
    parts.push(
      `adapter: ${r.description || r.device} (${r.vendor}, ${gpu.kind}, backend ${r.backend})`,
    );
  }
  if (granted({ name: "env", variable: "LP_NATIVE_VECTOR_WIDTH" })) {
    parts.push(`LP_NATIVE_VECTOR_WIDTH=${Deno.env.get("LP_NATIVE_VECTOR_WIDTH") ?? "(unset)"}`);
  }
  parts.push(`Deno ${Deno.version.deno}`);
  return parts.join("; ");
}
