/**
 * The op specifications of the attention-only transformer: one builder per matmul, column sum, layer norm and
 * embedding of the network, shared by the GPU passes (transformer_passes.ts) and the float64 reference
 * (reference.ts), so both address the same tensors the same way. No GPU code here.
 *
 * Addressing (f32 elements; R = B·T rows per copy, P = parameter stride; see matmul_spec.ts for the operand
 * layouts): activations of copy c start at c·R·D ([C, R, D]) or c·H·R·E ([C, H, R, E]); parameters and
 * gradients of copy c at c·P, each tensor at its layout offset (params.ts).
 */
import type { ModelConfig } from "./config.ts";
import type { ParamLayout } from "./params.ts";
import type { ColSumSpec, MatmulSpec } from "./matmul_spec.ts";
import type { LayerNormSpec } from "./layernorm.ts";
import type { EmbeddingSpec } from "./embedding.ts";

/** The sizes every op of the network is built from. */
export interface NetDims {
  /** Parameter copies, sequences per copy, positions per sequence, rows per copy R = B·T. */
  C: number;
  B: number;
  T: number;
  R: number;
  /** d_model, heads, d_head, vocabulary, layers. */
  D: number;
  H: number;
  E: number;
  V: number;
  L: number;
  /** Parameter stride of one copy (paramLayout(cfg).stride). */
  P: number;
  ln: boolean;
  shortformer: boolean;
  /** Element offset of a named tensor inside one parameter copy. */
  off: (name: string) => number;
}

/** The dimensions of `cfg` for C copies of B sequences of T positions. */
export function netDims(cfg: ModelConfig, layout: ParamLayout, C: number, B: number, T: number): NetDims {
  const { d_model: D, n_heads: H, d_head: E, d_vocab: V, n_layers: L } = cfg;
  return {
    C,
    B,
    T,
    R: B * T,
    D,
    H,
    E,
    V,
    L,
    P: layout.stride,
    ln: cfg.normalization === "LN",
    shortformer: cfg.positional === "shortformer",
    off: (name) => layout.byName.get(name)!.offset,
  };
}

/** One unembedding chunk: copies [c0, c0 + copies), rows [row0, row0 + rows) of each. */
export interface Chunk {
  /** First copy and number of copies (several whole copies, or one copy's row range). */
  c0: number;
  copies: number;
  /** First row within each copy and rows per copy. */
  row0: number;
  rows: number;
  /** Element offset of the chunk's first copy in the logits buffer (default 0; a part of a chunk has more). */
  logits0?: number;
}

/** Splits C copies × R rows into chunks of at most `maxRows` logit rows: whole copies when they fit. */
export function unembedChunks(C: number, R: number, maxRows: number): Chunk[] {
  const out: Chunk[] = [];
  if (R <= maxRows) {
    const per = Math.floor(maxRows / R);
    for (let c0 = 0; c0 < C; c0 += per) out.push({ c0, copies: Math.min(per, C - c0), row0: 0, rows: R });
    return out;
  }
  for (let c0 = 0; c0 < C; c0++) {
    for (let row0 = 0; row0 < R; row0 += maxRows) {
      out.push({ c0, copies: 1, row0, rows: Math.min(maxRows, R - row0) });
    }
  }
  return out;
}

// ---------------------------------------------------------------- embedding

/** x[0] [C, R, D] = W_E[tokens] (+ W_pos[t] for "standard" positions). */
export function embedSpec(d: NetDims, tokensCopyStride: number): EmbeddingSpec {
  return {
    copies: d.C,
    batch: d.B,
    seqLen: d.T,
    dModel: d.D,
    dVocab: d.V,
    paramStride: d.P,
    weOffset: d.off("embed.W_E"),
    posOffset: d.off("pos_embed.W_pos"),
    addPositions: !d.shortformer,
    tokensCopyStride,
  };
}

/** dW_pos[t] += Σ_b dx[b, t]: a column sum over the B sequences of a [B, T·D] matrix. */
export function posGradSpec(d: NetDims, label: string): ColSumSpec {
  return {
    label,
    M: d.B,
    N: d.T * d.D,
    accumulate: true,
    batch: [d.C, 1],
    src: { ld: d.T * d.D, stride: [d.R * d.D, 0] },
    dst: { offset: d.off("pos_embed.W_pos"), stride: [d.P, 0] },
  };
}

// ---------------------------------------------------------------- block l

/** LN over [C, R, D] rows with weight `w` and bias `b`; with shortformer positions also y2 = y + W_pos[t]. */
export function lnSpec(d: NetDims, w: string, b: string, withPositions: boolean): LayerNormSpec {
  return {
    copies: d.C,
    rows: d.R,
    seqLen: d.T,
    dModel: d.D,
    paramStride: d.P,
    wOffset: d.off(w),
    bOffset: d.off(b),
    posOffset: withPositions ? d.off("pos_embed.W_pos") : undefined,
  };
}

/** q, k, v [C, H, R, E] = in [C, R, D] · W [C][H, D, E] + b [C][H, E]: one dispatch per tensor, batch (c, h). */
export function qkvSpec(d: NetDims, l: number, name: "Q" | "K" | "V"): MatmulSpec {
  const { R, D, E, H, P } = d;
  return {
    label: `L${l} ${name}`,
    M: R,
    N: E,
    K: D,
    batch: [d.C, H],
    a: { ld: D, stride: [R * D, 0] },
    b: { offset: d.off(`blocks.${l}.attn.W_${name}`), ld: E, stride: [P, D * E] },
    c: { ld: E, stride: [H * R * E, R * E] },
    bias: { offset: d.off(`blocks.${l}.attn.b_${name}`), stride: [P, E] },
  };
}

/** x[l+1] [C, R, D] += z [C, R, H·E] · W_O [H·E, D] + b_O (x[l+1] holds a copy of x[l]: the residual). */
export function outSpec(d: NetDims, l: number): MatmulSpec {
  const { R, D, H, E, P } = d;
  return {
    label: `L${l} O`,
    M: R,
    N: D,
    K: H * E,
    batch: [d.C, 1],
    accumulate: true,
    a: { ld: H * E, stride: [R * H * E, 0] },
    b: { offset: d.off(`blocks.${l}.attn.W_O`), ld: D, stride: [P, 0] },
    c: { ld: D, stride: [R * D, 0] },
    bias: { offset: d.off(`blocks.${l}.attn.b_O`), stride: [P, 0] },
  };
}

/** db_O [C][D] += Σ_r dresid [C, R, D]. */
export function outBiasGradSpec(d: NetDims, l: number): ColSumSpec {
  return {
    label: `L${l} db_O`,
    M: d.R,
    N: d.D,
    accumulate: true,
    batch: [d.C, 1],
    src: { ld: d.D, stride: [d.R * d.D, 0] },
    dst: { offset: d.off(`blocks.${l}.attn.b_O`), stride: [d.P, 0] },
  };
}

/**
 * dW_O [C][H·E, D] += zᵀ [C, H·E, R] · dresid [C, R, D]; with `head`, only that head's rows
 * dW_O[head] [E, D] += z[:, head]ᵀ · dresid.
 */
export function outWeightGradSpec(d: NetDims, l: number, head?: number): MatmulSpec {
  const { R, D, H, E, P } = d;
  const h0 = head ?? 0;
  return {
    label: head === undefined ? `L${l} dW_O` : `L${l} dW_O head ${head}`,
    M: head === undefined ? H * E : E,
    N: D,
    K: R,
    transA: true,
    accumulate: true,
    batch: [d.C, 1],
    a: { offset: h0 * E, ld: H * E, stride: [R * H * E, 0] },
    b: { ld: D, stride: [R * D, 0] },
    c: { offset: d.off(`blocks.${l}.attn.W_O`) + h0 * E * D, ld: D, stride: [P, 0] },
  };
}

/**
 * dz [C, R, H·E] = dresid [C, R, D] · W_Oᵀ [D, H·E]; with `head`, only that head's columns
 * dz[:, head] [R, E] = dresid · W_O[head]ᵀ (the other heads' columns are left as they are).
 */
export function outInputGradSpec(d: NetDims, l: number, head?: number): MatmulSpec {
  const { R, D, H, E, P } = d;
  const h0 = head ?? 0;
  return {
    label: head === undefined ? `L${l} dz` : `L${l} dz head ${head}`,
    M: R,
    N: head === undefined ? H * E : E,
    K: D,
    transB: true,
    batch: [d.C, 1],
    a: { ld: D, stride: [R * D, 0] },
    b: { offset: d.off(`blocks.${l}.attn.W_O`) + h0 * E * D, ld: D, stride: [P, 0] },
    c: { offset: h0 * E, ld: H * E, stride: [R * H * E, 0] },
  };
}

/** dW [C, H][D, E] += inᵀ [C, D, R] · d(q, k or v) [C, H, R, E]; with `head`, that head's [C][D, E] only. */
export function qkvWeightGradSpec(d: NetDims, l: number, name: "Q" | "K" | "V", head?: number): MatmulSpec {
  const { R, D, H, E, P } = d;
  const h0 = head ?? 0;
  return {
    label: head === undefined ? `L${l} dW_${name}` : `L${l} dW_${name} head ${head}`,
    M: D,
    N: E,
    K: R,
    transA: true,
    accumulate: true,
    batch: [d.C, head === undefined ? H : 1],
    a: { ld: D, stride: [R * D, 0] },
    b: { offset: h0 * R * E, ld: E, stride: [H * R * E, R * E] },
    c: { offset: d.off(`blocks.${l}.attn.W_${name}`) + h0 * D * E, ld: E, stride: [P, D * E] },
  };
}

/** db [C, H][E] += Σ_r d(q, k or v) [C, H, R, E]; with `head`, that head's [C][E] only. */
export function qkvBiasGradSpec(d: NetDims, l: number, name: "Q" | "K" | "V", head?: number): ColSumSpec {
  const { R, H, E, P } = d;
  const h0 = head ?? 0;
  return {
    label: head === undefined ? `L${l} db_${name}` : `L${l} db_${name} head ${head}`,
    M: R,
    N: E,
    accumulate: true,
    batch: [d.C, head === undefined ? H : 1],
    src: { offset: h0 * R * E, ld: E, stride: [H * R * E, R * E] },
    dst: { offset: d.off(`blocks.${l}.attn.b_${name}`) + h0 * E, stride: [P, E] },
  };
}

/**
 * An input gradient summed over heads in one op: d(in) [C, R, D] (+)= Σ_h d(q, k or v)[C, h] [R, E] · W[h]ᵀ
 * [E, D] (dqk from Q and K, dh from V). W is stored head-major [H][D][E], so the heads are batch level 1 of a
 * matmul that sums that level (sumBatch1), not one long K.
 */
export function qkvInputGradSpec(
  d: NetDims,
  l: number,
  name: "Q" | "K" | "V",
  accumulate: boolean,
): MatmulSpec {
  const { R, D, H, E, P } = d;
  return {
    label: `L${l} d${name === "V" ? "h" : "qk"} from ${name}`,
    M: R,
    N: D,
    K: E,
    transB: true,
    accumulate,
    batch: [d.C, H],
    sumBatch1: true,
    a: { ld: E, stride: [H * R * E, R * E] },
    b: { offset: d.off(`blocks.${l}.attn.W_${name}`), ld: E, stride: [P, D * E] },
    c: { ld: D, stride: [R * D, 0] },
  };
}

// ---------------------------------------------------------------- unembedding, per chunk

/** logits [copies, rows, V] = hf[c][row0 … row0+rows) [rows, D] · W_U[c] [D, V] + b_U[c]. */
export function unembedSpec(d: NetDims, ch: Chunk): MatmulSpec {
  const { R, D, V, P } = d;
  return {
    label: "unembed",
    M: ch.rows,
    N: V,
    K: D,
    batch: [ch.copies, 1],
    a: { offset: ch.c0 * R * D + ch.row0 * D, ld: D, stride: [R * D, 0] },
    b: { offset: ch.c0 * P + d.off("unembed.W_U"), ld: V, stride: [P, 0] },
    c: { offset: ch.logits0 ?? 0, ld: V, stride: [ch.rows * V, 0] },
    bias: { offset: ch.c0 * P + d.off("unembed.b_U"), stride: [P, 0] },
  };
}

/** dW_U[c] [D, V] += hf[c]ᵀ [D, rows] · dlogits [rows, V]. */
export function unembedWeightGradSpec(d: NetDims, ch: Chunk): MatmulSpec {
  const { R, D, V, P } = d;
  return {
    label: "dW_U",
    M: D,
    N: V,
    K: ch.rows,
    transA: true,
    accumulate: true,
    batch: [ch.copies, 1],
    a: { offset: ch.c0 * R * D + ch.row0 * D, ld: D, stride: [R * D, 0] },
    b: { offset: ch.logits0 ?? 0, ld: V, stride: [ch.rows * V, 0] },
    c: { offset: ch.c0 * P + d.off("unembed.W_U"), ld: V, stride: [P, 0] },
  };
}

/** db_U[c] [V] += Σ_rows dlogits [rows, V]. */
export function unembedBiasGradSpec(d: NetDims, ch: Chunk): ColSumSpec {
  return {
    label: "db_U",
    M: ch.rows,
    N: d.V,
    accumulate: true,
    batch: [ch.copies, 1],
    src: { offset: ch.logits0 ?? 0, ld: d.V, stride: [ch.rows * d.V, 0] },
    dst: { offset: ch.c0 * d.P + d.off("unembed.b_U"), stride: [d.P, 0] },
  };
}

/** dhf[c][row0 …) [rows, D] = dlogits [rows, V] · W_U[c]ᵀ [V, D]. */
export function unembedInputGradSpec(d: NetDims, ch: Chunk): MatmulSpec {
  const { R, D, V, P } = d;
  return {
    label: "dhf",
    M: ch.rows,
    N: D,
    K: V,
    transB: true,
    batch: [ch.copies, 1],
    a: { offset: ch.logits0 ?? 0, ld: V, stride: [ch.rows * V, 0] },
    b: { offset: ch.c0 * P + d.off("unembed.W_U"), ld: V, stride: [P, 0] },
    c: { offset: ch.c0 * R * D + ch.row0 * D, ld: D, stride: [R * D, 0] },
  };
}
