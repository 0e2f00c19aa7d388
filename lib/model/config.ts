/**
 * The model family of the paper (section 4, appendix C): an attention-only transformer in the
 * TransformerLens layout. One typed object with defaults, validated once at the edge.
 */

import { ChiInputError } from "../util/errors.ts";

export type Normalization = "LN" | "none";
export type PositionalEmbedding = "shortformer" | "standard";

export interface ModelConfig {
  n_layers: number;
  n_heads: number;
  d_model: number;
  d_head: number;
  /** Context length: the longest sequence the positional embedding covers. */
  n_ctx: number;
  d_vocab: number;
  /** "LN": pre-LN blocks (ln1 per block) and ln_final, TransformerLens LayerNorm (eps 1e-5). */
  normalization: Normalization;
  /**
   * "shortformer": W_pos is added to the layer-normed query and key inputs only (the paper's model);
   * "standard": W_pos is added to the residual stream after the token embedding.
   */
  positional: PositionalEmbedding;
}

/** The paper's "L2W256-3M" model: 3,355,016 parameters. */
export const PAPER_CONFIG: Readonly<ModelConfig> = Object.freeze({
  n_layers: 2,
  n_heads: 8,
  d_model: 256,
  d_head: 32,
  n_ctx: 1024,
  d_vocab: 5000,
  normalization: "LN",
  positional: "shortformer",
});

/** The embedded default: small enough that the whole sweep runs in minutes on a 2-core CPU adapter. */
export const TINY_CONFIG: Readonly<ModelConfig> = Object.freeze({
  n_layers: 2,
  n_heads: 4,
  d_model: 64,
  d_head: 16,
  n_ctx: 64,
  d_vocab: 512,
  normalization: "LN",
  positional: "shortformer",
});

/** Thrown for a configuration that does not describe a buildable model; names the field. */
export class ConfigError extends ChiInputError {
  constructor(readonly field: string, message: string) {
    super(`config field "${field}": ${message}`); // named "ConfigError" by ChiInputError
  }
}

const INTEGER_FIELDS = ["n_layers", "n_heads", "d_model", "d_head", "n_ctx", "d_vocab"] as const;

/** Copies the optional text field `field` of `obj` into `cfg` when present, after checking it is one of `allowed`. */
function copyChoice<K extends "normalization" | "positional">(
  obj: Record<string, unknown>,
  cfg: ModelConfig,
  field: K,
  allowed: readonly NonNullable<ModelConfig[K]>[],
  source: string,
): void {
  const v = obj[field];
  if (v === undefined) return;
  if (!(allowed as readonly unknown[]).includes(v)) {
    const expected = allowed.map((a) => `"${a}"`).join(" or ");
    throw new ConfigError(field, `${source}: expected ${expected}, got ${JSON.stringify(v)}`);
  }
  cfg[field] = v as ModelConfig[K];
}

/**
 * Validates an untrusted object (parsed JSON, CLI flags) into a ModelConfig. Missing fields take the
 * values of `defaults`. `source` names the file or flag set in error messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseModelConfig, TINY_CONFIG } from "chi";
 *
 * // Missing fields take the defaults' values; bad ones throw a ConfigError naming the field.
 * const cfg = parseModelConfig({ n_layers: 1, n_ctx: 32 }, "my-config.json", TINY_CONFIG);
 * assert.equal(cfg.n_layers, 1);
 * assert.equal(cfg.d_model, TINY_CONFIG.d_model);
 * ```
 */
export function parseModelConfig(
  raw: unknown,
  source = "model config",
  defaults: Readonly<ModelConfig> = TINY_CONFIG,
): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError("(root)", `${source}: expected a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  const known = new Set<string>([...INTEGER_FIELDS, "normalization", "positional"]);
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) {
      throw new ConfigError(key, `${source}: unknown field (known: ${[...known].join(", ")})`);
    }
  }
  const cfg: ModelConfig = { ...defaults };
  for (const f of INTEGER_FIELDS) {
    if (obj[f] === undefined) continue;
    const v = obj[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new ConfigError(f, `${source}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
    cfg[f] = v;
  }
  copyChoice(obj, cfg, "normalization", ["LN", "none"], source);
  copyChoice(obj, cfg, "positional", ["shortformer", "standard"], source);
  validateModelConfig(cfg, source);
  return cfg;
}

/**
 * Checks the constraints between fields; throws ConfigError naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError, TINY_CONFIG, validateModelConfig } from "chi";
 *
 * validateModelConfig(TINY_CONFIG, "TINY_CONFIG"); // fine
 * assert.throws(() => validateModelConfig({ ...TINY_CONFIG, d_head: 0 }, "flags"), ConfigError);
 * ```
 */
export function validateModelConfig(cfg: ModelConfig, source = "model config"): void {
  for (const f of INTEGER_FIELDS) {
    if (!Number.isInteger(cfg[f]) || cfg[f] < 1) {
      throw new ConfigError(f, `${source}: expected a positive integer, got ${cfg[f]}`);
    }
  }
  if (cfg.n_heads * cfg.d_head !== cfg.d_model) {
    throw new ConfigError(
      "d_head",
      `${source}: n_heads × d_head must equal d_model (${cfg.n_heads} × ${cfg.d_head} = ${
        cfg.n_heads * cfg.d_head
      }, d_model = ${cfg.d_model})`,
    );
  }
  if (cfg.d_model % 4 !== 0 || cfg.d_head % 4 !== 0) {
    throw new ConfigError("d_model", `${source}: d_model and d_head must be multiples of 4 (vec4 kernels)`);
  }
  if (cfg.n_ctx > 4096) {
    throw new ConfigError("n_ctx", `${source}: n_ctx ${cfg.n_ctx} exceeds the supported maximum of 4096`);
  }
  if (cfg.d_vocab > 1 << 20) {
    throw new ConfigError(
      "d_vocab",
      `${source}: d_vocab ${cfg.d_vocab} exceeds the supported maximum of 1048576`,
    );
  }
}
