/**
 * Partial pooling of a GLMM on the response (probability) scale: each
 * cluster's raw proportion (no pooling) against the model's conditional
 * prediction (partial pooling), with an arrow from the first to the second,
 * toward the model's population-level prediction. The binomial counterpart
 * of {@link shrinkagePlot} (same colours), for cbpp's herds or VerbAgg's
 * items.
 * @module
 */
import type { PlotOptions } from "../deps.ts";
import { Plot } from "./plot.ts";
import type { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import {
  checkFigureOptions,
  fmt,
  groupNames,
  groupTerm,
  modelCall,
  plural,
  requireGlmer,
} from "./data.ts";
import { panelTitle } from "./diagnostics.ts";
import { Figure, type LegendItem } from "./figure.ts";
import { asFactor } from "./pooling.ts";
import { MIXED_COLOR, OLS_COLOR } from "./shrinkage.ts";

/** Options of {@link glmerShrinkagePlot}. */
export interface GlmerShrinkagePlotOptions {
  /** Grouping factor whose clusters are shown (default: the model's first). */
  readonly group?: string;
  /**
   * A factor column of the data (e.g. cbpp's `"period"`): adds a panel with
   * one point per cluster and level of it, and the population curve across
   * its levels.
   */
  readonly by?: string;
  /** Width of each panel in pixels (default 460). */
  readonly panelWidth?: number;
  /** Height of the panels in pixels (default 420). */
  readonly height?: number;
}

/** Colour of the population-level prediction. */
export const POPULATION_COLOR = "#222";

interface Cell {
  level: string;
  by: string;
  /** Trials (Σ prior weights × binomial sizes) of the cell. */
  w: number;
  raw: number;
  cond: number;
  pop: number;
  rows: number;
  pos: number;
}

/**
 * Shrinkage of cluster proportions on the probability scale for a binomial
 * (or Poisson) glmer fit. Left panel: each cluster's raw proportion
 * Σ successes / Σ trials (no pooling) and its conditional prediction Σ trials·μ̂
 * / Σ trials (fixed effects plus the cluster's conditional mode, through the
 * inverse link), against the cluster's number of trials, with an arrow from
 * the first to the second and a grey dash at the cluster's population-level
 * prediction (its own effect set to 0, any other grouping factor's kept;
 * same rows). Small clusters move most. With
 * `by`, a second panel splits each cluster by a factor (cbpp's periods):
 * the same arrows per cell, and the population curve across the factor's
 * levels. For a Poisson fit the proportions are mean counts.
 *
 * @example
 * ```ts
 * import { dataset } from "../datasets/mod.ts";
 * import { glmer } from "../models/glmer/fit.ts";
 * import { glmerShrinkagePlot } from "./glmerShrinkage.ts";
 * const m = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", dataset("cbpp"), {
 *   family: "binomial",
 * });
 * console.log(glmerShrinkagePlot(m, { by: "period" }).panels.length); // 2
 * ```
 */
export function glmerShrinkagePlot(
  model: GeneralizedLinearMixedModel,
  options: GlmerShrinkagePlotOptions = {},
): Figure {
  const m = requireGlmer(
    model,
    "glmerShrinkagePlot",
    "For an lmer() fit use shrinkagePlot or poolingPlot",
  );
  checkFigureOptions("glmerShrinkagePlot", options, ["group", "by", "panelWidth", "height"], [
    "panelWidth",
    "height",
  ]);
  const mf = m.frame.mf;
  const group = options.group ?? groupNames(m)[0];
  const term = groupTerm(m, group, "glmerShrinkagePlot");
  const { family, link } = m.family;
  const binomial = family === "binomial";
  const n = m.nobs;
  const y = m.frame.y, w = m.frame.weights;
  const mu = m.fitted();
  const mu0 = withoutGroup(m, group);
  const levels = term.levels, index = term.index;

  let byF: { levels: string[]; codes: Int32Array } | undefined;
  if (options.by !== undefined) {
    const col = mf.frame.columns.get(options.by);
    if (!col) {
      throw new RangeError(
        `glmerShrinkagePlot: by '${options.by}' is not a column of the model's data (columns: ${
          mf.frame.names.join(", ")
        })`,
      );
    }
    byF = asFactor(col, mf.rows);
    if (byF.levels.length > 30) {
      throw new RangeError(
        `glmerShrinkagePlot: by '${options.by}' has ${byF.levels.length} distinct values; ` +
          "give a factor with at most 30 levels",
      );
    }
  }

  /** Trial-weighted cell averages of y, μ̂ and the population μ̂ over rows grouped by `key`. */
  const cells = (key: (i: number) => number, nKeys: number) => {
    const sw = new Float64Array(nKeys), sy = new Float64Array(nKeys);
    const sm = new Float64Array(nKeys), s0 = new Float64Array(nKeys);
    const cnt = new Int32Array(nKeys);
    for (let i = 0; i < n; i++) {
      const k = key(i);
      sw[k] += w[i];
      sy[k] += w[i] * y[i];
      sm[k] += w[i] * mu[i];
      s0[k] += w[i] * mu0[i];
      cnt[k]++;
    }
    return { sw, sy, sm, s0, cnt };
  };

  // Left panel: one point per cluster.
  const nl = levels.length;
  const byLevel = cells((i) => index[i], nl);
  const pooled: Cell[] = [];
  for (let l = 0; l < nl; l++) {
    const sw = byLevel.sw[l];
    if (!(sw > 0)) continue;
    pooled.push({
      level: levels[l],
      by: "",
      w: sw,
      raw: byLevel.sy[l] / sw,
      cond: byLevel.sm[l] / sw,
      pop: byLevel.s0[l] / sw,
      rows: byLevel.cnt[l],
      pos: sw,
    });
  }
  const wMin = Math.min(...pooled.map((c) => c.w)), wMax = Math.max(...pooled.map((c) => c.w));
  // Clusters of (nearly) one size (VerbAgg's items and subjects): the x axis
  // would hold every point at one place; rank them by raw proportion instead.
  const ranked = wMax < 1.05 * wMin;
  if (ranked) {
    pooled.map((_, i) => i).sort((a, b) => pooled[a].raw - pooled[b].raw || a - b)
      .forEach((i, r) => (pooled[i].pos = r + 1));
  }
  const logX = !ranked && wMin > 0 && wMax / wMin > 10;
  // A short dash at each cluster's population value: ±3.5% of the axis.
  const dash = (c: Cell): [number, number] =>
    ranked
      ? [c.pos - 0.35, c.pos + 0.35]
      : logX
      ? [c.w / (wMax / wMin) ** 0.035, c.w * (wMax / wMin) ** 0.035]
      : [c.w - 0.035 * (wMax - wMin || 1), c.w + 0.035 * (wMax - wMin || 1)];
  const unit = binomial ? "trials" : "observations";
  const scaleName = binomial ? "Probability" : "Mean count";
  const rawName = binomial ? "Raw proportion" : "Raw mean";
  const yAll = (cs: Cell[]) => cs.flatMap((c) => [c.raw, c.cond, c.pop]);
  const yDomain = extent(yAll(pooled), binomial);
  const panelWidth = options.panelWidth ?? 460;
  const height = options.height ?? 420;
  const rMax = pooled.length > 60 ? 4 : 7;
  const radius = (c: Cell, max: number) => Math.round(2 * rMax * Math.sqrt(c.w / max)) / 2;
  const tip = (c: Cell) =>
    `${group} ${c.level}${c.by ? `, ${options.by} ${c.by}` : ""} (${fmt(c.w, 4)} ${unit})\n` +
    `raw ${fmt(c.raw, 3)} → model ${fmt(c.cond, 3)} (population ${fmt(c.pop, 3)})`;
  const arrows = (data: Cell[], max: number, x: string) =>
    [...Map.groupBy(data, (c) => radius(c, max)).entries()].map(([rad, d]) =>
      Plot.arrow(d, {
        x1: x,
        y1: "raw",
        x2: x,
        y2: "cond",
        stroke: "#444",
        strokeOpacity: 0.7,
        strokeWidth: 1,
        headLength: 5,
        insetStart: rad,
        insetEnd: rad + 1,
        className: "lmer-shrinkage",
      })
    );
  const points = (data: Cell[], x: string, which: "raw" | "cond") =>
    Plot.dot(data, {
      x,
      y: which,
      r: "w",
      fill: which === "raw" ? OLS_COLOR : MIXED_COLOR,
      fillOpacity: 0.85,
      stroke: "white",
      strokeWidth: 0.5,
      sort: null,
      title: tip,
      className: which === "raw" ? "lmer-raw" : "lmer-conditional",
    });

  // the layout both panels share (the split panel widens with its levels)
  const frame: PlotOptions = {
    height,
    marginLeft: 56,
    marginTop: 30,
    marginBottom: 42,
    marginRight: 16,
    inset: 10,
    grid: true,
  };
  const left: PlotOptions = {
    ...frame,
    width: panelWidth,
    x: {
      type: logX ? "log" : "linear",
      label: ranked
        ? `${group}s ranked by raw ${binomial ? "proportion" : "mean"} (${
          fmt(wMin, 4)
        } ${unit} each)`
        : `${binomial ? "Trials" : "Observations"} in the ${group}${logX ? " (log scale)" : ""}`,
      labelAnchor: "center",
      labelArrow: "none",
      ticks: 5,
      tickFormat: logX ? "~s" : ranked ? "d" : undefined,
    },
    y: { domain: yDomain, label: scaleName, labelAnchor: "center", labelArrow: "none" },
    r: { domain: [0, wMax], range: [0, rMax] },
    marks: [
      panelTitle(byF ? `Pooled over ${options.by}` : `One point per ${group}`),
      Plot.link(pooled, {
        x1: (c: Cell) => dash(c)[0],
        x2: (c: Cell) => dash(c)[1],
        y1: "pop",
        y2: "pop",
        stroke: "#888",
        strokeWidth: 2.5,
        className: "lmer-population",
      }),
      points(pooled, "pos", "raw"),
      points(pooled, "pos", "cond"),
      ...arrows(pooled, wMax, "pos"),
    ],
  };
  const panels: PlotOptions[] = [left];

  const moved = pooled.map((c) => Math.abs(c.raw - c.cond));
  const order = pooled.map((_, i) => i).sort((a, b) => pooled[a].w - pooled[b].w);
  const half = Math.floor(order.length / 2);
  const meanMove = (ix: number[]) => ix.reduce((s, i) => s + moved[i], 0) / ix.length;
  const smallMove = meanMove(order.slice(0, Math.max(1, half)));
  const largeMove = meanMove(order.slice(half));

  let byNote = "";
  if (byF) {
    const nb = byF.levels.length;
    const codes = byF.codes;
    const grid = cells((i) => index[i] * nb + codes[i], nl * nb);
    // Within each level of `by`, clusters side by side in the order of their
    // conditional modes, so that a cluster keeps its place across levels.
    const tab = m.ranefTables()[group];
    const rank = new Int32Array(nl);
    tab.levels.map((_, l) => l).sort((a, b) => tab.values[a][0] - tab.values[b][0] || a - b)
      .forEach((l, r) => (rank[l] = r));
    const spread = 0.7;
    const split: Cell[] = [];
    for (let l = 0; l < nl; l++) {
      for (let k = 0; k < nb; k++) {
        const c = l * nb + k, sw = grid.sw[c];
        if (!(sw > 0)) continue;
        split.push({
          level: levels[l],
          by: byF.levels[k],
          w: sw,
          raw: grid.sy[c] / sw,
          cond: grid.sm[c] / sw,
          pop: grid.s0[c] / sw,
          rows: grid.cnt[c],
          pos: k + 1 + (nl > 1 ? (rank[l] / (nl - 1) - 0.5) * spread : 0),
        });
      }
    }
    const byTotals = cells((i) => codes[i], nb);
    const curve = byF.levels.map((lv, k) => ({
      pos: k + 1,
      pop: byTotals.s0[k] / byTotals.sw[k],
      level: lv,
    }));
    const sMax = Math.max(...split.map((c) => c.w));
    const splitDomain = extent([...yAll(split), ...curve.map((c) => c.pop)], binomial);
    const labels = byF.levels;
    panels.push({
      width: Math.max(panelWidth, 90 * nb + 80),
      ...frame,
      x: {
        type: "linear",
        domain: [0.5, nb + 0.5],
        ticks: labels.map((_, k) => k + 1),
        tickFormat: (v: number) => labels[v - 1] ?? "",
        label: options.by,
        labelAnchor: "center",
        labelArrow: "none",
      },
      y: { domain: splitDomain, label: scaleName, labelAnchor: "center", labelArrow: "none" },
      r: { domain: [0, sMax], range: [0, rMax] },
      marks: [
        panelTitle(`One point per ${group} and ${options.by}`),
        Plot.line(curve, {
          x: "pos",
          y: "pop",
          stroke: POPULATION_COLOR,
          strokeWidth: 2,
          strokeDasharray: "5,3",
          className: "lmer-population-curve",
        }),
        points(split, "pos", "raw"),
        points(split, "pos", "cond"),
        ...arrows(split, sMax, "pos"),
        Plot.dot(curve, {
          x: "pos",
          y: "pop",
          r: 4,
          fill: POPULATION_COLOR,
          title: (d: { level: string; pop: number }) =>
            `${options.by} ${d.level}: population ${fmt(d.pop, 3)}`,
          className: "lmer-population-points",
        }),
      ],
    });
    byNote =
      ` Right: the same for each ${group} in each ${options.by} (${
        plural(split.length, "cell")
      }; ${group}s side by side in the order of their conditional modes); the dashed curve is ` +
      `the population-level prediction of each ${options.by}, averaged over its rows.`;
  }

  const legend: LegendItem[] = [
    { label: `${rawName} (no pooling)`, color: OLS_COLOR, symbol: "dot" },
    { label: "Conditional prediction (partial pooling)", color: MIXED_COLOR, symbol: "dot" },
    { label: "Shrinkage", color: "#444", symbol: "arrow" },
    { label: `Population level (no ${group} effect)`, color: "#888", symbol: "line" },
    ...(byF
      ? [
        {
          label: `Population curve over ${options.by}`,
          color: POPULATION_COLOR,
          symbol: "dashed",
        } as const,
      ]
      : []),
  ];
  const what = binomial ? "proportion" : "mean count";
  const caption =
    `Each ${group}'s raw ${what} (${
      binomial ? "Σ successes / Σ trials" : "Σ y / n"
    }: no pooling) and the model's conditional prediction for the same rows (fixed effects ` +
    `plus the ${group}'s conditional mode, through the inverse ${link} link, averaged ` +
    `with the same weights: partial pooling), with an arrow from the first to the second; the ` +
    `grey dash is the ${group}'s population-level prediction (its ${group} effect set to 0${
      groupNames(m).length > 1 ? ", the other random effects kept" : ""
    }). ` +
    `The arrows point toward it: the ${group} effects are shrunken toward 0 on the ${link} ` +
    `scale, ` +
    (ranked
      ? `all ${group}s with the same number of ${unit}, so the ${link} shifts are shrunken alike ` +
        `(on the probability scale least near 0 and 1). The ${group}s are ranked by raw ${what}.`
      : `the less the more ${unit} a ${group} has (mean move ${fmt(smallMove, 2)} for the ` +
        `smaller half of the ${group}s, ${fmt(largeMove, 2)} for the larger half). Point area ∝ ` +
        `${unit} (${fmt(wMin, 3)} to ${fmt(wMax, 3)}).`) +
    byNote;
  const title = `Partial pooling on the ${binomial ? "probability" : "response"} scale: ` +
    `${group} effects`;
  const subtitle = `${modelCall(m)}: ${plural(pooled.length, "level")} of ${group}`;
  return new Figure({
    title,
    subtitle,
    caption,
    legend,
    panels,
    columns: panels.length,
    description: `Shrinkage plot: ${title.toLowerCase()}; ${subtitle}. ` +
      `${pooled.length} raw ${what}s → conditional predictions. ` +
      "Display it in a notebook, or use toSVG(), toPNG() or save(path).",
  });
}

/** A padded range of the values, clamped to [0, 1] for probabilities. */
function extent(v: number[], probability: boolean): [number, number] {
  const f = v.filter(Number.isFinite);
  let lo = Math.min(...f), hi = Math.max(...f);
  const pad = (hi - lo) * 0.04 || 0.05;
  lo -= pad;
  hi += pad;
  if (probability) (lo = Math.max(0, lo), hi = Math.min(1, hi));
  else lo = Math.max(0, lo);
  return [lo, hi];
}

/**
 * μ̂ with the group's random effects set to 0 and every other one kept: the
 * reference a cluster of `group` is pulled toward (in a crossed model such as
 * VerbAgg's, an item's rows keep their subjects' effects).
 */
function withoutGroup(m: GeneralizedLinearMixedModel, group: string): Float64Array {
  const eta = m.linearPredictor();
  const tab = m.ranefTables()[group];
  let col = 0;
  // ranefTables lists a group's columns term by term in the model's term order.
  for (const t of m.glmm.terms) {
    if (t.group !== group) continue;
    const { index, z } = t.term, q = t.q;
    for (let i = 0; i < eta.length; i++) {
      const b = tab.values[index[i]];
      for (let c = 0; c < q; c++) eta[i] -= z[i * q + c] * b[col + c];
    }
    col += q;
  }
  const f = m.frame.family;
  return eta.map((e) => f.linkinv(e));
}
