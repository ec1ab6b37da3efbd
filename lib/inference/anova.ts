/**
 * Likelihood-ratio tests between nested models, as lme4's
 * `anova(m0, m1, ...)`: REML fits are refitted by maximum likelihood
 * first (lme4 prints "refitting model(s) with ML (instead of REML)"),
 * models are sorted by their number of parameters, and each row is tested
 * against the one before it. An `lm` fit may take part (lme4 allows it),
 * with R's `logLik.lm`. glmer fits are compared among themselves with
 * their Laplace (or quadrature) log-likelihoods, as lme4 does; a glmer fit
 * cannot be compared with lmer or lm fits here (lme4 would put a Gaussian
 * and a binomial or Poisson likelihood in one table).
 * @module
 */
import { alignTable, formatPval, formatReal, roundTo, stars } from "../display/rformat.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";
import { dataFrame } from "../data/frame.ts";
import { abbreviateName, checkOptions, describeValue } from "../data/options.ts";
import type { DataFrame } from "../data/table.ts";
import { LinearModel } from "../models/lm.ts";
import { type LmerControl, mkLmerDevfun, mkMerMod, optimizeLmer } from "../models/lmer/fit.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import { pchisqUpper } from "../stats/distributions.ts";

/** A model {@link anova} can compare. */
export type AnovaModel = LinearMixedModel | GeneralizedLinearMixedModel | LinearModel;

/** Options of {@link anovaLRT}. */
export interface AnovaOptions {
  /** Refit REML fits by ML before comparing (lme4's default, true). */
  readonly refit?: boolean;
  /** Optimizer settings for the ML refits. */
  readonly control?: LmerControl;
}

/** One row of the likelihood-ratio table. */
export interface AnovaRow {
  /** The model's name (its key, or its formula). */
  readonly model: string;
  /** Number of parameters (lme4's npar = df of logLik). */
  readonly npar: number;
  /** Akaike's information criterion. */
  readonly AIC: number;
  /** Bayesian information criterion. */
  readonly BIC: number;
  /** Log-likelihood (ML after the refit). */
  readonly logLik: number;
  /** −2 logLik. */
  readonly deviance: number;
  /** 2 max(0, ΔlogLik) against the previous row; null on the first row. */
  readonly Chisq: number | null;
  /** Δnpar against the previous row; null on the first row. */
  readonly Df: number | null;
  /** Upper χ² tail probability; null on the first row or when Df is 0 (R's NA). */
  readonly pValue: number | null;
}

/** Everything lme4's anova prints, plus the models as compared. */
export interface AnovaResult {
  /** The rows, sorted by npar. */
  readonly rows: readonly AnovaRow[];
  /** The models in row order (REML fits replaced by their ML refits). */
  readonly models: readonly AnovaModel[];
  /** lme4's messages ("refitting model(s) with ML (instead of REML)"). */
  readonly messages: readonly string[];
  /** lme4's heading: "Data: …", "Models:", "name: formula" per row. */
  readonly heading: readonly string[];
}

/**
 * The likelihood-ratio comparison with its refits, messages and heading
 * (see {@link anova} for the table alone). Models are given as a record
 * (`{ m0, m1 }`: the keys name the rows, as R's argument names do) or as
 * an array (rows named by formula).
 *
 * @example
 * ```ts ignore
 * const res = anovaLRT({ m0, m1 });
 * console.log(res.messages); // ["refitting model(s) with ML (instead of REML)"]
 * console.log(res.rows[1].pValue);
 * ```
 */
export function anovaLRT(
  models: readonly AnovaModel[] | Readonly<Record<string, AnovaModel>>,
  options: AnovaOptions = {},
): AnovaResult {
  const list = Array.isArray(models)
    ? (models as readonly AnovaModel[])
    : Object.values(models as Record<string, AnovaModel>);
  list.forEach((m, k) => {
    if (!isModel(m)) {
      const which = Array.isArray(models)
        ? `model ${k + 1}`
        : `'${abbreviateName(Object.keys(models)[k])}'`;
      throw new TypeError(
        `anova: ${which} is ${describeValue(m)}, not a fitted lm(), lmer() or glmer() model`,
      );
    }
  });
  const names = Array.isArray(models)
    ? defaultNames(list)
    : Object.keys(models as Record<string, AnovaModel>);
  checkModels(list, names);

  const refit = options.refit ?? true;
  const reml = list.map((m) => m instanceof LinearMixedModel && m.REML);
  const messages: string[] = [];
  let used: AnovaModel[] = [...list];
  if (refit) {
    if (reml.some((r) => r)) messages.push("refitting model(s) with ML (instead of REML)");
    used = list.map((m, k) => (reml[k] ? refitML(m as LinearMixedModel, options.control) : m));
  } else if (reml.some((r) => r) && reml.some((r) => !r)) {
    messages.push("some models fit with REML = TRUE, some not");
  }

  const stats = used.map((m) => ({
    logLik: m.logLik(),
    npar: m instanceof GeneralizedLinearMixedModel ? m.npar : m.df,
    AIC: m.AIC(),
    BIC: m.BIC(),
  }));
  // R's order() is stable: ties keep the order given.
  const order = stats.map((_, k) => k).sort((a, b) => stats[a].npar - stats[b].npar || a - b);
  const rows: AnovaRow[] = order.map((k, r) => {
    const s = stats[k];
    let Chisq: number | null = null, Df: number | null = null, pValue: number | null = null;
    if (r > 0) {
      const prev = stats[order[r - 1]];
      Chisq = 2 * Math.max(0, s.logLik - prev.logLik);
      Df = s.npar - prev.npar;
      pValue = Df === 0 ? null : pchisqUpper(Chisq, Df);
    }
    return {
      model: names[k],
      npar: s.npar,
      AIC: s.AIC,
      BIC: s.BIC,
      logLik: s.logLik,
      deviance: -2 * s.logLik,
      Chisq,
      Df,
      pValue,
    };
  });
  const first = list[0];
  const dataName = first instanceof LinearModel ? undefined : first.dataName;
  const heading = [
    `Data: ${dataName ?? "data"}`,
    "Models:",
    ...order.map((k) => `${names[k]}: ${list[k].formula}`),
  ];
  return { rows, models: order.map((k) => used[k]), messages, heading };
}

/**
 * Likelihood-ratio tests between models as lme4's `anova(m0, m1, ...)`:
 * a DataFrame with columns model, npar, AIC, BIC, logLik, deviance, Chisq,
 * Df, pValue, one row per model sorted by npar, the first row's Chisq, Df
 * and pValue null. REML fits are refitted by ML first, as lme4 does. Pass
 * the models as arguments (rows named by formula) or as one record
 * `{ m0, m1 }` (rows named by key). Models fitted to different
 * observations are an error.
 *
 * @example
 * ```ts ignore
 * import { anova, lmer } from "../../mod.ts";
 * const m0 = lmer("Reaction ~ Days + (1 | Subject)", sleepstudy);
 * const m1 = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy);
 * anova({ m0, m1 }); // Chisq 42.139 on 2 Df, pValue 7.07e-10
 * ```
 */
export function anova(
  ...models: AnovaModel[] | [Readonly<Record<string, AnovaModel>>, AnovaOptions?]
): DataFrame {
  const [head, opts] = models;
  if (isModel(head)) {
    models.forEach((m, k) => {
      if (!isModel(m)) {
        throw new TypeError(
          `anova: argument ${k + 1} is ${
            describeValue(m)
          }, not a fitted lm(), lmer() or glmer() model` +
            " (give the models as arguments, anova(m0, m1), or as one record, anova({ m0, m1 }))",
        );
      }
    });
  } else if (head === null || typeof head !== "object" || Array.isArray(head)) {
    throw new TypeError(
      `anova: expected fitted models, anova(m0, m1), or a record of them, anova({ m0, m1 }); got ${
        describeValue(head)
      }`,
    );
  } else if (models.length > 2) {
    throw new TypeError(
      "anova: give the models either as arguments, anova(m0, m1), or as one record, anova({ m0, m1 })",
    );
  } else if (opts !== undefined) checkOptions("anova", opts, ["refit", "control"]);
  const res = isModel(head)
    ? anovaLRT(models as AnovaModel[])
    : anovaLRT(head as Readonly<Record<string, AnovaModel>>, (opts ?? {}) as AnovaOptions);
  const r = res.rows;
  const df = dataFrame({
    model: r.map((x) => x.model),
    npar: r.map((x) => x.npar),
    AIC: r.map((x) => x.AIC),
    BIC: r.map((x) => x.BIC),
    logLik: r.map((x) => x.logLik),
    deviance: r.map((x) => x.deviance),
    Chisq: r.map((x) => x.Chisq),
    Df: r.map((x) => x.Df),
    pValue: r.map((x) => x.pValue),
  });
  // R's print.anova layout for text/plain; the HTML table stays the data's.
  const bundle = (df as unknown as Record<symbol, () => MimeBundle>)[JUPYTER_DISPLAY]();
  Object.defineProperty(df, JUPYTER_DISPLAY, {
    value: (): MimeBundle => ({ ...bundle, "text/plain": anovaText(res) }),
    configurable: true,
  });
  return df;
}

/**
 * The text R prints for lme4's anova: the refit message, "Data:", the
 * models, then the table as stats' print.anova formats it (5 significant
 * digits per column, Chisq to 4 decimals, p by format.pval with stars).
 */
export function anovaText(res: AnovaResult): string {
  const r = res.rows;
  const col = (f: (x: AnovaRow) => number) => formatReal(r.map(f), 5).map((s) => s.trim());
  const aic = col((x) => x.AIC), bic = col((x) => x.BIC), ll = col((x) => x.logLik);
  const dev = col((x) => x.deviance);
  const chisqIdx = r.map((x, i) => (x.Chisq === null ? -1 : i)).filter((i) => i >= 0);
  const chisq = new Array<string>(r.length).fill("");
  const cf = formatReal(chisqIdx.map((i) => roundTo(r[i].Chisq!, 4)), 5);
  chisqIdx.forEach((i, k) => (chisq[i] = cf[k].trim()));
  const pIdx = r.map((x, i) => (x.pValue === null ? -1 : i)).filter((i) => i >= 0);
  const pv = new Array<string>(r.length).fill("");
  const pf = formatPval(pIdx.map((i) => r[i].pValue!), 4);
  pIdx.forEach((i, k) => (pv[i] = pf[k]));
  const anyStar = pIdx.some((i) => r[i].pValue! < 0.1);
  const st = r.map((x) => (anyStar && x.pValue !== null ? stars(x.pValue) : ""));
  const header = ["", "npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"];
  const rows = r.map((x, i) => [
    x.model,
    String(x.npar),
    aic[i],
    bic[i],
    ll[i],
    dev[i],
    chisq[i],
    x.Df === null ? "" : String(x.Df),
    pv[i],
  ]);
  const sw = Math.max(0, ...st.map((x) => x.length));
  let table = alignTable(
    anyStar ? [...header, ""] : header,
    anyStar ? rows.map((row, i) => [...row, st[i].padEnd(sw)]) : rows,
  );
  if (anyStar) table += "\n---\nSignif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1";
  return [...res.messages, ...res.heading, table].join("\n");
}

function isModel(x: unknown): x is AnovaModel {
  return x instanceof LinearMixedModel || x instanceof LinearModel ||
    x instanceof GeneralizedLinearMixedModel;
}

/** Rows named by formula; R's fallback MODEL1, MODEL2, … when formulas repeat. */
function defaultNames(models: readonly AnovaModel[]): string[] {
  const f = models.map((m) => m.formula);
  return new Set(f).size === f.length ? f : f.map((_, k) => `MODEL${k + 1}`);
}

/**
 * lme4 compares only models fitted to the same data: same number of
 * observations (its own check), and here also the same response values,
 * which catches different subsets, orders and transformed responses.
 */
function checkModels(models: readonly AnovaModel[], names: readonly string[]): void {
  if (models.length < 2) {
    throw new RangeError(
      "anova needs at least two models to compare (lme4's single-model F table is not implemented)",
    );
  }
  models.forEach((m, k) => {
    if (!isModel(m)) {
      throw new TypeError(`anova: '${names[k]}' is not a fitted lm(), lmer() or glmer() model`);
    }
  });
  const glmm = models.map((m) => m instanceof GeneralizedLinearMixedModel);
  if (glmm.some((g) => g) && glmm.some((g) => !g)) {
    const g = names[glmm.indexOf(true)], o = names[glmm.indexOf(false)];
    throw new TypeError(
      `anova: '${g}' is a glmer() fit and '${o}' is not: a glmer() fit can only be compared ` +
        "with other glmer() fits (their log-likelihoods are binomial or Poisson, not Gaussian)",
    );
  }
  // Deliberate difference from lme4 (which prints the table): the
  // quadrature deviance of an nAGQ > 1 fit leaves out the binomial or
  // Poisson normalizing constant that the Laplace one keeps (cbpp: logLik
  // -50.0 with nAGQ = 25, -92.0 with nAGQ = 1 for the same model), so a
  // chi-squared between the two measures that constant, not the models.
  const agq = models.map((m) => (m instanceof GeneralizedLinearMixedModel ? m.nAGQ : 1));
  const kq = agq.findIndex((q) => q > 1), kl = agq.findIndex((q) => q <= 1);
  if (glmm[0] && kq >= 0 && kl >= 0) {
    throw new RangeError(
      `anova: '${names[kq]}' was fitted with nAGQ = ${agq[kq]} and '${names[kl]}' with ` +
        `nAGQ = ${agq[kl]}: their log-likelihoods are not comparable (the quadrature ` +
        "deviance leaves out a constant the Laplace one keeps); refit the models with the same nAGQ",
    );
  }
  if (
    !models.some((m) => m instanceof LinearMixedModel || m instanceof GeneralizedLinearMixedModel)
  ) {
    throw new TypeError(
      "anova: at least one model must be an lmer() fit (R's anova.lm would give F tests instead)",
    );
  }
  const y = models.map(response);
  const n = y.map((v) => v.length);
  if (n.some((v) => v !== n[0])) {
    throw new RangeError(
      `anova: models were not all fitted to the same size of dataset (${
        names.map((nm, k) => `${nm}: ${n[k]}`).join(", ")
      } observations)`,
    );
  }
  for (let k = 1; k < models.length; k++) {
    const i = y[k].findIndex((v, j) => v !== y[0][j]);
    if (i >= 0) {
      throw new RangeError(
        `anova: models must be fitted to the same data: the response of '${names[k]}' differs ` +
          `from that of '${names[0]}' (observation ${i + 1}: ${y[k][i]} vs ${y[0][i]})`,
      );
    }
  }
  // binomial trials (cbind sizes) and prior weights of glmer fits are part of the response
  const w = models.map((m) => (m instanceof GeneralizedLinearMixedModel ? m.frame.weights : null));
  for (let k = 1; k < models.length; k++) {
    const a = w[0], b = w[k];
    const i = a && b ? b.findIndex((v, j) => v !== a[j]) : -1;
    if (a && b && i >= 0) {
      throw new RangeError(
        `anova: models must be fitted to the same data: the binomial sizes or weights of ` +
          `'${names[k]}' differ from those of '${names[0]}' (observation ${i + 1}: ${b[i]} vs ${
            a[i]
          })`,
      );
    }
  }
}

function response(m: AnovaModel): Float64Array {
  if (m instanceof GeneralizedLinearMixedModel) return m.frame.y;
  return m instanceof LinearMixedModel ? m.frame.mf.y : m.modelFrame.y;
}

/**
 * lme4's `refitML`: the same model frame, the ML deviance, optimized from
 * the REML estimate of θ, through lme4's own stages.
 */
function refitML(m: LinearMixedModel, control: LmerControl = {}): LinearMixedModel {
  if (!m.REML) return m;
  const devfun = mkLmerDevfun(m.frame, { REML: false });
  const opt = optimizeLmer(devfun, control, m.theta);
  return mkMerMod(devfun, opt, { formula: m.formula, control, dataName: m.dataName });
}
