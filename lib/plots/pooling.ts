/**
 * Seed 003's figures ("why does lme4 seem biased toward small clusters"):
 * crossbars of the cluster means before (black) and after (red) partial
 * pooling at each level of the predictor, the lm line solid and the lmer
 * line dashed; with `points: true` also the dot plot of the observations
 * before (faint) and after (solid) they are shifted by the pooling, and the
 * lm refitted to the shifted observations (red dashed), as the question's
 * third figure.
 * @module
 */
import type { PlotOptions } from "../deps.ts";
import { Plot } from "./plot.ts";
import type { Column } from "../data/frame.ts";
import { numericLevels } from "../data/factor.ts";
import type { LinearModel } from "../models/lm.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { fmt, groupNames, plural, requireLm, requireLmer } from "./data.ts";
import { Figure, type LegendItem } from "./figure.ts";

/** Options of {@link poolingPlot}. */
export interface PoolingPlotOptions {
  /** The predictor on the x axis (a column of the data, e.g. "predictor"). */
  readonly x: string;
  /**
   * The cluster variable: a grouping factor of the mixed model or a column of
   * the data (default: the mixed model's grouping factor when it has one).
   */
  readonly group?: string;
  /** Add the dot plot of the observations before and after pooling (the seed's third figure). */
  readonly points?: boolean;
  /** Bin width of the dot plot in response units (default: range / 30, as ggplot's geom_dotplot). */
  readonly binwidth?: number;
  /** Panel width in pixels (default 600). */
  readonly width?: number;
  /** Panel height in pixels (default 480). */
  readonly height?: number;
}

/** Colour of the observed cluster means (the question's black crossbars). */
export const OBSERVED_COLOR = "black";
/** Colour of the partially pooled cluster means (the question's red crossbars). */
export const POOLED_COLOR = "#e31a1c";
/**
 * Colour of the lm and lmer lines (solid and dashed): not the crossbars'
 * black or red, so that the legend tells a line from a cluster mean.
 */
export const LINE_COLOR = "#1f5a9a";
// Cluster colours for the dot plot: a categorical palette without red, which
// is taken by the partially pooled means.
const CLUSTER_COLORS = [
  "#377eb8",
  "#4daf4a",
  "#984ea3",
  "#ff7f00",
  "#a65628",
  "#f781bf",
  "#17becf",
  "#e6ab02",
  "#bcbd22",
  "#1f3a93",
];
const HALF = 0.35; // half the crossbar width (ggplot's crossbar width 0.7)

interface Cell {
  cluster: string;
  level: string;
  pos: number;
  n: number;
  observed: number;
  pooled: number;
}

interface Dot {
  x: number;
  y: number;
  cluster: string;
}

/** A column at the model's rows as a factor (numbers: their sorted distinct values). */
export function asFactor(c: Column, rows: Int32Array): { levels: string[]; codes: Int32Array } {
  const codes = new Int32Array(rows.length);
  if (c.kind === "factor") {
    const used = new Map<number, number>();
    const sortedCodes = [...new Set(Array.from(rows, (r) => c.codes[r]))].sort((a, b) => a - b);
    sortedCodes.forEach((k, i) => used.set(k, i));
    rows.forEach((r, i) => (codes[i] = used.get(c.codes[r])!));
    return { levels: sortedCodes.map((k) => c.levels[k]), codes };
  }
  const vals = Float64Array.from(rows, (r) => c.values[r]);
  const { levels, codes: cc } = numericLevels(vals);
  return { levels: [...levels], codes: Int32Array.from(cc) };
}

/**
 * Cluster means before (black) and after (red) partial pooling at each level
 * of `x`, with the lm line (solid) and the lmer population-level line
 * (dashed), as seed 003's figures. `points: true` adds the observations,
 * shifted by (partially pooled − observed cluster mean).
 *
 * @example
 * ```ts
 * import { clusterTrial } from "../simulate/mod.ts";
 * import { lm } from "../models/lm.ts";
 * import { lmer } from "../models/lmer/fit.ts";
 * import { poolingPlot } from "./pooling.ts";
 * const df = clusterTrial({ seed: 824523 });
 * const fig = poolingPlot(
 *   lm("dependent ~ predictor", df),
 *   lmer("dependent ~ predictor + (1 | cluster)", df),
 *   { x: "predictor", group: "cluster" },
 * );
 * console.log(fig.title); // "Cluster means before and after partial pooling"
 * ```
 */
export function poolingPlot(
  lmFit: LinearModel,
  lmerFit: LinearMixedModel,
  options: PoolingPlotOptions,
): Figure {
  const hint = "Call poolingPlot(lm(...), lmer(...), { x, group }) with both fits of the same data";
  const lmModel = requireLm(lmFit, "poolingPlot (first argument)", hint);
  const m = requireLmer(lmerFit, "poolingPlot (second argument)", hint);
  if (!options || typeof options.x !== "string") {
    throw new TypeError(
      "poolingPlot: say which predictor goes on the x axis: poolingPlot(lmFit, lmerFit, { x: 'predictor' })",
    );
  }
  const mf = m.frame.mf;
  const rows = mf.rows;
  const lmRows = lmModel.modelFrame.rows;
  if (lmRows.length !== rows.length || lmRows.some((r, i) => r !== rows[i])) {
    throw new RangeError(
      `poolingPlot: the lm fit uses ${lmRows.length} rows and the lmer fit ${rows.length} ` +
        "different ones: fit both to the same data (with the same missing values dropped)",
    );
  }
  const columns = mf.frame.columns;
  const xCol = columns.get(options.x);
  if (!xCol) {
    throw new RangeError(
      `poolingPlot: x '${options.x}' is not a column of the model's data (columns: ${
        mf.frame.names.join(", ")
      })`,
    );
  }
  const xf = asFactor(xCol, rows);

  // The cluster: a grouping factor of the model, else a data column.
  const groups = groupNames(m);
  const group = options.group ?? (groups.length === 1 ? groups[0] : undefined);
  if (group === undefined) {
    throw new RangeError(
      `poolingPlot: the model has several grouping factors (${groups.join(", ")}): ` +
        "pass { group } to say which one are the clusters",
    );
  }
  let gf: { levels: readonly string[]; codes: Int32Array };
  const term = mf.random.find((t) => t.group === group);
  if (term) gf = { levels: term.levels, codes: term.index };
  else {
    const c = columns.get(group);
    if (!c) {
      throw new RangeError(
        `poolingPlot: group '${group}' is neither a grouping factor of the model ` +
          `(${groups.join(", ")}) nor a column of its data (${mf.frame.names.join(", ")})`,
      );
    }
    gf = asFactor(c, rows);
  }

  const y = mf.y;
  const pp = m.fitted();
  const popLmer = m.predict(undefined, { reForm: "none" });
  const popLm = lmModel.fitted();
  const nx = xf.levels.length, ng = gf.levels.length;

  // Cells: one crossbar per (level of x, cluster) with observations.
  const key = (a: number, b: number) => a * ng + b;
  const sums = new Map<number, { n: number; y: number; pp: number }>();
  for (let i = 0; i < y.length; i++) {
    const k = key(xf.codes[i], gf.codes[i]);
    const s = sums.get(k) ?? { n: 0, y: 0, pp: 0 };
    s.n++;
    s.y += y[i];
    s.pp += pp[i];
    sums.set(k, s);
  }
  const cells: Cell[] = [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([k, s]) => ({
    cluster: gf.levels[k % ng],
    level: xf.levels[Math.floor(k / ng)],
    pos: Math.floor(k / ng) + 1,
    n: s.n,
    observed: s.y / s.n,
    pooled: s.pp / s.n,
  }));
  const cellOf = new Map(cells.map((c) => [key(c.pos - 1, gf.levels.indexOf(c.cluster)), c]));

  // Model lines: the mean population-level prediction at each level of x (for
  // a model with x alone, the fitted level means, as the question's abline).
  const levelMean = (v: ArrayLike<number>) => {
    const s = new Float64Array(nx), n = new Float64Array(nx);
    for (let i = 0; i < v.length; i++) (s[xf.codes[i]] += v[i], n[xf.codes[i]]++);
    return Array.from(s, (a, k) => a / n[k]);
  };
  const shifted = Float64Array.from(y, (v, i) => {
    const c = cellOf.get(key(xf.codes[i], gf.codes[i]))!;
    return v - c.observed + c.pooled;
  });
  const lineOf = (means: number[]) => extendLine(means);
  const lmLine = lineOf(levelMean(popLm));
  const lmerLine = lineOf(levelMean(popLmer));
  const shiftedLine = lineOf(levelMean(shifted));

  const width = options.width ?? 600, height = options.height ?? 480;
  // Room on the right for the cluster labels beside the last crossbars.
  const labelled = cells.length <= 24;
  const sizesDiffer = new Set(cells.map((c) => c.n)).size > 1;
  const margin = { top: 24, right: labelled ? (sizesDiffer ? 76 : 32) : 24, bottom: 44, left: 56 };
  // With the dots the observations set the range; without, the means and lines do.
  const allY = [
    ...(options.points ? [...y, ...shifted] : cells.flatMap((c) => [c.observed, c.pooled])),
    ...lmLine.map((p) => p.y),
    ...lmerLine.map((p) => p.y),
  ];
  const lo = Math.min(...allY), hi = Math.max(...allY);
  const pad = (hi - lo) * 0.05 || 1;
  const yDomain = [lo - pad, hi + pad];

  const marks: PlotOptions["marks"] = [];
  let dots: { before: Dot[]; after: Dot[]; r: number; binwidth: number } | undefined;
  if (options.points) {
    const bw = options.binwidth ?? (Math.max(...y, ...shifted) - Math.min(...y, ...shifted)) / 30;
    if (!(bw > 0)) throw new RangeError("poolingPlot: binwidth must be positive");
    // Pixel geometry, known exactly because the domains and margins are fixed:
    // a dot is one bin wide (as geom_dotplot), stacked sideways from the centre.
    const pxY = (height - margin.top - margin.bottom) / (yDomain[1] - yDomain[0]);
    const pxX = (width - margin.left - margin.right) / nx;
    const r = Math.max(1.5, Math.min(6, (bw * pxY) / 2));
    const stack = (values: Float64Array) => {
      const bins = new Map<string, number[]>();
      values.forEach((v, i) => {
        const b = Math.floor((v - lo) / bw);
        const k = `${xf.codes[i]}:${b}`;
        bins.set(k, [...(bins.get(k) ?? []), i]);
      });
      const out: Dot[] = [];
      for (const [k, idx] of bins) {
        const [pos, b] = k.split(":").map(Number);
        idx.sort((a, c) => gf.codes[a] - gf.codes[c]);
        idx.forEach((i, j) => {
          out.push({
            x: pos + 1 + ((j - (idx.length - 1) / 2) * 2 * r) / pxX,
            y: lo + (b + 0.5) * bw,
            cluster: gf.levels[gf.codes[i]],
          });
        });
      }
      return out;
    };
    dots = { before: stack(y), after: stack(shifted), r, binwidth: bw };
    const dot = (data: Dot[], opacity: number, cls: string) =>
      Plot.dot(data, {
        x: "x",
        y: "y",
        r,
        fill: "cluster",
        fillOpacity: opacity,
        stroke: "white",
        strokeWidth: 0.4,
        strokeOpacity: opacity,
        className: cls,
      });
    marks.push(dot(dots.before, 0.35, "lmer-observed-points"));
    marks.push(dot(dots.after, 1, "lmer-pooled-points"));
  }
  const bars = (field: "observed" | "pooled", color: string, cls: string) =>
    Plot.ruleY(cells, {
      y: field,
      x1: (c: Cell) => c.pos - HALF,
      x2: (c: Cell) => c.pos + HALF,
      stroke: color,
      strokeWidth: 2.5,
      title: (c: Cell) =>
        `${group} ${c.cluster} (n = ${c.n}) at ${options.x} = ${c.level}\nobserved mean ${
          fmt(c.observed, 4)
        }\npartially pooled ${fmt(c.pooled, 4)}`,
      className: cls,
    });
  marks.push(bars("observed", OBSERVED_COLOR, "lmer-observed-means"));
  marks.push(bars("pooled", POOLED_COLOR, "lmer-pooled-means"));
  const line = (pts: { x: number; y: number }[], dash: string | undefined, color: string) =>
    Plot.line(pts, {
      x: "x",
      y: "y",
      stroke: color,
      strokeWidth: 2.5,
      strokeDasharray: dash,
      className: dash ? "lmer-line-dashed" : "lmer-line-solid",
    });
  marks.push(line(lmLine, undefined, LINE_COLOR));
  marks.push(line(lmerLine, "9,6", LINE_COLOR));
  if (options.points) marks.push(line(shiftedLine, "9,6", POOLED_COLOR));
  if (labelled) {
    marks.push(Plot.text(cells, {
      x: (c: Cell) => c.pos + HALF + 0.02,
      y: "observed",
      text: (c: Cell) => (sizesDiffer ? `${c.cluster} (n = ${c.n})` : c.cluster),
      textAnchor: "start",
      fontSize: 10,
      fill: "#555",
      className: "lmer-cluster-labels",
    }));
  }

  const panel: PlotOptions = {
    width,
    height,
    marginTop: margin.top,
    marginRight: margin.right,
    marginBottom: margin.bottom,
    marginLeft: margin.left,
    x: {
      domain: [0.5, nx + 0.5],
      ticks: xf.levels.map((_, i) => i + 1),
      tickFormat: (v: number) => xf.levels[v - 1] ?? "",
      label: options.x,
      labelAnchor: "center",
      labelArrow: "none",
      tickSize: 0,
    },
    y: { domain: yDomain, label: mf.responseLabel, labelArrow: "none", grid: true },
    color: {
      type: "ordinal",
      domain: [...gf.levels],
      range: gf.levels.map((_, i) => CLUSTER_COLORS[i % CLUSTER_COLORS.length]),
    },
    marks,
  };

  const legend: LegendItem[] = [
    { label: "Observed cluster mean", color: OBSERVED_COLOR, symbol: "bar" },
    { label: "Partially pooled cluster mean (lmer)", color: POOLED_COLOR, symbol: "bar" },
    { label: "lm (complete pooling)", color: LINE_COLOR, symbol: "line" },
    { label: "lmer fixed effects", color: LINE_COLOR, symbol: "dashed" },
  ];
  if (options.points) {
    legend.push(
      { label: "Observations", color: "#777", symbol: "dot", opacity: 0.35 },
      { label: "Shifted by the pooling", color: "#777", symbol: "dot" },
      { label: "lm on the shifted observations", color: POOLED_COLOR, symbol: "dashed" },
    );
    if (ng <= 12) {
      gf.levels.forEach((l, i) =>
        legend.push({
          label: `${group} ${l}`,
          color: CLUSTER_COLORS[i % CLUSTER_COLORS.length],
          symbol: "dot",
        })
      );
    }
  }
  const moves = cells.map((c) => ({ c, d: c.pooled - c.observed }));
  const biggest = moves.reduce((a, b) => (Math.abs(b.d) > Math.abs(a.d) ? b : a));
  const sizes = [...new Set(cells.map((c) => c.n))].sort((a, b) => a - b);
  const notes = [
    `Crossbars: each cluster's mean ${mf.responseLabel} at its level of ${options.x}, ` +
    "observed (black) and after partial pooling (red: the mean of the mixed model's " +
    "predictions for the cluster).",
    "Solid blue line: lm, complete pooling, where every observation weighs the same; dashed " +
    "line: the mixed model's population-level means, where every cluster weighs more " +
    "nearly the same, whatever its size.",
    `The largest move is ${group} ${biggest.c.cluster} (n = ${biggest.c.n}): ${
      fmt(biggest.d, 3)
    }. Cluster sizes: ${sizes.join(", ")}.`,
  ];
  if (dots) {
    notes.push(
      `Dots: the observations (faint) and the same observations shifted by the partially ` +
        `pooled minus the observed cluster mean (solid), coloured by ${group}; ` +
        `bins of ${fmt(dots.binwidth, 2)}.`,
    );
  }
  const title = "Cluster means before and after partial pooling";
  const subtitle = `lm(${lmModel.formula}) and lmer(${m.formula}): ${
    plural(ng, "cluster")
  }, ${m.nobs} observations`;
  return new Figure({
    title,
    subtitle,
    caption: notes.join(" "),
    legend,
    panels: [panel],
    description: `Pooling plot: ${title.toLowerCase()}; ${subtitle}` +
      `${options.points ? ", with the observations" : ""}. ` +
      "Display it in a notebook, or use toSVG(), toPNG() or save(path).",
  });
}

/**
 * A line through the level means at x = 1..k, extended half a level beyond
 * both ends along the end segments (with two levels: the question's abline).
 */
function extendLine(means: number[]): { x: number; y: number }[] {
  const k = means.length;
  if (k === 1) return [{ x: 0.5, y: means[0] }, { x: 1.5, y: means[0] }];
  const pts = means.map((y, i) => ({ x: i + 1, y }));
  const first = means[0] - (means[1] - means[0]) / 2;
  const last = means[k - 1] + (means[k - 1] - means[k - 2]) / 2;
  return [{ x: 0.5, y: first }, ...pts, { x: k + 0.5, y: last }];
}
