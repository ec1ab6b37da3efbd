/**
 * Denominator degrees of freedom for the fixed effects of a linear mixed
 * model, one entry point for every method: Satterthwaite (lmerTest),
 * Kenward-Roger (pbkrtest, with its adjusted covariance), or asymptotic
 * (df = ∞, z tests). {@link fixedEffectsDf} gives the coefficient table's
 * numbers, {@link contrastDf} the same for any rows L of linear combinations
 * L β (what emmeans needs), {@link coefTableDf} the table as a DataFrame.
 *
 * Everything expensive (Hessian and Jacobian for Satterthwaite, the adjusted
 * covariance for Kenward-Roger) is computed once per model and cached, so
 * asking for more contrasts costs O(p²) each.
 * @module
 */
import { dataFrame } from "../data/frame.ts";
import type { DataFrame } from "../data/table.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { ptTwoSided } from "../stats/distributions.ts";
import { printCoefmat } from "../display/rformat.ts";
import { kenwardRogerParts, krDdf } from "./kenwardRoger.ts";
import { satterthwaiteDf, satterthwaiteParts } from "./satterthwaite.ts";
import type { DdfMethod } from "../models/lmer/extensions.ts";

export type { DdfMethod } from "../models/lmer/extensions.ts";
export { ddfTitle, lmerTestTitle } from "../models/lmer/summary.ts";

/** Methods for contrasts and marginal means (emmeans' `lmer.df`). */
export type DfMethod = DdfMethod | "asymptotic";

const METHODS: readonly DfMethod[] = ["satterthwaite", "kenward-roger", "asymptotic"];

/** Check a method name, accepting R's spellings in any case ("Kenward-Roger", "Satterthwaite"). */
export function checkDfMethod(method: string): DfMethod {
  const m = method.toLowerCase() as DfMethod;
  if (!METHODS.includes(m)) {
    throw new RangeError(
      `unknown df method '${method}': use "satterthwaite", "kenward-roger" or "asymptotic"`,
    );
  }
  return m;
}

/** The fixed-effects table with denominator df, as lmerTest's `summary(m, ddf = …)$coefficients`. */
export interface FixedEffectsDf {
  /** The method used. */
  readonly method: DfMethod;
  /** Fixed-effect names (kept columns of X). */
  readonly names: readonly string[];
  /** Estimates β̂. */
  readonly estimate: Float64Array;
  /** Standard errors: from the Kenward-Roger adjusted covariance for "kenward-roger", else vcov(β̂). */
  readonly se: Float64Array;
  /** Denominator degrees of freedom (∞ for "asymptotic"). */
  readonly df: Float64Array;
  /** t values estimate / se. */
  readonly statistic: Float64Array;
  /** Two-sided p-values 2 P(T_df > |t|). */
  readonly pValue: Float64Array;
  /** The covariance the SEs come from (Kenward-Roger's Φ_A or vcov(β̂)), p × p column-major. */
  readonly vcov: Float64Array;
}

/** Per-row results of {@link contrastDf}. */
export interface ContrastDf {
  /** The method used. */
  readonly method: DfMethod;
  /** L β̂ per row. */
  readonly estimate: Float64Array;
  /** √(L V Lᵀ) per row, V as in {@link FixedEffectsDf.vcov}. */
  readonly se: Float64Array;
  /** Denominator df per row. */
  readonly df: Float64Array;
}

/** The covariance of β̂ a method uses for standard errors. */
function methodVcov(model: LinearMixedModel, method: DfMethod): Float64Array {
  return method === "kenward-roger"
    ? kenwardRogerParts(model).phiAdj
    : Float64Array.from(model.solution.vcov);
}

/**
 * Estimates, standard errors and denominator df of linear combinations L β
 * (each row of L has one entry per fixed effect, in `fixef()` order). For
 * "kenward-roger" the SE comes from pbkrtest's adjusted covariance and the
 * df from `Lb_ddf` (as emmeans); for "satterthwaite" from vcov(β̂) and
 * lmerTest's `contest1D`; "asymptotic" has df = ∞.
 *
 * @example
 * ```ts ignore
 * const m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy);
 * contrastDf(m, [[1, 5]], "satterthwaite"); // { estimate: [303.74], se: [9.58], df: [17.0] }
 * ```
 */
export function contrastDf(
  model: LinearMixedModel,
  L: readonly ArrayLike<number>[],
  method: DfMethod,
): ContrastDf {
  method = checkDfMethod(method);
  const p = model.frame.x.p;
  const beta = model.solution.beta;
  for (const row of L) {
    if (row.length !== p) {
      throw new RangeError(
        `a row of L has ${row.length} entries; the model has ${p} fixed effects (${
          model.frame.x.names.join(", ")
        })`,
      );
    }
  }
  const V = methodVcov(model, method);
  const k = L.length;
  const estimate = new Float64Array(k), se = new Float64Array(k), df = new Float64Array(k);
  const sat = method === "satterthwaite" ? satterthwaiteParts(model) : null;
  const kr = method === "kenward-roger" ? kenwardRogerParts(model) : null;
  L.forEach((l, r) => {
    let est = 0, v = 0;
    for (let j = 0; j < p; j++) {
      est += l[j] * beta[j];
      let t = 0;
      for (let i = 0; i < p; i++) t += l[i] * V[j * p + i];
      v += t * l[j];
    }
    estimate[r] = est;
    se[r] = Math.sqrt(v);
    df[r] = sat ? satterthwaiteDf(sat, l) : kr ? krDdf(kr, [l]) : Infinity;
  });
  return { method, estimate, se, df };
}

/**
 * The fixed-effects table with denominator df and p-values: lmerTest's
 * `summary(m, ddf = "Satterthwaite" | "Kenward-Roger")$coefficients`
 * (Kenward-Roger standard errors come from the adjusted covariance, as
 * there).
 *
 * @example
 * ```ts ignore
 * const t = fixedEffectsDf(lmer("Reaction ~ Days + (Days | Subject)", sleepstudy), "kenward-roger");
 * t.df; // [17, 17]
 * ```
 */
export function fixedEffectsDf(model: LinearMixedModel, method: DfMethod): FixedEffectsDf {
  const p = model.frame.x.p;
  const L = Array.from({ length: p }, (_, i) => {
    const l = new Float64Array(p);
    l[i] = 1;
    return l;
  });
  const c = contrastDf(model, L, method);
  const statistic = c.estimate.map((e, i) => e / c.se[i]);
  const pValue = statistic.map((t, i) => ptTwoSided(t, c.df[i]));
  return {
    method: c.method,
    names: [...model.frame.x.names],
    estimate: c.estimate,
    se: c.se,
    df: c.df,
    statistic,
    pValue,
    vcov: methodVcov(model, c.method),
  };
}

/** One row of {@link coefRowsDf}. */
export interface CoefRowDf {
  /** Fixed-effect name. */
  term: string;
  /** Estimate. */
  estimate: number;
  /** Standard error (Kenward-Roger: adjusted). */
  stdError: number;
  /** t value. */
  statistic: number;
  /** Denominator df. */
  df: number;
  /** Two-sided p-value. */
  pValue: number;
}

/**
 * The coefficient rows with df and p-value (for printing, e.g. the summary).
 *
 * @example
 * ```ts ignore
 * coefRowsDf(m, "satterthwaite")[1]; // { term: "Days", estimate: 10.47, stdError: 1.55, statistic: 6.77, df: 17.0, pValue: 3.26e-6 }
 * ```
 */
export function coefRowsDf(model: LinearMixedModel, method: DfMethod): CoefRowDf[] {
  const t = fixedEffectsDf(model, method);
  return t.names.map((term, i) => ({
    term,
    estimate: t.estimate[i],
    stdError: t.se[i],
    statistic: t.statistic[i],
    df: t.df[i],
    pValue: t.pValue[i],
  }));
}

/**
 * `m.coefTable({ df })`: term, estimate, stdError, statistic, df, pValue,
 * as lmerTest's summary table (`ddf = "Satterthwaite"` or `"Kenward-Roger"`).
 *
 * @example
 * ```ts ignore
 * coefTableDf(m, { df: "satterthwaite" }); // DataFrame with df and pValue columns
 * ```
 */
export function coefTableDf(model: LinearMixedModel, options: { df: DdfMethod }): DataFrame {
  const rows = coefRowsDf(model, options.df);
  return dataFrame({
    term: rows.map((r) => r.term),
    estimate: rows.map((r) => r.estimate),
    stdError: rows.map((r) => r.stdError),
    statistic: rows.map((r) => r.statistic),
    df: rows.map((r) => r.df),
    pValue: rows.map((r) => r.pValue),
  });
}

/**
 * The "Fixed effects:" table of lmerTest's printed summary (R's
 * printCoefmat with digits 4: estimate, standard error and df formatted
 * together, then t value and p-value; stars and their legend only when some
 * p < 0.1, as R).
 *
 * @example
 * ```ts ignore
 * console.log(fixedEffectsText(m, "satterthwaite"));
 * //             Estimate Std. Error      df t value Pr(>|t|)
 * // (Intercept)  251.405      6.825  17.000  36.838  < 2e-16 ***
 * // Days          10.467      1.546  17.000   6.771 3.26e-06 ***
 * // ---
 * // Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
 * ```
 */
export function fixedEffectsText(model: LinearMixedModel, method: DdfMethod): string {
  return formatCoefRowsDf(coefRowsDf(model, method));
}

/**
 * Format coefficient rows with df as lmerTest's summary prints them (see
 * {@link fixedEffectsText}); separate so that R's own numbers can be
 * formatted too.
 *
 * @example
 * ```ts
 * import { formatCoefRowsDf } from "./df.ts";
 * formatCoefRowsDf([{ term: "x", estimate: 1.5, stdError: 0.5, statistic: 3, df: 10, pValue: 0.0133 }]);
 * ```
 */
export function formatCoefRowsDf(rows: readonly CoefRowDf[]): string {
  return printCoefmat(
    rows.map((r) => r.term),
    ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"],
    rows.map((r) => [r.estimate, r.stdError, r.df, r.statistic, r.pValue]),
    {
      digits: 4,
      pColumn: 4,
      csColumns: [0, 1, 2],
      testColumns: [3],
      signifStars: rows.some((r) => r.pValue < 0.1),
    },
  );
}
