import assert from "node:assert/strict";
import { getGpu } from "../lib/gpu/device.ts";
import { runPlantedValidation, separation } from "../lib/estimate/planted_validation.ts";

Deno.test("separation: difference over the combined standard error", () => {
  assert.equal(separation(5, 3, 1, 4), 0.8);
  assert.equal(separation(1, 3, 5, 4), -0.8);
});

Deno.test("runPlantedValidation: a short run gives χ̂ for every head and the circuit's roles", async () => {
  const r = await runPlantedValidation(await getGpu(), { chains: 2, draws: 10, batch: 4, seed: 1 });
  console.log(
    Object.entries(r.chi).map(([k, v]) => `${k} ${v.chi.toExponential(2)}±${v.se.toExponential(1)}`).join(
      "  ",
    ),
  );
  assert.deepEqual(Object.keys(r.chi).sort(), ["0:0", "0:1", "1:0", "1:1", "full"]);
  for (const v of Object.values(r.chi)) assert.ok(Number.isFinite(v.chi) && v.se >= 0);
  assert.ok(r.roles.previousToken[0] > 0.9 && r.roles.induction[2] > 0.5, "the wired heads keep their roles");
  assert.ok(Number.isFinite(r.minSeparation));
});
