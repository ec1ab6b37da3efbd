/**
 * Partial pooling made visible, per cluster:
 *
 * - {@link poolingTable}: seed 003's table — each cluster's observed mean,
 *   its mean under the mixed model (partial pooling) and under `lm`
 *   (complete pooling), and the shrinkage between the first two.
 * - {@link partialPoolingFormula}: seeds 000/002's closed form for a
 *   random-intercept model — the conditional mode of a level is the
 *   precision-weighted average w_j·ȳ_j + (1 − w_j)·μ with
 *   w_j = n_j σ_a² / (n_j σ_a² + σ²) — next to the fitted conditional mode,
 *   and the weights as printed (swapped) in the seed's question, which do
 *   not match.
 * @module
 */
import { type Column, dataFrame, type FactorColumn } from "../data/frame.ts";
import { numericLevels } from "../data/factor.ts";
import type { DataFrame } from "../data/table.ts";
import { LinearModel } from "../models/lm.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { checkOptions, describeValue } from "../data/options.ts";

/** Options of {@link poolingTable}. */
export interface PoolingOptions {
  /**
   * The cluster variable: a grouping factor of the mixed model (e.g.
   * "cluster") or any column of the data. Default: the mixed model's
   * grouping factor when it has exactly one.
   */
  readonly group?: string;
  /**
   * Row order: "levels" (default, the factor's level order, as `ranef`) or
   * "appearance" (order of first appearance in the data, as data.table's
   * `by =` in seed 003's answer).
   */
  readonly order?: "levels" | "appearance";
}

/** Per-cluster means under no, partial and complete pooling (what {@link poolingTable} tabulates). */
export interface PoolingSummary {
  /** Name of the cluster variable (the first column's name). */
  readonly group: string;
  /** Cluster labels, in the requested order. */
  readonly levels: readonly string[];
  /** Observations per cluster. */
  readonly n: Int32Array;
  /** Mean of the response in the cluster (no pooling). */
  readonly observed: Float64Array;
  /** Mean of the mixed model's fitted values (partial pooling). */
  readonly partiallyPooled: Float64Array;
  /** Mean of the linear model's fitted values (complete pooling). */
  readonly completelyPooled: Float64Array;
  /** partiallyPooled − observed. */
  readonly shrinkage: Float64Array;
}

/**
 * The per-cluster means behind seed 003's table, as typed arrays.
 *
 * @example
 * ```ts ignore
 * const s = poolingSummary(lm("y ~ x", df), lmer("y ~ x + (1 | cluster)", df));
 * console.log(s.levels, s.shrinkage);
 * ```
 */
export function poolingSummary(
  lmFit: LinearModel,
  lmerFit: LinearMixedModel,
  options: PoolingOptions = {},
): PoolingSummary {
  if (lmFit instanceof LinearMixedModel && lmerFit instanceof LinearModel) {
    throw new TypeError(
      "poolingTable: the arguments are swapped: give the lm() fit first, then the lmer() fit " +
        "(poolingTable(lmFit, lmerFit))",
    );
  }
  if (!(lmFit instanceof LinearModel)) {
    throw new TypeError(
      `poolingTable: the first argument must be an lm() fit, got ${describeValue(lmFit)}`,
    );
  }
  if (!(lmerFit instanceof LinearMixedModel)) {
    throw new TypeError(
      `poolingTable: the second argument must be an lmer() fit, got ${describeValue(lmerFit)}`,
    );
  }
  checkOptions("poolingTable", options, Object.keys(POOLING_OPTION_NAMES));
  const mfLm = lmFit.modelFrame;
  const mfMm = lmerFit.frame.mf;
  // Both models must describe the same observations, row by row.
  if (!sameInts(mfLm.rows, mfMm.rows) || !sameNumbers(mfLm.y, mfMm.y)) {
    throw new RangeError(
      `poolingTable: the two models were not fitted to the same rows and response ` +
        `(lm: ${mfLm.y.length} rows of '${mfLm.responseLabel}', ` +
        `lmer: ${mfMm.y.length} rows of '${mfMm.responseLabel}')`,
    );
  }
  const { name, factor } = clusterFactor(lmerFit, options.group);
  const nl = factor.levels.length;
  const y = mfMm.y;
  const partial = lmerFit.fitted();
  const complete = lmFit.fitted();
  const n = new Int32Array(nl);
  const sums = [new Float64Array(nl), new Float64Array(nl), new Float64Array(nl)];
  const first = new Int32Array(nl).fill(-1);
  for (let i = 0; i < y.length; i++) {
    const l = factor.codes[i];
    if (first[l] < 0) first[l] = i;
    n[l]++;
    sums[0][l] += y[i];
    sums[1][l] += partial[i];
    sums[2][l] += complete[i];
  }
  let order = Array.from({ length: nl }, (_, l) => l).filter((l) => n[l] > 0);
  if (options.order === "appearance") order = order.sort((a, b) => first[a] - first[b]);
  const pick = (v: Float64Array) => Float64Array.from(order, (l) => v[l] / n[l]);
  const observed = pick(sums[0]);
  const partiallyPooled = pick(sums[1]);
  return {
    group: name,
    levels: order.map((l) => factor.levels[l]),
    n: Int32Array.from(order, (l) => n[l]),
    observed,
    partiallyPooled,
    completelyPooled: pick(sums[2]),
    shrinkage: partiallyPooled.map((p, k) => p - observed[k]),
  };
}

/**
 * Seed 003's pooling table: per cluster, N, the observed mean of the
 * response, the mean of the mixed model's predictions (partial pooling),
 * the mean of the linear model's predictions (complete pooling), and
 * shrinkage = partiallyPooled − observed. Columns: the cluster variable
 * (named after it), N, observed, partiallyPooled, completelyPooled,
 * shrinkage.
 *
 * @example
 * ```ts ignore
 * import { lm, lmer, poolingTable } from "../../mod.ts";
 * const tab = poolingTable(
 *   lm("dependent ~ predictor", df),
 *   lmer("dependent ~ predictor + (1 | cluster)", df),
 *   { group: "cluster" },
 * );
 * // cluster 1: N 2, observed −1.6627715, partiallyPooled −1.5512698, completelyPooled 1.589832
 * ```
 */
export function poolingTable(
  lmFit: LinearModel,
  lmerFit: LinearMixedModel,
  options: PoolingOptions = {},
): DataFrame {
  const s = poolingSummary(lmFit, lmerFit, options);
  return dataFrame({
    [s.group]: [...s.levels],
    N: s.n,
    observed: s.observed,
    partiallyPooled: s.partiallyPooled,
    completelyPooled: s.completelyPooled,
    shrinkage: s.shrinkage,
  });
}

/** Every option name of {@link poolingTable} (a compile error here when one is added). */
const POOLING_OPTION_NAMES: { readonly [K in keyof Required<PoolingOptions>]: true } = {
  group: true,
  order: true,
};

/** The cluster of each model row: a grouping factor of the mixed model, or a data column. */
function clusterFactor(
  m: LinearMixedModel,
  group: string | undefined,
): { name: string; factor: FactorColumn } {
  const terms = m.lmm.terms;
  const groups = [...new Set(terms.map((t) => t.group))];
  const name = group ?? (groups.length === 1 ? groups[0] : undefined);
  if (name === undefined) {
    throw new RangeError(
      `poolingTable: the mixed model has several grouping factors (${
        groups.join(", ")
      }); say which with { group: "…" }`,
    );
  }
  const t = terms.find((t) => t.group === name);
  if (t) {
    return {
      name,
      factor: { kind: "factor", levels: t.term.levels, codes: t.term.index, ordered: false },
    };
  }
  const mf = m.frame.mf;
  const col: Column | undefined = mf.frame.columns.get(name);
  if (!col) {
    throw new RangeError(
      `poolingTable: '${name}' is neither a grouping factor of the mixed model (${
        groups.join(", ")
      }) nor a column of its data`,
    );
  }
  // The column at the model's rows, as R's factor() would code it.
  const rows = mf.rows;
  if (col.kind === "numeric") {
    const v = Float64Array.from(rows, (i) => col.values[i]);
    const { levels, codes } = numericLevels(v);
    if (codes.some((c) => c < 0)) {
      throw new RangeError(`poolingTable: '${name}' has missing values`);
    }
    return { name, factor: { kind: "factor", levels, codes, ordered: false } };
  }
  const codes = Int32Array.from(rows, (i) => col.codes[i]);
  if (codes.some((c) => c < 0)) throw new RangeError(`poolingTable: '${name}' has missing values`);
  return { name, factor: { ...col, codes } };
}

function sameInts(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameNumbers(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The closed-form pieces of a random-intercept model (what {@link partialPoolingFormula} tabulates). */
export interface PartialPoolingParts {
  /** Grouping factor name. */
  readonly group: string;
  /** Its levels (ranef order). */
  readonly levels: readonly string[];
  /** Observations per level, n_j. */
  readonly n: Int32Array;
  /** ȳ_j: the level's mean of y minus the fixed part without the intercept. */
  readonly groupMean: Float64Array;
  /** w_j = n_j σ_a² / (n_j σ_a² + σ²), the weight on the group mean. */
  readonly weight: Float64Array;
  /** w_j ȳ_j + (1 − w_j) μ: the precision-weighted average. */
  readonly weightedAverage: Float64Array;
  /** The fit's conditional mode of the level's intercept, μ + b̂_j (lme4's coef()). */
  readonly conditionalMode: Float64Array;
  /** The question's swapped weight on the group mean, σ_a² / (n_j σ² + σ_a²). */
  readonly swappedWeight: Float64Array;
  /** swappedWeight ȳ_j + (1 − swappedWeight) μ: does not match the fit. */
  readonly swappedAverage: Float64Array;
  /** μ: the fixed intercept (0 when the model has none). */
  readonly mu: number;
  /** σ_a: the random intercept's standard deviation. */
  readonly sigmaA: number;
  /** σ: the residual standard deviation. */
  readonly sigma: number;
}

/**
 * The closed form of seeds 000/002 for a model with a single random
 * intercept, `y ~ x + (1 | g)`, evaluated at the fitted variance components.
 * Errors unless the model's only random-effects term is `(1 | g)`.
 *
 * @example
 * ```ts ignore
 * const p = partialPoolingParts(lmer("Reaction ~ Days + (1 | Subject)", sleepstudy));
 * // p.weightedAverage[j] equals p.conditionalMode[j] to rounding
 * ```
 */
export function partialPoolingParts(model: LinearMixedModel): PartialPoolingParts {
  const terms = model.lmm.terms;
  const t = terms[0];
  if (terms.length !== 1 || t.q !== 1 || t.cnames[0] !== "(Intercept)") {
    const desc = terms.map((u) => `(${u.cnames.join(" + ")} | ${u.group})`).join(" + ");
    throw new RangeError(
      `partialPoolingFormula needs a model whose only random-effects term is a random ` +
        `intercept (1 | g); '${model.formula}' has ${desc}`,
    );
  }
  const x = model.frame.x;
  const beta = model.solution.beta;
  const y = model.frame.mf.y;
  const nobs = y.length;
  const j0 = x.names.indexOf("(Intercept)");
  const mu = j0 >= 0 ? beta[j0] : 0;
  // y minus the fixed part without the intercept, then level means.
  const r = Float64Array.from(y);
  for (let j = 0; j < x.p; j++) {
    if (j === j0) continue;
    const b = beta[j];
    for (let i = 0; i < nobs; i++) r[i] -= x.x[j * nobs + i] * b;
  }
  const nl = t.nLevels;
  const idx = t.term.index;
  const n = new Int32Array(nl);
  const groupMean = new Float64Array(nl);
  for (let i = 0; i < nobs; i++) (n[idx[i]]++, groupMean[idx[i]] += r[i]);
  for (let l = 0; l < nl; l++) groupMean[l] /= n[l];
  const sigma = model.sigma;
  const sa2 = (model.theta[t.thetaOffset] * sigma) ** 2;
  const s2 = sigma * sigma;
  const b = model.solution.ranef[0].b;
  const weight = new Float64Array(nl);
  const weightedAverage = new Float64Array(nl);
  const swappedWeight = new Float64Array(nl);
  const swappedAverage = new Float64Array(nl);
  const conditionalMode = new Float64Array(nl);
  for (let l = 0; l < nl; l++) {
    const w = (n[l] * sa2) / (n[l] * sa2 + s2);
    weight[l] = w;
    weightedAverage[l] = w * groupMean[l] + (1 - w) * mu;
    const ws = sa2 / (n[l] * s2 + sa2);
    swappedWeight[l] = ws;
    swappedAverage[l] = ws * groupMean[l] + (1 - ws) * mu;
    conditionalMode[l] = mu + b[l];
  }
  return {
    group: t.group,
    levels: t.term.levels,
    n,
    groupMean,
    weight,
    weightedAverage,
    conditionalMode,
    swappedWeight,
    swappedAverage,
    mu,
    sigmaA: Math.sqrt(sa2),
    sigma,
  };
}

/**
 * Seeds 000/002's closed form next to the fit, one row per level of the
 * random intercept's grouping factor: group, n, groupMean (ȳ_j of y minus
 * the fixed part without the intercept), weight (n_j σ_a² / (n_j σ_a² + σ²)),
 * weightedAverage (w_j ȳ_j + (1 − w_j) μ), conditionalMode (μ + b̂_j, equal
 * to weightedAverage), swappedWeight and swappedAverage (the question's
 * σ_a² / (n_j σ² + σ_a²) on the group mean, which does not match).
 *
 * @example
 * ```ts ignore
 * import { lmer, partialPoolingFormula } from "../../mod.ts";
 * const tab = partialPoolingFormula(lmer("Yield ~ 1 + (1 | Batch)", dyestuff));
 * console.log(tab.toRecords()[0]); // { group: "A", n: 5, groupMean: 1505, weight: 0.82, … }
 * ```
 */
export function partialPoolingFormula(model: LinearMixedModel): DataFrame {
  const p = partialPoolingParts(model);
  return dataFrame({
    group: [...p.levels],
    n: p.n,
    groupMean: p.groupMean,
    weight: p.weight,
    weightedAverage: p.weightedAverage,
    conditionalMode: p.conditionalMode,
    swappedWeight: p.swappedWeight,
    swappedAverage: p.swappedAverage,
  });
}
