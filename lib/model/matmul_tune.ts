/**
 * The matmul tile autotuner: for each matmul shape, times candidate tiles on this adapter once, keeps the
 * fastest, and remembers the choice (in this process, and in a JSON file between runs when one is given). The
 * attention kernels' rows per invocation are tuned through it too (family "attention", lib/model/attention.ts).
 *
 * Why: the best tile depends on the adapter. On llvmpipe a kernel's speed swings about 5× between CPUs (vector
 * width, cache sizes, core count), and a discrete GPU's best workgroup tile depends on its register file,
 * shared memory and warp width; one heuristic cannot fit them all.
 *
 * Why it is safe: a tile only changes which invocation computes which outputs, not how an output is summed.
 * Every candidate accumulates its k products in the same order (the "cpu" family over k in blocks of 4, the "gpu"
 * family over k in its staged blocks), so all candidates give bit-identical results (tests/matmul_tune_test.ts
 * checks it on every candidate). The choices that change the order of summation — the "cpu" family's split-K
 * factor ks and the "gpu" family's split-K chunk count — are fixed before tuning and never tuned. A tuned run
 * therefore draws exactly the numbers an untuned run draws; only its speed differs.
 *
 * The search: coordinate descent from the shape heuristic's tile over its neighbours (each field doubled or
 * halved), moving while a neighbour is at least MIN_GAIN faster, at most MAX_ROUNDS moves. Timing runs on
 * scratch buffers laid out like the real operands (same leading dimensions, same vec4 alignment), so the real
 * buffers are never touched.
 */
import type { Gpu } from "../gpu/device.ts";
import type { Dispatch } from "../gpu/dispatch.ts";
import { encodeProgram } from "../gpu/program.ts";
import { sync } from "../gpu/buffers.ts";
import { ChiInputError } from "../util/errors.ts";
import { UsageError } from "../util/cli.ts";

/** How the matmul tiles are chosen; one object per process's GPU, set by the scripts at their edge. */
export interface TileTuning {
  /** "heuristic": the shape rule (chooseCpuTile, DEFAULT_GPU_TILE); "tuned": time candidates once per shape. */
  mode: "heuristic" | "tuned";
  /** JSON file that keeps the tuned tiles between runs (read at setTileTuning, rewritten after each new shape). */
  cacheFile?: string;
}

/** What the tuner did in this process, for the benchmarks' output. */
export interface TuningSummary {
  mode: TileTuning["mode"];
  cacheFile?: string;
  /** Shapes timed in this process, and shapes whose tile came from the cache file. */
  tuned: number;
  cached: number;
  /** Shapes where a candidate beat the heuristic tile. */
  changed: number;
  /** Seconds spent compiling and timing candidates. */
  seconds: number;
  /** Σ heuristic ms / Σ tuned ms over the shapes timed in this process (1 when none was). */
  speedup: number;
}

/** One remembered choice: the tile, its time and the heuristic tile's time (ms per dispatch set). */
interface Entry {
  tile: Record<string, number>;
  ms: number;
  baseMs: number;
}

interface TunerState {
  tuning: TileTuning;
  adapter: string;
  entries: Map<string, Entry>;
  /** Entries of other adapters found in the cache file, written back unchanged. */
  others: Record<string, Record<string, Entry>>;
  summary: TuningSummary;
  baseTotal: number;
  tunedTotal: number;
  warnedWrite: boolean;
}

const CACHE_FORMAT = "chi-tile-cache/1";
/** A neighbour must be this much faster to be taken (timing noise on a shared CPU is a few per cent). */
const MIN_GAIN = 0.05;
const MAX_ROUNDS = 4;
/** Each timing replays the dispatches until it lasts this long, and keeps the best of TRIALS. */
const MIN_TIMING_MS = 8;
const TRIALS = 3;

const states = new WeakMap<Gpu, TunerState>();

/**
 * The adapter a cache entry belongs to: its name (llvmpipe's includes the LLVM version and vector width), the
 * backend, the thread count and the Deno version (whose WGSL compiler shapes the generated code).
 */
export function adapterKey(gpu: Gpu): string {
  const r = gpu.record;
  return [
    r.description || r.device,
    r.vendor,
    r.architecture,
    r.backend,
    `${navigator.hardwareConcurrency} threads`,
    `Deno ${Deno.version.deno}`,
  ]
    .join(" | ");
}

/** Thrown when the cache file exists but is not a tile cache (a wrong path is better refused than overwritten). */
export class TileCacheError extends ChiInputError {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail} (a tile cache written by chi is expected; delete the file to start a new one)`);
    this.name = "TileCacheError";
  }
}

/**
 * Sets how this GPU's matmuls choose their tiles, and loads the cache file's entries for this adapter. Call
 * before the models are built: tiles are chosen when a matmul is prepared.
 */
export async function setTileTuning(gpu: Gpu, tuning: TileTuning): Promise<void> {
  const adapter = adapterKey(gpu);
  const state: TunerState = {
    tuning,
    adapter,
    entries: new Map(),
    others: {},
    summary: {
      mode: tuning.mode,
      cacheFile: tuning.cacheFile,
      tuned: 0,
      cached: 0,
      changed: 0,
      seconds: 0,
      speedup: 1,
    },
    baseTotal: 0,
    tunedTotal: 0,
    warnedWrite: false,
  };
  if (tuning.mode === "tuned" && tuning.cacheFile) {
    const all = await readCache(tuning.cacheFile);
    for (const [key, entries] of Object.entries(all)) {
      if (key === adapter) { for (const [shape, e] of Object.entries(entries)) state.entries.set(shape, e); }
      else state.others[key] = entries;
    }
  }
  states.set(gpu, state);
}

/** What the tuner did so far in this process. */
export function tuningSummary(gpu: Gpu): TuningSummary {
  const s = states.get(gpu);
  if (!s) return { mode: "heuristic", tuned: 0, cached: 0, changed: 0, seconds: 0, speedup: 1 };
  return { ...s.summary, speedup: s.tunedTotal > 0 ? s.baseTotal / s.tunedTotal : 1 };
}

async function readCache(file: string): Promise<Record<string, Record<string, Entry>>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw new TileCacheError(file, `cannot be read (${(err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TileCacheError(file, "is not JSON");
  }
  const p = parsed as { format?: unknown; adapters?: unknown };
  if (p?.format !== CACHE_FORMAT || typeof p.adapters !== "object" || p.adapters === null) {
    throw new TileCacheError(file, `has no "format": "${CACHE_FORMAT}" with an "adapters" object`);
  }
  return p.adapters as Record<string, Record<string, Entry>>;
}

/** Rewrites the cache file atomically (temp file, then rename); without write permission, warns once. */
async function writeCache(state: TunerState): Promise<void> {
  const file = state.tuning.cacheFile;
  if (!file) return;
  const adapters = { ...state.others, [state.adapter]: Object.fromEntries(state.entries) };
  const tmp = `${file}.${Deno.pid}.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify({ format: CACHE_FORMAT, adapters }, null, 1) + "\n");
    await Deno.rename(tmp, file);
  } catch (err) {
    if (!state.warnedWrite) {
      state.warnedWrite = true;
      console.error(
        `warning: tile cache ${file} not written (${(err as Error).message}); tiles stay in memory`,
      );
    }
  }
}

/**
 * Milliseconds one replay of `ops` takes. A submit-and-wait costs about 10 ms on llvmpipe whatever it runs, so
 * the dispatches are replayed until one timing lasts MIN_TIMING_MS beyond that, and the cost of an empty
 * submit-and-wait is subtracted; best of TRIALS.
 */
export async function timeDispatches(gpu: Gpu, ops: readonly Dispatch[]): Promise<number> {
  const run = async (n: number) => {
    const enc = gpu.device.createCommandEncoder({ label: "tile tuning" });
    for (let i = 0; i < n; i++) encodeProgram(enc, ops, "tile tuning");
    const t0 = performance.now();
    gpu.device.queue.submit([enc.finish()]);
    await sync(gpu);
    return performance.now() - t0;
  };
  let idle = Infinity;
  for (let t = 0; t < TRIALS; t++) idle = Math.min(idle, await run(0));
  await run(1); // warm-up: the first dispatch of a pipeline may compile it
  let n = 1, ms = await run(1) - idle;
  while (ms < MIN_TIMING_MS && n < 512) {
    n = Math.min(512, n * Math.max(2, Math.ceil(MIN_TIMING_MS / Math.max(ms, 0.05))));
    ms = await run(n) - idle;
  }
  for (let t = 1; t < TRIALS; t++) ms = Math.min(ms, await run(n) - idle);
  return Math.max(ms, 1e-6) / n;
}

/** A tile family's part of the search: its neighbours and how to time a candidate (undefined: not buildable). */
export interface TileSearch<T extends object> {
  /** The matmul families, or the attention kernels' rows per invocation (lib/model/attention.ts). */
  family: "cpu" | "gpu" | "attention";
  /** Identifies the shape: everything the kernel's speed depends on except the tile. */
  shape: string;
  base: T;
  neighbours(t: T): T[];
  /** ms per dispatch of a candidate, or undefined when the candidate cannot be built on this adapter. */
  time(t: T): Promise<number | undefined>;
}

/**
 * The tile to use for one shape: the heuristic's when tuning is off, else the remembered or newly tuned one.
 * Ties and small gains keep the heuristic's tile, so an untuned and a tuned run differ only where timing says so.
 */
export async function tunedTile<T extends object>(gpu: Gpu, search: TileSearch<T>): Promise<T> {
  const state = states.get(gpu);
  if (!state || state.tuning.mode !== "tuned") return search.base;
  const key = `${search.family} ${search.shape}`;
  const known = state.entries.get(key);
  if (known) {
    state.summary.cached++;
    return known.tile as T;
  }
  const t0 = performance.now();
  const seen = new Map<string, number | undefined>();
  const timeOf = async (t: T) => {
    const k = JSON.stringify(t);
    if (!seen.has(k)) seen.set(k, await search.time(t));
    return seen.get(k);
  };
  const baseMs = await timeOf(search.base);
  if (baseMs === undefined) return search.base;
  let best = search.base, bestMs = baseMs;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let move: { t: T; ms: number } | undefined;
    for (const t of search.neighbours(best)) {
      const ms = await timeOf(t);
      if (ms !== undefined && ms < bestMs * (1 - MIN_GAIN) && (!move || ms < move.ms)) move = { t, ms };
    }
    if (!move) break;
    [best, bestMs] = [move.t, move.ms];
  }
  state.entries.set(key, { tile: best as Record<string, number>, ms: bestMs, baseMs });
  state.summary.tuned++;
  if (best !== search.base) state.summary.changed++;
  state.summary.seconds += (performance.now() - t0) / 1000;
  state.baseTotal += baseMs;
  state.tunedTotal += bestMs;
  await writeCache(state);
  return best;
}

/** The scripts' tile flags (node:util parseArgs format). */
export const TILE_OPTIONS = {
  tiles: { type: "string", default: "heuristic" },
  "tile-cache": { type: "string" },
} as const;

/** One usage line for TILE_OPTIONS. */
export const TILE_USAGE =
  "  tiles:        [--tiles heuristic|tuned] [--tile-cache FILE (default runs/tile-cache.json)]: tuned times\n" +
  "                candidate matmul tiles once per adapter and shape; same numbers, speed only (docs/tiles.md)";

/** The tuning the flags ask for; a bad --tiles value is refused naming the flag. */
export function tuningFromFlags(v: { tiles?: string; "tile-cache"?: string }): TileTuning {
  const mode = v.tiles ?? "heuristic";
  if (mode !== "heuristic" && mode !== "tuned") {
    throw new UsageError(`--tiles: expected heuristic or tuned, got "${mode}"`);
  }
  if (mode === "heuristic" && v["tile-cache"] !== undefined) {
    throw new UsageError("--tile-cache: goes with --tiles tuned");
  }
  return mode === "tuned" ? { mode, cacheFile: v["tile-cache"] ?? "runs/tile-cache.json" } : { mode };
}
