/**
 * What a manifest says about the code: whether the working tree's code differs from git's index (read from the
 * index file, no git process), the code fingerprint, and the warnings `--from-manifest` prints when the
 * commit, the code, Deno or the adapter differ from the recorded run.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { buildManifest } from "../lib/util/manifest.ts";
import { gitCodeDirty, parseGitIndex } from "../lib/util/git_dirty.ts";
import { reproductionWarnings } from "../lib/sweep/reproduce.ts";
import type { AdapterRecord } from "../lib/gpu/device.ts";

/** A version-2 git index listing `files` (path → content), as `git add` would write it. */
function gitIndex(files: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(12);
  header.set(new TextEncoder().encode("DIRC"));
  const names = Object.keys(files).sort();
  new DataView(header.buffer).setUint32(4, 2);
  new DataView(header.buffer).setUint32(8, names.length);
  parts.push(header);
  for (const name of names) {
    const content = new TextEncoder().encode(files[name]);
    const sha = createHash("sha1").update(`blob ${content.length}\0`).update(content).digest();
    const nameBytes = new TextEncoder().encode(name);
    const len = Math.floor((62 + nameBytes.length + 8) / 8) * 8;
    const e = new Uint8Array(len);
    const v = new DataView(e.buffer);
    v.setUint32(24, 0o100644);
    v.setUint32(36, content.length);
    e.set(sha, 40);
    v.setUint16(60, nameBytes.length);
    e.set(nameBytes, 62);
    parts.push(e);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0) + 20);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function fakeRepo(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "chi_git_" });
  await Deno.mkdir(join(root, ".git", "refs", "heads"), { recursive: true });
  await Deno.writeTextFile(join(root, ".git", "HEAD"), "ref: refs/heads/main\n");
  await Deno.writeTextFile(join(root, ".git", "refs", "heads", "main"), "a".repeat(40) + "\n");
  await Deno.writeFile(join(root, ".git", "index"), gitIndex(files));
  for (const [p, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, p, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, p), text);
  }
  return root;
}

Deno.test("git index: parsed entries and the dirty flag of the code folders", async () => {
  const files = { "lib/a.ts": "export const a = 1;\n", "kernels/k.wgsl": "// k\n", "scripts/s.ts": "// s\n" };
  const index = parseGitIndex(gitIndex(files));
  assert.deepEqual([...index!.keys()], Object.keys(files).sort());
  const root = await fakeRepo(files);
  try {
    const dirs = ["lib", "kernels", "scripts"];
    assert.equal(await gitCodeDirty(root, join(root, ".git"), dirs), false);
    const clean = await buildManifest({ root });
    assert.equal(clean.git.commit, "a".repeat(40));
    assert.equal(clean.git.dirty, false);
    await Deno.writeTextFile(join(root, "lib/a.ts"), "export const a = 2;\n");
    assert.equal(await gitCodeDirty(root, join(root, ".git"), dirs), true, "an edited file");
    assert.equal((await buildManifest({ root })).git.dirty, true);
    await Deno.writeTextFile(join(root, "lib/a.ts"), files["lib/a.ts"]);
    await Deno.writeTextFile(join(root, "kernels/new.wgsl"), "// new\n");
    assert.equal(await gitCodeDirty(root, join(root, ".git"), dirs), true, "a file git does not track");
    await Deno.remove(join(root, "kernels/new.wgsl"));
    await Deno.remove(join(root, "scripts/s.ts"));
    assert.equal(await gitCodeDirty(root, join(root, ".git"), dirs), true, "a tracked file deleted");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("manifests record the code fingerprint", async () => {
  const m = await buildManifest();
  assert.match(m.code!.sha256, /^[0-9a-f]{64}$/);
  assert.equal(m.code!.source, "files");
  assert.ok(m.code!.files > 50);
});

Deno.test("--from-manifest warnings name what differs: commit, dirty code, code, Deno, adapter", async () => {
  const m = await buildManifest();
  const adapter = {
    description: "llvmpipe",
    vendor: "mesa",
    architecture: "",
    backend: "vulkan",
  } as AdapterRecord;
  const same = {
    commit: m.git.commit,
    dirty: false,
    code: m.code!.sha256,
    deno: m.runtime.deno,
    adapter,
  };
  assert.deepEqual(reproductionWarnings({ ...m, git: { ...m.git, dirty: false }, adapter }, same), []);
  const w = reproductionWarnings(
    {
      ...m,
      git: { commit: "b".repeat(40), ref: null, dirty: true },
      runtime: { ...m.runtime, deno: "1.0.0" },
      adapter,
    },
    { ...same, code: "c".repeat(64), adapter: { ...adapter, description: "NVIDIA H200" } },
  );
  assert.equal(w.length, 5, w.join("\n"));
  assert.ok(w.some((l) => l.includes("b".repeat(40)) && l.includes(m.git.commit)));
  assert.ok(w.some((l) => l.includes("uncommitted")));
  assert.ok(w.some((l) => l.includes("code (lib/, kernels/)")));
  assert.ok(w.some((l) => l.includes("Deno 1.0.0")));
  assert.ok(w.some((l) => l.includes("NVIDIA H200")));
});
