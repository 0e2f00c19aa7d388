/**
 * What differs between the run a manifest records and the run `--from-manifest` is about to make, besides
 * the inputs (changedInputs refuses those): the commit, whether the code was dirty, the code itself, the Deno
 * version, the adapter. None makes a rerun impossible, but each can change the numbers, so each is a warning
 * the user sees before trusting a "reproduction".
 */
import type { AdapterRecord } from "../gpu/device.ts";
import type { Manifest } from "../util/manifest.ts";

export interface RunEnvironment {
  commit: string;
  dirty: boolean | null | undefined;
  code: string | undefined;
  deno: string;
  adapter: AdapterRecord | null;
}

function adapterName(a: AdapterRecord | null | undefined): string {
  if (!a) return "none recorded";
  return [a.description || a.device, a.vendor, a.architecture, a.backend].filter((x) => x).join(" / ");
}

/** One line per difference, naming the recorded and the current value. */
export function reproductionWarnings(m: Manifest, now: RunEnvironment): string[] {
  const out: string[] = [];
  const was = m.git?.commit ?? "unknown";
  if (was !== now.commit) out.push(`the manifest was made at commit ${was}, this checkout is ${now.commit}`);
  if (m.git?.dirty) out.push("the manifest's run had uncommitted code changes (git.dirty)");
  if (now.dirty) out.push("this checkout has uncommitted code changes");
  if (m.code?.sha256 !== undefined && now.code !== undefined && m.code.sha256 !== now.code) {
    out.push(`the code (lib/, kernels/) differs from the manifest's (${m.code.sha256.slice(0, 12)}…)`);
  }
  if (m.runtime?.deno !== now.deno) {
    out.push(`the manifest ran on Deno ${m.runtime?.deno}, this is Deno ${now.deno}`);
  }
  if (now.adapter && adapterName(m.adapter) !== adapterName(now.adapter)) {
    out.push(`the manifest ran on adapter ${adapterName(m.adapter)}, this is ${adapterName(now.adapter)}`);
  }
  return out;
}
