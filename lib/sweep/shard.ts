/**
 * Which slice of the work units this process runs: `--shard i/N`, or the index a scheduler gives an array
 * task — Slurm job arrays (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT) and Kubernetes
 * Indexed Jobs (JOB_COMPLETION_INDEX; the count from --shard-count or CHI_SHARD_COUNT, since Kubernetes does
 * not export `completions`). Units are dealt round-robin over the canonical unit order, so every shard gets a
 * mix of early and late checkpoints.
 */

import { UsageError } from "../util/cli.ts";

export interface ShardSpec {
  index: number;
  count: number;
  /** Where the spec came from, for logs and the manifest. */
  source: string;
}

/** The whole plan in one process. */
export const SINGLE_SHARD: Readonly<ShardSpec> = Object.freeze({
  index: 0,
  count: 1,
  source: "single process",
});

function int(what: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${what}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function checked(index: number, count: number, source: string): ShardSpec {
  if (index >= count) {
    throw new UsageError(`${source}: shard index ${index} is not below the shard count ${count}`);
  }
  return { index, count, source };
}

/** Parses "i/N" (0 ≤ i < N). */
export function parseShardFlag(value: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new UsageError(`--shard: expected "i/N" (e.g. 0/4), got ${JSON.stringify(value)}`);
  return checked(int("--shard index", m[1], 0), int("--shard count", m[2], 1), "--shard");
}

/**
 * The shard of this process: the --shard flag, else a scheduler's environment, else the single shard.
 * `env` is a lookup (Deno.env.get in scripts) so tests need no environment permission.
 */
export function resolveShard(
  flag: string | undefined,
  countFlag: string | undefined,
  env: (name: string) => string | undefined,
): ShardSpec {
  if (flag !== undefined) {
    if (countFlag !== undefined) throw new UsageError("--shard-count: not used with --shard i/N");
    return parseShardFlag(flag);
  }
  const count = countFlag !== undefined ? int("--shard-count", countFlag, 1) : undefined;
  const slurmId = env("SLURM_ARRAY_TASK_ID");
  if (slurmId !== undefined && slurmId !== "") {
    const min = int("SLURM_ARRAY_TASK_MIN", env("SLURM_ARRAY_TASK_MIN") ?? "0", 0);
    const id = int("SLURM_ARRAY_TASK_ID", slurmId, min);
    const n = count ??
      int("SLURM_ARRAY_TASK_COUNT (or --shard-count)", env("SLURM_ARRAY_TASK_COUNT") ?? "", 1);
    return checked(id - min, n, `SLURM_ARRAY_TASK_ID=${slurmId}`);
  }
  const k8s = env("JOB_COMPLETION_INDEX");
  if (k8s !== undefined && k8s !== "") {
    const envCount = env("CHI_SHARD_COUNT");
    if (count === undefined && (envCount === undefined || envCount === "")) {
      throw new UsageError(
        "JOB_COMPLETION_INDEX is set but the shard count is not: pass --shard-count N or set CHI_SHARD_COUNT " +
          "to the Job's completions",
      );
    }
    const n = count ?? int("CHI_SHARD_COUNT", envCount!, 1);
    return checked(int("JOB_COMPLETION_INDEX", k8s, 0), n, `JOB_COMPLETION_INDEX=${k8s}`);
  }
  if (count !== undefined) {
    throw new UsageError("--shard-count: needs a scheduler index (or use --shard i/N)");
  }
  return { ...SINGLE_SHARD };
}

/** The items of shard `s`: positions index, index + count, index + 2·count, … of `items`. */
export function shardItems<T>(items: readonly T[], s: ShardSpec): T[] {
  return items.filter((_, i) => i % s.count === s.index);
}
