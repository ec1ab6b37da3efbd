/**
 * deno-lmer: linear and linear mixed-effects models for Deno notebooks,
 * matching R's `lm` and lme4's `lmer`, with R-identical random numbers.
 *
 * This module is what a statistician calls; lme4's fitting stages
 * (`lFormula` → `mkLmerDevfun` → `optimizeLmer` → `mkMerMod`), the
 * numerical core, the optimizer, the degrees-of-freedom and profile
 * machinery and every option and result type are in the second entry
 * point, `advanced.ts` (`"@deno-lmer/lmer/advanced"`).
 *
 * - **Data**: {@link DataLike} (a polars DataFrame, rows or columns),
 *   {@link dataset} (lme4's datasets, shipped with the library; see
 *   {@link DatasetName}), {@link datasetNames}, {@link readCsv}, {@link parseCsv};
 *   result tables are polars DataFrames ({@link DataFrame}).
 * - **Models**: {@link lm} → {@link LinearModel}, {@link lmer} →
 *   {@link LinearMixedModel}, with {@link LmOptions}, {@link LmerOptions};
 *   {@link glmer} → {@link GeneralizedLinearMixedModel} (binomial and
 *   Poisson GLMMs: Laplace and adaptive Gauss-Hermite quadrature), with {@link GlmerOptions}.
 * - **Inference**: {@link emmeans}, {@link anova}, {@link lmList},
 *   {@link confint} / {@link confintAsync} (also `m.confint()`), the
 *   {@link DdfMethod} of `m.coefTable({ df })`, {@link poolingTable},
 *   {@link partialPoolingFormula}, {@link partialPoolingParts}.
 * - **Simulation**: {@link rng} (R's random numbers), {@link createData}
 *   (Clark), {@link clusterTrial} (seed 003), {@link simulate}.
 * - **Figures**: {@link shrinkagePlot}, {@link poolingPlot},
 *   {@link weightPlot}, {@link caterpillarPlot}, {@link diagnosticsPlot},
 *   each a {@link Figure}; {@link Plot} (Observable Plot) for your own;
 *   {@link shrinkageExplorer} and {@link poolingExplorer}: figures with
 *   sliders, redrawn in the reader's browser.
 * - **Display**: every result has a {@link JUPYTER_DISPLAY} method, so it
 *   renders as the last value of a notebook cell; {@link setDenseThreads} and
 *   {@link parallelStatus} control the two-thread factorization.
 *
 * @example
 * ```ts ignore
 * import { createData, emmeans, lmer, shrinkagePlot } from "./mod.ts";
 * const d = createData({ nCluster: 50, seed: 1 });
 * const m = lmer("y ~ x + (x | cluster)", d);
 * console.log(String(m.summary({ ddf: "satterthwaite" })));
 * m.confint({ method: "Wald" });
 * await shrinkagePlot(m).save("shrinkage.svg");
 * ```
 * @module
 */
import "./lib/inference/lmerMethods.ts";
// lmer(formula, lazyFrame): the fit from a polars LazyFrame (registers itself with lmer)
import "./lib/sources/polars.ts";

// Data
export type { DataFrame } from "./lib/data/table.ts";
export type { DataLike } from "./lib/data/frame.ts";
export { parseCsv, readCsv } from "./lib/data/csv.ts";
export { dataset, datasetNames } from "./lib/datasets/mod.ts";
export type { DatasetName } from "./lib/datasets/mod.ts";

// Models
export { LinearModel, lm } from "./lib/models/lm.ts";
export type { LmOptions } from "./lib/models/lm.ts";
export { lmer } from "./lib/models/lmer/fit.ts";
export type { LmerOptions } from "./lib/models/lmer/fit.ts";
export { LinearMixedModel } from "./lib/models/lmer/model.ts";
export { glmer } from "./lib/models/glmer/fit.ts";
export type { GlmerOptions } from "./lib/models/glmer/fit.ts";
export { GeneralizedLinearMixedModel } from "./lib/models/glmer/model.ts";

// Inference
export { emmeans } from "./lib/inference/emmeans.ts";
export type { EmmeansOptions } from "./lib/inference/emmeans.ts";
export { anova } from "./lib/inference/anova.ts";
export { lmList } from "./lib/inference/lmList.ts";
export type { LmListOptions } from "./lib/inference/lmList.ts";
export { confint, confintAsync } from "./lib/inference/confint.ts";
export type { ConfintOptions, DdfMethod } from "./lib/models/lmer/extensions.ts";
export {
  partialPoolingFormula,
  partialPoolingParts,
  poolingTable,
} from "./lib/inference/pooling.ts";
export type { PartialPoolingParts, PoolingOptions } from "./lib/inference/pooling.ts";

// Simulation
export { rng } from "./lib/rng/mod.ts";
export { clusterTrial, createData } from "./lib/simulate/mod.ts";
export type { ClusterTrialOptions, CreateDataOptions } from "./lib/simulate/mod.ts";
export { simulate } from "./lib/simulate/simulateMerMod.ts";
export type { SimulateOptions, Simulations } from "./lib/simulate/simulateMerMod.ts";

// Figures
export {
  caterpillarPlot,
  diagnosticsPlot,
  Figure,
  Plot,
  poolingPlot,
  shrinkagePlot,
  weightPlot,
} from "./lib/plots/mod.ts";
export { poolingExplorer, shrinkageExplorer } from "./lib/plots/explorer.ts";

// Display
export { JUPYTER_DISPLAY } from "./lib/display/bundle.ts";
export { parallelStatus, setDenseThreads } from "./lib/linalg/parallel.ts";
