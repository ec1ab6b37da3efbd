/**
 * Model checks: residuals against fitted values, a normal QQ plot of the
 * scaled residuals and, for a mixed model, a normal QQ plot of the
 * conditional modes of each random-effects term.
 * @module
 */
import type { Markish, PlotOptions } from "../deps.ts";
import { Plot } from "./plot.ts";
import { LinearModel } from "../models/lm.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { describeValue, fmt, qqPoints } from "./data.ts";
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

function panelTitle(text: string): Markish {
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
  model: LinearMixedModel | LinearModel,
  options: DiagnosticsPlotOptions = {},
): Figure {
  if (!(model instanceof LinearMixedModel) && !(model instanceof LinearModel)) {
    throw new TypeError(
      `diagnosticsPlot needs a fitted model from lm() or lmer(); got ${describeValue(model)}`,
    );
  }
  const size = { width: options.panelWidth ?? 340, height: options.panelHeight ?? 300 };
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
      many
        ? Plot.dot(data, Plot.hexbin({ fill: "count" }, { x: "fitted", y: "resid", binWidth: 8 }))
        : Plot.dot(data, {
          x: "fitted",
          y: "resid",
          r: n > 500 ? 1.5 : 2.5,
          fill: POINT_COLOR,
          fillOpacity: 0.55,
          className: "lmer-residuals",
        }),
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
  const legend: LegendItem[] = [
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
