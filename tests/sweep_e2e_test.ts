/**
 * The sweep end to end on a micro model (1 layer × 2 heads, trained 40 steps on a small synthetic dataset in
 * /tmp) with the real estimators: the single-process sweep and N = 2 shards run in this process (the same
 * library call scripts/sweep.ts makes per shard) then merged give byte-identical tables; a rerun computes
 * nothing; rerunning from the manifest into a fresh folder reproduces the tables; a changed input is detected.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { getGpu } from "../lib/gpu/device.ts";
import { ensureDefaultDataset } from "../lib/data/default_dataset.ts";
import { loadResults } from "../lib/analysis/results.ts";
import { parseSweepConfig, sweepConfigToJson } from "../lib/sweep/config.ts";
import { changedInputs, runSweep } from "../lib/sweep/run.ts";
import { parseShardFlag } from "../lib/sweep/shard.ts";
import type { Manifest } from "../lib/util/manifest.ts";
import { readJsonFile } from "../lib/util/files.ts";

async function arrowFiles(dir: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".arrow")) out[e.name] = await Deno.readFile(join(dir, e.name));
  }
  return out;
}

function assertSameTables(a: Record<string, Uint8Array>, b: Record<string, Uint8Array>, what: string) {
  assert.deepStrictEqual(Object.keys(b).sort(), Object.keys(a).sort(), what);
  for (const f of Object.keys(a)) {
    assert.ok(a[f].length > 0, `${what}: ${f} is empty`);
    assert.deepStrictEqual(b[f], a[f], `${what}: ${f} differs`);
  }
}

Deno.test("sweep: shards merged = single process, reruns skip, manifest reruns reproduce", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_e2e_" });
  try {
    const ds = await ensureDefaultDataset(join(root, "data"), { baseChars: 60_000, probeChars: 20_000 });
    const modelPath = join(root, "micro.json");
    await Deno.writeTextFile(
      modelPath,
      JSON.stringify({ n_layers: 1, n_heads: 2, d_model: 16, d_head: 8, n_ctx: 16, d_vocab: 512 }),
    );
    const raw = (name: string) => ({
      name,
      out: join(root, name),
      report: join(root, "reports", name, "index.html"),
      model: modelPath,
      train: { dir: join(root, "train"), steps: 40, batch: 4, seqLen: 16, checkpoints: 4 },
      data: {
        tokenizer: ds.tokenizerPath,
        base: ds.base,
        probes: { induction: ds.probes.induction, brackets: ds.probes.brackets },
      },
      select: { logSpaced: 3 },
      sgld: { chains: 2, draws: 6, burnIn: 0, batchSize: 4, seqLen: 16 },
      perToken: { contexts: 2, chains: 2, draws: 6, batchSize: 4 },
      seed: 3,
    });
    const gpu = () => getGpu();
    const t0 = performance.now();
    const lines: string[] = [];
    const single = await runSweep(await parseSweepConfig(raw("single")), {
      gpu,
      hooks: { log: (l) => lines.push(l) },
    });
    console.log(
      `single-process micro sweep: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      single.seconds,
    );
    assert.equal(single.units.length, 5); // 3 chi + per_token + ablation
    assert.equal(single.computed.length, 5);
    assert.ok(single.merged && single.report);
    const results = await loadResults(single.merged.resultsDir);
    assert.equal(results.susceptibility.step.length, 3 * 2 * 3); // checkpoints × probes × (full + 2 heads)
    assert.ok(results.perToken && results.ablation && results.contexts && results.traces);
    assert.ok(Array.from(results.susceptibility.chi).every(Number.isFinite));
    const html = await Deno.readTextFile(single.report);
    assert.ok(html.includes("<svg"), "report has charts");
    // The sampler's health: one record per sampling unit in the manifest, in unit order; each unit whose record
    // has warnings (6 draws per chain: few effective draws, chains below L0) prints one console line.
    const health = (results.manifest!.extra as { health: { kind: string; warnings: string[] }[] }).health;
    assert.deepEqual(health.map((h) => h.kind), ["chi", "chi", "chi", "per_token"]);
    const warned = lines.filter((l) =>
      /^warning: unit (chi|per_token)\/step_\d+: \d+ sampler warnings?: /.test(l)
    );
    assert.ok(warned.length > 0, lines.join("\n"));
    assert.equal(warned.length, health.filter((h) => h.warnings.length > 0).length, lines.join("\n"));
    assert.ok(html.includes("Sampler warnings: "), "the report lists the warnings");

    const shardedCfg = await parseSweepConfig(raw("sharded"));
    const first = await runSweep(shardedCfg, { gpu, shard: parseShardFlag("1/2") });
    assert.equal(first.merged, undefined, "a shard does not merge while units are missing");
    assert.equal(first.missing, 3);
    const last = await runSweep(shardedCfg, { gpu, shard: parseShardFlag("0/2") });
    assert.ok(last.merged, "the last shard to finish merges");
    assertSameTables(
      await arrowFiles(single.merged.resultsDir),
      await arrowFiles(last.merged.resultsDir),
      "sharded",
    );

    const again = await runSweep(await parseSweepConfig(raw("single")), { gpu, report: false });
    assert.deepStrictEqual([again.computed.length, again.skipped.length], [0, 5]);

    const manifest = await readJsonFile(single.merged.manifest) as Manifest;
    assert.equal(manifest.seeds.sweep, 3);
    assert.ok(Object.keys(manifest.inputs).some((k) => k.startsWith("checkpoint.")));
    assert.deepStrictEqual(await changedInputs(manifest), []);
    const fromManifest = await parseSweepConfig(manifest.config, "manifest");
    assert.deepStrictEqual(sweepConfigToJson(fromManifest), manifest.config);
    const repro = await runSweep(
      { ...fromManifest, out: join(root, "repro"), report: join(root, "reports", "repro", "index.html") },
      { gpu, report: false },
    );
    assert.equal(repro.computed.length, 5);
    assertSameTables(
      await arrowFiles(single.merged.resultsDir),
      await arrowFiles(repro.merged!.resultsDir),
      "repro",
    );

    await Deno.writeTextFile(ds.tokenizerPath, (await Deno.readTextFile(ds.tokenizerPath)) + " ");
    assert.deepStrictEqual((await changedInputs(manifest)).map((s) => s.split(" ")[0]), ["tokenizer"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
