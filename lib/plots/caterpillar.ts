/**
 * lme4's `dotplot(ranef(m, condVar = TRUE))`: the conditional modes of one
 * grouping factor's random effects with 95% intervals from the conditional
 * variances (±1.96 conditional SD), levels sorted by the first term, one
 * panel per term, each with its own x scale (lattice's `relation = "free"`).
 * For a glmer fit the modes and their intervals are on the link scale (logit
 * for binomial), where the random effects are normal, as lme4 draws them.
 * @module
 */
import type { PlotOptions } from "../deps.ts";
import { Plot } from "./plot.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import { qnorm } from "../rng/mod.ts";
import { checkFigureOptions, fmt, groupNames, modelCall, requireMixed } from "./data.ts";
import { Figure, type LegendItem } from "./figure.ts";

/** Options of {@link caterpillarPlot}. */
export interface CaterpillarPlotOptions {
  /** Grouping factor (default: the model's first). */
  readonly group?: string;
  /** Coverage of the intervals (default 0.95: ±1.96 conditional SD). */
  readonly level?: number;
  /** Width of each panel in pixels (default 300, the first one wider for the labels). */
  readonly panelWidth?: number;
}

/** Colour of the intervals. */
export const INTERVAL_COLOR = "#0b5394";
// Above this many levels the names are unreadable: levels become ranks.
const MAX_NAMED_LEVELS = 60;

interface Row {
  level: string;
  rank: number;
  value: number;
  lo: number;
  hi: number;
}

/**
 * Conditional modes with 95% intervals (±1.96·condSd) for one grouping
 * factor, sorted, a panel per term: lme4's `dotplot(ranef(m, condVar = TRUE))`.
 * Takes an lmer or a glmer fit; a glmer fit's modes and conditional sds
 * (from PIRLS at the optimum, as lme4's `ranef(m, condVar = TRUE)`) are on
 * the link scale.
 *
 * @example
 * ```ts
 * import { createData } from "../simulate/mod.ts";
 * import { lmer } from "../models/lmer/fit.ts";
 * import { caterpillarPlot } from "./caterpillar.ts";
 * const m = lmer("y ~ x + (x | cluster)", createData({ nCluster: 20 }));
 * console.log(caterpillarPlot(m).panels.length); // 2: (Intercept) and x
 * ```
 */
export function caterpillarPlot(
  model: LinearMixedModel | GeneralizedLinearMixedModel,
  options: CaterpillarPlotOptions = {},
): Figure {
  const m = requireMixed(model, "caterpillarPlot");
  checkFigureOptions("caterpillarPlot", options, ["group", "level", "panelWidth"], ["panelWidth"]);
  const link = m instanceof GeneralizedLinearMixedModel ? m.family.link : undefined;
  const tables = m.ranefTables();
  const groups = groupNames(m);
  const group = options.group ?? groups[0];
  const tab = tables[group];
  if (!tab) {
    throw new RangeError(
      `caterpillarPlot: '${group}' is not a grouping factor of the model ${m.formula} ` +
        `(its grouping factors: ${groups.map((g) => `'${g}'`).join(", ")})`,
    );
  }
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`caterpillarPlot: level must be between 0 and 1 (got ${level})`);
  }
  // The normal quantile for the coverage; 1.96 for 95%, as lme4's dotplot.
  const z = level === 0.95 ? 1.96 : qnorm(0.5 + level / 2);
  const nLev = tab.levels.length;
  // lattice's dotplot.ranef.mer orders every panel by the first term.
  const order = tab.levels.map((_, l) => l).sort((a, b) => tab.values[a][0] - tab.values[b][0]);
  const named = nLev <= MAX_NAMED_LEVELS;
  const panelWidth = options.panelWidth ?? 300;
  const labelWidth = named
    ? Math.min(160, 14 + 6.5 * Math.max(...tab.levels.map((l) => l.length)))
    : 24;
  const height = named ? Math.max(220, 16 * nLev + 70) : 560;

  const panels: PlotOptions[] = tab.columns.map((col, c) => {
    const rows: Row[] = order.map((l, rank) => {
      const v = tab.values[l][c], sd = tab.condSd[l][c];
      return { level: tab.levels[l], rank: rank + 1, value: v, lo: v - z * sd, hi: v + z * sd };
    });
    const first = c === 0;
    const y = named ? "level" : "rank";
    const tip = (r: Row) =>
      `${group} ${r.level}: ${fmt(r.value, 4)} [${fmt(r.lo, 4)}, ${fmt(r.hi, 4)}]`;
    return {
      width: panelWidth + (first ? labelWidth : 30),
      height,
      marginLeft: first ? labelWidth : 30,
      marginRight: 30,
      marginTop: 30,
      marginBottom: 40,
      x: {
        label: col,
        labelAnchor: "center",
        labelArrow: "none",
        grid: true,
        nice: true,
        ticks: Math.max(3, Math.floor(panelWidth / 70)),
      },
      y: named
        ? {
          type: "band",
          domain: rows.map((r) => r.level),
          axis: first ? "left" : null,
          label: null,
          reverse: true,
          tickSize: 0,
        }
        : { type: "linear", domain: [0, nLev + 1], axis: null },
      marks: [
        Plot.ruleX([0], { stroke: "#777", strokeDasharray: "4,3" }),
        Plot.link(rows, {
          x1: "lo",
          x2: "hi",
          y1: y,
          y2: y,
          stroke: INTERVAL_COLOR,
          strokeOpacity: 0.8,
          strokeWidth: named ? 2 : 1,
          className: "lmer-intervals",
        }),
        Plot.dot(rows, {
          x: "value",
          y,
          r: named ? 3 : 1.6,
          fill: "black",
          title: tip,
          className: "lmer-modes",
        }),
        Plot.text([col], {
          frameAnchor: "top",
          dy: -22,
          text: (d: string) => d,
          fontWeight: "bold",
          fontSize: 12,
        }),
      ],
    };
  });

  const title = `Random effects of ${group}: conditional modes with ${
    Math.round(level * 100)
  }% intervals`;
  const subtitle = `${modelCall(m)}: ${nLev} levels, as lme4's dotplot(ranef(m, condVar = TRUE))`;
  const legend: LegendItem[] = [
    { label: "Conditional mode (BLUP)", color: "black", symbol: "dot" },
    {
      label: `± ${fmt(z, 3)} conditional SD (${Math.round(level * 100)}%)`,
      color: INTERVAL_COLOR,
      symbol: "line",
    },
    { label: "0: the population average", color: "#777", symbol: "dashed" },
  ];
  const caption = `Points: the conditional modes b̂_j of the random effects (ranef(m)), one ` +
    `row per level of ${group}; bars: b̂_j ± ${fmt(z, 3)} × the conditional standard deviation ` +
    `(from the conditional variances). Levels are sorted by their ${
      tab.columns[0]
    } mode in every panel; each panel has its own scale.` +
    (link ? ` The modes are on the ${link} (link) scale, where they are normal.` : "") +
    (named ? "" : ` Levels are ranked from the lowest (bottom) up; their names are left out ` +
      `(${nLev} levels)`);
  const hover = named ? "" : ": hover a point to see its name.";
  return new Figure({
    title,
    subtitle,
    caption: caption + hover,
    // A PNG has no hover.
    staticCaption: named ? undefined : `${caption}.`,
    legend,
    panels,
    description: `Caterpillar plot: ${title}; ${subtitle}. ` +
      "Display it in a notebook, or use toSVG(), toPNG() or save(path).",
  });
}
