/**
 * The parameter layout: every parameter of the model lives in one flat f32 buffer, tensor after tensor, under
 * TransformerLens names and shapes, so that a checkpoint maps onto it by name and one attention head is an
 * addressable set of slices (the unit of weight restriction, eq. 40).
 *
 * Order: embed.W_E, pos_embed.W_pos, then per block l: ln1.w, ln1.b (with LN), attn.W_Q, W_K, W_V, W_O, b_Q,
 * b_K, b_V, b_O; then ln_final.w, ln_final.b (with LN), unembed.W_U, unembed.b_U. Each tensor starts at a
 * multiple of 4 elements so vec4 kernels can read any of them.
 */
import type { ModelConfig } from "./config.ts";

export interface TensorView {
  name: string;
  shape: readonly number[];
  /** Element offset inside one parameter copy. */
  offset: number;
  /** Number of elements (product of the shape). */
  size: number;
}

export interface ParamLayout {
  config: ModelConfig;
  tensors: readonly TensorView[];
  byName: ReadonlyMap<string, TensorView>;
  /** Elements per parameter copy, padding included (the stride between copies). */
  stride: number;
  /** Number of parameters, padding excluded (3,355,016 for the paper's model). */
  count: number;
}

/** Element range [start, start + length) inside one parameter copy. */
export interface Slice {
  start: number;
  length: number;
}

const ALIGN = 4;

/** The tensor names and shapes of a config, in buffer order. */
export function tensorShapes(cfg: ModelConfig): Array<[string, number[]]> {
  const { d_vocab: V, d_model: D, n_ctx: T, n_heads: H, d_head: E } = cfg;
  const ln = cfg.normalization === "LN";
  const out: Array<[string, number[]]> = [["embed.W_E", [V, D]], ["pos_embed.W_pos", [T, D]]];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `blocks.${l}`;
    if (ln) out.push([`${p}.ln1.w`, [D]], [`${p}.ln1.b`, [D]]);
    out.push(
      [`${p}.attn.W_Q`, [H, D, E]],
      [`${p}.attn.W_K`, [H, D, E]],
      [`${p}.attn.W_V`, [H, D, E]],
      [`${p}.attn.W_O`, [H, E, D]],
      [`${p}.attn.b_Q`, [H, E]],
      [`${p}.attn.b_K`, [H, E]],
      [`${p}.attn.b_V`, [H, E]],
      [`${p}.attn.b_O`, [D]],
    );
  }
  if (ln) out.push(["ln_final.w", [D]], ["ln_final.b", [D]]);
  out.push(["unembed.W_U", [D, V]], ["unembed.b_U", [V]]);
  return out;
}

/**
 * Builds the layout of a config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paramLayout, TINY_CONFIG } from "chi";
 *
 * const layout = paramLayout(TINY_CONFIG);
 * assert.equal(layout.tensors[0].name, "embed.W_E");
 * assert.deepEqual(layout.byName.get("blocks.1.attn.W_Q")?.shape, [4, 64, 16]); // [n_heads, d_model, d_head]
 * assert.equal(layout.stride % 4, 0); // one parameter copy, padded
 * ```
 */
export function paramLayout(cfg: ModelConfig): ParamLayout {
  const tensors: TensorView[] = [];
  let offset = 0;
  let count = 0;
  for (const [name, shape] of tensorShapes(cfg)) {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, size });
    offset += Math.ceil(size / ALIGN) * ALIGN;
    count += size;
  }
  return { config: cfg, tensors, byName: new Map(tensors.map((t) => [t.name, t])), stride: offset, count };
}

/**
 * The tensor view called `name`; throws naming the tensor and the config if it does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initParams, paramLayout, tensor, TINY_CONFIG } from "chi";
 *
 * const layout = paramLayout(TINY_CONFIG);
 * const w = tensor(layout, "blocks.0.ln1.w");
 * const params = initParams(TINY_CONFIG, 0);
 * assert.equal(params[w.offset], 1); // LayerNorm weights start at 1
 * ```
 */
export function tensor(layout: ParamLayout, name: string): TensorView {
  const t = layout.byName.get(name);
  if (!t) {
    throw new Error(
      `no parameter tensor "${name}" in this model (normalization=${layout.config.normalization})`,
    );
  }
  return t;
}

/**
 * The slices of one attention head (layer l, head h): slice [h] of W_Q, W_K, W_V, W_O, b_Q, b_K, b_V.
 * b_O, the layer norms and the embeddings belong to no head.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headSlices, paramLayout, TINY_CONFIG } from "chi";
 *
 * // Head 0:2's W_Q, W_K, W_V, their biases and its rows of W_O, as ranges of one parameter copy.
 * const slices = headSlices(paramLayout(TINY_CONFIG), 0, 2);
 * const size = slices.reduce((n, s) => n + s.length, 0);
 * assert.equal(size, 4 * 64 * 16 + 3 * 16); // 4 matrices of d_model × d_head, 3 biases of d_head
 * ```
 */
export function headSlices(layout: ParamLayout, layer: number, head: number): Slice[] {
  const { n_heads: H, n_layers: L, d_model: D, d_head: E } = layout.config;
  if (!Number.isInteger(layer) || layer < 0 || layer >= L) {
    throw new RangeError(`layer ${layer} not in [0, ${L})`);
  }
  if (!Number.isInteger(head) || head < 0 || head >= H) throw new RangeError(`head ${head} not in [0, ${H})`);
  const p = `blocks.${layer}.attn`;
  const out: Slice[] = [];
  for (const w of ["W_Q", "W_K", "W_V", "W_O"]) {
    out.push({ start: tensor(layout, `${p}.${w}`).offset + head * D * E, length: D * E });
  }
  for (const b of ["b_Q", "b_K", "b_V"]) {
    out.push({ start: tensor(layout, `${p}.${b}`).offset + head * E, length: E });
  }
  return out;
}
