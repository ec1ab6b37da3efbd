/**
 * Figures for fitted models, drawn with Observable Plot: each returns a
 * {@link Figure} that displays inline in notebooks and exports to SVG, PNG
 * and HTML.
 *
 * - {@link shrinkagePlot}: per-cluster OLS estimates moving to the mixed
 *   model's (seed 004), optionally animated.
 * - {@link poolingPlot}: cluster means before and after partial pooling (seed 003).
 * - {@link weightPlot}: the shrinkage weight against cluster size (seeds 000–002).
 * - {@link caterpillarPlot}: conditional modes with 95% intervals.
 * - {@link diagnosticsPlot}: residuals vs fitted and normal QQ plots (binned
 *   or Pearson residuals for a glmer fit).
 * - {@link glmerShrinkagePlot}: a GLMM's cluster proportions before and after
 *   partial pooling, on the probability scale.
 *
 * @example
 * ```ts
 * import { createData } from "../simulate/mod.ts";
 * import { lmer } from "../models/lmer/fit.ts";
 * import { shrinkagePlot } from "./mod.ts";
 * const fig = shrinkagePlot(lmer("y ~ x + (x | cluster)", createData({ nCluster: 20 })));
 * console.log(fig.toSVG().length > 1000); // true
 * ```
 * @module
 */
export { Figure } from "./figure.ts";
export { Plot } from "./plot.ts";
export type { PlotModule } from "../deps.ts";
export type {
  DomDocument,
  DomElement,
  FigureChanges,
  FigureSpec,
  LegendItem,
  LegendSymbol,
  PanelHook,
  PanelMark,
  PanelOptions,
  PngOptions,
  RenderedPanel,
  RenderedScale,
} from "./figure.ts";
export { shrinkagePlot } from "./shrinkage.ts";
export type { ShrinkagePlotOptions } from "./shrinkage.ts";
export { poolingPlot } from "./pooling.ts";
export type { PoolingPlotOptions } from "./pooling.ts";
export { weightPlot } from "./weight.ts";
export type { WeightPlotOptions } from "./weight.ts";
export { caterpillarPlot } from "./caterpillar.ts";
export type { CaterpillarPlotOptions } from "./caterpillar.ts";
export { diagnosticsPlot } from "./diagnostics.ts";
export type { DiagnosticsPlotOptions } from "./diagnostics.ts";
export { binnedResiduals } from "./diagnostics.ts";
export type { ResidualBin } from "./diagnostics.ts";
export { glmerShrinkagePlot } from "./glmerShrinkage.ts";
export type { GlmerShrinkagePlotOptions } from "./glmerShrinkage.ts";
