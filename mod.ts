/**
 * chi: susceptibilities of small language models, in Deno + WebGPU. The public API.
 *
 * GPU runtime → model (config, parameter layout, ops, the GPU transformer, checkpoints) → training → data
 * (tokenizer, shards, mixing, synthetic corpus) → SGLD sampling and estimators → analysis (PCA, tables) →
 * report. Scripts in scripts/ are thin command-line wrappers over these.
 *
 * Every function here carries a runnable `@example` on its declaration in lib/ (`deno doc mod.ts` shows
 * them; `deno task test` runs them with `deno test --doc lib/`). The examples import from `"chi"`, which
 * deno.json maps to this file; from another project, import this file by its path or URL instead.
 */

// GPU runtime
export { type AdapterRecord, getGpu, type Gpu, GpuUnavailableError } from "./lib/gpu/device.ts";
export { KernelError, loadKernel } from "./lib/gpu/kernel.ts";
export { readBuffers, readF32, readU32, storageBuffer, storageFrom, upload } from "./lib/gpu/buffers.ts";
export { type Dispatch, prepare } from "./lib/gpu/dispatch.ts";
export { encodeProgram, type Op, submitProgram } from "./lib/gpu/program.ts";

// Model
export {
  ConfigError,
  type ModelConfig,
  PAPER_CONFIG,
  parseModelConfig,
  TINY_CONFIG,
  validateModelConfig,
} from "./lib/model/config.ts";
export { headSlices, type ParamLayout, paramLayout, tensor } from "./lib/model/params.ts";
export {
  allRestrictions,
  copyMotions,
  FULL,
  headName,
  type Motion,
  motionOf,
  parseRestriction,
  restrictionMask,
  restrictionName,
} from "./lib/model/restriction.ts";
export { initParams } from "./lib/model/init.ts";
export { forwardFlopsPerToken, passFlopsPerToken } from "./lib/model/flops.ts";
export { referenceForwardBackward } from "./lib/model/reference.ts";
export {
  createTransformer,
  type Transformer,
  TransformerError,
  type TransformerShape,
} from "./lib/model/transformer.ts";
export { createColSum, createMatmul } from "./lib/model/matmul.ts";
export { createAttentionBackward, createAttentionForward } from "./lib/model/attention.ts";
export { checkTokens, createCrossEntropy, createMeanLoss } from "./lib/model/cross_entropy.ts";
export { createEmbedding, createEmbeddingBackward } from "./lib/model/embedding.ts";
export { createLayerNorm, createLayerNormBackward } from "./lib/model/layernorm.ts";
export { ADAMW_DEFAULTS, createAdamW } from "./lib/model/adamw.ts";
export {
  CheckpointError,
  checkpointPath,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
} from "./lib/model/checkpoint.ts";
export { readSafetensors, SafetensorsError, writeSafetensors } from "./lib/model/safetensors.ts";
/**
 * PyTorch `.pth` / `.pt` state dicts (torch.save's zip format) read without Python. `loadCheckpoint` takes them
 * like safetensors files, e.g. `await loadCheckpoint("checkpoint_0049900.pth", PAPER_CONFIG)` (the config is
 * needed when no config.json lies beside the file); `readPth` gives the state dict's tensors as stored;
 * `convertCheckpoint` writes a chi safetensors checkpoint (config and step in its metadata).
 */
export { parsePth, PthError, type PthStateDict, type PthTensor, readPth } from "./lib/model/pth.ts";
export { convertCheckpoint, type Converted } from "./lib/model/convert.ts";

// Training
export { train, TRAIN_DEFAULTS, TrainError, type TrainOptions } from "./lib/train/train.ts";
export { checkpointSchedule, learningRate, PAPER_CHECKPOINT_STEPS } from "./lib/train/schedule.ts";

// Data
export { loadTokenizer, Tokenizer, tokenizerFromHfJson, trainBpe } from "./lib/data/tokenizer.ts";
export {
  contextBatch,
  readShard,
  sampleContexts,
  type Shard,
  ShardWriter,
  writeShard,
} from "./lib/data/shard.ts";
export { mixContexts, mixPattern } from "./lib/data/mix.ts";
export { ensureDefaultDataset } from "./lib/data/default_dataset.ts";
export { COMPONENT_NAMES, generateCorpus, probeWeights } from "./lib/data/synthetic.ts";
export { DataError } from "./lib/data/errors.ts";

// Sampling and estimators
export { runSgld, type SamplingTarget, SgldDivergenceError } from "./lib/estimate/sampler.ts";
export {
  PER_TOKEN_DEFAULTS,
  resolveSgld,
  SGLD_DEFAULTS,
  type SgldSettings,
  validateSgld,
} from "./lib/estimate/sgld_settings.ts";
export {
  consistencyCheck,
  estimateLlc,
  estimateSusceptibility,
  perTokenChi,
  summarize,
} from "./lib/estimate/estimators.ts";
export { estimateDifference } from "./lib/estimate/difference.ts";
export { formatHealth, healthSummary } from "./lib/estimate/health.ts";
export { calibrate, formatCalibration } from "./lib/estimate/calibrate.ts";

// Analysis and report
export { standardizedPca, trajectoryPca } from "./lib/analysis/pca.ts";
export { loadResults } from "./lib/analysis/results.ts";
export { buildReport } from "./lib/report/build_report.ts";

// Utilities
export { buildManifest, writeManifest } from "./lib/util/manifest.ts";
export { Rng } from "./lib/util/random.ts";
