/**
 * One table of a device check's figures (bench/device_check.sh): reads the JSON and logs the check left in its
 * output folder and prints a Markdown table ready for README's "Benchmarks" section. A figure whose step
 * failed or did not run is shown as "—", never guessed.
 *
 *   deno run --allow-read=/tmp,. bench/device_table.ts OUT_DIR
 */
import { formatDuration } from "../lib/util/progress.ts";

const dir = Deno.args[0] ?? "/tmp/chi-device-check";

function text(name: string): string | undefined {
  try {
    return Deno.readTextFileSync(`${dir}/${name}`);
  } catch {
    return undefined;
  }
}

// deno-lint-ignore no-explicit-any
function json(name: string): any {
  const t = text(name)?.trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t.split("\n").at(-1)!);
  } catch {
    return undefined;
  }
}

const dash = "—";
const f = (x: unknown, digits = 2) => typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : dash;
const line = (log: string | undefined, re: RegExp) => log?.match(re)?.[1]?.trim() ?? dash;

const peak = json("peak.json");
const tiny = json("sgld_tiny.json");
const paper = json("sgld_paper.json");
const bench = text("bench.log");
const sweep = text("sweep.log");
const check = text("torch_check.log");
const rows: Array<[string, string]> = [];
rows.push(["host", peak?.host ?? tiny?.host ?? dash]);
rows.push(["FP32 FMA peak (GFLOP/s)", f(peak?.gflops, 1)]);
rows.push([
  "optional WebGPU features (probed)",
  Object.entries(peak?.features?.probed ?? {}).map(([k, v]) => `${k}: ${v}`).join("; ") || dash,
]);
rows.push(["matmul 512³ (GFLOP/s)", line(bench, /matmul 512×512×512: ([\d.]+)/)]);
rows.push(["train step, tiny (tokens/s)", line(bench, /tiny config .*?WebGPU (\d+) tokens\/s/)]);
rows.push(["train step, paper config (tokens/s)", line(bench, /paper config .*?step: (\d+) tokens\/s/)]);
for (const [name, r] of [["tiny", tiny], ["paper-shape (measured size)", paper]] as const) {
  if (!r) {
    rows.push([`SGLD ${name}`, dash]);
    continue;
  }
  const m = r.measured;
  const shape = `${m.copies} copies, batch ${m.batch}, T ${m.seqLen}, ${m.probes} probe(s)`;
  rows.push([`SGLD ${name}: ${shape} (copy-steps/s)`, f(r.copyStepsPerSecond)]);
  rows.push([
    `SGLD ${name}: GFLOP/s (% of FMA peak)`,
    `${f(r.gflops)} (${f(100 * r.gflops / r.peakGflops)} %)`,
  ]);
  for (const t of r.torch?.rows ?? []) {
    rows.push([
      `PyTorch ${r.torch.torch} ${r.torch.device}, ${t.name} (copy-steps/s; chi / PyTorch)`,
      `${f(t.copy_steps_per_s)} (${f(r.copyStepsPerSecond / t.copy_steps_per_s)})`,
    ]);
  }
}
const tuned = text("sgld_tiny_tuned.log");
rows.push(["tiles tuned (tiny shape): tuning", line(tuned, /tiles: (tuned .+)/)]);
rows.push(["SGLD tiny with tuned tiles (copy-steps/s)", line(tuned, /= ([\d.]+) copy-steps\/s/)]);
if (paper?.paperWorkloadSeconds) {
  rows.push(["paper χ step at 68 copies × batch 64 (s, scaled by FLOPs)", f(paper.paperChiStepSeconds)]);
  rows.push(["paper workload from bench-sgld (sampling)", formatDuration(paper.paperWorkloadSeconds)]);
}
rows.push(["bench-sweep estimate", line(sweep, /estimated sweep time[^:]*: (.+)/)]);
rows.push(["PyTorch vs chi reference loss", check ? (/MISMATCH/.test(check) ? "MISMATCH" : "agree") : dash]);

console.log(`| figure | value |\n| --- | --- |`);
for (const [k, v] of rows) console.log(`| ${k} | ${v.replaceAll("|", "/")} |`);
