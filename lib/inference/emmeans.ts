/**
 * Estimated marginal means as R's emmeans 1.8 computes them for `lm` and
 * `lmer` fits: build the reference grid (every combination of the levels of
 * the factors in the fixed-effects formula; numeric covariates at their
 * means, except that covariates with at most two distinct values are kept
 * as levels, emmeans' `cov.keep = "2"`), predict each grid point (a row of
 * the model matrix, through the same design plan as the fit), and average
 * those rows with equal weights over the factors not in `specs`. Each
 * marginal mean is then a linear combination L β̂, with standard error
 * √(L V Lᵀ), denominator df by the chosen method, and t-based confidence
 * limits.
 *
 * For lmer fits the default df method is Kenward-Roger (what emmeans does
 * when pbkrtest is installed), whose standard errors come from pbkrtest's
 * adjusted covariance; "satterthwaite" and "asymptotic" (df = ∞, z limits)
 * use vcov(β̂). For lm fits df = the residual df.
 *
 * Combinations that are not estimable (e.g. averaging over an empty cell of
 * a rank-deficient model) are reported as NaN (null in the DataFrame), as
 * emmeans' "nonEst", with emmeans' estimability test.
 *
 * For glmer fits (emmeans' `glmerMod` support) inference is asymptotic
 * (df = ∞, z limits) with vcov(β̂), on the link scale by default; with
 * `type: "response"` each mean is back-transformed by the inverse link
 * (column "prob" for binomial, "rate" for Poisson), its SE by the delta
 * method (|dμ/dη|·SE) and its limits by back-transforming the link-scale
 * limits, as emmeans' `summary(…, type = "response")`.
 *
 * Differences from R: no automatic nesting detection, no `at`/`weights`
 * options, and no switch to other df methods above emmeans' observation
 * limits (pbkrtest.limit, lmerTest.limit = 3000): Kenward-Roger is computed
 * here in the random-effects space, see kenwardRoger.ts.
 * @module
 */
import { formatReal } from "../display/rformat.ts";
import { escapeHtml, htmlTable, JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";
import { type Cell, type Column, dataFrame } from "../data/frame.ts";
import { checkNumberOption, checkOptions, describeValue } from "../data/options.ts";
import type { DataFrame } from "../data/table.ts";
import { buildFixed } from "../design/fixed.ts";
import { type ModelFrame, newDataColumns } from "../design/modelframe.ts";
import { suggestName } from "../formula/evaluate.ts";
import type { Expr } from "../formula/parse.ts";
import { backsolve, householderQR, qty } from "../linalg/householder.ts";
import { LinearModel } from "../models/lm.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import { qnorm } from "../rng/mod.ts";
import { qt } from "../stats/distributions.ts";
import { checkDfMethod, contrastDf, type DfMethod } from "./df.ts";

/** Options of {@link emmeans}. */
export interface EmmeansOptions {
  /**
   * Degrees-of-freedom method for lmer fits (emmeans' `lmer.df`): default
   * "kenward-roger" for REML fits, "satterthwaite" for ML fits. For lm fits
   * only "asymptotic" changes anything (df = ∞); otherwise the residual df.
   */
  readonly df?: DfMethod;
  /** Confidence level of the intervals (default 0.95). */
  readonly level?: number;
  /**
   * glmer fits: "link" (default, as emmeans) for means on the link scale,
   * "response" to back-transform them (emmeans' `type = "response"`). For
   * lm and lmer fits (identity link) both give the same table.
   */
  readonly type?: "link" | "response";
}

/** The marginal means with everything behind them (what {@link emmeans} tabulates). */
export interface EmmGrid {
  /** The factors the means are for. */
  readonly specs: readonly string[];
  /** Per spec factor, its value in each row (first factor varying fastest, as emmeans). */
  readonly levels: Readonly<Record<string, readonly (string | number)[]>>;
  /**
   * Marginal means (NaN where not estimable), on the scale of
   * {@link EmmGrid.type}, as are the SEs and limits.
   */
  readonly emmean: Float64Array;
  /** Standard errors. */
  readonly se: Float64Array;
  /** Degrees of freedom (∞ for asymptotic). */
  readonly df: Float64Array;
  /** Lower confidence limits. */
  readonly lower: Float64Array;
  /** Upper confidence limits. */
  readonly upper: Float64Array;
  /** Whether each row is estimable. */
  readonly estimable: readonly boolean[];
  /** The rows L (one per mean) over the columns of the full model matrix, dropped columns included. */
  readonly L: readonly Float64Array[];
  /** Column names of the full model matrix (L's columns). */
  readonly columns: readonly string[];
  /** "kenward-roger", "satterthwaite", "asymptotic", or "residual" (lm). */
  readonly method: DfMethod | "residual";
  /** Confidence level. */
  readonly level: number;
  /** Factors (and two-valued covariates) averaged over with equal weights. */
  readonly averagedOver: readonly string[];
  /**
   * Whether a model term involves a spec factor together with another
   * variable: emmeans then says "NOTE: Results may be misleading due to
   * involvement in interactions" (a message at the call in R; here the first
   * line of the text display and a note above the HTML table).
   */
  readonly interactionNote: boolean;
  /** Numeric covariates and the value (their mean) they are held at. */
  readonly covariates: Readonly<Record<string, number>>;
  /** The scale of the numbers: "link" or "response" (back-transformed, glmer). */
  readonly type: "link" | "response";
  /** The glmer fit's link ("logit", "log", …); undefined for lm and lmer. */
  readonly link?: string;
  /** emmeans' name of the estimate: "emmean", or "prob" / "rate" / "response" when back-transformed. */
  readonly estimateName: string;
}

/** A variable of the data as the reference grid uses it. */
type GridVar =
  | { name: string; kind: "levels"; values: readonly (string | number)[] }
  | { name: string; kind: "mean"; value: number };

/** Data variables named in an expression; `coerced` when inside factor()/as.factor(). */
function collectNames(e: Expr, coerced: boolean, out: Map<string, boolean>): void {
  switch (e.type) {
    case "name":
      out.set(e.name, (out.get(e.name) ?? false) || coerced);
      return;
    case "number":
      return;
    case "call": {
      const f = coerced || e.fn === "factor" || e.fn === "as.factor" || e.fn === "ordered";
      for (const a of e.args) collectNames(a, f, out);
      return;
    }
    case "binary":
      collectNames(e.left, coerced, out);
      collectNames(e.right, coerced, out);
      return;
    case "unary":
      collectNames(e.arg, coerced, out);
      return;
    case "paren":
      collectNames(e.expr, coerced, out);
      return;
  }
}

/** R's mean(): the sum divided by n, then corrected by the mean residual (two passes). */
function rMean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const m = s / v.length;
  let r = 0;
  for (let i = 0; i < v.length; i++) r += v[i] - m;
  return m + r / v.length;
}

/** The variables of the fixed-effects formula, reduced as emmeans' `ref_grid` does. */
function gridVariables(mf: ModelFrame): GridVar[] {
  const names = new Map<string, boolean>();
  for (const v of mf.formula.fixed.variables) collectNames(v.expr, false, names);
  const rows = mf.rows;
  const out: GridVar[] = [];
  for (const [name, coerced] of names) {
    const col: Column | undefined = mf.frame.columns.get(name);
    if (!col) continue; // not a data column (cannot happen for a fitted formula)
    if (col.kind === "factor") {
      // Levels present in the rows used (the fit dropped unused levels), in level order.
      const used = new Uint8Array(col.levels.length);
      for (const i of rows) if (col.codes[i] >= 0) used[col.codes[i]] = 1;
      out.push({ name, kind: "levels", values: col.levels.filter((_, k) => used[k]) });
      continue;
    }
    const vals = Float64Array.from(rows, (i) => col.values[i]);
    const distinct = [...new Set(vals)].sort((a, b) => a - b);
    if (coerced || distinct.length <= 2) out.push({ name, kind: "levels", values: distinct });
    else out.push({ name, kind: "mean", value: rMean(vals) });
  }
  return out;
}

/**
 * emmeans' test for its NOTE "Results may be misleading due to involvement
 * in interactions": some fixed-effects term's data variables include a spec
 * variable and a variable that is not a spec (checked against R:
 * tests/fixtures/emmeans_notes.R).
 */
function involvedInInteraction(mf: ModelFrame, specs: readonly string[]): boolean {
  const vars = mf.formula.fixed.variables;
  return mf.plan.terms.some((t) => {
    if (t.response) return false;
    const names = new Map<string, boolean>();
    for (const v of t.vars) collectNames(vars[v].expr, false, names);
    const inTerm = [...names.keys()];
    return inTerm.some((n) => specs.includes(n)) && inTerm.some((n) => !specs.includes(n));
  });
}

/** Parse specs: "a", ["a", "b"], or a one-sided formula "~ a * b" / "~ a:b". */
/** Every option name of {@link emmeans} (a compile error here when one is added). */
const EMMEANS_OPTION_NAMES: { readonly [K in keyof Required<EmmeansOptions>]: true } = {
  df: true,
  level: true,
  type: true,
};

function parseSpecs(specs: string | readonly string[]): string[] {
  if (typeof specs !== "string" && !Array.isArray(specs)) {
    throw new TypeError(
      `emmeans: specs must be a factor name or an array of names (e.g. "predictor"), got ${
        describeValue(specs)
      }`,
    );
  }
  const bad = typeof specs === "string" ? undefined : specs.find((s) => typeof s !== "string");
  if (bad !== undefined) {
    throw new TypeError(`emmeans: specs must be factor names, got ${describeValue(bad)}`);
  }
  const list = typeof specs === "string"
    ? specs.replace(/^\s*~/, "").split(/[*:+]/).map((s) => s.trim())
    : [...specs];
  if (list.length === 0 || list.some((s) => s === "")) {
    throw new RangeError('emmeans: specs must name at least one factor, e.g. "predictor"');
  }
  const dup = list.find((s, i) => list.indexOf(s) !== i);
  if (dup) throw new RangeError(`emmeans: '${dup}' is named twice in specs`);
  return list;
}

function checkSpecs(specs: readonly string[], vars: readonly GridVar[], mf: ModelFrame): void {
  const factors = vars.filter((v) => v.kind === "levels").map((v) => v.name);
  const available = factors.length
    ? `factors in the fixed effects: ${factors.join(", ")}`
    : "the fixed effects have no factors";
  for (const s of specs) {
    const v = vars.find((x) => x.name === s);
    if (!v) {
      if (mf.frame.columns.has(s)) {
        throw new RangeError(
          `emmeans: '${s}' is not in the fixed-effects part of the model (${available})`,
        );
      }
      const hint = suggestName(s, factors.length ? factors : mf.frame.names);
      throw new RangeError(
        `emmeans: unknown variable '${s}'${hint ? ` (did you mean '${hint}'?)` : ""}; ${available}`,
      );
    }
    if (v.kind === "mean") {
      throw new RangeError(
        `emmeans: '${s}' is a numeric covariate, not a factor: marginal means are over factor ` +
          `levels (R's emmeans would hold '${s}' at its mean, ${v.value.toPrecision(6)}); ` +
          `use a factor, or predict() at chosen values (${available})`,
      );
    }
  }
}

/**
 * An orthonormal basis of the null space of X (p × a, columns as arrays),
 * from R's rank-revealing QR: each aliased column j is X_kept c, giving the
 * null vector e_j − Σ c_k e_kept_k. Empty when X has full rank.
 */
function nullBasis(x: Float64Array, n: number, p: number): Float64Array[] {
  const qr = householderQR(x, n, p);
  const basis: Float64Array[] = [];
  for (const j of qr.aliased) {
    const c = backsolve(qr, qty(qr, x.slice(j * n, j * n + n)));
    const v = new Float64Array(p);
    v[j] = 1;
    qr.kept.forEach((k, i) => (v[k] = -c[i]));
    // Modified Gram-Schmidt against the earlier vectors, then normalize.
    for (const b of basis) {
      let d = 0;
      for (let i = 0; i < p; i++) d += b[i] * v[i];
      for (let i = 0; i < p; i++) v[i] -= d * b[i];
    }
    let nrm = 0;
    for (let i = 0; i < p; i++) nrm += v[i] * v[i];
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < p; i++) v[i] /= nrm;
    basis.push(v);
  }
  return basis;
}

/** estimability::is.estble with tol = 1e-8. */
function isEstimable(l: Float64Array, basis: readonly Float64Array[], tol = 1e-8): boolean {
  if (basis.length === 0) return true;
  let ssq = 0;
  for (const v of l) ssq += v * v;
  if (ssq < tol) ssq = 1;
  let chk = 0;
  for (const b of basis) {
    let d = 0;
    for (let i = 0; i < l.length; i++) d += b[i] * l[i];
    chk += d * d;
  }
  return chk < tol * ssq;
}

/** The reference grid of `specs` and the rows L averaging it (before the fit's estimates). */
interface ReferenceGrid {
  readonly specList: string[];
  readonly specVars: (GridVar & { kind: "levels" })[];
  readonly otherVars: (GridVar & { kind: "levels" })[];
  readonly meanVars: (GridVar & { kind: "mean" })[];
  readonly nSpec: number;
  /** A term involves a spec variable and another variable (emmeans' NOTE). */
  readonly interaction: boolean;
  /** One row per mean over the columns of the full model matrix. */
  readonly L: Float64Array[];
}

/**
 * emmeans' `ref_grid` and its equal-weight averaging: every combination of
 * the level variables (spec factors first, first varying fastest), numeric
 * covariates at their means, each grid row predicted through the fit's
 * design plan, rows averaged over the non-spec factors.
 */
function referenceGrid(mf: ModelFrame, specs: string | readonly string[]): ReferenceGrid {
  const specList = parseSpecs(specs);
  const vars = gridVariables(mf);
  checkSpecs(specList, vars, mf);
  const levelVars = vars.filter((v): v is GridVar & { kind: "levels" } => v.kind === "levels");
  const specVars = specList.map((s) => levelVars.find((v) => v.name === s)!);
  const otherVars = levelVars.filter((v) => !specList.includes(v.name));
  const meanVars = vars.filter((v): v is GridVar & { kind: "mean" } => v.kind === "mean");
  const ordered = [...specVars, ...otherVars];
  const sizes = ordered.map((v) => v.values.length);
  const nSpec = specVars.reduce((s, v) => s * v.values.length, 1);
  const N = sizes.reduce((s, k) => s * k, 1);
  if (N > 1e6) {
    throw new RangeError(`emmeans: the reference grid would have ${N} rows (limit 1,000,000)`);
  }
  const newdata: Record<string, Cell[]> = {};
  for (const v of ordered) newdata[v.name] = new Array<Cell>(N);
  for (const v of meanVars) newdata[v.name] = new Array<Cell>(N).fill(v.value);
  const logicalVars = new Set(
    ordered.filter((v) => {
      const c = mf.frame.columns.get(v.name);
      return c?.kind === "factor" && c.logical === true;
    }).map((v) => v.name),
  );
  for (let r = 0; r < N; r++) {
    let rest = r;
    ordered.forEach((v, k) => {
      const value = v.values[rest % sizes[k]];
      // a logical column stays logical in the grid (R: TRUE/FALSE, usable in I(!b))
      newdata[v.name][r] = logicalVars.has(v.name) ? value === "TRUE" : value;
      rest = Math.floor(rest / sizes[k]);
    });
  }
  const { cols } = newDataColumns(mf, mf.formula.fixed, mf.plan, newdata);
  const pFull = mf.plan.names.length;
  const X = buildFixed(mf.plan, cols, N);
  // Row r of the grid belongs to spec combination r mod nSpec; equal weights.
  const nOther = N / nSpec;
  const L = Array.from({ length: nSpec }, () => new Float64Array(pFull));
  for (let j = 0; j < pFull; j++) {
    for (let r = 0; r < N; r++) L[r % nSpec][j] += X[j * N + r];
  }
  for (const l of L) for (let j = 0; j < pFull; j++) l[j] /= nOther;
  return {
    specList,
    specVars,
    otherVars,
    meanVars,
    nSpec,
    interaction: involvedInInteraction(mf, specList),
    L,
  };
}

/**
 * R's emmeans adds the offset at its mean over the data (the `.offset.` of
 * its reference grid: mean(log(z)) for offset(log(z)), also when z is in
 * the grid), whether offset() terms of the formula or the option.
 */
function offsetMean(total: Float64Array | undefined): number {
  return total ? total.reduce((s, x) => s + x, 0) / total.length : 0;
}

/** Estimability of each row against X's null space, and the rows on the kept columns. */
function keptRows(mf: ModelFrame, L: readonly Float64Array[], kept: readonly number[]) {
  const pFull = mf.plan.names.length;
  const basis = kept.length < pFull ? nullBasis(mf.x.x, mf.x.n, pFull) : [];
  const estimable = L.map((l) => isEstimable(l, basis));
  const Lk = L.map((l) => Float64Array.from(kept, (j) => l[j]));
  return { estimable, Lk };
}

function checkLevel(value: number | undefined): number {
  const level = checkNumberOption("emmeans", "level", value ?? 0.95);
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`emmeans: level must be between 0 and 1, got ${level}`);
  }
  return level;
}

function checkType(type: unknown): "link" | "response" {
  if (type === undefined) return "link";
  if (type !== "link" && type !== "response") {
    throw new RangeError(
      `emmeans: 'type' must be "link" or "response", got ${describeValue(type)}`,
    );
  }
  return type;
}

/** The parts of a grid that do not depend on the fit's estimates. */
function gridLabels(g: ReferenceGrid) {
  const levels: Record<string, (string | number)[]> = {};
  g.specVars.forEach((v, k) => {
    const stride = g.specVars.slice(0, k).reduce((s, u) => s * u.values.length, 1);
    levels[v.name] = Array.from(
      { length: g.nSpec },
      (_, r) => v.values[Math.floor(r / stride) % v.values.length],
    );
  });
  const covariates: Record<string, number> = {};
  for (const v of g.meanVars) covariates[v.name] = v.value;
  return {
    levels,
    covariates,
    averagedOver: g.otherVars.map((v) => v.name),
    interactionNote: g.interaction,
  };
}

/** Limits emmean ∓ q·se of the estimable rows (NaN elsewhere), q the row's quantile. */
function confLimits(
  emmean: Float64Array,
  se: Float64Array,
  estimable: readonly boolean[],
  quantile: (i: number) => number,
): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(emmean.length).fill(NaN);
  const upper = new Float64Array(emmean.length).fill(NaN);
  estimable.forEach((e, i) => {
    if (!e) return;
    const q = quantile(i);
    lower[i] = emmean[i] - q * se[i];
    upper[i] = emmean[i] + q * se[i];
  });
  return { lower, upper };
}

/** The fit's estimates on a grid, as an {@link EmmGrid} (in its field order, `link` only for glmer). */
function gridResult(
  grid: ReferenceGrid,
  mf: ModelFrame,
  values: Pick<EmmGrid, "emmean" | "se" | "df" | "lower" | "upper" | "estimable">,
  meta: Pick<EmmGrid, "method" | "level" | "type" | "link" | "estimateName">,
): EmmGrid {
  return {
    specs: grid.specList,
    ...gridLabels(grid),
    emmean: values.emmean,
    se: values.se,
    df: values.df,
    lower: values.lower,
    upper: values.upper,
    estimable: values.estimable,
    L: grid.L,
    columns: [...mf.plan.names],
    method: meta.method,
    level: meta.level,
    type: meta.type,
    ...(meta.link !== undefined ? { link: meta.link } : {}),
    estimateName: meta.estimateName,
  };
}

/**
 * The marginal means of `specs` with their standard errors, df and
 * confidence limits, and the rows L behind them.
 *
 * @example
 * ```ts ignore
 * const g = emmGrid(m, "predictor", { df: "kenward-roger" });
 * g.emmean; // Float64Array [0.962, 3.309] (seed 003, scenario 1)
 * g.L;      // the model-matrix rows averaged into each mean
 * ```
 */
export function emmGrid(
  model: LinearMixedModel | GeneralizedLinearMixedModel | LinearModel,
  specs: string | readonly string[],
  options: EmmeansOptions = {},
): EmmGrid {
  if (model instanceof GeneralizedLinearMixedModel) return glmerEmmGrid(model, specs, options);
  const isLmer = model instanceof LinearMixedModel;
  if (!isLmer && !(model instanceof LinearModel)) {
    throw new TypeError("emmeans: the model must be a fit from lm(), lmer() or glmer()");
  }
  checkOptions("emmeans", options, Object.keys(EMMEANS_OPTION_NAMES));
  const level = checkLevel(options.level);
  const type = checkType(options.type);
  const mf = isLmer ? model.frame.mf : model.modelFrame;
  const grid = referenceGrid(mf, specs);
  const { L, nSpec } = grid;

  const method: DfMethod | "residual" = isLmer
    ? checkDfMethod(options.df ?? (model.REML ? "kenward-roger" : "satterthwaite"))
    : options.df && checkDfMethod(options.df) === "asymptotic"
    ? "asymptotic"
    : "residual";
  const offMean = offsetMean(isLmer ? model.frame.offset : model.offset);

  // Columns kept by the fit, and estimability against X's null space.
  const kept: number[] = isLmer
    ? [...model.frame.keptColumns]
    : model.vcov().names.map((nm) => mf.plan.names.indexOf(nm));
  const { estimable, Lk } = keptRows(mf, L, kept);

  const emmean = new Float64Array(nSpec).fill(NaN);
  const se = new Float64Array(nSpec).fill(NaN);
  const df = new Float64Array(nSpec).fill(NaN);
  const rowsEst = Lk.filter((_, i) => estimable[i]);
  const at = estimable.flatMap((e, i) => (e ? [i] : []));
  if (isLmer) {
    const c = contrastDf(model, rowsEst, method as DfMethod);
    at.forEach((i, k) => {
      emmean[i] = c.estimate[k] + offMean;
      se[i] = c.se[k];
      df[i] = c.df[k];
    });
  } else {
    const { matrix } = model.vcov();
    const coef = model.coef();
    const beta = kept.map((j) => coef[mf.plan.names[j]] ?? NaN);
    at.forEach((i, k) => {
      const l = rowsEst[k];
      let est = 0, v = 0;
      for (let a = 0; a < l.length; a++) {
        est += l[a] * beta[a];
        for (let b = 0; b < l.length; b++) v += l[a] * matrix[a][b] * l[b];
      }
      emmean[i] = est + offMean;
      se[i] = Math.sqrt(v);
      df[i] = method === "asymptotic" ? Infinity : model.dfResidual;
    });
  }
  const { lower, upper } = confLimits(emmean, se, estimable, (i) => qt(1 - (1 - level) / 2, df[i]));
  return gridResult(grid, mf, { emmean, se, df, lower, upper, estimable }, {
    method,
    level,
    type,
    estimateName: "emmean",
  });
}

/**
 * emmeans for a glmer fit: L β̂ on the link scale with SE √(L V Lᵀ) from
 * vcov(β̂) and z limits (df = ∞, as emmeans for `glmerMod`); with type
 * "response", the inverse link of the mean and of the limits (in
 * increasing order) and the delta-method SE |dμ/dη|·SE.
 */
function glmerEmmGrid(
  model: GeneralizedLinearMixedModel,
  specs: string | readonly string[],
  options: EmmeansOptions,
): EmmGrid {
  checkOptions("emmeans", options, Object.keys(EMMEANS_OPTION_NAMES));
  const level = checkLevel(options.level);
  const type = checkType(options.type);
  if (options.df !== undefined && checkDfMethod(options.df) !== "asymptotic") {
    throw new RangeError(
      `emmeans: a glmer() fit has asymptotic (z) inference, df = Inf, as in R's emmeans; ` +
        `'df' can only be "asymptotic", got ${describeValue(options.df)}`,
    );
  }
  const mf = model.frame.mf;
  const grid = referenceGrid(mf, specs);
  const { L, nSpec } = grid;
  const offMean = offsetMean(model.frame.offset);
  const kept = model.fixedNames.map((nm: string) => mf.plan.names.indexOf(nm));
  const { estimable, Lk } = keptRows(mf, L, kept);
  const beta = model.beta, V = model.vcovArray(), p = beta.length;
  const fam = model.frame.family;
  const emmean = new Float64Array(nSpec).fill(NaN);
  const se = new Float64Array(nSpec).fill(NaN);
  const df = new Float64Array(nSpec).fill(Infinity);
  Lk.forEach((l, i) => {
    if (!estimable[i]) return;
    let est = 0, v = 0;
    for (let a = 0; a < p; a++) {
      est += l[a] * beta[a];
      for (let b = 0; b < p; b++) v += l[a] * V[b * p + a] * l[b];
    }
    emmean[i] = est + offMean;
    se[i] = Math.sqrt(v);
  });
  const z = qnorm(1 - (1 - level) / 2);
  const { lower, upper } = confLimits(emmean, se, estimable, () => z);
  if (type === "response") {
    const lo = lower.map((x) => fam.linkinv(x)), hi = upper.map((x) => fam.linkinv(x));
    // emmeans keeps the limits' order unless the back-transform reverses any row
    const swap = lo.some((x, i) => hi[i] - x < 0);
    for (let i = 0; i < nSpec; i++) {
      if (!estimable[i]) continue;
      se[i] = Math.abs(fam.muEta(emmean[i]) * se[i]);
      emmean[i] = fam.linkinv(emmean[i]);
      lower[i] = swap ? hi[i] : lo[i];
      upper[i] = swap ? lo[i] : hi[i];
    }
  }
  const estimateName = type === "link"
    ? "emmean"
    : fam.family === "binomial"
    ? "prob"
    : fam.family === "poisson"
    ? "rate"
    : "response";
  return gridResult(grid, mf, { emmean, se, df, lower, upper, estimable }, {
    method: "asymptotic",
    level,
    type,
    link: fam.link,
    estimateName,
  });
}

/**
 * Estimated marginal means, as R's `emmeans(m, specs, lmer.df = …, level = …)`:
 * a DataFrame with one column per spec factor, then emmean, SE, df,
 * lowerCL, upperCL (null where a mean is not estimable; df is Infinity for
 * "asymptotic"). For a glmer fit, `summary(emmeans(m, specs), type = …)`:
 * on the link scale (default) or, with `type: "response"`, back-transformed
 * (the estimate column is then "prob" for binomial, "rate" for Poisson),
 * with df = Infinity and z limits.
 *
 * @example
 * ```ts ignore
 * import { emmeans, glmer, lm, lmer } from "../../mod.ts";
 * const g = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
 *   { family: "binomial" });
 * emmeans(g, "period", { type: "response" }); // prob 0.198, SE 0.0367, asymp limits 0.136 0.280 …
 * emmeans(lmer("dependent ~ predictor + (1 | cluster)", df), "predictor");
 * // predictor     emmean  SE    df   lowerCL upperCL
 * // control       0.962   1.55  6.00 -2.83   4.76
 * // intervention  3.309   1.55  6.00 -0.485  7.10
 * emmeans(lm("dependent ~ predictor", df), "predictor"); // control 1.59, SE 0.391, df 62
 * ```
 */
export function emmeans(
  model: LinearMixedModel | GeneralizedLinearMixedModel | LinearModel,
  specs: string | readonly string[],
  options: EmmeansOptions = {},
): DataFrame {
  const g = emmGrid(model, specs, options);
  const na = (v: Float64Array) => Array.from(v, (x) => (Number.isNaN(x) ? null : x));
  const cols: Record<string, ArrayLike<number | string | null>> = {};
  for (const s of g.specs) cols[s] = g.levels[s] as (string | number)[];
  cols[g.estimateName] = na(g.emmean);
  cols.SE = na(g.se);
  cols.df = na(g.df);
  cols.lowerCL = na(g.lower);
  cols.upperCL = na(g.upper);
  const df = dataFrame(cols);
  // R's print of an emmGrid summary for text/plain; the HTML table stays the data's.
  Object.defineProperty(df, JUPYTER_DISPLAY, {
    value: (): MimeBundle => {
      const { header, cols, notes } = emmeansCells(g);
      const rows = cols[0].map((_, i) => cols.map((c) => c[i]));
      const note = g.interactionNote
        ? `<div style="font-size:11px;color:#666">${escapeHtml(INTERACTION_NOTE)}</div>`
        : "";
      const html = note + htmlTable(header, rows, {
        numeric: header.map((_, j) => j >= g.specs.length),
      }) + `<div style="font-size:11px;color:#666">${notes.map(escapeHtml).join("<br>")}</div>`;
      return { "text/plain": emmeansText(g), "text/html": html };
    },
    configurable: true,
  });
  return df;
}

/** emmeans' message when a spec is involved in an interaction. */
const INTERACTION_NOTE = "NOTE: Results may be misleading due to involvement in interactions";

/** The formatted cells of an emmeans table as R prints them, and the notes below it. */
function emmeansCells(g: EmmGrid): { header: string[]; cols: string[][]; notes: string[] } {
  const num = (v: Float64Array) =>
    formatReal(Array.from(v), 3).map((x, i) => (g.estimable[i] ? x.trim() : "nonEst"));
  // emmeans names the limits asymp.LCL / asymp.UCL when every df is infinite
  const asymp = g.df.every((d) => d === Infinity);
  const header = [
    ...g.specs,
    g.estimateName,
    "SE",
    "df",
    ...(asymp ? ["asymp.LCL", "asymp.UCL"] : ["lower.CL", "upper.CL"]),
  ];
  const cols = [
    ...g.specs.map((sp) => g.levels[sp].map(String)),
    num(g.emmean),
    num(g.se),
    num(g.df),
    num(g.lower),
    num(g.upper),
  ];
  const notes: string[] = [];
  if (g.averagedOver.length) {
    notes.push(`Results are averaged over the levels of: ${g.averagedOver.join(", ")} `);
  }
  if (g.method !== "residual" && g.link === undefined) {
    notes.push(`Degrees-of-freedom method: ${g.method} `);
  }
  if (g.link !== undefined && g.type === "link") {
    notes.push(`Results are given on the ${g.link} (not the response) scale. `);
  }
  notes.push(`Confidence level used: ${g.level} `);
  if (g.link !== undefined && g.type === "response") {
    notes.push(`Intervals are back-transformed from the ${g.link} scale `);
  }
  return { header, cols, notes };
}

/**
 * The text R's emmeans prints: factor columns left-aligned, every numeric
 * column formatted with 3 significant digits (format(x, digits = 3)), "nonEst"
 * where not estimable, then the df method and confidence level.
 */
export function emmeansText(g: EmmGrid): string {
  const { header, cols, notes } = emmeansCells(g);
  const nf = g.specs.length;
  const widths = header.map((h, j) => Math.max(h.length, ...cols[j].map((c) => c.length)));
  const line = (cells: string[]) =>
    " " + cells.map((c, j) => (j < nf ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join(" ");
  const rows = cols[0].map((_, i) => line(cols.map((c) => c[i])));
  return [...(g.interactionNote ? [INTERACTION_NOTE] : []), line(header), ...rows, "", ...notes]
    .join("\n");
}
