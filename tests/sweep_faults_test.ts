/**
 * Faults on a finished sweep folder, through the sweep task as users run it (one real micro sweep, then
 * reruns): a healthy run prints no `error:` line; a rerun whose validation refuses it rewrites neither
 * runs/<name>/config.json nor the results; a corrupt unit.json or a unit folder without one is one clear line;
 * and the merge publishes results/ whole, so results/ never holds tables without their manifest.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeFixtures, type RunResult, runScript } from "./cli_fixtures.ts";

function refusedWithOneLine(r: RunResult, pattern: RegExp, what: string): void {
  const where = `${what}: exit ${r.code}\n${r.stderr}`;
  assert.equal(r.code, 2, where);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(errors.length, 1, where);
  assert.match(errors[0], pattern, where);
  assert.ok(!/Uncaught|^\s+at /m.test(r.stderr), `${where}\n(a stack trace)`);
}

async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) {
      out[e.name] = new TextDecoder().decode(await Deno.readFile(join(dir, e.name))).slice(0, 200);
    }
  }
  return out;
}

/** results/ either does not exist or holds its manifest beside its tables. */
function resultsWhole(dir: string, what: string): string[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
  if (names.some((n) => n.endsWith(".arrow"))) {
    assert.ok(
      names.includes("manifest.json"),
      `${what}: results/ holds ${names.join(", ")} without manifest.json`,
    );
  }
  return names;
}

Deno.test("sweep faults: refused reruns write nothing; corrupt unit records are one line; results/ is whole", async () => {
  const fx = await makeFixtures();
  const at = (p: string) => join(fx.root, p);
  const writeCfg = (name: string, patch: (c: Record<string, unknown>) => void = () => {}) => {
    const c = fx.sweepConfig("micro");
    patch(c);
    Deno.writeTextFileSync(at(`runs/fix/${name}.json`), JSON.stringify(c));
    return ["--config", `runs/fix/${name}.json`, "--no-report"];
  };
  try {
    const first = await runScript(fx.root, "sweep", "sweep", writeCfg("micro"), {}, 300_000);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(
      !first.stderr.split("\n").some((l) => l.startsWith("error:")),
      `a healthy run: ${first.stderr}`,
    );
    const configBefore = await Deno.readTextFile(at("runs/micro/config.json"));
    const resultsBefore = await files(at("runs/micro/results"));
    assert.ok("manifest.json" in resultsBefore && "susceptibility.arrow" in resultsBefore);

    // Another seed: every finished unit is of another config. Refused before config.json is touched.
    const reseeded = await runScript(fx.root, "sweep", "sweep", writeCfg("reseeded", (c) => (c.seed = 7)));
    assert.equal(
      await Deno.readTextFile(at("runs/micro/config.json")),
      configBefore,
      "config.json rewritten",
    );
    assert.deepEqual(await files(at("runs/micro/results")), resultsBefore, "results/ touched");
    refusedWithOneLine(reseeded, /2 finished units cannot be reused.*chi\/step_0000000/, "another seed");

    // A corrupt unit.json, then a unit folder without one.
    const unitJson = at("runs/micro/units/chi/step_0000010/unit.json");
    const saved = await Deno.readTextFile(unitJson);
    await Deno.writeTextFile(unitJson, saved.slice(0, 40));
    const corrupt = await runScript(fx.root, "sweep", "sweep", writeCfg("micro"));
    refusedWithOneLine(corrupt, /units\/chi\/step_0000010\/unit\.json.*JSON/, "corrupt unit.json");
    await Deno.remove(unitJson);
    const bare = await runScript(fx.root, "sweep", "sweep", writeCfg("micro"));
    refusedWithOneLine(bare, /units\/chi\/step_0000010.*without unit\.json/, "unit folder without unit.json");
    await Deno.writeTextFile(unitJson, saved);
    assert.equal(await Deno.readTextFile(at("runs/micro/config.json")), configBefore);

    // A merge that cannot write one table where the results go (a folder in the way of traces.arrow): the
    // tables are merged elsewhere and results/ replaced whole, so it never holds tables without a manifest.
    await Deno.remove(at("runs/micro/results"), { recursive: true });
    await Deno.mkdir(at("runs/micro/results/traces.arrow"), { recursive: true });
    const merged = await runScript(fx.root, "sweep", "sweep", [...writeCfg("micro"), "--merge"]);
    const names = resultsWhole(at("runs/micro/results"), `merge: ${merged.stderr}`);
    assert.equal(merged.code, 0, merged.stderr);
    assert.deepEqual(names, Object.keys(resultsBefore).sort());
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(await files(at("runs/micro/results"))).filter(([n]) => n.endsWith(".arrow")),
      ),
      Object.fromEntries(Object.entries(resultsBefore).filter(([n]) => n.endsWith(".arrow"))),
      "the merged tables are the same bytes",
    );
    assert.deepEqual(
      [...Deno.readDirSync(at("runs/micro"))].map((e) => e.name).filter((n) => n.includes(".tmp-")),
      [],
      "no staging folder left",
    );
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});
