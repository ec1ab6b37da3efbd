/**
 * Ordinary least squares as R's `lm`: Householder QR with R's rank
 * detection (aliased coefficients are reported as null, like R's NA),
 * coefficient table, R², F statistic, log-likelihood, AIC/BIC, predict.
 * @module
 */
import type { DataFrame } from "../data/table.ts";
import { dataFrame, type DataLike, rowsFrame } from "../data/frame.ts";
import { withMatrixDisplay } from "../display/table.ts";
import { buildFixed } from "../design/fixed.ts";
import {
  type DataOptions,
  type ModelFrame,
  modelFrame,
  newDataColumns,
  offsetValues,
} from "../design/modelframe.ts";
import { backsolve, householderQR, type QR, qty, unscaledCov } from "../linalg/householder.ts";
import { pfUpper, ptTwoSided, qt } from "../stats/distributions.ts";
import { abbreviateName, checkNumberOption, checkOptions, describeValue } from "../data/options.ts";
import {
  coefmatCells,
  formatC,
  formatNum,
  formatPval,
  formatReal,
  printCoefmat,
} from "../display/rformat.ts";
import { combineOffsets, rowVector, type RowVectorSpec } from "../design/rowvector.ts";
import {
  htmlBlock,
  htmlHeader,
  htmlMessages,
  htmlTable,
  JUPYTER_DISPLAY,
  type MimeBundle,
} from "../display/bundle.ts";

/** Options of {@link lm}. */
export interface LmOptions extends DataOptions {
  /**
   * Prior weights (R's `weights =`): a numeric column's name or one number
   * ≥ 0 per row of the data; weighted least squares.
   */
  readonly weights?: RowVectorSpec;
  /** A known offset (R's `offset =`): a numeric column's name or one number per row. */
  readonly offset?: RowVectorSpec;
}

/** Every option name of {@link lm} (a compile error here when LmOptions gains one). */
const LM_OPTION_NAMES: { readonly [K in keyof Required<LmOptions>]: true } = {
  factors: true,
  weights: true,
  offset: true,
};

const LOG_2PI = Math.log(2 * Math.PI);

/** Options of `fit.confint()` for an lm fit (R's `confint.lm(object, parm, level)`). */
export interface LmConfintOptions {
  /** Confidence level (default 0.95). */
  readonly level?: number;
  /** Coefficients to report, by name (default all, aliased ones included as null). */
  readonly parm?: readonly string[];
}

/** R's `.format_perc(probs, digits = 3)`: "2.5 %", "97.5 %". */
function formatPercent(probs: readonly number[]): string[] {
  const x = probs.map((p) => 100 * p);
  const rgt = Math.max(
    0,
    ...x.map((v) => {
      if (v === 0) return 0;
      const [m, e] = v.toExponential(2).split("e");
      const digits = m.replace("-", "").replace(".", "").replace(/0+$/, "");
      return Math.max(0, digits.length - Number(e) - 1);
    }),
  );
  return x.map((v) => `${v.toFixed(rgt)} %`);
}

/** A fitted linear model (R's `lm` object). */
export class LinearModel {
  /** The formula as given. */
  readonly formula: string;
  /** Number of observations used. */
  readonly nobs: number;
  /** Rows dropped for missing values. */
  readonly nDropped: number;
  /** Residual degrees of freedom n − rank. */
  readonly dfResidual: number;
  /** Residual standard error. */
  readonly sigma: number;
  /** Multiple R². */
  readonly rSquared: number;
  /** Adjusted R². */
  readonly adjRSquared: number;
  /** F statistic against the intercept-only (or empty) model, with its df; null when not defined. */
  readonly fStatistic: { value: number; numdf: number; dendf: number } | null;
  /** Names of coefficients that are not estimable (R's NA). */
  readonly aliased: readonly string[];
  /** Messages about the fit (dropped rows, aliased columns). */
  readonly messages: readonly string[];

  readonly #mf: ModelFrame;
  readonly #qr: QR;
  readonly #beta: Float64Array; // full length p, NaN for aliased
  readonly #se: Float64Array;
  readonly #fitted: Float64Array;
  readonly #resid: Float64Array;
  readonly #cov: Float64Array; // unscaled, rank × rank over kept columns
  readonly #weights: Float64Array | undefined;
  readonly #offset: Float64Array | undefined;
  readonly #optionOffset: boolean; // an `offset` option (not only offset() in the formula)
  readonly #offsetColumn: string | undefined; // the option as a column name

  /** Use {@link lm} to fit. */
  constructor(
    formula: string,
    mf: ModelFrame,
    extra: {
      weights?: Float64Array;
      offset?: Float64Array;
      optionOffset?: boolean;
      offsetColumn?: string;
    } = {},
  ) {
    this.formula = formula;
    this.#mf = mf;
    const { x } = mf;
    const { weights: w, offset } = extra;
    this.#weights = w;
    this.#offset = offset;
    this.#optionOffset = extra.optionOffset ?? (offset !== undefined && !mf.offset);
    this.#offsetColumn = extra.offsetColumn;
    const n = x.n, p = x.p;
    // y − offset, and rows times √w (weighted least squares, as lm.wfit)
    const y = offset ? mf.y.map((v, i) => v - offset[i]) : mf.y;
    let xq = x.x, yq = y;
    if (w) {
      const sw = w.map(Math.sqrt);
      xq = Float64Array.from(x.x);
      for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) xq[j * n + i] *= sw[i];
      yq = y.map((v, i) => v * sw[i]);
    }
    const qr = householderQR(xq, n, p);
    this.#qr = qr;
    const rank = qr.kept.length;
    const qy = qty(qr, yq);
    const b = backsolve(qr, qy);
    this.#beta = new Float64Array(p).fill(NaN);
    qr.kept.forEach((j, k) => (this.#beta[j] = b[k]));
    const lin = new Float64Array(n); // Xβ, without the offset
    for (let k = 0; k < rank; k++) {
      const j = qr.kept[k];
      for (let i = 0; i < n; i++) lin[i] += x.x[j * n + i] * b[k];
    }
    this.#fitted = offset ? lin.map((v, i) => v + offset[i]) : lin;
    this.#resid = new Float64Array(n);
    let rss = 0;
    for (let i = 0; i < n; i++) {
      const r = y[i] - lin[i];
      this.#resid[i] = r;
      rss += (w ? w[i] : 1) * r * r;
    }
    // R counts observations of zero weight out of the residual df
    let zero = 0;
    if (w) { for (let i = 0; i < n; i++) if (w[i] === 0) zero++; }
    this.nobs = n - zero;
    this.nDropped = mf.nDropped;
    this.dfResidual = n - zero - rank;
    // summary.lm: resvar = rss / rdf; with no residual df R has rss = 0 exactly,
    // so σ, every SE and the adjusted R² are NaN (0/0), not Infinity.
    const resvar = this.dfResidual > 0 ? rss / this.dfResidual : NaN;
    this.sigma = Math.sqrt(resvar);
    this.#cov = unscaledCov(qr);
    this.#se = new Float64Array(p).fill(NaN);
    qr.kept.forEach((j, k) => (this.#se[j] = this.sigma * Math.sqrt(this.#cov[k * rank + k])));
    const intercept = mf.plan.intercept;
    // summary.lm's mss and R² = mss / (mss + rss); an intercept-only (or
    // empty) model has R² = adjusted R² = 0 and no F statistic.
    // (weighted: summary.lm's m = Σ w f / Σ w, mss = Σ w (f − m)²; f without the offset)
    let fsum = 0, wsum = 0;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      fsum += wi * lin[i];
      wsum += wi;
    }
    const fbar = fsum / wsum;
    let mss = 0, fvar = 0;
    for (let i = 0; i < n; i++) {
      const f = lin[i], wi = w ? w[i] : 1;
      mss += wi * (intercept ? (f - fbar) ** 2 : f * f);
      fvar += (f - fbar) ** 2;
    }
    fvar /= n - 1;
    const dfInt = intercept ? 1 : 0;
    const numdf = rank - dfInt;
    if (numdf > 0) {
      this.rSquared = mss / (mss + rss);
      this.adjRSquared = 1 - (1 - this.rSquared) * ((this.nobs - dfInt) / this.dfResidual);
      this.fStatistic = { value: (mss / numdf) / resvar, numdf, dendf: this.dfResidual };
    } else {
      this.rSquared = 0;
      this.adjRSquared = 0;
      this.fStatistic = null;
    }
    const perfect = Number.isFinite(resvar) && resvar < (fbar * fbar + fvar) * 1e-30;
    this.aliased = qr.aliased.map((j) => x.names[j]);
    const msgs: string[] = [...mf.plan.warnings];
    if (mf.nDropped) {
      msgs.push(
        `${mf.nDropped} observation${mf.nDropped > 1 ? "s" : ""} deleted due to missingness`,
      );
    }
    if (this.aliased.length) {
      msgs.push(
        `Coefficients: (${this.aliased.length} not defined because of singularities): ${
          this.aliased.join(", ")
        }`,
      );
    }
    if (perfect) msgs.push("essentially perfect fit: summary may be unreliable");
    this.messages = msgs;
  }

  /** Coefficients by R's names; aliased ones are null (R's NA). */
  coef(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    this.#mf.x.names.forEach((
      nm,
      j,
    ) => (out[nm] = Number.isNaN(this.#beta[j]) ? null : this.#beta[j]));
    return out;
  }

  /** Coefficient rows (estimable terms only): term, estimate, SE, t, two-sided p. */
  coefRows(): {
    term: string;
    estimate: number;
    stdError: number;
    statistic: number;
    pValue: number;
  }[] {
    return this.#qr.kept.map((j) => {
      const est = this.#beta[j], se = this.#se[j], t = est / se;
      return {
        term: this.#mf.x.names[j],
        estimate: est,
        stdError: se,
        statistic: t,
        pValue: ptTwoSided(t, this.dfResidual),
      };
    });
  }

  /** The coefficient table as a DataFrame: term, estimate, stdError, statistic, pValue. */
  coefTable(): DataFrame {
    return rowsFrame(this.coefRows(), ["term", "estimate", "stdError", "statistic", "pValue"]);
  }

  /** Covariance matrix of the estimable coefficients (row-major rows by name). */
  vcov(): { names: string[]; matrix: number[][] } {
    const k = this.#qr.kept.length;
    const s2 = this.sigma * this.sigma;
    const names = this.#qr.kept.map((j) => this.#mf.x.names[j]);
    const matrix = names.map((_, a) => names.map((_, b) => s2 * this.#cov[b * k + a]));
    return { names, matrix };
  }

  /** Fitted values (a copy). */
  fitted(): Float64Array {
    return Float64Array.from(this.#fitted);
  }

  /** Residuals y − fitted (a copy). */
  residuals(): Float64Array {
    return Float64Array.from(this.#resid);
  }

  /** Log-likelihood (ML, as R's logLik.lm), with df = rank + 1. */
  logLik(): number {
    const n = this.nobs, w = this.#weights;
    let rss = 0, ldw = 0;
    this.#resid.forEach((r, i) => {
      const wi = w ? w[i] : 1;
      rss += wi * r * r;
      if (wi > 0) ldw += Math.log(wi);
    });
    return 0.5 * (ldw - n * (LOG_2PI + 1 - Math.log(n) + Math.log(rss)));
  }

  /** Residuals times √w (R's `weighted.residuals`; the residuals when unweighted). */
  weightedResiduals(): Float64Array {
    const w = this.#weights;
    return this.#resid.map((r, i) => (w ? Math.sqrt(w[i]) * r : r));
  }

  /**
   * The offset of the rows used, if the fit has one (a copy): the formula's
   * `offset(...)` terms plus the `offset` option (R's `model.offset`).
   */
  get offset(): Float64Array | undefined {
    return this.#offset?.slice();
  }

  /** The prior weights, if the fit has them (a copy). */
  get weights(): Float64Array | undefined {
    return this.#weights?.slice();
  }

  /** Number of estimated parameters (coefficients + σ). */
  get df(): number {
    return this.#qr.kept.length + 1;
  }

  /** Akaike's information criterion. */
  AIC(): number {
    return -2 * this.logLik() + 2 * this.df;
  }

  /** Bayesian information criterion. */
  BIC(): number {
    return -2 * this.logLik() + Math.log(this.nobs) * this.df;
  }

  /** The model frame (for inference and plots). */
  get modelFrame(): ModelFrame {
    return this.#mf;
  }

  /**
   * Predictions for new data (or the fitted values when none is given).
   * Factor levels not seen in the fit are an error naming the level. As
   * R's predict.lm, the offset is evaluated on the new data: the formula's
   * `offset(...)` terms, and an `offset` option given as a column name
   * (offsets given as numbers cannot be, and are refused).
   */
  predict(newdata?: DataLike): Float64Array {
    if (newdata === undefined) return this.fitted();
    if (this.#optionOffset && this.#offsetColumn === undefined) {
      throw new Error(
        "predict: this model has an offset given as numbers; predictions for new data would " +
          "need its values (give the offset as a column name or write offset(column) in the " +
          "formula to have it read from the new data, or add it to the predictions yourself)",
      );
    }
    const mf = this.#mf;
    const { cols, n, frame } = newDataColumns(mf, mf.formula.fixed, mf.plan, newdata);
    const x = buildFixed(mf.plan, cols, n);
    // R's predict.lm: the formula's offset() terms evaluated on the new data
    const out = offsetValues(mf.formula.fixed, cols, n) ?? new Float64Array(n);
    if (this.#optionOffset && this.#offsetColumn !== undefined) {
      // … and the offset argument too (R evaluates `offset = o` in newdata)
      const c = frame.columns.get(this.#offsetColumn);
      if (!c || c.kind !== "numeric") {
        throw new RangeError(
          `predict: the new data need a numeric column '${this.#offsetColumn}' (the model's offset)`,
        );
      }
      for (let i = 0; i < n; i++) out[i] += c.values[i];
    }
    this.#qr.kept.forEach((j) => {
      const b = this.#beta[j];
      for (let i = 0; i < n; i++) out[i] += x[j * n + i] * b;
    });
    return out;
  }

  /**
   * Confidence intervals for the coefficients, as R's `confint(fit, parm,
   * level)` (`confint.lm`): estimate ± t quantile (residual df) × SE. A
   * DataFrame with columns `parameter` and R's percent labels (`2.5 %`,
   * `97.5 %` at level 0.95); aliased coefficients get null (R's NA).
   *
   * @example
   * ```ts
   * import { lm } from "./lm.ts";
   * const fit = lm("y ~ x", { y: [1.1, 1.9, 3.2, 3.9], x: [1, 2, 3, 4] });
   * fit.confint().columns; // ["parameter", "2.5 %", "97.5 %"]
   * ```
   */
  confint(options: LmConfintOptions = {}): DataFrame {
    checkOptions("confint", options, ["level", "parm"]);
    const level = checkNumberOption("confint", "level", options.level ?? 0.95);
    if (!(level > 0 && level < 1)) {
      throw new RangeError(`confint: 'level' must be between 0 and 1, got ${level}`);
    }
    const names = this.#mf.x.names;
    let parm = names;
    if (options.parm !== undefined) {
      if (!Array.isArray(options.parm)) {
        throw new TypeError(
          `confint: 'parm' must be an array of coefficient names, got ${
            describeValue(options.parm)
          }`,
        );
      }
      for (const p of options.parm) {
        if (!names.includes(p)) {
          throw new RangeError(
            `confint: unknown coefficient '${abbreviateName(String(p))}'; coefficients: ${
              names.join(", ")
            }`,
          );
        }
      }
      parm = options.parm;
    }
    const a = (1 - level) / 2;
    const probs = [a, 1 - a];
    const fac = probs.map((p) => (this.dfResidual > 0 ? qt(p, this.dfResidual) : NaN));
    const [lo, hi] = formatPercent(probs);
    const lower: (number | null)[] = [], upper: (number | null)[] = [];
    for (const p of parm) {
      const j = names.indexOf(p);
      const b = this.#beta[j], se = this.#se[j];
      const na = Number.isNaN(b);
      lower.push(na ? null : b + se * fac[0]);
      upper.push(na ? null : b + se * fac[1]);
    }
    // Displayed as R prints confint(fit): a matrix with the coefficients as row names.
    return withMatrixDisplay(
      dataFrame({ parameter: [...parm], [lo]: lower, [hi]: upper }),
      parm,
      { [lo]: lower, [hi]: upper },
      `t confidence intervals (level ${level})`,
    );
  }

  /** R's `summary(lm)` printed text. */
  summary(): LmSummary {
    return new LmSummary(this);
  }

  /** Notebook display: the summary as text and as HTML tables. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.summary()[JUPYTER_DISPLAY]();
  }

  /** R's `print(lm)`. */
  toString(): string {
    const c = this.coef();
    const names = Object.keys(c);
    const vals = formatReal(names.map((k) => c[k] ?? NaN), 4);
    const w = names.map((nm, i) => Math.max(nm.length, vals[i].trim().length));
    return `\nCall:\nlm(formula = ${this.formula})\n\nCoefficients:\n` +
      names.map((nm, i) => nm.padStart(w[i])).join("  ") + "\n" +
      vals.map((v, i) => v.trim().padStart(w[i])).join("  ") + "\n";
  }
}

/** R's `summary.lm` as text (String(summary) or .toString()). */
export class LmSummary {
  /** The model summarised. */
  readonly model: LinearModel;
  /** Wrap a fitted model; use `fit.summary()`. */
  constructor(model: LinearModel) {
    this.model = model;
  }

  /** Notebook display: R's text and an HTML rendering with the same digits. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const m = this.model;
    const est = new Map(m.coefRows().map((x) => [x.term, x]));
    const rows = Object.keys(m.coef()).map((term) =>
      est.get(term) ?? { term, estimate: NaN, stdError: NaN, statistic: NaN, pValue: NaN }
    );
    const cols = ["Estimate", "Std. Error", "t value", "Pr(>|t|)"];
    const { cells, stars } = coefmatCells(
      cols,
      rows.map((x) => [x.estimate, x.stdError, x.statistic, x.pValue]),
      { digits: 4, pColumn: 3 },
    );
    const f = m.fStatistic;
    const facts: [string, string][] = [
      ["Formula:", m.formula],
      [
        "Observations:",
        `${m.nobs}${m.nDropped ? ` (${m.nDropped} dropped for missing values)` : ""}`,
      ],
      [
        "Residual standard error:",
        `${formatNum(m.sigma, 4)} on ${m.dfResidual} degrees of freedom`,
      ],
      ["R²:", `${formatNum(m.rSquared, 4)}, adjusted ${formatNum(m.adjRSquared, 4)}`],
    ];
    if (f) {
      facts.push([
        "F-statistic:",
        `${formatNum(f.value, 4)} on ${f.numdf} and ${f.dendf} DF, p-value ${
          formatPval([pfUpper(f.value, f.numdf, f.dendf)], 4)[0]
        }`,
      ]);
    }
    const html = htmlBlock([
      htmlHeader("Linear model (lm)", facts),
      htmlTable(["", ...cols, ""], rows.map((x, i) => [x.term, ...cells[i], stars![i]]), {
        caption: "Coefficients",
        numeric: [false, true, true, true, true, false],
      }),
      htmlMessages(m.messages),
    ]);
    return { "text/plain": this.toString(), "text/html": html };
  }

  /** The text of R's print(summary(fit)). */
  toString(): string {
    const m = this.model;
    const r = m.weightedResiduals();
    const lines: string[] = ["", "Call:", `lm(formula = ${m.formula})`, ""];
    const rdf = m.dfResidual;
    if (rdf > 5) {
      const sorted = Float64Array.from(r).sort();
      const q = [0, 0.25, 0.5, 0.75, 1].map((p) => quantile7(sorted, p));
      const f = formatReal(q, 4);
      lines.push(m.weights ? "Weighted Residuals:" : "Residuals:");
      const hdr = ["Min", "1Q", "Median", "3Q", "Max"];
      const w = f.map((s, i) => Math.max(s.length, hdr[i].length));
      lines.push(hdr.map((h, i) => h.padStart(w[i])).join(" ") + " ");
      lines.push(f.map((s, i) => s.padStart(w[i])).join(" ") + " ");
    } else {
      lines.push(
        m.weights ? "Weighted Residuals:" : "Residuals:",
        formatReal(Array.from(r), 4).join(" "),
      );
    }
    lines.push("");
    if (m.aliased.length) {
      lines.push(`Coefficients: (${m.aliased.length} not defined because of singularities)`);
    } else lines.push("Coefficients:");
    // Aliased coefficients print as NA rows in their place, as R does.
    const est = new Map(m.coefRows().map((x) => [x.term, x]));
    const rows = Object.keys(m.coef()).map((term) =>
      est.get(term) ?? { term, estimate: NaN, stdError: NaN, statistic: NaN, pValue: NaN }
    );
    lines.push(
      printCoefmat(
        rows.map((x) => x.term),
        ["Estimate", "Std. Error", "t value", "Pr(>|t|)"],
        rows.map((x) => [x.estimate, x.stdError, x.statistic, x.pValue]),
        { digits: 4, pColumn: 3 },
      ),
    );
    lines.push("");
    lines.push(`Residual standard error: ${formatNum(m.sigma, 4)} on ${rdf} degrees of freedom`);
    if (m.nDropped) {
      lines.push(
        `  (${m.nDropped} observation${m.nDropped > 1 ? "s" : ""} deleted due to missingness)`,
      );
    }
    if (m.fStatistic) {
      const f = m.fStatistic;
      lines.push(
        `Multiple R-squared:  ${formatNum(m.rSquared, 4)},\tAdjusted R-squared:  ${
          formatNum(m.adjRSquared, 4)
        } `,
      );
      lines.push(
        `F-statistic: ${formatC(f.value, 4)} on ${f.numdf} and ${f.dendf} DF,  p-value: ${
          formatPval([pfUpper(f.value, f.numdf, f.dendf)], 4)[0].replace(/^< /, "< ")
        }`,
      );
    }
    lines.push("");
    return lines.join("\n");
  }
}

/** R's default (type 7) quantile of sorted values. */
export function quantile7(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Fit a linear model by least squares, as R's `lm(formula, data)`.
 *
 * @example
 * ```ts
 * import { lm } from "./lm.ts";
 * const fit = lm("y ~ x", { y: [1.1, 1.9, 3.2, 3.9], x: [1, 2, 3, 4] });
 * console.log(fit.coef()); // { "(Intercept)": 0.15, x: 0.96 }
 * ```
 */
export function lm(formula: string, data: DataLike, options: LmOptions = {}): LinearModel {
  checkOptions("lm", options, Object.keys(LM_OPTION_NAMES));
  const mf = modelFrame(formula, data, { factors: options.factors, allowRandom: false });
  const weights = rowVector(options.weights, "weights", mf);
  if (weights?.some((v) => v < 0)) {
    throw new RangeError("weights: missing or negative weights not allowed");
  }
  const option = rowVector(options.offset, "offset", mf);
  const offset = combineOffsets(mf.offset, option);
  return new LinearModel(formula, mf, {
    weights,
    offset,
    optionOffset: option !== undefined,
    ...(typeof options.offset === "string" ? { offsetColumn: options.offset } : {}),
  });
}
