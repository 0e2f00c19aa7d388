/**
 * Component (a), the multigram language: sentences over a made-up word vocabulary drawn from a sparse
 * second-order Markov chain. Each word has `branching` allowed successors (the bigram support, fixed by the
 * corpus seed); which successor is preferred depends on the word before it (the trigram part), through a
 * rotation of the successor weights. A model can only predict well by learning these bigram and trigram
 * statistics: the planted "multigram" structure.
 */

import { Rng } from "../../util/random.ts";
import { type ComponentGenerator, fillDocument } from "./component.ts";
import { syllableWords } from "./words.ts";

export interface MultigramComponent extends ComponentGenerator {
  readonly words: readonly string[];
  /** Word → its allowed successors (the only bigrams that ever occur). */
  readonly successors: ReadonlyMap<string, readonly string[]>;
}

/** Preference of a word's successors before the trigram rotation: sums to 1, strongly skewed. */
const SUCCESSOR_WEIGHTS = [0.55, 0.25, 0.12, 0.08];

/** Builds the chain from `seed`: `vocab` words, each with SUCCESSOR_WEIGHTS.length successors. */
export function multigramComponent(seed: number, vocab = 200): MultigramComponent {
  const rng = new Rng(seed).fork("multigram");
  const words = syllableWords(rng.fork("words").uint32(), vocab, "bdfgklmnprstvz", "aeiou", 1, 3);
  const index = new Map(words.map((w, i) => [w, i]));
  const k = SUCCESSOR_WEIGHTS.length;
  const succ: string[][] = words.map(() => {
    const picked = new Set<number>();
    while (picked.size < k) picked.add(rng.int(vocab));
    return [...picked].map((i) => words[i]);
  });
  const successors = new Map(words.map((w, i) => [w, succ[i]]));
  const starters = words.slice(0, 24); // sentences open with a small set of words, like "the", "a", "in"
  const starterSet = new Set(starters);
  const weights = new Float64Array(k);

  const sentence = (r: Rng): string => {
    const n = 6 + r.int(10);
    let prev2 = -1;
    let prev1 = index.get(r.pick(starters))!;
    const out = [words[prev1]];
    for (let i = 1; i < n; i++) {
      // Trigram: the word two back rotates which successor gets the largest weight.
      const rot = prev2 < 0 ? 0 : prev2 % k;
      for (let s = 0; s < k; s++) weights[s] = SUCCESSOR_WEIGHTS[(s + rot) % k];
      const next = index.get(succ[prev1][r.weighted(weights)])!;
      out.push(words[next]);
      prev2 = prev1;
      prev1 = next;
    }
    return out.join(" ") + ".";
  };

  return {
    words,
    successors,
    // Sentences separated by spaces, the document's last one ended by a newline instead.
    generate: (r: Rng, minChars: number) =>
      fillDocument(minChars, () => sentence(r) + " ").slice(0, -1) + "\n",
    verify(text: string): string[] {
      const problems: string[] = [];
      if (!text.endsWith(".\n")) problems.push("document does not end with a sentence and a newline");
      const sentences = text.trimEnd().split(/(?<=\.) /);
      for (const [si, s] of sentences.entries()) {
        if (!s.endsWith(".")) {
          problems.push(`sentence ${si} does not end with "."`);
          continue;
        }
        const ws = s.slice(0, -1).split(" ");
        if (!starterSet.has(ws[0])) {
          problems.push(`sentence ${si} starts with "${ws[0]}", not a starter word`);
        }
        for (let i = 0; i < ws.length; i++) {
          if (!index.has(ws[i])) {
            problems.push(`sentence ${si} word ${i} "${ws[i]}" is not in the vocabulary`);
          } else if (i > 0 && index.has(ws[i - 1]) && !successors.get(ws[i - 1])!.includes(ws[i])) {
            problems.push(`sentence ${si}: bigram "${ws[i - 1]} ${ws[i]}" is not in the chain`);
          }
        }
      }
      return problems;
    },
  };
}
