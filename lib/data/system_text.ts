/**
 * A real-text dataset from files every Debian machine has (docs/real-text.md): a base corpus q and probe
 * corpora q′ of distinct genres, so that the sweep has something like the paper's Pile and Pile subsets
 * without a download.
 *
 * Sources (one genre each, chosen because they are present on any Debian install and differ in register):
 *  - "licenses":   /usr/share/common-licenses/* and /usr/share/doc/* /copyright — legal English (cf. freelaw);
 *  - "changelogs": /usr/share/doc/* /changelog.Debian.gz — terse technical notes, names, dates, e-mail
 *                  addresses, version numbers (cf. hackernews, enron_emails);
 *  - "python":     the Python standard library's *.py under /usr/lib/python3.* — code (cf. github).
 *
 * Every document is assigned by a hash of its path to the base (3 in 4) or held out for its genre's probe
 * (1 in 4), so a probe's documents never appear in the base it is mixed into (the paper's probes are distinct
 * datasets from its training data too). The base interleaves the genres' held-in documents in a seeded order,
 * each genre capped at the same character budget so that no genre dominates. Paths are sorted and the split
 * and order depend only on the paths and the seed, so the same machine gives the same corpora.
 */

import { gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { Rng } from "../util/random.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../util/files.ts";
import { buildShard } from "./build_shard.ts";
import { trainBpe } from "./tokenizer.ts";

/** One genre of system text. */
export interface SystemTextSource {
  name: string;
  description: string;
  /** The files of the genre, sorted. */
  files(): Promise<string[]>;
  /** A file's text (gunzipped where needed). */
  read(path: string): Promise<string>;
  /**
   * What the split hashes: the file's path below the tree's root (its Debian path), so that a tree mounted
   * elsewhere (a chroot, a container, a test's temporary folder) splits the same way.
   */
  splitKey(path: string): string;
}

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(`${dir}/${e.name}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) return [];
    throw err;
  }
  return out.sort();
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Regular files under `dir` (recursively, no symlinked folders) whose name passes `keep`, sorted. */
async function walk(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await visit(p);
      else if (e.isFile && keep(e.name)) out.push(p);
    }
  };
  await visit(dir);
  return out.sort();
}

async function readText(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const raw = path.endsWith(".gz") ? gunzipSync(bytes) : bytes;
  return new TextDecoder("utf-8", { fatal: false }).decode(raw);
}

/** The three genres of the module comment, at their Debian paths (`root` prefixes them, for tests). */
export function systemTextSources(root = ""): SystemTextSource[] {
  const doc = `${root}/usr/share/doc`;
  const splitKey = (path: string) => path.startsWith(root) ? path.slice(root.length) : path;
  const perPackage = async (file: string) => {
    const out: string[] = [];
    for (const d of await listDir(doc)) if (await isFile(`${d}/${file}`)) out.push(`${d}/${file}`);
    return out;
  };
  return [
    {
      name: "licenses",
      description: "/usr/share/common-licenses/* and /usr/share/doc/*/copyright",
      files: async () => {
        const common = [];
        for (const p of await listDir(`${root}/usr/share/common-licenses`)) {
          if (await isFile(p)) common.push(p);
        }
        return [...common, ...(await perPackage("copyright"))].sort();
      },
      read: readText,
      splitKey,
    },
    {
      name: "changelogs",
      description: "/usr/share/doc/*/changelog.Debian.gz",
      files: () => perPackage("changelog.Debian.gz"),
      read: readText,
      splitKey,
    },
    {
      name: "python",
      description: "/usr/lib/python3.*/**/*.py (the standard library)",
      files: async () => {
        const dirs = (await listDir(`${root}/usr/lib`)).filter((d) => /\/python3\.\d+$/.test(d));
        const out: string[] = [];
        for (const d of dirs) out.push(...await walk(d, (n) => n.endsWith(".py")));
        return out;
      },
      read: readText,
      splitKey,
    },
  ];
}

export interface SystemTextOptions {
  /** Characters of each genre in the base corpus (default 600k). */
  baseChars?: number;
  /** Characters of each probe corpus (default 200k). */
  probeChars?: number;
  /** Longer documents are cut to this many characters (default 8000), so that one file cannot dominate. */
  maxDocChars?: number;
  /** Seed of the base's interleaving order (default 0). */
  seed?: number;
}

export const SYSTEM_TEXT_DEFAULTS = Object.freeze({
  baseChars: 600_000,
  probeChars: 200_000,
  maxDocChars: 8000,
  seed: 0,
});

/** A genre's share of the dataset: documents held in (for the base) and held out (its probe). */
export interface GenreText {
  name: string;
  description: string;
  files: number;
  base: string[];
  probe: string[];
}

export interface SystemTextDataset {
  /** The base documents, genres interleaved in a seeded order. */
  base: string[];
  genres: GenreText[];
}

function pathHash(path: string): string {
  return createHash("sha256").update(path).digest("hex");
}

/** Held out for the probe when the first byte of sha256(path) is below 64: 1 in 4, by path alone. */
export function isHeldOut(path: string): boolean {
  return parseInt(pathHash(path).slice(0, 2), 16) < 64;
}

/** Reads every genre and splits it (see the module comment). */
export async function buildSystemText(
  sources: readonly SystemTextSource[],
  opts: SystemTextOptions = {},
): Promise<SystemTextDataset> {
  const o = { ...SYSTEM_TEXT_DEFAULTS, ...opts };
  const genres: GenreText[] = [];
  for (const s of sources) {
    // Hash order spreads the capped budget over the whole alphabet of packages (deterministic, by path).
    const files = (await s.files()).map((f) => [pathHash(s.splitKey(f)), f]).sort().map(([, f]) => f);
    const g: GenreText = {
      name: s.name,
      description: s.description,
      files: files.length,
      base: [],
      probe: [],
    };
    let baseChars = 0, probeChars = 0;
    for (const f of files) {
      const held = isHeldOut(s.splitKey(f));
      if (held ? probeChars >= o.probeChars : baseChars >= o.baseChars) continue;
      const text = (await s.read(f)).slice(0, o.maxDocChars).trim();
      if (text.length < 200) continue; // stub files ("see /usr/share/common-licenses/GPL") say nothing
      if (held) {
        g.probe.push(text);
        probeChars += text.length;
      } else {
        g.base.push(text);
        baseChars += text.length;
      }
      if (baseChars >= o.baseChars && probeChars >= o.probeChars) break;
    }
    if (g.base.length === 0 || g.probe.length === 0) {
      throw new Deno.errors.NotFound(`system text "${s.name}" (${s.description}): no documents found`);
    }
    genres.push(g);
  }
  const base = genres.flatMap((g) => g.base);
  const rng = new Rng(o.seed).fork("systemText");
  for (let i = base.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [base[i], base[j]] = [base[j], base[i]];
  }
  return { base, genres };
}

export interface SystemTextFiles {
  tokenizer: string;
  /** Shard paths (.tokens), base first then one per genre. */
  shards: Record<string, string>;
  /** The same documents as JSON Lines ({"text": …} per line), for readers of other tools. */
  jsonl: Record<string, string>;
  tokens: Record<string, number>;
  documents: Record<string, number>;
}

/**
 * Writes the dataset into `dir`: a byte-level BPE tokenizer of `vocabSize` tokens trained on the base only
 * (tokenizer.json), the base and every genre's probe as token shards and as JSONL, and sources.json recording
 * what came from where.
 */
export async function writeSystemText(
  ds: SystemTextDataset,
  dir: string,
  vocabSize: number,
): Promise<SystemTextFiles> {
  await Deno.mkdir(`${dir}/jsonl`, { recursive: true });
  const tokenizer = trainBpe(ds.base, vocabSize);
  const tokenizerPath = `${dir}/tokenizer.json`;
  await writeTextFileAtomic(tokenizerPath, tokenizer.toHfJson());
  const out: SystemTextFiles = { tokenizer: tokenizerPath, shards: {}, jsonl: {}, tokens: {}, documents: {} };
  const sets: [string, string[], string][] = [
    ["base", ds.base, `system text base: ${ds.genres.map((g) => g.name).join(" + ")} (held-in documents)`],
    ...ds.genres.map((
      g,
    ): [string, string[], string] => [g.name, g.probe, `system text probe: ${g.description}`]),
  ];
  for (const [name, docs, source] of sets) {
    const jsonl = `${dir}/jsonl/${name}.jsonl`;
    await writeTextFileAtomic(jsonl, docs.map((text) => JSON.stringify({ text }) + "\n").join(""));
    const meta = await buildShard(docs, tokenizer, `${dir}/${name}`, { source, extra: { tokenizerPath } });
    out.shards[name] = `${dir}/${name}.tokens`;
    out.jsonl[name] = jsonl;
    out.tokens[name] = meta.tokens;
    out.documents[name] = meta.documents;
  }
  await writeJsonAtomic(`${dir}/sources.json`, {
    vocabSize,
    genres: ds.genres.map((g) => ({
      name: g.name,
      from: g.description,
      files: g.files,
      baseDocuments: g.base.length,
      baseChars: g.base.reduce((a, d) => a + d.length, 0),
      probeDocuments: g.probe.length,
      probeChars: g.probe.reduce((a, d) => a + d.length, 0),
    })),
    tokens: out.tokens,
  });
  return out;
}
