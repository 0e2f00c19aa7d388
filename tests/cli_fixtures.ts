/**
 * Tiny inputs for the bad-input suite (cli_bad_inputs_test.ts), generated once into a temporary working
 * folder laid out like the repository root (runs/, reports/): a byte-level BPE tokenizer and a second one, token
 * shards, a micro model's checkpoints, and a way to run a script as `deno task` would (same permission flags,
 * that folder as the working directory) and collect exit code and stderr.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { trainBpe } from "../lib/data/tokenizer.ts";
import { buildShard } from "../lib/data/build_shard.ts";
import type { ModelConfig } from "../lib/model/config.ts";
import { initParams } from "../lib/model/init.ts";
import { checkpointPath, saveCheckpoint } from "../lib/model/checkpoint.ts";

export const REPO = fileURLToPath(new URL("../", import.meta.url)).replace(/\/+$/, "");

/** The permission flags of each deno.json task, read from deno.json so the suite runs what users run. */
export async function taskFlags(task: string): Promise<string[]> {
  const json = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  const cmd: string = json.tasks[task].command ?? json.tasks[task];
  // The task's "." is the repository; here the working folder is a temporary one, so the repository (the
  // scripts' own kernels and code) is added to what may be read. Writes stay as the task has them.
  return cmd.split(/\s+/).filter((w) => w.startsWith("--allow-")).map((w) =>
    w.startsWith("--allow-read=") ? `${w},${REPO}` : w
  );
}

/** The deno binary: the running one where the test may spawn it, else "deno" from PATH (--allow-run=deno). */
export function denoBinary(): string {
  const exec = Deno.execPath();
  return Deno.permissions.querySync({ name: "run", command: exec }).state === "granted" ? exec : "deno";
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs scripts/<script>.ts with the task's flags in `cwd`. */
export async function runScript(
  cwd: string,
  task: string,
  script: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<RunResult> {
  const flags = await taskFlags(task);
  const out = await new Deno.Command(denoBinary(), {
    args: ["run", "--quiet", ...flags, join(REPO, "scripts", `${script}.ts`), ...args],
    cwd,
    env: { NO_COLOR: "1", XDG_RUNTIME_DIR: "/tmp", ...env },
    stdout: "piped",
    stderr: "piped",
    // A case that is not refused would go on to sample: cut it short, it fails its assertions anyway.
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const WORDS =
  "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau"
    .split(" ");

/** Deterministic filler text of `n` words. */
export function text(n: number, salt: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[(i * 7 + salt * 3 + (i >> 3)) % WORDS.length]);
  return out.join(" ");
}

export const MICRO: ModelConfig = {
  n_layers: 1,
  n_heads: 2,
  d_model: 16,
  d_head: 8,
  n_ctx: 16,
  d_vocab: 0, // set from the tokenizer
  normalization: "LN",
  positional: "shortformer",
};

export interface Fixtures {
  /** The working folder (runs/, reports/ inside). */
  root: string;
  /** Relative paths (from root) of the fixture files. */
  tokenizer: string;
  otherTokenizer: string;
  base: string;
  probe: string;
  otherProbe: string;
  tinyBase: string;
  checkpoints: string;
  smallVocabCheckpoints: string;
  model: ModelConfig;
  /** A good sweep config object (user data, given checkpoints, tiny sampler); `out`/`report` per case. */
  sweepConfig(name: string): Record<string, unknown>;
}

/** Builds the fixtures into a fresh temporary folder. */
export async function makeFixtures(): Promise<Fixtures> {
  const root = await Deno.makeTempDir({ prefix: "chi_bad_inputs_" });
  const fix = join(root, "runs", "fix");
  await Deno.mkdir(fix, { recursive: true });
  await Deno.mkdir(join(root, "reports"), { recursive: true });
  const docs = Array.from({ length: 40 }, (_, i) => text(60, i));
  const tok = trainBpe(docs, 300);
  const tok2 = trainBpe(docs.map((d) => d.toUpperCase()), 290);
  await Deno.writeTextFile(join(fix, "tok.json"), tok.toHfJson());
  await Deno.writeTextFile(join(fix, "tok2.json"), tok2.toHfJson());
  await buildShard(docs, tok, join(fix, "base"), { source: "fixture base" });
  await buildShard(docs.slice(0, 10).map((d) => d + " omega"), tok, join(fix, "probe"), {
    source: "fixture probe",
  });
  await buildShard(docs.slice(0, 10), tok2, join(fix, "other_probe"), { source: "fixture other probe" });
  await buildShard(["alpha beta"], tok, join(fix, "tiny"), { source: "fixture tiny" });
  const model = { ...MICRO, d_vocab: tok.vocabSize };
  await Deno.mkdir(join(fix, "ck"));
  await Deno.mkdir(join(fix, "ck_small"));
  for (const step of [0, 10]) {
    await saveCheckpoint(checkpointPath(join(fix, "ck"), step), model, initParams(model, step + 1), { step });
  }
  const small = { ...model, d_vocab: 64 };
  await saveCheckpoint(checkpointPath(join(fix, "ck_small"), 0), small, initParams(small, 1), { step: 0 });
  const rel = (p: string) => `runs/fix/${p}`;
  return {
    root,
    tokenizer: rel("tok.json"),
    otherTokenizer: rel("tok2.json"),
    base: rel("base"),
    probe: rel("probe"),
    otherProbe: rel("other_probe"),
    tinyBase: rel("tiny"),
    checkpoints: rel("ck"),
    smallVocabCheckpoints: rel("ck_small"),
    model,
    sweepConfig: (name) => ({
      name,
      out: `runs/${name}`,
      report: `reports/${name}/index.html`,
      checkpoints: rel("ck"),
      data: { tokenizer: rel("tok.json"), base: rel("base"), probes: { p: rel("probe") } },
      deltaH: 0.5,
      restrictions: ["full", "0:1"],
      sgld: { chains: 2, draws: 4, burnIn: 0, batchSize: 2, seqLen: 8 },
      perToken: { enabled: false },
    }),
  };
}

/** A safetensors file split into its header (parsed) and data bytes, and joined back. */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { header, data: bytes.slice(8 + n) };
}

export function joinSafetensors(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
