/**
 * Run manifests: what produced an output. Records chi's version, the runtime (Deno, V8, TypeScript),
 * dependency versions (deno.json's import map), the git commit (read from .git without running git), the
 * command line, the time, the config, seeds, the WebGPU adapter and the SHA-256 of every input file.
 */
import { ChiInputError } from "./errors.ts";
import { fileURLToPath } from "node:url";
import type { AdapterRecord } from "../gpu/device.ts";
import { writeJsonAtomic } from "./files.ts";
import { HashError, sha256File, sha256Hex } from "./hash.ts";
import { codeFingerprint, type CodeRecord } from "./code_fingerprint.ts";
import { gitCodeDirty } from "./git_dirty.ts";

/** chi's version, recorded in every manifest. */
export const CHI_VERSION = "0.1.0";

/** Thrown when a manifest cannot be built; names the input or file at fault. */
export class ManifestError extends ChiInputError {
  constructor(detail: string) {
    super(detail);
    this.name = "ManifestError";
  }
}

/** The hash record of one input: a file, or a folder (hash over its files' hashes and relative paths). */
export interface InputRecord {
  path: string;
  kind: "file" | "dir";
  bytes: number;
  /** A file's SHA-256; for a folder, SHA-256 of the lines "<sha256>  <relative path>\n" sorted by path. */
  sha256: string;
  /** Number of files (folders only). */
  files?: number;
}

export interface GitRecord {
  /** Commit hash of HEAD, or "unknown" when the root is not a git repository (or HEAD is unborn). */
  commit: string;
  /** Branch ref HEAD points to ("refs/heads/main"), null when detached or unknown. */
  ref: string | null;
  /**
   * Whether the code (lib/, kernels/, scripts/) differs from the index or has files git does not track (see
   * git_dirty.ts); null when it cannot tell or there is no repository. Numbers from a dirty tree cannot be
   * reproduced from the commit alone.
   */
  dirty?: boolean | null;
}

export interface Manifest {
  chi_version: string;
  /** ISO 8601 UTC time the manifest was built. */
  created: string;
  command: { main: string; args: string[] };
  runtime: { deno: string; v8: string; typescript: string; os: string; arch: string };
  /** deno.json import map: name → specifier with version (e.g. "npm:ml-pca@4.1.1"). */
  dependencies: Record<string, string>;
  git: GitRecord;
  /** Fingerprint of lib/ and kernels/ (code_fingerprint.ts). */
  code?: CodeRecord;
  config: unknown;
  seeds: Record<string, number>;
  inputs: Record<string, InputRecord>;
  adapter: AdapterRecord | null;
  extra: Record<string, unknown>;
}

export interface BuildManifestOptions {
  config?: unknown;
  seeds?: Readonly<Record<string, number>>;
  /** Input name → path of a file or folder to hash. */
  inputs?: Readonly<Record<string, string>>;
  adapter?: AdapterRecord | null;
  extra?: Readonly<Record<string, unknown>>;
  /** Repository root holding deno.json and .git; defaults to the folder two levels above this module. */
  root?: string;
}

function defaultRoot(): string {
  const url = new URL("../../", import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url).replace(/\/+$/, "") : Deno.cwd();
}

async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return null;
    // A worktree's git folder may lie outside what the script may read: the commit is then "unknown".
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) return null;
    throw err;
  }
}

function joinPath(base: string, rel: string): string {
  return rel.startsWith("/") ? rel : `${base.replace(/\/+$/, "")}/${rel}`;
}

const HASH_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The commit of HEAD, read from the files of `.git`: HEAD → ref → loose ref file or packed-refs. Handles a
 * `.git` file (worktrees, submodules: "gitdir: …") and `commondir`. "unknown" when not a repository.
 */
export async function readGitCommit(root: string): Promise<GitRecord> {
  const unknown: GitRecord = { commit: "unknown", ref: null };
  let gitDir = joinPath(root, ".git");
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(gitDir);
  } catch {
    return unknown;
  }
  if (stat.isFile) {
    const text = (await readTextOrNull(gitDir)) ?? "";
    const m = /^gitdir:\s*(.+)$/m.exec(text);
    if (!m) return unknown;
    gitDir = joinPath(root, m[1].trim());
  }
  const head = (await readTextOrNull(joinPath(gitDir, "HEAD")))?.trim();
  if (!head) return unknown;
  if (HASH_RE.test(head)) return { commit: head, ref: null };
  const m = /^ref:\s*(\S+)$/.exec(head);
  if (!m) return unknown;
  const ref = m[1];
  const commonText = (await readTextOrNull(joinPath(gitDir, "commondir")))?.trim();
  const commonDir = commonText ? joinPath(gitDir, commonText) : gitDir;
  for (const dir of new Set([gitDir, commonDir])) {
    const loose = (await readTextOrNull(joinPath(dir, ref)))?.trim();
    if (loose && HASH_RE.test(loose)) return { commit: loose, ref };
  }
  const packed = await readTextOrNull(joinPath(commonDir, "packed-refs"));
  if (packed) {
    for (const line of packed.split("\n")) {
      if (line.startsWith("#") || line.startsWith("^")) continue;
      const [hash, name] = line.trim().split(/\s+/);
      if (name === ref && HASH_RE.test(hash)) return { commit: hash, ref };
    }
  }
  return { commit: "unknown", ref };
}

/** The commit, plus whether the code differs from it (`dirty`). */
export async function gitRecord(root: string): Promise<GitRecord> {
  const rec = await readGitCommit(root);
  if (rec.commit === "unknown") return { ...rec, dirty: null };
  const gitDir = await resolveGitDir(root);
  return { ...rec, dirty: gitDir === null ? null : await gitCodeDirty(root, gitDir, CODE_DIRS) };
}

const CODE_DIRS = ["lib", "kernels", "scripts"];

/** The git directory of `root` (following a `.git` file of a worktree), or null. */
async function resolveGitDir(root: string): Promise<string | null> {
  const gitDir = joinPath(root, ".git");
  try {
    if ((await Deno.stat(gitDir)).isDirectory) return gitDir;
  } catch {
    return null;
  }
  const m = /^gitdir:\s*(.+)$/m.exec((await readTextOrNull(gitDir)) ?? "");
  return m ? joinPath(root, m[1].trim()) : null;
}

/** deno.json's import map (name → specifier); {} when there is no deno.json. */
export async function readDependencies(root: string): Promise<Record<string, string>> {
  const path = joinPath(root, "deno.json");
  const text = await readTextOrNull(path);
  if (text === null) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const imports = (json as { imports?: unknown }).imports;
  if (imports === undefined) return {};
  if (typeof imports !== "object" || imports === null || Array.isArray(imports)) {
    throw new ManifestError(`${path}: "imports" must be an object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(imports)) if (typeof v === "string") out[k] = v;
  return out;
}

async function hashDir(path: string): Promise<InputRecord> {
  const files: Array<{ rel: string; sha256: string; bytes: number }> = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for await (const ent of Deno.readDir(dir)) {
      const full = `${dir}/${ent.name}`;
      const rel = prefix ? `${prefix}/${ent.name}` : ent.name;
      const info = await Deno.stat(full);
      if (info.isDirectory) await walk(full, rel);
      else if (info.isFile) files.push({ rel, ...(await sha256File(full)) });
    }
  }
  await walk(path.replace(/\/+$/, ""), "");
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return {
    path,
    kind: "dir",
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    sha256: sha256Hex(files.map((f) => `${f.sha256}  ${f.rel}\n`).join("")),
    files: files.length,
  };
}

/** Hash record of one input file or folder; a missing path is an error naming the input. */
export async function hashInput(name: string, path: string): Promise<InputRecord> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "not found" : (err as Error).message;
    throw new ManifestError(`input "${name}": ${path}: ${why}`);
  }
  try {
    if (info.isDirectory) return await hashDir(path);
    const { sha256, bytes } = await sha256File(path);
    return { path, kind: "file", bytes, sha256 };
  } catch (err) {
    if (err instanceof HashError || err instanceof Deno.errors.PermissionDenied) {
      throw new ManifestError(`input "${name}": ${(err as Error).message}`);
    }
    throw err;
  }
}

/**
 * Builds a run manifest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildManifest } from "chi";
 *
 * const manifest = await buildManifest({ config: { steps: 10 }, seeds: { sgld: 1 } });
 * assert.equal(manifest.seeds.sgld, 1);
 * console.log(manifest.runtime.deno, manifest.code?.sha256); // what ran, and the fingerprint of lib/ and kernels/
 * ```
 */
export async function buildManifest(opts: BuildManifestOptions = {}): Promise<Manifest> {
  const root = opts.root ?? defaultRoot();
  const inputs: Record<string, InputRecord> = {};
  for (const [name, path] of Object.entries(opts.inputs ?? {})) inputs[name] = await hashInput(name, path);
  const seeds: Record<string, number> = {};
  for (const [k, v] of Object.entries(opts.seeds ?? {})) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new ManifestError(`seed "${k}" must be a finite number, got ${JSON.stringify(v)}`);
    }
    seeds[k] = v;
  }
  return {
    chi_version: CHI_VERSION,
    created: new Date().toISOString(),
    command: { main: Deno.mainModule, args: [...Deno.args] },
    runtime: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      os: Deno.build.os,
      arch: Deno.build.arch,
    },
    dependencies: await readDependencies(root),
    git: await gitRecord(root),
    code: await codeFingerprint(),
    config: opts.config ?? null,
    seeds,
    inputs,
    adapter: opts.adapter ?? null,
    extra: { ...(opts.extra ?? {}) },
  };
}

/**
 * Writes a manifest as pretty JSON, atomically.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildManifest, writeManifest } from "chi";
 *
 * const path = `${await Deno.makeTempDir()}/manifest.json`;
 * await writeManifest(path, await buildManifest({ seeds: { sgld: 1 } }));
 * assert.equal(JSON.parse(await Deno.readTextFile(path)).seeds.sgld, 1);
 * ```
 */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  await writeJsonAtomic(path, manifest);
}

/** Builds a run's manifest and writes it as `dir`/manifest.json: the last step of every script that writes one. */
export async function writeRunManifest(dir: string, opts: BuildManifestOptions): Promise<void> {
  await writeManifest(`${dir}/manifest.json`, await buildManifest(opts));
}
