/**
 * The report page: one self-contained HTML file (inline CSS, inline SVG charts, no scripts, no external
 * resources) with a header, a table of contents, one section per figure type with a caption naming the
 * paper's figure, and notes for omitted sections.
 */

import { escapeHtml } from "./escape.ts";

/** One section of the report. `body` is trusted HTML built by lib/report (escaped there). */
export interface ReportSection {
  id: string;
  title: string;
  /** What the section shows and which paper figure it corresponds to (plain text, escaped here). */
  caption: string;
  /** One sentence of numbers computed from this run's data: what the section shows for this run (plain text). */
  summary?: string;
  body: string;
}

/** Page inputs. */
export interface ReportPage {
  title: string;
  /** Lines under the title (plain text). */
  subtitle: string[];
  sections: ReportSection[];
  /** Warnings and omitted-section notes shown at the top (plain text). */
  notes: string[];
}

const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.5 Helvetica, Arial, sans-serif; color: #222; background: #fff; margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 6px; padding-top: 12px; border-top: 1px solid #ddd; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.subtitle { color: #555; margin: 0; }
nav ol { columns: 2; padding-left: 20px; }
nav a, a { color: #1f5fa8; text-decoration: none; }
.caption { color: #444; max-width: 900px; margin: 4px 0 12px; }
.run-summary { max-width: 900px; margin: 4px 0; font-weight: 600; }
.warnings { background: #fdecea; border: 1px solid #f5b7b1; padding: 6px 12px; border-radius: 4px; max-width: 1100px; }
details > summary { cursor: pointer; color: #1f5fa8; margin: 6px 0; }
.notes { background: #fff8e1; border: 1px solid #f0d98c; padding: 8px 14px; border-radius: 4px; }
.notes li { margin: 2px 0; }
figure { margin: 12px 0; overflow-x: auto; }
figure svg { max-width: none; height: auto; }
figcaption { font-size: 13px; color: #555; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 10px; overflow-x: auto; font-size: 12px; }
.ctx { font: 13px/1.9 Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all;
  border: 1px solid #e5e5e5; padding: 8px 10px; margin: 6px 0 14px; }
.tok { padding: 3px 0; }
.legend { font-size: 12px; color: #444; display: flex; gap: 24px; flex-wrap: wrap; align-items: center; }
.swatch { display: inline-block; min-width: 64px; text-align: center; border: 1px solid #ddd; margin-right: 2px;
  font: 11px/1.6 Menlo, Consolas, monospace; }
code.piece { background: #f1f1f1; padding: 0 3px; border-radius: 2px; white-space: pre; }
.pos { color: #0a7a0a; } .neg { color: #c62020; }
`;

/** Assembles the page. */
export function reportHtml(page: ReportPage): string {
  const toc = page.sections.map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a></li>`)
    .join("\n");
  const notes = page.notes.length
    ? `<section class="notes"><strong>Notes</strong><ul>${
      page.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")
    }</ul></section>`
    : "";
  const sections = page.sections.map((s) =>
    `<section id="${escapeHtml(s.id)}">
<h2>${escapeHtml(s.title)}</h2>
${s.summary ? `<p class="run-summary">${escapeHtml(s.summary)}</p>\n` : ""}<p class="caption">${
      escapeHtml(s.caption)
    }</p>
${s.body}
</section>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(page.title)}</h1>
${page.subtitle.map((l) => `<p class="subtitle">${escapeHtml(l)}</p>`).join("\n")}
</header>
${notes}
<nav><h2>Contents</h2><ol>
${toc}
</ol></nav>
${sections}
</main>
</body>
</html>
`;
}

/** A figure: inline SVG plus an optional caption line. */
export function figureHtml(svg: string, caption = ""): string {
  return `<figure>${svg}${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ""}</figure>`;
}

/** A plain table from header cells and rows of cells (cells are plain text unless marked as html). */
export function tableHtml(
  header: readonly string[],
  rows: readonly (readonly (string | { html: string } | number)[])[],
): string {
  const cell = (c: string | { html: string } | number) =>
    typeof c === "number"
      ? `<td class="num">${escapeHtml(Number.isInteger(c) ? String(c) : c.toPrecision(4))}</td>`
      : typeof c === "string"
      ? `<td>${escapeHtml(c)}</td>`
      : `<td>${c.html}</td>`;
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("")
  }</tbody></table>`;
}

/** A collapsed block: `summary` (plain text) shown, `bodyHtml` (trusted HTML) revealed on click. */
export function detailsHtml(summary: string, bodyHtml: string, open = false): string {
  return `<details${open ? " open" : ""}><summary>${escapeHtml(summary)}</summary>${bodyHtml}</details>`;
}
