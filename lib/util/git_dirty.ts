/**
 * Whether the code in a git working tree differs from what git holds, read from the files of `.git` without
 * running git (the scripts may not spawn processes): each file under the code folders is compared with its
 * entry in the index (the blob SHA-1 git would give it), and a file the index does not know counts too. A
 * change staged but not yet committed is not seen here; the code fingerprint in the manifest covers it.
 */
import { createHash } from "node:crypto";

/** Tracked files (path → blob SHA-1 hex) of a git index of version 2 or 3; null for another version. */
export function parseGitIndex(bytes: Uint8Array): Map<string, string> | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== "DIRC") return null;
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) return null;
  const count = view.getUint32(8);
  const out = new Map<string, string>();
  let at = 12;
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  for (let i = 0; i < count; i++) {
    const sha = hex(bytes.subarray(at + 40, at + 60));
    const flags = view.getUint16(at + 60);
    const extended = version === 3 && (flags & 0x4000) !== 0;
    const nameStart = at + 62 + (extended ? 2 : 0);
    let end = nameStart;
    while (bytes[end] !== 0) end++;
    out.set(new TextDecoder().decode(bytes.subarray(nameStart, end)), sha);
    // Entries are padded with 1–8 NULs to a multiple of 8 bytes from the entry's start.
    const len = end - at;
    at += Math.floor((len + 8) / 8) * 8;
  }
  return out;
}

function blobSha1(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

async function listFiles(dir: string, prefix: string, out: string[]): Promise<void> {
  for await (const ent of Deno.readDir(dir)) {
    const rel = `${prefix}/${ent.name}`;
    if (ent.isDirectory) await listFiles(`${dir}/${ent.name}`, rel, out);
    else if (ent.isFile) out.push(rel);
  }
}

/**
 * True when a file under `dirs` of `root` differs from the index at `gitDir`/index or is not in it; false
 * when all match; null when it cannot tell (no index, an unknown index version, unreadable files).
 */
export async function gitCodeDirty(
  root: string,
  gitDir: string,
  dirs: readonly string[],
): Promise<boolean | null> {
  try {
    const index = parseGitIndex(await Deno.readFile(`${gitDir}/index`));
    if (index === null) return null;
    for (const dir of dirs) {
      const files: string[] = [];
      await listFiles(`${root}/${dir}`, dir, files);
      const present = new Set(files);
      for (const tracked of index.keys()) {
        if (tracked.startsWith(`${dir}/`) && !present.has(tracked)) return true;
      }
      for (const rel of files) {
        const sha = index.get(rel);
        if (sha === undefined || sha !== blobSha1(await Deno.readFile(`${root}/${rel}`))) return true;
      }
    }
    return false;
  } catch {
    return null;
  }
}
