/**
 * Bad inputs and faults at the scripts' edge, table-driven: each case runs a script as its deno.json task runs
 * it (same permission flags, a subprocess) on tiny generated inputs, and asserts the exit code, exactly one
 * stderr line beginning `error:` that names the file, field or flag, no stack trace, and that no output a
 * later run would take as valid was written. The categories: checkpoints, shards, tokenizers, corpora,
 * configs, numerics, file-system faults. Stateful sweep cases (a finished sweep folder refused or merged
 * again) are in the second test, on one real micro sweep.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  denoBinary,
  type Fixtures,
  joinSafetensors,
  makeFixtures,
  type RunResult,
  runScript,
  splitSafetensors,
} from "./cli_fixtures.ts";

type Category = "checkpoint" | "shard" | "tokenizer" | "corpus" | "config" | "numerics" | "filesystem";

interface Case {
  name: string;
  category: Category;
  /** deno.json task whose flags the script runs with, and the script (default: the task's name). */
  task: string;
  script?: string;
  args: string[];
  /** Exit code (default 2). */
  code?: number;
  /** The one `error:` line (or, with code 0, a `warning:` line) must match. */
  line: RegExp;
  /** Paths (relative to the working folder) that must not exist afterwards. */
  absent?: string[];
}

const FIX = "runs/fix";
const BAD = `${FIX}/bad`;

/** The bad files the cases read, written once (relative path → bytes or text). */
async function writeBadInputs(fx: Fixtures): Promise<void> {
  const root = fx.root;
  const put = async (rel: string, data: string | Uint8Array) => {
    const p = join(root, rel);
    await Deno.mkdir(join(p, ".."), { recursive: true });
    if (typeof data === "string") await Deno.writeTextFile(p, data);
    else await Deno.writeFile(p, data);
  };
  const good = await Deno.readFile(join(root, fx.checkpoints, "step_0000010.safetensors"));
  const ck = (name: string, bytes: Uint8Array, file = "step_0000010.safetensors") =>
    put(`${BAD}/ck_${name}/${file}`, bytes);
  const edit = (f: (h: Record<string, Record<string, unknown>>, d: Uint8Array) => Uint8Array | void) => {
    const { header, data } = splitSafetensors(good);
    const h = structuredClone(header) as Record<string, Record<string, unknown>>;
    const d = f(h, data.slice()) ?? data;
    return joinSafetensors(h, d);
  };
  const firstTensor = (h: Record<string, Record<string, unknown>>) =>
    Object.keys(h).filter((k) => k !== "__metadata__").sort((a, b) =>
      (h[a].data_offsets as number[])[0] - (h[b].data_offsets as number[])[0]
    )[0];
  await ck("truncated", good.slice(0, good.length - 100));
  await ck("empty", new Uint8Array(0));
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  await ck("header_length", huge);
  const garbage = good.slice();
  garbage.fill(0x78, 8, 40);
  await ck("header_json", garbage);
  await ck("dtype", edit((h) => void (h[firstTensor(h)].dtype = "F8_E4M3")));
  await ck("offsets", edit((h) => void ((h[firstTensor(h)].data_offsets as number[])[1] += 1 << 20)));
  await ck(
    "nan",
    edit((h, d) => {
      const at = (h[firstTensor(h)].data_offsets as number[])[0];
      new DataView(d.buffer).setFloat32(at, NaN, true);
      return d;
    }),
  );
  await ck("missing_tensor", edit((h) => void delete h["blocks.0.attn.W_Q"]));
  await ck(
    "shape",
    edit((h) =>
      void (h["blocks.0.attn.W_Q"].shape = (h["blocks.0.attn.W_Q"].shape as number[]).toReversed())
    ),
  );
  await ck(
    "int_tensor",
    edit((h, d) => {
      h["blocks.0.attn.W_Q_int8"] = { dtype: "I32", shape: [1], data_offsets: [d.length, d.length + 4] };
      const more = new Uint8Array(d.length + 4);
      more.set(d);
      return more;
    }),
  );
  await ck("no_config", edit((h) => void delete h.__metadata__));
  await ck("config_json", edit((h) => void (h.__metadata__.config = "{not json")));
  await ck("step", good, "step_0000007.safetensors");
  await put(`${BAD}/ck_none/model.safetensors`, good);

  // Shards: a missing one, bad metadata, a token file the metadata disagrees with, ids beyond the vocabulary.
  const baseJson = await Deno.readTextFile(join(root, `${fx.base}.json`));
  const baseTokens = await Deno.readFile(join(root, `${fx.base}.tokens`));
  await put(`${BAD}/meta_json.json`, "{ not json");
  await put(`${BAD}/meta_json.tokens`, baseTokens);
  await put(`${BAD}/short.json`, baseJson);
  await put(`${BAD}/short.tokens`, baseTokens.slice(0, baseTokens.length - 6));
  await put(`${BAD}/vocab.json`, JSON.stringify({ ...JSON.parse(baseJson), vocabSize: 10 }));
  await put(`${BAD}/vocab.tokens`, baseTokens);
  await put(`${BAD}/meta_field.json`, JSON.stringify({ ...JSON.parse(baseJson), dtype: "float7" }));
  await put(`${BAD}/meta_field.tokens`, baseTokens);

  // Tokenizers and corpora.
  await put(`${BAD}/tok_json.json`, "{ nope");
  await put(`${BAD}/tok_model.json`, JSON.stringify({ version: "1.0", model: { type: "WordPiece" } }));
  await put(`${BAD}/empty.txt`, "");
  await put(`${BAD}/blank.txt`, "\n\n\n");
  await put(
    `${BAD}/latin1.txt`,
    new Uint8Array([...new TextEncoder().encode("caf"), 0xe9, 0x20, 0x61, 0x0a]),
  );
  await put(`${BAD}/bad.jsonl`, '{"text": "alpha beta"}\n{"text": \n');
  await put(`${BAD}/field.jsonl`, '{"body": "alpha beta"}\n');
  await put(`${BAD}/number.jsonl`, '{"text": 5}\n');
  await put(`${BAD}/corrupt.parquet`, "PAR1 this is not parquet");
  await put(`${BAD}/corrupt.arrow`, "ARROW1 nope");
  await put(`${BAD}/doc.txt`, "alpha beta gamma\n");
  await Deno.mkdir(join(root, BAD, "emptydir"));

  // Sweep configs: each one field wrong.
  const cfg = (name: string, patch: (c: Record<string, unknown>) => void) => {
    const c = fx.sweepConfig(`sw_${name}`);
    patch(c);
    return put(`${BAD}/sweep_${name}.json`, JSON.stringify(c));
  };
  const data = (c: Record<string, unknown>) => c.data as Record<string, unknown>;
  const sgld = (c: Record<string, unknown>) => c.sgld as Record<string, unknown>;
  await cfg("unknown_field", (c) => void (c.sgdl = {}));
  await cfg("draws", (c) => void (sgld(c).draws = 1.5));
  await cfg("coverage", (c) => void (c.deltaH = 0.01));
  await cfg("pt_coverage", (c) => {
    c.deltaH = 0.2;
    c.perToken = { enabled: true, draws: 2, batchSize: 2 };
  });
  await cfg("probe_name", (c) => void (c.probes = ["q"]));
  await cfg("tiny_base", (c) => void (data(c).base = fx.tinyBase));
  await cfg("tokenizer", (c) => void (data(c).tokenizer = fx.otherTokenizer));
  await cfg("tokenizer_missing", (c) => void (data(c).tokenizer = `${FIX}/nope.json`));
  await cfg("probe_tokenizer", (c) => void (data(c).probes = { p: fx.otherProbe }));
  await cfg("probe_short", (c) => void (data(c).probes = { p: fx.tinyBase }));
  await cfg("base_missing", (c) => void (data(c).base = `${FIX}/nope`));
  await cfg("restriction", (c) => void (c.restrictions = ["full", "9:9"]));
  await cfg("seqlen", (c) => void (sgld(c).seqLen = 64));
  await cfg("step_name", (c) => void (c.checkpoints = `${BAD}/ck_step`));
  await cfg("ck_missing", (c) => void (c.checkpoints = `${FIX}/nope`));
  await cfg("vocab", (c) => void (c.checkpoints = fx.smallVocabCheckpoints));
  await cfg("out_symlink", (c) => void (c.out = "runs/link/x"));
  await cfg("report_outside", (c) => void (c.report = "/tmp/chi_report_outside/index.html"));
  await cfg("eps", (c) => void (sgld(c).eps = -1));
  await cfg("select", (c) => void (c.select = [999]));
  await cfg("seed", (c) => void (c.seed = -3));
  await put(`${BAD}/sweep_json.json`, '{"name": "x",');
  await put(`${BAD}/not_manifest.json`, JSON.stringify({ config: {}, extra: { kind: "other" } }));
  await put(`${BAD}/manifest_json.json`, "{ broken");
  await put(`${BAD}/model_cfg.json`, JSON.stringify({ n_layers: 0 }));
  // A symlink inside runs/ pointing out of the working folder.
  await Deno.mkdir(`${root}_outside`, { recursive: true });
  // Deno.symlink needs unscoped permissions the test does not have; a user would make it with `ln -s`.
  const link = await new Deno.Command(denoBinary(), {
    args: [
      "eval",
      `Deno.symlinkSync(${JSON.stringify(`${root}_outside`)}, ${JSON.stringify(`${root}/runs/link`)})`,
    ],
  }).output();
  assert.equal(link.code, 0, new TextDecoder().decode(link.stderr));
}

function cases(fx: Fixtures): Case[] {
  const ckDir = (name: string) => `${BAD}/ck_${name}`;
  const heads = (name: string, line: RegExp): Case => ({
    name: `heads: checkpoint ${name}`,
    category: "checkpoint",
    task: "heads",
    args: ["--checkpoints", ckDir(name), "--out", `runs/heads_${name}`],
    line,
    absent: [`runs/heads_${name}`],
  });
  const chi = (name: string, category: Category, args: string[], line: RegExp): Case => ({
    name: `susceptibility: ${name}`,
    category,
    task: "susceptibility",
    args: [
      "--checkpoints",
      fx.checkpoints,
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
      `runs/chi_${name}`,
      ...args,
    ],
    line,
    absent: [`runs/chi_${name.replace(/\W+/g, "_")}`],
  });
  const withShards = (base: string, probe = fx.probe) => ["--base", base, "--probe", `p=${probe}`];
  const mix = (name: string, category: Category, args: string[], line: RegExp): Case => ({
    name: `mix: ${name}`,
    category,
    task: "mix",
    args,
    line,
    absent: [`runs/mix_${name}.tokens`, `runs/mix_${name}.json`],
  });
  const mixArgs = (name: string, o: Record<string, string> = {}) => {
    const a: Record<string, string> = {
      base: fx.base,
      probe: fx.probe,
      "delta-h": "0.2",
      "n-ctx": "8",
      count: "4",
      out: `runs/mix_${name}`,
      ...o,
    };
    return Object.entries(a).flatMap(([k, v]) => [`--${k}`, v]);
  };
  const corpus = (name: string, args: string[], line: RegExp, category: Category = "corpus"): Case => ({
    name: `corpus: ${name}`,
    category,
    task: "corpus",
    args: [...args],
    line,
    absent: [`runs/corpus_${name}.tokens`, `runs/corpus_${name}.json`],
  });
  const textIn = (file: string, name: string, extra: string[] = []) => [
    "--input",
    `${BAD}/${file}`,
    "--format",
    "text",
    "--tokenizer",
    fx.tokenizer,
    "--out",
    `runs/corpus_${name}`,
    ...extra,
  ];
  const sweep = (name: string, line: RegExp, category: Category = "config", args?: string[]): Case => ({
    name: `sweep: ${name}`,
    category,
    task: "sweep",
    args: args ?? ["--config", `${BAD}/sweep_${name}.json`],
    line,
    absent: [`runs/sw_${name}`, `reports/sw_${name}`],
  });
  return [
    // Checkpoints.
    heads("truncated", /ck_truncated\/step_0000010\.safetensors/),
    heads("empty", /ck_empty\/step_0000010\.safetensors/),
    heads("header_length", /ck_header_length\/step_0000010\.safetensors/),
    heads("header_json", /ck_header_json\/step_0000010\.safetensors.*JSON/i),
    heads("dtype", /ck_dtype\/step_0000010\.safetensors.*F8_E4M3/),
    heads("offsets", /ck_offsets\/step_0000010\.safetensors/),
    heads("nan", /ck_nan\/step_0000010\.safetensors.*NaN/),
    heads("missing_tensor", /blocks\.0\.attn\.W_Q/),
    heads("shape", /blocks\.0\.attn\.W_Q.*shape/),
    heads("int_tensor", /blocks\.0\.attn\.W_Q_int8/),
    heads("no_config", /ck_no_config\/step_0000010\.safetensors.*config/),
    heads("config_json", /__metadata__\.config/),
    heads("step", /step_0000007\.safetensors.*step is 10.*step 7/),
    heads("none", /ck_none/),
    {
      name: "heads: checkpoint folder missing",
      category: "checkpoint",
      task: "heads",
      args: ["--checkpoints", `${FIX}/nope`],
      line: /runs\/fix\/nope/,
    },
    {
      name: "heads: --steps names no checkpoint",
      category: "checkpoint",
      task: "heads",
      args: ["--checkpoints", fx.checkpoints, "--steps", "5"],
      line: /--steps/,
    },
    // Shards.
    chi("base shard missing", "shard", withShards(`${FIX}/nope`), /runs\/fix\/nope/),
    chi("shard metadata not JSON", "shard", withShards(`${BAD}/meta_json`), /meta_json\.json.*JSON/),
    chi("shard token file too short", "shard", withShards(`${BAD}/short`), /short\.tokens/),
    chi("shard ids beyond its vocabulary", "shard", withShards(`${BAD}/vocab`), /vocab\.(tokens|json)/),
    chi("shard metadata field", "shard", withShards(`${BAD}/meta_field`), /meta_field\.json.*dtype/),
    chi("probe of another tokenizer", "shard", withShards(fx.base, fx.otherProbe), /--probe p/),
    {
      ...chi(
        "shard vocabulary above d_vocab",
        "shard",
        withShards(fx.base),
        /--base: runs\/fix\/base.*300 token ids.*d_vocab is 64.*ck_small/,
      ),
      args: [
        "--checkpoints",
        fx.smallVocabCheckpoints,
        "--draws",
        "2",
        "--batch",
        "2",
        "--delta-h",
        "0.5",
        "--out",
        "runs/chi_vocab",
        ...withShards(fx.base),
      ],
    },
    chi("probe spec without a name", "shard", ["--base", fx.base, "--probe", fx.probe], /--probe/),
    chi("probe shard missing", "shard", withShards(fx.base, `${FIX}/nope`), /runs\/fix\/nope/),
    mix("base shard missing", "shard", mixArgs("base_missing", { base: `${FIX}/nope` }), /runs\/fix\/nope/),
    mix("probe of another tokenizer", "shard", mixArgs("tok", { probe: fx.otherProbe }), /tokenizer/),
    mix(
      "contexts longer than the probe",
      "shard",
      mixArgs("nctx", { "n-ctx": "100000" }),
      /n-?[cC]tx|100000/,
    ),
    mix("--delta-h above 1", "numerics", mixArgs("dh", { "delta-h": "2" }), /--delta-h/),
    mix("--count 0", "numerics", mixArgs("count", { count: "0" }), /--count/),
    mix(
      "--out outside runs/",
      "filesystem",
      mixArgs("outside", { out: "/tmp/chi_mix_outside" }),
      /--out.*runs\//,
    ),
    mix(
      "--out through a symlink",
      "filesystem",
      mixArgs("link", { out: "runs/link/mix" }),
      /--out.*runs\/link/,
    ),
    // Tokenizers.
    corpus(
      "tokenizer missing",
      textIn("doc.txt", "tok_missing").map((a) => a === fx.tokenizer ? `${FIX}/nope.json` : a),
      /nope\.json/,
      "tokenizer",
    ),
    corpus(
      "tokenizer not JSON",
      textIn("doc.txt", "tok_json").map((a) => a === fx.tokenizer ? `${BAD}/tok_json.json` : a),
      /tok_json\.json/,
      "tokenizer",
    ),
    corpus(
      "tokenizer of another model type",
      textIn("doc.txt", "tok_model").map((a) => a === fx.tokenizer ? `${BAD}/tok_model.json` : a),
      /tok_model\.json/,
      "tokenizer",
    ),
    corpus(
      "--tokenizer and --train-tokenizer",
      [...textIn("doc.txt", "both"), "--train-tokenizer", "--vocab-size", "300"],
      /--tokenizer/,
      "tokenizer",
    ),
    corpus(
      "--train-tokenizer without --vocab-size",
      ["--input", `${BAD}/doc.txt`, "--train-tokenizer", "--out", "runs/corpus_vs"],
      /--vocab-size/,
      "tokenizer",
    ),
    sweep("tokenizer", /data\.tokenizer.*tok2\.json.*runs\/fix\/base/, "tokenizer"),
    sweep("tokenizer_missing", /data\.tokenizer.*nope\.json/, "tokenizer"),
    sweep("probe_tokenizer", /data\.probes\.p.*other_probe/, "tokenizer"),
    // Corpora.
    corpus("empty input", textIn("empty.txt", "empty"), /no documents/),
    corpus("a folder without files", textIn("emptydir", "nofiles"), /emptydir/),
    corpus("non-UTF-8 with --strict", textIn("latin1.txt", "strict", ["--strict"]), /latin1\.txt.*UTF-8/),
    {
      ...corpus(
        "non-UTF-8 is counted",
        textIn("latin1.txt", "latin1"),
        /^warning: .*latin1\.txt: 1 byte sequences that are not UTF-8/,
      ),
      code: 0,
      absent: [],
    },
    corpus("input missing", textIn("nope.txt", "in_missing"), /nope\.txt/),
    corpus("JSONL line not JSON", [
      "--input",
      `${BAD}/bad.jsonl`,
      "--tokenizer",
      fx.tokenizer,
      "--out",
      "runs/corpus_jsonl",
    ], /bad\.jsonl:2/),
    corpus("JSONL without the field", [
      "--input",
      `${BAD}/field.jsonl`,
      "--tokenizer",
      fx.tokenizer,
      "--out",
      "runs/corpus_field",
    ], /field\.jsonl.*text/),
    corpus("JSONL field not a string", [
      "--input",
      `${BAD}/number.jsonl`,
      "--tokenizer",
      fx.tokenizer,
      "--out",
      "runs/corpus_num",
    ], /number\.jsonl/),
    corpus("corrupt Parquet", [
      "--input",
      `${BAD}/corrupt.parquet`,
      "--tokenizer",
      fx.tokenizer,
      "--out",
      "runs/corpus_pq",
    ], /corrupt\.parquet/),
    corpus("corrupt Arrow", [
      "--input",
      `${BAD}/corrupt.arrow`,
      "--tokenizer",
      fx.tokenizer,
      "--out",
      "runs/corpus_arrow",
    ], /corrupt\.arrow/),
    corpus("unknown format", [
      "--input",
      `${BAD}/doc.txt`,
      "--format",
      "csv",
      "--tokenizer",
      fx.tokenizer,
      "--out",
      "runs/corpus_fmt",
    ], /--format/),
    corpus("--field with text", [...textIn("doc.txt", "fieldtext"), "--field", "x"], /--field/),
    corpus("--limit 0", [...textIn("doc.txt", "limit"), "--limit", "0"], /--limit/),
    corpus(
      "--out outside runs/",
      textIn("doc.txt", "outside").map((a) => a === "runs/corpus_outside" ? "/tmp/chi_corpus_outside" : a),
      /--out.*runs\//,
      "filesystem",
    ),
    // Configs.
    sweep("unknown_field", /sgdl/),
    sweep("draws", /sgld\.draws/),
    sweep("probe_name", /probes\[0\].*"q"/),
    sweep("tiny_base", /data\.base.*tiny.*fewer than one batch/),
    sweep("probe_short", /data\.probes\.p.*runs\/fix\/tiny.*fewer than one context/, "shard"),
    sweep("base_missing", /data\.base.*nope/),
    sweep("restriction", /restrictions\[1\].*9:9/),
    sweep("seqlen", /sgld\.seqLen/),
    sweep("step_name", /step_0000007\.safetensors.*step 7/, "checkpoint"),
    sweep("ck_missing", /runs\/fix\/nope/, "checkpoint"),
    sweep("vocab", /data\.base.*300 token ids.*d_vocab is 64.*ck_small/, "shard"),
    sweep("select", /select/),
    sweep("seed", /seed/),
    sweep("json", /sweep_json\.json.*JSON/),
    sweep("missing config", /nope\.json/, "config", ["--config", `${FIX}/nope.json`]),
    sweep("unknown flag", /--bogus/, "config", ["--bogus"]),
    sweep("--shard 3/2", /--shard/, "config", ["--shard", "3/2"]),
    sweep("--config with --from-manifest", /--config and --from-manifest/, "config", [
      "--config",
      "a",
      "--from-manifest",
      "b",
    ]),
    sweep("--from-manifest of another JSON", /not_manifest\.json/, "config", [
      "--from-manifest",
      `${BAD}/not_manifest.json`,
    ]),
    sweep("--from-manifest not JSON", /manifest_json\.json.*JSON/, "filesystem", [
      "--from-manifest",
      `${BAD}/manifest_json.json`,
    ]),
    {
      name: "train: model config invalid",
      category: "config",
      task: "train",
      args: ["--config", `${BAD}/model_cfg.json`, "--out", "runs/train_bad_cfg"],
      line: /n_layers.*model_cfg\.json/,
      absent: ["runs/train_bad_cfg"],
    },
    // Numerics.
    sweep(
      "coverage",
      /deltaH.*sgld\.draws × sgld\.batchSize × deltaH = 4 × 2 × 0\.01.*deltaH ≥ 0\.125/,
      "numerics",
    ),
    sweep("pt_coverage", /perToken\.draws × perToken\.batchSize/, "numerics"),
    sweep("eps", /sgld\.eps/, "numerics"),
    chi(
      "probes never mixed in",
      "numerics",
      [...withShards(fx.base), "--delta-h", "0.01"],
      /--draws × --batch × --delta-h = 2 × 2 × 0\.01/,
    ),
    chi("--eps negative", "numerics", [...withShards(fx.base), "--eps", "-1"], /--eps/),
    chi("--delta-h 0", "numerics", [...withShards(fx.base), "--delta-h", "0"], /--delta-h/),
    chi(
      "--seq-len above n_ctx",
      "numerics",
      [...withShards(fx.base), "--seq-len", "99"],
      /--seq-len.*n_ctx 16/,
    ),
    {
      name: "train: unknown flag",
      category: "config",
      task: "train",
      args: ["--bogus"],
      line: /--bogus/,
    },
    {
      name: "bench-matmul: --seconds not positive",
      category: "numerics",
      task: "bench",
      script: "bench_matmul",
      args: ["--seconds=-1"],
      line: /--seconds/,
    },
    {
      name: "train: --lr 0",
      category: "numerics",
      task: "train",
      args: ["--lr", "0", "--out", "runs/train_lr"],
      line: /--lr/,
      absent: ["runs/train_lr"],
    },
    {
      name: "train: --seq-len above n_ctx",
      category: "numerics",
      task: "train",
      args: ["--seq-len", "1000", "--out", "runs/train_seq"],
      line: /--seq-len/,
      absent: ["runs/train_seq"],
    },
    // File-system faults.
    sweep(
      "out_symlink",
      /out: runs\/link\/x resolves to .*_outside\/x, outside runs\/ and reports\//,
      "filesystem",
    ),
    sweep("config the task may not read", /\/etc\/hostname.*read access/, "filesystem", [
      "--config",
      "/etc/hostname",
    ]),
    sweep("report_outside", /report: \/tmp\/chi_report_outside/, "filesystem"),
    chi(
      "--out outside runs/",
      "filesystem",
      [...withShards(fx.base), "--out", "/tmp/chi_out_outside"],
      /--out.*\/tmp\/chi_out_outside/,
    ),
    {
      name: "report: --out where the task may not write",
      category: "filesystem",
      task: "report",
      args: ["--demo", "--results", "runs/report_demo", "--out", "/tmp/chi_report_denied.html"],
      line: /--out: \/tmp\/chi_report_denied\.html.*outside runs\/ and reports\//,
      absent: ["runs/report_demo"],
    },
    {
      name: "report: --out through a symlink",
      category: "filesystem",
      task: "report",
      args: ["--demo", "--results", "runs/link/demo"],
      line: /--results: runs\/link\/demo resolves to .*_outside/,
      absent: [],
    },
    {
      name: "report: --results folder missing",
      category: "filesystem",
      task: "report",
      args: ["--results", `${FIX}/nope`],
      line: /runs\/fix\/nope/,
    },
  ];
}

/** Asserts the common contract of a refused (or warned) run. */
function checkEdge(c: Case, r: RunResult, root: string): void {
  const where = `${c.name}: exit ${r.code}\n--- stderr ---\n${r.stderr}`;
  const expected = c.code ?? 2;
  assert.equal(r.code, expected, where);
  const lines = r.stderr.split("\n");
  const errors = lines.filter((l) => l.startsWith("error:"));
  assert.ok(!/Uncaught|^\s+at /m.test(r.stderr), `${where}\n(a stack trace)`);
  if (expected === 0) {
    assert.equal(errors.length, 0, where);
    assert.ok(lines.some((l) => c.line.test(l)), `${where}\n(no line matching ${c.line})`);
  } else {
    assert.equal(errors.length, 1, where);
    assert.match(errors[0], c.line, where);
    // One line in all: nothing else on stderr but progress output.
    assert.equal(lines.filter((l) => l.trim() !== "" && !l.startsWith("error:")).length, 0, where);
  }
  for (const p of c.absent ?? []) {
    let found = true;
    try {
      Deno.statSync(join(root, p));
    } catch {
      found = false;
    }
    assert.ok(!found, `${where}\n(${p} was written)`);
  }
}

/** Runs `items` with at most `n` at a time. */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  }));
  return out;
}

Deno.test("bad inputs: every case ends in one `error:` line naming the thing, exit 2, nothing written", async (t) => {
  const fx = await makeFixtures();
  try {
    await writeBadInputs(fx);
    const all = cases(fx);
    assert.ok(all.length >= 60, `${all.length} cases`);
    assert.equal(new Set(all.map((c) => c.category)).size, 7);
    const results = await pool(
      all,
      3,
      (c) => runScript(fx.root, c.task, c.script ?? c.task.replace("-", "_"), c.args),
    );
    for (const [i, c] of all.entries()) {
      await t.step(`[${c.category}] ${c.name}`, () => checkEdge(c, results[i], fx.root));
    }
  } finally {
    await Deno.remove(fx.root, { recursive: true });
    await Deno.remove(`${fx.root}_outside`, { recursive: true }).catch(() => {});
  }
});
