/**
 * Test helpers shared by the analysis and report tests: a seeded random generator and synthetic results
 * tables with plausible values (a few probes × checkpoints × heads, a few 64-token contexts).
 */

import type {
  AblationInput,
  ContextsInput,
  PerTokenInput,
  SusceptibilityInput,
  TracesInput,
} from "../lib/analysis/tables.ts";

/** mulberry32: small deterministic PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a uniform generator. */
export function normal(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** The synthetic run's layout. */
export interface SyntheticShape {
  probes: string[];
  steps: number[];
  layers: number;
  heads: number;
  contexts: number;
  nCtx: number;
}

export const DEFAULT_SHAPE: SyntheticShape = {
  probes: ["github", "freelaw", "hackernews"],
  steps: [100, 200, 400, 800, 1600, 3200, 6400],
  layers: 2,
  heads: 4,
  contexts: 3,
  nCtx: 64,
};

/** A whole synthetic results folder's tables. */
export interface SyntheticTables {
  susceptibility: SusceptibilityInput;
  perToken: PerTokenInput;
  contexts: ContextsInput;
  ablation: AblationInput;
  traces: TracesInput;
  manifest: Record<string, unknown>;
}

const WORDS = [
  " the",
  " of",
  " to",
  " and",
  "(",
  ")",
  "\n",
  " ",
  "{",
  "}",
  " if",
  " x",
  " =",
  " 1",
  " <b>",
  " &",
  ".",
  ",",
];

/**
 * χ per head follows a few smooth modes over log-step, different per probe (so the PCA has structure);
 * per-token χ are noisy with a token-dependent mean whose average tracks the overall χ / δh (eq. 45).
 */
export function syntheticTables(shape: SyntheticShape = DEFAULT_SHAPE, seed = 7): SyntheticTables {
  const u = rng(seed);
  const z = normal(u);
  const sus = {
    step: [] as number[],
    probe: [] as string[],
    restriction: [] as string[],
    layer: [] as number[],
    head: [] as number[],
    chi: [] as number[],
    chi_se: [] as number[],
    llc: [] as number[],
    llc_se: [] as number[],
    delta_h: [] as number[],
    nbeta: [] as number[],
    n_chains: [] as number[],
    n_draws: [] as number[],
  };
  const deltaH = 0.1;
  const probeMode = shape.probes.map((_, d) => [1, Math.sin(d + 1), Math.cos(2 * d + 0.5)]);
  const headMode: number[][] = [];
  for (let l = 0; l < shape.layers; l++) {
    for (let h = 0; h < shape.heads; h++) headMode.push([1, l === 1 ? -1 : 0.5, (h % 2 ? 1 : -1) * 0.7]);
  }
  const chiOf = new Map<string, number>();
  const lastStep = shape.steps[shape.steps.length - 1];
  for (const step of shape.steps) {
    const t = Math.log(step / shape.steps[0]) / Math.log(lastStep / shape.steps[0]);
    const time = [0.02 * t, 0.01 * Math.sin(3 * t), 0.008 * t * t];
    shape.probes.forEach((probe, d) => {
      const rows: [number, number][] = [[-1, -1]];
      for (let l = 0; l < shape.layers; l++) for (let h = 0; h < shape.heads; h++) rows.push([l, h]);
      for (const [l, h] of rows) {
        const hm = l < 0 ? [shape.layers * shape.heads, 0, 0] : headMode[l * shape.heads + h];
        const chi = hm.reduce((a, w, c) => a + w * probeMode[d][c] * time[c], 0) + 0.0005 * z();
        const r = l < 0 ? "full" : `${l}:${h}`;
        chiOf.set(`${probe}|${step}|${r}`, chi);
        sus.step.push(step);
        sus.probe.push(probe);
        sus.restriction.push(r);
        sus.layer.push(l);
        sus.head.push(h);
        sus.chi.push(chi);
        sus.chi_se.push(0.001 + 0.0005 * u());
        sus.llc.push(20 + 30 * t + u());
        sus.llc_se.push(0.5 * u());
        sus.delta_h.push(deltaH);
        sus.nbeta.push(30);
        sus.n_chains.push(4);
        sus.n_draws.push(200);
      }
    });
  }
  const ctx = {
    probe: [] as string[],
    context: [] as number[],
    position: [] as number[],
    token: [] as number[],
    text: [] as string[],
  };
  const tokenIds = new Map<string, number>();
  const tokens = new Map<string, string[]>();
  for (const probe of shape.probes) {
    for (let c = 0; c < shape.contexts; c++) {
      const seq: string[] = [];
      for (let p = 0; p < shape.nCtx; p++) {
        const w = WORDS[Math.floor(u() * WORDS.length)];
        seq.push(w);
        if (!tokenIds.has(w)) tokenIds.set(w, tokenIds.size);
        ctx.probe.push(probe);
        ctx.context.push(c);
        ctx.position.push(p);
        ctx.token.push(tokenIds.get(w)!);
        ctx.text.push(w);
      }
      tokens.set(`${probe}|${c}`, seq);
    }
  }
  const pt = {
    probe: [] as string[],
    step: [] as number[],
    restriction: [] as string[],
    context: [] as number[],
    position: [] as number[],
    chi: [] as number[],
  };
  const ab = {
    probe: [] as string[],
    step: [] as number[],
    restriction: [] as string[],
    context: [] as number[],
    position: [] as number[],
    delta_loss: [] as number[],
  };
  for (const probe of shape.probes) {
    for (let l = 0; l < shape.layers; l++) {
      for (let h = 0; h < shape.heads; h++) {
        const r = `${l}:${h}`;
        const base = chiOf.get(`${probe}|${lastStep}|${r}`)! / deltaH;
        for (let c = 0; c < shape.contexts; c++) {
          const seq = tokens.get(`${probe}|${c}`)!;
          for (let p = 1; p < shape.nCtx; p++) {
            const w = seq[p];
            const tokenBias = w === " " || w === "\n" ? -0.6 : w === ")" || w === "}" ? 0.5 : 0.05;
            pt.probe.push(probe);
            pt.step.push(lastStep);
            pt.restriction.push(r);
            pt.context.push(c);
            pt.position.push(p);
            pt.chi.push(base + tokenBias * (1 + h / 4) + 0.3 * z());
            ab.probe.push(probe);
            ab.step.push(lastStep);
            ab.restriction.push(r);
            ab.context.push(c);
            ab.position.push(p);
            ab.delta_loss.push(0.05 * z() + 0.02 * u());
          }
        }
      }
    }
  }
  const tr = {
    step: [] as number[],
    probe: [] as string[],
    restriction: [] as string[],
    chain: [] as number[],
    draw: [] as number[],
    loss: [] as number[],
  };
  for (const probe of shape.probes.slice(0, 1)) {
    for (const r of ["full", "0:0"]) {
      for (let chain = 0; chain < 4; chain++) {
        for (let draw = 0; draw < 50; draw++) {
          tr.step.push(lastStep);
          tr.probe.push(probe);
          tr.restriction.push(r);
          tr.chain.push(chain);
          tr.draw.push(draw);
          tr.loss.push(3 + 0.2 * (1 - Math.exp(-draw / 8)) + 0.02 * z());
        }
      }
    }
  }
  return {
    susceptibility: sus,
    perToken: pt,
    contexts: ctx,
    ablation: ab,
    traces: tr,
    manifest: {
      run: "synthetic",
      config: {
        model: { n_layers: shape.layers, n_heads: shape.heads },
        sgld: { nbeta: 30, epsilon: 0.001, gamma: 300 },
      },
      seeds: { sgld: seed },
      versions: { deno: Deno.version.deno },
      adapter: { vendor: "test", architecture: "none" },
      git_commit: "0000000",
    },
  };
}

/** Writes the synthetic tables into `dir` with the table writers; files named in `omit` are left out. */
export async function writeSyntheticResults(
  dir: string,
  t: SyntheticTables,
  omit: readonly string[] = [],
): Promise<void> {
  const {
    writeAblationTable,
    writeContextsTable,
    writePerTokenTable,
    writeSusceptibilityTable,
    writeTracesTable,
  } = await import(
    "../lib/analysis/tables.ts"
  );
  const { writeJsonAtomic } = await import("../lib/util/files.ts");
  await Deno.mkdir(dir, { recursive: true });
  const files: [string, () => Promise<void>][] = [
    ["susceptibility.arrow", () => writeSusceptibilityTable(`${dir}/susceptibility.arrow`, t.susceptibility)],
    ["per_token.arrow", () => writePerTokenTable(`${dir}/per_token.arrow`, t.perToken)],
    ["contexts.arrow", () => writeContextsTable(`${dir}/contexts.arrow`, t.contexts)],
    ["ablation.arrow", () => writeAblationTable(`${dir}/ablation.arrow`, t.ablation)],
    ["traces.arrow", () => writeTracesTable(`${dir}/traces.arrow`, t.traces)],
    ["manifest.json", () => writeJsonAtomic(`${dir}/manifest.json`, t.manifest)],
  ];
  for (const [name, write] of files) if (!omit.includes(name)) await write();
}
