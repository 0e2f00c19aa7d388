/**
 * Component (d), templated arithmetic in the style of DeepMind's mathematics dataset: a question line and
 * its answer on the next line, always correct. The answer is a function of numbers earlier in the context,
 * so the component plants digit-level structure (copying operands, carrying) next to fixed template words.
 */

import type { Rng } from "../../util/random.ts";
import { type ComponentGenerator, fillDocument, linesOf } from "./component.ts";

interface Template {
  /** Builds [question, answer] from random operands. */
  make(r: Rng): [string, number];
  /** Parses a question; returns its correct answer, or null when the question is not of this template. */
  solve(q: string): number | null;
}

const int = (s: string) => Number.parseInt(s, 10);

const TEMPLATES: readonly Template[] = [
  {
    make: (r) => {
      const a = r.int(1000), b = r.int(1000);
      return [`What is ${a} + ${b}?`, a + b];
    },
    solve: (q) => {
      const m = /^What is (\d+) \+ (\d+)\?$/.exec(q);
      return m ? int(m[1]) + int(m[2]) : null;
    },
  },
  {
    make: (r) => {
      const a = r.int(1000), b = r.int(1000);
      return [`Calculate ${a} - ${b}.`, a - b];
    },
    solve: (q) => {
      const m = /^Calculate (\d+) - (\d+)\.$/.exec(q);
      return m ? int(m[1]) - int(m[2]) : null;
    },
  },
  {
    make: (r) => {
      const a = 2 + r.int(30), b = 2 + r.int(30);
      return [`What is ${a} times ${b}?`, a * b];
    },
    solve: (q) => {
      const m = /^What is (\d+) times (\d+)\?$/.exec(q);
      return m ? int(m[1]) * int(m[2]) : null;
    },
  },
  {
    make: (r) => {
      const x = r.int(100), b = r.int(100);
      return [`Let x = ${x}. What is x + ${b}?`, x + b];
    },
    solve: (q) => {
      const m = /^Let x = (\d+)\. What is x \+ (\d+)\?$/.exec(q);
      return m ? int(m[1]) + int(m[2]) : null;
    },
  },
  {
    make: (r) => {
      const a = 2 + r.int(9), x = r.int(20) - 5, b = r.int(50);
      return [`Solve ${a}*x + ${b} = ${a * x + b} for x.`, x];
    },
    solve: (q) => {
      const m = /^Solve (\d+)\*x \+ (\d+) = (-?\d+) for x\.$/.exec(q);
      if (!m) return null;
      const x = (int(m[3]) - int(m[2])) / int(m[1]);
      return Number.isInteger(x) ? x : null;
    },
  },
];

/** The correct answer of a question of any template, or null when no template parses it. */
export function solveQuestion(q: string): number | null {
  for (const t of TEMPLATES) {
    const a = t.solve(q);
    if (a !== null) return a;
  }
  return null;
}

export function arithmeticComponent(): ComponentGenerator {
  return {
    generate: (r: Rng, minChars: number) =>
      fillDocument(minChars, () => {
        const [q, a] = r.pick(TEMPLATES).make(r);
        return `${q}\n${a}\n`;
      }),
    verify(text: string): string[] {
      const problems: string[] = [];
      const lines = linesOf(text);
      if (lines.length % 2 !== 0) {
        problems.push(`odd number of lines (${lines.length}): a question lacks its answer`);
      }
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const expected = solveQuestion(lines[i]);
        if (expected === null) problems.push(`line ${i}: "${lines[i]}" matches no template`);
        else if (!/^-?\d+$/.test(lines[i + 1]) || int(lines[i + 1]) !== expected) {
          problems.push(`line ${i + 1}: answer "${lines[i + 1]}" to "${lines[i]}" should be ${expected}`);
        }
      }
      if (!text.endsWith("\n")) problems.push("document does not end with a newline");
      return problems;
    },
  };
}
