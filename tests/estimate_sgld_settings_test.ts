/**
 * lib/estimate/sgld_settings.ts: one settings shape, one defaults object and one validation, used alike by the
 * sweep config (errors name "sgld.<field>"), the scripts' flags (errors name the flag) and the library.
 */
import assert from "node:assert/strict";
import {
  PER_TOKEN_DEFAULTS,
  resolveSgld,
  SGLD_DEFAULTS,
  SGLD_FIELDS,
  SgldOptionError,
  validateSgld,
} from "../lib/estimate/sgld_settings.ts";
import { parseCommon, parseSgld } from "../lib/estimate/script_inputs.ts";
import {
  chiSgld,
  parseSweepConfig,
  perTokenSgld,
  SWEEP_DEFAULTS,
  SweepConfigError,
} from "../lib/sweep/config.ts";
import { UsageError } from "../lib/util/cli.ts";

Deno.test("sgld settings: defaults are the paper's; unset fields keep them; every field is validated", () => {
  assert.deepStrictEqual(resolveSgld(undefined), SGLD_DEFAULTS);
  assert.deepStrictEqual(resolveSgld({ draws: 7, eps: undefined }), { ...SGLD_DEFAULTS, draws: 7 });
  assert.equal(PER_TOKEN_DEFAULTS.paired, false);
  assert.deepStrictEqual(Object.keys(SGLD_DEFAULTS), SGLD_FIELDS);
  // γ = 0 (no localization) is allowed everywhere; ε and nβ must be > 0.
  assert.equal(resolveSgld({ gamma: 0 }).gamma, 0);
  assert.throws(
    () => resolveSgld({ eps: 0 }),
    (e) => e instanceof SgldOptionError && /"eps".*> 0/.test(e.message),
  );
  assert.throws(() => resolveSgld({ draws: 1.5 }), /"draws": expected an integer ≥ 1, got 1.5/);
  assert.throws(() => validateSgld({ ...SGLD_DEFAULTS, paired: "yes" }), /"paired": expected true or false/);
  assert.throws(() => validateSgld({ eps: 1 }), /"nbeta"/);
});

Deno.test("sgld settings from script flags: the same fields, errors naming the flag", () => {
  const flags = (...a: string[]) => parseSgld(parseCommon(a).values);
  assert.deepStrictEqual(flags(), SGLD_DEFAULTS);
  assert.deepStrictEqual(
    flags("--batch", "8", "--thin", "2", "--burn-in", "3", "--unpaired", "--rmsprop", "--gamma", "0"),
    {
      ...SGLD_DEFAULTS,
      batchSize: 8,
      stepsBetweenDraws: 2,
      burnIn: 3,
      paired: false,
      rmsprop: true,
      gamma: 0,
    },
  );
  assert.deepStrictEqual(parseSgld(parseCommon([]).values, PER_TOKEN_DEFAULTS), PER_TOKEN_DEFAULTS);
  assert.throws(
    () => flags("--batch", "0"),
    (e) => e instanceof UsageError && /^--batch: .*≥ 1/.test(e.message),
  );
  assert.throws(() => flags("--thin", "x"), /^UsageError: --thin: expected an integer/);
  assert.throws(() => flags("--eps=-1"), /--eps: expected a number > 0, got -1/);
});

Deno.test("sgld settings in the sweep config: extended with seqLen, the sweep's defaults, fields named", async () => {
  const c = await parseSweepConfig({ sgld: { stepsBetweenDraws: 2, lambda: 0.5 }, perToken: { draws: 4 } });
  const { seqLen, ...d } = SWEEP_DEFAULTS.sgld;
  assert.deepStrictEqual(chiSgld(c), { ...d, stepsBetweenDraws: 2, lambda: 0.5 });
  assert.equal(c.sgld.seqLen, seqLen);
  assert.deepStrictEqual(perTokenSgld(c), {
    ...chiSgld(c),
    chains: SWEEP_DEFAULTS.perToken.chains,
    draws: 4,
    batchSize: SWEEP_DEFAULTS.perToken.batchSize,
    paired: false,
  });
  const rejects = (raw: unknown, field: string, text: string) =>
    assert.rejects(
      () => parseSweepConfig(raw),
      (e) => e instanceof SweepConfigError && e.field === field && e.message.includes(text),
    );
  await rejects({ sgld: { gamma: -1 } }, "sgld.gamma", "≥ 0");
  await rejects({ sgld: { chains: 1 } }, "sgld.chains", "≥ 2");
  await rejects({ perToken: { batchSize: 0 } }, "perToken.batchSize", "≥ 1");
  await rejects({ sgld: { rmsprop: 1 } }, "sgld.rmsprop", "true or false");
});
