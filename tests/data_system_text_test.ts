/** The real-text dataset from system files (lib/data/system_text.ts), on a fake file tree. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { buildSystemText, isHeldOut, systemTextSources, writeSystemText } from "../lib/data/system_text.ts";
import { readShard } from "../lib/data/shard.ts";
import { loadTokenizer } from "../lib/data/tokenizer.ts";

const para = (what: string, i: number) =>
  `${what} number ${i}. `.repeat(30) + `Permission is hereby granted, free of charge, to any person ${i}.`;

const PACKAGES = 16;
/** Every third package's copyright file is a stub (too short to keep). */
const isStub = (f: string) => Number(/pkg(\d+)\//.exec(f)?.[1] ?? 1) % 3 === 0;

async function fakeRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "chi-systext-" });
  await Deno.mkdir(join(root, "usr/share/common-licenses"), { recursive: true });
  await Deno.writeTextFile(join(root, "usr/share/common-licenses/GPL-3"), para("GNU GPL", 0));
  // 16 packages: the path-hash split of their (fixed) Debian paths holds out some of every genre.
  for (let i = 0; i < PACKAGES; i++) {
    const d = join(root, `usr/share/doc/pkg${i}`);
    await Deno.mkdir(d, { recursive: true });
    // Every third copyright file is a stub pointing at common-licenses: too short to keep.
    await Deno.writeTextFile(
      join(d, "copyright"),
      i % 3 === 0 ? "See /usr/share/common-licenses/GPL-3" : para("copyright", i),
    );
    await Deno.writeFile(
      join(d, "changelog.Debian.gz"),
      gzipSync(
        new TextEncoder().encode(`pkg${i} (1.${i}-1) unstable; urgency=medium\n\n  * ${para("change", i)}\n`),
      ),
    );
  }
  const py = join(root, "usr/lib/python3.11/email");
  await Deno.mkdir(py, { recursive: true });
  for (let i = 0; i < 12; i++) {
    await Deno.writeTextFile(
      join(py, `m${i}.py`),
      `def f${i}(x):\n    return x\n` + `# ${para("code", i)}\n`,
    );
  }
  await Deno.writeTextFile(join(py, "notes.txt"), para("not python", 0));
  return root;
}

Deno.test("system text: genres split by path hash into disjoint base and probe, gz read, stubs skipped, seeded", async () => {
  const root = await fakeRoot();
  try {
    const sources = systemTextSources(root);
    assert.deepStrictEqual(sources.map((s) => s.name), ["licenses", "changelogs", "python"]);
    const files = await Promise.all(sources.map((s) => s.files()));
    assert.equal(files[0].length, 1 + PACKAGES); // 1 common license + a copyright file per package
    assert.equal(files[1].length, PACKAGES);
    assert.equal(files[2].length, 12, "only *.py");
    const opts = { baseChars: 1e9, probeChars: 1e9 };
    const ds = await buildSystemText(sources, opts);
    for (const [g, fs] of ds.genres.map((g, i) => [g, files[i]] as const)) {
      const kept = g.name === "licenses" ? fs.filter((f) => !isStub(f)) : fs;
      // The split hashes the path below the fake root: the same as on a real /usr, whatever the temp folder.
      const held = (f: string) => isHeldOut(f.slice(root.length));
      assert.equal(g.probe.length, kept.filter(held).length, `${g.name}: held-out files are the probe`);
      assert.equal(g.base.length, kept.filter((f) => !held(f)).length, `${g.name}: the rest is base`);
      assert.ok(g.probe.length > 0 && g.base.length > 0);
      for (const d of g.probe) assert.ok(!g.base.includes(d), "no document in both");
    }
    assert.ok(
      ds.genres[1].base.concat(ds.genres[1].probe).every((d) => d.includes("urgency=medium")),
      "gunzipped",
    );
    assert.equal(ds.base.length, ds.genres.reduce((a, g) => a + g.base.length, 0));
    assert.deepStrictEqual((await buildSystemText(sources, opts)).base, ds.base, "same seed, same order");
    const other = await buildSystemText(sources, { ...opts, seed: 1 });
    assert.notDeepStrictEqual(other.base, ds.base);
    assert.deepStrictEqual([...other.base].sort(), [...ds.base].sort());
    // A character budget stops a genre early.
    const small = await buildSystemText(sources, { baseChars: 1, probeChars: 1 });
    assert.ok(small.genres.every((g) => g.base.length === 1 && g.probe.length === 1));

    const out = join(root, "out");
    const written = await writeSystemText(ds, out, 300);
    const tok = await loadTokenizer(written.tokenizer);
    assert.equal(tok.vocabSize, 300);
    for (const name of ["base", "licenses", "changelogs", "python"]) {
      const shard = await readShard(written.shards[name]);
      assert.equal(shard.meta.tokenizerSha256, tok.hash);
      const docs = name === "base" ? ds.base : ds.genres.find((g) => g.name === name)!.probe;
      assert.equal(shard.meta.documents, docs.length);
      const lines = (await Deno.readTextFile(written.jsonl[name])).trimEnd().split("\n");
      assert.deepStrictEqual(lines.map((l) => JSON.parse(l).text), docs);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
