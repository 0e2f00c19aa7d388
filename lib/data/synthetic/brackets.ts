/**
 * Component (c), nested brackets: lines of well-nested (), [], {} and <> separated by spaces, depth up to
 * 6. Which closer comes next is determined by the innermost open bracket, so predicting closers needs a
 * stack-like memory of the line so far: planted long-range structure unlike the local multigram chain.
 */

import type { Rng } from "../../util/random.ts";
import { type ComponentGenerator, fillDocument, linesOf } from "./component.ts";

const OPEN = "([{<";
const CLOSE = ")]}>";
const MAX_DEPTH = 6;

function bracketLine(r: Rng): string {
  const pairs = 4 + r.int(12);
  const stack: number[] = [];
  const out: string[] = [];
  let opened = 0;
  while (opened < pairs || stack.length > 0) {
    const mustClose = opened >= pairs || stack.length >= MAX_DEPTH;
    if (stack.length > 0 && (mustClose || r.float() < 0.45)) {
      out.push(CLOSE[stack.pop()!]);
    } else {
      const t = r.int(4);
      stack.push(t);
      out.push(OPEN[t]);
      opened++;
    }
  }
  return out.join(" ");
}

/** Problems with the nesting of one line (empty when balanced and matched). */
export function bracketProblems(line: string): string[] {
  const stack: number[] = [];
  const problems: string[] = [];
  for (const [i, tok] of line.split(" ").entries()) {
    const o = OPEN.indexOf(tok), c = CLOSE.indexOf(tok);
    if (tok.length !== 1 || (o < 0 && c < 0)) problems.push(`item ${i} "${tok}" is not a bracket`);
    else if (o >= 0) stack.push(o);
    else if (stack.length === 0) problems.push(`item ${i} "${tok}" closes nothing`);
    else if (stack.pop() !== c) problems.push(`item ${i} "${tok}" does not match its opener`);
  }
  if (stack.length > 0) problems.push(`${stack.length} bracket(s) left open`);
  return problems;
}

export function bracketsComponent(): ComponentGenerator {
  return {
    generate: (r: Rng, minChars: number) => fillDocument(minChars, () => bracketLine(r) + "\n"),
    verify(text: string): string[] {
      const problems = linesOf(text).flatMap((l, i) => bracketProblems(l).map((p) => `line ${i}: ${p}`));
      if (!text.endsWith("\n")) problems.push("document does not end with a newline");
      return problems;
    },
  };
}
