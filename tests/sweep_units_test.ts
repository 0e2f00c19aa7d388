/**
 * The work-unit store and merge, without a model: the unit computation here slices the seeded synthetic
 * results tables (lib/analysis/synthetic_results.ts) by checkpoint step — a deterministic stand-in whose
 * numbers are known, so the tests can check that N shards merged give exactly the single-process tables,
 * that reruns skip finished units, that an interrupted unit leaves nothing under its final name, and that a
 * finished unit of another config is refused. The estimator itself is exercised by tests/sweep_e2e_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { syntheticTables } from "../lib/analysis/synthetic_results.ts";
import { DEFAULT_SHAPE } from "../lib/analysis/synthetic_results.ts";
import { parseShardFlag, resolveShard, shardItems } from "../lib/sweep/shard.ts";
import {
  type ComputeUnit,
  isUnitDone,
  planUnits,
  runUnits,
  unitDir,
  UnitError,
  type UnitTables,
  type WorkUnit,
} from "../lib/sweep/units.ts";
import { mergeUnits } from "../lib/sweep/merge.ts";
import { UsageError } from "../lib/util/cli.ts";

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;
const matches = (cls: ErrorClass, text: string) => (e: unknown) =>
  e instanceof cls && e.message.includes(text);
const assertEquals = (a: unknown, b: unknown, msg?: string) => assert.deepStrictEqual(a, b, msg);
const assertThrows = (fn: () => unknown, cls: ErrorClass, text: string) =>
  assert.throws(fn, matches(cls, text));
const assertRejects = (fn: () => Promise<unknown>, cls: ErrorClass, text: string) =>
  assert.rejects(fn, matches(cls, text));

const tables = syntheticTables(DEFAULT_SHAPE, 11);

function rowsWhere<T extends Record<string, ArrayLike<unknown>>>(cols: T, keep: (i: number) => boolean): T {
  const first = Object.values(cols)[0];
  const idx: number[] = [];
  for (let i = 0; i < first.length; i++) if (keep(i)) idx.push(i);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cols)) {
    if (v instanceof Int32Array) out[k] = Int32Array.from(idx, (i) => v[i]);
    else if (v instanceof Float64Array) out[k] = Float64Array.from(idx, (i) => v[i]);
    else out[k] = idx.map((i) => (v as ArrayLike<unknown>)[i]);
  }
  return out as T;
}

/** Slices of the synthetic tables for one unit (by step), plus the unit's seed in the traces' losses. */
const sliceCompute: ComputeUnit = (unit: WorkUnit) => {
  const t: UnitTables = {};
  if (unit.kind === "chi") {
    t.susceptibility = rowsWhere(tables.susceptibility, (i) => tables.susceptibility.step[i] === unit.step);
    const tr = rowsWhere(tables.traces, (i) => tables.traces.step[i] === unit.step);
    t.traces = { ...tr, loss: Float64Array.from(tr.loss, (x) => x + unit.seed / 2 ** 32) };
    t.chi_terms = rowsWhere(tables.chiTerms, (i) => tables.chiTerms.step[i] === unit.step);
    t.head_roles = rowsWhere(tables.headRoles, (i) => tables.headRoles.step[i] === unit.step);
  } else if (unit.kind === "per_token") {
    t.per_token = rowsWhere(tables.perToken, (i) => tables.perToken.step[i] === unit.step);
    t.contexts = tables.contexts;
  } else {
    t.ablation = rowsWhere(tables.ablation, (i) => tables.ablation.step[i] === unit.step);
  }
  return Promise.resolve({ tables: t });
};

function plan(seed = 5, settings: unknown = { a: 1 }): WorkUnit[] {
  const steps = DEFAULT_SHAPE.steps;
  return planUnits({
    checkpoints: steps.map((step) => ({ step, path: `ckpt/${step}`, sha256: `h${step}` })),
    probes: DEFAULT_SHAPE.probes,
    restrictions: ["full", "0:0"],
    seed,
    perTokenStep: steps[steps.length - 1],
    ablation: true,
    settings: { chi: settings, per_token: settings, ablation: settings },
    cost: { chi: 1, per_token: 3, ablation: 1 },
  });
}

async function readAll(dir: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".arrow")) out[e.name] = await Deno.readFile(join(dir, e.name));
  }
  return out;
}

Deno.test("unit plan: canonical order, seeds from the sweep seed and id only", () => {
  const a = plan();
  assertEquals(a.map((u) => u.id).slice(0, 2), ["chi/step_0000100", "chi/step_0000200"]);
  assertEquals(a.slice(-2).map((u) => u.kind), ["per_token", "ablation"]);
  assertEquals(a.length, DEFAULT_SHAPE.steps.length + 2);
  assertEquals(new Set(a.map((u) => u.seed)).size, a.length);
  assertEquals(plan().map((u) => u.seed), a.map((u) => u.seed));
  assert.ok(plan(6).every((u, i) => u.seed !== a[i].seed));
  assert.ok(plan(5, { a: 2 }).every((u, i) => u.fingerprint !== a[i].fingerprint));
});

Deno.test("shards: --shard i/N and scheduler indices partition the units", () => {
  const units = plan();
  const parts = [0, 1, 2].map((i) => shardItems(units, parseShardFlag(`${i}/3`)).map((u) => u.id));
  assertEquals(parts.flat().sort(), units.map((u) => u.id).sort());
  const none = () => undefined;
  assertEquals(resolveShard(undefined, undefined, none), { index: 0, count: 1, source: "single process" });
  const slurm = { SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_MIN: "4", SLURM_ARRAY_TASK_COUNT: "3" };
  const s = resolveShard(undefined, undefined, (n) => (slurm as Record<string, string>)[n]);
  assertEquals([s.index, s.count], [1, 3]);
  const k8s = { JOB_COMPLETION_INDEX: "2", CHI_SHARD_COUNT: "4" };
  const k = resolveShard(undefined, undefined, (n) => (k8s as Record<string, string>)[n]);
  assertEquals([k.index, k.count], [2, 4]);
  assertThrows(
    () => resolveShard(undefined, undefined, (n) => n === "JOB_COMPLETION_INDEX" ? "1" : undefined),
    UsageError,
    "CHI_SHARD_COUNT",
  );
  assertThrows(() => parseShardFlag("3/3"), UsageError, "not below");
  assertThrows(() => parseShardFlag("1-3"), UsageError, "--shard");
});

Deno.test("N shards merged give the single-process tables byte for byte; reruns skip finished units", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_units_" });
  try {
    const units = plan();
    const single = join(root, "single");
    const r1 = await runUnits(single, units, sliceCompute);
    assertEquals(r1.computed.length, units.length);
    await mergeUnits(single, units, join(single, "results"));

    const sharded = join(root, "sharded");
    const N = 3;
    for (let i = 0; i < N; i++) {
      // Before the last shard finishes, the merge refuses and names what is missing.
      if (i === N - 1) {
        await assertRejects(
          () => mergeUnits(sharded, units, join(sharded, "results")),
          UnitError,
          "not finished",
        );
      }
      await runUnits(sharded, shardItems(units, parseShardFlag(`${i}/${N}`)), sliceCompute);
    }
    await mergeUnits(sharded, units, join(sharded, "results"));
    const a = await readAll(join(single, "results"));
    const b = await readAll(join(sharded, "results"));
    assertEquals(Object.keys(a).sort(), [
      "ablation.arrow",
      "chi_terms.arrow",
      "contexts.arrow",
      "head_roles.arrow",
      "per_token.arrow",
      "susceptibility.arrow",
      "traces.arrow",
    ]);
    for (const f of Object.keys(a)) assertEquals(b[f], a[f], f);

    let calls = 0;
    const counting: ComputeUnit = (u, p) => {
      calls++;
      return sliceCompute(u, p);
    };
    const r2 = await runUnits(single, units, counting);
    assertEquals([calls, r2.computed.length, r2.skipped.length], [0, 0, units.length]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an interrupted unit leaves no final folder; the rerun computes only it and the rest", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_kill_" });
  try {
    const units = plan();
    const failAt = 3;
    let n = 0;
    const dying: ComputeUnit = async (u, p) => {
      if (n++ === failAt) {
        // What a kill -9 in the middle of writing leaves: a temporary folder with a partial file.
        const tmp = `${unitDir(root, u.id)}.tmp-99999-1`;
        await Deno.mkdir(tmp, { recursive: true });
        await Deno.writeFile(join(tmp, "susceptibility.arrow"), new Uint8Array([1, 2, 3]));
        throw new Error("killed");
      }
      return await sliceCompute(u, p);
    };
    await assertRejects(() => runUnits(root, units, dying), Error, "killed");
    assertEquals(await isUnitDone(root, units[failAt]), false);
    assert.ok(await isUnitDone(root, units[failAt - 1]));
    const computed: string[] = [];
    const r = await runUnits(root, units, (u, p) => {
      computed.push(u.id);
      return sliceCompute(u, p);
    });
    assertEquals(computed, units.slice(failAt).map((u) => u.id));
    assertEquals(r.skipped, units.slice(0, failAt).map((u) => u.id));
    const left = [...Deno.readDirSync(join(root, "units", "chi"))].filter((e) => e.name.includes(".tmp-"));
    assertEquals(left.length, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a finished unit of another config is refused, naming its folder", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_stale_" });
  try {
    await runUnits(root, plan().slice(0, 1), sliceCompute);
    const other = plan(5, { a: 2 }).slice(0, 1);
    await assertRejects(() => runUnits(root, other, sliceCompute), UnitError, "units/chi/step_0000100");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a computation missing one of its tables is an error and writes nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_missing_" });
  try {
    const u = plan().slice(0, 1);
    await assertRejects(
      () => runUnits(root, u, () => Promise.resolve({ tables: { susceptibility: tables.susceptibility } })),
      UnitError,
      "no traces table",
    );
    assertEquals(await isUnitDone(root, u[0]), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
