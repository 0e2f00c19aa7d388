/**
 * Component (b), induction text: a span of names that repeats later in the same line, with short filler
 * between the copies: " Ka Zo Mi Te ; and then ; Ka Zo Mi Te". The first copy is unpredictable; every later
 * copy is predictable only by finding the earlier occurrence of the current token and copying what followed
 * it, which is what an induction head does.
 *
 * Why a small fixed lexicon of two-letter names (rather than fresh random words): a token-level induction head
 * helps only where "the token after the earlier occurrence of the current token" is the right next token.
 * Fresh words split into common BPE pieces (" D" "ik" "u"), which recur in the context with other successors,
 * so that rule was right at only 19 % of base positions where it applied at 47 % (measured on generator
 * version 1, docs/synthetic.md). The 64 names here are frequent enough that the default tokenizer keeps each
 * one whole (tests/data_synthetic_test.ts checks it), and a span never repeats a name, so within a line the
 * rule is always right. Spans of 3-8 names and fillers of 1-3 words vary the distance between copies, so no
 * fixed-offset attention pattern can stand in for induction.
 *
 * Lines begin with a space so that a span's first name tokenizes the same in every copy.
 */

import type { Tokenizer } from "../tokenizer.ts";
import type { Rng } from "../../util/random.ts";
import { type ComponentGenerator, fillDocument, linesOf } from "./component.ts";

/** Words allowed between the copies of a span. */
export const INDUCTION_FILLER: readonly string[] = ["and", "then", "again", "so", "once", "more", "now"];
const FILLER_SET = new Set(INDUCTION_FILLER);

/** The 64 names spans are drawn from: capital consonant + vowel ("Ka", "Zo"), in a fixed order. */
export const INDUCTION_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const c of "BDFGHKLMNPRSTVWZ") for (const v of "aeio") names.push(c + v);
  return Object.freeze(names);
})();
const NAME_SET = new Set(INDUCTION_NAMES);
const SEP = " ; ";

/** One line: a span of distinct names, then 1-3 more copies of it, each after a filler of 1-3 words. */
function inductionLine(r: Rng): string {
  const n = 3 + r.int(6);
  const pool = [...INDUCTION_NAMES];
  const span: string[] = [];
  for (let i = 0; i < n; i++) span.push(pool.splice(r.int(pool.length), 1)[0]);
  const spanText = span.join(" ");
  const parts = [spanText];
  const copies = 1 + r.int(3);
  for (let c = 0; c < copies; c++) {
    const fill: string[] = [];
    const f = 1 + r.int(3);
    for (let i = 0; i < f; i++) fill.push(r.pick(INDUCTION_FILLER));
    parts.push(fill.join(" "), spanText);
  }
  return " " + parts.join(SEP);
}

export function inductionComponent(): ComponentGenerator {
  return {
    generate: (r: Rng, minChars: number) => fillDocument(minChars, () => inductionLine(r) + "\n"),
    verify(text: string): string[] {
      const problems: string[] = [];
      for (const [li, raw] of linesOf(text).entries()) {
        if (!raw.startsWith(" ")) problems.push(`line ${li}: does not begin with a space`);
        const parts = raw.trimStart().split(SEP);
        if (parts.length < 3 || parts.length % 2 === 0) {
          problems.push(
            `line ${li}: expected span ; filler ; span [; filler ; span], got ${parts.length} parts`,
          );
          continue;
        }
        const span = parts[0];
        const names = span.split(" ");
        if (names.length < 3) problems.push(`line ${li}: span "${span}" has fewer than 3 names`);
        if (new Set(names).size !== names.length) problems.push(`line ${li}: span "${span}" repeats a name`);
        const unknown = names.filter((w) => !NAME_SET.has(w));
        if (unknown.length > 0) problems.push(`line ${li}: "${unknown[0]}" is not one of INDUCTION_NAMES`);
        for (let p = 1; p < parts.length; p++) {
          if (p % 2 === 0 && parts[p] !== span) {
            problems.push(`line ${li}: copy ${p / 2} differs from the span`);
          }
          if (p % 2 === 1 && !parts[p].split(" ").every((w) => FILLER_SET.has(w))) {
            problems.push(`line ${li}: filler "${parts[p]}" has a non-filler word`);
          }
        }
      }
      if (!text.endsWith("\n")) problems.push("document does not end with a newline");
      return problems;
    },
  };
}

/** The repeated span of each line of an induction document (for tests and analyses). */
export function inductionSpans(text: string): string[] {
  return linesOf(text).map((l) => l.trimStart().split(SEP)[0]);
}

/** Token ids of the induction names that `tokenizer` keeps whole (as they appear in a span: after a space). */
export function inductionNameIds(tokenizer: Tokenizer): number[] {
  const ids: number[] = [];
  for (const n of INDUCTION_NAMES) {
    const e = tokenizer.encode(" " + n);
    if (e.length === 1) ids.push(e[0]);
  }
  return ids;
}
