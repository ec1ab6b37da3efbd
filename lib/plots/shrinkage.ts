/**
 * Seed 004's figure (Clark, "Shrinkage in Mixed Effects Models"): every
 * cluster's own least-squares intercept and slope (no pooling, lmList) and
 * its mixed-model coefficients (partial pooling), with an arrow from the
 * first to the second, the population average marked as the post's "black
 * hole"; by default the window shows every cluster (the post's fixed
 * window, zoomed to the random-effect scale, is the `zoom` option).
 * `animate: true` replaces the arrows by the movement itself (SMIL, no
 * scripts), as the post's gganimate.
 * @module
 */
import type { PlotOptions } from "../deps.ts";
import { Plot } from "./plot.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { fmt, groupNames, groupTerm, perLevelLines, plural, requireLmer } from "./data.ts";
import {
  Figure,
  type FigureSpec,
  type LegendItem,
  type PanelHook,
  setAttributes,
  SVG_NS,
} from "./figure.ts";

/** Options of {@link shrinkagePlot}. */
export interface ShrinkagePlotOptions {
  /** Show the movement as an SVG animation (SMIL, loops) instead of arrows. */
  readonly animate?: boolean;
  /** Grouping factor (default: the first one with a random slope, else the first). */
  readonly group?: string;
  /** The fixed-effect column on the y axis (default: the group's random slope, else the first). */
  readonly slope?: string;
  /**
   * The window: `false` (default) shows every cluster, before and after
   * pooling; `true` shows the population average ± 3 standard deviations of
   * the fitted random effects; `{ intercept, slope }` gives those standard
   * deviations (Clark's post uses the generating values 0.5 and 0.25 for
   * every setting, so the panels compare, and its larger-variance settings
   * leave most clusters outside); clusters outside the window are clipped.
   */
  readonly zoom?: boolean | { readonly intercept: number; readonly slope: number };
  /** Seconds of one animation cycle (default 6). */
  readonly duration?: number;
  /** Width of the plot panel in pixels (default 640). */
  readonly width?: number;
  /** Height of the plot panel in pixels (default 560). */
  readonly height?: number;
}

/** No-pooling (per-cluster OLS) colour: the lighter, "cluster-specific" one of the post. */
export const OLS_COLOR = "#e69f00";
/** Partial-pooling (mixed model) colour. */
export const MIXED_COLOR = "#0b5394";

interface Row {
  level: string;
  n: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  alpha: number;
}

/**
 * Shrinkage of per-cluster estimates toward the population average (seed
 * 004): intercept on x, slope on y; per-cluster OLS fits (lmList) with
 * arrows to the mixed model's coefficients (`coef(m)`), the fixed effects
 * marked as the "black hole", point size = cluster size when clusters differ
 * in size.
 *
 * @example
 * ```ts
 * import { createData } from "../simulate/mod.ts";
 * import { lmer } from "../models/lmer/fit.ts";
 * import { shrinkagePlot } from "./shrinkage.ts";
 * const m = lmer("y ~ x + (x | cluster)", createData({ nCluster: 20 }));
 * const fig = shrinkagePlot(m);
 * console.log(fig.toSVG().includes("Per-cluster")); // true
 * ```
 */
export function shrinkagePlot(
  model: LinearMixedModel,
  options: ShrinkagePlotOptions = {},
): Figure {
  const m = requireLmer(
    model,
    "shrinkagePlot",
    "An lm() fit has no cluster estimates to shrink; fit lmer('y ~ x + (x | cluster)', data)",
  );
  const mf = m.frame.mf;
  const groups = groupNames(m);
  const group = options.group ??
    mf.random.find((t) => t.cnames.length > 1)?.group ?? groups[0];
  const term = groupTerm(m, group, "shrinkagePlot");
  const fixedNames = m.frame.x.names;
  if (!fixedNames.includes("(Intercept)")) {
    throw new RangeError(
      `shrinkagePlot: the model ${m.formula} has no fixed intercept to put on the x axis`,
    );
  }
  const groupCols = mf.random.filter((t) => t.group === group).flatMap((t) => [...t.cnames]);
  const slope = options.slope ??
    groupCols.find((c) => c !== "(Intercept)" && fixedNames.includes(c)) ??
    fixedNames.find((c) => c !== "(Intercept)");
  if (slope === undefined) {
    throw new RangeError(
      `shrinkagePlot: the model ${m.formula} has no fixed-effect slope to put on the y axis`,
    );
  }
  const j = fixedNames.indexOf(slope);
  if (j < 0 || slope === "(Intercept)") {
    throw new RangeError(
      `shrinkagePlot: '${slope}' is not a slope of the model's fixed effects ` +
        `(choices: ${fixedNames.filter((c) => c !== "(Intercept)").join(", ")})`,
    );
  }
  const n = m.nobs;
  const xcol = m.frame.x.x.subarray(j * n, (j + 1) * n);
  const levels = term.levels;
  const ols = perLevelLines(mf.y, xcol, term.index, levels.length);
  if (ols.slope.every((s) => Number.isNaN(s))) {
    throw new RangeError(
      `shrinkagePlot: '${slope}' does not vary within any level of '${group}', so no cluster ` +
        `has a least-squares slope of its own (use poolingPlot for a cluster-level predictor)`,
    );
  }
  const tab = m.coefTables()[group];
  const ci = tab.columns.indexOf("(Intercept)"), cs = tab.columns.indexOf(slope);
  const mixedX = tab.values.map((v) => v[ci]), mixedY = tab.values.map((v) => v[cs]);
  const fe = m.fixef();
  const fe0 = fe["(Intercept)"], fe1 = fe[slope];

  // Clark's transparency: clusters whose own fit is near the population
  // average are fainter (mean absolute z-score of the two deviations).
  const ok = levels.map((_, l) => Number.isFinite(ols.slope[l]));
  const z = [ols.intercept.map((v) => v - fe0), ols.slope.map((v) => v - fe1)].map((d) => {
    const v = d.filter((_, l) => ok[l]);
    const mean = v.reduce((s, a) => s + a, 0) / v.length;
    const sd = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / Math.max(1, v.length - 1));
    return d.map((a) => (sd > 0 ? Math.abs((a - mean) / sd) : 0));
  });
  const t = levels.map((_, l) => (z[0][l] + z[1][l]) / 2);
  const tOk = t.filter((_, l) => ok[l]);
  const tMin = Math.min(...tOk), tMax = Math.max(...tOk);
  const alpha = t.map((v) => 0.3 + 0.7 * (tMax > tMin ? (v - tMin) / (tMax - tMin) : 1));

  const rows: Row[] = [];
  const lone: Row[] = [];
  levels.forEach((level, l) => {
    const r = {
      level,
      n: ols.n[l],
      x0: ols.intercept[l],
      y0: ols.slope[l],
      x1: mixedX[l],
      y1: mixedY[l],
      alpha: ok[l] ? alpha[l] : 0.3,
    };
    (ok[l] ? rows : lone).push(r);
  });

  // The window: population average ± 3 SD of the random effects.
  const sd = randomSds(m, group, slope);
  const spread = (v: number[]) => {
    const mean = v.reduce((s, a) => s + a, 0) / v.length;
    return Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / Math.max(1, v.length - 1));
  };
  let sdI: number, sdS: number;
  if (typeof options.zoom === "object") {
    sdI = options.zoom.intercept;
    sdS = options.zoom.slope;
    if (!(sdI > 0) || !(sdS > 0)) {
      throw new RangeError("shrinkagePlot: zoom.intercept and zoom.slope must be positive");
    }
  } else {
    // A zero (singular) variance would collapse the window: use the spread of
    // the per-cluster fits instead.
    sdI = sd.intercept > 1e-8 ? sd.intercept : spread(rows.map((r) => r.x0));
    sdS = sd.slope > 1e-8 ? sd.slope : spread(rows.map((r) => r.y0));
  }
  const zoom = options.zoom !== undefined && options.zoom !== false;
  const all = [...rows, ...lone];
  const xDomain = zoom ? [fe0 - 3 * sdI, fe0 + 3 * sdI] : extent([
    ...rows.map((r) => r.x0),
    ...all.map((r) => r.x1),
    fe0,
  ]);
  const yDomain = zoom ? [fe1 - 3 * sdS, fe1 + 3 * sdS] : extent([
    ...rows.map((r) => r.y0),
    ...all.map((r) => r.y1),
    fe1,
  ]);
  const inside = (x: number, y: number) =>
    x >= xDomain[0] && x <= xDomain[1] && y >= yDomain[0] && y <= yDomain[1];
  const outside = rows.filter((r) => !inside(r.x0, r.y0)).length;

  const sizes = [...ols.n];
  const nMin = Math.min(...sizes), nMax = Math.max(...sizes);
  const unbalanced = nMin !== nMax;
  const r = unbalanced ? "n" : 3;
  // The radius Plot draws (its r scale: sqrt from 0, range [0, 7]), to 0.5 px.
  const radius = (k: number) => unbalanced ? Math.round(14 * Math.sqrt(k / nMax)) / 2 : 3;
  const slopeLabel = slope === "(Intercept)" ? slope : `Slope of ${slope}`;

  const base: PlotOptions = {
    width: options.width ?? 640,
    height: options.height ?? 560,
    marginLeft: 52,
    marginBottom: 40,
    // Room inside the frame for the largest point (r 7) and the black hole
    // (r 13): points at the window's edge are drawn whole.
    inset: 14,
    grid: true,
    clip: true,
    x: { domain: xDomain, label: "Intercept", labelAnchor: "center", labelArrow: "none" },
    y: { domain: yDomain, label: slopeLabel, labelArrow: "none" },
    // Point area proportional to cluster size (Plot's r scale is a sqrt scale from 0).
    r: { range: [0, 7] },
    opacity: { type: "identity" },
  };
  const crosshair = [
    Plot.ruleX([fe0], { stroke: "#888", strokeDasharray: "3,3", strokeWidth: 1 }),
    Plot.ruleY([fe1], { stroke: "#888", strokeDasharray: "3,3", strokeWidth: 1 }),
  ];
  const blackHole = [
    Plot.dot([{ x: fe0, y: fe1 }], { x: "x", y: "y", r: 13, fill: "black", fillOpacity: 0.25 }),
    Plot.dot([{ x: fe0, y: fe1 }], { x: "x", y: "y", r: 8, fill: "black", fillOpacity: 0.5 }),
  ];
  const mixedDots = (data: Row[], label: string) =>
    Plot.dot(data, {
      x: "x1",
      y: "y1",
      r,
      fill: MIXED_COLOR,
      fillOpacity: "alpha",
      stroke: "white",
      strokeWidth: 0.5,
      sort: null,
      className: label,
    });
  const olsDots = (label: string, faint: number) =>
    Plot.dot(rows, {
      x: "x0",
      y: "y0",
      r,
      fill: OLS_COLOR,
      fillOpacity: (d: Row) => d.alpha * faint,
      stroke: "white",
      strokeWidth: 0.5,
      sort: null,
      title: tip,
      className: label,
    });
  const tip = (d: Row) =>
    `${group} ${d.level} (n = ${d.n})\nOLS: ${fmt(d.x0)}, ${fmt(d.y0)}\nmixed: ${fmt(d.x1)}, ${
      fmt(d.y1)
    }`;
  const stillPanel: PlotOptions = {
    ...base,
    marks: [
      ...crosshair,
      olsDots("lmer-ols", 1),
      mixedDots([...rows, ...lone], "lmer-mixed"),
      ...blackHole,
      // Arrows on top, each ending at the edge of its mixed-model point (so
      // the head is not under it): one mark per point radius, as Plot's
      // insetEnd is a constant.
      ...[...Map.groupBy(rows, (d) => radius(d.n)).entries()].map(([rad, data]) =>
        Plot.arrow(data, {
          x1: "x0",
          y1: "y0",
          x2: "x1",
          y2: "y1",
          stroke: "#444",
          strokeOpacity: 0.6,
          strokeWidth: 1,
          headLength: 6,
          insetStart: rad,
          insetEnd: rad + 1.5,
          className: "lmer-shrinkage",
        })
      ),
    ],
  };

  const legend: LegendItem[] = [
    { label: "Per-cluster OLS fit (no pooling)", color: OLS_COLOR, symbol: "dot" },
    { label: "Mixed model (partial pooling)", color: MIXED_COLOR, symbol: "dot" },
    { label: "Population average (fixed effects)", color: "black", symbol: "ring" },
    ...(options.animate ? [] : [{ label: "Shrinkage", color: "#444", symbol: "arrow" } as const]),
  ];
  const notes: string[] = [
    `Each cluster's intercept and ${slope} slope from its own least-squares line ` +
    `(lmList: no pooling) and from the mixed model (coef(m) = fixed effects + conditional ` +
    `modes: partial pooling); ${
      options.animate
        ? "the animation moves each cluster from the first to the second"
        : "arrows point from the first to the second"
    }. Clusters far from the population average (${fmt(fe0)}, ${fmt(fe1)}) and small ` +
    `clusters move most.`,
  ];
  if (zoom) {
    notes.push(
      `Window: fixed effects ± 3 SD of the random effects (${
        typeof options.zoom === "object" ? "given" : "estimated"
      } SD ${fmt(sdI)} for the intercept, ${fmt(sdS)} for the slope)${
        outside
          ? `; ${plural(outside, "per-cluster fit")} outside it ${
            outside === 1 ? "is" : "are"
          } clipped`
          : ""
      }.`,
    );
  }
  notes.push(
    unbalanced
      ? `Point area ∝ cluster size (n = ${nMin} to ${nMax}).`
      : `${plural(levels.length, "cluster")} of ${nMin} observations.`,
  );
  if (lone.length) {
    notes.push(
      lone.length === 1
        ? "1 cluster too small for a line of its own appears only as its mixed-model estimate."
        : `${lone.length} clusters too small for a line of their own appear only as ` +
          "their mixed-model estimates.",
    );
  }
  notes.push("Fainter points are nearer the population average.");
  const title = "Shrinkage of cluster estimates toward the population average";
  const subtitle = `lmer(${m.formula}): ${plural(levels.length, `level`)} of ${group}`;
  const description = `Shrinkage plot: ${title.toLowerCase()}; ${subtitle}. ` +
    `${rows.length} per-cluster OLS fits → mixed-model estimates` +
    `${options.animate ? " (animated SVG)" : ""}. ` +
    "Display it in a notebook, or use toSVG(), toPNG() or save(path).";
  const still: FigureSpec = {
    title,
    subtitle,
    caption: notes.join(" "),
    legend,
    panels: [stillPanel],
    description,
  };
  if (!options.animate) return new Figure(still);

  const animatedPanel: PlotOptions = {
    ...base,
    marks: [
      ...crosshair,
      olsDots("lmer-start", 0.35),
      ...(lone.length ? [mixedDots(lone, "lmer-mixed")] : []),
      ...blackHole,
      olsDots("lmer-moving", 1),
    ],
  };
  return new Figure({
    ...still,
    panels: [animatedPanel],
    still,
    hook: animateShrinkage(rows, options.duration ?? 6),
  });
}

function extent(v: number[]): number[] {
  const f = v.filter(Number.isFinite);
  const lo = Math.min(...f), hi = Math.max(...f);
  const pad = (hi - lo) * 0.04 || 1;
  return [lo - pad, hi + pad];
}

/** Standard deviations of the group's random intercept and slope (0 when absent). */
function randomSds(
  m: LinearMixedModel,
  group: string,
  slope: string,
): { intercept: number; slope: number } {
  let intercept = 0, sl = 0;
  for (const t of m.varCorrTerms()) {
    if (t.group !== group) continue;
    t.names.forEach((nm, i) => {
      if (nm === "(Intercept)") intercept = Math.sqrt(t.cov[i][i]);
      if (nm === slope) sl = Math.sqrt(t.cov[i][i]);
    });
  }
  return { intercept, slope: sl };
}

/**
 * SMIL animation: each "moving" circle travels from its per-cluster fit to
 * its mixed-model estimate and turns from the no-pooling to the
 * partial-pooling colour, drawing a trace behind it; hold, move, hold, loop.
 */
function animateShrinkage(rows: readonly Row[], duration: number): PanelHook {
  return ({ svg, scale, document }) => {
    const g = svg.querySelector("g.lmer-moving");
    const xs = scale("x"), ys = scale("y");
    if (!g || !xs || !ys) return;
    const circles = g.querySelectorAll("circle");
    const keyTimes = "0;0.12;0.62;1";
    const timing = {
      dur: `${duration}s`,
      repeatCount: "indefinite",
      keyTimes,
      calcMode: "spline",
      keySplines: "0 0 1 1;0.45 0 0.25 1;0 0 1 1",
    };
    const animate = (attr: string, from: string | number, to: string | number) => {
      const a = document.createElementNS(SVG_NS, "animate");
      setAttributes(a, { attributeName: attr, values: `${from};${from};${to};${to}`, ...timing });
      return a;
    };
    // The traces go under the moving dots, clipped like them.
    const traces = document.createElementNS(SVG_NS, "g");
    setAttributes(traces, { class: "lmer-traces", stroke: "#444", "stroke-opacity": "0.4" });
    const clip = g.getAttribute("clip-path");
    if (clip) traces.setAttribute("clip-path", clip);
    g.parentNode?.insertBefore(traces, g);
    for (let i = 0; i < circles.length && i < rows.length; i++) {
      const c = circles[i], d = rows[i];
      const x0 = c.getAttribute("cx") ?? "0", y0 = c.getAttribute("cy") ?? "0";
      const x1 = Number(xs.apply(d.x1)).toFixed(2), y1 = Number(ys.apply(d.y1)).toFixed(2);
      c.appendChild(animate("cx", x0, x1));
      c.appendChild(animate("cy", y0, y1));
      c.appendChild(animate("fill", OLS_COLOR, MIXED_COLOR));
      const line = document.createElementNS(SVG_NS, "line");
      setAttributes(line, { x1: x0, y1: y0, x2: x0, y2: y0 });
      line.appendChild(animate("x2", x0, x1));
      line.appendChild(animate("y2", y0, y1));
      traces.appendChild(line);
    }
  };
}
