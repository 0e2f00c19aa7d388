/** Pronounceable made-up words built from syllables: the word vocabularies of the synthetic corpus. */

import { Rng } from "../../util/random.ts";

/** `count` distinct words of minSyl..maxSyl consonant-vowel syllables, deterministic from `seed`. */
export function syllableWords(
  seed: number,
  count: number,
  consonants: string,
  vowels: string,
  minSyl: number,
  maxSyl: number,
): string[] {
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < count) {
    const n = minSyl + rng.int(maxSyl - minSyl + 1);
    let w = "";
    for (let i = 0; i < n; i++) w += consonants[rng.int(consonants.length)] + vowels[rng.int(vowels.length)];
    if (!seen.has(w)) {
      seen.add(w);
      out.push(w);
    }
  }
  return out;
}

/** A fresh rare name: a capital consonant, then 1-2 (vowel, consonant) pairs, e.g. "Zurok". Not memorable. */
export function rareName(rng: Rng): string {
  const caps = "BCDFGHJKLMNPRSTVWXZ", vowels = "aeiouy", cons = "bcdfghjklmnprstvwxz";
  let w = caps[rng.int(caps.length)];
  const pairs = 1 + rng.int(2);
  for (let i = 0; i < pairs; i++) w += vowels[rng.int(vowels.length)] + cons[rng.int(cons.length)];
  return w;
}
