/**
 * A sweep folder shared by processes, and a sweep folder of older code: two runs at once divide the units
 * (claims.ts) instead of computing each twice, and units computed by other code are refused by name before
 * anything is written (code fingerprints in planUnits, checkUnitStore).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_SHAPE, syntheticTables } from "../lib/analysis/synthetic_results.ts";
import {
  checkUnitStore,
  type ComputeUnit,
  isUnitDone,
  planUnits,
  runUnits,
  UnitError,
  type WorkUnit,
} from "../lib/sweep/units.ts";
import { tryClaim } from "../lib/sweep/claims.ts";

const tables = syntheticTables(DEFAULT_SHAPE, 3);

function plan(code?: string): WorkUnit[] {
  return planUnits({
    checkpoints: DEFAULT_SHAPE.steps.map((step) => ({ step, path: `ckpt/${step}`, sha256: `h${step}` })),
    probes: DEFAULT_SHAPE.probes,
    restrictions: ["full", "0:0"],
    seed: 1,
    perTokenStep: null,
    ablation: false,
    settings: { chi: {}, per_token: {}, ablation: {} },
    cost: { chi: 1, per_token: 1, ablation: 1 },
    code,
  });
}

function only<T extends Record<string, ArrayLike<unknown>>>(cols: T, step: number): T {
  const steps = (cols as unknown as { step: Int32Array }).step;
  const idx = [...steps.keys()].filter((i) => steps[i] === step);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cols)) {
    if (v instanceof Int32Array) out[k] = Int32Array.from(idx, (i) => v[i]);
    else if (v instanceof Float64Array) out[k] = Float64Array.from(idx, (i) => v[i]);
    else out[k] = idx.map((i) => (v as ArrayLike<unknown>)[i]);
  }
  return out as T;
}

/** A chi unit's tables, after a pause that lets the other run interleave. */
function slowCompute(log: string[]): ComputeUnit {
  return async (unit) => {
    log.push(unit.id);
    await new Promise((r) => setTimeout(r, 30));
    return {
      tables: {
        susceptibility: only(tables.susceptibility, unit.step),
        traces: only(tables.traces, unit.step),
        chi_terms: only(tables.chiTerms, unit.step),
        head_roles: only(tables.headRoles, unit.step),
      },
    };
  };
}

Deno.test("two runs on one sweep folder divide the units: each is computed once", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_claims_" });
  try {
    const units = plan("code-a");
    const a: string[] = [], b: string[] = [];
    const [ra, rb] = await Promise.all([
      runUnits(root, units, slowCompute(a)),
      runUnits(root, units, slowCompute(b)),
    ]);
    assert.deepEqual([...a, ...b].sort(), units.map((u) => u.id).sort(), "every unit computed exactly once");
    assert.ok(a.length > 0 && b.length > 0, `both runs took work (${a.length} + ${b.length})`);
    assert.deepEqual([...ra.computed, ...rb.computed].sort(), units.map((u) => u.id).sort());
    for (const u of units) assert.ok(await isUnitDone(root, u));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a claim is held until released, and a released claim can be taken", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_claim_" });
  try {
    const first = await tryClaim(root, "chi/step_0000001");
    assert.ok(first);
    assert.equal(await tryClaim(root, "chi/step_0000001"), null);
    const record = JSON.parse(await Deno.readTextFile(first.path));
    assert.equal(record.pid, Deno.pid);
    await first.release();
    const again = await tryClaim(root, "chi/step_0000001");
    assert.ok(again, "a released claim (or one of a process that died) does not block");
    await again.release();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("units computed by other code are refused by name before anything is written", async () => {
  const root = await Deno.makeTempDir({ prefix: "chi_sweep_code_" });
  try {
    const old = plan("code-a");
    await runUnits(root, old, slowCompute([]));
    const same = plan("code-a");
    await checkUnitStore(root, same);
    const changed = plan("code-b");
    assert.notEqual(changed[0].fingerprint, old[0].fingerprint, "the code is part of the unit fingerprint");
    await assert.rejects(
      checkUnitStore(root, changed),
      (e: unknown) =>
        e instanceof UnitError && e.message.includes(`${changed.length} finished units`) &&
        e.message.includes(changed[0].id) && e.message.includes("other code"),
    );
    await assert.rejects(runUnits(root, changed, slowCompute([])), UnitError);
    const unitJson = JSON.parse(await Deno.readTextFile(join(root, "units", old[0].id, "unit.json")));
    assert.equal(unitJson.code, "code-a");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
