/**
 * The attention-only transformer on the GPU: its forward pass, per-token losses and gradient as prepared
 * programs (lists of dispatches, clears and copies built once, replayed every step), batched over C copies of
 * the parameters (SGLD chains; C = 1 for training).
 *
 * The model (TransformerLens HookedTransformer, attn_only; see ../shared/notes/paper-model-and-sampler.md):
 *   x₀ = W_E[tok] (+ W_pos[t] for "standard" positions)
 *   per layer l: h = LN1(x_l) (or x_l without LN); qk_in = h + W_pos[t] ("shortformer") or h
 *                q, k = qk_in·W_{Q,K}[h] + b_{Q,K}[h];  v = h·W_V[h] + b_V[h]
 *                z = causal softmax(q·kᵀ/√E)·v;  x_{l+1} = x_l + Σ_h z[h]·W_O[h] + b_O
 *   logits = LN_final(x_L)·W_U + b_U; per-token loss of position t predicts token t+1 (the last has none).
 *
 * Buffers (f32 unless noted; R = B·T rows per copy):
 *   params, grads [C, P]   P = paramLayout(cfg).stride; copy c at c·P
 *   tokens        i32 [C or 1, B, T] (1 when every copy sees the same batch)
 *   x[l]          [C, R, D]   residual stream entering layer l (x[L] leaves the last layer)
 *   h[l], qk[l]   [C, R, D]   LN1 output and the query/key input (qk only for shortformer)
 *   stats[l]      [C, R, 2]   LN (mean, rstd)
 *   q, k, v[l]    [C, H, B, T, E];  z[l] [C, B, T, H, E];  lse[l] [C, H, B, T]
 *   hf            [C, R, D]   final LN output;  logits [rows of one chunk, V] (reused chunk by chunk)
 *   tokenLosses   [C, B, T];  meanLosses [slots, C] ring of per-copy mean losses
 * Backward scratch: dresid [C, R, D] (the residual gradient, carried down through the layers), dh and dqk
 * [C, R, D], dz [C, R, H·E], dq, dk, dv [C, H, B, T, E], attention scratch [C, H, B, T].
 *
 * The unembedding is chunked over rows so that a chunk's logits fit one storage binding
 * (maxStorageBufferBindingSize, 128 MiB on llvmpipe): the paper's config at B = 8 already needs 164 MB of
 * logits. Each chunk is unembedded, turned into dlogits in place by the fused cross entropy, and consumed by the
 * W_U, b_U and hf gradients before the next chunk overwrites it.
 */
import type { Gpu } from "../gpu/device.ts";
import { storageBuffer, upload } from "../gpu/buffers.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { clear, copy, type Op } from "../gpu/program.ts";
import { type ModelConfig, validateModelConfig } from "./config.ts";
import { type ParamLayout, paramLayout } from "./params.ts";
import { createAttentionBackward, createAttentionForward } from "./attention.ts";
import { checkTokens, createCrossEntropy, createMeanLoss } from "./cross_entropy.ts";
import { createAxpy } from "./axpy.ts";
import { requireInt } from "../gpu/checks.ts";
import { foldGrid } from "../gpu/grid.ts";
import { uniformStruct } from "../gpu/uniform.ts";
import { createColSum, createMatmul } from "./matmul.ts";
import type { MatmulVariant } from "./matmul_spec.ts";
import { createEmbedding, createEmbeddingBackward } from "./embedding.ts";
import { createLayerNorm, createLayerNormBackward } from "./layernorm.ts";

export interface TransformerShape {
  /** Parameter copies C (SGLD chains); 1 for training. */
  copies: number;
  /** Sequences per copy B. */
  batch: number;
  /** Positions per sequence T (2 ≤ T ≤ n_ctx). */
  seqLen: number;
  /** All copies read the same token batch (tokens [1, B, T]) instead of one batch each ([C, B, T]). */
  sharedTokens: boolean;
}

export interface TransformerOptions {
  /** Build the backward program and a gradient buffer. Default true. */
  withGrads?: boolean;
  /** Parameter buffer [C, P] to use (e.g. the sampler's chain state); allocated (zeros) when absent. */
  params?: GPUBuffer;
  /** Gradient buffer [C, P] to use; allocated when absent and withGrads. */
  grads?: GPUBuffer;
  /** Slots of the mean-loss ring (default 1). */
  lossSlots?: number;
  /** Matmul kernel family (default "auto": chosen by the adapter). */
  matmulVariant?: MatmulVariant;
  /** Rows per unembedding chunk (default: as many as one storage binding holds). */
  chunkRows?: number;
}

export interface Transformer {
  readonly cfg: ModelConfig;
  readonly layout: ParamLayout;
  readonly shape: TransformerShape;
  /** [C, P] */
  readonly params: GPUBuffer;
  /** [C, P]; absent without gradients. */
  readonly grads?: GPUBuffer;
  /** i32 [C or 1, B, T] */
  readonly tokens: GPUBuffer;
  /** [C, B, T] per-token losses of the last forward (position T−1 is 0). */
  readonly tokenLosses: GPUBuffer;
  /** [slots, C] mean losses written by `meanLoss(slot)`. */
  readonly meanLosses: GPUBuffer;
  /** Forward pass and per-token losses (logits untouched, no gradient). */
  readonly forward: readonly Op[];
  /** Forward pass, per-token losses and the gradient of each copy's mean loss into `grads` (overwritten). */
  readonly forwardBackward: readonly Op[];
  /** Writes each copy's mean loss over its B·(T−1) predictions into ring slot `slot`. */
  meanLoss(slot: number): readonly Dispatch[];
  /** Validates the token ids (naming `source`), uploads them and updates the embedding-gradient index. */
  setTokens(tokens: Int32Array, source?: string): void;
  /** Bytes of GPU memory held by the activations and scratch (not params or grads). */
  readonly activationBytes: number;
  destroy(): void;
}

/** Thrown for a shape or option the model cannot run with; names the field. */
export class TransformerError extends Error {
  constructor(readonly field: string, message: string) {
    super(`transformer: ${field}: ${message}`);
    this.name = "TransformerError";
  }
}

const F32 = 4;

/** Builds the GPU programs of `cfg` for `shape`. */
export async function createTransformer(
  gpu: Gpu,
  cfg: ModelConfig,
  shape: TransformerShape,
  opts: TransformerOptions = {},
): Promise<Transformer> {
  validateModelConfig(cfg);
  const C = requireInt("transformer copies", shape.copies, 1);
  const B = requireInt("transformer batch", shape.batch, 1);
  const T = requireInt("transformer seqLen", shape.seqLen, 2);
  if (T > cfg.n_ctx) throw new TransformerError("seqLen", `${T} exceeds the model's n_ctx ${cfg.n_ctx}`);
  const withGrads = opts.withGrads ?? true;
  const slots = requireInt("transformer lossSlots", opts.lossSlots ?? 1, 1);
  const variant = opts.matmulVariant ?? "auto";
  const layout = paramLayout(cfg);
  const P = layout.stride;
  const { d_model: D, n_heads: H, d_head: E, d_vocab: V, n_layers: L } = cfg;
  const R = B * T;
  const ln = cfg.normalization === "LN";
  const shortformer = cfg.positional === "shortformer";
  const off = (name: string) => layout.byName.get(name)!.offset;
  const tokenCopies = shape.sharedTokens ? 1 : C;
  const tokensCopyStride = shape.sharedTokens ? 0 : R;

  const maxBinding = gpu.device.limits.maxStorageBufferBindingSize;
  const owned: GPUBuffer[] = [];
  let activationBytes = 0;
  const buffer = (label: string, elements: number, scratch = true): GPUBuffer => {
    const bytes = elements * F32;
    if (bytes > maxBinding) {
      throw new TransformerError(
        label,
        `${bytes} bytes exceed one storage binding (${maxBinding} bytes on this adapter): ` +
          `lower the copies (${C}), the batch (${B}) or the sequence length (${T})`,
      );
    }
    const b = storageBuffer(gpu, `transformer ${label}`, bytes);
    owned.push(b);
    if (scratch) activationBytes += b.size;
    return b;
  };
  const checkGiven = (name: string, b: GPUBuffer | undefined): GPUBuffer | undefined => {
    if (b && b.size < C * P * F32) {
      throw new TransformerError(name, `buffer of ${b.size} bytes is smaller than C·P·4 = ${C * P * F32}`);
    }
    return b;
  };
  const params = checkGiven("params", opts.params) ?? buffer("params", C * P, false);
  const grads = withGrads ? (checkGiven("grads", opts.grads) ?? buffer("grads", C * P, false)) : undefined;
  const tokens = buffer("tokens", tokenCopies * R);
  const tokenLosses = buffer("tokenLosses", C * R);
  const meanLosses = buffer("meanLosses", slots * C);

  // Unembedding chunks: (first copy, copies, first row, rows) with the logits of one chunk in one binding.
  const maxRows = Math.floor(maxBinding / (V * F32));
  const chunkRows = Math.min(opts.chunkRows ?? maxRows, maxRows);
  if (chunkRows < 1) {
    throw new TransformerError("d_vocab", `one row of ${V} logits exceeds a storage binding`);
  }
  const chunks = unembedChunks(C, R, chunkRows);
  const logitsRows = Math.max(...chunks.map((ch) => ch.copies * ch.rows));
  const logits = buffer("logits", logitsRows * V);

  const x = Array.from({ length: L + 1 }, (_, l) => buffer(`x${l}`, C * R * D));
  const h = Array.from({ length: L }, (_, l) => ln ? buffer(`h${l}`, C * R * D) : x[l]);
  const qk = Array.from({ length: L }, (_, l) => shortformer ? buffer(`qk${l}`, C * R * D) : h[l]);
  const stats = Array.from({ length: L }, (_, l) => ln ? buffer(`stats${l}`, C * R * 2) : undefined);
  const q = Array.from({ length: L }, (_, l) => buffer(`q${l}`, C * H * R * E));
  const k = Array.from({ length: L }, (_, l) => buffer(`k${l}`, C * H * R * E));
  const v = Array.from({ length: L }, (_, l) => buffer(`v${l}`, C * H * R * E));
  const z = Array.from({ length: L }, (_, l) => buffer(`z${l}`, C * R * H * E));
  const lse = Array.from({ length: L }, (_, l) => buffer(`lse${l}`, C * H * R));
  const hf = ln ? buffer("hf", C * R * D) : x[L];
  const statsF = ln ? buffer("statsF", C * R * 2) : undefined;
  const dhf = withGrads ? buffer("dhf", C * R * D) : undefined;
  let embeddingTokens: ((tokens: Int32Array) => void) | undefined;

  const mm = (
    spec: Parameters<typeof createMatmul>[1],
    a: GPUBuffer,
    b: GPUBuffer,
    c: GPUBuffer,
    bias?: GPUBuffer,
  ) => createMatmul(gpu, { variant, ...spec }, a, b, c, bias);
  const attnShape = { C, B, T, H, E };
  const lnSpec = (w: string, b: string) => ({
    copies: C,
    rows: R,
    seqLen: T,
    dModel: D,
    paramStride: P,
    wOffset: off(w),
    bOffset: off(b),
    posOffset: shortformer ? off("pos_embed.W_pos") : undefined,
  });
  const embSpec = {
    copies: C,
    batch: B,
    seqLen: T,
    dModel: D,
    dVocab: V,
    paramStride: P,
    weOffset: off("embed.W_E"),
    posOffset: off("pos_embed.W_pos"),
    addPositions: !shortformer,
    tokensCopyStride,
  };

  // ---------------------------------------------------------------- forward
  const fwd: Op[] = [];
  fwd.push(...await createEmbedding(gpu, embSpec, params, tokens, x[0]));
  for (let l = 0; l < L; l++) {
    const pre = `blocks.${l}.`;
    if (ln) {
      fwd.push(
        ...await createLayerNorm(
          gpu,
          lnSpec(`${pre}ln1.w`, `${pre}ln1.b`),
          x[l],
          params,
          h[l],
          stats[l]!,
          shortformer ? qk[l] : undefined,
        ),
      );
    } else if (shortformer) {
      fwd.push(
        await addPositions(gpu, { C, R, T, D, P, posOffset: off("pos_embed.W_pos") }, x[l], params, qk[l]),
      );
    }
    // q, k, v [C, H, R, E] = in [C, R, D] · W [C][H, D, E] + b [C][H, E]: one dispatch per tensor, batch (c, h).
    for (const [name, input, out] of [["Q", qk[l], q[l]], ["K", qk[l], k[l]], ["V", h[l], v[l]]] as const) {
      fwd.push(
        ...await mm(
          {
            label: `L${l} ${name}`,
            M: R,
            N: E,
            K: D,
            batch: [C, H],
            a: { ld: D, stride: [R * D, 0] },
            b: { offset: off(`${pre}attn.W_${name}`), ld: E, stride: [P, D * E] },
            c: { ld: E, stride: [H * R * E, R * E] },
            bias: { offset: off(`${pre}attn.b_${name}`), stride: [P, E] },
          },
          input,
          params,
          out,
          params,
        ),
      );
    }
    fwd.push(
      ...await createAttentionForward(gpu, attnShape, {
        q: { buffer: q[l] },
        k: { buffer: k[l] },
        v: { buffer: v[l] },
        z: { buffer: z[l] },
        lse: { buffer: lse[l] },
      }),
    );
    // x_{l+1} = x_l + z·W_O + b_O (z viewed [R, H·E], W_O viewed [H·E, D]).
    fwd.push(copy(x[l], 0, x[l + 1], 0, C * R * D * F32));
    fwd.push(
      ...await mm(
        {
          label: `L${l} O`,
          M: R,
          N: D,
          K: H * E,
          batch: [C, 1],
          accumulate: true,
          a: { ld: H * E, stride: [R * H * E, 0] },
          b: { offset: off(`${pre}attn.W_O`), ld: D, stride: [P, 0] },
          c: { ld: D, stride: [R * D, 0] },
          bias: { offset: off(`${pre}attn.b_O`), stride: [P, 0] },
        },
        z[l],
        params,
        x[l + 1],
        params,
      ),
    );
  }
  if (ln) {
    fwd.push(
      ...await createLayerNorm(
        gpu,
        { ...lnSpec("ln_final.w", "ln_final.b"), posOffset: undefined },
        x[L],
        params,
        hf,
        statsF!,
      ),
    );
  }

  // ---------------------------------------------------------------- unembedding + loss, per chunk
  const unembed = async (ch: Chunk, mode: "forward" | "backward"): Promise<Op[]> => {
    const ops: Op[] = [];
    const rowOff = ch.row0 * D;
    // logits [copies, rows, V] = hf[c][row0 … row0+rows) · W_U[c] + b_U[c]
    ops.push(
      ...await mm(
        {
          label: "unembed",
          M: ch.rows,
          N: V,
          K: D,
          batch: [ch.copies, 1],
          a: { offset: ch.c0 * R * D + rowOff, ld: D, stride: [R * D, 0] },
          b: { offset: ch.c0 * P + off("unembed.W_U"), ld: V, stride: [P, 0] },
          c: { ld: V, stride: [ch.rows * V, 0] },
          bias: { offset: ch.c0 * P + off("unembed.b_U"), stride: [P, 0] },
        },
        hf,
        params,
        logits,
        params,
      ),
    );
    // A chunk spans whole copies or part of one copy, so its rows are contiguous in the global order only
    // when it is one copy or whole copies: one cross-entropy op per copy keeps it simple and exact.
    for (let i = 0; i < ch.copies; i++) {
      ops.push(
        ...await createCrossEntropy(
          gpu,
          {
            copies: C,
            batch: B,
            seqLen: T,
            vocab: V,
            mode,
            tokensCopyStride,
            logitsOffset: i * ch.rows * V,
            rowStart: (ch.c0 + i) * R + ch.row0,
            rowCount: ch.rows,
          },
          logits,
          tokens,
          tokenLosses,
        ),
      );
    }
    if (mode === "forward") return ops;
    // dW_U[c] += hf[c]ᵀ·dlogits;  db_U[c] += Σ_rows dlogits;  dhf[c] = dlogits·W_Uᵀ
    ops.push(
      ...await mm(
        {
          label: "dW_U",
          M: D,
          N: V,
          K: ch.rows,
          transA: true,
          accumulate: true,
          batch: [ch.copies, 1],
          a: { offset: ch.c0 * R * D + rowOff, ld: D, stride: [R * D, 0] },
          b: { ld: V, stride: [ch.rows * V, 0] },
          c: { offset: ch.c0 * P + off("unembed.W_U"), ld: V, stride: [P, 0] },
        },
        hf,
        logits,
        grads!,
      ),
      ...await createColSum(
        gpu,
        {
          label: "db_U",
          M: ch.rows,
          N: V,
          accumulate: true,
          batch: [ch.copies, 1],
          src: { ld: V, stride: [ch.rows * V, 0] },
          dst: { offset: ch.c0 * P + off("unembed.b_U"), stride: [P, 0] },
        },
        logits,
        grads!,
      ),
      ...await mm(
        {
          label: "dhf",
          M: ch.rows,
          N: D,
          K: V,
          transB: true,
          batch: [ch.copies, 1],
          a: { ld: V, stride: [ch.rows * V, 0] },
          b: { offset: ch.c0 * P + off("unembed.W_U"), ld: V, stride: [P, 0] },
          c: { offset: ch.c0 * R * D + rowOff, ld: D, stride: [R * D, 0] },
        },
        logits,
        params,
        dhf!,
      ),
    );
    return ops;
  };

  const forward: Op[] = [...fwd];
  for (const ch of chunks) forward.push(...await unembed(ch, "forward"));

  // ---------------------------------------------------------------- backward
  const forwardBackward: Op[] = [];
  if (dhf) {
    const dresid = ln ? buffer("dresid", C * R * D) : dhf;
    const dh = buffer("dh", C * R * D);
    const dqk = shortformer ? buffer("dqk", C * R * D) : dh;
    const dz = buffer("dz", C * R * H * E);
    const dq = buffer("dq", C * H * R * E);
    const dk = buffer("dk", C * H * R * E);
    const dv = buffer("dv", C * H * R * E);
    const dScratch = buffer("attention D", C * H * R);
    const embBack = await createEmbeddingBackward(gpu, embSpec, dresid, grads!);
    embeddingTokens = embBack.setTokens;

    const bwd: Op[] = [clear(grads!, 0, C * P * F32)];
    for (const ch of chunks) bwd.push(...await unembed(ch, "backward"));
    if (ln) {
      bwd.push(clear(dresid, 0, C * R * D * F32));
      bwd.push(
        ...await createLayerNormBackward(
          gpu,
          { ...lnSpec("ln_final.w", "ln_final.b"), posOffset: undefined },
          dhf,
          x[L],
          statsF!,
          params,
          dresid,
          grads!,
        ),
      );
    }
    for (let l = L - 1; l >= 0; l--) {
      const pre = `blocks.${l}.`;
      // The residual passes dresid through; the block's output projection adds b_O and z·W_O.
      bwd.push(
        ...await createColSum(
          gpu,
          {
            label: `L${l} db_O`,
            M: R,
            N: D,
            accumulate: true,
            batch: [C, 1],
            src: { ld: D, stride: [R * D, 0] },
            dst: { offset: off(`${pre}attn.b_O`), stride: [P, 0] },
          },
          dresid,
          grads!,
        ),
        ...await mm(
          {
            label: `L${l} dW_O`,
            M: H * E,
            N: D,
            K: R,
            transA: true,
            accumulate: true,
            batch: [C, 1],
            a: { ld: H * E, stride: [R * H * E, 0] },
            b: { ld: D, stride: [R * D, 0] },
            c: { offset: off(`${pre}attn.W_O`), ld: D, stride: [P, 0] },
          },
          z[l],
          dresid,
          grads!,
        ),
        ...await mm(
          {
            label: `L${l} dz`,
            M: R,
            N: H * E,
            K: D,
            transB: true,
            batch: [C, 1],
            a: { ld: D, stride: [R * D, 0] },
            b: { offset: off(`${pre}attn.W_O`), ld: D, stride: [P, 0] },
            c: { ld: H * E, stride: [R * H * E, 0] },
          },
          dresid,
          params,
          dz,
        ),
        ...await createAttentionBackward(gpu, attnShape, {
          q: { buffer: q[l] },
          k: { buffer: k[l] },
          v: { buffer: v[l] },
          z: { buffer: z[l] },
          lse: { buffer: lse[l] },
          dz: { buffer: dz },
          dq: { buffer: dq },
          dk: { buffer: dk },
          dv: { buffer: dv },
          d: { buffer: dScratch },
        }),
      );
      for (const [name, input, grad] of [["Q", qk[l], dq], ["K", qk[l], dk], ["V", h[l], dv]] as const) {
        // dW[c, h] += inᵀ·d[c, h];  db[c, h] += Σ_r d[c, h]
        bwd.push(
          ...await mm(
            {
              label: `L${l} dW_${name}`,
              M: D,
              N: E,
              K: R,
              transA: true,
              accumulate: true,
              batch: [C, H],
              a: { ld: D, stride: [R * D, 0] },
              b: { ld: E, stride: [H * R * E, R * E] },
              c: { offset: off(`${pre}attn.W_${name}`), ld: E, stride: [P, D * E] },
            },
            input,
            grad,
            grads!,
          ),
          ...await createColSum(
            gpu,
            {
              label: `L${l} db_${name}`,
              M: R,
              N: E,
              accumulate: true,
              batch: [C, H],
              src: { ld: E, stride: [H * R * E, R * E] },
              dst: { offset: off(`${pre}attn.b_${name}`), stride: [P, E] },
            },
            grad,
            grads!,
          ),
        );
      }
      // Input gradients: dqk = Σ_h dq[h]·W_Q[h]ᵀ + dk[h]·W_K[h]ᵀ and dh = Σ_h dv[h]·W_V[h]ᵀ (dqk is dh itself
      // without shortformer positions). Heads are summed by accumulating dispatches, one per head.
      let first = true;
      for (const [name, grad, dst] of [["Q", dq, dqk], ["K", dk, dqk], ["V", dv, dh]] as const) {
        if (name === "V" && dqk !== dh) first = true;
        for (let hh = 0; hh < H; hh++) {
          bwd.push(
            ...await mm(
              {
                label: `L${l} d${name === "V" ? "h" : "qk"} head ${hh}`,
                M: R,
                N: D,
                K: E,
                transB: true,
                accumulate: !first,
                batch: [C, 1],
                a: { offset: hh * R * E, ld: E, stride: [H * R * E, 0] },
                b: { offset: off(`${pre}attn.W_${name}`) + hh * D * E, ld: E, stride: [P, 0] },
                c: { ld: D, stride: [R * D, 0] },
              },
              grad,
              params,
              dst,
            ),
          );
          first = false;
        }
      }
      if (shortformer) {
        // dW_pos[t] += Σ_b dqk[b, t]: a column sum over the B sequences of a [B, T·D] matrix.
        bwd.push(
          ...await createColSum(
            gpu,
            {
              label: `L${l} dW_pos`,
              M: B,
              N: T * D,
              accumulate: true,
              batch: [C, 1],
              src: { ld: T * D, stride: [R * D, 0] },
              dst: { offset: off("pos_embed.W_pos"), stride: [P, 0] },
            },
            dqk,
            grads!,
          ),
        );
      }
      if (ln) {
        bwd.push(
          ...await createLayerNormBackward(
            gpu,
            lnSpec(`${pre}ln1.w`, `${pre}ln1.b`),
            dh,
            x[l],
            stats[l]!,
            params,
            dresid,
            grads!,
            shortformer ? dqk : undefined,
          ),
        );
      } else {
        bwd.push(...await createAxpy(gpu, { n: C * R * D, a: 1 }, dh, dresid));
        if (shortformer) bwd.push(...await createAxpy(gpu, { n: C * R * D, a: 1 }, dqk, dresid));
      }
    }
    if (!shortformer) {
      bwd.push(
        ...await createColSum(
          gpu,
          {
            label: "dW_pos",
            M: B,
            N: T * D,
            accumulate: true,
            batch: [C, 1],
            src: { ld: T * D, stride: [R * D, 0] },
            dst: { offset: off("pos_embed.W_pos"), stride: [P, 0] },
          },
          dresid,
          grads!,
        ),
      );
    }
    bwd.push(...embBack.dispatches);
    forwardBackward.push(...fwd, ...bwd);
  }

  const meanLossOps = new Map<number, Dispatch[]>();
  for (let s = 0; s < slots; s++) {
    meanLossOps.set(
      s,
      await createMeanLoss(
        gpu,
        { copies: C, batch: B, seqLen: T, outOffset: s * C },
        tokenLosses,
        meanLosses,
      ),
    );
  }

  return {
    cfg,
    layout,
    shape: { copies: C, batch: B, seqLen: T, sharedTokens: shape.sharedTokens },
    params,
    grads,
    tokens,
    tokenLosses,
    meanLosses,
    forward,
    forwardBackward,
    meanLoss(slot: number) {
      const ops = meanLossOps.get(slot);
      if (!ops) throw new TransformerError("slot", `${slot} is not in [0, ${slots})`);
      return ops;
    },
    setTokens(ids: Int32Array, source = "tokens") {
      if (ids.length !== tokenCopies * R) {
        throw new TransformerError(
          source,
          `expected ${tokenCopies}·${B}·${T} = ${tokenCopies * R} ids, got ${ids.length}`,
        );
      }
      checkTokens(ids, V, source);
      upload(gpu, tokens, ids);
      embeddingTokens?.(ids);
    },
    activationBytes,
    destroy() {
      for (const b of owned) b.destroy();
    },
  };
}

interface Chunk {
  /** First copy and number of copies (several whole copies, or one copy's row range). */
  c0: number;
  copies: number;
  /** First row within each copy and rows per copy. */
  row0: number;
  rows: number;
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

interface AddPositionsSpec {
  C: number;
  R: number;
  T: number;
  D: number;
  P: number;
  posOffset: number;
}

/** y = x + W_pos[t] (kernels/add_positions.wgsl): shortformer query/key input of a model without LN. */
async function addPositions(
  gpu: Gpu,
  s: AddPositionsSpec,
  x: GPUBuffer,
  params: GPUBuffer,
  y: GPUBuffer,
): Promise<Dispatch> {
  const n = s.C * s.R * s.D;
  const kernel = await loadKernel(gpu, "add_positions");
  const u = uniformStruct(gpu, "add_positions params", [
    ["u32", n],
    ["u32", s.R * s.D],
    ["u32", s.T * s.D],
    ["u32", 0],
    ["u32", 0],
    ["u32", s.posOffset],
    ["u32", s.P],
  ]);
  return prepare(kernel, [u, x, params, y], foldGrid(Math.ceil(n / 64), "add_positions"), "add_positions");
}
