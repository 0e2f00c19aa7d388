/**
 * The estimation scripts take shards as "NAME" (the prefix of NAME.tokens and NAME.json), as the bad-input
 * suite's cases do: a good run given prefixes ends with exit 0 and a manifest that hashes the tokens files.
 * (It used to write its tables and then fail on the manifest, hashing the prefix as if it were a file.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeFixtures, runScript } from "./cli_fixtures.ts";

Deno.test("susceptibility with --base/--probe shard prefixes writes its tables and its manifest", async () => {
  const fx = await makeFixtures();
  try {
    const args = [
      "--checkpoints",
      fx.checkpoints,
      "--steps",
      "10",
      "--base",
      fx.base,
      "--probe",
      `p=${fx.probe}`,
      "--chains",
      "2",
      "--draws",
      "2",
      "--batch",
      "2",
      "--delta-h",
      "0.5",
      "--seq-len",
      "8",
      "--restrictions",
      "full",
      "--out",
      "runs/prefix",
    ];
    const r = await runScript(fx.root, "susceptibility", "susceptibility", args, {}, 120_000);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(await Deno.readTextFile(join(fx.root, "runs/prefix/manifest.json")));
    const inputs = manifest.inputs as Record<string, { path: string; kind: string; sha256: string }>;
    assert.equal(inputs.base.path, `${fx.base}.tokens`);
    assert.equal(inputs.probe_p.path, `${fx.probe}.tokens`);
    assert.equal(inputs.base.kind, "file");
    assert.match(inputs.base.sha256, /^[0-9a-f]{64}$/);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
