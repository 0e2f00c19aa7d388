/** The contract every synthetic corpus component fulfils (see lib/data/synthetic.ts for the list). */

import type { Rng } from "../../util/random.ts";

export interface ComponentGenerator {
  /** One document: whole units (lines, episodes, functions) appended until it has ≥ minChars characters. */
  generate(rng: Rng, minChars: number): string;
  /** Every way `text` breaks the component's planted structure; empty for any generated document. */
  verify(text: string): string[];
}

/**
 * A document of whole units: `unit()` (a line, an episode, a function, with its separator) appended until the
 * text has at least `minChars` characters. The components differ in their units, not in how a document ends.
 */
export function fillDocument(minChars: number, unit: () => string): string {
  let text = "";
  while (text.length < minChars) text += unit();
  return text;
}

/** Splits a document into its non-empty lines (documents end with "\n"). */
export function linesOf(text: string): string[] {
  return text.split("\n").filter((l) => l.length > 0);
}
