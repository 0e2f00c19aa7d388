/**
 * Weight restrictions (eq. 40): which parameters of a model an SGLD chain may move. A restriction is named
 * "full" (every parameter; the unrestricted model, layer = head = -1 in the tables) or "l:h" (attention head h
 * of layer l, the paper's naming, e.g. "0:3"). This module owns the names, their parsing and order, the list of
 * a model config's restrictions, and their masks over one parameter copy; the sweep config, the scripts'
 * flags, the estimators and the results tables all use it.
 */
import type { ModelConfig } from "./config.ts";
import { headSlices, type ParamLayout, type Slice } from "./params.ts";

/** The restriction name of the unrestricted model. */
export const FULL = "full";

/** What a restriction name looks like, for error messages. */
export const RESTRICTION_FORMAT = `"full" or "layer:head"`;

const HEAD_RE = /^(\d+):(\d+)$/;

/**
 * The name of head h of layer l as the paper writes it: "l:h".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headName } from "chi";
 *
 * assert.equal(headName(1, 3), "1:3"); // layer 1, head 3: the label of tables and reports
 * ```
 */
export function headName(layer: number, head: number): string {
  return `${layer}:${head}`;
}

/**
 * The restriction of (layer, head): "full" for layer < 0 (the tables' layer = head = -1), else "l:h".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restrictionName } from "chi";
 *
 * assert.equal(restrictionName(0, 2), "0:2");
 * assert.equal(restrictionName(-1, -1), "full"); // the unrestricted model's row
 * ```
 */
export function restrictionName(layer: number, head: number): string {
  return layer < 0 ? FULL : headName(layer, head);
}

/**
 * Parses "l:h" (or "full", as layer = head = -1) into layer and head; undefined for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRestriction } from "chi";
 *
 * assert.deepEqual(parseRestriction("1:6"), { layer: 1, head: 6 });
 * assert.deepEqual(parseRestriction("full"), { layer: -1, head: -1 });
 * assert.equal(parseRestriction("L1H6"), undefined);
 * ```
 */
export function parseRestriction(name: string): { layer: number; head: number } | undefined {
  if (name === FULL) return { layer: -1, head: -1 };
  const m = HEAD_RE.exec(name);
  return m ? { layer: Number(m[1]), head: Number(m[2]) } : undefined;
}

/** Orders restriction names by (layer, head), "full" first, unknown names last alphabetically. */
export function compareRestrictions(a: string, b: string): number {
  const pa = parseRestriction(a);
  const pb = parseRestriction(b);
  if (pa && pb) return pa.layer - pb.layer || pa.head - pb.head;
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Every restriction of a model: "full", then "l:h" for every head in (layer, head) order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allRestrictions } from "chi";
 *
 * assert.deepEqual(allRestrictions({ n_layers: 2, n_heads: 2 }), ["full", "0:0", "0:1", "1:0", "1:1"]);
 * ```
 */
export function allRestrictions(cfg: Pick<ModelConfig, "n_layers" | "n_heads">): string[] {
  const out = [FULL];
  for (let l = 0; l < cfg.n_layers; l++) for (let h = 0; h < cfg.n_heads; h++) out.push(headName(l, h));
  return out;
}

/**
 * Why `name` is not a restriction of a model with this config (not "full" / "l:h", or a head beyond its
 * layers × heads), or undefined when it is one.
 */
export function restrictionProblem(
  name: string,
  cfg: Pick<ModelConfig, "n_layers" | "n_heads">,
): string | undefined {
  const lh = parseRestriction(name);
  if (!lh) return `expected ${RESTRICTION_FORMAT} (e.g. "0:3"), got ${JSON.stringify(name)}`;
  if (lh.layer >= cfg.n_layers || lh.head >= cfg.n_heads) {
    return `"${name}" is not a head of a model with ${cfg.n_layers} layers × ${cfg.n_heads} heads`;
  }
  return undefined;
}

/**
 * The restriction list a batched SGLD run samples: the requested ones (checked: names, no repeats), then "full"
 * if it was not requested, since E_full[ΔL] enters every restricted estimate.
 */
export function samplingRestrictions(requested: readonly string[]): string[] {
  if (requested.length === 0) throw new RangeError("restrictions: at least one is needed");
  const seen = new Set<string>();
  for (const r of requested) {
    if (!parseRestriction(r)) throw new RangeError(`restriction "${r}" is neither "full" nor "layer:head"`);
    if (seen.has(r)) throw new RangeError(`restriction "${r}" is listed twice`);
    seen.add(r);
  }
  return seen.has(FULL) ? [...requested] : [...requested, FULL];
}

/** Number of u32 words of one restriction mask over `size` elements. */
export function maskWords(size: number): number {
  return Math.ceil(size / 32);
}

/** A restriction bitset over `size` elements (bit e % 32 of word e / 32 set = element e moves) from slices. */
export function maskFromSlices(size: number, slices: readonly Slice[]): Uint32Array {
  if (!Number.isInteger(size) || size <= 0) {
    throw new RangeError(`mask size must be a positive integer, got ${size}`);
  }
  const mask = new Uint32Array(maskWords(size));
  for (const { start, length } of slices) {
    if (
      !Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 ||
      start + length > size
    ) {
      throw new RangeError(`mask slice [${start}, ${start + length}) is not inside [0, ${size})`);
    }
    for (let e = start; e < start + length; e++) mask[e >>> 5] |= 1 << (e & 31);
  }
  return mask;
}

/** The mask in which every element of [0, size) moves. */
export function fullMask(size: number): Uint32Array {
  return maskFromSlices(size, [{ start: 0, length: size }]);
}

/** Number of set bits (moving elements) of a mask. */
export function maskCount(mask: Uint32Array): number {
  let n = 0;
  for (let x of mask) {
    x = x - ((x >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    n += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return n;
}

/**
 * The mask of a named restriction of a model over its parameter copy (`layout.stride` elements): "full" = every
 * parameter tensor (alignment padding excluded), "l:h" = attention head h of layer l (headSlices).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paramLayout, restrictionMask, TINY_CONFIG } from "chi";
 *
 * const layout = paramLayout(TINY_CONFIG);
 * const bits = (m: Uint32Array) => [...m].reduce((n, w) => n + w.toString(2).replaceAll("0", "").length, 0);
 * // Head 1:3 moves its W_Q, W_K, W_V, W_O (d_model × d_head each) and b_Q, b_K, b_V (d_head each).
 * assert.equal(bits(restrictionMask(layout, "1:3")), 4 * 64 * 16 + 3 * 16);
 * // "full" moves every parameter, never the alignment padding between tensors.
 * const params = layout.tensors.reduce((n, t) => n + t.size, 0);
 * assert.equal(bits(restrictionMask(layout, "full")), params);
 * ```
 */
export function restrictionMask(layout: ParamLayout, name: string): Uint32Array {
  if (name === FULL) {
    return maskFromSlices(layout.stride, layout.tensors.map((t) => ({ start: t.offset, length: t.size })));
  }
  const lh = parseRestriction(name);
  if (!lh) {
    throw new RangeError(`restriction "${name}" is neither "full" nor a head "layer:head" such as "1:6"`);
  }
  return maskFromSlices(layout.stride, headSlices(layout, lh.layer, lh.head));
}

/**
 * What one parameter copy of a batched SGLD run moves, as the transformer's passes see it: every parameter
 * ("all": the full model), one attention head ("head"), or nothing ("none": the paired still copy at w*). The
 * passes compute only the gradients a copy's motion needs (transformer.ts); its mask says the same thing to
 * the SGLD update, element by element.
 */
export type Motion =
  | { kind: "all" }
  | { kind: "head"; layer: number; head: number }
  | { kind: "none" };

/**
 * The motion of a named restriction: "full" moves everything, "l:h" moves head h of layer l.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { motionOf } from "chi";
 *
 * assert.deepEqual(motionOf("1:3"), { kind: "head", layer: 1, head: 3 });
 * assert.deepEqual(motionOf("full"), { kind: "all" });
 * ```
 */
export function motionOf(name: string): Motion {
  const lh = parseRestriction(name);
  if (!lh) throw new RangeError(`restriction "${name}" is neither "full" nor a head "layer:head"`);
  return lh.layer < 0 ? { kind: "all" } : { kind: "head", layer: lh.layer, head: lh.head };
}

/**
 * The motion of every copy of a batched SGLD run: chain k of restriction r is copy r·chains + k (as
 * chainLayout lays them out), then, with `still`, the paired run's still copy, which moves nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyMotions } from "chi";
 *
 * const m = copyMotions(["full", "1:0"], 2, true);
 * assert.deepEqual(m.map((x) => x.kind), ["all", "all", "head", "head", "none"]);
 * ```
 */
export function copyMotions(restrictions: readonly string[], chains: number, still = false): Motion[] {
  const out: Motion[] = restrictions.flatMap((r) => Array.from({ length: chains }, () => motionOf(r)));
  if (still) out.push({ kind: "none" });
  return out;
}

/**
 * The lowest layer whose weights a motion moves: 0 for "all", the head's layer, `layers` for "none". A copy's
 * backward stops there, and with shared tokens its forward starts there (below it the copy is w*).
 */
export function lowestMovingLayer(m: Motion, layers: number): number {
  return m.kind === "head" ? m.layer : m.kind === "all" ? 0 : layers;
}

/**
 * Maximal runs of consecutive indices in [0, n) with equal keys (`same`, default ===): the copies one batched op
 * can cover together.
 */
export function runsByKey<K>(
  n: number,
  key: (i: number) => K,
  same: (a: K, b: K) => boolean = (a, b) => a === b,
): { first: number; count: number; key: K }[] {
  const runs: { first: number; count: number; key: K }[] = [];
  for (let i = 0; i < n;) {
    const k = key(i);
    let j = i + 1;
    while (j < n && same(key(j), k)) j++;
    runs.push({ first: i, count: j - i, key: k });
    i = j;
  }
  return runs;
}
