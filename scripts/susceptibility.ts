/**
 * Susceptibilities (eq. 41 / appendix C.1) and LLCs of every probe × restriction at each checkpoint, one
 * batched SGLD run per checkpoint, written as susceptibility.arrow + traces.arrow + chi_terms.arrow (paired
 * runs: the per-draw series of each χ̂, for the SE of head differences) + manifest.json.
 *
 *   deno run --allow-read=. --allow-write=runs --allow-env scripts/susceptibility.ts \
 *     --checkpoints runs/train-tiny/checkpoints --steps 0,500,2000 --out runs/chi-tiny [--probes induction,code]
 */
import { getGpu } from "../lib/gpu/device.ts";
import { setTileTuning, tuningFromFlags } from "../lib/model/matmul_tune.ts";
import { writeChiTermsTable, writeSusceptibilityTable, writeTracesTable } from "../lib/tables/schema.ts";
import { writeRunManifest } from "../lib/util/manifest.ts";
import { runCheckpointSusceptibilities } from "../lib/estimate/unit.ts";
import { formatHealth, healthSummary } from "../lib/estimate/health.ts";
import { healthRecord } from "../lib/estimate/health_record.ts";
import { concatColumns } from "../lib/estimate/script_run.ts";
import { formatSusceptibilityRows } from "../lib/analysis/result_table.ts";
import { formatSamplingWork } from "../lib/sweep/work.ts";
import { runMain } from "../lib/util/main.ts";
import {
  COMMON_USAGE,
  loadScriptCheckpoint,
  loadScriptInputs,
  parseCommon,
  samplingAt,
} from "../lib/estimate/script_inputs.ts";

const USAGE = `usage: susceptibility.ts [flags]${COMMON_USAGE}`;

async function main(args: string[]): Promise<void> {
  const { values: v } = parseCommon(args);
  if (v.help) return console.log(USAGE);
  const tiles = tuningFromFlags(v); // checked before any input is loaded
  const inputs = await loadScriptInputs(v, { probes: "mixed" });
  const { checkpoints, cfg, restrictions, sgld, run, data } = inputs;
  const shape = { sgld, restrictions, probes: data.probes.length, contexts: 0 };
  console.log(formatSamplingWork(cfg, run.seqLen, run.deltaH, checkpoints.length, shape));
  const gpu = await getGpu();
  await setTileTuning(gpu, tiles);
  const susceptibility = [], traces = [], chiTerms = [], health = [];
  for (const ck of checkpoints) {
    const loaded = await loadScriptCheckpoint(ck.path, cfg);
    const res = await runCheckpointSusceptibilities(gpu, {
      ...samplingAt(inputs, ck.step, loaded.params, `step ${ck.step}`),
      probes: data.probes,
      deltaH: run.deltaH,
      restrictions,
    });
    susceptibility.push(res.susceptibility);
    traces.push(res.traces);
    chiTerms.push(res.chiTerms);
    console.log(formatHealth(healthSummary(res.run.result, res.run.still)));
    // The sweep's format (HealthRecord), which the report reads from the manifest's extra.health.
    health.push({ ...healthRecord("chi", ck.step, res.run), record: res.run.result.record });
  }
  const table = concatColumns(susceptibility);
  console.log(formatSusceptibilityRows(table));
  await Deno.mkdir(run.out, { recursive: true });
  await writeSusceptibilityTable(`${run.out}/susceptibility.arrow`, table);
  await writeTracesTable(`${run.out}/traces.arrow`, concatColumns(traces));
  await writeChiTermsTable(`${run.out}/chi_terms.arrow`, concatColumns(chiTerms));
  await writeRunManifest(run.out, {
    config: { model: cfg, restrictions, sgld, ...run, probes: data.probes.map((p) => p.name) },
    seeds: { sgld: run.seed },
    inputs: {
      ...data.paths,
      ...Object.fromEntries(checkpoints.map((c) => [`checkpoint_${c.step}`, c.path])),
    },
    adapter: gpu.record,
    extra: {
      health,
    },
  });
  console.log(
    `${run.out}: susceptibility.arrow (${table.chi.length} rows), traces.arrow, chi_terms.arrow, manifest.json`,
  );
}

if (import.meta.main) await runMain(() => main(Deno.args));
