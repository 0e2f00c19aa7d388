import assert from "node:assert/strict";
import { escapeHtml } from "../lib/report/escape.ts";
import { bandBackground, displayPiece, highlightedContextHtml } from "../lib/report/highlighted_text.ts";
import { sharedMax, tokenColour } from "../lib/report/token_colour.ts";

Deno.test("tokenColour: appendix C.2 second algorithm — green 0,128,0 / red 255,0,0 with linear opacity |χ|/max", () => {
  assert.equal(tokenColour(2, 4), "rgba(0,128,0,0.5)");
  assert.equal(tokenColour(-1, 4), "rgba(255,0,0,0.25)");
  assert.equal(tokenColour(-4, 4), "rgba(255,0,0,1)");
  assert.equal(tokenColour(0, 4), "rgba(255,0,0,0)");
  assert.equal(tokenColour(NaN, 4), "transparent");
  assert.equal(tokenColour(1, 0), "transparent");
});

Deno.test("sharedMax: the maximum |χ| over all heads and contexts together, ignoring NaN", () => {
  assert.equal(sharedMax([Float64Array.from([NaN, 1, -3]), [2, 0.5]]), 3);
  assert.equal(sharedMax([]), 0);
});

Deno.test("escapeHtml: escapes markup and writes the colon of :// as a character reference", () => {
  assert.equal(escapeHtml(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  assert.equal(escapeHtml("see https://example.org"), "see https&#58;//example.org");
});

Deno.test("highlightedContextHtml: one band per head with the shared max, escaped pieces, newline shown and broken", () => {
  const html = highlightedContextHtml(
    { pieces: ["<x>", "\n", " y"], heads: ["0:0", "1:2"], values: [[NaN, 2, -1], [NaN, -2, 0.5]] },
    2,
  );
  assert.match(html, /&lt;x&gt;/);
  assert.ok(!html.includes("<x>"));
  assert.match(
    html,
    /linear-gradient\(to bottom, rgba\(0,128,0,1\) 0\.00% 50\.00%, rgba\(255,0,0,1\) 50\.00% 100\.00%\)/,
  );
  assert.match(html, /↵<\/span><br>/);
  assert.match(html, /title="position 2 &quot; y&quot; — 0:0: -1\.00; 1:2: 0\.500"/);
  assert.equal(displayPiece("\ta"), "→a");
  assert.equal(bandBackground(["red"]), "red");
});
