/**
 * Component (f), prose-like text: paragraphs of English-looking sentences from a small phrase grammar
 * (subject, verb, object, optional prepositional phrase or clause, occasional quoted speech or number).
 * Each paragraph has a cast of 2-3 names that recur, so names are predictable from earlier in the context,
 * while function words and phrase order give ordinary local statistics: a mixture of the other components'
 * kinds of structure in a natural-language surface.
 */

import type { Rng } from "../../util/random.ts";
import { type ComponentGenerator, fillDocument } from "./component.ts";
import { rareName } from "./words.ts";

const DET = ["the", "a", "this", "every", "one"];
const ADJ = ["old", "quiet", "small", "bright", "heavy", "strange", "green", "late", "open", "cold"];
const NOUN = [
  "river",
  "house",
  "letter",
  "garden",
  "window",
  "road",
  "lamp",
  "market",
  "bridge",
  "book",
  "field",
];
const VERB = [
  "found",
  "opened",
  "watched",
  "carried",
  "painted",
  "followed",
  "kept",
  "lost",
  "crossed",
  "read",
];
const PREP = ["near", "under", "behind", "beside", "across", "after"];
const SAY = ["said", "asked", "replied", "whispered"];
const CLAUSE = ["because it was late", "while the rain fell", "when the bell rang", "before anyone saw"];

function nounPhrase(r: Rng): string {
  return r.int(2) === 0 ? `${r.pick(DET)} ${r.pick(NOUN)}` : `${r.pick(DET)} ${r.pick(ADJ)} ${r.pick(NOUN)}`;
}

function capitalize(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

function sentence(r: Rng, cast: string[]): string {
  const who = r.int(3) === 0 ? nounPhrase(r) : r.pick(cast);
  switch (r.int(5)) {
    case 0:
      return `"${capitalize(nounPhrase(r))} is ${r.pick(ADJ)}," ${r.pick(SAY)} ${r.pick(cast)}.`;
    case 1:
      return `${capitalize(who)} ${r.pick(VERB)} ${2 + r.int(40)} ${r.pick(NOUN)}s ${r.pick(PREP)} ${
        nounPhrase(r)
      }.`;
    case 2:
      return `${capitalize(who)} ${r.pick(VERB)} ${nounPhrase(r)}, ${r.pick(CLAUSE)}.`;
    default:
      return `${capitalize(who)} ${r.pick(VERB)} ${nounPhrase(r)} ${r.pick(PREP)} ${nounPhrase(r)}.`;
  }
}

/** Problems with one prose document: sentence shape and characters. */
export function proseProblems(text: string): string[] {
  const problems: string[] = [];
  for (const [pi, para] of text.split("\n").filter((p) => p.length > 0).entries()) {
    const sentences = para.split(/(?<=[.?!]) /);
    for (const [si, s] of sentences.entries()) {
      if (!/^("?)[A-Z]/.test(s)) {
        problems.push(`paragraph ${pi} sentence ${si} does not start with a capital`);
      }
      if (!/[.?!]$/.test(s)) problems.push(`paragraph ${pi} sentence ${si} does not end with . ? or !`);
      if (/[^A-Za-z0-9 ,."?!]/.test(s)) {
        problems.push(`paragraph ${pi} sentence ${si} has an unexpected character`);
      }
    }
  }
  if (!text.endsWith("\n")) problems.push("document does not end with a newline");
  return problems;
}

/** One paragraph: 3-6 sentences about a cast of two or three rare names. */
function episode(r: Rng): string {
  const cast = [rareName(r), rareName(r), ...(r.int(2) === 0 ? [rareName(r)] : [])];
  const n = 3 + r.int(4);
  const sentences: string[] = [];
  for (let i = 0; i < n; i++) sentences.push(sentence(r, cast));
  return sentences.join(" ") + "\n";
}

export function proseComponent(): ComponentGenerator {
  return {
    generate: (r: Rng, minChars: number) => fillDocument(minChars, () => episode(r)),
    verify: proseProblems,
  };
}
