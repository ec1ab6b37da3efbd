/**
 * Fitting a linear mixed model in lme4's public stages (R/modular.R):
 * `lFormula` (model frame and checks) → `mkLmerDevfun` (the profiled
 * criterion as a function of θ) → `optimizeLmer` (bounded BOBYQA) →
 * `mkMerMod` (the fitted model with lme4's post-fit checks). `lmer` runs
 * all four. A user can stop at any stage and inspect it.
 * @module
 */
import type { DataLike } from "../../data/frame.ts";
import { type DataOptions, type ModelFrame, modelFrame } from "../../design/modelframe.ts";
import type { FixedDesign } from "../../design/reterm.ts";
import { dropAliasedColumns } from "../../design/rank.ts";
import { bobyqa } from "../../optim/mod.ts";
import type { OptimResult, OptimSettings } from "../../optim/mod.ts";
import { buildLmm, type Lmm } from "./core.ts";
import { checkConvergence, type Convergence } from "./convergence.ts";
import { LinearMixedModel } from "./model.ts";
import { checkNumberOption, checkOptions, describeValue } from "../../data/options.ts";
import { combineOffsets, rowVector, type RowVectorSpec } from "../../design/rowvector.ts";
import { type ProgressSetting, ProgressTracker } from "./progress.ts";
import { newtonMinimize, type NewtonSettings } from "./newton.ts";
import { nativeLapack } from "../../linalg/native.ts";

/** Optimizer and check settings, as lme4's `lmerControl()`. */
export interface LmerControl {
  /** Maximal number of criterion evaluations (nloptwrap's maxeval, 1e5). */
  readonly maxeval?: number;
  /** Absolute tolerance on θ (1e-8 as nloptwrap). */
  readonly xtolAbs?: number;
  /** Absolute tolerance on the criterion (1e-8 as nloptwrap). */
  readonly ftolAbs?: number;
  /**
   * Compute the gradient and Hessian at the optimum by finite differences
   * and check convergence as lme4 does (default: true when n < 10,000, as
   * lme4's `calc.derivs`).
   */
  readonly calcDerivs?: boolean;
  /** Singularity tolerance for the boundary check (lme4: 1e-4). */
  readonly boundaryTol?: number;
  /**
   * Progress of fits that run longer than 2 s (evaluations and criterion,
   * every 0.5 s): "auto" (default) writes one line to stderr in a terminal;
   * a function receives each report (e.g. to update a notebook display from
   * a worker); false shows nothing.
   */
  readonly progress?: ProgressSetting;
  /**
   * When lme4's gradient check fails, restart the optimizer from the optimum
   * and keep a better point (default true; false gives lme4's result as is).
   */
  readonly restart?: boolean;
  /**
   * The optimizer over θ. `"bobyqa"`: lme4's default (nloptwrap's BOBYQA,
   * the same evaluations as lme4). `"newton"`: Newton steps on the exact
   * gradient and an average-information Hessian (lib/models/lmer/gradient.ts;
   * only for scalar random-effects terms whose crossed factors are factored
   * densely, with the rows in memory), then BOBYQA from its point when it
   * stops short or near a boundary. `"auto"` (default) takes `"newton"` for
   * such models when the dense block has at least 2,000 rows and the native
   * LAPACK is in use (an evaluation then costs a large factorization, and
   * Newton needs 4–6 of them where BOBYQA needs about 30), else `"bobyqa"`.
   */
  readonly optimizer?: "auto" | "bobyqa" | "newton";
}

/** Options of {@link lmer}. */
export interface LmerOptions extends DataOptions {
  /** Fit by REML (default) or maximum likelihood. */
  readonly REML?: boolean;
  /** Optimizer settings. */
  readonly control?: LmerControl;
  /** Starting θ (default: 1 on diagonals, 0 elsewhere, as lme4). */
  readonly start?: ArrayLike<number>;
  /** Name of the data to print in the summary ("Data: sleepstudy"). */
  readonly dataName?: string;
  /**
   * Prior weights (lme4's `weights =`): a numeric column's name or one
   * positive number per row of the data; observation i has residual
   * variance σ²/wᵢ.
   */
  readonly weights?: RowVectorSpec;
  /**
   * A known offset added to the linear predictor (lme4's `offset =`): a
   * numeric column's name or one number per row of the data.
   */
  readonly offset?: RowVectorSpec;
}

/** Every option name of {@link lmer} (a compile error here when LmerOptions gains one). */
const LMER_OPTION_NAMES: { readonly [K in keyof Required<LmerOptions>]: true } = {
  factors: true,
  REML: true,
  control: true,
  start: true,
  dataName: true,
  weights: true,
  offset: true,
};

/** The type of each {@link LmerControl} setting. */
const LMER_CONTROL_TYPES: {
  readonly [K in keyof Required<LmerControl>]: "number" | "boolean" | "progress" | "optimizer";
} = {
  progress: "progress",
  maxeval: "number",
  xtolAbs: "number",
  ftolAbs: "number",
  calcDerivs: "boolean",
  boundaryTol: "number",
  restart: "boolean",
  optimizer: "optimizer",
};

/**
 * Check lmer's options before fitting: known names only, `REML` a boolean,
 * control settings finite (positive) numbers or booleans, `start` finite
 * numbers; each error names the option.
 *
 * @example
 * ```ts
 * import { checkLmerOptions } from "./fit.ts";
 * checkLmerOptions({ REML: false, control: { xtolAbs: 1e-10 } }); // ok
 * // checkLmerOptions({ REML: "no" }) throws "lmer: 'REML' must be true or false, got a string (\"no\")"
 * ```
 */
export function checkLmerOptions(options: LmerOptions): void {
  checkOptions("lmer", options, Object.keys(LMER_OPTION_NAMES));
  if (options.REML !== undefined && typeof options.REML !== "boolean") {
    throw new TypeError(`lmer: 'REML' must be true or false, got ${describeValue(options.REML)}`);
  }
  const control = options.control;
  if (control !== undefined) {
    checkOptions("lmer: control", control, Object.keys(LMER_CONTROL_TYPES));
    for (const [k, v] of Object.entries(control)) {
      if (v === undefined) continue;
      const kind = LMER_CONTROL_TYPES[k as keyof LmerControl];
      if (kind === "progress") {
        if (v !== false && v !== "auto" && typeof v !== "function") {
          throw new TypeError(
            `lmer: control 'progress' must be "auto", false or a function, got ${describeValue(v)}`,
          );
        }
      } else if (kind === "optimizer") {
        if (v !== "auto" && v !== "bobyqa" && v !== "newton") {
          throw new TypeError(
            `lmer: control 'optimizer' must be "auto", "bobyqa" or "newton", got ${
              describeValue(v)
            }`,
          );
        }
      } else if (kind === "boolean") {
        if (typeof v !== "boolean") {
          throw new TypeError(
            `lmer: control '${k}' must be true or false, got ${describeValue(v)}`,
          );
        }
      } else {
        checkNumberOption("lmer: control", k, v, { min: k === "maxeval" ? 1 : 0 });
      }
    }
  }
  if (options.start !== undefined) {
    const start = options.start;
    if (start === null || typeof start !== "object" || typeof start.length !== "number") {
      throw new TypeError(`lmer: 'start' must be an array of numbers, got ${describeValue(start)}`);
    }
    for (let i = 0; i < start.length; i++) {
      if (typeof start[i] !== "number" || !Number.isFinite(start[i])) {
        throw new RangeError(
          `lmer: 'start' must hold finite numbers, entry ${i + 1} is ${describeValue(start[i])}`,
        );
      }
    }
  }
  if (options.dataName !== undefined && typeof options.dataName !== "string") {
    throw new TypeError(
      `lmer: 'dataName' must be a string, got ${describeValue(options.dataName)}`,
    );
  }
}

/** Result of {@link lFormula}: the model frame after lme4's checks. */
export interface LmerFrame {
  /** The model frame (formula, y, X, random terms). */
  readonly mf: ModelFrame;
  /** X after dropping rank-deficient columns. */
  readonly x: FixedDesign;
  /** Columns of the original X kept (indices). */
  readonly keptColumns: readonly number[];
  /** Messages from the checks (dropped rows or columns). */
  readonly messages: readonly string[];
  /** Prior weights of the rows used, if given. */
  readonly weights?: Float64Array;
  /** Offset of the rows used, if given: the formula's offset() terms plus the option. */
  readonly offset?: Float64Array;
  /** The offset includes the `offset` option (not only offset() terms of the formula). */
  readonly optionOffset?: boolean;
}

/**
 * lme4's `lFormula`: parse, build the model frame, and run lme4's checks
 * on the grouping factors, the response and the rank of X.
 *
 * @example
 * ```ts
 * import { lFormula } from "./fit.ts";
 * const lf = lFormula("y ~ x + (1 | g)", {
 *   y: [1, 2, 3, 4, 5, 7], x: [1, 2, 3, 1, 2, 3], g: ["a", "a", "a", "b", "b", "b"],
 * });
 * console.log(lf.x.names); // ["(Intercept)", "x"]
 * ```
 */
export function lFormula(
  formula: string,
  data: DataLike,
  options: DataOptions & Pick<LmerOptions, "weights" | "offset"> = {},
): LmerFrame {
  const mf = modelFrame(formula, data, options);
  const weights = rowVector(options.weights, "weights", mf);
  const optionOffset = rowVector(options.offset, "offset", mf);
  const offset = combineOffsets(mf.offset, optionOffset);
  if (weights?.some((w) => !(w > 0))) {
    throw new RangeError("weights: lmer needs positive weights (a zero weight drops nothing)");
  }
  if (mf.random.length === 0) {
    throw new Error(
      `no random effects terms specified in formula '${formula}': add a term like (1 | g), or use lm()`,
    );
  }
  const n = mf.y.length;
  // The same random-effects term twice gives copies that share one variance
  // (not identifiable), and each copy adds a dimension to the optimization:
  // 50 copies of (1 | g) would run for minutes. Refused (lme4 fits them).
  // (a term is its grouping factor and its columns: (Days || g) and (1 | a/b)
  // expand into distinct terms)
  const seen = new Map<string, { count: number; text: string }>();
  for (const t of mf.random) {
    const key = `${t.group}\u0000${t.cnames.join("\u0000")}`;
    const e = seen.get(key) ?? { count: 0, text: `(${t.cnames.join(" + ")} | ${t.group})` };
    e.count++;
    seen.set(key, e);
  }
  for (const { count, text } of seen.values()) {
    if (count > 1) {
      throw new RangeError(
        `random-effects term ${text.slice(0, 60)} appears ${count} times: copies of a term ` +
          "share one variance and cannot be told apart; write it once",
      );
    }
  }
  const messages: string[] = [...mf.plan.warnings];
  if (mf.nDropped) {
    messages.push(
      `${mf.nDropped} observation${mf.nDropped > 1 ? "s" : ""} deleted due to missingness`,
    );
  }
  // lme4's checkNlevels: > 1 level, fewer levels than observations.
  for (const t of mf.random) {
    if (t.levels.length < 2) {
      throw new RangeError(
        `grouping factor '${t.group}' has ${t.levels.length} level${
          t.levels.length === 1 ? "" : "s"
        }` +
          ` ('${t.levels[0] ?? ""}'): grouping factors must have > 1 sampled level`,
      );
    }
  }
  const bad = mf.random.filter((t) => t.levels.length >= n).map((t) => t.group);
  if (bad.length) {
    throw new RangeError(
      `number of levels of each grouping factor must be < number of observations (problems: ${
        [...new Set(bad)].join(", ")
      })`,
    );
  }
  // lme4's check.nobs.vs.nRE: more random effects than observations.
  for (const t of mf.random) {
    const nre = t.levels.length * t.cnames.length;
    if (t.cnames.length > 1 && n <= nre) {
      throw new RangeError(
        `number of observations (=${n}) <= number of random effects (=${nre}) for term ${t.spec.text}; ` +
          "the random-effects parameters and the residual variance are probably unidentifiable",
      );
    }
  }
  const y0 = mf.y[0];
  if (mf.y.every((v) => v === y0)) {
    throw new RangeError(
      `response '${mf.responseLabel}' is constant (every value is ${y0}): there is no variance to model`,
    );
  }
  // lme4's check.rankX = "message+drop.cols".
  const { x, kept, message: rankMsg } = dropAliasedColumns(mf.x);
  if (rankMsg) messages.push(rankMsg);
  const scaleMsg = checkScaleX(x);
  if (scaleMsg) messages.push(scaleMsg);
  return {
    mf,
    x,
    keptColumns: kept,
    messages,
    weights,
    offset,
    ...(optionOffset ? { optionOffset: true } : {}),
  };
}

/**
 * lme4's `checkScaleX` (check.scaleX = "warning"): over the columns of X
 * (after dropping aliased ones) that are not all 0 or 1, the warning when
 * some sd, or some ratio of two sds, is beyond a factor of 1000
 * (|log sd| or |log(sdᵢ/sdⱼ)| > log 1000).
 */
export function checkScaleX(x: FixedDesign): string | null {
  const { n, p } = x;
  const sds: number[] = [];
  for (let j = 0; j < p; j++) {
    const col = x.x.subarray(j * n, j * n + n);
    if (col.every((v) => v === 0 || v === 1)) continue;
    let s = 0;
    for (const v of col) s += v;
    const m = s / n;
    let ss = 0;
    for (const v of col) ss += (v - m) * (v - m);
    sds.push(Math.sqrt(ss / (n - 1)));
  }
  const tol = Math.log(1e3);
  let bad = sds.some((s) => Math.abs(Math.log(s)) > tol);
  for (let i = 0; i < sds.length && !bad; i++) {
    for (let j = 0; j < i; j++) if (Math.abs(Math.log(sds[i] / sds[j])) > tol) bad = true;
  }
  return bad ? "Some predictor variables are on very different scales: consider rescaling" : null;
}

/** The profiled criterion of a model frame, lme4's `devfun`. */
export interface LmerDevfun {
  /** REML criterion (reml) or ML deviance at θ. */
  (theta: ArrayLike<number>): number;
  /** The numerical core (cross-products formed once). */
  readonly lmm: Lmm;
  /** Whether this is the REML criterion. */
  readonly reml: boolean;
  /** The frame it was built from. */
  readonly frame: LmerFrame;
}

/**
 * lme4's `mkLmerDevfun`: the profiled REML criterion or ML deviance as a
 * function of θ. Forming it is the only pass over the data; each evaluation
 * costs nothing proportional to n.
 *
 * @example
 * ```ts ignore
 * const devfun = mkLmerDevfun(lFormula("Reaction ~ Days + (Days | Subject)", sleepstudy));
 * devfun([1, 0, 1]); // REML criterion at θ = (1, 0, 1)
 * ```
 */
export function mkLmerDevfun(frame: LmerFrame, options: { REML?: boolean } = {}): LmerDevfun {
  const reml = options.REML ?? true;
  const lmm = buildLmm(frame.x, frame.mf.y, frame.mf.random, {
    weights: frame.weights,
    offset: frame.offset,
  });
  const f = (theta: ArrayLike<number>) => lmm.objective(theta, reml);
  return Object.assign(f, { lmm, reml, frame });
}

/** The optimizer's record, as MixedModels.jl's OptSummary. */
export interface OptSummary {
  /**
   * "BOBYQA" (lme4's default nloptwrap uses NLopt's BOBYQA), or "Newton"
   * (and "Newton, then BOBYQA") for the large crossed fits of
   * {@link LmerControl.optimizer}.
   */
  readonly optimizer: string;
  /** Starting θ. */
  readonly start: Float64Array;
  /** Lower bounds of θ. */
  readonly lower: Float64Array;
  /** θ at the optimum. */
  readonly theta: Float64Array;
  /** Criterion at the optimum. */
  readonly fmin: number;
  /** Number of criterion evaluations. */
  readonly feval: number;
  /** Why the optimizer stopped. */
  readonly status: string;
  /** The optimizer's message. */
  readonly message: string;
  /**
   * Settings of the run whose point was kept, told apart by `algorithm`:
   * BOBYQA's ({@link OptimSettings}: tolerances, initial radius, …), or the
   * Newton path's ({@link NewtonSettings}) when its point was kept.
   */
  readonly settings: OptimSettings | NewtonSettings;
  /** Milliseconds spent optimizing. */
  readonly elapsedMs: number;
  /**
   * Restarts after a failed convergence check ({@link lmer} only): each
   * restart's criterion, evaluations, and whether its point was kept.
   */
  readonly restarts?: readonly OptRestart[];
}

/** One restart of the optimizer from a point that failed lme4's convergence checks. */
export interface OptRestart {
  /** Criterion the restart reached. */
  readonly fmin: number;
  /** Its evaluations. */
  readonly feval: number;
  /** Whether its point replaced the previous one (a lower criterion). */
  readonly kept: boolean;
  /** The convergence messages after it (empty: the checks pass). */
  readonly messages: readonly string[];
}

/**
 * lme4's `optimizeLmer`: minimise the criterion over θ with bounded BOBYQA
 * and nloptwrap's tolerances (xtol_abs = ftol_abs = 1e-8).
 *
 * @example
 * ```ts ignore
 * const opt = optimizeLmer(devfun);
 * console.log(opt.theta, opt.fmin, opt.feval);
 * ```
 */
export function optimizeLmer(
  devfun: LmerDevfun,
  control: LmerControl = {},
  start?: ArrayLike<number>,
): OptSummary {
  const { lmm } = devfun;
  const x0 = Float64Array.from(start ?? lmerStart(devfun));
  if (x0.length !== lmm.thetaLength) {
    throw new RangeError(
      `start: θ has ${lmm.thetaLength} entries (${lmm.thetaNames.join(", ")}), got ${x0.length}`,
    );
  }
  x0.forEach((v, k) => {
    if (!Number.isFinite(v) || v < lmm.lower[k]) {
      throw new RangeError(
        `start: θ ${lmm.thetaNames[k]} must be a finite number >= ${lmm.lower[k]}, got ${v}`,
      );
    }
  });
  const t0 = performance.now();
  const progress = new ProgressTracker(control.progress);
  const run = (from: Float64Array, maxeval = control.maxeval ?? 1e5) =>
    bobyqa(
      (th) => {
        const f = devfun(th);
        progress.note(f);
        return f;
      },
      from,
      {
        lower: lmm.lower,
        xtolAbs: control.xtolAbs ?? 1e-8,
        ftolAbs: control.ftolAbs ?? 1e-8,
        maxeval,
      },
    );
  let res: OptimRecord = useNewton(devfun, control)
    ? newtonThenBobyqa(devfun, control, x0, progress, run)
    : { ...run(x0), optimizer: "BOBYQA" };
  const optimizer = res.optimizer;
  let feval = res.feval;
  // lme4's restart_edge: a θ on its bound with a negative one-sided slope
  // (step 1e-5 inward) means the optimizer stopped too early: run again from there.
  const onBound = [...lmm.lower].map((lb, k) => (res.x[k] === lb ? k : -1)).filter((k) => k >= 0);
  if (onBound.length) {
    const d0 = devfun(res.x);
    const slopes = onBound.map((k) => {
      const th = Float64Array.from(res.x);
      th[k] = lmm.lower[k] + 1e-5;
      return (devfun(th) - d0) / 1e-5;
    });
    if (slopes.some((g) => g < 0)) {
      res = { ...run(Float64Array.from(res.x)), optimizer };
      feval += res.feval;
    }
  }
  // lme4's check.boundary (boundary.tol = 1e-5): snap θ within 1e-5 of its
  // bound onto it when that does not increase the criterion.
  const theta = Float64Array.from(res.x);
  let fmin = res.fval;
  let snapped = false;
  for (let k = 0; k < theta.length; k++) {
    const d = theta[k] - lmm.lower[k];
    if (d > 0 && d < 1e-5) {
      const th = Float64Array.from(theta);
      th[k] = lmm.lower[k];
      if (devfun(th) < fmin) (theta[k] = lmm.lower[k], snapped = true);
    }
  }
  if (snapped) fmin = devfun(theta);
  progress.finish();
  return {
    optimizer,
    start: x0,
    lower: Float64Array.from(lmm.lower),
    theta,
    fmin,
    feval,
    status: res.status,
    message: res.message,
    settings: res.settings,
    elapsedMs: performance.now() - t0,
  };
}

/**
 * A θ_k below this ends the Newton path (its information vanishes at 0 and
 * its steps stall); BOBYQA finishes from there with such θ_k on the bound.
 */
const NEAR_BOUND = 1e-3;

/** A θ_k below this starts BOBYQA's finish on its bound (see optimizeLmer). */
const HANDOVER_SNAP = 0.01;

/**
 * Most evaluations the Newton path spends before BOBYQA takes over: it needs
 * 4–6 where it works, each about two of BOBYQA's.
 */
const NEWTON_MAX_EVAL = 12;

/** No derivatives (an evaluation of the criterion alone). */
const NONE = new Float64Array(0);

/** An optimizer's result as {@link optimizeLmer} records it. */
type OptimRecord = Pick<OptimResult, "x" | "fval" | "feval" | "message"> & {
  readonly optimizer: string;
  readonly status: string;
  readonly settings: OptSummary["settings"];
};

/**
 * The Newton path of {@link optimizeLmer} (see {@link LmerControl.optimizer}),
 * handing over to BOBYQA (`run`) near a boundary or when Newton stops short.
 */
function newtonThenBobyqa(
  devfun: LmerDevfun,
  control: LmerControl,
  x0: Float64Array,
  progress: ProgressTracker,
  run: (from: Float64Array, maxeval?: number) => OptimResult,
): OptimRecord {
  const { lmm } = devfun;
  const budget = control.maxeval ?? 1e5;
  const nt = newtonMinimize(
    (th, withDerivatives) => {
      try {
        const d = withDerivatives
          ? lmm.derivatives(th, devfun.reml)
          : { objective: devfun(th), gradient: NONE, information: NONE };
        progress.note(d.objective);
        return d;
      } catch {
        // an extreme θ where the factorization fails ("rank deficient" at
        // θ ≈ 1e7): a step too long, shortened by the line search, which
        // reads nothing else of a non-finite criterion (at the start,
        // BOBYQA's evaluation there reports the error)
        return { objective: NaN, gradient: NONE, information: NONE };
      }
    },
    x0,
    {
      ftolAbs: control.ftolAbs ?? 1e-8,
      maxeval: Math.min(budget, NEWTON_MAX_EVAL),
      nearBound: NEAR_BOUND,
    },
  );
  // its own cap spent (not the caller's budget): Newton is not converging
  // (a θ_k heading for 0 but still above NEAR_BOUND crawls there), which
  // is no reason for lme4's "maximum number of function evaluations" message
  const capped = nt.status === "maxeval_reached" && nt.feval < budget;
  const left = budget - nt.feval;
  // stopped short with nothing left for BOBYQA: the caller's budget is spent
  const spent = nt.status !== "converged" && left <= 0;
  const res: OptimRecord = capped
    ? {
      ...nt,
      optimizer: "Newton",
      status: "no_progress",
      message: `Newton: no convergence in ${nt.feval} evaluations`,
    }
    : spent
    ? {
      ...nt,
      optimizer: "Newton",
      status: "maxeval_reached",
      message: `Newton: ${nt.message}; maxeval reached`,
    }
    : { ...nt, optimizer: "Newton", message: `Newton: ${nt.message}` };
  // Near a boundary (the criterion is flat in θ_k at 0, Newton's steps
  // stall there) BOBYQA finishes from Newton's point. Stopped short for
  // any other reason (a start far out, where the criterion is flat in θ
  // and Newton's point may be anywhere: from θ = 1e4 it stopped at
  // θ_b ≈ 6,600, 16% above the optimum, and BOBYQA from there did not
  // recover), BOBYQA runs lme4's path from the start; the lower wins.
  const nearBound = [...nt.x].some((v) => v < NEAR_BOUND);
  if ((nt.status !== "converged" || nearBound) && left > 0) {
    // BOBYQA from a small θ_k scales coordinate k's trust region by θ_k
    // (NLopt's initial step is 0.75 θ_k), which raises its stopping
    // radius in the others to xtolAbs / θ_k: from θ_k ≈ 1e-8 it stopped
    // with a criterion 3e-3 too high, from 1e-3 short of lme4's gradient
    // check. Hand it such a θ_k on its bound (0, where the step is 1).
    const from = nt.status === "converged" || nt.status === "near_bound"
      ? Float64Array.from(nt.x, (v, k) => (v < HANDOVER_SNAP ? lmm.lower[k] : v))
      : x0;
    const b = run(from, left);
    const optimizer = "Newton, then BOBYQA", feval = nt.feval + b.feval;
    return b.fval <= nt.fval ? { ...b, optimizer, feval } : { ...res, optimizer, feval };
  }
  return res;
}

/** Smallest dense block for which `optimizer: "auto"` takes the Newton path. */
export const NEWTON_MIN_ORDER = 2000;

/** Whether {@link optimizeLmer} takes the Newton path (see {@link LmerControl.optimizer}). */
function useNewton(devfun: LmerDevfun, control: LmerControl): boolean {
  const choice = control.optimizer ?? "auto";
  if (choice === "bobyqa") return false;
  const { lmm } = devfun;
  if (choice === "newton") {
    const why = lmm.derivativesUnsupported;
    if (why !== undefined) {
      throw new Error(
        'lmer: control optimizer "newton" needs every random-effects term scalar ' +
          "(one column per level), the first crossed with the others and factored densely, " +
          `and the rows in memory, but ${why}; use "bobyqa" (or "auto") for this model`,
      );
    }
    return true;
  }
  return lmm.derivativesSupported && lmm.denseOrder >= NEWTON_MIN_ORDER &&
    nativeLapack()?.trtri !== undefined;
}

/**
 * lme4's starting θ: 1 on the diagonal, 0 elsewhere; but when every term is
 * a scalar random intercept, lme4 (mkLmerDevfun) starts at
 * θ_k = √(v_k / v_e) with v_k = var(ave(y, g_k)) and v_e = var(y) − Σ v_k,
 * when v_e > 0. Matching it matters: the optimizer's path, and so its last
 * digits and evaluation count, follow the start.
 */
export function lmerStart(devfun: LmerDevfun): Float64Array {
  const { lmm } = devfun;
  const start = Float64Array.from(lmm.thetaStart);
  const terms = lmm.terms;
  if (!terms.every((t) => t.q === 1 && t.cnames[0] === "(Intercept)")) return start;
  if (!lmm.rows) return startFromProducts(lmm, start);
  const y = devfun.frame.mf.y;
  const n = y.length;
  const variance = (v: ArrayLike<number>) => {
    let m = 0;
    for (let i = 0; i < n; i++) m += v[i];
    m /= n;
    let s = 0;
    for (let i = 0; i < n; i++) s += (v[i] - m) ** 2;
    return s / (n - 1);
  };
  // v per distinct grouping factor (lme4 iterates over flist), then per term.
  const vByGroup = new Map<string, number>();
  for (const t of terms) {
    if (vByGroup.has(t.group)) continue;
    const sum = new Float64Array(t.nLevels), cnt = new Float64Array(t.nLevels);
    const idx = t.term.index;
    for (let i = 0; i < n; i++) (sum[idx[i]] += y[i], cnt[idx[i]]++);
    const ave = new Float64Array(n);
    for (let i = 0; i < n; i++) ave[i] = sum[idx[i]] / cnt[idx[i]];
    vByGroup.set(t.group, variance(ave));
  }
  let ve = variance(y);
  for (const v of vByGroup.values()) ve -= v;
  if (!(ve > 0)) return start;
  const rel = terms.map((t) => vByGroup.get(t.group)! / ve);
  if (rel.every((r, k) => r >= lmm.lower[terms[k].thetaOffset] ** 2)) {
    terms.forEach((t, k) => (start[t.thetaOffset] = Math.sqrt(rel[k])));
  }
  return start;
}

/**
 * {@link lmerStart} for a model fitted from cross-products (no rows): the
 * level means of y and their counts are in the blocks of the centred
 * [Z X y]ᵀ[Z X y] (an intercept term's Zᵀy and ZᵀZ).
 */
function startFromProducts(lmm: Lmm, start: Float64Array): Float64Array {
  const a = lmm.fitProducts, n = lmm.n, nf = lmm.p + 1;
  let sy = 0;
  const vByGroup = new Map<string, number>();
  lmm.terms.forEach((t, k) => {
    const d = a.diag[k], fz = a.fz[k];
    let s = 0;
    for (let l = 0; l < t.nLevels; l++) s += fz[l * nf + lmm.p];
    sy = s;
    if (vByGroup.has(t.group)) return;
    const m = s / n;
    let v = 0;
    for (let l = 0; l < t.nLevels; l++) {
      if (d[l] > 0) v += d[l] * (fz[l * nf + lmm.p] / d[l] - m) ** 2;
    }
    vByGroup.set(t.group, v / (n - 1));
  });
  let ve = (a.ff[nf * nf - 1] - (sy * sy) / n) / (n - 1);
  for (const v of vByGroup.values()) ve -= v;
  if (!(ve > 0)) return start;
  const terms = lmm.terms;
  const rel = terms.map((t) => vByGroup.get(t.group)! / ve);
  if (rel.every((r, k) => r >= lmm.lower[terms[k].thetaOffset] ** 2)) {
    terms.forEach((t, k) => (start[t.thetaOffset] = Math.sqrt(rel[k])));
  }
  return start;
}

/**
 * A fitter for data that are not rows in memory: `lmer(formula, data)` hands
 * `data` to the first registered fitter that accepts it (lib/sources/
 * registers one for polars LazyFrames when imported, as mod.ts does).
 */
export interface SourceFitter {
  /** Whether this fitter takes `data`. */
  accepts(data: unknown): boolean;
  /**
   * lmer's fit from `data`: the model, or a promise of it for a source
   * reached asynchronously (an {@link AsyncSource}).
   */
  fit(
    formula: string,
    data: unknown,
    options: LmerOptions,
  ): LinearMixedModel | Promise<LinearMixedModel>;
}

const sourceFitters: SourceFitter[] = [];

/**
 * Register a {@link SourceFitter} (once; later registrations come after).
 *
 * @example
 * ```ts ignore
 * registerSourceFitter({ accepts: isLazyFrame, fit: lmerLazy });
 * ```
 */
export function registerSourceFitter(f: SourceFitter): void {
  if (!sourceFitters.includes(f)) sourceFitters.push(f);
}

/** A data source some registered {@link SourceFitter} accepts (e.g. a SQL table). */
export interface ExternalSource {
  /** The kind of source, e.g. "sql". */
  readonly lmerSource: string;
  /** Not asynchronous (see {@link AsyncSource}). */
  readonly lmerAsync?: false;
}

/**
 * A source reached asynchronously (a SQL engine over HTTP): `lmer` returns a
 * promise of the model, `await lmer(formula, source)`.
 */
export interface AsyncSource {
  /** The kind of source, e.g. "sql". */
  readonly lmerSource: string;
  /** Marks the source as asynchronous. */
  readonly lmerAsync: true;
}

/**
 * A nodejs-polars LazyFrame as lmer sees it (`pl.scanParquet(path)`,
 * `pl.scanCSV(path)`, `df.lazy()`); checked by duck typing.
 */
export interface LazyFrameLike {
  /** Run the query. */
  collectSync(options?: { engine?: string }): unknown;
  /** polars' optimized query plan as text. */
  describeOptimizedPlan(): string;
}

/** What {@link lmer} fits from: rows in memory, a polars LazyFrame, or a registered source. */
export type LmerData = DataLike | LazyFrameLike | ExternalSource;

/**
 * lme4's `mkMerMod`: the fitted model at the optimum, with lme4's post-fit
 * checks (singular fit, gradient and Hessian) recorded as messages.
 */
export function mkMerMod(
  devfun: LmerDevfun,
  opt: OptSummary,
  options: { formula: string; control?: LmerControl; dataName?: string },
): LinearMixedModel {
  const { lmm, reml, frame } = devfun;
  const sol = lmm.solve(opt.theta, reml);
  const control = options.control ?? {};
  const known = checked.get(opt);
  const conv = known && known.devfun === devfun && known.control === control
    ? known.conv
    : checkConvergence(devfun, opt, control);
  return new LinearMixedModel({
    formula: options.formula,
    dataName: options.dataName,
    frame,
    lmm,
    solution: sol,
    opt,
    convergence: conv,
    devfun,
  });
}

/**
 * Fit a linear mixed-effects model as lme4's `lmer(formula, data, REML)`
 * (data in memory, or a polars LazyFrame).
 *
 * @example
 * ```ts ignore
 * import { lmer, readCsv } from "../../../mod.ts";
 * const m = lmer("Reaction ~ Days + (Days | Subject)", readCsv("sleepstudy.csv"));
 * console.log(String(m.summary()));
 * ```
 */
export function lmer(formula: string, data: LmerData, options?: LmerOptions): LinearMixedModel;
/**
 * Fit a linear mixed-effects model as lme4's `lmer(formula, data, REML)`
 * from a SQL table ({@link AsyncSource}, e.g. `sqlTable(…)` of advanced.ts):
 * the aggregation runs in the engine, and the promise resolves to the
 * fitted model.
 *
 * @example
 * ```ts ignore
 * const m = await lmer("Reaction ~ Days + (Days | Subject)", sqlTable({
 *   engine: "clickhouse", url: "http://127.0.0.1:8123", table: "sleepstudy",
 * }));
 * ```
 */
export function lmer(
  formula: string,
  data: AsyncSource,
  options?: LmerOptions,
): Promise<LinearMixedModel>;
export function lmer(
  formula: string,
  data: LmerData | AsyncSource,
  options: LmerOptions = {},
): LinearMixedModel | Promise<LinearMixedModel> {
  if (typeof data === "object" && data !== null) {
    // (a source's fitter checks the options itself: an asynchronous one
    // reports bad options as a rejected promise, not a throw)
    const fitter = sourceFitters.find((f) => f.accepts(data));
    if (fitter) return fitter.fit(formula, data, options);
    if ((data as Partial<AsyncSource>).lmerAsync === true) {
      throw new TypeError(
        "lmer: no fitter is registered for this data source (import advanced.ts, which registers the SQL sources)",
      );
    }
    if (typeof (data as { collectSync?: unknown }).collectSync === "function") {
      throw new TypeError(
        "lmer: the data is a polars LazyFrame, and fitting from one needs lib/sources/polars.ts " +
          "(mod.ts and advanced.ts import it); import it, or collect the frame",
      );
    }
  }
  checkLmerOptions(options);
  const frame = lFormula(formula, data as DataLike, options);
  const devfun = mkLmerDevfun(frame, { REML: options.REML ?? true });
  return fitDevfun(devfun, formula, options);
}

/**
 * What {@link lmer} does after forming the criterion: optimize (with its
 * restarts) and build the fitted model. Shared with the fits from data
 * sources (lib/sources/).
 */
export function fitDevfun(
  devfun: LmerDevfun,
  formula: string,
  options: LmerOptions,
): LinearMixedModel {
  const control = options.control ?? {};
  const opt = restartIfUnconverged(devfun, optimizeLmer(devfun, control, options.start), control);
  return mkMerMod(devfun, opt, { formula, control, dataName: options.dataName });
}

/** Convergence checks already run on an optimum (so mkMerMod need not repeat them). */
const checked = new WeakMap<
  OptSummary,
  { devfun: LmerDevfun; control: LmerControl; conv: Convergence }
>();

/** Whether lme4's post-fit checks found a non-zero gradient or a bad Hessian. */
function gradientFailed(messages: readonly string[]): boolean {
  return messages.some((m) => /^Model failed to converge/.test(m));
}

/**
 * What an lme4 user does by hand when the gradient check fails (restart the
 * optimizer from where it stopped, as `allFit` or `update(m, start = ...)`):
 * up to two fresh BOBYQA runs from the current optimum, each kept only if it
 * lowers the criterion; stops as soon as the checks pass. A fit that passes
 * the first check is returned untouched (lme4's evaluation path). Restarts
 * are recorded in `opt.restarts`.
 */
function restartIfUnconverged(
  devfun: LmerDevfun,
  opt: OptSummary,
  control: LmerControl,
): OptSummary {
  if (control.restart === false) return opt;
  let conv = checkConvergence(devfun, opt, control);
  if (conv.singular || !gradientFailed(conv.messages)) {
    checked.set(opt, { devfun, control, conv });
    return opt;
  }
  const restarts: OptRestart[] = [];
  let best = opt;
  let feval = opt.feval;
  for (let r = 0; r < 2; r++) {
    // BOBYQA even after the Newton path: Newton from its own optimum stops
    // at once (its gradient is ~0 there) and would change nothing
    const next = optimizeLmer(devfun, { ...control, optimizer: "bobyqa" }, best.theta);
    feval += next.feval;
    const kept = next.fmin < best.fmin;
    const cand = kept ? next : best;
    conv = checkConvergence(devfun, cand, control);
    restarts.push({ fmin: next.fmin, feval: next.feval, kept, messages: conv.messages });
    best = cand;
    if (!gradientFailed(conv.messages) || !kept) break;
  }
  // the optimizer that found the point kept (a restart is BOBYQA's)
  const optimizer = best === opt || opt.optimizer === "BOBYQA"
    ? opt.optimizer
    : "Newton, then BOBYQA";
  const out = { ...best, optimizer, start: opt.start, feval, restarts };
  checked.set(out, { devfun, control, conv });
  return out;
}
