/**
 * Model checkpoints and training resume state, stored as safetensors.
 *
 * A checkpoint is `<dir>/step_<step padded to 7 digits>.safetensors` holding every parameter tensor under its
 * TransformerLens name and shape (lib/model/params.ts), with `__metadata__` {format: "chi-checkpoint-1",
 * config: JSON of the ModelConfig, step}. The paper's published checkpoints are PyTorch `.pth` state dicts
 * (read directly by lib/model/pth.ts, or converted to safetensors): they carry no metadata, so their config is
 * given by the caller or read from a `config.json` beside them (chi's ModelConfig fields, or a TransformerLens
 * HookedTransformerConfig dump), and their step is read from the file name (`step_0049900` or
 * `checkpoint_0049900`, `.safetensors`, `.pth` or `.pt`). TransformerLens buffers such as `blocks.0.attn.IGNORE` and
 * `blocks.0.attn.mask` are skipped with a warning; a missing parameter, a wrong shape or an unexpected
 * parameter-like tensor is an error naming the tensor.
 */
import { ChiInputError } from "../util/errors.ts";
import { ConfigError, type ModelConfig, parseModelConfig, validateModelConfig } from "./config.ts";
import { paramLayout } from "./params.ts";
import { readSafetensors, SafetensorsFile, type TensorToWrite, writeSafetensors } from "./safetensors.ts";
import { isPthPath, pthAsSafetensors, readPth } from "./pth.ts";
import { exists, readJsonFile, writeJsonAtomic } from "../util/files.ts";

export const CHECKPOINT_FORMAT = "chi-checkpoint-1";
export const TRAIN_STATE_FORMAT = "chi-train-state-1";

/** Metadata keys chi reserves in checkpoints and train states. */
const RESERVED_KEYS = new Set(["format", "config", "step", "data_cursor", "extra"]);

/** Thrown for a checkpoint or train state that cannot be saved or loaded; names the file and the tensor. */
export class CheckpointError extends ChiInputError {
  constructor(readonly file: string, readonly tensorName: string | null, detail: string) {
    super(`${file}${tensorName === null ? "" : `: tensor "${tensorName}"`}: ${detail}`);
    this.name = "CheckpointError";
  }
}

/** `step_0001234.safetensors`. */
export function checkpointFileName(step: number): string {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(`checkpoint step ${step} is not an integer ≥ 0`);
  }
  return `step_${String(step).padStart(7, "0")}.safetensors`;
}

/**
 * `<dir>/step_0001234.safetensors`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointPath } from "chi";
 *
 * assert.equal(checkpointPath("runs/train-tiny/checkpoints", 500), "runs/train-tiny/checkpoints/step_0000500.safetensors");
 * ```
 */
export function checkpointPath(dir: string, step: number): string {
  return `${dir.replace(/\/+$/, "")}/${checkpointFileName(step)}`;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

const STEP_FILE = /^(?:step|checkpoint)_(\d+)\.(?:safetensors|pth|pt)$/;

/** The checkpoint file names a folder may hold, for messages. */
export const CHECKPOINT_NAMES = "step_NNNNNNN.safetensors or checkpoint_NNNNNNN.pth files";

/** The step encoded in a checkpoint file name, or null. */
export function stepFromFileName(path: string): number | null {
  const m = STEP_FILE.exec(path.slice(path.lastIndexOf("/") + 1));
  return m ? Number(m[1]) : null;
}

const CONFIG_FIELDS = [
  "n_layers",
  "n_heads",
  "d_model",
  "d_head",
  "n_ctx",
  "d_vocab",
  "normalization",
  "positional",
] as const;

/** Field-by-field differences "field: a vs b"; empty when equal. */
export function configDifferences(a: ModelConfig, b: ModelConfig): string[] {
  return CONFIG_FIELDS.filter((f) => a[f] !== b[f]).map((f) => `${f}: ${a[f]} vs ${b[f]}`);
}

/**
 * A ModelConfig from a parsed config JSON: chi's own fields (all eight required), or a TransformerLens
 * HookedTransformerConfig dump (recognised by `normalization_type`, `attn_only` or
 * `positional_embedding_type`), which must describe an attention-only model chi supports.
 */
export function configFromJson(raw: unknown, source: string): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError("(root)", `${source}: expected a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  const isTL = "normalization_type" in obj || "attn_only" in obj || "positional_embedding_type" in obj;
  if (!isTL) {
    for (const f of CONFIG_FIELDS) {
      if (obj[f] === undefined) throw new ConfigError(f, `${source}: missing field`);
    }
    return parseModelConfig(obj, source);
  }
  if (obj.attn_only !== true) {
    throw new ConfigError(
      "attn_only",
      `${source}: only attention-only models are supported (got attn_only=${JSON.stringify(obj.attn_only)})`,
    );
  }
  let normalization: ModelConfig["normalization"];
  if (obj.normalization_type === "LN") normalization = "LN";
  else if (obj.normalization_type === null || obj.normalization_type === undefined) normalization = "none";
  else {
    throw new ConfigError(
      "normalization_type",
      `${source}: expected "LN" or null, got ${JSON.stringify(obj.normalization_type)}`,
    );
  }
  const pos = obj.positional_embedding_type ?? "standard";
  if (pos !== "shortformer" && pos !== "standard") {
    throw new ConfigError(
      "positional_embedding_type",
      `${source}: expected "shortformer" or "standard", got ${JSON.stringify(pos)}`,
    );
  }
  if (obj.attention_dir !== undefined && obj.attention_dir !== "causal") {
    throw new ConfigError("attention_dir", `${source}: only causal attention is supported`);
  }
  if (obj.n_key_value_heads !== undefined && obj.n_key_value_heads !== null) {
    throw new ConfigError("n_key_value_heads", `${source}: grouped-query attention is not supported`);
  }
  const fields = ["n_layers", "n_heads", "d_model", "d_head", "n_ctx", "d_vocab"] as const;
  for (const f of fields) {
    if (obj[f] === undefined) throw new ConfigError(f, `${source}: missing field`);
  }
  return parseModelConfig({
    ...Object.fromEntries(fields.map((f) => [f, obj[f]])),
    normalization,
    positional: pos,
  }, source);
}

/** Options of saveCheckpoint. */
export interface CheckpointMeta {
  step: number;
  /** Extra string metadata (keys format, config, step, data_cursor, extra are reserved). */
  extra?: Readonly<Record<string, string>>;
  /**
   * Also write `config.json` (chi's ModelConfig) beside the checkpoint. An existing config.json describing a
   * different model is an error: the folder would hold checkpoints of two models.
   */
  writeConfigJson?: boolean;
}

function checkStep(file: string, step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new CheckpointError(file, null, `step must be an integer ≥ 0, got ${step}`);
  }
}

function checkFlat(file: string, what: string, a: Float32Array, stride: number, finite: boolean): void {
  if (!(a instanceof Float32Array)) {
    throw new CheckpointError(
      file,
      what,
      `expected a Float32Array, got ${Object.prototype.toString.call(a)}`,
    );
  }
  if (a.length !== stride) {
    throw new CheckpointError(
      file,
      what,
      `expected ${stride} elements (one parameter copy, the layout stride), got ${a.length}`,
    );
  }
  if (finite) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) {
        throw new CheckpointError(file, what, `element ${i} is ${a[i]} (not finite)`);
      }
    }
  }
}

function extraMetadata(
  file: string,
  extra: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (RESERVED_KEYS.has(k)) throw new CheckpointError(file, null, `metadata key "${k}" is reserved`);
    if (typeof v !== "string") {
      throw new CheckpointError(file, null, `metadata value of "${k}" must be a string, got ${typeof v}`);
    }
    out[k] = v;
  }
  return out;
}

/**
 * Saves one parameter copy (`params.length === paramLayout(cfg).stride`, layout order) as a checkpoint,
 * atomically. Every value must be finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointPath, initParams, loadCheckpoint, saveCheckpoint, TINY_CONFIG } from "chi";
 *
 * const dir = await Deno.makeTempDir();
 * const params = initParams(TINY_CONFIG, 0);
 * await saveCheckpoint(checkpointPath(dir, 100), TINY_CONFIG, params, { step: 100 });
 * const loaded = await loadCheckpoint(checkpointPath(dir, 100));
 * assert.deepEqual(loaded.params, params); // config and step travel in the file's metadata
 * assert.equal(loaded.step, 100);
 * ```
 */
export async function saveCheckpoint(
  path: string,
  cfg: ModelConfig,
  params: Float32Array,
  meta: CheckpointMeta,
): Promise<void> {
  validateModelConfig(cfg, `${path}: config`);
  checkStep(path, meta.step);
  const layout = paramLayout(cfg);
  checkFlat(path, "params", params, layout.stride, true);
  const tensors: Array<[string, TensorToWrite]> = layout.tensors.map((t) => [
    t.name,
    { shape: t.shape, data: params.subarray(t.offset, t.offset + t.size) },
  ]);
  const metadata = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(canonicalConfig(cfg)),
    step: String(meta.step),
    ...extraMetadata(path, meta.extra),
  };
  if (meta.writeConfigJson) {
    const cfgPath = `${dirOf(path)}/config.json`;
    if (!(await matchSideConfig(path, cfgPath, cfg, "describes a different model", "this checkpoint"))) {
      await writeJsonAtomic(cfgPath, canonicalConfig(cfg));
    }
  }
  await writeSafetensors(path, tensors, metadata);
}

/**
 * Refuses a config.json at `cfgPath` (beside checkpoint `path`) that describes another model than `cfg`, which
 * came from `against`; `disagrees` words the refusal. Returns whether there is such a file.
 */
async function matchSideConfig(
  path: string,
  cfgPath: string,
  cfg: ModelConfig,
  disagrees: string,
  against: string,
): Promise<boolean> {
  if (!(await exists(cfgPath))) return false;
  const diff = configDifferences(configFromJson(await readJsonFile(cfgPath), cfgPath), cfg);
  if (diff.length > 0) {
    throw new CheckpointError(
      path,
      null,
      `${cfgPath} ${disagrees} (${diff.join("; ")} (config.json vs ${against}))`,
    );
  }
  return true;
}

function canonicalConfig(cfg: ModelConfig): ModelConfig {
  return Object.fromEntries(CONFIG_FIELDS.map((f) => [f, cfg[f]])) as unknown as ModelConfig;
}

/** A loaded checkpoint. */
export interface LoadedCheckpoint {
  config: ModelConfig;
  /** Where the config came from. */
  configSource: "metadata" | "config.json" | "argument";
  /** One parameter copy in layout order (length = stride, alignment padding zero). */
  params: Float32Array;
  /** From the metadata, else from the file name; null when neither has one. */
  step: number | null;
  metadata: Record<string, string>;
  /** Skipped non-parameter tensors (TransformerLens buffers), one line each. */
  warnings: string[];
}

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

/**
 * The skipped tensors of a loaded checkpoint as one line (scripts print it once per run), or null when none
 * were skipped.
 */
export function skippedNote(path: string, loaded: LoadedCheckpoint): string | null {
  if (loaded.warnings.length === 0) return null;
  const names = loaded.warnings.map((w) => /"([^"]+)"/.exec(w)?.[1] ?? w);
  return `${path}: skipped ${names.length} non-parameter tensor${names.length === 1 ? "" : "s"} ` +
    `(TransformerLens buffers: ${names.join(", ")})`;
}

/** Last path component a TransformerLens state dict uses for buffers rather than parameters. */
const BUFFER_NAMES = new Set(["IGNORE", "mask", "rotary_sin", "rotary_cos"]);

// Only TransformerLens's own buffers are skipped: an unknown tensor, whatever its dtype, may be a parameter of
// another architecture (an int8-quantised weight, say), and loading without it would give wrong numbers.
function isBufferTensor(name: string): boolean {
  return BUFFER_NAMES.has(name.slice(name.lastIndexOf(".") + 1));
}

async function resolveConfig(
  path: string,
  file: SafetensorsFile,
  expectCfg: ModelConfig | undefined,
): Promise<{ config: ModelConfig; source: LoadedCheckpoint["configSource"] }> {
  const cfgPath = `${dirOf(path)}/config.json`;
  let found: ModelConfig | null = null;
  let source: LoadedCheckpoint["configSource"] = "argument";
  if (file.metadata.config !== undefined) {
    found = metadataConfig(path, file.metadata.config);
    source = "metadata";
    await matchSideConfig(path, cfgPath, found, "disagrees with the checkpoint's metadata", "metadata");
  } else if (await exists(cfgPath)) {
    found = configFromJson(await readJsonFile(cfgPath), cfgPath);
    source = "config.json";
  }
  if (found === null) {
    if (expectCfg === undefined) {
      throw new CheckpointError(
        path,
        null,
        `no model config: the file has no __metadata__.config and there is no ${cfgPath}; pass the config ` +
          `(--model paper|tiny|CONFIG_JSON, a sweep config's "model") or write config.json beside the checkpoint`,
      );
    }
    validateModelConfig(expectCfg, "expected config");
    return { config: { ...expectCfg }, source: "argument" };
  }
  requireExpected(path, found, expectCfg, `checkpoint's ${source}`);
  return { config: found, source };
}

/** The model config a file stores as JSON text in __metadata__.config, validated. */
function metadataConfig(path: string, text: string): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(
      path,
      null,
      `__metadata__.config is not valid JSON (${(err as Error).message})`,
    );
  }
  return configFromJson(raw, `${path} __metadata__.config`);
}

/** Refuses a config `found` in `what` that differs from the caller's expected one (none expected: any). */
function requireExpected(
  path: string,
  found: ModelConfig,
  expectCfg: ModelConfig | undefined,
  what: string,
): void {
  if (expectCfg === undefined) return;
  const diff = configDifferences(found, expectCfg);
  if (diff.length > 0) {
    throw new CheckpointError(path, null, `config mismatch: ${diff.join("; ")} (${what} vs expected)`);
  }
}

function parseStep(path: string, metadata: Record<string, string>): number | null {
  if (metadata.step !== undefined) {
    if (!/^\d+$/.test(metadata.step) || !Number.isSafeInteger(Number(metadata.step))) {
      throw new CheckpointError(
        path,
        null,
        `__metadata__.step must be an integer ≥ 0, got "${metadata.step}"`,
      );
    }
    const step = Number(metadata.step);
    // A file renamed to another step (or metadata written wrong) would put χ at the wrong place on every curve.
    const named = stepFromFileName(path);
    if (named !== null && named !== step) {
      throw new CheckpointError(
        path,
        null,
        `__metadata__.step is ${step} but the file name says step ${named}: rename the file or fix its metadata`,
      );
    }
    return step;
  }
  return stepFromFileName(path);
}

/**
 * Loads a checkpoint into one parameter copy in layout order. The config comes from the file's metadata, else
 * from `config.json` beside it, else from `expectCfg`; when both a found config and `expectCfg` exist they must
 * agree. Missing parameters, wrong shapes, non-float dtypes, non-finite values and unexpected parameter-like
 * tensors are errors naming the tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointPath, initParams, loadCheckpoint, saveCheckpoint, TINY_CONFIG } from "chi";
 *
 * const dir = await Deno.makeTempDir();
 * const params = initParams(TINY_CONFIG, 0);
 * await saveCheckpoint(checkpointPath(dir, 100), TINY_CONFIG, params, { step: 100 });
 * const loaded = await loadCheckpoint(checkpointPath(dir, 100), TINY_CONFIG); // the config must then agree
 * assert.equal(loaded.configSource, "metadata");
 * assert.deepEqual(loaded.config, TINY_CONFIG);
 * // A PyTorch state dict carries no config: give it (or put a config.json beside the file).
 * const pth = await loadCheckpoint("tests/fixtures/pth/plain.pth", {
 *   n_layers: 2, n_heads: 2, d_model: 8, d_head: 4, n_ctx: 8, d_vocab: 16, normalization: "LN", positional: "shortformer",
 * });
 * assert.equal(pth.configSource, "argument");
 * ```
 */
export async function loadCheckpoint(path: string, expectCfg?: ModelConfig): Promise<LoadedCheckpoint> {
  const file = isPthPath(path) ? pthAsSafetensors(await readPth(path), path) : await readSafetensors(path);
  const format = file.metadata.format;
  if (format !== undefined && format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      path,
      null,
      format === TRAIN_STATE_FORMAT
        ? `this is a training state (format ${format}), not a checkpoint: use loadTrainState`
        : `unknown format "${format}" (expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  const { config, source } = await resolveConfig(path, file, expectCfg);
  const step = parseStep(path, file.metadata);
  const layout = paramLayout(config);
  const described = `the model of config n_layers=${config.n_layers}, d_model=${config.d_model}, ` +
    `n_heads=${config.n_heads}, d_vocab=${config.d_vocab}, n_ctx=${config.n_ctx}, ` +
    `normalization=${config.normalization}`;
  const missing = layout.tensors.filter((t) => !file.has(t.name));
  if (missing.length > 0) {
    const t = missing[0];
    throw new CheckpointError(
      path,
      t.name,
      `missing parameter (expected shape [${t.shape.join(", ")}] for ${described})` +
        (missing.length > 1
          ? `; ${missing.length - 1} more missing: ${missing.slice(1).map((m) => m.name).join(", ")}`
          : ""),
    );
  }
  const warnings: string[] = [];
  for (const e of file.entries) {
    if (layout.byName.has(e.name)) continue;
    if (isBufferTensor(e.name)) {
      warnings.push(`ignored non-parameter tensor "${e.name}" (${e.dtype} [${e.shape.join(", ")}])`);
      continue;
    }
    throw new CheckpointError(
      path,
      e.name,
      `unexpected parameter tensor (${e.dtype} [${e.shape.join(", ")}]) not in ${described}: ` +
        `a different architecture or config?`,
    );
  }
  const params = new Float32Array(layout.stride);
  for (const t of layout.tensors) {
    const e = file.entry(t.name);
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      throw new CheckpointError(
        path,
        t.name,
        `wrong shape: expected [${t.shape.join(", ")}], found [${e.shape.join(", ")}] (${described})`,
      );
    }
    if (!FLOAT_DTYPES.has(e.dtype)) {
      throw new CheckpointError(
        path,
        t.name,
        `dtype ${e.dtype}: a parameter must be floating-point (F32, F16, BF16 or F64)`,
      );
    }
    const data = file.float32(t.name);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new CheckpointError(path, t.name, `element ${i} is ${data[i]} (not finite)`);
      }
    }
    params.set(data, t.offset);
  }
  return { config, configSource: source, params, step, metadata: { ...file.metadata }, warnings };
}

/** A checkpoint found in a folder. */
export interface CheckpointEntry {
  step: number;
  path: string;
}

/**
 * The checkpoints of a folder (`step_NNNNNNN` or `checkpoint_NNNNNNN`, each `.safetensors`, `.pth` or `.pt`),
 * sorted by step. Two files for one step are an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointPath, initParams, listCheckpoints, saveCheckpoint, TINY_CONFIG } from "chi";
 *
 * const dir = await Deno.makeTempDir();
 * for (const step of [1000, 10]) {
 *   await saveCheckpoint(checkpointPath(dir, step), TINY_CONFIG, initParams(TINY_CONFIG, step), { step });
 * }
 * assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [10, 1000]); // sorted by step
 * ```
 */
export async function listCheckpoints(dir: string): Promise<CheckpointEntry[]> {
  const out: CheckpointEntry[] = [];
  const base = dir.replace(/\/+$/, "") || "/";
  try {
    for await (const ent of Deno.readDir(base)) {
      if (!ent.isFile && !ent.isSymlink) continue;
      const step = stepFromFileName(ent.name);
      if (step !== null) out.push({ step, path: `${base}/${ent.name}` });
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CheckpointError(dir, null, "checkpoint folder not found");
    }
    throw new CheckpointError(dir, null, `cannot list the folder (${(err as Error).message})`);
  }
  out.sort((a, b) => a.step - b.step || a.path.localeCompare(b.path));
  for (let i = 1; i < out.length; i++) {
    if (out[i].step === out[i - 1].step) {
      throw new CheckpointError(
        dir,
        null,
        `two checkpoints for step ${out[i].step}: ${out[i - 1].path}, ${out[i].path}`,
      );
    }
  }
  return out;
}

/** Everything needed to resume training exactly. */
export interface TrainState {
  config: ModelConfig;
  /** Optimizer steps taken so far. */
  step: number;
  /** One parameter copy in layout order (length = stride). */
  params: Float32Array;
  /** AdamW first and second moments, layout order (length = stride). */
  adamM: Float32Array;
  adamV: Float32Array;
  /** The random generator's state words. */
  rngState: Uint32Array;
  /** Position of the next batch in the training data. */
  dataCursor: number;
  /** Training loss per logged step (caller's convention), kept exactly. */
  lossHistory: Float64Array;
  /** Extra string metadata (keys format, config, step, data_cursor, extra are reserved). */
  extra?: Record<string, string>;
}

/** Saves a training state atomically as safetensors (tensors params, adam.m, adam.v, rng_state, loss_history). */
export async function saveTrainState(path: string, state: TrainState): Promise<void> {
  validateModelConfig(state.config, `${path}: config`);
  checkStep(path, state.step);
  const layout = paramLayout(state.config);
  checkFlat(path, "params", state.params, layout.stride, true);
  checkFlat(path, "adam.m", state.adamM, layout.stride, true);
  checkFlat(path, "adam.v", state.adamV, layout.stride, true);
  if (!(state.rngState instanceof Uint32Array)) {
    throw new CheckpointError(path, "rng_state", "expected a Uint32Array");
  }
  if (!(state.lossHistory instanceof Float64Array)) {
    throw new CheckpointError(path, "loss_history", "expected a Float64Array");
  }
  if (!Number.isSafeInteger(state.dataCursor) || state.dataCursor < 0) {
    throw new CheckpointError(path, null, `dataCursor must be an integer ≥ 0, got ${state.dataCursor}`);
  }
  await writeSafetensors(path, [
    ["params", { shape: [layout.stride], data: state.params }],
    ["adam.m", { shape: [layout.stride], data: state.adamM }],
    ["adam.v", { shape: [layout.stride], data: state.adamV }],
    ["rng_state", { shape: [state.rngState.length], data: state.rngState }],
    ["loss_history", { shape: [state.lossHistory.length], data: state.lossHistory }],
  ], {
    format: TRAIN_STATE_FORMAT,
    config: JSON.stringify(canonicalConfig(state.config)),
    step: String(state.step),
    data_cursor: String(state.dataCursor),
    ...extraMetadata(path, state.extra),
  });
}

function requireTensor(
  path: string,
  file: SafetensorsFile,
  name: string,
  dtype: string,
  length?: number,
): void {
  if (!file.has(name)) throw new CheckpointError(path, name, "missing from the training state");
  const e = file.entry(name);
  if (e.dtype !== dtype || e.shape.length !== 1 || (length !== undefined && e.shape[0] !== length)) {
    throw new CheckpointError(
      path,
      name,
      `expected ${dtype} [${length ?? "n"}], found ${e.dtype} [${e.shape.join(", ")}]`,
    );
  }
}

/** Loads a training state written by saveTrainState; `expectCfg`, when given, must match its config. */
export async function loadTrainState(path: string, expectCfg?: ModelConfig): Promise<TrainState> {
  const file = await readSafetensors(path);
  const md = file.metadata;
  if (md.format !== TRAIN_STATE_FORMAT) {
    throw new CheckpointError(
      path,
      null,
      `not a chi training state (__metadata__.format is ${
        md.format === undefined ? "absent" : `"${md.format}"`
      }, expected "${TRAIN_STATE_FORMAT}")`,
    );
  }
  if (md.config === undefined) throw new CheckpointError(path, null, "__metadata__.config is missing");
  const config = metadataConfig(path, md.config);
  requireExpected(path, config, expectCfg, "training state");
  const step = parseStep(path, md);
  if (step === null || md.step === undefined) {
    throw new CheckpointError(path, null, "__metadata__.step is missing");
  }
  const cursorText = md.data_cursor;
  if (cursorText === undefined || !/^\d+$/.test(cursorText) || !Number.isSafeInteger(Number(cursorText))) {
    throw new CheckpointError(
      path,
      null,
      `__metadata__.data_cursor must be an integer ≥ 0, got ${cursorText}`,
    );
  }
  const stride = paramLayout(config).stride;
  requireTensor(path, file, "params", "F32", stride);
  requireTensor(path, file, "adam.m", "F32", stride);
  requireTensor(path, file, "adam.v", "F32", stride);
  requireTensor(path, file, "rng_state", "U32");
  requireTensor(path, file, "loss_history", "F64");
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(md)) if (!RESERVED_KEYS.has(k)) extra[k] = v;
  return {
    config,
    step,
    params: file.float32("params"),
    adamM: file.float32("adam.m"),
    adamV: file.float32("adam.v"),
    rngState: file.tensor("rng_state") as Uint32Array,
    dataCursor: Number(cursorText),
    lossHistory: file.tensor("loss_history") as Float64Array,
    extra,
  };
}
