/**
 * deno-lmer: linear and linear mixed-effects models for Deno notebooks,
 * matching R's `lm` and lme4's `lmer`, with R-identical random numbers.
 *
 * @example
 * ```ts ignore
 * import { lm } from "./mod.ts";
 * const fit = lm("y ~ x", { y: [1.1, 1.9, 3.2, 3.9], x: [1, 2, 3, 4] });
 * console.log(String(fit.summary()));
 * ```
 * @module
 */
import "./lib/inference/lmerMethods.ts";

export type { DataFrame, SeriesLike } from "./lib/data/table.ts";
export type {
  Cell,
  Column,
  DataLike,
  FactorColumn,
  Frame,
  NumericColumn,
} from "./lib/data/frame.ts";
export { parseCsv, readCsv } from "./lib/data/csv.ts";
export { modelFrame } from "./lib/design/modelframe.ts";
export type { DataOptions, FactorSpec, ModelFrame, ReTermPlan } from "./lib/design/modelframe.ts";
export type { FixedDesign, ReTerm } from "./lib/design/reterm.ts";
export type { Coding, FixedPlan } from "./lib/design/fixed.ts";
export type { Contrast } from "./lib/design/contrasts.ts";
export type { TransformState } from "./lib/formula/evaluate.ts";
export { FormulaError } from "./lib/formula/tokenize.ts";
export { parseFormula } from "./lib/formula/parse.ts";
export type { Expr, ParsedFormula } from "./lib/formula/parse.ts";
export type { ModelFormula, RandomTerm, Term, TermSet, Variable } from "./lib/formula/terms.ts";
export { LinearModel, lm, LmSummary } from "./lib/models/lm.ts";
export type { LmOptions } from "./lib/models/lm.ts";
export { lFormula, lmer, mkLmerDevfun, mkMerMod, optimizeLmer } from "./lib/models/lmer/fit.ts";
export type {
  LmerControl,
  LmerDevfun,
  LmerFrame,
  LmerOptions,
  OptSummary,
} from "./lib/models/lmer/fit.ts";
export { LinearMixedModel } from "./lib/models/lmer/model.ts";
export type { MerModParts, PredictOptions, VarCorrRow } from "./lib/models/lmer/model.ts";
export { LmerSummary } from "./lib/models/lmer/summary.ts";
export type { Convergence } from "./lib/models/lmer/convergence.ts";
export { getLogSource, Rng, rng, setLogSource } from "./lib/rng/mod.ts";
export type { LogSource } from "./lib/rng/mod.ts";
export { clusterTrial, createData } from "./lib/simulate/mod.ts";
export type { ClusterTrialOptions, CreateDataOptions } from "./lib/simulate/mod.ts";
export { buildLmm, Lmm } from "./lib/models/lmer/core.ts";
export type {
  BlockSparse,
  CrossProducts,
  DevComp,
  DevianceParts,
  LmmOptions,
  LmmSolution,
  LmmStructure,
  TermInfo,
  TermSolution,
} from "./lib/models/lmer/core.ts";
export { bobyqa } from "./lib/optim/mod.ts";
export type {
  Objective,
  OptimOptions,
  OptimResult,
  OptimSettings,
  OptimStatus,
} from "./lib/optim/mod.ts";
export { JUPYTER_DISPLAY } from "./lib/display/bundle.ts";
export type { HtmlTableOptions, MimeBundle } from "./lib/display/bundle.ts";
export { lmList, lmListFit, lmListTable } from "./lib/inference/lmList.ts";
export type { LmListFit, LmListOptions } from "./lib/inference/lmList.ts";
export {
  partialPoolingFormula,
  partialPoolingParts,
  poolingSummary,
  poolingTable,
} from "./lib/inference/pooling.ts";
export type {
  PartialPoolingParts,
  PoolingOptions,
  PoolingSummary,
} from "./lib/inference/pooling.ts";
export { anova, anovaLRT } from "./lib/inference/anova.ts";
export type { AnovaModel, AnovaOptions, AnovaResult, AnovaRow } from "./lib/inference/anova.ts";
export { emmeans, emmGrid } from "./lib/inference/emmeans.ts";
export type { EmmeansOptions, EmmGrid } from "./lib/inference/emmeans.ts";
export {
  coefRowsDf,
  coefTableDf,
  contrastDf,
  ddfTitle,
  fixedEffectsDf,
  fixedEffectsText,
  formatCoefRowsDf,
  lmerTestTitle,
} from "./lib/inference/df.ts";
export type {
  CoefRowDf,
  ContrastDf,
  DdfMethod,
  DfMethod,
  FixedEffectsDf,
} from "./lib/inference/df.ts";
export { kenwardRogerParts, KR_MAX_DIM, krDdf, vcovAdj } from "./lib/inference/kenwardRoger.ts";
export type { KenwardRogerParts } from "./lib/inference/kenwardRoger.ts";
export {
  covBeta,
  numDerivHessian,
  numDerivJacobian,
  satterthwaiteDf,
  satterthwaiteParts,
  varparDeviance,
} from "./lib/inference/satterthwaite.ts";
export type { RichardsonOptions, SatterthwaiteParts } from "./lib/inference/satterthwaite.ts";
export {
  confint,
  confintAsync,
  ConfintResult,
  confintResult,
  confintResultAsync,
} from "./lib/inference/confint.ts";
export type { ConfintMethod, ConfintOptions, ConfintRow } from "./lib/inference/confint.ts";
export {
  LmerProfile,
  parameterNames,
  profile,
  sdcorToTheta,
  thetaToSdcor,
} from "./lib/inference/profile.ts";
export type {
  ParameterInfo,
  ParameterKind,
  ParameterProfile,
  ProfileOptions,
  ProfilePoint,
} from "./lib/inference/profile.ts";
export {
  bootConfint,
  bootMer,
  bootMerAsync,
  percentileInterval,
} from "./lib/inference/bootstrap.ts";
export type {
  BootAsyncOptions,
  BootOptions,
  BootResult,
  JupyterDisplay,
} from "./lib/inference/bootstrap.ts";
export { simulate, simulateResponses } from "./lib/simulate/simulateMerMod.ts";
export type { NewParams, SimulateOptions } from "./lib/simulate/simulateMerMod.ts";
export { refit, RefitCore } from "./lib/models/lmer/refit.ts";
export type { RefitOptions, RefitResult, RefitSource } from "./lib/models/lmer/refit.ts";
export * from "./lib/plots/mod.ts";
export { parallelStatus, setDenseThreads } from "./lib/linalg/parallel.ts";
export type { DenseThreads, HelperStatus, ParallelStatus } from "./lib/linalg/parallel.ts";
