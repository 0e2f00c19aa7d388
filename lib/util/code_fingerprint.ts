/**
 * A fingerprint of the code that computes numbers: SHA-256 over the files of lib/ and kernels/ (each folder
 * hashed as manifest inputs are). It goes into every sweep unit's fingerprint, so a unit computed by other
 * code is never merged with units of this code under one manifest. Run from a URL (a published package),
 * there are no folders to list: the module URL, which carries the version, stands in (also when the script
 * may not read its own code folders: source "unreadable").
 */
import { fileURLToPath } from "node:url";
import { hashInput } from "./manifest.ts";
import { sha256Hex } from "./hash.ts";

export interface CodeRecord {
  sha256: string;
  /** "files": hashed lib/ and kernels/; "url": the module URL of a package run from a registry. */
  source: "files" | "url" | "unreadable";
  files: number;
}

const CODE_DIRS = ["lib", "kernels"];

let cached: Promise<CodeRecord> | undefined;

/** The fingerprint of this checkout's code (computed once per process). */
export function codeFingerprint(): Promise<CodeRecord> {
  cached ??= compute();
  return cached;
}

async function compute(): Promise<CodeRecord> {
  const rootUrl = new URL("../../", import.meta.url);
  if (rootUrl.protocol !== "file:") return { sha256: sha256Hex(rootUrl.href), source: "url", files: 0 };
  const root = fileURLToPath(rootUrl).replace(/\/+$/, "");
  const lines: string[] = [];
  let files = 0;
  for (const dir of CODE_DIRS) {
    let rec;
    try {
      rec = await hashInput(`code ${dir}/`, `${root}/${dir}`);
    } catch {
      // Run from a folder whose read permission does not reach the code: the module URL stands in.
      return { sha256: sha256Hex(rootUrl.href), source: "unreadable", files: 0 };
    }
    lines.push(`${rec.sha256}  ${dir}\n`);
    files += rec.files ?? 1;
  }
  return { sha256: sha256Hex(lines.join("")), source: "files", files };
}
