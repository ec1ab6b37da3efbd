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
}

/** The marginal means with everything behind them (what {@link emmeans} tabulates). */
export interface EmmGrid {
  /** The factors the means are for. */
  readonly specs: readonly string[];
  /** Per spec factor, its value in each row (first factor varying fastest, as emmeans). */
  readonly levels: Readonly<Record<string, readonly (string | number)[]>>;
  /** Marginal means (NaN where not estimable). */
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
  /** Numeric covariates and the value (their mean) they are held at. */
  readonly covariates: Readonly<Record<string, number>>;
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

/** Parse specs: "a", ["a", "b"], or a one-sided formula "~ a * b" / "~ a:b". */
/** Every option name of {@link emmeans} (a compile error here when one is added). */
const EMMEANS_OPTION_NAMES: { readonly [K in keyof Required<EmmeansOptions>]: true } = {
  df: true,
  level: true,
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
  model: LinearMixedModel | LinearModel,
  specs: string | readonly string[],
  options: EmmeansOptions = {},
): EmmGrid {
  const isLmer = model instanceof LinearMixedModel;
  if (!isLmer && !(model instanceof LinearModel)) {
    throw new TypeError("emmeans: the model must be a fit from lm() or lmer()");
  }
  checkOptions("emmeans", options, Object.keys(EMMEANS_OPTION_NAMES));
  const level = checkNumberOption("emmeans", "level", options.level ?? 0.95);
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`emmeans: level must be between 0 and 1, got ${level}`);
  }
  const mf = isLmer ? model.frame.mf : model.modelFrame;
  const specList = parseSpecs(specs);
  const vars = gridVariables(mf);
  checkSpecs(specList, vars, mf);

  const method: DfMethod | "residual" = isLmer
    ? checkDfMethod(options.df ?? (model.REML ? "kenward-roger" : "satterthwaite"))
    : options.df && checkDfMethod(options.df) === "asymptotic"
    ? "asymptotic"
    : "residual";

  // The reference grid: spec factors first (first varying fastest), then the
  // other level variables; every combination.
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
  // R's emmeans adds the offset at its mean over the data (the `.offset.`
  // of its reference grid: mean(log(z)) for offset(log(z)), also when z is
  // in the grid), whether offset() terms of the formula or the option.
  const total = isLmer ? model.frame.offset : model.offset;
  const offMean = total ? total.reduce((s, x) => s + x, 0) / total.length : 0;

  // Columns kept by the fit, and estimability against X's null space.
  const kept: number[] = isLmer
    ? [...model.frame.keptColumns]
    : model.vcov().names.map((nm) => mf.plan.names.indexOf(nm));
  const basis = kept.length < pFull ? nullBasis(mf.x.x, mf.x.n, pFull) : [];
  const estimable = L.map((l) => isEstimable(l, basis));
  const Lk = L.map((l) => Float64Array.from(kept, (j) => l[j]));

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
  const lower = new Float64Array(nSpec).fill(NaN), upper = new Float64Array(nSpec).fill(NaN);
  for (const i of at) {
    const q = qt(1 - (1 - level) / 2, df[i]);
    lower[i] = emmean[i] - q * se[i];
    upper[i] = emmean[i] + q * se[i];
  }

  const levels: Record<string, (string | number)[]> = {};
  specVars.forEach((v, k) => {
    const stride = specVars.slice(0, k).reduce((s, u) => s * u.values.length, 1);
    levels[v.name] = Array.from(
      { length: nSpec },
      (_, r) => v.values[Math.floor(r / stride) % v.values.length],
    );
  });
  const covariates: Record<string, number> = {};
  for (const v of meanVars) covariates[v.name] = v.value;
  return {
    specs: specList,
    levels,
    emmean,
    se,
    df,
    lower,
    upper,
    estimable,
    L,
    columns: [...mf.plan.names],
    method,
    level,
    averagedOver: otherVars.map((v) => v.name),
    covariates,
  };
}

/**
 * Estimated marginal means, as R's `emmeans(m, specs, lmer.df = …, level = …)`:
 * a DataFrame with one column per spec factor, then emmean, SE, df,
 * lowerCL, upperCL (null where a mean is not estimable; df is Infinity for
 * "asymptotic").
 *
 * @example
 * ```ts ignore
 * import { emmeans, lm, lmer } from "../../mod.ts";
 * emmeans(lmer("dependent ~ predictor + (1 | cluster)", df), "predictor");
 * // predictor     emmean  SE    df   lowerCL upperCL
 * // control       0.962   1.55  6.00 -2.83   4.76
 * // intervention  3.309   1.55  6.00 -0.485  7.10
 * emmeans(lm("dependent ~ predictor", df), "predictor"); // control 1.59, SE 0.391, df 62
 * ```
 */
export function emmeans(
  model: LinearMixedModel | LinearModel,
  specs: string | readonly string[],
  options: EmmeansOptions = {},
): DataFrame {
  const g = emmGrid(model, specs, options);
  const na = (v: Float64Array) => Array.from(v, (x) => (Number.isNaN(x) ? null : x));
  const cols: Record<string, ArrayLike<number | string | null>> = {};
  for (const s of g.specs) cols[s] = g.levels[s] as (string | number)[];
  cols.emmean = na(g.emmean);
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
      const html = htmlTable(header, rows, {
        numeric: header.map((_, j) => j >= g.specs.length),
      }) + `<div style="font-size:11px;color:#666">${notes.map(escapeHtml).join("<br>")}</div>`;
      return { "text/plain": emmeansText(g), "text/html": html };
    },
    configurable: true,
  });
  return df;
}

/** The formatted cells of an emmeans table as R prints them, and the notes below it. */
function emmeansCells(g: EmmGrid): { header: string[]; cols: string[][]; notes: string[] } {
  const num = (v: Float64Array) =>
    formatReal(Array.from(v), 3).map((x, i) => (g.estimable[i] ? x.trim() : "nonEst"));
  const header = [...g.specs, "emmean", "SE", "df", "lower.CL", "upper.CL"];
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
  if (g.method !== "residual") notes.push(`Degrees-of-freedom method: ${g.method} `);
  notes.push(`Confidence level used: ${g.level} `);
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
  return [line(header), ...rows, "", ...notes].join("\n");
}
