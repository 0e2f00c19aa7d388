/**
 * Per-token susceptibilities (and ablation deltas) split by whether the induction rule predicts the token
 * (lib/analysis/induction_rule.ts): per probe and head, the mean on tokens that copy what followed an earlier
 * occurrence of the current token, against the mean on the other tokens. An induction head's per-token χ
 * should stand out on the first kind.
 *
 *   deno run --allow-read=. scripts/induction_tokens.ts --per-token runs/per-token-tiny
 *
 * Reads per_token.arrow, contexts.arrow and (if present) ablation.arrow from the folder `scripts/per_token.ts`
 * wrote.
 */
import { splitByInductionRule } from "../lib/analysis/induction_rule.ts";
import { readAblationTable, readContextsTable, readPerTokenTable } from "../lib/tables/schema.ts";
import { runMain } from "../lib/util/main.ts";
import { exists } from "../lib/util/files.ts";
import { flagRequired, parseFlags } from "../lib/util/cli.ts";

const USAGE = "usage: induction_tokens.ts --per-token DIR (the output folder of scripts/per_token.ts)";

async function main(args: string[]): Promise<void> {
  const { values } = parseFlags(args, { "per-token": { type: "string" }, help: { type: "boolean" } });
  if (values.help) return console.log(USAGE);
  const dir = flagRequired("--per-token", values["per-token"]);
  const ctx = await readContextsTable(`${dir}/contexts.arrow`);
  const pt = await readPerTokenTable(`${dir}/per_token.arrow`);
  const ab = (await exists(`${dir}/ablation.arrow`))
    ? await readAblationTable(`${dir}/ablation.arrow`)
    : null;
  const fmt = (m: number, se: number) => `${m.toExponential(2).padStart(9)} ± ${se.toExponential(1)}`;
  for (const probe of [...new Set(ctx.probe)]) {
    const contexts = new Map<number, number[]>();
    for (let i = 0; i < ctx.probe.length; i++) {
      if (ctx.probe[i] !== probe) continue;
      const toks = contexts.get(ctx.context[i]) ?? [];
      toks[ctx.position[i]] = ctx.token[i];
      contexts.set(ctx.context[i], toks);
    }
    const pick = <T extends { probe: readonly string[] }>(t: T) =>
      Array.from(t.probe.keys()).filter((i) => t.probe[i] === probe);
    const rows = (t: typeof pt | NonNullable<typeof ab>, value: ArrayLike<number>) => {
      const idx = pick(t);
      return {
        restriction: idx.map((i) => t.restriction[i]),
        context: idx.map((i) => t.context[i]),
        position: idx.map((i) => t.position[i]),
        value: idx.map((i) => value[i]),
      };
    };
    const chi = splitByInductionRule(rows(pt, pt.chi), contexts);
    const abl = ab ? splitByInductionRule(rows(ab, ab.delta_loss), contexts) : [];
    console.log(
      `probe ${probe}: ${chi[0].nPredicted} tokens predicted by the induction rule, ${chi[0].nOther} others`,
    );
    console.log(
      `  head   per-token χ: predicted         other                 ablation Δloss: predicted / other`,
    );
    for (const s of chi) {
      const a = abl.find((x) => x.restriction === s.restriction);
      console.log(
        `  ${s.restriction.padEnd(5)}  ${fmt(s.predicted, s.predictedSe)}  ${fmt(s.other, s.otherSe)}` +
          (a ? `  ${a.predicted.toFixed(3)} / ${a.other.toFixed(3)}` : ""),
      );
    }
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
