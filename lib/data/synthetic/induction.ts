/**
 * Component (b), induction text: a span of fresh random words (unpredictable the first time) that repeats
 * later in the same line, with short filler between the copies: "A B C D ; and then ; A B C D". The second
 * copy is predictable only by finding the earlier occurrence of the current token and copying what followed
 * it, which is what an induction head does. Spans are 3-6 rare words (about 10-20 tokens with the default
 * 512-token vocabulary) and a line of 2-3 copies is 30-60 tokens, so a 64-token context usually holds a
 * span and at least one complete repeat.
 */

import type { Rng } from "../../util/random.ts";
import { type ComponentGenerator, linesOf } from "./component.ts";
import { rareName } from "./words.ts";

/** Words allowed between the copies of a span. */
export const INDUCTION_FILLER: readonly string[] = ["and", "then", "again", "so", "once", "more", "now"];
const FILLER_SET = new Set(INDUCTION_FILLER);
const SEP = " ; ";

/** One line: span, then 1-2 more copies of it, each after a filler of 1-3 words. */
function inductionLine(r: Rng): string {
  const n = 3 + r.int(4);
  const span: string[] = [];
  for (let i = 0; i < n; i++) span.push(r.int(3) === 0 ? rareName(r).toLowerCase() : rareName(r));
  const spanText = span.join(" ");
  const parts = [spanText];
  const copies = 1 + r.int(2);
  for (let c = 0; c < copies; c++) {
    const fill: string[] = [];
    const f = 1 + r.int(3);
    for (let i = 0; i < f; i++) fill.push(r.pick(INDUCTION_FILLER));
    parts.push(fill.join(" "), spanText);
  }
  return parts.join(SEP);
}

export function inductionComponent(): ComponentGenerator {
  return {
    generate(r: Rng, minChars: number): string {
      const lines: string[] = [];
      let len = 0;
      while (len < minChars) {
        const l = inductionLine(r);
        lines.push(l);
        len += l.length + 1;
      }
      return lines.join("\n") + "\n";
    },
    verify(text: string): string[] {
      const problems: string[] = [];
      for (const [li, line] of linesOf(text).entries()) {
        const parts = line.split(SEP);
        if (parts.length < 3 || parts.length % 2 === 0) {
          problems.push(
            `line ${li}: expected span ; filler ; span [; filler ; span], got ${parts.length} parts`,
          );
          continue;
        }
        const span = parts[0];
        if (span.split(" ").length < 3) problems.push(`line ${li}: span "${span}" has fewer than 3 words`);
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
  return linesOf(text).map((l) => l.split(SEP)[0]);
}
