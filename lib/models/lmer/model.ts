/**
 * The fitted linear mixed model (lme4's `merMod`): accessors with lme4's
 * names and shapes — fixef, ranef, coef, VarCorr, theta, sigma, logLik,
 * predict — over the numbers the numerical core computed at θ̂.
 * @module
 */
import { checkOptions, describeValue } from "../../data/options.ts";
import type { DataLike } from "../../data/frame.ts";
import { dataFrame, rowsFrame } from "../../data/frame.ts";
import { type FactorTablesKind, withFactorTablesDisplay } from "../../display/factor_tables.ts";
import type { DataFrame } from "../../data/table.ts";
import { buildFixed } from "../../design/fixed.ts";
import { addRandomEffects, newDataColumns, offsetValues } from "../../design/modelframe.ts";
import type { Lmm, LmmSolution } from "./core.ts";
import type { Convergence } from "./convergence.ts";
import type { LmerDevfun, LmerFrame, OptSummary } from "./fit.ts";
import { LmerSummary } from "./summary.ts";
import { type ConfintOptions, type DdfMethod, lmerInference } from "./extensions.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../../display/bundle.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** Everything a fitted model is made of (built by `mkMerMod`). */
export interface MerModParts {
  /** The formula as given. */
  readonly formula: string;
  /** Name of the data for printing, if known. */
  readonly dataName?: string;
  /** The frame after lme4's checks. */
  readonly frame: LmerFrame;
  /** The numerical core. */
  readonly lmm: Lmm;
  /** The solution at θ̂. */
  readonly solution: LmmSolution;
  /** The optimizer's record. */
  readonly opt: OptSummary;
  /** lme4's post-fit checks. */
  readonly convergence: Convergence;
  /** The criterion as a function of θ. */
  readonly devfun: LmerDevfun;
}

/** One row of `as.data.frame(VarCorr(m))`. */
export interface VarCorrRow {
  /** Grouping factor ("Residual" for the residual row). */
  readonly grp: string;
  /** Term column, or null for the residual. */
  readonly var1: string | null;
  /** Second column for a covariance row, else null. */
  readonly var2: string | null;
  /** Variance or covariance. */
  readonly vcov: number;
  /** Standard deviation or correlation. */
  readonly sdcor: number;
}

/** Options of {@link LinearMixedModel.predict}. */
export interface PredictOptions {
  /** "full" (default) includes the random effects; "none" is the population level (re.form = NA). */
  readonly reForm?: "full" | "none";
  /** Give new grouping levels the population value (random effect 0) instead of an error. */
  readonly allowNewLevels?: boolean;
}

/** A fitted linear mixed-effects model, as lme4's `lmerMod`. */
export class LinearMixedModel {
  /** The formula as given. */
  readonly formula: string;
  /** Name of the data for the summary's "Data:" line, if given. */
  readonly dataName: string | undefined;
  /** Whether the fit is by REML. */
  readonly REML: boolean;
  /** Number of observations used. */
  readonly nobs: number;
  /** θ at the optimum, in lme4's `getME(m, "theta")` order. */
  readonly theta: Float64Array;
  /** θ's names, as lme4's. */
  readonly thetaNames: readonly string[];
  /** Residual standard deviation σ̂. */
  readonly sigma: number;
  /** The optimizer's record (settings, evaluations, status). */
  readonly optSummary: OptSummary;
  /** lme4's convergence messages (singular fit, gradient), printed in the summary. */
  readonly messages: readonly string[];
  /** Messages from building the model (dropped rows or rank-deficient columns). */
  readonly frameMessages: readonly string[];
  /** The post-fit checks. */
  readonly convergence: Convergence;
  /** The criterion as a function of θ (lme4's devfun), for profiling and refits. */
  readonly devfun: LmerDevfun;

  readonly #frame: LmerFrame;
  readonly #lmm: Lmm;
  readonly #sol: LmmSolution;

  /** Use `lmer()` to fit. */
  constructor(parts: MerModParts) {
    this.formula = parts.formula;
    this.dataName = parts.dataName;
    this.#frame = parts.frame;
    this.#lmm = parts.lmm;
    this.#sol = parts.solution;
    this.REML = parts.solution.reml;
    this.nobs = parts.lmm.n;
    this.theta = Float64Array.from(parts.solution.theta);
    this.thetaNames = parts.lmm.thetaNames;
    this.sigma = parts.solution.sigma;
    this.optSummary = parts.opt;
    this.convergence = parts.convergence;
    this.messages = parts.convergence.messages;
    this.frameMessages = parts.frame.messages;
    this.devfun = parts.devfun;
  }

  /** The model frame and checks (lme4's `lFormula` result). */
  get frame(): LmerFrame {
    return this.#frame;
  }

  /** The numerical core (cross-products, criterion). */
  get lmm(): Lmm {
    return this.#lmm;
  }

  /** The solution at θ̂ (β, u, b, conditional variances, devcomp). */
  get solution(): LmmSolution {
    return this.#sol;
  }

  /** Fixed-effects estimates by R's names. */
  fixef(): Record<string, number> {
    const out: Record<string, number> = {};
    this.#frame.x.names.forEach((nm, j) => (out[nm] = this.#sol.beta[j]));
    return out;
  }

  /** Fixed-effects rows: term, estimate, standard error, t value. */
  coefRows(): { term: string; estimate: number; stdError: number; statistic: number }[] {
    return this.#frame.x.names.map((term, j) => {
      const estimate = this.#sol.beta[j], stdError = this.#sol.se[j];
      return { term, estimate, stdError, statistic: estimate / stdError };
    });
  }

  /**
   * The fixed-effects table: term, estimate, stdError, statistic (t value);
   * with `{ df }` also df and pValue (lmerTest's Satterthwaite t-tests, or
   * Kenward-Roger with pbkrtest's adjusted covariance for the SEs).
   */
  coefTable(options: { df?: DdfMethod } = {}): DataFrame {
    if (options.df) {
      return lmerInference("m.coefTable({ df })").coefTableDf(this, { df: options.df });
    }
    return rowsFrame(this.coefRows(), ["term", "estimate", "stdError", "statistic"]);
  }

  /** Covariance matrix of the fixed effects, rows and columns in fixef order. */
  vcov(): { names: string[]; matrix: number[][] } {
    const p = this.#frame.x.p;
    const names = [...this.#frame.x.names];
    const matrix = names.map((_, a) => names.map((_, b) => this.#sol.vcov[b * p + a]));
    return { names, matrix };
  }

  /**
   * Log-likelihood as lme4's `logLik(m)`: the REML log-likelihood for REML
   * fits (−REMLcrit/2), the log-likelihood for ML fits.
   */
  logLik(): number {
    return -this.#sol.objective / 2;
  }

  /** Degrees of freedom of logLik: fixed effects + θ + σ. */
  get df(): number {
    return this.#frame.x.p + this.theta.length + 1;
  }

  /** AIC = −2 logLik + 2 df. */
  AIC(): number {
    return -2 * this.logLik() + 2 * this.df;
  }

  /** BIC = −2 logLik + log(n) df. */
  BIC(): number {
    return -2 * this.logLik() + Math.log(this.nobs) * this.df;
  }

  /** The REML criterion at θ̂ (NaN for ML fits, as lme4's NA). */
  REMLcrit(): number {
    return this.REML ? this.#sol.objective : NaN;
  }

  /**
   * Deviance as lme4's `deviance()`: −2 log L for ML fits; for REML fits the
   * REML criterion (lme4 also warns), or with `{ REML: false }` the ML
   * deviance evaluated at the REML estimates (lme4's `devCrit(m, REML = FALSE)`).
   */
  deviance(options: { REML?: boolean } = {}): number {
    const wantReml = options.REML ?? this.REML;
    if (wantReml === this.REML) return this.#sol.objective;
    const d = this.#sol.devcomp;
    const n = this.nobs, p = this.#frame.x.p;
    if (!wantReml) return d.ldL2 + n * (1 + LOG_2PI + Math.log(d.pwrss / n));
    return d.ldL2 + d.ldRX2 + (n - p) * (1 + LOG_2PI + Math.log(d.pwrss / (n - p)));
  }

  /** Number of levels of each grouping factor (lme4's `ngrps`). */
  ngrps(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.#lmm.terms) out[t.group] = t.nLevels;
    return out;
  }

  /** Whether the fit is singular (a diagonal θ below `tol`, as lme4's isSingular). */
  isSingular(tol = 1e-4): boolean {
    return [...this.#lmm.lower].some((lb, k) => lb === 0 && this.theta[k] < tol);
  }

  /** Per term (lme4's order): group name made unique (Subject, Subject.1), columns, covariance. */
  varCorrTerms(): { grp: string; group: string; names: readonly string[]; cov: number[][] }[] {
    const seen = new Map<string, number>();
    const s2 = this.sigma * this.sigma;
    return this.#lmm.terms.map((t) => {
      const k = seen.get(t.group) ?? 0;
      seen.set(t.group, k + 1);
      const grp = k === 0 ? t.group : `${t.group}.${k}`;
      const q = t.q;
      // T (lower triangular) from θ, column-major lower triangle.
      const T = Array.from({ length: q }, () => new Array<number>(q).fill(0));
      let o = t.thetaOffset;
      for (let j = 0; j < q; j++) for (let i = j; i < q; i++) T[i][j] = this.theta[o++];
      const cov = T.map((ri) =>
        T.map((rj) => {
          let s = 0;
          for (let m = 0; m < q; m++) s += ri[m] * rj[m];
          return s2 * s;
        })
      );
      return { grp, group: t.group, names: t.cnames, cov };
    });
  }

  /** `as.data.frame(VarCorr(m))` rows. */
  varCorrRows(): VarCorrRow[] {
    const rows: VarCorrRow[] = [];
    for (const t of this.varCorrTerms()) {
      const q = t.names.length;
      for (let i = 0; i < q; i++) {
        rows.push({
          grp: t.grp,
          var1: t.names[i],
          var2: null,
          vcov: t.cov[i][i],
          sdcor: Math.sqrt(t.cov[i][i]),
        });
      }
      for (let j = 0; j < q; j++) {
        for (let i = j + 1; i < q; i++) {
          const c = t.cov[i][j];
          rows.push({
            grp: t.grp,
            var1: t.names[j],
            var2: t.names[i],
            vcov: c,
            sdcor: c / Math.sqrt(t.cov[i][i] * t.cov[j][j]),
          });
        }
      }
    }
    rows.push({
      grp: "Residual",
      var1: null,
      var2: null,
      vcov: this.sigma ** 2,
      sdcor: this.sigma,
    });
    return rows;
  }

  /**
   * `as.data.frame(VarCorr(m))`: grp, var1, var2, vcov, sdcor; displayed as
   * R prints `VarCorr(m)` (standard deviations and correlations).
   */
  varCorr(): DataFrame {
    const df = rowsFrame(this.varCorrRows(), ["grp", "var1", "var2", "vcov", "sdcor"]);
    Object.defineProperty(df, JUPYTER_DISPLAY, {
      value: () => new LmerSummary(this).varCorrBundle(),
      enumerable: false,
      configurable: true,
    });
    return df;
  }

  /**
   * Conditional modes per grouping factor, terms with the same factor merged
   * (as lme4's ranef): levels, column names, values[level][column], and the
   * conditional standard deviations in the same shape.
   */
  ranefTables(): Record<
    string,
    { levels: readonly string[]; columns: string[]; values: number[][]; condSd: number[][] }
  > {
    const out: Record<
      string,
      { levels: readonly string[]; columns: string[]; values: number[][]; condSd: number[][] }
    > = {};
    for (const r of this.#sol.ranef) {
      const t = r.info;
      const tab = out[t.group] ??= {
        levels: t.term.levels,
        columns: [],
        values: t.term.levels.map(() => []),
        condSd: t.term.levels.map(() => []),
      };
      tab.columns.push(...t.cnames);
      for (let l = 0; l < t.nLevels; l++) {
        for (let c = 0; c < t.q; c++) {
          tab.values[l].push(r.b[l * t.q + c]);
          tab.condSd[l].push(r.condSd[l * t.q + c]);
        }
      }
    }
    return out;
  }

  /**
   * Conditional modes as DataFrames by grouping factor (a level column, then
   * one per term column). Displays as R prints `ranef(m)`.
   */
  ranef(): Record<string, DataFrame> {
    return this.#tables(this.ranefTables(), "ranef");
  }

  /** Per-level coefficients (fixed + random), lme4's `coef(m)`; displays as R prints it. */
  coef(): Record<string, DataFrame> {
    return this.#tables(this.coefTables(), "coef");
  }

  /** coef() as plain tables: for each factor, every fixed effect plus its random effect. */
  coefTables(): Record<
    string,
    { levels: readonly string[]; columns: string[]; values: number[][] }
  > {
    const fe = this.fixef();
    const out: Record<
      string,
      { levels: readonly string[]; columns: string[]; values: number[][] }
    > = {};
    for (const [g, tab] of Object.entries(this.ranefTables())) {
      // lme4's coef.merMod: random-only columns first, then the fixed effects in fixef order.
      const columns = [...tab.columns.filter((c) => !(c in fe)), ...Object.keys(fe)];
      const values = tab.levels.map((_, l) =>
        columns.map((c) => {
          const k = tab.columns.indexOf(c);
          return (fe[c] ?? 0) + (k >= 0 ? tab.values[l][k] : 0);
        })
      );
      out[g] = { levels: tab.levels, columns, values };
    }
    return out;
  }

  #tables(
    src: Record<string, { levels: readonly string[]; columns: string[]; values: number[][] }>,
    kind: FactorTablesKind,
  ): Record<string, DataFrame> {
    const out: Record<string, DataFrame> = {};
    for (const [g, tab] of Object.entries(src)) {
      const cols: Record<string, (string | number)[]> = { [g]: [...tab.levels] };
      tab.columns.forEach((c, k) => (cols[c] = tab.values.map((row) => row[k])));
      out[g] = dataFrame(cols);
    }
    return withFactorTablesDisplay(out, src, kind);
  }

  /** Fitted values Xβ̂ + Zb̂ (a copy). */
  fitted(): Float64Array {
    return Float64Array.from(this.#sol.fitted);
  }

  /**
   * Residuals y − fitted; `{ scaled: true }` gives lme4's scaled residuals
   * (Pearson residuals √wᵢ (yᵢ − fittedᵢ) divided by σ̂).
   */
  residuals(options: { scaled?: boolean } = {}): Float64Array {
    const r = Float64Array.from(
      options.scaled ? this.#sol.pearson ?? this.#sol.residuals : this.#sol.residuals,
    );
    if (options.scaled) { for (let i = 0; i < r.length; i++) r[i] /= this.sigma; }
    return r;
  }

  /**
   * Predictions as lme4's `predict(m, newdata, re.form, allow.new.levels)`.
   * Without newdata: the fitted values (or Xβ̂ with reForm "none"). New
   * grouping levels are an error unless `allowNewLevels`, when they get the
   * population-level prediction.
   */
  predict(newdata?: DataLike, options: PredictOptions = {}): Float64Array {
    checkOptions("predict", options, ["reForm", "allowNewLevels"]);
    const reForm = options.reForm ?? "full";
    if (reForm !== "full" && reForm !== "none") {
      throw new RangeError(
        `predict: 'reForm' must be "full" (with the random effects, lme4's re.form = NULL) or ` +
          `"none" (population level, re.form = NA), got ${describeValue(reForm)}`,
      );
    }
    const mf = this.#frame.mf;
    const beta = this.#sol.beta;
    const offset = this.#frame.offset;
    if (newdata === undefined) {
      if (reForm === "full") return this.fitted();
      const n = this.nobs, x = this.#frame.x.x;
      const out = offset ? Float64Array.from(offset) : new Float64Array(n);
      beta.forEach((b, j) => {
        for (let i = 0; i < n; i++) out[i] += x[j * n + i] * b;
      });
      return out;
    }
    if (offset && (this.#frame.optionOffset ?? !mf.offset)) {
      throw new Error(
        "predict: this model has an offset option, which lme4 leaves out of predictions for " +
          "new data; write offset(column) in the formula to have it evaluated on the new data, " +
          "or add it to the predictions yourself",
      );
    }
    const { cols, n, frame } = newDataColumns(mf, mf.formula.fixed, mf.plan, newdata);
    const x = buildFixed(mf.plan, cols, n);
    // lme4's predict: the formula's offset() terms evaluated on the new data
    const out = offsetValues(mf.formula.fixed, cols, n) ?? new Float64Array(n);
    this.#frame.keptColumns.forEach((j, k) => {
      for (let i = 0; i < n; i++) out[i] += x[j * n + i] * beta[k];
    });
    if (reForm === "none") return out;
    addRandomEffects(
      mf,
      frame,
      newdata,
      n,
      this.#sol.ranef.map((r) => ({ ...r.info, levels: r.info.term.levels, b: r.b })),
      out,
      options.allowNewLevels ?? false,
    );
    return out;
  }

  /**
   * Confidence intervals as lme4's `confint(m)`: "profile" (default),
   * "Wald" or "boot" (parametric bootstrap with `nsim` and `seed`); rows
   * .sig01…, .sigma, then the fixed effects.
   */
  confint(options: ConfintOptions = {}): DataFrame {
    return lmerInference("m.confint()").confint(this, options);
  }

  /**
   * {@link LinearMixedModel.confint} that yields to the event loop, so a
   * bootstrap shows its progress live in a notebook (one display updated in place).
   */
  confintAsync(options: ConfintOptions = {}): Promise<DataFrame> {
    return lmerInference("m.confintAsync()").confintAsync(this, options);
  }

  /**
   * lme4's summary (print with `String(m.summary())`); with `{ ddf }` the
   * fixed effects get df and p-values as lmerTest's summary prints them.
   */
  summary(options: { ddf?: DdfMethod } = {}): LmerSummary {
    return new LmerSummary(this, options.ddf);
  }

  /** Notebook display: the summary as lme4's text and as HTML tables. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.summary()[JUPYTER_DISPLAY]();
  }

  /** lme4's print(m): the summary without residuals and fixed-effect table details. */
  toString(): string {
    return this.summary().toString();
  }
}
