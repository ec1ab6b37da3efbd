/**
 * BOBYQA: bounded optimization by quadratic approximation (M. J. D. Powell,
 * "The BOBYQA algorithm for bound constrained optimization without
 * derivatives", DAMTP 2009/NA06), set up the way NLopt runs it, since
 * lme4's default optimizer is NLopt's BOBYQA (`nloptwrap`) and we want the
 * same optimum.
 *
 * What NLopt adds around Powell's algorithm, reproduced here (NLopt 2.7,
 * `src/algs/bobyqa/bobyqa.c` and `src/api/optimize.c`):
 * - coordinates with lower == upper are removed before optimizing;
 * - the initial step dx comes from {@linkcode defaultInitialStep}; when the
 *   steps differ, coordinate i is divided by dx[i] / dx[0], so that the
 *   trust region (a ball) has the same initial reach in each coordinate,
 *   and rhobeg = |dx[0]|;
 * - rhoend = max(xtolRel * rhobeg, xtolAbs[i] / scale[i]); nloptr's
 *   default xtol_rel = 1e-4 applies in lme4, so rhoend = 7.5e-5 there;
 * - after each improvement of the best f by less than ftolAbs (or ftolRel
 *   relative), the run stops ("ftol_reached");
 * - infinite bounds are used as they are: Powell's arithmetic on them
 *   (sl = -Infinity and the like) only ever compares or takes min/max.
 * @module
 */

import { createState } from "./bobyqa_state.ts";
import { runBobyqa } from "./bobyqa_core.ts";
import { Evaluator } from "./evaluator.ts";
import { defaultInitialStep } from "./initial_step.ts";
import type { Objective, OptimOptions, OptimResult, OptimSettings, OptimStatus } from "./types.ts";

/** NLopt's numeric return codes. */
const CODES: Record<OptimStatus, number> = {
  success: 1,
  stopval_reached: 2,
  ftol_reached: 3,
  xtol_reached: 4,
  maxeval_reached: 5,
  roundoff_limited: -4,
  failure: -1,
};

/** The messages nloptr gives (lme4 stores them in `optinfo$message`). */
const MESSAGES: Record<OptimStatus, string> = {
  success: "NLOPT_SUCCESS: Generic success return value.",
  stopval_reached:
    "NLOPT_STOPVAL_REACHED: Optimization stopped because stopval (above) was reached.",
  ftol_reached:
    "NLOPT_FTOL_REACHED: Optimization stopped because ftol_rel or ftol_abs (above) was reached.",
  xtol_reached:
    "NLOPT_XTOL_REACHED: Optimization stopped because xtol_rel or xtol_abs (above) was reached.",
  maxeval_reached:
    "NLOPT_MAXEVAL_REACHED: Optimization stopped because maxeval (above) was reached.",
  roundoff_limited:
    "NLOPT_ROUNDOFF_LIMITED: Roundoff errors led to a breakdown of the optimization algorithm. In this case, the returned minimum may still be useful. (e.g. this error occurs in NEWUOA if one tries to achieve a tolerance too close to machine precision.)",
  failure: "NLOPT_FAILURE: Generic failure code. (The objective never returned a finite value.)",
};

/**
 * Minimises `f` over the box `lower <= x <= upper` without derivatives,
 * starting from `x0`, with Powell's BOBYQA as NLopt runs it. The defaults
 * are lme4's (`nloptwrap`): xtolAbs = ftolAbs = 1e-8, maxeval = 1e5, and
 * nloptr's xtolRel = 1e-4.
 *
 * Works for any number of variables, one included (NLopt accepts n = 1:
 * npt = 2n + 1 = 3 lies in Powell's admissible range [n+2, (n+1)(n+2)/2],
 * and lme4 fits one-parameter models such as `(1 | g)` this way).
 *
 * f may return NaN or Infinity: such values are replaced by a penalty worse
 * than any finite value seen (see `NonFinitePenalty`), and counted in
 * `nonFiniteEvals`; -Infinity stops the run ("stopval_reached").
 *
 * @throws {RangeError} if the bounds are inconsistent, x0 is outside them,
 * or the box is narrower than twice the initial step in some coordinate.
 *
 * @example
 * ```ts
 * import { bobyqa } from "./bobyqa.ts";
 * const rosenbrock = (x: Float64Array) =>
 *   100 * (x[1] - x[0] * x[0]) ** 2 + (1 - x[0]) ** 2;
 * const r = bobyqa(rosenbrock, [-1.2, 1], { xtolRel: 0, ftolAbs: 0, xtolAbs: 1e-10 });
 * console.log(r.x, r.fval, r.feval, r.status);
 * ```
 */
export function bobyqa(
  f: Objective,
  x0: ArrayLike<number>,
  options: OptimOptions = {},
): OptimResult {
  const n = x0.length;
  const lower = vectorOption(options.lower, n, -Infinity, "lower");
  const upper = vectorOption(options.upper, n, Infinity, "upper");
  const xtolAbs = vectorOption(options.xtolAbs, n, 1e-8, "xtolAbs");
  const xtolRel = options.xtolRel ?? 1e-4;
  const ftolAbs = options.ftolAbs ?? 1e-8;
  const ftolRel = options.ftolRel ?? 0;
  const stopval = options.stopval ?? -Infinity;
  const maxeval = options.maxeval ?? 1e5;
  checkStart(x0, lower, upper);

  // Coordinates fixed by their bounds are not optimized (NLopt's elimdim).
  const free: number[] = [];
  for (let i = 0; i < n; i++) if (lower[i] < upper[i]) free.push(i);
  const m = free.length;
  const pick = (v: ArrayLike<number>) => Float64Array.from(free, (i) => v[i]);
  const xFree = pick(x0), lbFree = pick(lower), ubFree = pick(upper);

  if (options.initialStep !== undefined && options.rhobeg !== undefined) {
    throw new RangeError("bobyqa: give initialStep or rhobeg, not both");
  }
  let dx: Float64Array;
  if (options.initialStep !== undefined) {
    dx = pick(vectorOption(options.initialStep, n, NaN, "initialStep"));
  } else if (options.rhobeg !== undefined) {
    dx = new Float64Array(m).fill(options.rhobeg);
  } else {
    dx = defaultInitialStep(xFree, lbFree, ubFree);
  }
  const scale = rescaling(dx);

  // The caller's x from a working point: undo the scaling, keep it within
  // the bounds despite rounding, and put back the fixed coordinates.
  const toCaller = (w: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) out[i] = lower[i];
    for (let j = 0; j < m; j++) {
      const i = free[j];
      out[i] = Math.min(Math.max(w[j] * scale[j], lower[i]), upper[i]);
    }
  };
  const evaluator = new Evaluator(f, n, toCaller, maxeval);

  const rhobeg = m > 0 ? Math.abs(dx[0] / scale[0]) : 0;
  if (m > 0 && !(rhobeg > 0 && rhobeg < Infinity)) {
    throw new RangeError(`bobyqa: the initial step must be finite and nonzero`);
  }
  if (options.rhoend !== undefined && !(options.rhoend >= 0)) {
    throw new RangeError(`bobyqa: rhoend must be >= 0`);
  }
  let rhoend = options.rhoend ?? xtolRel * rhobeg;
  if (options.rhoend === undefined) {
    for (let j = 0; j < m; j++) {
      rhoend = Math.max(rhoend, xtolAbs[free[j]] / Math.abs(scale[j]));
    }
  }
  const settings: OptimSettings = {
    algorithm: "BOBYQA",
    lower,
    upper,
    initialStep: dx,
    rhobeg,
    rhoend,
    npt: 2 * m + 1,
    xtolAbs,
    xtolRel,
    ftolAbs,
    ftolRel,
    stopval,
    maxeval,
  };

  const result = (status: OptimStatus, x: Float64Array, fval: number) => {
    let st = status;
    let fv = fval;
    if (!evaluator.penalty.sawFinite && fval !== -Infinity) {
      st = "failure";
      fv = NaN;
    }
    return {
      x,
      fval: fv,
      feval: evaluator.nevals,
      status: st,
      code: CODES[st],
      message: MESSAGES[st],
      nonFiniteEvals: evaluator.penalty.count,
      settings,
    };
  };

  if (m === 0) {
    // Nothing to optimize: NLopt evaluates f once at x0.
    const x = Float64Array.from(x0);
    const fx = evaluator.evaluate(new Float64Array(0));
    return result("success", x, fx);
  }

  // Working variables: x / scale, with bounds reordered if a scale is < 0.
  const xw = new Float64Array(m), xl = new Float64Array(m);
  const xu = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    xw[j] = xFree[j] / scale[j];
    const a = lbFree[j] / scale[j], b = ubFree[j] / scale[j];
    xl[j] = Math.min(a, b);
    xu[j] = Math.max(a, b);
  }
  const st = createState(m, 2 * m + 1, xl, xu);
  placeStartInBounds(xw, xl, xu, rhobeg, st.sl, st.su);

  const core = runBobyqa(st, xw, rhobeg, rhoend, evaluator, {
    ftolAbs,
    ftolRel,
    stopval,
  });
  const x = new Float64Array(n);
  toCaller(core.x, x);
  return result(core.status, x, core.f);
}

/**
 * NLopt's `nlopt_compute_rescaling`: no scaling if all steps are equal (or
 * n = 1), else scale[i] = dx[i] / dx[0].
 */
function rescaling(dx: Float64Array): Float64Array {
  const m = dx.length;
  const scale = new Float64Array(m).fill(1);
  let allEqual = true;
  for (let i = 1; i < m; i++) if (dx[i] !== dx[i - 1]) allEqual = false;
  if (!allEqual) { for (let i = 1; i < m; i++) scale[i] = dx[i] / dx[0]; }
  for (let i = 0; i < m; i++) {
    if (scale[i] === 0 || !Number.isFinite(scale[i])) {
      throw new RangeError(
        `bobyqa: invalid scaling ${scale[i]} of dimension ${i} (initial step ${dx[i]})`,
      );
    }
  }
  return scale;
}

/**
 * Powell's adjustment of the start (in BOBYQA's driver): a coordinate
 * closer than rhobeg to a bound is put on that bound, or moved to exactly
 * rhobeg inside it, so that the initial points x0 ± rhobeg e_i are within
 * the box. Sets sl = xl - x0 and su = xu - x0 (exact where it matters).
 */
function placeStartInBounds(
  x: Float64Array,
  xl: Float64Array,
  xu: Float64Array,
  rhobeg: number,
  sl: Float64Array,
  su: Float64Array,
): void {
  for (let j = 0; j < x.length; j++) {
    const width = xu[j] - xl[j];
    if (width < rhobeg + rhobeg) {
      throw new RangeError(
        `bobyqa: insufficient space between the bounds: ${xu[j]} - ${xl[j]} < ${
          rhobeg + rhobeg
        } (twice the initial step) in coordinate ${j}`,
      );
    }
    sl[j] = xl[j] - x[j];
    su[j] = xu[j] - x[j];
    if (sl[j] >= -rhobeg) {
      if (sl[j] >= 0) {
        x[j] = xl[j];
        sl[j] = 0;
        su[j] = width;
      } else {
        x[j] = xl[j] + rhobeg;
        sl[j] = -rhobeg;
        su[j] = Math.max(xu[j] - x[j], rhobeg);
      }
    } else if (su[j] <= rhobeg) {
      if (su[j] <= 0) {
        x[j] = xu[j];
        sl[j] = -width;
        su[j] = 0;
      } else {
        x[j] = xu[j] - rhobeg;
        sl[j] = Math.min(xl[j] - x[j], -rhobeg);
        su[j] = rhobeg;
      }
    }
  }
}

/** A per-coordinate option: absent (default), one number, or n numbers. */
function vectorOption(
  v: number | ArrayLike<number> | undefined,
  n: number,
  fallback: number,
  name: string,
): Float64Array {
  if (v === undefined) return new Float64Array(n).fill(fallback);
  if (typeof v === "number") return new Float64Array(n).fill(v);
  if (v.length !== n) {
    throw new RangeError(
      `bobyqa: ${name} has length ${v.length}, expected ${n}`,
    );
  }
  return Float64Array.from(v);
}

/** NLopt's argument checks: lower <= x0 <= upper, no NaN. */
function checkStart(
  x0: ArrayLike<number>,
  lower: Float64Array,
  upper: Float64Array,
): void {
  for (let i = 0; i < x0.length; i++) {
    if (!(lower[i] <= upper[i] && lower[i] <= x0[i] && x0[i] <= upper[i])) {
      throw new RangeError(
        `bobyqa: bounds ${i} fail ${lower[i]} <= ${x0[i]} <= ${upper[i]}`,
      );
    }
  }
}
