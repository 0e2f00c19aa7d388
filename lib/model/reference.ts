/**
 * A plain TypeScript, float64 implementation of the model's forward and backward pass. It is the ground truth
 * the GPU kernels are tested against (gradient checks against central finite differences run through it) and
 * the "plain TypeScript" baseline of the training-step benchmark. Written for clarity, not speed.
 *
 * Shapes: tokens [B, T]; params in the layout of lib/model/params.ts (one copy). The loss is the mean
 * next-token cross-entropy over the B·(T−1) predictions (position t predicts token t+1).
 */
import type { ModelConfig } from "./config.ts";
import { type ParamLayout, paramLayout, tensor } from "./params.ts";

const LN_EPS = 1e-5;

export interface ReferenceResult {
  /** Mean loss over B·(T−1) predictions. */
  loss: number;
  /** Per-token losses [B, T]; position T−1 has no target and is 0. */
  tokenLosses: Float64Array;
  /** Gradient of the mean loss, in the parameter layout (present when requested). */
  grads?: Float64Array;
  /** Attention probabilities per layer, [H, B, T, T] each (row i: query position i, zero past i). */
  patterns: Float64Array[];
}

interface LnCache {
  xhat: Float64Array; // [R, D]
  rstd: Float64Array; // [R]
}

function layerNorm(
  x: Float64Array,
  R: number,
  D: number,
  w: Float64Array,
  b: Float64Array,
): { y: Float64Array; cache: LnCache } {
  const y = new Float64Array(R * D);
  const xhat = new Float64Array(R * D);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let mean = 0;
    for (let d = 0; d < D; d++) mean += x[r * D + d];
    mean /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[r * D + d] - mean) ** 2;
    v /= D; // biased variance, as TransformerLens
    const rs = 1 / Math.sqrt(v + LN_EPS);
    rstd[r] = rs;
    for (let d = 0; d < D; d++) {
      const xh = (x[r * D + d] - mean) * rs;
      xhat[r * D + d] = xh;
      y[r * D + d] = xh * w[d] + b[d];
    }
  }
  return { y, cache: { xhat, rstd } };
}

/** dx += LN backward; dw, db accumulated. */
function layerNormBackward(
  dy: Float64Array,
  cache: LnCache,
  R: number,
  D: number,
  w: Float64Array,
  dx: Float64Array,
  dw: Float64Array,
  db: Float64Array,
): void {
  const { xhat, rstd } = cache;
  for (let r = 0; r < R; r++) {
    let sumG = 0;
    let sumGX = 0;
    for (let d = 0; d < D; d++) {
      const g = dy[r * D + d] * w[d];
      sumG += g;
      sumGX += g * xhat[r * D + d];
      dw[d] += dy[r * D + d] * xhat[r * D + d];
      db[d] += dy[r * D + d];
    }
    for (let d = 0; d < D; d++) {
      const g = dy[r * D + d] * w[d];
      dx[r * D + d] += rstd[r] * (g - sumG / D - xhat[r * D + d] * sumGX / D);
    }
  }
}

/** Views of one copy's parameters (subarrays, no copies). */
function views(layout: ParamLayout, p: Float64Array): (name: string) => Float64Array {
  return (name) => {
    const t = tensor(layout, name);
    return p.subarray(t.offset, t.offset + t.size);
  };
}

/**
 * Forward (and, with `withGrads`, backward) pass of the attention-only transformer in float64.
 * Throws naming the position if a token id is out of range.
 */
export function referenceForwardBackward(
  cfg: ModelConfig,
  params: Float64Array,
  tokens: Int32Array,
  B: number,
  T: number,
  withGrads = true,
): ReferenceResult {
  const layout = paramLayout(cfg);
  if (params.length < layout.stride) {
    throw new RangeError(`params: expected ${layout.stride} elements, got ${params.length}`);
  }
  if (tokens.length !== B * T) {
    throw new RangeError(`tokens: expected B·T = ${B * T} ids, got ${tokens.length}`);
  }
  if (T > cfg.n_ctx) throw new RangeError(`sequence length ${T} exceeds n_ctx ${cfg.n_ctx}`);
  const { d_model: D, n_heads: H, d_head: E, d_vocab: V, n_layers: L } = cfg;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < 0 || tokens[i] >= V) {
      throw new RangeError(`token id ${tokens[i]} at position ${i} is not in [0, ${V})`);
    }
  }
  const ln = cfg.normalization === "LN";
  const shortformer = cfg.positional === "shortformer";
  const P = views(layout, params);
  const R = B * T;
  const scale = 1 / Math.sqrt(E);

  // ---- forward ----
  const WE = P("embed.W_E");
  const Wpos = P("pos_embed.W_pos");
  let x: Float64Array = new Float64Array(R * D);
  for (let r = 0; r < R; r++) {
    const t = r % T;
    for (let d = 0; d < D; d++) x[r * D + d] = WE[tokens[r] * D + d] + (shortformer ? 0 : Wpos[t * D + d]);
  }
  interface LayerCache {
    xIn: Float64Array;
    h: Float64Array;
    qkIn: Float64Array;
    ln?: LnCache;
    q: Float64Array; // [H, R, E]
    k: Float64Array;
    v: Float64Array;
    p: Float64Array; // [H, B, T, T]
    z: Float64Array; // [R, H, E]
  }
  const caches: LayerCache[] = [];
  for (let l = 0; l < L; l++) {
    const pre = `blocks.${l}`;
    let h: Float64Array = x;
    let lnCache: LnCache | undefined;
    if (ln) {
      const out = layerNorm(x, R, D, P(`${pre}.ln1.w`), P(`${pre}.ln1.b`));
      h = out.y;
      lnCache = out.cache;
    }
    let qkIn: Float64Array = h;
    if (shortformer) {
      qkIn = new Float64Array(R * D);
      for (let r = 0; r < R; r++) {
        const t = r % T;
        for (let d = 0; d < D; d++) qkIn[r * D + d] = h[r * D + d] + Wpos[t * D + d];
      }
    }
    const WQ = P(`${pre}.attn.W_Q`),
      WK = P(`${pre}.attn.W_K`),
      WV = P(`${pre}.attn.W_V`),
      WO = P(`${pre}.attn.W_O`);
    const bQ = P(`${pre}.attn.b_Q`),
      bK = P(`${pre}.attn.b_K`),
      bV = P(`${pre}.attn.b_V`),
      bO = P(`${pre}.attn.b_O`);
    const q = new Float64Array(H * R * E), k = new Float64Array(H * R * E), v = new Float64Array(H * R * E);
    for (let hh = 0; hh < H; hh++) {
      for (let r = 0; r < R; r++) {
        for (let e = 0; e < E; e++) {
          let sq = bQ[hh * E + e], sk = bK[hh * E + e], sv = bV[hh * E + e];
          for (let d = 0; d < D; d++) {
            const w = (hh * D + d) * E + e;
            sq += qkIn[r * D + d] * WQ[w];
            sk += qkIn[r * D + d] * WK[w];
            sv += h[r * D + d] * WV[w];
          }
          q[(hh * R + r) * E + e] = sq;
          k[(hh * R + r) * E + e] = sk;
          v[(hh * R + r) * E + e] = sv;
        }
      }
    }
    const p = new Float64Array(H * B * T * T);
    const z = new Float64Array(R * H * E);
    for (let hh = 0; hh < H; hh++) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < T; i++) {
          const qi = (hh * R + b * T + i) * E;
          const prow = ((hh * B + b) * T + i) * T;
          let max = -Infinity;
          for (let j = 0; j <= i; j++) {
            const kj = (hh * R + b * T + j) * E;
            let s = 0;
            for (let e = 0; e < E; e++) s += q[qi + e] * k[kj + e];
            p[prow + j] = s * scale;
            if (p[prow + j] > max) max = p[prow + j];
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) sum += p[prow + j] = Math.exp(p[prow + j] - max);
          for (let j = 0; j <= i; j++) p[prow + j] /= sum;
          const zi = ((b * T + i) * H + hh) * E;
          for (let j = 0; j <= i; j++) {
            const vj = (hh * R + b * T + j) * E;
            for (let e = 0; e < E; e++) z[zi + e] += p[prow + j] * v[vj + e];
          }
        }
      }
    }
    const xOut = new Float64Array(x);
    for (let r = 0; r < R; r++) {
      for (let d = 0; d < D; d++) {
        let s = bO[d];
        for (let he = 0; he < H * E; he++) s += z[r * H * E + he] * WO[he * D + d];
        xOut[r * D + d] += s;
      }
    }
    caches.push({ xIn: x, h, qkIn, ln: lnCache, q, k, v, p, z });
    x = xOut;
  }
  let hf: Float64Array = x;
  let lnfCache: LnCache | undefined;
  if (ln) {
    const out = layerNorm(x, R, D, P("ln_final.w"), P("ln_final.b"));
    hf = out.y;
    lnfCache = out.cache;
  }
  const WU = P("unembed.W_U"), bU = P("unembed.b_U");
  const nPred = B * (T - 1);
  const tokenLosses = new Float64Array(R);
  const dlogits = withGrads ? new Float64Array(R * V) : undefined;
  const logits = new Float64Array(V);
  let loss = 0;
  for (let r = 0; r < R; r++) {
    if (r % T === T - 1) continue;
    for (let u = 0; u < V; u++) logits[u] = bU[u];
    for (let d = 0; d < D; d++) {
      const hv = hf[r * D + d];
      for (let u = 0; u < V; u++) logits[u] += hv * WU[d * V + u];
    }
    let max = -Infinity;
    for (let u = 0; u < V; u++) if (logits[u] > max) max = logits[u];
    let sum = 0;
    for (let u = 0; u < V; u++) sum += Math.exp(logits[u] - max);
    const target = tokens[r + 1];
    const lse = max + Math.log(sum);
    tokenLosses[r] = lse - logits[target];
    loss += tokenLosses[r];
    if (dlogits) {
      for (let u = 0; u < V; u++) dlogits[r * V + u] = Math.exp(logits[u] - lse) / nPred;
      dlogits[r * V + target] -= 1 / nPred;
    }
  }
  loss /= nPred;
  const patterns = caches.map((c) => c.p);
  if (!dlogits) return { loss, tokenLosses, patterns };

  // ---- backward ----
  const grads = new Float64Array(layout.stride);
  const G = views(layout, grads);
  const dWU = G("unembed.W_U"), dbU = G("unembed.b_U");
  const dhf = new Float64Array(R * D);
  for (let r = 0; r < R; r++) {
    for (let u = 0; u < V; u++) {
      const g = dlogits[r * V + u];
      if (g === 0) continue;
      dbU[u] += g;
      for (let d = 0; d < D; d++) {
        dWU[d * V + u] += hf[r * D + d] * g;
        dhf[r * D + d] += g * WU[d * V + u];
      }
    }
  }
  let dx: Float64Array = dhf;
  if (ln) {
    dx = new Float64Array(R * D);
    layerNormBackward(dhf, lnfCache!, R, D, P("ln_final.w"), dx, G("ln_final.w"), G("ln_final.b"));
  }
  const dWpos = G("pos_embed.W_pos");
  for (let l = L - 1; l >= 0; l--) {
    const pre = `blocks.${l}`;
    const c = caches[l];
    const WQ = P(`${pre}.attn.W_Q`),
      WK = P(`${pre}.attn.W_K`),
      WV = P(`${pre}.attn.W_V`),
      WO = P(`${pre}.attn.W_O`);
    const dWQ = G(`${pre}.attn.W_Q`),
      dWK = G(`${pre}.attn.W_K`),
      dWV = G(`${pre}.attn.W_V`),
      dWO = G(`${pre}.attn.W_O`);
    const dbQ = G(`${pre}.attn.b_Q`),
      dbK = G(`${pre}.attn.b_K`),
      dbV = G(`${pre}.attn.b_V`),
      dbO = G(`${pre}.attn.b_O`);
    // x_out = x_in + z·W_O + b_O: the residual passes dx through unchanged.
    const dz = new Float64Array(R * H * E);
    for (let r = 0; r < R; r++) {
      for (let d = 0; d < D; d++) {
        const g = dx[r * D + d];
        dbO[d] += g;
        for (let he = 0; he < H * E; he++) {
          dWO[he * D + d] += c.z[r * H * E + he] * g;
          dz[r * H * E + he] += g * WO[he * D + d];
        }
      }
    }
    const dq = new Float64Array(H * R * E),
      dk = new Float64Array(H * R * E),
      dv = new Float64Array(H * R * E);
    const dp = new Float64Array(T);
    for (let hh = 0; hh < H; hh++) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < T; i++) {
          const prow = ((hh * B + b) * T + i) * T;
          const zi = ((b * T + i) * H + hh) * E;
          let dot = 0;
          for (let j = 0; j <= i; j++) {
            const vj = (hh * R + b * T + j) * E;
            let s = 0;
            for (let e = 0; e < E; e++) {
              s += dz[zi + e] * c.v[vj + e];
              dv[vj + e] += c.p[prow + j] * dz[zi + e];
            }
            dp[j] = s;
            dot += s * c.p[prow + j];
          }
          const qi = (hh * R + b * T + i) * E;
          for (let j = 0; j <= i; j++) {
            const ds = c.p[prow + j] * (dp[j] - dot) * scale;
            const kj = (hh * R + b * T + j) * E;
            for (let e = 0; e < E; e++) {
              dq[qi + e] += ds * c.k[kj + e];
              dk[kj + e] += ds * c.q[qi + e];
            }
          }
        }
      }
    }
    const dqkIn = new Float64Array(R * D);
    const dh = new Float64Array(R * D);
    for (let hh = 0; hh < H; hh++) {
      for (let r = 0; r < R; r++) {
        for (let e = 0; e < E; e++) {
          const gq = dq[(hh * R + r) * E + e], gk = dk[(hh * R + r) * E + e], gv = dv[(hh * R + r) * E + e];
          dbQ[hh * E + e] += gq;
          dbK[hh * E + e] += gk;
          dbV[hh * E + e] += gv;
          for (let d = 0; d < D; d++) {
            const w = (hh * D + d) * E + e;
            dWQ[w] += c.qkIn[r * D + d] * gq;
            dWK[w] += c.qkIn[r * D + d] * gk;
            dWV[w] += c.h[r * D + d] * gv;
            dqkIn[r * D + d] += gq * WQ[w] + gk * WK[w];
            dh[r * D + d] += gv * WV[w];
          }
        }
      }
    }
    if (shortformer) {
      for (let r = 0; r < R; r++) {
        const t = r % T;
        for (let d = 0; d < D; d++) {
          dWpos[t * D + d] += dqkIn[r * D + d];
          dh[r * D + d] += dqkIn[r * D + d];
        }
      }
    } else {
      for (let i = 0; i < R * D; i++) dh[i] += dqkIn[i];
    }
    const dxIn = new Float64Array(dx); // residual path
    if (ln) {
      layerNormBackward(dh, c.ln!, R, D, P(`${pre}.ln1.w`), dxIn, G(`${pre}.ln1.w`), G(`${pre}.ln1.b`));
    } else {
      for (let i = 0; i < R * D; i++) dxIn[i] += dh[i];
    }
    dx = dxIn;
  }
  const dWE = G("embed.W_E");
  for (let r = 0; r < R; r++) {
    const t = r % T;
    for (let d = 0; d < D; d++) {
      dWE[tokens[r] * D + d] += dx[r * D + d];
      if (!shortformer) dWpos[t * D + d] += dx[r * D + d];
    }
  }
  return { loss, tokenLosses, grads, patterns };
}
