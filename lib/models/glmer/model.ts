/**
 * The fitted generalized linear mixed model (lme4's `glmerMod`): its
 * numbers at the optimum — fixed effects, conditional modes, θ, the Laplace
 * deviance, lme4's Hessian-based vcov — and predict, residuals, summary and
 * the notebook display.
 * @module
 */
import { checkOptions, describeValue } from "../../data/options.ts";
import type { DataLike } from "../../data/frame.ts";
import { dataFrame } from "../../data/frame.ts";
import type { DataFrame } from "../../data/table.ts";
import { buildFixed } from "../../design/fixed.ts";
import { addRandomEffects, newDataColumns, offsetValues } from "../../design/modelframe.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../../display/bundle.ts";
import { pnorm } from "../../stats/distributions.ts";
import { choleskyRows, type Convergence } from "../lmer/convergence.ts";
import type { ConfintOptions } from "../lmer/extensions.ts";
import { agqDevfun } from "./agq.ts";
import type { GlmerFrame, GlmerOptSummary } from "./fit.ts";
import type { Glmm, PirlsResult } from "./pirls.ts";
import { GlmerSummary } from "./summary.ts";

/** What {@link GeneralizedLinearMixedModel} is built from (by `glmer`). */
export interface GlmerParts {
  /** The formula as given. */
  readonly formula: string;
  /** The data's name for the summary. */
  readonly dataName?: string;
  /** The model frame. */
  readonly frame: GlmerFrame;
  /** The numerical core. */
  readonly glmm: Glmm;
  /** θ at the optimum. */
  readonly theta: Float64Array;
  /** PIRLS at the optimum. */
  readonly fit: PirlsResult;
  /** The optimizer's record. */
  readonly opt: GlmerOptSummary;
  /** lme4's convergence checks. */
  readonly convergence: Convergence;
  /** Quadrature points (1: Laplace; 0: stage 1 only). */
  readonly nAGQ: number;
}

/** Options of {@link GeneralizedLinearMixedModel.predict}. */
export interface GlmerPredictOptions {
  /** "link" (default, as lme4) or "response" (μ). */
  readonly type?: "link" | "response";
  /** "full" (with the conditional modes) or "none" (population level). */
  readonly reForm?: "full" | "none";
  /** Predict new grouping levels at the population level instead of failing. */
  readonly allowNewLevels?: boolean;
}

/** Residual types of {@link GeneralizedLinearMixedModel.residuals}. */
export type GlmerResidualType = "deviance" | "pearson" | "response" | "working";

/**
 * The model's methods that `lib/inference/` implements (DESIGN.md,
 * "Layering": models never import inference); `lib/inference/glmerMethods.ts`
 * installs them, which importing `mod.ts` or `advanced.ts` does.
 */
export interface GlmerInferenceMethods {
  /** `m.confint(options)`: lme4's confint for a GLMM (Wald or profile). */
  confint(model: GeneralizedLinearMixedModel, options: ConfintOptions): DataFrame;
}

let glmerInference: GlmerInferenceMethods | undefined;

/**
 * Install the inference methods (called once by `lib/inference/glmerMethods.ts`).
 *
 * @example
 * ```ts ignore
 * registerGlmerInference({ confint });
 * ```
 */
export function registerGlmerInference(methods: GlmerInferenceMethods): void {
  glmerInference = methods;
}

/** A fitted GLMM, as lme4's `glmerMod`. */
export class GeneralizedLinearMixedModel {
  /** The formula as given. */
  readonly formula: string;
  /** The data's name for the summary, if given. */
  readonly dataName: string | undefined;
  /** The model frame. */
  readonly frame: GlmerFrame;
  /** The numerical core. */
  readonly glmm: Glmm;
  /** θ at the optimum, `getME(m, "theta")` order. */
  readonly theta: Float64Array;
  /** The optimizer's record. */
  readonly opt: GlmerOptSummary;
  /** lme4's convergence checks (gradient and Hessian over (θ, β)). */
  readonly convergence: Convergence;
  /** Number of quadrature points (1: Laplace). */
  readonly nAGQ: number;
  readonly #fit: PirlsResult;
  #vcov: Float64Array | undefined;
  #condVar: Float64Array[] | undefined;

  /** Use {@link glmer}. */
  constructor(parts: GlmerParts) {
    this.formula = parts.formula;
    this.dataName = parts.dataName;
    this.frame = parts.frame;
    this.glmm = parts.glmm;
    this.theta = parts.theta;
    this.opt = parts.opt;
    this.convergence = parts.convergence;
    this.nAGQ = parts.nAGQ;
    this.#fit = parts.fit;
  }

  /** Number of observations. */
  get nobs(): number {
    return this.glmm.n;
  }

  /** The family's name and link, e.g. `{ family: "binomial", link: "logit" }`. */
  get family(): { family: string; link: string } {
    const f = this.frame.family;
    return { family: f.family, link: f.link };
  }

  /** θ's names as lme4's getME(m, "theta"). */
  get thetaNames(): readonly string[] {
    return this.glmm.thetaNames;
  }

  /** The fixed effects' names. */
  get fixedNames(): readonly string[] {
    return this.frame.x.names;
  }

  /** Fixed effects β̂. */
  fixef(): Record<string, number> {
    const out: Record<string, number> = {};
    this.frame.x.names.forEach((nm, j) => (out[nm] = this.#fit.beta[j]));
    return out;
  }

  /** β̂ as an array in X's column order. */
  get beta(): Float64Array {
    return this.#fit.beta;
  }

  /** The Laplace approximation of −2 log L at the optimum (lme4's −2 logLik). */
  objective(): number {
    return this.#fit.deviance;
  }

  /** lme4's logLik(m). */
  logLik(): number {
    return -this.#fit.deviance / 2;
  }

  /** Number of parameters: θ and β. */
  get npar(): number {
    return this.theta.length + this.glmm.p;
  }

  /** AIC = −2 logLik + 2 npar. */
  AIC(): number {
    return this.#fit.deviance + 2 * this.npar;
  }

  /** BIC = −2 logLik + log(n) npar. */
  BIC(): number {
    return this.#fit.deviance + Math.log(this.nobs) * this.npar;
  }

  /**
   * −2 logLik, as the summary's "deviance" column (lme4's `deviance(m)` of a
   * GLMM is the sum of squared deviance residuals instead; see
   * {@link GeneralizedLinearMixedModel.devianceResid}).
   */
  deviance(): number {
    return this.#fit.deviance;
  }

  /** lme4's `deviance(m)` for a GLMM: Σ unit deviances (squared deviance residuals). */
  devianceResid(): number {
    return this.#fit.resDev;
  }

  /** Residual degrees of freedom: n − npar. */
  get dfResidual(): number {
    return this.nobs - this.npar;
  }

  /**
   * lme4's vcov(m): from the finite-difference Hessian of the Laplace
   * deviance over (θ, β) (2 H⁻¹, its β block), or from R_X when the Hessian
   * was not computed or is not positive definite. p × p, column-major.
   */
  vcovArray(): Float64Array {
    if (this.#vcov) return this.#vcov;
    const p = this.glmm.p, nth = this.theta.length;
    const h = this.convergence.hessian;
    let v: Float64Array | undefined;
    if (h && h.length === nth + p) {
      const inv = invertSym(h);
      if (inv) {
        v = new Float64Array(p * p);
        for (let i = 0; i < p; i++) {
          for (let j = 0; j < p; j++) {
            v[j * p + i] = inv[nth + i][nth + j] + inv[nth + j][nth + i];
          }
        }
        // positive definite?
        if (!invertSym(toRows(v, p))) v = undefined;
      }
    }
    if (!v) v = this.glmm.unscaledVcov(this.theta, this.#fit);
    return (this.#vcov = v);
  }

  /** vcov as a matrix (rows) with names. */
  vcov(): { names: readonly string[]; matrix: number[][] } {
    return { names: this.fixedNames, matrix: toRows(this.vcovArray(), this.glmm.p) };
  }

  /** Standard errors of β̂. */
  se(): Float64Array {
    const p = this.glmm.p, v = this.vcovArray();
    return Float64Array.from({ length: p }, (_, j) => Math.sqrt(v[j * p + j]));
  }

  /** The z table: term, estimate, stdError, statistic (z), pValue. */
  coefRows(): {
    term: string;
    estimate: number;
    stdError: number;
    statistic: number;
    pValue: number;
  }[] {
    const se = this.se();
    return this.fixedNames.map((term, j) => {
      const est = this.#fit.beta[j], z = est / se[j];
      return {
        term,
        estimate: est,
        stdError: se[j],
        statistic: z,
        pValue: 2 * pnorm(-Math.abs(z)),
      };
    });
  }

  /** lme4's coef(summary(m)): term, estimate, stdError, statistic, pValue. */
  coefTable(): DataFrame {
    const rows = this.coefRows();
    return dataFrame({
      term: rows.map((r) => r.term),
      estimate: rows.map((r) => r.estimate),
      stdError: rows.map((r) => r.stdError),
      statistic: rows.map((r) => r.statistic),
      pValue: rows.map((r) => r.pValue),
    });
  }

  /** Random-effects covariance per term: T Tᵀ (σ = 1 for these families). */
  varCorrTerms(): { grp: string; names: readonly string[]; cov: number[][] }[] {
    const seen = new Map<string, number>();
    return this.glmm.terms.map((t) => {
      const q = t.q;
      const T = Array.from({ length: q }, () => new Array<number>(q).fill(0));
      let k = t.thetaOffset;
      for (let j = 0; j < q; j++) for (let i = j; i < q; i++) T[i][j] = this.theta[k++];
      const cov = T.map((ri) => T.map((rj) => ri.reduce((s, v, c) => s + v * rj[c], 0)));
      const c = seen.get(t.group) ?? 0;
      seen.set(t.group, c + 1);
      return { grp: c ? `${t.group}.${c}` : t.group, names: t.cnames, cov };
    });
  }

  /** `as.data.frame(VarCorr(m))`: grp, var1, var2, vcov, sdcor. */
  varCorr(): DataFrame {
    const grp: string[] = [], var1: string[] = [], var2: (string | null)[] = [];
    const vc: number[] = [], sdcor: number[] = [];
    for (const t of this.varCorrTerms()) {
      const q = t.names.length;
      for (let i = 0; i < q; i++) {
        grp.push(t.grp), var1.push(t.names[i]), var2.push(null);
        vc.push(t.cov[i][i]), sdcor.push(Math.sqrt(t.cov[i][i]));
      }
      for (let j = 0; j < q; j++) {
        for (let i = j + 1; i < q; i++) {
          grp.push(t.grp), var1.push(t.names[j]), var2.push(t.names[i]);
          vc.push(t.cov[i][j]), sdcor.push(t.cov[i][j] / Math.sqrt(t.cov[i][i] * t.cov[j][j]));
        }
      }
    }
    return dataFrame({ grp, var1, var2, vcov: vc, sdcor });
  }

  /**
   * The conditional modes per grouping factor as plain tables, with their
   * conditional sds (lme4's `ranef(m, condVar = TRUE)`).
   */
  ranefTables(): Record<
    string,
    { levels: readonly string[]; columns: string[]; values: number[][]; condSd: number[][] }
  > {
    const out: Record<
      string,
      { levels: readonly string[]; columns: string[]; values: number[][]; condSd: number[][] }
    > = {};
    const cv = this.#condVar ??= this.glmm.condVar(this.theta, this.#fit);
    this.glmm.terms.forEach((t, k) => {
      const levels = t.term.levels;
      const tab = out[t.group] ??= {
        levels,
        columns: [],
        values: levels.map(() => []),
        condSd: levels.map(() => []),
      };
      const q = t.q;
      for (let c = 0; c < q; c++) {
        tab.columns.push(t.cnames[c]);
        for (let l = 0; l < levels.length; l++) {
          tab.values[l].push(this.#fit.b[t.zOffset + l * q + c]);
          tab.condSd[l].push(Math.sqrt(cv[k][l * q * q + c * q + c]));
        }
      }
    });
    return out;
  }

  /** lme4's ranef(m): per grouping factor, the level column then one column per term. */
  ranef(): Record<string, DataFrame> {
    const out: Record<string, DataFrame> = {};
    for (const [g, tab] of Object.entries(this.ranefTables())) {
      const cols: Record<string, (string | number)[]> = { [g]: [...tab.levels] };
      tab.columns.forEach((c, k) => (cols[c] = tab.values.map((row) => row[k])));
      out[g] = dataFrame(cols);
    }
    return out;
  }

  /**
   * lme4's coef(m): per grouping factor, each level's coefficients (fixed
   * effect plus the level's mode; random-only columns first, then the fixed
   * effects in fixef order).
   */
  coef(): Record<string, DataFrame> {
    const fe = this.fixef();
    const out: Record<string, DataFrame> = {};
    for (const [g, tab] of Object.entries(this.ranefTables())) {
      const columns = [...tab.columns.filter((c) => !(c in fe)), ...Object.keys(fe)];
      const cols: Record<string, (string | number)[]> = { [g]: [...tab.levels] };
      for (const c of columns) {
        const k = tab.columns.indexOf(c);
        cols[c] = tab.levels.map((_, l) => (fe[c] ?? 0) + (k >= 0 ? tab.values[l][k] : 0));
      }
      out[g] = dataFrame(cols);
    }
    return out;
  }

  /** Number of levels per grouping factor. */
  ngrps(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.glmm.terms) out[t.group] = t.nLevels;
    return out;
  }

  /** Whether a variance parameter is (within 1e-4 of) its bound 0. */
  isSingular(tol = 1e-4): boolean {
    if (typeof tol !== "number" || !(tol >= 0)) {
      throw new RangeError(
        `isSingular: tol must be a non-negative number, got ${
          typeof tol === "number" ? tol : `a ${typeof tol} (${String(tol)})`
        }`,
      );
    }
    return [...this.glmm.lower].some((lb, k) => lb === 0 && this.theta[k] < tol);
  }

  /**
   * lme4's `getME(m, "devfun")`: the deviance (−2 log L, Laplace for
   * nAGQ = 1, adaptive Gauss-Hermite quadrature for nAGQ > 1) as a
   * function of `c(θ, β)`, as profiling uses it. As lme4
   * rebuilds it, every evaluation starts PIRLS from the linear predictor
   * of a joint (u, β) PIRLS at θ̂ (`mkGlmerDevfun`'s nAGQ = 0 step, then
   * `updateGlmerDevfun`'s `lp0`). Throws where PIRLS fails, as lme4's does.
   *
   * @example
   * ```ts ignore
   * const dev = m.devfun();
   * dev([...m.theta, ...m.beta]); // ≈ m.deviance()
   * ```
   */
  devfun(): (par: ArrayLike<number>) => number {
    if (this.nAGQ === 0) {
      throw new RangeError(
        "devfun: a model fitted with nAGQ = 0 has no deviance function of (theta, beta); refit with nAGQ = 1",
      );
    }
    const glmm = this.glmm, nth = this.theta.length, p = glmm.p;
    const offset = this.frame.offset;
    const lp0 = glmm.pirls(this.theta).eta.map((e, i) => e - offset[i]);
    // nAGQ > 1: lme4's updateGlmerDevfun(…, nAGQ) gives glmerAGQ's deviance
    const agq = this.nAGQ > 1 ? agqDevfun(glmm, lp0, this.nAGQ) : undefined;
    return (par) => {
      if (par.length !== nth + p) {
        throw new RangeError(
          `devfun: expected ${nth + p} parameters (theta then beta), got ${par.length}`,
        );
      }
      for (let k = 0; k < nth + p; k++) {
        const v = par[k];
        if (typeof v !== "number" || !Number.isFinite(v)) {
          const what = k < nth ? `theta ${k + 1}` : `beta ${k - nth + 1}`;
          throw new RangeError(
            `devfun: parameter ${k + 1} (${what}) is ${String(v)}, not a finite number`,
          );
        }
      }
      if (agq) return agq(par);
      const th = Float64Array.from({ length: nth }, (_, k) => par[k]);
      const be = Float64Array.from({ length: p }, (_, j) => par[nth + j]);
      return glmm.pirls(th, be, lp0).deviance;
    };
  }

  /**
   * lme4's `confint(m)`: profile intervals by default, or `{ method: "Wald" }`
   * (null rows for the variance parameters); see `confint` in `mod.ts`.
   *
   * @example
   * ```ts ignore
   * m.confint({ method: "Wald" }); // DataFrame: parameter, 2.5 %, 97.5 %
   * ```
   */
  confint(options: ConfintOptions = {}): DataFrame {
    if (!glmerInference) {
      throw new Error(
        "m.confint() needs the inference methods, which this program did not import: " +
          'import the library from its "mod.ts" (or "advanced.ts"), ' +
          'or import "lib/inference/glmerMethods.ts" when using lib/ files directly',
      );
    }
    return glmerInference.confint(this, options);
  }

  /** The convergence messages (lme4's optinfo$conv$lme4$messages). */
  get messages(): readonly string[] {
    return this.convergence.messages;
  }

  /** Fitted values on the response scale (μ; proportions for binomial). */
  fitted(): Float64Array {
    return Float64Array.from(this.#fit.mu);
  }

  /** The linear predictor η (with offset). */
  linearPredictor(): Float64Array {
    return Float64Array.from(this.#fit.eta);
  }

  /** Residuals: "deviance" (default, as lme4), "pearson", "response" or "working". */
  residuals(type: GlmerResidualType = "deviance"): Float64Array {
    const { y, weights, family } = this.frame;
    const { mu, eta } = this.#fit;
    const n = this.nobs;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = y[i] - mu[i];
      switch (type) {
        case "deviance": {
          const d = family.devResid(y[i], mu[i], weights[i]);
          out[i] = Math.sign(r) * Math.sqrt(Math.max(d, 0));
          break;
        }
        case "pearson":
          out[i] = (r * Math.sqrt(weights[i])) / Math.sqrt(family.variance(mu[i]));
          break;
        case "response":
          out[i] = r;
          break;
        case "working":
          out[i] = r / family.muEta(eta[i]);
          break;
        default:
          throw new RangeError(
            `residuals: type must be "deviance", "pearson", "response" or "working", got ${
              describeValue(type)
            }`,
          );
      }
    }
    return out;
  }

  /**
   * Predictions as lme4's `predict(m, newdata, type, re.form)`: on the link
   * scale by default, `type: "response"` for μ.
   */
  predict(newdata?: DataLike, options: GlmerPredictOptions = {}): Float64Array {
    checkOptions("predict", options, ["type", "reForm", "allowNewLevels"]);
    const type = options.type ?? "link";
    if (type !== "link" && type !== "response") {
      throw new RangeError(
        `predict: 'type' must be "link" or "response", got ${describeValue(type)}`,
      );
    }
    const reForm = options.reForm ?? "full";
    if (reForm !== "full" && reForm !== "none") {
      throw new RangeError(
        `predict: 'reForm' must be "full" or "none", got ${describeValue(reForm)}`,
      );
    }
    const f = this.frame.family;
    const beta = this.#fit.beta;
    let eta: Float64Array;
    if (newdata === undefined) {
      eta = reForm === "full" ? Float64Array.from(this.#fit.eta) : this.glmm.xb(beta);
    } else {
      eta = this.#predictNew(newdata, reForm, options.allowNewLevels ?? false);
    }
    return type === "link" ? eta : eta.map((e) => f.linkinv(e));
  }

  #predictNew(newdata: DataLike, reForm: "full" | "none", allowNew: boolean): Float64Array {
    const mf = this.frame.mf;
    if (this.frame.hasOffset && !mf.offset) {
      throw new Error(
        "predict: this model has an offset option; write it in the formula as offset(column) " +
          "to have it evaluated on new data",
      );
    }
    const { cols, n, frame } = newDataColumns(mf, mf.formula.fixed, mf.plan, newdata);
    const x = buildFixed(mf.plan, cols, n);
    const out = offsetValues(mf.formula.fixed, cols, n) ?? new Float64Array(n);
    const names = this.frame.x.names;
    mf.plan.names.forEach((nm, j) => {
      const k = names.indexOf(nm);
      if (k < 0) return;
      for (let i = 0; i < n; i++) out[i] += x[j * n + i] * this.#fit.beta[k];
    });
    if (reForm === "none") return out;
    const b = this.#fit.b;
    addRandomEffects(
      mf,
      frame,
      newdata,
      n,
      this.glmm.terms.map((t) => ({
        ...t,
        levels: t.term.levels,
        b: b.subarray(t.zOffset, t.zOffset + t.size),
      })),
      out,
      allowNew,
    );
    return out;
  }

  /** lme4's summary (print with `String(m.summary())`). */
  summary(): GlmerSummary {
    return new GlmerSummary(this);
  }

  /** Notebook display: the summary as lme4's text and as HTML tables. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.summary()[JUPYTER_DISPLAY]();
  }

  /** The summary text. */
  toString(): string {
    return this.summary().toString();
  }
}

function toRows(v: Float64Array, p: number): number[][] {
  return Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => v[j * p + i]));
}

/** Inverse of a symmetric positive definite matrix (null if not PD). */
function invertSym(a: number[][]): number[][] | null {
  const n = a.length;
  const l = choleskyRows(a);
  if (!l) return null;
  // inverse of L, then L⁻ᵀ L⁻¹
  const li = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    li[j][j] = 1 / l[j][j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i][k] * li[k][j];
      li[i][j] = s / l[i][i];
    }
  }
  const out = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k][i] * li[k][j];
      out[i][j] = out[j][i] = s;
    }
  }
  return out;
}
