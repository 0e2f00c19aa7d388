/**
 * The transformer's passes as prepared GPU ops, in network order, each forward beside its backward (as in
 * llm.c's train_gpt2.c): embedding, block l (LN1 → attention → residual), unembedding (final LN → W_U →
 * cross entropy). createTransformer (transformer.ts) strings them together:
 *   forward         = embedForward, blockForward(0 … L−1), unembedForward("loss")
 *   forwardBackward = clear grads, embedForward, blockForward(0 … L−1), unembedForward("grad"),
 *                     then unembedBackward (copies that move), blockBackward(L−1 … 0) over runs of copies
 *                     with the same role in the block (a copy stops at its lowest moving layer), embedBackward
 *                     (copies that move everything)
 * Shapes are per tensor (C copies, R = B·T rows, D = d_model, H heads, E = d_head, V = d_vocab); the op specs
 * (offsets, strides) are in transformer_specs.ts, shared with the float64 reference.
 *
 * A Net may stand for copies [first, first + C) of buffers laid out for more copies (onCopies): every op then
 * runs on those copies only. That is how a copy restricted to one head gets only the backward it needs.
 */
import type { Gpu } from "../gpu/device.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { clear, copy, type Op } from "../gpu/program.ts";
import { foldGrid } from "../gpu/grid.ts";
import { uniformStruct } from "../gpu/uniform.ts";
import { createAxpy } from "./axpy.ts";
import { createAttentionBackward, createAttentionForward } from "./attention.ts";
import { createCrossEntropy } from "./cross_entropy.ts";
import { createEmbedding, type EmbeddingBackward } from "./embedding.ts";
import { createLayerNorm, createLayerNormBackward } from "./layernorm.ts";
import { createColSum, createMatmul } from "./matmul.ts";
import { runsByKey } from "./restriction.ts";
import {
  colSumOnCopies,
  type ColSumSpec,
  matmulOnCopies,
  type MatmulSpec,
  type MatmulVariant,
} from "./matmul_spec.ts";
import type { Activations, Gradients } from "./transformer_buffers.ts";
import {
  type Chunk,
  embedSpec,
  lnSpec,
  type NetDims,
  outBiasGradSpec,
  outInputGradSpec,
  outSpec,
  outWeightGradSpec,
  posGradSpec,
  qkvBiasGradSpec,
  qkvInputGradSpec,
  qkvSpec,
  qkvWeightGradSpec,
  unembedBiasGradSpec,
  unembedInputGradSpec,
  unembedSpec,
  unembedWeightGradSpec,
} from "./transformer_specs.ts";

/** Everything a pass reads: sizes, buffers and the matmul family. */
export interface Net {
  gpu: Gpu;
  d: NetDims;
  variant: MatmulVariant;
  /** Elements between the tokens of consecutive copies (0 with shared tokens). */
  tokensCopyStride: number;
  /** params, grads [C, P]; tokens i32 [C or 1, B, T]; tokenLosses [C, B, T]. */
  params: GPUBuffer;
  grads?: GPUBuffer;
  tokens: GPUBuffer;
  tokenLosses: GPUBuffer;
  acts: Activations;
  /** Backward scratch; present with grads. */
  g?: Gradients;
  chunks: Chunk[];
  /** The ops run on copies [first, first + d.C) of the buffers (0 for the whole batch; see onCopies). */
  first: number;
}

/** What block l's backward computes for a group of copies (blockRole in transformer.ts chooses it). */
export type BlockRole =
  /** Every weight gradient of the block and the gradient of its input x[l]. */
  | { kind: "all" }
  /** Only the gradient of x[l]: the copies move weights below this block, none in it. */
  | { kind: "through" }
  /** Only head `head`'s weight gradients, and nothing below: the copies move that head alone. */
  | { kind: "head"; head: number };

/** The same network restricted to copies [first, first + count) of `n`'s buffers. */
export function onCopies(n: Net, first: number, count: number): Net {
  return { ...n, d: { ...n.d, C: count }, first: n.first + first };
}

const F32 = 4;
const QKV = ["Q", "K", "V"] as const;

function mm(n: Net, spec: MatmulSpec, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, bias?: GPUBuffer) {
  return createMatmul(n.gpu, { variant: n.variant, ...matmulOnCopies(spec, n.first, n.d.C) }, a, b, c, bias);
}

function colSum(n: Net, spec: ColSumSpec, src: GPUBuffer, dst: GPUBuffer) {
  return createColSum(n.gpu, colSumOnCopies(spec, n.first, n.d.C), src, dst);
}

/** Element offsets of the Net's first copy in the [C, R, D] activations and the [C, H, B, T] attention rows. */
function firstRows(n: Net) {
  const { R, D, H, E } = n.d;
  return { rd: n.first * R * D, hre: n.first * H * R * E, hr: n.first * H * R };
}

// ---------------------------------------------------------------- embedding

/** x[0] [C, R, D] = W_E[tokens] (+ W_pos[t] for "standard" positions). */
export async function embedForward(n: Net): Promise<Op[]> {
  const spec = { ...embedSpec(n.d, n.tokensCopyStride), firstCopy: n.first };
  return await createEmbedding(n.gpu, spec, n.params, n.tokens, n.acts.x[0]);
}

/** dW_pos += Σ_b dresid (standard positions; shortformer adds W_pos per block); dW_E += scatter of dresid. */
export async function embedBackward(n: Net, scatter: EmbeddingBackward): Promise<Op[]> {
  const ops: Op[] = [];
  if (!n.d.shortformer) {
    ops.push(...await colSum(n, posGradSpec(n.d, "dW_pos"), n.g!.dresid, n.grads!));
  }
  return [...ops, ...scatter.dispatches];
}

// ---------------------------------------------------------------- block l

/** x[l+1] = x[l] + Σ_h attn_h(LN1(x[l])) · W_O[h] + b_O. */
export async function blockForward(n: Net, l: number): Promise<Op[]> {
  const { d, acts: a, params } = n;
  const at = firstRows(n);
  return [
    ...await ln1Forward(n, l), // h[l], qk[l]: [C, R, D]
    // q, k, v [C, H, R, E] from qk (queries, keys) and h (values)
    ...await mm(n, qkvSpec(d, l, "Q"), a.qk[l], params, a.q[l], params),
    ...await mm(n, qkvSpec(d, l, "K"), a.qk[l], params, a.k[l], params),
    ...await mm(n, qkvSpec(d, l, "V"), a.h[l], params, a.v[l], params),
    // z [C, B, T, H, E] = causal softmax(q·kᵀ/√E)·v;  lse [C, H, B, T]
    ...await createAttentionForward(n.gpu, { C: d.C, B: d.B, T: d.T, H: d.H, E: d.E }, {
      q: { buffer: a.q[l], offset: at.hre },
      k: { buffer: a.k[l], offset: at.hre },
      v: { buffer: a.v[l], offset: at.hre },
      z: { buffer: a.z[l], offset: at.hre },
      lse: { buffer: a.lse[l], offset: at.hr },
    }),
    // x[l+1] [C, R, D] = x[l] (the residual), then += z·W_O + b_O
    copy(a.x[l], at.rd * F32, a.x[l + 1], at.rd * F32, d.C * d.R * d.D * F32),
    ...await mm(n, outSpec(d, l), a.z[l], params, a.x[l + 1], params),
  ];
}

/**
 * Gradients of block l from dresid [C, R, D] (the gradient of x[l+1]); leaves that of x[l] in dresid. The role
 * says which: all of them; only x[l]'s ("through": weights below move, none here); only one head's weights.
 */
export async function blockBackward(n: Net, l: number, role: BlockRole = { kind: "all" }): Promise<Op[]> {
  const head = role.kind === "head" ? role.head : undefined;
  const ops = [
    ...(role.kind === "all" ? await outWeightBackward(n, l) : []), // db_O, dW_O
    ...(head !== undefined ? await outWeightBackward(n, l, head) : []), // dW_O[head]
    // A head's copies need only that head's dz and dq, dk, dv (the other heads' stay unwritten, and unread).
    ...await mm(n, outInputGradSpec(n.d, l, head), n.g!.dresid, n.params, n.g!.dz), // dz [C, R, H·E]
    ...await attentionBackward(n, l, head), // dq, dk, dv [C, H, R, E]
  ];
  if (role.kind !== "through") ops.push(...await qkvWeightBackward(n, l, head)); // dW, db of Q, K, V
  if (role.kind === "head") return ops; // nothing below moves
  return [
    ...ops,
    ...await qkvInputBackward(n, l), // dqk, dh [C, R, D]
    ...await ln1Backward(n, l), // dW_pos (shortformer), dln1.w, dln1.b; dresid += d(x[l]) through LN1
  ];
}

/** h[l] = LN1(x[l]) and, with shortformer positions, qk[l] = h[l] + W_pos[t] (in the same kernel). */
async function ln1Forward(n: Net, l: number): Promise<Op[]> {
  const { d, acts: a } = n;
  if (d.ln) {
    const spec = {
      ...lnSpec(d, `blocks.${l}.ln1.w`, `blocks.${l}.ln1.b`, d.shortformer),
      firstCopy: n.first,
    };
    const y2 = d.shortformer ? a.qk[l] : undefined;
    return await createLayerNorm(n.gpu, spec, a.x[l], n.params, a.h[l], a.stats[l]!, y2);
  }
  if (d.shortformer) return [await addPositions(n, a.x[l], a.qk[l])];
  return [];
}

/**
 * The output projection's weight gradients from dresid (the residual passes dresid through unchanged):
 * db_O and dW_O, or with `head` only that head's rows of dW_O (b_O belongs to no head).
 */
async function outWeightBackward(n: Net, l: number, head?: number): Promise<Op[]> {
  const { d, g } = n;
  return [
    ...(head === undefined ? await colSum(n, outBiasGradSpec(d, l), g!.dresid, n.grads!) : []),
    ...await mm(n, outWeightGradSpec(d, l, head), n.acts.z[l], g!.dresid, n.grads!),
  ];
}

/**
 * dq, dk, dv [C, H, B, T, E] from dz [C, B, T, H, E] (the pattern recomputed from q, k and lse); with `head`,
 * that head's only.
 */
async function attentionBackward(n: Net, l: number, head?: number): Promise<Op[]> {
  const { d, acts: a, g } = n;
  const { hre, hr } = firstRows(n);
  const heads = head === undefined ? undefined : { first: head, count: 1 };
  return await createAttentionBackward(n.gpu, { C: d.C, B: d.B, T: d.T, H: d.H, E: d.E, heads }, {
    q: { buffer: a.q[l], offset: hre },
    k: { buffer: a.k[l], offset: hre },
    v: { buffer: a.v[l], offset: hre },
    z: { buffer: a.z[l], offset: hre },
    lse: { buffer: a.lse[l], offset: hr },
    dz: { buffer: g!.dz, offset: hre },
    dq: { buffer: g!.dq, offset: hre },
    dk: { buffer: g!.dk, offset: hre },
    dv: { buffer: g!.dv, offset: hre },
    d: { buffer: g!.dScratch, offset: hr },
  });
}

/** dW[c, h] += inᵀ·d[c, h] and db[c, h] += Σ_r d[c, h] for Q, K, V (every head, or only `head`). */
async function qkvWeightBackward(n: Net, l: number, head?: number): Promise<Op[]> {
  const { d, acts: a, g } = n;
  const input = { Q: a.qk[l], K: a.qk[l], V: a.h[l] };
  const grad = { Q: g!.dq, K: g!.dk, V: g!.dv };
  const ops: Op[] = [];
  for (const name of QKV) {
    ops.push(...await mm(n, qkvWeightGradSpec(d, l, name, head), input[name], grad[name], n.grads!));
    ops.push(...await colSum(n, qkvBiasGradSpec(d, l, name, head), grad[name], n.grads!));
  }
  return ops;
}

/**
 * The input gradients dqk = Σ_h dq[h]·W_Q[h]ᵀ + dk[h]·W_K[h]ᵀ and dh = Σ_h dv[h]·W_V[h]ᵀ (dqk is dh itself
 * without shortformer positions, so V then accumulates onto Q and K's sum).
 */
async function qkvInputBackward(n: Net, l: number): Promise<Op[]> {
  const { d, g } = n;
  const grad = { Q: g!.dq, K: g!.dk, V: g!.dv };
  const dst = { Q: g!.dqk, K: g!.dqk, V: g!.dh };
  const ops: Op[] = [];
  for (const name of QKV) {
    // Q overwrites dqk; K (and V onto dqk = dh) accumulate; V overwrites a separate dh.
    const overwrite = name === "Q" || (name === "V" && d.shortformer);
    ops.push(...await mm(n, qkvInputGradSpec(d, l, name, !overwrite), grad[name], n.params, dst[name]));
  }
  return ops;
}

/** dW_pos += Σ_b dqk (shortformer); dresid += LN1ᵀ(dh + dqk) with dln1.w, dln1.b (or dresid += dh + dqk). */
async function ln1Backward(n: Net, l: number): Promise<Op[]> {
  const { d, acts: a, g } = n;
  const ops: Op[] = [];
  if (d.shortformer) ops.push(...await colSum(n, posGradSpec(d, `L${l} dW_pos`), g!.dqk, n.grads!));
  if (d.ln) {
    const spec = {
      ...lnSpec(d, `blocks.${l}.ln1.w`, `blocks.${l}.ln1.b`, d.shortformer),
      firstCopy: n.first,
    };
    const dy2 = d.shortformer ? g!.dqk : undefined;
    ops.push(
      ...await createLayerNormBackward(
        n.gpu,
        spec,
        g!.dh,
        a.x[l],
        a.stats[l]!,
        n.params,
        g!.dresid,
        n.grads!,
        dy2,
      ),
    );
  } else {
    const { rd } = firstRows(n);
    const axpy = { n: d.C * d.R * d.D, a: 1, xOffset: rd, yOffset: rd };
    ops.push(...await createAxpy(n.gpu, axpy, g!.dh, g!.dresid));
    if (d.shortformer) ops.push(...await createAxpy(n.gpu, axpy, g!.dqk, g!.dresid));
  }
  return ops;
}

/** qk [C, R, D] = x + W_pos[t] (kernels/add_positions.wgsl): shortformer query/key input without LN. */
async function addPositions(n: Net, x: GPUBuffer, qk: GPUBuffer): Promise<Dispatch> {
  const { C, R, T, D, P } = n.d;
  const count = C * R * D;
  const kernel = await loadKernel(n.gpu, "add_positions");
  const { rd } = firstRows(n);
  const u = uniformStruct(n.gpu, "add_positions params", [
    ["u32", count],
    ["u32", R * D],
    ["u32", T * D],
    ["u32", rd],
    ["u32", rd],
    ["u32", n.first * P + n.d.off("pos_embed.W_pos")],
    ["u32", P],
  ]);
  return prepare(
    kernel,
    [u, x, n.params, qk],
    foldGrid(Math.ceil(count / 64), "add_positions"),
    "add_positions",
  );
}

// ---------------------------------------------------------------- unembedding

/**
 * What the unembedding backward computes for one copy: dW_U, db_U and dhf ("all"), dhf alone ("input": the
 * copy moves weights below the unembedding, none in it) or nothing ("none": the copy's loss is all it needs).
 */
export type UnembedGrad = "all" | "input" | "none";

/**
 * hf [C, R, D] = LN_final(x[L]); then per chunk: logits [rows, V] = hf·W_U + b_U and the per-token losses
 * [C, B, T]. Mode "grad" also turns the chunk's logits into dlogits in place (fused cross entropy) and runs the
 * chunk's part of the unembedding backward (unembedChunkBackward) at once, before the next chunk overwrites
 * the logits; `grads` says, per copy, which part of it (default "all" for every copy). Runs on the whole
 * batch of copies (the chunks are laid out over all of them).
 */
export async function unembedForward(
  n: Net,
  mode: "loss" | "grad",
  grads: (copy: number) => UnembedGrad = () => "all",
): Promise<Op[]> {
  const { d, acts: a } = n;
  if (n.first !== 0) throw new Error("internal: the unembedding runs on the whole batch of copies");
  const ops: Op[] = [];
  if (d.ln) {
    const spec = lnSpec(d, "ln_final.w", "ln_final.b", false);
    ops.push(...await createLayerNorm(n.gpu, spec, a.x[d.L], n.params, a.hf, a.statsF!));
  }
  for (const ch of n.chunks) {
    ops.push(
      ...await createMatmul(
        n.gpu,
        { variant: n.variant, ...unembedSpec(d, ch) },
        a.hf,
        n.params,
        a.logits,
        n.params,
      ),
    );
    if (mode === "loss") {
      ops.push(...await chunkCrossEntropy(n, ch, () => "forward"));
      continue;
    }
    ops.push(...await chunkCrossEntropy(n, ch, (c) => grads(c) === "none" ? "forward" : "backward"));
    for (const part of chunkParts(ch, d.V, grads)) {
      ops.push(...await unembedChunkBackward(n, part.chunk, part.grad));
    }
  }
  return ops;
}

/** A chunk split into runs of consecutive copies with the same UnembedGrad (logits0 locates each run's logits). */
function chunkParts(ch: Chunk, V: number, grads: (copy: number) => UnembedGrad) {
  return runsByKey(ch.copies, (i) => grads(ch.c0 + i)).map(({ first, count, key }) => ({
    chunk: {
      c0: ch.c0 + first,
      copies: count,
      row0: ch.row0,
      rows: ch.rows,
      logits0: (ch.logits0 ?? 0) + first * ch.rows * V,
    },
    grad: key,
  }));
}

/** The rest of the unembedding backward: dresid [C, R, D] = LN_finalᵀ(dhf) with dln_final.w, .b. */
export async function unembedBackward(n: Net): Promise<Op[]> {
  const { d, acts: a, g } = n;
  if (!d.ln) return []; // dresid is dhf itself
  const spec = { ...lnSpec(d, "ln_final.w", "ln_final.b", false), firstCopy: n.first };
  return [
    clear(g!.dresid, firstRows(n).rd * F32, d.C * d.R * d.D * F32), // the LN backward accumulates into dresid
    ...await createLayerNormBackward(n.gpu, spec, g!.dhf, a.x[d.L], a.statsF!, n.params, g!.dresid, n.grads!),
  ];
}

/**
 * Per-token losses of one chunk (and dlogits in place in "backward" mode), one op per run of copies with the same
 * mode. A chunk spans whole copies or part of one copy; its rows are contiguous in the global row order in both
 * cases, so a run of copies is one range of rows.
 */
async function chunkCrossEntropy(
  n: Net,
  ch: Chunk,
  mode: (copy: number) => "forward" | "backward",
): Promise<Op[]> {
  const { d } = n;
  const ops: Op[] = [];
  for (const run of runsByKey(ch.copies, (i) => mode(ch.c0 + i))) {
    const spec = {
      copies: d.C,
      batch: d.B,
      seqLen: d.T,
      vocab: d.V,
      mode: run.key,
      tokensCopyStride: n.tokensCopyStride,
      logitsOffset: run.first * ch.rows * d.V,
      rowStart: (ch.c0 + run.first) * d.R + ch.row0,
      rowCount: run.count * ch.rows,
    };
    ops.push(...await createCrossEntropy(n.gpu, spec, n.acts.logits, n.tokens, n.tokenLosses));
  }
  return ops;
}

/**
 * dW_U[c] += hf[c]ᵀ·dlogits;  db_U[c] += Σ_rows dlogits;  dhf[c] = dlogits·W_Uᵀ (one chunk, or a part of one):
 * all three for "all", dhf alone for "input", nothing for "none". The chunk's specs address the whole batch.
 */
async function unembedChunkBackward(n: Net, ch: Chunk, grad: UnembedGrad): Promise<Op[]> {
  const { d, acts: a, g } = n;
  const chunkMm = (spec: MatmulSpec, x: GPUBuffer, y: GPUBuffer, out: GPUBuffer) =>
    createMatmul(n.gpu, { variant: n.variant, ...spec }, x, y, out);
  if (grad === "none") return [];
  return [
    ...(grad === "all" ? await chunkMm(unembedWeightGradSpec(d, ch), a.hf, a.logits, n.grads!) : []),
    ...(grad === "all" ? await createColSum(n.gpu, unembedBiasGradSpec(d, ch), a.logits, n.grads!) : []),
    ...await chunkMm(unembedInputGradSpec(d, ch), a.logits, n.params, g!.dhf),
  ];
}
