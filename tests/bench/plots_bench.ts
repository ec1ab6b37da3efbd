/**
 * Figure rendering time (warm: Deno.bench runs warm-up iterations first).
 * The target: a 100-cluster shrinkage figure (Clark's default data) under
 * 100 ms from model to SVG string.
 *
 *   deno bench -A tests/bench/plots_bench.ts
 */
import { lm } from "../../lib/models/lm.ts";
import { lmer } from "../../lib/models/lmer/fit.ts";
import { clusterTrial, createData } from "../../lib/simulate/mod.ts";
import {
  caterpillarPlot,
  diagnosticsPlot,
  poolingPlot,
  shrinkagePlot,
  weightPlot,
} from "../../lib/plots/mod.ts";

const clark = lmer("y ~ x + (x | cluster)", createData());
const trial = clusterTrial({ seed: 824523 });
const trialLm = lm("dependent ~ predictor", trial);
const trialLmer = lmer("dependent ~ predictor + (1 | cluster)", trial);
// PNG needs resvg's native module: load it before timing.
await shrinkagePlot(clark).toPNG({ scale: 1 });

Deno.bench("shrinkagePlot, 100 clusters → SVG", { group: "shrinkage", baseline: true }, () => {
  shrinkagePlot(clark).toSVG();
});
Deno.bench("shrinkagePlot, 100 clusters, animated → SVG", { group: "shrinkage" }, () => {
  shrinkagePlot(clark, { animate: true }).toSVG();
});
Deno.bench("shrinkagePlot, 100 clusters → PNG (resvg, 2×)", { group: "shrinkage" }, async () => {
  await shrinkagePlot(clark).toPNG();
});
Deno.bench("poolingPlot with points (seed 003) → SVG", () => {
  poolingPlot(trialLm, trialLmer, { x: "predictor", group: "cluster", points: true }).toSVG();
});
Deno.bench("weightPlot (seed 003) → SVG", () => {
  weightPlot(trialLmer).toSVG();
});
Deno.bench("caterpillarPlot, 100 clusters × 2 terms → SVG", () => {
  caterpillarPlot(clark).toSVG();
});
Deno.bench("diagnosticsPlot, 1000 observations, 4 panels → SVG", () => {
  diagnosticsPlot(clark).toSVG();
});
