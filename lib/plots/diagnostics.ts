/**
 * Model checks: residuals against fitted values, a normal QQ plot of the
 * scaled residuals and, for a mixed model, a normal QQ plot of the
 * conditional modes of each random-effects term. For a GLMM (a glmer fit)
 * the residual panel is one that can be read for its family: binned
 * residuals for binomial, Pearson residuals for Poisson (see
 * {@link diagnosticsPlot}).
 * @module
 */
import type { Markish, PlotOptions } from "../deps.ts";
import { Plot } from "./plot.ts";
import { LinearModel } from "../models/lm.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import { checkFigureOptions, describeValue, fmt, modelCall, plural, qqPoints } from "./data.ts";
import { Figure, type LegendItem } from "./figure.ts";

/** Options of {@link diagnosticsPlot}. */
export interface DiagnosticsPlotOptions {
  /** Width of each panel in pixels (default 340). */
  readonly panelWidth?: number;
  /** Height of each panel in pixels (default 300). */
  readonly panelHeight?: number;
}

/** Colour of the points. */
export const POINT_COLOR = "#0b5394";
/** Colour of reference lines and trends. */
export const REFERENCE_COLOR = "#d6604d";
// Above this many observations, points become hexagonal bins and the QQ plot
// a subset of its quantiles: 70,000 circles make a 7 MB SVG that says no more.
const MAX_POINTS = 5000;

/** Keep at most `max` evenly spaced indices of 0..n-1 (first and last always). */
function thin(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.round((i * (n - 1)) / (max - 1)));
}

/** Means of y in `bins` equal-width bins of x, at the bins' mean x (empty bins skipped). */
function binnedMeans(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  bins: number,
): { x: number; y: number }[] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) (lo = Math.min(lo, x[i]), hi = Math.max(hi, x[i]));
  const w = (hi - lo) / bins || 1;
  const sx = new Float64Array(bins), sy = new Float64Array(bins), n = new Float64Array(bins);
  for (let i = 0; i < x.length; i++) {
    const b = Math.min(bins - 1, Math.floor((x[i] - lo) / w));
    sx[b] += x[i];
    sy[b] += y[i];
    n[b]++;
  }
  const out: { x: number; y: number }[] = [];
  for (let b = 0; b < bins; b++) if (n[b] > 0) out.push({ x: sx[b] / n[b], y: sy[b] / n[b] });
  return out;
}

/**
 * The residuals-vs-fitted points: hexagonal bins counted when there are more
 * than MAX_POINTS (a fill scale of counts), else one dot per observation.
 */
function residualDots(data: readonly { fitted: number; resid: number }[]): Markish {
  const n = data.length;
  return n > MAX_POINTS
    ? Plot.dot(data, Plot.hexbin({ fill: "count" }, { x: "fitted", y: "resid", binWidth: 8 }))
    : Plot.dot(data, {
      x: "fitted",
      y: "resid",
      r: n > 500 ? 1.5 : 2.5,
      fill: POINT_COLOR,
      fillOpacity: 0.55,
      className: "lmer-residuals",
    });
}

/** The legend of the residuals-vs-fitted points and their trend (and the QQ lines). */
function residualLegend(many: boolean): LegendItem[] {
  return [
    {
      label: many ? "Observations (hexagonal bins)" : "Observations",
      color: POINT_COLOR,
      symbol: "dot",
    },
    {
      label: "Trend of the residuals; QQ line through the quartiles",
      color: REFERENCE_COLOR,
      symbol: "line",
    },
  ];
}

/** A panel's bold title, above its top-left corner. */
export function panelTitle(text: string): Markish {
  return Plot.text([text], {
    frameAnchor: "top-left",
    dy: -22,
    text: (d: string) => d,
    fontWeight: "bold",
    fontSize: 12,
  });
}

function qqPanel(
  values: ArrayLike<number>,
  title: string,
  yLabel: string,
  size: { width: number; height: number },
  cls: string,
): PlotOptions {
  const qq = qqPoints(values);
  const idx = thin(qq.sample.length, 2000);
  const pts = idx.map((i) => ({ x: qq.theoretical[i], y: qq.sample[i] }));
  const xr = [qq.theoretical[0], qq.theoretical[qq.theoretical.length - 1]];
  const { intercept, slope } = qq.line;
  return {
    ...size,
    marginTop: 34,
    marginLeft: 58,
    marginBottom: 40,
    grid: true,
    x: { label: "Theoretical normal quantile", labelAnchor: "center", labelArrow: "none" },
    y: { label: yLabel, labelAnchor: "center", labelArrow: "none" },
    marks: [
      panelTitle(title),
      Plot.line(xr.map((x) => ({ x, y: intercept + slope * x })), {
        x: "x",
        y: "y",
        stroke: REFERENCE_COLOR,
        strokeWidth: 1.5,
        className: "lmer-qqline",
      }),
      Plot.dot(pts, {
        x: "x",
        y: "y",
        r: values.length > 500 ? 1.5 : 2.5,
        fill: POINT_COLOR,
        fillOpacity: 0.6,
        className: cls,
      }),
    ],
  };
}

/**
 * Residuals against fitted values, a normal QQ plot of the scaled residuals
 * and, for an lmer fit, normal QQ plots of the conditional modes of every
 * random-effects term. Works for lm fits too (the first two panels).
 *
 * For a glmer fit the residuals are neither normal nor of constant variance,
 * so the first two panels are replaced by one that a GLMM's residuals can
 * answer, followed by the normal QQ plots of the conditional modes (normal on
 * the link scale under the model):
 * - binomial: **binned residuals** (Gelman and Hill 2007, §5.6; `arm::binnedplot`).
 *   The observations are sorted by fitted probability and cut into bins of
 *   equal count (√n bins from 100 observations, 10 below, n/2 below 10); each
 *   bin shows its average response residual y − μ̂ (weighted by the trials)
 *   against its average fitted probability, with ±2 standard errors from the
 *   model, √(Σ wᵢμ̂ᵢ(1 − μ̂ᵢ)) / Σ wᵢ. Raw residuals of 0/1 data lie on two
 *   curves and show nothing; bin averages should scatter around 0, about
 *   95% of them inside the band, if the fitted probabilities are calibrated.
 * - Poisson (and other families): **Pearson residuals vs fitted**,
 *   (y − μ̂)/√V(μ̂) with the prior weights: under the model they have mean 0
 *   and variance about 1 at every fitted value, so a trend shows a missed
 *   mean structure and a spread beyond the ±2 lines overdispersion (the
 *   caption gives Σ r²/(n − p), lme4's usual overdispersion ratio).
 *
 * @example
 * ```ts
 * import { createData } from "../simulate/mod.ts";
 * import { lmer } from "../models/lmer/fit.ts";
 * import { diagnosticsPlot } from "./diagnostics.ts";
 * const m = lmer("y ~ x + (x | cluster)", createData({ nCluster: 20 }));
 * console.log(diagnosticsPlot(m).panels.length); // 4
 * ```
 */
export function diagnosticsPlot(
  model: LinearMixedModel | LinearModel | GeneralizedLinearMixedModel,
  options: DiagnosticsPlotOptions = {},
): Figure {
  const sizes = ["panelWidth", "panelHeight"];
  checkFigureOptions("diagnosticsPlot", options, sizes, sizes);
  const size = { width: options.panelWidth ?? 340, height: options.panelHeight ?? 300 };
  if (model instanceof GeneralizedLinearMixedModel) return glmerDiagnostics(model, size);
  if (!(model instanceof LinearMixedModel) && !(model instanceof LinearModel)) {
    throw new TypeError(
      `diagnosticsPlot needs a fitted model from lm(), lmer() or glmer(); got ${
        describeValue(model)
      }`,
    );
  }
  const mixed = model instanceof LinearMixedModel;
  const fitted = model.fitted();
  const resid = model.residuals();
  const sigma = model.sigma;
  const n = fitted.length;
  const data = Array.from(fitted, (f, i) => ({ fitted: f, resid: resid[i] }));
  const many = n > MAX_POINTS;
  const residPanel: PlotOptions = {
    ...size,
    marginTop: 34,
    marginLeft: 58,
    marginBottom: 40,
    grid: true,
    x: { label: "Fitted value", labelAnchor: "center", labelArrow: "none" },
    y: { label: "Residual", labelAnchor: "center", labelArrow: "none" },
    color: many ? { scheme: "blues", type: "log" } : undefined,
    marks: [
      panelTitle("Residuals vs fitted"),
      Plot.ruleY([0], { stroke: "#777" }),
      residualDots(data),
      // Binned means of the residuals: a trend away from 0 means a missed curvature.
      Plot.line(binnedMeans(fitted, resid, 12), {
        x: "x",
        y: "y",
        stroke: REFERENCE_COLOR,
        strokeWidth: 2,
        className: "lmer-residual-trend",
      }),
    ],
  };
  const panels: PlotOptions[] = [
    residPanel,
    qqPanel(
      Float64Array.from(resid, (r) => r / sigma),
      "Normal QQ: scaled residuals",
      "Residual / σ̂",
      size,
      "lmer-qq-residuals",
    ),
  ];
  if (mixed) {
    for (const [group, tab] of Object.entries(model.ranefTables())) {
      tab.columns.forEach((col, c) => {
        panels.push(qqPanel(
          tab.values.map((v) => v[c]),
          `Normal QQ: ${group} ${col}`,
          "Conditional mode",
          size,
          "lmer-qq-ranef",
        ));
      });
    }
  }
  const k = panels.length;
  const columns = k <= 3 ? k : k === 4 ? 2 : 3;
  const formula = mixed ? `lmer(${model.formula})` : `lm(${model.formula})`;
  const legend: LegendItem[] = residualLegend(many);
  const caption = "Residuals vs fitted: no pattern and an even spread around 0 support a linear " +
    "mean and a constant variance (the line joins binned means of the residuals). " +
    `Normal QQ plots: points near the line (R's qqline, through the quartiles) support normality; ` +
    `residuals are scaled by σ̂ = ${fmt(sigma, 4)}.` +
    (mixed
      ? " The conditional modes are shrunken estimates, so their QQ plots check the " +
        "random-effects distribution only roughly."
      : "") +
    (many ? ` ${n} observations: QQ plots show 2000 of the quantiles.` : "");
  const title = "Model diagnostics";
  return new Figure({
    title,
    subtitle: `${formula}: ${n} observations`,
    caption,
    legend,
    panels,
    columns,
    description: `Diagnostics plot for ${formula}: residuals vs fitted, normal QQ plots of the ` +
      `residuals${mixed ? " and of the random effects" : ""} (${k} panels). ` +
      "Display it in a notebook, or use toSVG(), toPNG() or save(path).",
  });
}

/** The number of bins of `arm::binnedplot` for n observations. */
export function binCount(n: number): number {
  return n >= 100 ? Math.floor(Math.sqrt(n)) : n > 10 ? 10 : Math.max(1, Math.floor(n / 2));
}

/** One bin of {@link binnedResiduals}. */
export interface ResidualBin {
  /** Weighted mean fitted probability of the bin. */
  readonly fitted: number;
  /** Weighted mean response residual y − μ̂. */
  readonly resid: number;
  /** Model-based standard error of `resid`. */
  readonly se: number;
  /** Observations in the bin. */
  readonly n: number;
}

/**
 * Binned residuals of a binomial fit: observations sorted by μ̂, cut into
 * `bins` groups of (nearly) equal count; per bin the trial-weighted means of
 * μ̂ and of y − μ̂, and the standard error √(Σ wμ̂(1 − μ̂)) / Σ w. The
 * points of {@link diagnosticsPlot}'s binned-residual panel for a binomial
 * glmer fit (`y` proportions, `w` trials).
 *
 * @example
 * ```ts
 * import { binnedResiduals } from "./diagnostics.ts";
 * const bins = binnedResiduals([0.2, 0.4, 0.6, 0.8], [0, 1, 1, 1], [1, 1, 1, 1], 2);
 * console.log(bins.map((b) => b.resid)); // [ 0.2, 0.3 ] (up to rounding)
 * ```
 */
export function binnedResiduals(
  mu: ArrayLike<number>,
  y: ArrayLike<number>,
  w: ArrayLike<number>,
  bins: number,
): ResidualBin[] {
  const n = mu.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => mu[a] - mu[b] || a - b);
  const out: ResidualBin[] = [];
  for (let b = 0; b < bins; b++) {
    const lo = Math.floor((b * n) / bins), hi = Math.floor(((b + 1) * n) / bins);
    let sw = 0, sm = 0, sr = 0, sv = 0;
    for (let k = lo; k < hi; k++) {
      const i = order[k];
      sw += w[i];
      sm += w[i] * mu[i];
      sr += w[i] * (y[i] - mu[i]);
      sv += w[i] * mu[i] * (1 - mu[i]);
    }
    if (sw > 0) out.push({ fitted: sm / sw, resid: sr / sw, se: Math.sqrt(sv) / sw, n: hi - lo });
  }
  return out;
}

function glmerDiagnostics(
  m: GeneralizedLinearMixedModel,
  size: { width: number; height: number },
): Figure {
  const { family, link } = m.family;
  const n = m.nobs;
  const mu = m.fitted();
  const axes = (x: string, y: string) => ({
    ...size,
    marginTop: 34,
    marginLeft: 66,
    marginBottom: 40,
    grid: true,
    x: { label: x, labelAnchor: "center" as const, labelArrow: "none" as const },
    y: { label: y, labelAnchor: "center" as const, labelArrow: "none" as const },
  });
  const panels: PlotOptions[] = [];
  const legend: LegendItem[] = [];
  let caption: string;
  if (family === "binomial") {
    const bins = binnedResiduals(mu, m.frame.y, m.frame.weights, binCount(n));
    const outside = bins.filter((b) => Math.abs(b.resid) > 2 * b.se).length;
    const band = (sign: number) => bins.map((b) => ({ x: b.fitted, y: sign * 2 * b.se }));
    const tip = (b: ResidualBin) =>
      `${b.n} observations: fitted ${fmt(b.fitted, 3)}, residual ${fmt(b.resid, 3)} ` +
      `(±2 SE ${fmt(2 * b.se, 3)})`;
    panels.push({
      ...axes("Average fitted probability", "Average residual (y − μ̂)"),
      marks: [
        panelTitle("Binned residuals"),
        Plot.ruleY([0], { stroke: "#777" }),
        ...[1, -1].map((sg) =>
          Plot.line(band(sg), {
            x: "x",
            y: "y",
            stroke: REFERENCE_COLOR,
            strokeWidth: 1.5,
            className: "lmer-binned-band",
          })
        ),
        Plot.dot(bins, {
          x: "fitted",
          y: "resid",
          r: 3,
          fill: POINT_COLOR,
          fillOpacity: 0.8,
          title: tip,
          className: "lmer-binned-residuals",
        }),
      ],
    });
    legend.push(
      { label: "Bin average of the residuals", color: POINT_COLOR, symbol: "dot" },
      {
        label: "±2 standard errors; QQ line through the quartiles",
        color: REFERENCE_COLOR,
        symbol: "line",
      },
    );
    caption = `Binned residuals (Gelman and Hill's binnedplot): the ${n} observations sorted ` +
      `by fitted probability and cut into ${plural(bins.length, "bin")} of equal count; each ` +
      `point is a bin's average residual y − μ̂ against its average fitted probability ` +
      `(weighted by the trials). Raw residuals of binomial data carry no visible pattern; bin ` +
      `averages near 0, about 95% of them inside ±2 standard errors, support the fitted ` +
      `probabilities (here ${outside} of ${bins.length} outside).`;
  } else {
    const pr = m.residuals("pearson");
    const dispersion = pr.reduce((s, r) => s + r * r, 0) / m.dfResidual;
    const many = n > MAX_POINTS;
    const data = Array.from(mu, (f, i) => ({ fitted: f, resid: pr[i] }));
    let lo = Infinity, hi = -Infinity;
    for (const v of mu) (lo = Math.min(lo, v), hi = Math.max(hi, v));
    // Counts' fitted means span orders of magnitude: a log axis spreads them.
    const logX = lo > 0 && hi / lo > 20;
    const trendX = logX ? Float64Array.from(mu, Math.log) : mu;
    const trend = binnedMeans(trendX, pr, 12).map((p) => ({
      x: logX ? Math.exp(p.x) : p.x,
      y: p.y,
    }));
    const base = axes(`Fitted mean${logX ? " (log scale)" : ""}`, "Pearson residual");
    panels.push({
      ...base,
      x: { ...base.x, type: logX ? "log" : "linear" },
      color: many ? { scheme: "blues", type: "log" } : undefined,
      marks: [
        panelTitle("Pearson residuals vs fitted"),
        Plot.ruleY([0], { stroke: "#777" }),
        Plot.ruleY([-2, 2], { stroke: "#777", strokeDasharray: "4,3" }),
        residualDots(data),
        Plot.line(trend, {
          x: "x",
          y: "y",
          stroke: REFERENCE_COLOR,
          strokeWidth: 2,
          className: "lmer-residual-trend",
        }),
      ],
    });
    legend.push(...residualLegend(many), { label: "±2", color: "#777", symbol: "dashed" });
    caption = `Pearson residuals (y − μ̂)/√V(μ̂) against the fitted means: under the ${family} ` +
      `model they have mean 0 and variance about 1 at every fitted value, so the trend (binned ` +
      `means) should stay near 0 and most points inside ±2. Σ r²/(n − p) = ${fmt(dispersion, 4)} ` +
      `(about 1 without overdispersion).`;
  }
  for (const [group, tab] of Object.entries(m.ranefTables())) {
    tab.columns.forEach((col, c) => {
      panels.push(qqPanel(
        tab.values.map((v) => v[c]),
        `Normal QQ: ${group} ${col}`,
        `Conditional mode (${link} scale)`,
        size,
        "lmer-qq-ranef",
      ));
    });
  }
  const k = panels.length;
  const columns = k <= 3 ? k : k === 4 ? 2 : 3;
  const formula = modelCall(m);
  caption += ` Normal QQ plots of the conditional modes (on the ${link} scale, where the ` +
    "model makes them normal; points near R's qqline support it, roughly, as the modes are " +
    "shrunken estimates).";
  return new Figure({
    title: "Model diagnostics",
    subtitle: `${formula}: ${n} observations`,
    caption,
    legend,
    panels,
    columns,
    description:
      `Diagnostics plot for ${formula}: ${
        family === "binomial" ? "binned residuals" : "Pearson residuals vs fitted"
      } and normal QQ plots of the random effects (${k} panels). ` +
      "Display it in a notebook, or use toSVG(), toPNG() or save(path).",
  });
}
