/**
 * Seeds 000–002's shrinkage weight: in a random-intercept model the
 * conditional mode of a cluster's intercept is the precision-weighted average
 * w_j·(cluster mean) + (1 − w_j)·(population mean), with
 * w_j = n_j σ_a² / (n_j σ_a² + σ²). The figure draws w against cluster size
 * for the fitted variance components and marks the model's clusters.
 * @module
 */
import type { PlotOptions } from "../deps.ts";
import { Plot } from "./plot.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { fmt, levelCounts, plural, requireLmer } from "./data.ts";
import { Figure, type LegendItem } from "./figure.ts";

/** Options of {@link weightPlot}. */
export interface WeightPlotOptions {
  /**
   * Also draw the curves for σ_a² multiplied by these factors (seed 002:
   * how a larger or smaller group-level variance moves the weights), e.g. [0.25, 4].
   */
  readonly multipliers?: readonly number[];
  /** Log scale for cluster size (default: when the sizes span a factor of 20 or more). */
  readonly logX?: boolean;
  /** Panel width in pixels (default 600). */
  readonly width?: number;
  /** Panel height in pixels (default 400). */
  readonly height?: number;
}

/** Colour of the fitted weight curve and the clusters. */
export const WEIGHT_COLOR = "#0b5394";

/**
 * The shrinkage weight n_j σ_a²/(n_j σ_a² + σ²) on each cluster's own mean
 * against cluster size n_j, for a random-intercept model, with the fitted
 * variance components in the caption.
 *
 * @example
 * ```ts
 * import { clusterTrial } from "../simulate/mod.ts";
 * import { lmer } from "../models/lmer/fit.ts";
 * import { weightPlot } from "./weight.ts";
 * const m = lmer("dependent ~ predictor + (1 | cluster)", clusterTrial({ seed: 824523 }));
 * console.log(weightPlot(m).caption?.startsWith("The conditional mode")); // true
 * ```
 */
export function weightPlot(model: LinearMixedModel, options: WeightPlotOptions = {}): Figure {
  const m = requireLmer(model, "weightPlot");
  const terms = m.varCorrTerms();
  if (terms.length !== 1 || terms[0].names.length !== 1 || terms[0].names[0] !== "(Intercept)") {
    const have = terms.map((t) => `(${t.names.join(" + ")} | ${t.group})`).join(" + ");
    throw new RangeError(
      `weightPlot is for random-intercept models with one term (1 | g), where the weight ` +
        `n σ_a²/(n σ_a² + σ²) is exact; the model ${m.formula} has ${have}`,
    );
  }
  const group = terms[0].group;
  const s2a = terms[0].cov[0][0];
  const s2 = m.sigma * m.sigma;
  const term = m.frame.mf.random[0];
  const counts = levelCounts(term);
  const weight = (n: number, va = s2a) => (n * va) / (n * va + s2);

  const bySize = new Map<number, string[]>();
  term.levels.forEach((l, k) => bySize.set(counts[k], [...(bySize.get(counts[k]) ?? []), l]));
  const clusters = [...bySize.entries()].sort((a, b) => a[0] - b[0]).map(([n, levels]) => ({
    n,
    w: weight(n),
    count: levels.length,
    levels,
  }));
  const nMin = clusters[0].n, nMax = clusters[clusters.length - 1].n;
  const logX = options.logX ?? nMax / nMin >= 20;
  const x0 = logX ? Math.max(0.5, nMin / 2) : 0, x1 = nMax * 1.08 + 1;
  const grid = Array.from(
    { length: 201 },
    (_, i) => logX ? x0 * (x1 / x0) ** (i / 200) : Math.max(1e-9, x0 + ((x1 - x0) * i) / 200),
  );
  const curve = (va: number, k: number) => grid.map((n) => ({ n, w: weight(n, va), k }));
  const half = s2 / s2a; // the size at which w = 1/2

  const marks: PlotOptions["marks"] = [
    Plot.ruleY([0.5], { stroke: "#999", strokeDasharray: "4,3" }),
  ];
  const extra = (options.multipliers ?? []).filter((k) => k > 0 && k !== 1);
  const width = options.width ?? 600, height = options.height ?? 400;
  const marginTop = 20, marginBottom = 42;
  // The curves' labels sit in the right margin at their curve's end, moved
  // apart where the curves end close together (13 px between baselines).
  const plotH = height - marginTop - marginBottom;
  const ends = extra.map((k) => ({ k, n: x1, w: weight(x1, s2a * k) }))
    .sort((a, b) => b.w - a.w);
  for (let i = 1; i < ends.length; i++) {
    ends[i].w = Math.min(ends[i].w, ends[i - 1].w - 13 / plotH);
  }
  for (const k of extra) {
    const data = curve(s2a * k, k);
    marks.push(Plot.line(data, {
      x: "n",
      y: "w",
      stroke: "#888",
      strokeWidth: 1.5,
      strokeDasharray: k < 1 ? "2,3" : "7,3",
      className: "lmer-weight-alternative",
    }));
  }
  marks.push(Plot.text(ends, {
    x: "n",
    y: "w",
    text: (d: (typeof ends)[number]) => `σ_a² × ${d.k}`,
    textAnchor: "start",
    dx: 4,
    fill: "#666",
    clip: false,
    className: "lmer-weight-multipliers",
  }));
  marks.push(Plot.line(curve(s2a, 1), {
    x: "n",
    y: "w",
    stroke: WEIGHT_COLOR,
    strokeWidth: 2.5,
    className: "lmer-weight-curve",
  }));
  if (half >= x0 && half <= x1) {
    marks.push(
      Plot.ruleX([half], { stroke: "#999", strokeDasharray: "4,3" }),
      Plot.text([{ n: half, w: 0.03 }], {
        x: "n",
        y: "w",
        text: () => `w = ½ at n = σ²/σ_a² = ${fmt(half)}`,
        textAnchor: "start",
        dx: 5,
        fill: "#555",
      }),
    );
  }
  marks.push(Plot.dot(clusters, {
    x: "n",
    y: "w",
    r: 5,
    fill: WEIGHT_COLOR,
    stroke: "white",
    strokeWidth: 1,
    title: (d: (typeof clusters)[number]) =>
      `n = ${d.n}: weight ${fmt(d.w, 4)}\n${group} ${d.levels.join(", ")}`,
    className: "lmer-weight-clusters",
  }));
  // Each cluster size's label below-right of its dot, or below-left in the
  // right part of the panel, where it would run into the margin's labels.
  const xFrac = (n: number) => logX ? Math.log(n / x0) / Math.log(x1 / x0) : (n - x0) / (x1 - x0);
  for (const right of [false, true]) {
    marks.push(Plot.text(clusters.filter((d) => (xFrac(d.n) > 0.6) === right), {
      x: "n",
      y: "w",
      text: (d: (typeof clusters)[number]) =>
        d.count > 1 ? `${d.count} clusters of ${d.n}` : `1 cluster of ${d.n}`,
      textAnchor: right ? "end" : "start",
      dx: right ? -7 : 7,
      dy: 11,
      fill: "#333",
      className: "lmer-weight-labels",
    }));
  }

  const panel: PlotOptions = {
    width,
    height,
    marginTop,
    marginLeft: 52,
    marginRight: extra.length ? 70 : 48,
    marginBottom,
    x: {
      type: logX ? "log" : "linear",
      domain: [x0, x1],
      label: `Cluster size n_j (observations per ${group})`,
      labelAnchor: "center",
      labelArrow: "none",
      grid: true,
    },
    y: {
      domain: [0, 1],
      label: "Weight w_j on the cluster's own mean",
      labelArrow: "none",
      grid: true,
    },
    marks,
  };
  const legend: LegendItem[] = [
    { label: "w = n σ_a² / (n σ_a² + σ²), fitted", color: WEIGHT_COLOR, symbol: "line" },
    {
      label: `Clusters of the model (${plural(term.levels.length, "level")})`,
      color: WEIGHT_COLOR,
      symbol: "dot",
    },
  ];
  if (extra.length) {
    legend.push({
      label: "Other σ_a² (dotted: smaller, dashed: larger)",
      color: "#888",
      symbol: "dashed",
    });
  }
  const caption = "The conditional mode of a cluster's intercept is the precision-weighted " +
    "average w_j × (its own mean, adjusted for the fixed effects) + (1 − w_j) × (the population " +
    "mean): small clusters and a small between-cluster variance mean more shrinkage. " +
    `Fitted variance components: σ_a² = ${fmt(s2a, 4)} (SD ${fmt(Math.sqrt(s2a), 3)}) ` +
    `between ${group}s, σ² = ${fmt(s2, 4)} (SD ${fmt(m.sigma, 3)}) residual; a cluster of ` +
    `n = σ²/σ_a² = ${fmt(half)} observations would keep half its own mean.`;
  const title = "Shrinkage weight on each cluster's own mean";
  const subtitle = `lmer(${m.formula}): weights of ${fmt(clusters[0].w, 3)} (n = ${nMin}) to ${
    fmt(clusters[clusters.length - 1].w, 3)
  } (n = ${nMax})`;
  return new Figure({
    title,
    subtitle,
    caption,
    legend,
    panels: [panel],
    description: `Weight plot: ${title.toLowerCase()}; ${subtitle}. σ_a² = ${fmt(s2a, 4)}, σ² = ${
      fmt(s2, 4)
    }. Display it in a notebook, or use toSVG(), toPNG() or save(path).`,
  });
}
