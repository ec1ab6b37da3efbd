/**
 * Fitting a generalized linear mixed model as lme4's `glmer` (Laplace
 * approximation, nAGQ = 1, or adaptive Gauss-Hermite quadrature, nAGQ > 1):
 * `glFormula` (model frame, response as the family accepts it) → {@link Glmm}
 * (PIRLS and the Laplace deviance; agq.ts for the AGQ deviance) → lme4's two
 * optimization stages (stage 1: θ with β from PIRLS, nAGQ = 0; stage 2:
 * (θ, β) from stage 1's optimum, with the Laplace or AGQ deviance) → lme4's
 * boundary check and its finite-difference gradient and Hessian
 * (convergence checks and vcov).
 * @module
 */
import type { DataLike } from "../../data/frame.ts";
import { type DataOptions, type ModelFrame, modelFrame } from "../../design/modelframe.ts";
import type { FixedDesign } from "../../design/reterm.ts";
import { rowVector, type RowVectorSpec } from "../../design/rowvector.ts";
import { dropAliasedColumns } from "../../design/rank.ts";
import { bobyqa } from "../../optim/mod.ts";
import { checkOptions, describeValue } from "../../data/options.ts";
import { checkConvergence, type Convergence } from "../lmer/convergence.ts";
import type { LmerDevfun, OptSummary } from "../lmer/fit.ts";
import { type FamilySpec, type GlmFamily, glmFamily } from "./family.ts";
import { Glmm, type GlmmData, type PirlsResult } from "./pirls.ts";
import { nelderMead } from "../../optim/nelder_mead.ts";
import { GeneralizedLinearMixedModel } from "./model.ts";
import { agqDeviance, checkAgqTerms, ghRule, MAX_NAGQ } from "./agq.ts";

/** Optimizer and check settings, as lme4's `glmerControl()`. */
export interface GlmerControl {
  /** Compute the finite-difference gradient and Hessian at the optimum (default true). */
  readonly calcDerivs?: boolean;
  /** Singularity tolerance of the boundary check (lme4: 1e-4). */
  readonly boundaryTol?: number;
  /** Maximal number of deviance evaluations in each stage (default 1e5). */
  readonly maxeval?: number;
}

/** Options of {@link glmer}. */
export interface GlmerOptions extends DataOptions {
  /**
   * The family: `"binomial"` (logit link), `"poisson"` (log link), or
   * `{ family: "binomial", link: "probit" | "cloglog" }`.
   */
  readonly family: FamilySpec;
  /**
   * Points of adaptive Gauss-Hermite quadrature per random effect, an
   * integer from 0 to 25: 1 the Laplace approximation (the default), 0
   * lme4's faster stage 1 only (β from PIRLS), > 1 AGQ (only for a single
   * scalar random-effects term such as `(1 | herd)`).
   */
  readonly nAGQ?: number;
  /** Prior weights: a numeric column's name or one number per row (trials for a proportion). */
  readonly weights?: RowVectorSpec;
  /** A known offset of the linear predictor: a column's name or one number per row. */
  readonly offset?: RowVectorSpec;
  /** Optimizer settings. */
  readonly control?: GlmerControl;
  /** Starting values: θ, or `{ theta, fixef }`. */
  readonly start?: ArrayLike<number> | {
    readonly theta?: ArrayLike<number>;
    readonly fixef?: ArrayLike<number>;
  };
  /** Name of the data to print in the summary ("Data: cbpp"). */
  readonly dataName?: string;
}

const GLMER_OPTION_NAMES = [
  "family",
  "nAGQ",
  "weights",
  "offset",
  "control",
  "start",
  "dataName",
  "factors",
];

/** The model frame of a GLMM (lme4's `glFormula`). */
export interface GlmerFrame {
  /** The model frame (the response as parsed: successes for `cbind`). */
  readonly mf: ModelFrame;
  /** X after dropping rank-deficient columns. */
  readonly x: FixedDesign;
  /** The family. */
  readonly family: GlmFamily;
  /** The response (proportions for binomial). */
  readonly y: Float64Array;
  /** Binomial sizes (1 unless `cbind`). */
  readonly size: Float64Array;
  /** Prior weights (times the sizes for `cbind`). */
  readonly weights: Float64Array;
  /** The prior weights as given (1 without). */
  readonly priorWeights: Float64Array;
  /** The offset (zeros without one). */
  readonly offset: Float64Array;
  /** Whether an offset was given. */
  readonly hasOffset: boolean;
  /** Messages of the checks. */
  readonly messages: readonly string[];
  /** The weights' column name (the summary's "Weights:" line), if given by name. */
  readonly weightsLabel?: string;
  /** The offset option's column name (the summary's "Offset:" line), if given by name. */
  readonly offsetLabel?: string;
}

/** Split `a, b` at its top-level commas (each part trimmed). */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) (out.push(s.slice(start, i).trim()), start = i + 1);
  }
  out.push(s.slice(start).trim());
  return out;
}

/**
 * lme4's `glFormula`: the model frame, with the response as the family
 * accepts it (binomial: 0/1, logical, a factor whose first level is failure,
 * `cbind(successes, failures)`, or proportions with the trials as weights;
 * Poisson: non-negative counts).
 *
 * @example
 * ```ts ignore
 * const fr = glFormula("cbind(incidence, size - incidence) ~ period + (1 | herd)",
 *   dataset("cbpp"), { family: "binomial" });
 * fr.size; // the herd sizes
 * ```
 */
export function glFormula(formula: string, data: DataLike, options: GlmerOptions): GlmerFrame {
  const family = glmFamily(options.family);
  const tilde = formula.indexOf("~");
  if (tilde < 0) throw new Error(`glmer: the formula '${formula}' has no '~'`);
  const lhs = formula.slice(0, tilde).trim(), rhs = formula.slice(tilde + 1).trim();
  const dopts: DataOptions = options.factors ? { factors: options.factors } : {};
  const cb = /^cbind\s*\(([\s\S]*)\)$/.exec(lhs);
  let mf: ModelFrame;
  let y: Float64Array, size: Float64Array;
  let nonInteger = false; // cbind() counts that are not whole numbers
  const n0 = () => mf.y.length;
  if (cb) {
    if (family.family !== "binomial") {
      throw new Error(`glmer: a two-column response cbind(...) needs the binomial family`);
    }
    const args = splitArgs(cb[1]);
    if (args.length !== 2) {
      throw new Error(
        `glmer: cbind() in the response needs two columns (successes, failures), got ${args.length}`,
      );
    }
    mf = modelFrame(`${args[0]} ~ ${rhs}`, data, dopts);
    const second = modelFrame(`${args[1]} ~ 1`, data, dopts);
    const byRow = new Map<number, number>();
    second.rows.forEach((r, i) => byRow.set(r, second.y[i]));
    const n = n0();
    y = new Float64Array(n), size = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = mf.y[i], f = byRow.get(mf.rows[i]);
      if (f === undefined) {
        throw new RangeError(
          `glmer: the failures '${args[1]}' are missing in row ${mf.rows[i] + 1}`,
        );
      }
      if (s < 0 || f < 0) {
        throw new RangeError(
          `glmer: negative counts in cbind(${args.join(", ")}) in row ${
            mf.rows[i] + 1
          } (${s}, ${f})`,
        );
      }
      size[i] = s + f;
      y[i] = size[i] === 0 ? 0 : s / size[i];
      if (Math.abs(s - Math.round(s)) > 1e-3 || Math.abs(f - Math.round(f)) > 1e-3) {
        nonInteger = true;
      }
    }
  } else {
    // a factor (first level = failure) or logical response: its codes
    const fromCodes = (m: ModelFrame) => {
      const codes = m.y;
      const logical = codes.some((v) => v === 0);
      return codes.map((v) => (logical ? v : v > 1 ? 1 : 0));
    };
    const asNumeric = `as.numeric(${lhs}) ~ ${rhs}`;
    let direct: ModelFrame | undefined;
    if (family.family === "binomial" && factorColumn(lhs, data)) {
      // a factor column would fail the first model frame below as not
      // numeric: build only the second one (the data converted once)
      try {
        direct = modelFrame(asNumeric, data, dopts);
      } catch {
        direct = undefined; // the errors of the path below
      }
    }
    if (direct) {
      mf = direct;
      y = fromCodes(mf);
    } else {
      try {
        mf = modelFrame(formula, data, dopts);
        y = Float64Array.from(mf.y);
      } catch (e) {
        if (
          family.family !== "binomial" || !(e instanceof Error) ||
          !/is not numeric/.test(e.message)
        ) throw e;
        mf = modelFrame(asNumeric, data, dopts);
        y = fromCodes(mf);
      }
    }
    size = new Float64Array(y.length).fill(1);
    if (family.family === "binomial") {
      const bad = y.findIndex((v) => v < 0 || v > 1);
      if (bad >= 0) {
        throw new RangeError(
          `glmer: y values must be 0 <= y <= 1 for the binomial family (row ${
            mf.rows[bad] + 1
          } has ${y[bad]}); use cbind(successes, failures) for counts`,
        );
      }
    } else {
      const bad = y.findIndex((v) => v < 0);
      if (bad >= 0) {
        throw new RangeError(
          `glmer: negative values not allowed for the 'Poisson' family (row ${
            mf.rows[bad] + 1
          } has ${y[bad]})`,
        );
      }
    }
  }
  const n = n0();
  const prior = rowVector(options.weights, "weights", mf) ?? new Float64Array(n).fill(1);
  if (prior.some((w) => !(w >= 0) || !Number.isFinite(w))) {
    throw new RangeError("glmer: weights must be non-negative and finite");
  }
  const off = rowVector(options.offset, "offset", mf);
  const offset = new Float64Array(n);
  if (mf.offset) offset.set(mf.offset);
  if (off) { for (let i = 0; i < n; i++) offset[i] += off[i]; }
  const weights = prior.map((w, i) => w * (cb ? size[i] : 1));
  if (family.family === "binomial" && cb) {
    for (let i = 0; i < n; i++) if (size[i] === 0) y[i] = 0;
  }
  if (mf.random.length === 0) {
    throw new Error(
      `no random effects terms specified in formula '${formula}': add a term like (1 | g)`,
    );
  }
  for (const t of mf.random) {
    if (t.levels.length < 2) {
      throw new RangeError(
        `grouping factor '${t.group}' has ${t.levels.length} level: grouping factors must have > 1 sampled level`,
      );
    }
  }
  // lme4's check.nobs.vs.nRE as glFormula applies it (allow.n: more random
  // effects than observations; a GLMM has no residual variance to identify)
  for (const t of mf.random) {
    const nre = t.levels.length * t.cnames.length;
    if (n < nre) {
      throw new RangeError(
        `number of observations (=${n}) < number of random effects (=${nre}) for term ${t.spec.text}; ` +
          "the random-effects parameters are probably unidentifiable",
      );
    }
  }
  if (new Set(y).size < 2) throw new RangeError("glmer: the response is constant");
  const messages: string[] = [...mf.plan.warnings];
  // R's warnings about non-integer data (binomial()$initialize; dpois in the
  // Poisson aic), once each. R's fits go on (the binomial aic rounds the
  // counts, as here); for Poisson R's dpois then gives a log-likelihood of
  // −Inf, where this library keeps the continuous extension (finite)
  if (family.family === "binomial") {
    if (
      cb
        ? nonInteger
        : y.some((v, i) => Math.abs(weights[i] * v - Math.round(weights[i] * v)) > 1e-3)
    ) {
      messages.push(`non-integer ${cb ? "counts" : "#successes"} in a binomial glm!`);
    }
  } else if (family.family === "poisson") {
    const bad = y.find((v) => !Number.isInteger(v));
    if (bad !== undefined) messages.push(`non-integer x = ${bad.toFixed(6)}`);
  }
  if (mf.nDropped) {
    messages.push(
      `${mf.nDropped} observation${mf.nDropped > 1 ? "s" : ""} deleted due to missingness`,
    );
  }
  const { x, message: rankMsg } = dropAliasedColumns(mf.x);
  if (rankMsg) messages.push(rankMsg);
  return {
    mf,
    x,
    family,
    y,
    size,
    weights,
    priorWeights: prior,
    offset,
    hasOffset: off !== undefined || mf.offset !== undefined,
    messages,
    ...(options.weights !== undefined
      ? { weightsLabel: typeof options.weights === "string" ? options.weights : "weights" }
      : {}),
    ...(options.offset !== undefined
      ? { offsetLabel: typeof options.offset === "string" ? options.offset : "offset" }
      : {}),
  };
}

/**
 * Whether `name` is a column of `data` that the model frame reads as a
 * non-logical factor (a polars Categorical or String column, or strings),
 * so that a response `name` is not numeric.
 */
function factorColumn(name: string, data: DataLike): boolean {
  if (!/^[A-Za-z.][A-Za-z0-9._]*$/.test(name)) return false;
  const d = data as {
    getColumn?: (n: string) => { dtype: unknown };
    columns?: unknown;
  };
  if (typeof d.getColumn === "function" && Array.isArray(d.columns)) {
    if (!d.columns.includes(name)) return false;
    const dt = d.getColumn(name).dtype as { variant?: unknown } | null;
    const v = dt !== null && typeof dt === "object" ? dt.variant : undefined;
    return v === "Categorical" || v === "Utf8" || v === "String";
  }
  if (Array.isArray(data)) return false;
  const col = (data as Record<string, unknown>)[name];
  if (!Array.isArray(col)) return false;
  const first = col.find((v) => v !== null && v !== undefined);
  return typeof first === "string" && col.every((v) => v === null || typeof v === "string");
}

/** The optimizer's record of one glmer fit. */
export interface GlmerOptSummary {
  /** Optimizers of the two stages. */
  readonly optimizer: readonly string[];
  /** θ and β at the optimum (stage 2), or θ (nAGQ = 0). */
  readonly par: Float64Array;
  /** The optimized deviance at the optimum (Laplace, or AGQ for nAGQ > 1). */
  readonly fmin: number;
  /** Evaluations of each stage. */
  readonly feval: readonly number[];
  /** Milliseconds spent. */
  readonly elapsedMs: number;
  /** θ at the end of stage 1. */
  readonly stage1Theta?: Float64Array;
  /**
   * The linear predictor (without offset) every stage-2 evaluation starts
   * PIRLS from (lme4's `lp0`); `glmm.pirls(θ, β, lp0)` is lme4's stage-2
   * deviance function.
   */
  readonly lp0?: Float64Array;
}

function checkGlmerOptions(options: GlmerOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `glmer: options with a 'family' are required, e.g. { family: "binomial" }`,
    );
  }
  checkOptions("glmer", options, GLMER_OPTION_NAMES);
  if (options.family === undefined) {
    throw new TypeError(
      `glmer: the 'family' option is required ("binomial", "poisson" or { family, link })`,
    );
  }
  // lme4 states 0L <= nAGQ, nAGQ <= 25L (mkGlmerDevfun); it truncates a
  // fraction silently, which we refuse
  const nAGQ = options.nAGQ ?? 1;
  if (typeof nAGQ !== "number" || !Number.isInteger(nAGQ) || nAGQ < 0 || nAGQ > MAX_NAGQ) {
    const lme4 = typeof nAGQ !== "number" || !Number.isInteger(nAGQ)
      ? ""
      : nAGQ < 0
      ? ": 0L <= nAGQ is not TRUE"
      : ": nAGQ <= 25L is not TRUE";
    throw new RangeError(
      `glmer: 'nAGQ' must be an integer from 0 to ${MAX_NAGQ}, got ${describeValue(nAGQ)}${lme4}`,
    );
  }
}

/** One `start` vector checked: numbers, finite, as many as expected. */
function startVector(
  name: "theta" | "fixef",
  v: unknown,
  names: readonly string[],
): Float64Array {
  const a = typeof v === "number" ? [v] : v;
  if (
    a === null || typeof a !== "object" || typeof (a as { length?: unknown }).length !== "number"
  ) {
    throw new TypeError(
      `glmer: start ${name} must be a number or an array of numbers, got ${describeValue(v)}`,
    );
  }
  const arr = a as ArrayLike<unknown>;
  if (arr.length !== names.length) {
    // lme4's messages
    throw new RangeError(`incorrect number of ${name} components (!=${names.length})`);
  }
  const out = new Float64Array(arr.length);
  for (let k = 0; k < arr.length; k++) {
    const x = arr[k];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new RangeError(
        `glmer: start ${name} ${names[k]} must be a finite number, got ${describeValue(x)}`,
      );
    }
    out[k] = x;
  }
  return out;
}

/**
 * The `start` option as lme4 reads it: a number or numeric vector is θ, an
 * object may hold `theta` and `fixef`; every value finite and θ within its
 * bounds (lme4: "Starting values violate bounds").
 */
function glmerStart(
  st: unknown,
  glmm: Glmm,
  fixefNames: readonly string[],
): { theta?: Float64Array; fixef?: Float64Array } {
  if (st === undefined) return {};
  const thetaNames = glmm.thetaNames;
  let theta: Float64Array | undefined, fixef: Float64Array | undefined;
  if (typeof st === "number" || (st !== null && typeof st === "object" && "length" in st)) {
    theta = startVector("theta", st, thetaNames);
  } else if (st !== null && typeof st === "object" && !Array.isArray(st)) {
    checkOptions("glmer: start", st, ["theta", "fixef"]);
    const s = st as { theta?: unknown; fixef?: unknown };
    if (s.theta !== undefined) theta = startVector("theta", s.theta, thetaNames);
    if (s.fixef !== undefined) fixef = startVector("fixef", s.fixef, fixefNames);
  } else {
    throw new TypeError(
      `glmer: 'start' must be θ (a number or an array of numbers) or { theta, fixef }, got ${
        describeValue(st)
      }`,
    );
  }
  theta?.forEach((v, k) => {
    if (v < glmm.lower[k]) {
      throw new RangeError(
        `glmer: start theta ${thetaNames[k]} must be >= ${glmm.lower[k]}, got ${v} ` +
          `(lme4: Starting values violate bounds)`,
      );
    }
  });
  return { theta, fixef };
}

/**
 * Fit a generalized linear mixed-effects model as lme4's
 * `glmer(formula, data, family)`: the Laplace approximation of the
 * deviance, PIRLS for the conditional modes, lme4's two optimization stages,
 * lme4's Hessian-based standard errors.
 *
 * @example
 * ```ts ignore
 * import { dataset, glmer } from "../../../mod.ts";
 * const m = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
 *   dataset("cbpp"), { family: "binomial" });
 * console.log(String(m.summary()));
 * ```
 */
export function glmer(
  formula: string,
  data: DataLike,
  options: GlmerOptions,
): GeneralizedLinearMixedModel {
  checkGlmerOptions(options);
  const t0 = performance.now();
  const frame = glFormula(formula, data, options);
  const nAGQ = options.nAGQ ?? 1;
  const data0: GlmmData = {
    x: frame.x,
    y: frame.y,
    size: frame.size,
    weights: frame.weights,
    offset: frame.offset,
    terms: frame.mf.random,
    family: frame.family,
  };
  const glmm = new Glmm(data0);
  // lme4 checks the terms when stage 2 starts; nothing of stage 1 is kept
  // when they fail, so check before it
  if (nAGQ > 1) checkAgqTerms(glmm.terms);
  const control = options.control ?? {};
  const maxeval = control.maxeval ?? 1e5;
  const nth = glmm.thetaLength, p = glmm.p;
  // start values
  const { theta: thetaGiven, fixef: fixefStart } = glmerStart(options.start, glmm, frame.x.names);
  const thetaStart: Float64Array = thetaGiven ?? Float64Array.from(glmm.thetaStart);
  // lme4's mkGlmerDevfun: one PIRLS (u and β) at the initial θ from R's
  // mustart; its linear predictor is where every stage-1 evaluation starts
  const offset = frame.offset;
  const lpOf = (fit: PirlsResult) => fit.eta.map((e, i) => e - offset[i]);
  const lp0 = lpOf(glmm.pirls(glmm.thetaStart));
  // Stage 1: θ with β from PIRLS (nAGQ = 0), minqa's bobyqa defaults
  let f1count = 0;
  const dev0 = (theta: ArrayLike<number>) => {
    f1count++;
    try {
      // the same number as pirls(…).deviance, without copying its n-length results
      return glmm.deviance(theta, undefined, lp0);
    } catch {
      return Infinity;
    }
  };
  const rhobeg = Math.min(0.95, 0.2 * Math.max(...thetaStart.map(Math.abs)));
  const s1 = bobyqa(dev0, thetaStart, {
    lower: glmm.lower,
    rhobeg: rhobeg > 0 ? rhobeg : 0.2,
    rhoend: 1e-6 * (rhobeg > 0 ? rhobeg : 0.2),
    ftolAbs: 0,
    xtolRel: 0,
    maxeval,
  });
  let theta1 = Float64Array.from(s1.x);
  let fit1 = glmm.pirls(theta1, undefined, lp0);
  // check.boundary only for nAGQ = 0 fits
  const boundary = (par: Float64Array, f: (x: Float64Array) => number, fval: number) => {
    for (let k = 0; k < nth; k++) {
      const d = par[k] - glmm.lower[k];
      if (d > 0 && d < 1e-5) {
        const t = Float64Array.from(par);
        t[k] = glmm.lower[k];
        if (f(t) < fval) (par[k] = glmm.lower[k], fval = f(par));
      }
    }
    return fval;
  };
  if (nAGQ === 0) {
    boundary(theta1, dev0, fit1.deviance);
    fit1 = glmm.pirls(theta1, undefined, lp0);
    return finish(glmm, frame, formula, options, theta1, fit1, {
      optimizer: ["bobyqa"],
      par: theta1,
      fmin: fit1.deviance,
      feval: [f1count],
      elapsedMs: performance.now() - t0,
    }, nAGQ);
  }
  // Stage 2: (θ, β) from stage 1's optimum; each evaluation starts from
  // stage 1's final linear predictor (lme4's updateGlmerDevfun: lp0)
  const eta1 = lpOf(fit1);
  const beta1 = fixefStart ?? fit1.beta;
  // stage 2's deviance: Laplace (PIRLS's) or lme4's glmerAGQ on PIRLS's state
  const rule = nAGQ > 1 ? ghRule(nAGQ) : undefined;
  const stage2 = (par: Float64Array): { fit: PirlsResult; deviance: number } => {
    const fit = glmm.pirls(par.subarray(0, nth), par.subarray(nth), eta1);
    return { fit, deviance: rule ? agqDeviance(glmm, par[0], fit, rule) : fit.deviance };
  };
  let f2count = 0;
  const dev1 = (par: Float64Array) => {
    f2count++;
    try {
      return rule
        ? stage2(par).deviance
        : glmm.deviance(par.subarray(0, nth), par.subarray(nth), eta1);
    } catch {
      return Infinity;
    }
  };
  const par0 = new Float64Array(nth + p);
  par0.set(theta1), par0.set(beta1, nth);
  const lower2 = new Float64Array(nth + p).fill(-Infinity);
  lower2.set(glmm.lower);
  // lme4's Nelder_Mead initial steps: 0.2 × (0.1 for θ, min(SD(β), 10) for β)
  const xst = new Float64Array(nth + p);
  for (let k = 0; k < nth; k++) xst[k] = 0.2 * 0.1;
  for (let j = 0; j < p; j++) xst[nth + j] = 0.2 * Math.min(Math.sqrt(fit1.unscDiag![j]), 10);
  const nm = nelderMead(dev1, par0, {
    lower: lower2,
    xst,
    xt: xst.map((v) => v * 5e-4),
    ftolAbs: 1e-5,
    ftolRel: 1e-15,
    xtolRel: 1e-7,
    maxeval: maxeval,
  });
  let par = Float64Array.from(nm.x);
  let fmin = nm.fval;
  fmin = boundary(par, dev1, fmin);
  theta1 = par.slice(0, nth);
  const at = stage2(par);
  // the model's deviance (logLik, AIC, BIC) is the optimized one: AGQ's for nAGQ > 1
  const fit: PirlsResult = rule ? { ...at.fit, deviance: at.deviance } : at.fit;
  par = Float64Array.from(par);
  return finish(
    glmm,
    frame,
    formula,
    options,
    theta1,
    fit,
    {
      optimizer: ["bobyqa", "Nelder_Mead"],
      par,
      fmin: fit.deviance,
      feval: [f1count, nm.feval],
      stage1Theta: Float64Array.from(s1.x),
      lp0: eta1,
      elapsedMs: performance.now() - t0,
    },
    nAGQ,
    dev1,
    lower2,
  );
}

function finish(
  glmm: Glmm,
  frame: GlmerFrame,
  formula: string,
  options: GlmerOptions,
  theta: Float64Array,
  fit: PirlsResult,
  opt: GlmerOptSummary,
  nAGQ: number,
  devfun?: (par: Float64Array) => number,
  lower?: Float64Array,
): GeneralizedLinearMixedModel {
  const control = options.control ?? {};
  let conv: Convergence;
  const summaryLike = {
    status: "success",
    message: "",
    lower: lower ?? glmm.lower,
    theta: opt.par,
    fmin: opt.fmin,
    feval: opt.feval.reduce((a, b) => a + b, 0),
  } as unknown as OptSummary;
  if (devfun && (control.calcDerivs ?? true)) {
    const df = Object.assign((t: ArrayLike<number>) => devfun(Float64Array.from(t)), {
      lmm: { n: 0 },
    }) as unknown as LmerDevfun;
    conv = checkConvergence(df, summaryLike, { boundaryTol: control.boundaryTol ?? 1e-4 });
  } else {
    const tol = control.boundaryTol ?? 1e-4;
    const singular = [...glmm.lower].some((lb, k) => lb === 0 && theta[k] < tol);
    conv = {
      code: 0,
      messages: singular ? ["boundary (singular) fit: see help('isSingular')"] : [],
      singular,
      gradient: null,
      hessian: null,
    };
  }
  return new GeneralizedLinearMixedModel({
    formula,
    dataName: options.dataName,
    frame,
    glmm,
    theta,
    fit,
    opt,
    convergence: conv,
    nAGQ,
  });
}
