import assert from "node:assert/strict";
import { ensureDefaultDataset } from "../lib/data/default_dataset.ts";
import { readShard } from "../lib/data/shard.ts";
import {
  BASE_WEIGHTS,
  COMPONENT_NAMES,
  type ComponentName,
  generateCorpus,
  probeWeights,
  syntheticComponents,
} from "../lib/data/synthetic.ts";
import { solveQuestion } from "../lib/data/synthetic/arithmetic.ts";
import { bracketProblems } from "../lib/data/synthetic/brackets.ts";
import { codeProblems } from "../lib/data/synthetic/code.ts";
import { INDUCTION_NAMES, inductionSpans } from "../lib/data/synthetic/induction.ts";
import { inductionRuleStats } from "../lib/analysis/induction_rule.ts";
import { multigramComponent } from "../lib/data/synthetic/multigram.ts";
import { loadTokenizer } from "../lib/data/tokenizer.ts";
import { Rng } from "../lib/util/random.ts";

const components = syntheticComponents(42);

/** 40 documents of one component from independent streams. */
function sample(name: ComponentName): string[] {
  return Array.from({ length: 40 }, (_, i) => components[name].generate(new Rng(1000 + i), 300 + 20 * i));
}

Deno.test("every component's documents pass its own verify and fail every other component's", () => {
  for (const c of COMPONENT_NAMES) {
    for (const doc of sample(c)) {
      assert.ok(doc.length >= 300, `${c}: document shorter than asked`);
      assert.deepEqual(components[c].verify(doc), [], `${c}: ${doc.slice(0, 200)}`);
      for (const other of COMPONENT_NAMES) {
        if (other !== c) {
          assert.notDeepEqual(components[other].verify(doc), [], `${other} accepts a ${c} document`);
        }
      }
    }
  }
});

Deno.test("verify catches broken structure (the checks can fail)", () => {
  assert.deepEqual(bracketProblems("( [ ] )"), []);
  assert.match(bracketProblems("( [ ) ]").join(), /does not match/);
  assert.match(bracketProblems("( (").join(), /left open/);
  assert.equal(solveQuestion("What is 2 + 3?"), 5);
  assert.equal(solveQuestion("Solve 3*x + 1 = 10 for x."), 3);
  assert.match(components.arithmetic.verify("What is 2 + 3?\n6\n").join(), /should be 5/);
  assert.match(
    codeProblems("def f(a):\n    b = a + c\n    return b\n").join(),
    /"c" is used before it is bound/,
  );
  assert.match(codeProblems("def f(a):\n  return a\n").join(), /indentation/);
  assert.match(components.induction.verify(" Ka Zo Mi ; and ; Ka Zo Me\n").join(), /copy 1 differs/);
  const mg = multigramComponent(42);
  const [w0] = mg.words.filter((w) => mg.words.indexOf(w) < 24);
  const bad = mg.words.find((w) => !mg.successors.get(w0)!.includes(w))!;
  assert.match(mg.verify(`${w0} ${bad}.\n`).join(), /is not in the chain/);
});

Deno.test("arithmetic answers are correct and induction spans repeat within ~200 characters", () => {
  for (const doc of sample("arithmetic")) {
    const lines = doc.trimEnd().split("\n");
    for (let i = 0; i < lines.length; i += 2) assert.equal(Number(lines[i + 1]), solveQuestion(lines[i]));
  }
  let lines = 0;
  for (const doc of sample("induction")) {
    for (const [i, line] of doc.trimEnd().split("\n").entries()) {
      const span = inductionSpans(doc)[i];
      const second = line.indexOf(span, span.length);
      assert.ok(second > 0 && second < 200, `span repeats at ${second}: ${line}`);
      lines++;
    }
  }
  assert.ok(lines > 100);
});

Deno.test("the multigram chain is sparse: each word has 4 successors, and observed bigrams stay inside", () => {
  const mg = multigramComponent(42);
  const observed = new Map<string, Set<string>>();
  for (let i = 0; i < 200; i++) {
    const words = mg.generate(new Rng(i), 400).replace(/\./g, " .").split(/\s+/);
    for (let k = 1; k < words.length; k++) {
      if (words[k - 1] === "." || words[k] === "." || words[k] === "") continue;
      let s = observed.get(words[k - 1]);
      if (!s) observed.set(words[k - 1], s = new Set());
      s.add(words[k]);
    }
  }
  for (const [w, next] of observed) {
    assert.ok(next.size <= 4, `${w} has ${next.size} successors`);
    for (const n of next) assert.ok(mg.successors.get(w)!.includes(n));
  }
  // Sparse: far fewer distinct bigrams than vocab², and the chain was exercised widely.
  const distinct = [...observed.values()].reduce((a, s) => a + s.size, 0);
  assert.ok(distinct > 300 && distinct <= 4 * mg.words.length, `${distinct} distinct bigrams`);
});

Deno.test("generateCorpus is deterministic from the seed, and probes are enriched in their component", () => {
  const opts = { seed: 5, stream: "base", weights: BASE_WEIGHTS, chars: 100_000 };
  const seed5 = syntheticComponents(5);
  const a = [...generateCorpus(opts)], b = [...generateCorpus(opts)];
  assert.deepEqual(a, b);
  assert.notDeepEqual([...generateCorpus({ ...opts, seed: 6 })].slice(0, 5), a.slice(0, 5));
  const share = (docs: { component: string }[], c: string) =>
    docs.filter((d) => d.component === c).length / docs.length;
  for (const c of COMPONENT_NAMES) {
    const probe = [...generateCorpus({ ...opts, stream: `probe:${c}`, weights: probeWeights(c) })];
    assert.ok(share(probe, c) > 0.7, `${c} probe has ${share(probe, c)} of its documents`);
    // q′ = 0.2·q + 0.8·onehot(c) moves 0.8·(1 − q_c) of the documents onto c (sampling tolerance 0.08).
    assert.ok(share(probe, c) - share(a, c) > 0.8 * (1 - BASE_WEIGHTS[c]) - 0.08);
    // Documents are what they claim to be.
    for (const d of probe.slice(0, 20)) assert.deepEqual(seed5[d.component].verify(d.text), []);
  }
});

Deno.test("ensureDefaultDataset builds tokenizer + shards, reuses them, and rebuilds on other options", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "chi_default_" });
  const opts = { seed: 3, vocabSize: 300, baseChars: 200_000, probeChars: 50_000 };
  const ds = await ensureDefaultDataset(dir, opts);
  const tok = await loadTokenizer(ds.tokenizerPath);
  assert.equal(tok.vocabSize, 300);
  assert.equal(ds.meta.tokenizerSha256, tok.hash);
  const base = await readShard(ds.base);
  assert.equal(base.meta.tokens, base.tokens.length);
  assert.ok(base.meta.tokens > 50_000);
  assert.equal(base.meta.tokenizerSha256, tok.hash);
  // The shard decodes back to the generated documents, separated by <|endoftext|>.
  const docs = tok.decode(base.tokens).split("<|endoftext|>");
  assert.equal(docs.at(-1), "");
  const expected = [...generateCorpus({ seed: 3, stream: "base", weights: BASE_WEIGHTS, chars: 200_000 })];
  assert.deepEqual(docs.slice(0, -1), expected.map((d) => d.text));
  for (const c of COMPONENT_NAMES) {
    const p = await readShard(ds.probes[c]);
    const counts = p.meta.extra?.componentDocuments as Record<string, number>;
    assert.ok(counts[c] / p.meta.documents > 0.7, `${c} probe shard: ${JSON.stringify(counts)}`);
  }
  const mtime = Deno.statSync(ds.base).mtime!.getTime();
  const again = await ensureDefaultDataset(dir, opts);
  assert.deepEqual(again, ds);
  assert.equal(Deno.statSync(ds.base).mtime!.getTime(), mtime, "reused, not rewritten");
  // A truncated shard is not reused.
  Deno.truncateSync(ds.probes.code, 10);
  const repaired = await ensureDefaultDataset(dir, opts);
  assert.equal((await readShard(repaired.probes.code)).meta.tokens, ds.meta.shards.probes.code.tokens);
  const other = await ensureDefaultDataset(dir, { ...opts, seed: 4 });
  assert.notEqual(
    other.meta.tokenizerSha256 + other.meta.shards.base.tokens,
    ds.meta.tokenizerSha256 + ds.meta.shards.base.tokens,
  );
  await assert.rejects(
    ensureDefaultDataset(dir, { vocabSize: -1 }),
    /option vocabSize must be a non-negative integer/,
  );
});

Deno.test("the default dataset has ≥ 1.8M base tokens (built with default options)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "chi_default_full_" });
  const t0 = performance.now();
  const ds = await ensureDefaultDataset(dir);
  const ms = performance.now() - t0;
  console.log(`default dataset: ${ds.meta.shards.base.tokens} base tokens, built in ${ms.toFixed(0)} ms`);
  assert.ok(ds.meta.shards.base.tokens >= 1_800_000);
  assert.equal(ds.meta.options.vocabSize, 512);
  for (const c of COMPONENT_NAMES) assert.ok(ds.meta.shards.probes[c].tokens >= 300_000);
  // The induction component's names stay whole tokens, so the induction rule is right where it should be.
  const tok = await loadTokenizer(ds.tokenizerPath);
  const split = INDUCTION_NAMES.filter((n) => tok.encode(" " + n).length !== 1);
  console.log(`induction names split by the tokenizer: ${split.length} of 64 (${split.join(", ")})`);
  assert.ok(split.length <= 4);
  const probe = inductionRuleStats((await readShard(ds.probes.induction)).tokens, 64, 2000);
  const base = inductionRuleStats((await readShard(ds.base)).tokens, 64, 2000);
  console.log(`induction rule right at ${probe.right.toFixed(3)} (probe), ${base.right.toFixed(3)} (base)`);
  assert.ok(base.right > 0.15 && probe.right > 0.25 && probe.right > base.right + 0.05);
});
