/**
 * The matmul products of one SGLD copy-step of a model at batch B × T (issue 12 item 6, docs/cpu-path.md): the
 * shapes chi's transformer multiplies per copy, with how often each occurs, so that per-shape GFLOP/s of any
 * backend (llvmpipe's "cpu" WGSL family, OpenBLAS through FFI, PyTorch) turns into "seconds of matmul per
 * copy-step": the floor that backend puts under the SGLD step. Attention's per-sequence, per-head products
 * (QKᵀ, PV and their four backward products) are listed as their own small shapes.
 */
import type { ModelConfig } from "../model/config.ts";

export interface Product {
  name: string;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Occurrences per copy-step. */
  count: number;
}

/** The products of one copy's forward + backward over B sequences of T tokens (a minibatch step). */
export function sgldProducts(cfg: ModelConfig, B: number, T: number): Product[] {
  const { d_model: D, n_heads: H, d_head: E, d_vocab: V, n_layers: L } = cfg;
  const R = B * T, HE = H * E;
  return [
    { name: "QKV      X·W", M: R, N: 3 * HE, K: D, count: L },
    { name: "out      Z·W_O", M: R, N: D, K: HE, count: L },
    { name: "unembed  X·W_U", M: R, N: V, K: D, count: 1 },
    { name: "dX unemb dY·W_Uᵀ", M: R, N: D, K: V, transB: true, count: 1 },
    { name: "dW unemb Xᵀ·dY", M: D, N: V, K: R, transA: true, count: 1 },
    { name: "dX QKV   dY·Wᵀ", M: R, N: D, K: 3 * HE, transB: true, count: L },
    { name: "dW QKV   Xᵀ·dY", M: D, N: 3 * HE, K: R, transA: true, count: L },
    { name: "dX out   dY·W_Oᵀ", M: R, N: HE, K: D, transB: true, count: L },
    { name: "dW out   Zᵀ·dY", M: HE, N: D, K: R, transA: true, count: L },
    // Per sequence and head: S = QKᵀ and O = PV forward; dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q.
    { name: "attn     Q·Kᵀ (per seq·head)", M: T, N: T, K: E, transB: true, count: 2 * L * B * H },
    { name: "attn     P·V (per seq·head)", M: T, N: E, K: T, count: 4 * L * B * H },
  ];
}

/** FLOPs of a product list: Σ count · 2MNK. */
export function productFlops(ps: readonly Product[]): number {
  return ps.reduce((s, p) => s + p.count * 2 * p.M * p.N * p.K, 0);
}
