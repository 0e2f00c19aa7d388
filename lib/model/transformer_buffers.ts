/**
 * The GPU buffers of the transformer's activations and backward scratch, one field per tensor with its shape
 * (f32; C copies, R = B·T rows per copy, D = d_model, H heads, E = d_head, V = d_vocab, L layers).
 */
import type { NetDims } from "./transformer_specs.ts";

/** Allocates one f32 buffer of `elements` elements (counted as activation memory). */
export type Alloc = (label: string, elements: number) => GPUBuffer;

export interface Activations {
  /** x[l]: [C, R, D] residual stream entering layer l; x[L] leaves the last layer. */
  x: GPUBuffer[];
  /** h[l]: [C, R, D] LN1(x[l]); x[l] itself without LN. */
  h: GPUBuffer[];
  /** qk[l]: [C, R, D] query/key input h[l] + W_pos[t] (shortformer); h[l] itself otherwise. */
  qk: GPUBuffer[];
  /** stats[l]: [C, R, 2] LN1 (mean, rstd); absent without LN. */
  stats: (GPUBuffer | undefined)[];
  /** q[l], k[l], v[l]: [C, H, B, T, E]. */
  q: GPUBuffer[];
  k: GPUBuffer[];
  v: GPUBuffer[];
  /** z[l]: [C, B, T, H, E] attention output, heads side by side. */
  z: GPUBuffer[];
  /** lse[l]: [C, H, B, T] log-sum-exp of each attention row (the backward recomputes the pattern from it). */
  lse: GPUBuffer[];
  /** hf: [C, R, D] LN_final(x[L]); x[L] itself without LN. */
  hf: GPUBuffer;
  /** statsF: [C, R, 2] final LN (mean, rstd); absent without LN. */
  statsF?: GPUBuffer;
  /** logits: [rows of the largest chunk, V], reused chunk by chunk (dlogits in place in the backward). */
  logits: GPUBuffer;
}

export interface Gradients {
  /** dhf: [C, R, D] gradient of the final LN output. */
  dhf: GPUBuffer;
  /** dresid: [C, R, D] residual-stream gradient, carried down through the layers (dhf itself without LN). */
  dresid: GPUBuffer;
  /** dh, dqk: [C, R, D] gradients of a block's LN1 output and query/key input (dqk is dh unless shortformer). */
  dh: GPUBuffer;
  dqk: GPUBuffer;
  /** dz: [C, R, H·E]. */
  dz: GPUBuffer;
  /** dq, dk, dv: [C, H, B, T, E]. */
  dq: GPUBuffer;
  dk: GPUBuffer;
  dv: GPUBuffer;
  /** attention backward scratch D_i = Σ_e dz·z: [C, H, B, T]. */
  dScratch: GPUBuffer;
}

/** The forward activations of `d`, with a logits buffer of `logitsRows` rows. */
export function allocActivations(alloc: Alloc, d: NetDims, logitsRows: number): Activations {
  const { C, R, D, H, E, L } = d;
  const perLayer = (n: number, f: (l: number) => GPUBuffer) => Array.from({ length: n }, (_, l) => f(l));
  const logits = alloc("logits", logitsRows * d.V);
  const x = perLayer(L + 1, (l) => alloc(`x${l}`, C * R * D));
  const h = perLayer(L, (l) => d.ln ? alloc(`h${l}`, C * R * D) : x[l]);
  const qk = perLayer(L, (l) => d.shortformer ? alloc(`qk${l}`, C * R * D) : h[l]);
  const stats = Array.from({ length: L }, (_, l) => d.ln ? alloc(`stats${l}`, C * R * 2) : undefined);
  const q = perLayer(L, (l) => alloc(`q${l}`, C * H * R * E));
  const k = perLayer(L, (l) => alloc(`k${l}`, C * H * R * E));
  const v = perLayer(L, (l) => alloc(`v${l}`, C * H * R * E));
  const z = perLayer(L, (l) => alloc(`z${l}`, C * R * H * E));
  const lse = perLayer(L, (l) => alloc(`lse${l}`, C * H * R));
  const hf = d.ln ? alloc("hf", C * R * D) : x[L];
  const statsF = d.ln ? alloc("statsF", C * R * 2) : undefined;
  return { x, h, qk, stats, q, k, v, z, lse, hf, statsF, logits };
}

/** The backward scratch of `d`. */
export function allocGradients(alloc: Alloc, d: NetDims): Gradients {
  const { C, R, D, H, E } = d;
  const dhf = alloc("dhf", C * R * D);
  const dresid = d.ln ? alloc("dresid", C * R * D) : dhf;
  const dh = alloc("dh", C * R * D);
  const dqk = d.shortformer ? alloc("dqk", C * R * D) : dh;
  const dz = alloc("dz", C * R * H * E);
  const dq = alloc("dq", C * H * R * E);
  const dk = alloc("dk", C * H * R * E);
  const dv = alloc("dv", C * H * R * E);
  const dScratch = alloc("attention D", C * H * R);
  return { dhf, dresid, dh, dqk, dz, dq, dk, dv, dScratch };
}
