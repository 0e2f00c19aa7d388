/**
 * Token embedding, batched over C parameter copies (kernels/embedding.wgsl):
 *   forward   x[c, r, :] = W_E[c][tok[c, r], :] (+ W_pos[c][t, :] with addPositions, the "standard" mode)
 *   backward  dW_E[c][v, :] += Σ_{r: tok[c, r] = v} dx[c, r, :]
 * Row r = b·T + t inside a copy, R = B·T rows per copy; params and grads [C, P] (copy c at c·paramStride),
 * activations [C, B, T, D], tokens int32 [C or 1, B, T].
 *
 * The backward is a scatter-add. WGSL has no float atomics and a CAS loop would make the sum order (hence the
 * gradient bits) depend on scheduling, so the host groups the rows by token (a counting sort, O(R + V) per
 * copy) whenever the batch changes and uploads the grouping; the kernel then gathers, one workgroup per
 * (copy, distinct token), in a fixed order. The positional gradient (a sum over the batch) is not done here.
 */
import type { Gpu } from "../gpu/device.ts";
import { loadKernel } from "../gpu/kernel.ts";
import { storageBuffer } from "../gpu/buffers.ts";
import { type Dispatch, prepare } from "../gpu/dispatch.ts";
import type { ParamLayout } from "./params.ts";
import { tensor } from "./params.ts";
import { checkTokens } from "./cross_entropy.ts";
import { requireDistinct, requireInt, requireMultiple, requireSpan } from "../gpu/checks.ts";
import { foldGrid } from "../gpu/grid.ts";
import { uniformStruct } from "../gpu/uniform.ts";

/** Invocations per workgroup of both entry points. */
const WG = 64;

export interface EmbeddingSpec {
  copies: number;
  batch: number;
  seqLen: number;
  /** d_model; a multiple of 4 (the kernels move vec4s). */
  dModel: number;
  dVocab: number;
  /** Element offset of embed.W_E [V, D] inside one parameter copy; a multiple of 4. */
  weOffset: number;
  /** Element offset of pos_embed.W_pos [n_ctx, D] inside one copy; needed with addPositions. */
  posOffset?: number;
  /** Elements between parameter (and gradient) copies; a multiple of 4. */
  paramStride: number;
  /** Add W_pos to the embedding (the "standard" positional mode). Default false (shortformer). */
  addPositions?: boolean;
  /** Elements between consecutive copies' tokens; 0 when all copies see the same batch. */
  tokensCopyStride: number;
  /** Element offset of copy 0's tokens (default 0). */
  tokensOffset?: number;
  /** Element offset of x[0, 0, 0, 0] (forward output) and dx (backward input); a multiple of 4 (default 0). */
  xOffset?: number;
  /**
   * Run on copies [firstCopy, firstCopy + copies) of buffers laid out for more copies (default 0): params and
   * grads start firstCopy·paramStride further in, x and dx firstCopy·B·T·D, tokens firstCopy·tokensCopyStride.
   */
  firstCopy?: number;
}

interface Checked {
  C: number;
  B: number;
  T: number;
  D: number;
  V: number;
  R: number;
  we: number;
  pos: number;
  P: number;
  addPos: boolean;
  tokStride: number;
  tokOff: number;
  xOff: number;
  /** Copies from the buffers' start to the end of this op's: params and grads must hold span·P elements. */
  span: number;
}

/** Validates a spec; errors name the field. */
function checkSpec(spec: EmbeddingSpec): Checked {
  if (typeof spec !== "object" || spec === null) throw new RangeError("embedding spec: expected an object");
  const C = requireInt("embedding copies", spec.copies, 1);
  const B = requireInt("embedding batch", spec.batch, 1);
  const T = requireInt("embedding seqLen", spec.seqLen, 1);
  const D = requireMultiple("embedding dModel", requireInt("embedding dModel", spec.dModel, 4));
  const V = requireInt("embedding dVocab", spec.dVocab, 1);
  const P = requireMultiple(
    "embedding paramStride",
    requireInt("embedding paramStride", spec.paramStride, 1),
  );
  const we = requireMultiple("embedding weOffset", requireInt("embedding weOffset", spec.weOffset));
  if (we + V * D > P) {
    throw new RangeError(`embedding weOffset: W_E [${V}, ${D}] at ${we} overruns the copy stride ${P}`);
  }
  const addPos = spec.addPositions ?? false;
  let pos = 0;
  if (addPos) {
    if (spec.posOffset === undefined) {
      throw new RangeError("embedding posOffset: required with addPositions (the offset of W_pos)");
    }
    pos = requireMultiple("embedding posOffset", requireInt("embedding posOffset", spec.posOffset));
    if (pos + T * D > P) {
      throw new RangeError(
        `embedding posOffset: W_pos rows [0, ${T}) at ${pos} overrun the copy stride ${P}`,
      );
    }
  }
  const R = B * T;
  const tokStride = requireInt("embedding tokensCopyStride", spec.tokensCopyStride);
  if (tokStride !== 0 && tokStride < R) {
    throw new RangeError(
      `embedding tokensCopyStride: expected 0 (shared batch) or ≥ B·T = ${R}, got ${tokStride}`,
    );
  }
  const tokOff = requireInt("embedding tokensOffset", spec.tokensOffset ?? 0);
  const xOff = requireMultiple("embedding xOffset", requireInt("embedding xOffset", spec.xOffset ?? 0));
  const first = requireInt("embedding firstCopy", spec.firstCopy ?? 0);
  const span = first + C;
  if (span * R * D >= 2 ** 32 || span * P >= 2 ** 32) {
    throw new RangeError(`embedding: C·B·T·D = ${span * R * D} or C·paramStride exceeds u32 indexing`);
  }
  // Offsets inside the whole buffers: the op's first copy starts `first` copies in.
  return {
    C,
    B,
    T,
    D,
    V,
    R,
    we: we + first * P,
    pos: pos + first * P,
    P,
    addPos,
    tokStride,
    tokOff: tokOff + first * tokStride,
    xOff: xOff + first * R * D,
    span,
  };
}

/**
 * An EmbeddingSpec for a model layout: offsets of embed.W_E and pos_embed.W_pos, the layout's stride, and
 * addPositions for the "standard" positional mode.
 */
export function embeddingSpecFor(
  layout: ParamLayout,
  shape: { copies: number; batch: number; seqLen: number; tokensCopyStride: number },
): EmbeddingSpec {
  const cfg = layout.config;
  if (shape.seqLen > cfg.n_ctx) {
    throw new RangeError(`embedding seqLen: ${shape.seqLen} exceeds the model's n_ctx ${cfg.n_ctx}`);
  }
  return {
    ...shape,
    dModel: cfg.d_model,
    dVocab: cfg.d_vocab,
    weOffset: tensor(layout, "embed.W_E").offset,
    posOffset: tensor(layout, "pos_embed.W_pos").offset,
    paramStride: layout.stride,
    addPositions: cfg.positional === "standard",
  };
}

/**
 * Prepares x = embedding of `tokens` (int32) from `params` (one dispatch; x overwritten). Token ids outside
 * [0, dVocab) give NaN rows: validate batches on the host (`checkTokens`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEmbedding, getGpu, initParams, paramLayout, readF32, storageBuffer, storageFrom, submitProgram, tensor, TINY_CONFIG } from "chi";
 * import { embeddingSpecFor } from "chi/lib/model/embedding.ts";
 *
 * const gpu = await getGpu();
 * const layout = paramLayout(TINY_CONFIG);
 * const spec = embeddingSpecFor(layout, { copies: 1, batch: 1, seqLen: 2, tokensCopyStride: 0 });
 * const D = TINY_CONFIG.d_model;
 * const init = initParams(TINY_CONFIG, 0);
 * const params = storageFrom(gpu, "params", init);
 * const tokens = storageFrom(gpu, "tokens", new Int32Array([5, 9]));
 * const x = storageBuffer(gpu, "x", 2 * D * 4);
 * submitProgram(gpu, await createEmbedding(gpu, spec, params, tokens, x));
 * const we = tensor(layout, "embed.W_E").offset;
 * assert.deepEqual((await readF32(gpu, x)).subarray(D), init.subarray(we + 9 * D, we + 10 * D)); // row 1 = W_E[9]
 * ```
 */
export async function createEmbedding(
  gpu: Gpu,
  spec: EmbeddingSpec,
  params: GPUBuffer,
  tokens: GPUBuffer,
  x: GPUBuffer,
): Promise<Dispatch[]> {
  const s = checkSpec(spec);
  requireSpan(gpu, "embedding params", params, s.span * s.P);
  requireSpan(gpu, "embedding tokens", tokens, s.tokOff + (s.C - 1) * s.tokStride + s.R);
  requireSpan(gpu, "embedding x", x, s.xOff + s.C * s.R * s.D);
  requireDistinct(["embedding x", x], [["embedding params", params], ["embedding tokens", tokens]]);
  const D4 = s.D / 4;
  const items = s.C * s.R * D4;
  const kernel = await loadKernel(gpu, "embedding", { entry: "forward", consts: { WG, ADD_POS: s.addPos } });
  const u = uniformStruct(gpu, "embedding params", [
    ["u32", items],
    ["u32", D4],
    ["u32", s.R],
    ["u32", s.T],
    ["u32", s.V],
    ["u32", s.tokOff],
    ["u32", s.tokStride],
    ["u32", s.xOff / 4],
    ["u32", s.P / 4],
    ["u32", s.we / 4],
    ["u32", s.pos / 4],
  ]);
  return [prepare(kernel, [u, tokens, params, x], foldGrid(Math.ceil(items / WG), "embedding"), "embedding")];
}

/** Per token-copy CSR record layout (u32 elements), see kernels/embedding.wgsl. */
export function csrLength(R: number, V: number): number {
  return 2 + 2 * Math.min(R, V) + R;
}

/**
 * Writes into `out` (length ≥ csrLength(R, V), at `at`) the rows 0..R−1 of `tokens` grouped by token id:
 * K, the distinct ids in increasing order, the K + 1 segment starts, the rows (increasing inside a segment).
 * `count` is scratch of length V. Ids must already be checked to lie in [0, V).
 */
export function buildTokenCsr(
  tokens: Int32Array,
  V: number,
  out: Uint32Array,
  at = 0,
  count: Uint32Array = new Uint32Array(V),
): void {
  const R = tokens.length;
  const S = Math.min(R, V);
  count.fill(0);
  for (let r = 0; r < R; r++) count[tokens[r]]++;
  // Distinct ids and segment starts; `count` becomes each id's write cursor into the row list.
  let K = 0;
  let start = 0;
  for (let v = 0; v < V; v++) {
    const n = count[v];
    if (n === 0) continue;
    out[at + 1 + K] = v;
    out[at + 1 + S + K] = start;
    count[v] = start;
    start += n;
    K++;
  }
  out[at] = K;
  out[at + 1 + S + K] = start;
  const rows = at + 2 + 2 * S;
  for (let r = 0; r < R; r++) out[rows + count[tokens[r]]++] = r;
}

export interface EmbeddingBackward {
  dispatches: Dispatch[];
  /**
   * Uploads the row grouping of a new batch (queued before later submits): `tokens` holds B·T ids shared by
   * all copies, or C·B·T ids (copy c at c·B·T). Throws naming the position of an id outside [0, dVocab).
   */
  setTokens(tokens: Int32Array): void;
}

/**
 * Prepares dW_E += scatter of dx by token (one dispatch; grads accumulated, so clear them first if needed).
 * Call setTokens before the first replay and whenever the batch changes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEmbeddingBackward, getGpu, paramLayout, readF32, storageBuffer, storageFrom, submitProgram, tensor, TINY_CONFIG } from "chi";
 * import { embeddingSpecFor } from "chi/lib/model/embedding.ts";
 *
 * const gpu = await getGpu();
 * const layout = paramLayout(TINY_CONFIG);
 * const spec = embeddingSpecFor(layout, { copies: 1, batch: 1, seqLen: 2, tokensCopyStride: 0 });
 * const D = TINY_CONFIG.d_model;
 * const dx = storageFrom(gpu, "dx", new Float32Array(2 * D).fill(1));
 * const grads = storageBuffer(gpu, "grads", layout.stride * 4);
 * const backward = await createEmbeddingBackward(gpu, spec, dx, grads);
 * backward.setTokens(new Int32Array([3, 3])); // both rows are token 3
 * submitProgram(gpu, backward.dispatches);
 * const we = tensor(layout, "embed.W_E").offset;
 * assert.equal((await readF32(gpu, grads))[we + 3 * D], 2); // dW_E[3] gathers both rows
 * ```
 */
export async function createEmbeddingBackward(
  gpu: Gpu,
  spec: EmbeddingSpec,
  dx: GPUBuffer,
  grads: GPUBuffer,
): Promise<EmbeddingBackward> {
  const s = checkSpec(spec);
  requireSpan(gpu, "embedding backward dx", dx, s.xOff + s.C * s.R * s.D);
  requireSpan(gpu, "embedding backward grads", grads, s.span * s.P);
  requireDistinct(["embedding backward grads", grads], [["embedding backward dx", dx]]);
  const S = Math.min(s.R, s.V);
  const len = csrLength(s.R, s.V);
  const csr = storageBuffer(gpu, "embedding token csr", s.C * len * 4);
  const host = new Uint32Array(s.C * len);
  const count = new Uint32Array(s.V);
  const kernel = await loadKernel(gpu, "embedding", { entry: "backward", consts: { WG } });
  // Until setTokens runs, K = 0 for every copy (the buffer is zero-filled): the op adds nothing.
  const u = uniformStruct(gpu, "embedding backward params", [
    ["u32", S],
    ["u32", s.C],
    ["u32", s.D / 4],
    ["u32", s.R],
    ["u32", 0], // csr_stride, rewritten by setTokens: 0 for a shared batch, one record per copy otherwise
    ["u32", s.xOff / 4],
    ["u32", s.P / 4],
    ["u32", s.we / 4],
  ]);
  const dispatches = [
    prepare(kernel, [u, csr, dx, grads], foldGrid(s.C * S, "embedding backward"), "embedding backward"),
  ];
  const setTokens = (tokens: Int32Array) => {
    if (!(tokens instanceof Int32Array)) {
      throw new TypeError("embedding setTokens tokens: expected an Int32Array");
    }
    let copies: number;
    if (tokens.length === s.R) copies = 1;
    else if (tokens.length === s.C * s.R) copies = s.C;
    else {
      throw new RangeError(
        `embedding setTokens tokens: expected B·T = ${s.R} (shared) or C·B·T = ${
          s.C * s.R
        } ids, got ${tokens.length}`,
      );
    }
    checkTokens(tokens, s.V, "embedding setTokens tokens");
    for (let c = 0; c < copies; c++) {
      buildTokenCsr(tokens.subarray(c * s.R, (c + 1) * s.R), s.V, host, c * len, count);
    }
    gpu.device.queue.writeBuffer(csr, 0, host, 0, copies * len);
    gpu.device.queue.writeBuffer(u, 16, new Uint32Array([copies === 1 ? 0 : len]));
  };
  return { dispatches, setTokens };
}

/** Float64 reference of the forward: x [C, R, D] compact; tokens with `tokensCopyStride`, `tokensOffset`. */
export function embeddingReference(
  spec: EmbeddingSpec,
  params: ArrayLike<number>,
  tokens: Int32Array,
): Float64Array {
  const s = checkSpec(spec);
  const x = new Float64Array(s.C * s.R * s.D);
  for (let c = 0; c < s.C; c++) {
    for (let r = 0; r < s.R; r++) {
      const tok = tokens[s.tokOff + c * s.tokStride + r];
      const t = r % s.T;
      for (let d = 0; d < s.D; d++) {
        let e = params[c * s.P + s.we + tok * s.D + d];
        if (s.addPos) e += params[c * s.P + s.pos + t * s.D + d];
        x[(c * s.R + r) * s.D + d] = e;
      }
    }
  }
  return x;
}

/**
 * Float64 reference of the backward: returns grads + scatter of dx ([C, R, D] compact) into dW_E; `tokens`
 * holds B·T shared ids or C·B·T ids, as setTokens takes them.
 */
export function embeddingBackwardReference(
  spec: EmbeddingSpec,
  grads: ArrayLike<number>,
  dx: ArrayLike<number>,
  tokens: Int32Array,
): Float64Array {
  const s = checkSpec(spec);
  const out = Float64Array.from(grads);
  const shared = tokens.length === s.R;
  for (let c = 0; c < s.C; c++) {
    for (let r = 0; r < s.R; r++) {
      const tok = tokens[(shared ? 0 : c * s.R) + r];
      for (let d = 0; d < s.D; d++) out[c * s.P + s.we + tok * s.D + d] += dx[(c * s.R + r) * s.D + d];
    }
  }
  return out;
}
