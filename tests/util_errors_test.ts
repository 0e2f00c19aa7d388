/**
 * The error edge (lib/util/errors.ts, lib/util/main.ts): which failures are the input's or the environment's
 * (one line, exit 2) and which are bugs (a stack trace), checked in subprocesses for a full disk, a bug and
 * CHI_DEBUG=1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ChiInputError, isInputError } from "../lib/util/errors.ts";
import { errorLine } from "../lib/util/main.ts";
import { SafetensorsError } from "../lib/model/safetensors.ts";
import { PcaError } from "../lib/analysis/pca.ts";
import { ShardError } from "../lib/data/errors.ts";
import { UsageError } from "../lib/util/cli.ts";
import { SweepConfigError } from "../lib/sweep/config.ts";
import { CheckpointError } from "../lib/model/checkpoint.ts";
import { ManifestError } from "../lib/util/manifest.ts";
import { denoBinary, REPO } from "./cli_fixtures.ts";

Deno.test("input and environment errors are told from bugs", () => {
  const input = [
    new SafetensorsError("a.safetensors", null, "truncated"),
    new PcaError("too few rows"),
    new ShardError("base.tokens: short"),
    new UsageError("--x: bad"),
    new SweepConfigError("sgld.eps", "bad"),
    new CheckpointError("c.safetensors", null, "bad"),
    new ManifestError("bad"),
    new Deno.errors.NotFound("x"),
    new Deno.errors.PermissionDenied("x"),
    new Deno.errors.NotCapable("x"),
    new RangeError("batch 9 exceeds the data"),
    Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
    Object.assign(new Error("Read-only file system (os error 30)"), { code: "EROFS" }),
  ];
  for (const e of input) assert.ok(isInputError(e), `${e.name}: ${e.message}`);
  for (
    const e of [
      new TypeError("x is undefined"),
      new Error("internal"),
      new RangeError("Invalid array length"),
    ]
  ) {
    assert.ok(!isInputError(e), `${e.name}: ${e.message}`);
  }
  assert.ok(new PcaError("x") instanceof ChiInputError);
  assert.equal(errorLine(new ChiInputError("a.json: bad\n  second line")), "error: a.json: bad second line");
});

async function runSnippet(body: string, flags: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "chi_edge_" });
  try {
    const file = join(dir, "snippet.ts");
    await Deno.writeTextFile(
      file,
      `import { runMain } from ${JSON.stringify(`file://${REPO}/lib/util/main.ts`)};\n` +
        `await runMain(async () => {\n${body}\n});\n`,
    );
    const out = await new Deno.Command(denoBinary(), {
      args: ["run", "--quiet", ...flags, file],
      env: { NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a full disk ends in one line and exit 2; a bug shows its stack; CHI_DEBUG=1 adds the stack", async () => {
  // Deno lets only --allow-all write to /dev: /dev/full stands for a full disk (every write fails with ENOSPC).
  const full = await runSnippet(`await Deno.writeFile("/dev/full", new Uint8Array(1 << 16));`, [
    "--allow-all",
  ]);
  assert.equal(full.code, 2, full.stderr);
  assert.match(full.stderr, /^error: .*No space left on device/);
  assert.equal(full.stderr.trim().split("\n").length, 1, full.stderr);

  const bug = await runSnippet(`const o: { a?: { b: number } } = {};\nconsole.log(o.a!.b);`, []);
  assert.equal(bug.code, 1, bug.stderr);
  assert.match(bug.stderr, /TypeError/);
  assert.match(bug.stderr, /^\s+at /m, "a bug keeps its stack trace");

  const debug = await runSnippet(`await Deno.readFile("/nonexistent/chi");`, [
    "--allow-read",
    "--allow-env=CHI_DEBUG",
  ], {
    CHI_DEBUG: "1",
  });
  assert.equal(debug.code, 2, debug.stderr);
  assert.match(debug.stderr, /^error: /);
  assert.match(debug.stderr, /^\s+at /m, "CHI_DEBUG=1 prints the stack");
});
