/**
 * deno-lmer for power users: everything behind `mod.ts`'s user API, for
 * stopping a fit at any stage, reusing the numerical core, computing
 * degrees of freedom, profiles and bootstraps piece by piece, and typing
 * the options and results. Import the user API (`lmer`, `lm`, `emmeans`,
 * the figures, …) from `mod.ts` (`"@deno-lmer/lmer"`); this module
 * (`"@deno-lmer/lmer/advanced"`) holds the rest and repeats none of it.
 *
 * - **lme4's stages** (`R/modular.R`): {@link lFormula} → {@link mkLmerDevfun}
 *   → {@link optimizeLmer} → {@link mkMerMod}, and {@link refit} /
 *   {@link RefitCore} for new responses.
 * - **Numerical core**: {@link buildLmm} / {@link Lmm} (the blocked
 *   cross-products `[Z X y]'[Z X y]` and the profiled criterion),
 *   {@link bobyqa} (the optimizer).
 * - **Data larger than memory**: `lmer(formula, lazyFrame)` fits from a
 *   polars LazyFrame through {@link lmerPlan}'s dialect-neutral aggregation
 *   queries ({@link runPlan}, {@link aggregateLazy}, {@link lmerFromAggregates}).
 * - **Data and formulas**: {@link modelFrame}, {@link parseFormula},
 *   {@link FormulaError}, and their types.
 * - **Degrees of freedom**: {@link coefTableDf}, {@link fixedEffectsDf},
 *   {@link contrastDf}, Satterthwaite ({@link satterthwaiteParts},
 *   {@link numDerivHessian}, …) and Kenward-Roger ({@link vcovAdj},
 *   {@link kenwardRogerParts}, …), and lmerTest's printed pieces.
 * - **Intervals**: {@link profile} / {@link LmerProfile},
 *   {@link glmerProfile} (glmer fits), {@link confintResult} (intervals with lme4's messages), the parametric
 *   bootstrap {@link bootMer} / {@link bootMerAsync} / {@link bootConfint}.
 * - **Other inference**: {@link anovaLRT}, {@link emmGrid},
 *   {@link lmListFit}, {@link lmListTable}, {@link poolingSummary},
 *   {@link simulateResponses}, {@link simulateGlmer} /
 *   {@link GlmerSimulations} (lme4's `simulate` of a GLMM).
 * - **Random numbers**: {@link Rng} (`rnorm`, `runif`, `sampleInt`,
 *   `rmvnorm`, `rbinom`, `rpois`), {@link setLogSource} (the `log` R's
 *   `qnorm` uses).
 * - **SQL tables** (data larger than memory): {@link sqlTable} as the data
 *   of `await lmer(formula, source)` or {@link lmerFromSql}, the generated
 *   SQL by {@link lmerSql}, and {@link loadClickHouseTable} to upload data.
 * - **Display and figures**: {@link MimeBundle}, the summary classes, the
 *   figure option and rendering types.
 *
 * @example
 * ```ts ignore
 * import { lFormula, mkLmerDevfun, mkMerMod, optimizeLmer } from "./advanced.ts";
 * const formula = "Reaction ~ Days + (Days | Subject)";
 * const devfun = mkLmerDevfun(lFormula(formula, sleepstudy));
 * devfun([1, 0, 1]);                          // the REML criterion at θ = (1, 0, 1)
 * const opt = optimizeLmer(devfun);           // BOBYQA's record: θ̂, evaluations
 * const m = mkMerMod(devfun, opt, { formula }); // what lmer(formula, sleepstudy) returns
 * ```
 * @module
 */
import "./lib/inference/lmerMethods.ts";
import "./lib/sources/polars.ts";
import "./lib/sources/sql.ts";

// Data and formulas
export type { SeriesLike } from "./lib/data/table.ts";
export type { Cell, Column, FactorColumn, Frame, NumericColumn } from "./lib/data/frame.ts";
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

// Models: lme4's stages, the fitted objects' parts
export { LmSummary } from "./lib/models/lm.ts";
export { lFormula, mkLmerDevfun, mkMerMod, optimizeLmer } from "./lib/models/lmer/fit.ts";
export type {
  LmerControl,
  LmerDevfun,
  LmerFrame,
  OptRestart,
  OptSummary,
} from "./lib/models/lmer/fit.ts";
export type { NewtonSettings } from "./lib/models/lmer/newton.ts";
export type { CriterionDerivatives } from "./lib/models/lmer/gradient.ts";
export { progressLine } from "./lib/models/lmer/progress.ts";
export type { FitProgress, ProgressSetting } from "./lib/models/lmer/progress.ts";
export type { MerModParts, PredictOptions, VarCorrRow } from "./lib/models/lmer/model.ts";
export { ddfTitle, LmerSummary, lmerTestTitle } from "./lib/models/lmer/summary.ts";
export type { Convergence } from "./lib/models/lmer/convergence.ts";
export { refit, RefitCore } from "./lib/models/lmer/refit.ts";
export type { RefitOptions, RefitResult, RefitSource } from "./lib/models/lmer/refit.ts";

// The numerical core and the optimizer
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
export type { DenseThreads, HelperStatus, ParallelStatus } from "./lib/linalg/parallel.ts";
export { NATIVE_MIN_ORDER, nativeLapack, setNativeLapack } from "./lib/linalg/native.ts";
export type { NativeLapack } from "./lib/linalg/native.ts";

// Data larger than memory: lmer from aggregated cross-products (lib/sources/)
export { fitDevfun, registerSourceFitter } from "./lib/models/lmer/fit.ts";
export type {
  ExternalSource,
  LazyFrameLike,
  LmerData,
  SourceFitter,
} from "./lib/models/lmer/fit.ts";
export { lmmFromCrossProducts } from "./lib/models/lmer/core.ts";
export type { FormedCrossProducts, RowStream } from "./lib/models/lmer/core.ts";
export {
  assemble,
  blockQueries,
  earlyMoments,
  levelQueries,
  lmerPlan,
  momentsQuery,
  planDesign,
  readLevels,
  readMoments,
  runPlan,
  runPlanAsync,
  UnsupportedTermError,
} from "./lib/sources/plan.ts";
export type {
  Agg,
  AggQuery,
  AggResult,
  AssembledFit,
  AsyncExecutor,
  ColumnType,
  Executor,
  FactorPart,
  FilterItem,
  KeyValue,
  LmerPlan,
  MathFn,
  NumExpr,
  PartLevels,
  PlanDesign,
  PlanLevels,
  PlanMoments,
  PlanTerm,
  PlanVar,
  SourceSchema,
} from "./lib/sources/plan.ts";
export { lmerFromAggregates } from "./lib/sources/aggregates.ts";
export { aggregateLazy, executeLazy, isLazyFrame, lmerLazy } from "./lib/sources/polars.ts";
export type { LazyExecOptions } from "./lib/sources/polars.ts";

// Random numbers and simulation
export { getLogSource, Rng, setLogSource } from "./lib/rng/mod.ts";
export type { LogSource } from "./lib/rng/mod.ts";
export {
  GlmerSimulations,
  MAX_SIMULATION_DOUBLES,
  simulateGlmer,
  simulateMatrix,
  simulateResponses,
} from "./lib/simulate/simulateMerMod.ts";
export type {
  GlmerNewParams,
  GlmerSimulateOptions,
  GlmerSimulationKind,
  NewParams,
} from "./lib/simulate/simulateMerMod.ts";

// Degrees of freedom: Satterthwaite, Kenward-Roger
export {
  coefRowsDf,
  coefTableDf,
  contrastDf,
  fixedEffectsDf,
  fixedEffectsText,
  formatCoefRowsDf,
} from "./lib/inference/df.ts";
export type { CoefRowDf, ContrastDf, DfMethod, FixedEffectsDf } from "./lib/inference/df.ts";
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

// Intervals: profile, bootstrap
export { ConfintResult, confintResult, confintResultAsync } from "./lib/inference/confint.ts";
export type { ConfintMethod, ConfintRow } from "./lib/inference/confint.ts";
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
export { glmerParameterNames, glmerProfile } from "./lib/inference/glmerProfile.ts";
export {
  bootConfint,
  bootMer,
  bootMerAsync,
  MAX_BOOT_NSIM,
  percentileInterval,
} from "./lib/inference/bootstrap.ts";
export type {
  BootAsyncOptions,
  BootOptions,
  BootResult,
  JupyterDisplay,
} from "./lib/inference/bootstrap.ts";

// Other inference: model comparison, marginal means, per-cluster fits
export { anovaLRT } from "./lib/inference/anova.ts";
export type { AnovaModel, AnovaOptions, AnovaResult, AnovaRow } from "./lib/inference/anova.ts";
export { emmGrid } from "./lib/inference/emmeans.ts";
export type { EmmGrid } from "./lib/inference/emmeans.ts";
export { lmListFit, lmListTable } from "./lib/inference/lmList.ts";
export type { LmListFit } from "./lib/inference/lmList.ts";
export { poolingSummary } from "./lib/inference/pooling.ts";
export type { PoolingSummary } from "./lib/inference/pooling.ts";

// Display and figures
export type { HtmlTableOptions, MimeBundle } from "./lib/display/bundle.ts";
export type {
  CaterpillarPlotOptions,
  DiagnosticsPlotOptions,
  DomDocument,
  DomElement,
  FigureChanges,
  FigureSpec,
  LegendItem,
  LegendSymbol,
  PanelHook,
  PanelMark,
  PanelOptions,
  PlotModule,
  PngOptions,
  PoolingPlotOptions,
  RenderedPanel,
  RenderedScale,
  ShrinkagePlotOptions,
  WeightPlotOptions,
} from "./lib/plots/mod.ts";
export { binnedResiduals, glmerShrinkagePlot } from "./lib/plots/mod.ts";
export type { GlmerShrinkagePlotOptions, ResidualBin } from "./lib/plots/mod.ts";
export type { RowVectorSpec } from "./lib/design/rowvector.ts";
export type { LmConfintOptions } from "./lib/models/lm.ts";
export type { TailMode } from "./lib/models/lmer/core.ts";

// Generalized linear mixed models: glmer's stages, families, the PIRLS core
export { glFormula } from "./lib/models/glmer/fit.ts";
export type { GlmerControl, GlmerFrame, GlmerOptSummary } from "./lib/models/glmer/fit.ts";
export { dbinomLog, dpoisLog, glmFamily } from "./lib/models/glmer/family.ts";
export type { FamilyName, FamilySpec, GlmFamily, LinkName } from "./lib/models/glmer/family.ts";
export { Glmm } from "./lib/models/glmer/pirls.ts";
export type { GlmmData, PirlsResult } from "./lib/models/glmer/pirls.ts";
export type {
  GlmerParts,
  GlmerPredictOptions,
  GlmerResidualType,
} from "./lib/models/glmer/model.ts";
export { GlmerSummary } from "./lib/models/glmer/summary.ts";
export { nelderMead } from "./lib/optim/nelder_mead.ts";
export type { NelderMeadOptions, NelderMeadResult } from "./lib/optim/nelder_mead.ts";
export { Explorer } from "./lib/plots/explorer.ts";
export type {
  ExplorerData,
  PoolingExplorerOptions,
  ShrinkageExplorerOptions,
} from "./lib/plots/explorer.ts";

// Data larger than memory: SQL tables (ClickHouse, PostgreSQL's dialect)
export {
  isSqlTable,
  lmerFromSql,
  lmerSql,
  sqlFitTimes,
  SqlTable,
  sqlTable,
} from "./lib/sources/sql.ts";
export type {
  LmerSql,
  LmerSqlQuery,
  SqlFitTimes,
  SqlPlanOptions,
  SqlRow,
  SqlRunner,
  SqlTableOptions,
} from "./lib/sources/sql.ts";
export type { SqlDialectName } from "./lib/sources/sql_dialect.ts";
export { ClickHouseError, loadClickHouseTable } from "./lib/sources/clickhouse.ts";
export type {
  ClickHouseConnection,
  LoadedTable,
  LoadOptions,
  RowBinaryType,
} from "./lib/sources/clickhouse.ts";
export type { AsyncSource } from "./lib/models/lmer/fit.ts";
