/** The sweep config's defaults and validation (errors name the field), and checkpoint selection. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parseSweepConfig,
  SWEEP_DEFAULTS,
  SweepConfigError,
  sweepConfigToJson,
} from "../lib/sweep/config.ts";
import { logSpacedSteps, selectCheckpoints } from "../lib/sweep/select.ts";
import { TINY_CONFIG } from "../lib/model/config.ts";

async function rejectsField(raw: unknown, field: string, text = ""): Promise<void> {
  await assert.rejects(
    () => parseSweepConfig(raw, "t.json"),
    (e: unknown) =>
      e instanceof SweepConfigError && e.field === field && e.message.includes("t.json") &&
      e.message.includes(text),
    `expected an error naming ${field}`,
  );
}

Deno.test("sweep config: {} is the embedded default, and round-trips through its JSON form", async () => {
  const c = await parseSweepConfig({});
  assert.equal(c.name, "default");
  assert.equal(c.out, "runs/default");
  assert.equal(c.report, "reports/default/index.html");
  assert.deepStrictEqual(c.modelConfig, TINY_CONFIG);
  assert.equal(c.train.dir, "runs/train-tiny");
  assert.equal(c.data, null);
  assert.deepStrictEqual(c.select, { kind: "logSpaced", count: SWEEP_DEFAULTS.logSpacedCheckpoints });
  assert.equal(c.sgld.draws, SWEEP_DEFAULTS.sgld.draws);
  assert.equal(c.deltaH, 0.1);
  assert.deepStrictEqual(await parseSweepConfig(sweepConfigToJson(c)), c);
  const n = await parseSweepConfig({ name: "x1", select: [0, 100], restrictions: ["full", "1:3"] });
  assert.equal(n.out, "runs/x1");
  assert.deepStrictEqual(n.select, { kind: "steps", steps: [0, 100] });
  assert.deepStrictEqual(await parseSweepConfig(sweepConfigToJson(n)), n);
});

Deno.test("sweep config: bad fields are errors naming the field", async () => {
  await rejectsField({ sgld: { eps: -1 } }, "sgld.eps", "> 0");
  await rejectsField({ sgld: { draws: 1.5 } }, "sgld.draws", "integer");
  await rejectsField({ sgld: { stepSize: 1 } }, "sgld.stepSize", "unknown field");
  await rejectsField({ sgld: { seqLen: 65 } }, "sgld.seqLen", "[2, 64]");
  await rejectsField({ deltaH: 0 }, "deltaH");
  await rejectsField({ deltaH: 1.5 }, "deltaH");
  await rejectsField({ select: { logSpaced: 0 } }, "select.logSpaced");
  await rejectsField({ select: [5, 5] }, "select", "twice");
  await rejectsField({ select: "some" }, "select");
  await rejectsField({ restrictions: ["0-1"] }, "restrictions[0]", "layer:head");
  await rejectsField({ name: "a b" }, "name");
  await rejectsField({ model: "paper" }, "data", "d_vocab 5000");
  await rejectsField({ model: "/tmp/chi-no-such-model.json" }, "model", "not found");
  await rejectsField({ data: { base: "b.tokens", probes: { a: "a.tokens" } } }, "data.tokenizer", "required");
  await rejectsField({ data: { tokenizer: "t", base: "b", probes: {} } }, "data.probes", "at least one");
  await rejectsField({ data: { tokenizer: "t", base: "b", probes: { a: "a" } }, probes: ["b"] }, "probes[0]");
  await rejectsField({ checkpoints: "ck", train: { steps: 5 } }, "train", "not used");
  await rejectsField({ perToken: { step: -2 } }, "perToken.step");
  await rejectsField({ seed: -1 }, "seed");
  await rejectsField([], "", "object");
  await rejectsField({ nam: "x" }, "nam", "unknown field");
});

Deno.test("sweep config: a model config file is read and checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "m.json");
    await Deno.writeTextFile(
      path,
      JSON.stringify({ n_layers: 1, n_heads: 2, d_model: 16, d_head: 8, n_ctx: 16 }),
    );
    const c = await parseSweepConfig({ model: path, sgld: { seqLen: 16 } });
    assert.equal(c.modelConfig?.n_ctx, 16);
    assert.equal(c.train.seqLen, 16);
    await Deno.writeTextFile(path, JSON.stringify({ n_heads: 3 }));
    await rejectsField({ model: path }, "model (d_head)", "n_heads × d_head");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint selection: log-spaced keeps first and last and returns exactly count", () => {
  const steps = [0, 1, 2, 3, 4, 6, 8, 10, 13, 17, 23, 30, 40, 54, 72, 96, 128, 170, 227, 302, 2000];
  for (const n of [1, 2, 3, 6, 10, 21, 30]) {
    const s = logSpacedSteps(steps, n);
    assert.equal(s.length, Math.min(n, steps.length));
    assert.deepStrictEqual(s, [...new Set(s)].sort((a, b) => a - b));
    if (n >= 2) assert.deepStrictEqual([s[0], s[s.length - 1]], [0, 2000]);
  }
  assert.deepStrictEqual(logSpacedSteps(steps, 3), [0, 40, 2000]);
  const entries = steps.map((step) => ({ step, path: `c/${step}` }));
  assert.deepStrictEqual(
    selectCheckpoints(entries, { kind: "steps", steps: [4, 2000] }, "c").map((e) => e.path),
    [
      "c/4",
      "c/2000",
    ],
  );
  assert.throws(
    () => selectCheckpoints(entries, { kind: "steps", steps: [5] }, "c"),
    (e: unknown) => e instanceof SweepConfigError && e.field === "select" && e.message.includes("step 5"),
  );
  assert.equal(selectCheckpoints(entries, { kind: "all" }, "c").length, steps.length);
});
