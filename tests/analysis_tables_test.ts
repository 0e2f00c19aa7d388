import assert from "node:assert/strict";
import { join } from "node:path";
import { Float64, makeData, makeVector, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import {
  readAblationTable,
  readChiTermsTable,
  readContextsTable,
  readPerTokenTable,
  readSusceptibilityTable,
  readTracesTable,
  SUSCEPTIBILITY_TABLE,
  TableError,
  writeAblationTable,
  writeChiTermsTable,
  writeContextsTable,
  writePerTokenTable,
  writeSusceptibilityTable,
  writeTracesTable,
} from "../lib/tables/schema.ts";
import { arrowSchema, rowAt } from "../lib/tables/arrow_table.ts";
import { syntheticTables } from "./analysis_fixtures.ts";

async function tmpDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "chi_tables_" });
}

function assertColumnsEqual(
  got: Record<string, ArrayLike<unknown>>,
  want: Record<string, ArrayLike<unknown>>,
) {
  assert.deepEqual(Object.keys(got), Object.keys(want));
  for (const k of Object.keys(want)) assert.deepEqual(Array.from(got[k]), Array.from(want[k]), `column ${k}`);
}

Deno.test("write*/read* tables: every table round-trips through an Arrow IPC file unchanged", async () => {
  const dir = await tmpDir();
  const t = syntheticTables();
  await writeSusceptibilityTable(join(dir, "susceptibility.arrow"), t.susceptibility);
  await writePerTokenTable(join(dir, "per_token.arrow"), t.perToken);
  await writeContextsTable(join(dir, "contexts.arrow"), t.contexts);
  await writeAblationTable(join(dir, "ablation.arrow"), t.ablation);
  await writeTracesTable(join(dir, "traces.arrow"), t.traces);
  await writeChiTermsTable(join(dir, "chi_terms.arrow"), t.chiTerms);
  assertColumnsEqual(await readSusceptibilityTable(join(dir, "susceptibility.arrow")), t.susceptibility);
  assertColumnsEqual(await readPerTokenTable(join(dir, "per_token.arrow")), t.perToken);
  assertColumnsEqual(await readContextsTable(join(dir, "contexts.arrow")), t.contexts);
  assertColumnsEqual(await readAblationTable(join(dir, "ablation.arrow")), t.ablation);
  assertColumnsEqual(await readTracesTable(join(dir, "traces.arrow")), t.traces);
  assertColumnsEqual(await readChiTermsTable(join(dir, "chi_terms.arrow")), t.chiTerms);
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.deepEqual(names.sort(), [
    "ablation.arrow",
    "chi_terms.arrow",
    "contexts.arrow",
    "per_token.arrow",
    "susceptibility.arrow",
    "traces.arrow",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readSusceptibilityTable: returns typed arrays and the declared column types", async () => {
  const dir = await tmpDir();
  const t = syntheticTables();
  const path = join(dir, "s.arrow");
  await writeSusceptibilityTable(path, t.susceptibility);
  const r = await readSusceptibilityTable(path);
  assert.ok(r.step instanceof Int32Array && r.chi instanceof Float64Array && typeof r.probe[0] === "string");
  const row = rowAt(SUSCEPTIBILITY_TABLE, r, 1);
  assert.equal(row.restriction, "0:0");
  assert.equal(row.layer, 0);
  assert.deepEqual(arrowSchema(SUSCEPTIBILITY_TABLE).fields.map((f) => `${f.name}:${f.type}`).slice(0, 6), [
    "step:Int32",
    "probe:Utf8",
    "restriction:Utf8",
    "layer:Int32",
    "head:Int32",
    "chi:Float64",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readPerTokenTable: a missing column is a TableError naming the file and the column", async () => {
  const dir = await tmpDir();
  const path = join(dir, "per_token.arrow");
  const table = new Table({
    probe: vectorFromArray(["a"], new Utf8()),
    step: makeVector(new Int32Array([1])),
    restriction: vectorFromArray(["0:0"], new Utf8()),
    context: makeVector(new Int32Array([0])),
    chi: makeVector(new Float64Array([0.5])),
  });
  await Deno.writeFile(path, tableToIPC(table, "file"));
  await assert.rejects(readPerTokenTable(path), (e: unknown) => {
    assert.ok(e instanceof TableError);
    assert.equal(e.file, path);
    assert.equal(e.column, "position");
    assert.match(e.message, /missing from table per_token/);
    return true;
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readPerTokenTable: a wrong column type names the column, the expected and the found type", async () => {
  const dir = await tmpDir();
  const path = join(dir, "per_token.arrow");
  const table = new Table({
    probe: vectorFromArray(["a"], new Utf8()),
    step: makeVector(new Float64Array([1])),
    restriction: vectorFromArray(["0:0"], new Utf8()),
    context: makeVector(new Int32Array([0])),
    position: makeVector(new Int32Array([1])),
    chi: makeVector(new Float64Array([0.5])),
  });
  await Deno.writeFile(path, tableToIPC(table, "file"));
  await assert.rejects(
    readPerTokenTable(path),
    /per_token.arrow: column "step": expected Int32, found Float64/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readTracesTable: null values are rejected with the column named", async () => {
  const dir = await tmpDir();
  const path = join(dir, "traces.arrow");
  const loss = makeData({
    type: new Float64(),
    length: 2,
    nullCount: 1,
    nullBitmap: new Uint8Array([1]),
    data: new Float64Array([1, 0]),
  });
  const table = new Table({
    step: makeVector(new Int32Array([1, 1])),
    probe: vectorFromArray(["a", "a"], new Utf8()),
    restriction: vectorFromArray(["full", "full"], new Utf8()),
    chain: makeVector(new Int32Array([0, 0])),
    draw: makeVector(new Int32Array([0, 1])),
    loss: makeVector(loss),
  });
  await Deno.writeFile(path, tableToIPC(table, "file"));
  await assert.rejects(readTracesTable(path), /column "loss": has 1 null values/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("read*Table: a missing file and a non-Arrow file are TableErrors naming the file", async () => {
  const dir = await tmpDir();
  await assert.rejects(
    readContextsTable(join(dir, "nope.arrow")),
    /nope.arrow: column "\(file\)": file not found/,
  );
  await Deno.writeTextFile(join(dir, "bad.arrow"), "not arrow at all");
  await assert.rejects(readContextsTable(join(dir, "bad.arrow")), TableError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeSusceptibilityTable: unequal lengths, missing and unknown columns, bad integers are refused", async () => {
  const dir = await tmpDir();
  const path = join(dir, "s.arrow");
  const t = syntheticTables().susceptibility;
  await assert.rejects(writeSusceptibilityTable(path, { ...t, chi: [1] }), /column "chi": has 1 rows/);
  const { llc: _llc, ...noLlc } = t;
  await assert.rejects(
    writeSusceptibilityTable(path, noLlc as typeof t),
    /column "llc": missing/,
  );
  await assert.rejects(
    writeSusceptibilityTable(path, { ...t, extra: [] } as typeof t),
    /column "extra": not a column of table susceptibility/,
  );
  const steps = Array.from(t.step);
  steps[3] = 1.5;
  await assert.rejects(
    writeSusceptibilityTable(path, { ...t, step: steps }),
    /column "step": row 3: expected a 32-bit integer/,
  );
  let left = 0;
  for await (const _ of Deno.readDir(dir)) left++;
  assert.equal(left, 0, "a refused write leaves no file behind");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeSusceptibilityTable: restriction must match layer/head and rows must be unique", async () => {
  const dir = await tmpDir();
  const path = join(dir, "s.arrow");
  const t = syntheticTables().susceptibility;
  const restriction = Array.from(t.restriction);
  restriction[1] = "1:3";
  await assert.rejects(
    writeSusceptibilityTable(path, { ...t, restriction }),
    /column "restriction": row 1: restriction "1:3" does not match layer 0, head 0/,
  );
  const dupRestriction = Array.from(t.restriction);
  const dupLayer = Array.from(t.layer);
  const dupHead = Array.from(t.head);
  dupRestriction[2] = dupRestriction[1];
  dupLayer[2] = dupLayer[1];
  dupHead[2] = dupHead[1];
  await assert.rejects(
    writeSusceptibilityTable(path, { ...t, restriction: dupRestriction, layer: dupLayer, head: dupHead }),
    /row 2: duplicate row for step 100, probe github, restriction 0:0/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writePerTokenTable: position 0 (no predicted token) and bad restriction names are refused", async () => {
  const dir = await tmpDir();
  const base = { probe: ["a"], step: [1], restriction: ["0:0"], context: [0], position: [1], chi: [0.1] };
  await assert.rejects(
    writePerTokenTable(join(dir, "p.arrow"), { ...base, position: [0] }),
    /column "position": row 0: expected ≥ 1/,
  );
  await assert.rejects(
    writePerTokenTable(join(dir, "p.arrow"), { ...base, restriction: ["L0H0"] }),
    /"layer:head", got "L0H0"/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writePerTokenTable/readPerTokenTable: 1M rows written and read back in reasonable time", async () => {
  const dir = await tmpDir();
  const n = 1_000_000;
  const restriction = Array.from({ length: n }, (_, i) => `${(i >> 12) & 1}:${(i >> 13) & 7}`);
  const chi = new Float64Array(n).map((_, i) => Math.sin(i));
  const t0 = performance.now();
  await writePerTokenTable(join(dir, "p.arrow"), {
    probe: new Array(n).fill("github"),
    step: new Int32Array(n).fill(49900),
    restriction,
    context: new Int32Array(n).map((_, i) => i >> 10),
    position: new Int32Array(n).map((_, i) => 1 + (i & 1023)),
    chi,
  });
  const back = await readPerTokenTable(join(dir, "p.arrow"));
  const ms = performance.now() - t0;
  assert.equal(back.chi.length, n);
  assert.equal(back.restriction[n - 1], restriction[n - 1]);
  assert.equal(back.chi[123456], chi[123456]);
  assert.ok(ms < 10_000, `1M-row write + read took ${ms.toFixed(0)} ms`);
  await Deno.remove(dir, { recursive: true });
});
