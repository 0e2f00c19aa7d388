/**
 * The benchmarks' FLOP and workload arithmetic (lib/bench/sgld_shape.ts, lib/bench/cpu_path.ts): the figures
 * "x % of peak" and "estimated workload time" divide by these, so they are checked against hand counts.
 */
import assert from "node:assert/strict";
import { PAPER_CONFIG, TINY_CONFIG } from "../lib/model/config.ts";
import {
  copiesOf,
  paperShape,
  paperWorkloadSeconds,
  perTokenStepFlops,
  sgldStepFlops,
  type TorchReport,
  torchShapeMismatch,
} from "../lib/bench/sgld_shape.ts";
import { forwardFlopsPerToken } from "../lib/model/flops.ts";
import { productFlops, sgldProducts } from "../lib/bench/cpu_path.ts";

Deno.test("forwardFlopsPerToken: the paper model at T = 1024 is 4.66 MFLOP (issue 12's count)", () => {
  // 2 layers × (QKVO 2·4·256·256 + causal QKᵀ and PV 2·2·512·256) + unembed 2·256·5000
  assert.equal(forwardFlopsPerToken(PAPER_CONFIG, 1024), 2 * (524_288 + 524_288) + 2_560_000);
});

Deno.test("paper shape: 68 copies; a step is fwd+bwd of 64 sequences plus 14 probes × 7 replacing rows", () => {
  const s = paperShape();
  assert.equal(copiesOf(s), 68);
  // Per token at T = 1024: fM = 524,288 (projections), fA = 524,288 (attention), fU = 2,560,000 (unembedding),
  // f = 4,657,152. Full passes: every copy 3f forward + backward, f forward only.
  const f = forwardFlopsPerToken(PAPER_CONFIG, 1024);
  assert.equal(sgldStepFlops(s, { fullPasses: true }), f * 1024 * 68 * (3 * 64 + 14 * 7));
  assert.equal(perTokenStepFlops(s, { fullPasses: true }), f * 1024 * 68 * (3 * 16 + 14 * 2 + 14 * 160));
  // Restriction-aware (lib/model/flops.ts), per token, fwd + bwd:
  //   full ×4: 3f = 13,971,456
  //   the head's own layer, backward: its share of dz, of the attention backward and its weight gradients,
  //   (fM/4 + 2fA + fM)/8 = 212,992
  //   layer-0 head ×32: fwd f; bwd fU + (fM + 2fA) + 212,992 = 4,345,856 → 9,003,008
  //   layer-1 head ×32: fwd fM + fA + fU = 3,608,576; bwd fU + 212,992 = 2,772,992 → 6,381,568
  //   the representative's layer 0: fM + fA = 1,048,576
  //   sum 549,240,832; forward only: 4f + 32f + 32·3,608,576 + 1,048,576 = 284,180,480.
  assert.equal(sgldStepFlops(s), 1024 * (64 * 549_240_832 + 14 * 7 * 284_180_480));
  assert.equal(perTokenStepFlops(s), 1024 * (16 * 549_240_832 + (14 * 2 + 14 * 160) * 284_180_480));
  // 200 draws × 30 checkpoints of the χ step, 100 draws of the per-token step
  assert.equal(paperWorkloadSeconds(2, 3), 2 * 6000 + 3 * 100);
});

Deno.test("torchShapeMismatch names every field in which the PyTorch run differs", () => {
  const s = { ...paperShape(), restrictions: 2, chains: 1, batch: 2, probes: 1 };
  const r: TorchReport = {
    device: "cpu",
    torch: "x",
    threads: 1,
    shape: { config: "paper", seq_len: 1024, copies: 2, batch: 2, probes: 1, replaced_rows: 1 },
    rows: [],
  };
  assert.equal(torchShapeMismatch(r, s, "paper"), undefined);
  const bad = torchShapeMismatch({ ...r, shape: { ...r.shape, copies: 3, seq_len: 64 } }, s, "paper");
  assert.match(bad!, /seq_len: torch 64, chi 1024/);
  assert.match(bad!, /copies: torch 3, chi 2/);
});

Deno.test("sgldProducts: the tiny copy-step's products add up to a hand count", () => {
  const ps = sgldProducts(TINY_CONFIG, 8, 64);
  const R = 512, D = 64, V = 512, HE = 64, T = 64, E = 16, L = 2, BH = 8 * 4;
  const dense = 3 * (L * (2 * R * 3 * HE * D + 2 * R * D * HE) + 2 * R * V * D);
  const attn = L * BH * (2 * 2 * T * T * E + 4 * 2 * T * E * T);
  assert.equal(productFlops(ps), dense + attn);
});
