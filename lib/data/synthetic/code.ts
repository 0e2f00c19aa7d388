/**
 * Component (e), a code-like language with Python's surface: `def` blocks with 4-space indentation,
 * assignments, calls with parentheses, `if` blocks and `return`. Variables are introduced before use and
 * reused within a function, and functions defined earlier in a document are called later, so predicting
 * an identifier means looking back for where it was bound (a copying pattern), and indentation follows
 * the block structure.
 */

import type { Rng } from "../../util/random.ts";
import { type ComponentGenerator, fillDocument } from "./component.ts";

const VARS = [
  "x",
  "y",
  "n",
  "total",
  "count",
  "idx",
  "val",
  "acc",
  "buf",
  "size",
  "step",
  "item",
  "key",
  "res",
];
const FUNCS = ["load", "parse", "scale", "merge", "update", "clip", "shift", "pack", "emit", "fold", "walk"];
const BUILTINS = new Set(["len", "abs", "max", "min"]);
const OPS = ["+", "-", "*"];

function expression(r: Rng, vars: string[], funcs: string[]): string {
  const v = () => r.pick(vars);
  switch (r.int(5)) {
    case 0:
      return `${v()} ${r.pick(OPS)} ${v()}`;
    case 1:
      return `${v()} ${r.pick(OPS)} ${1 + r.int(9)}`;
    case 2:
      return `${r.pick(funcs.length > 0 && r.int(2) === 0 ? funcs : [...BUILTINS])}(${v()})`;
    case 3:
      return funcs.length > 0 ? `${r.pick(funcs)}(${v()}, ${v()})` : `max(${v()}, ${v()})`;
    default:
      return `(${v()} ${r.pick(OPS)} ${v()}) * ${2 + r.int(5)}`;
  }
}

/** One function definition; adds its name to `defined` so later functions can call it. */
function functionText(r: Rng, defined: string[]): string {
  const free = FUNCS.filter((f) => !defined.includes(f));
  const name = free.length > 0 ? r.pick(free) : `${r.pick(FUNCS)}_${defined.length}`;
  const params = r.shuffle([...VARS]).slice(0, 1 + r.int(3));
  const vars = [...params];
  const lines = [`def ${name}(${params.join(", ")}):`];
  const statements = 2 + r.int(5);
  for (let s = 0; s < statements; s++) {
    if (r.int(4) === 0) {
      lines.push(`    if ${r.pick(vars)} > ${r.pick(vars)}:`);
      const target = r.pick(VARS);
      lines.push(`        ${target} = ${expression(r, vars, defined)}`);
      if (!vars.includes(target)) vars.push(target);
    } else {
      // Mostly reassign an existing variable (reuse); sometimes introduce a new one.
      const target = r.int(3) === 0 ? r.pick(VARS) : r.pick(vars);
      lines.push(`    ${target} = ${expression(r, vars, defined)}`);
      if (!vars.includes(target)) vars.push(target);
    }
  }
  lines.push(`    return ${r.pick(vars)}`);
  defined.push(name);
  return lines.join("\n") + "\n\n";
}

/** Problems with one code document: indentation, parentheses, and identifiers used before being bound. */
export function codeProblems(text: string): string[] {
  const problems: string[] = [];
  let bound = new Set<string>();
  const functions = new Set<string>();
  let blockIndent = -1; // indentation the next line must have after a ":" line, or -1
  for (const [i, line] of text.split("\n").entries()) {
    if (line.length === 0) continue;
    const indent = line.length - line.trimStart().length;
    const body = line.trimStart();
    if (indent % 4 !== 0) problems.push(`line ${i}: indentation ${indent} is not a multiple of 4`);
    if (blockIndent >= 0 && indent !== blockIndent) {
      problems.push(`line ${i}: expected indentation ${blockIndent} after a block opener, got ${indent}`);
    }
    blockIndent = body.endsWith(":") ? indent + 4 : -1;
    let depth = 0;
    for (const ch of body) {
      if (ch === "(") depth++;
      if (ch === ")" && --depth < 0) problems.push(`line ${i}: ")" closes nothing`);
    }
    if (depth > 0) problems.push(`line ${i}: ${depth} "(" left open`);
    const def = /^def (\w+)\(([\w, ]*)\):$/.exec(body);
    if (def) {
      if (indent !== 0) problems.push(`line ${i}: def must not be indented`);
      functions.add(def[1]);
      bound = new Set(def[2].split(", ").filter((p) => p.length > 0));
      continue;
    }
    const assign = /^(\w+) = (.+)$/.exec(body);
    const cond = /^if (.+):$/.exec(body);
    const ret = /^return (.+)$/.exec(body);
    const expr = assign?.[2] ?? cond?.[1] ?? ret?.[1];
    if (expr === undefined) {
      problems.push(`line ${i}: "${body}" is not a def, assignment, if or return`);
      continue;
    }
    for (const m of expr.matchAll(/([A-Za-z_]\w*)(\()?/g)) {
      const [, id, call] = m;
      const ok = call ? functions.has(id) || BUILTINS.has(id) : bound.has(id);
      if (!ok) problems.push(`line ${i}: "${id}" is used before it is ${call ? "defined" : "bound"}`);
    }
    if (assign) bound.add(assign[1]);
  }
  return problems;
}

export function codeComponent(): ComponentGenerator {
  return {
    generate(r: Rng, minChars: number): string {
      const defined: string[] = []; // functions of this document, for later ones to call
      return fillDocument(minChars, () => functionText(r, defined));
    },
    verify(text: string): string[] {
      const problems = codeProblems(text);
      if (!/^def /.test(text)) problems.push("document does not start with a def");
      return problems;
    },
  };
}
