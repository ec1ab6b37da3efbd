/**
 * Options, settings and results of the bounded derivative-free optimizer.
 * @module
 */

/**
 * An objective function: takes the parameter vector (do not keep or modify
 * it; the optimizer reuses the buffer) and returns the value to minimise.
 *
 * @example
 * ```ts
 * import type { Objective } from "./types.ts";
 * const sphere: Objective = (x) => x[0] * x[0] + x[1] * x[1];
 * ```
 */
export type Objective = (x: Float64Array) => number;

/**
 * Options of {@linkcode bobyqa}. Every field is optional; the defaults are
 * the settings lme4's default optimizer (`nloptwrap`, NLopt's BOBYQA through
 * the R package nloptr) runs with.
 *
 * @example
 * ```ts
 * import type { OptimOptions } from "./types.ts";
 * const opts: OptimOptions = { lower: [0, -Infinity], maxeval: 1000 };
 * ```
 */
export interface OptimOptions {
  /** Lower bounds, one per coordinate (default `-Infinity`). */
  lower?: ArrayLike<number>;
  /** Upper bounds, one per coordinate (default `Infinity`). */
  upper?: ArrayLike<number>;
  /**
   * Initial step per coordinate (NLopt's `dx`). By default NLopt's heuristic
   * ({@linkcode defaultInitialStep}) derives it from the start and the bounds.
   * Unequal steps make the optimizer work on rescaled coordinates
   * `x[i] / (step[i] / step[0])`, so that every initial step is `step[0]`.
   */
  initialStep?: number | ArrayLike<number>;
  /**
   * Initial trust region radius. Shorthand for the same `initialStep` in
   * every coordinate (the two options are exclusive).
   */
  rhobeg?: number;
  /**
   * Final trust region radius, in the working coordinates (equal to the
   * original ones when the initial steps are equal). By default it is derived
   * as NLopt does: `max(xtolRel * rhobeg, xtolAbs[i] / scale[i])`.
   */
  rhoend?: number;
  /** Absolute tolerance on x, per coordinate or one for all (default 1e-8). */
  xtolAbs?: number | ArrayLike<number>;
  /**
   * Relative tolerance on x (default 1e-4, nloptr's default, which lme4 does
   * not override). BOBYQA uses it, with `xtolAbs`, only to set `rhoend`.
   */
  xtolRel?: number;
  /** Stop when an improvement of the best f is below this (default 1e-8). */
  ftolAbs?: number;
  /** Stop when an improvement is below this times |f| (default 0). */
  ftolRel?: number;
  /** Stop when f falls below this value (default `-Infinity`). */
  stopval?: number;
  /** Maximal number of evaluations of f; 0 or less: no limit (default 1e5). */
  maxeval?: number;
}

/**
 * Why the optimizer stopped, named after NLopt's return codes:
 * - `success`: the trust region radius reached `rhoend` (NLOPT_SUCCESS, 1);
 * - `stopval_reached`: f fell below `stopval`, or to -Infinity (2);
 * - `ftol_reached`: an improvement smaller than ftolAbs / ftolRel (3);
 * - `xtol_reached`: at the final radius, the last step was shorter than
 *   rho / 2 (4);
 * - `maxeval_reached`: the budget of evaluations was spent (5);
 * - `roundoff_limited`: rounding errors stopped progress (-4);
 * - `failure`: f never returned a finite value (-1).
 *
 * @example
 * ```ts
 * import type { OptimStatus } from "./types.ts";
 * const ok = (s: OptimStatus) => s !== "maxeval_reached" && s !== "failure";
 * ```
 */
export type OptimStatus =
  | "success"
  | "stopval_reached"
  | "ftol_reached"
  | "xtol_reached"
  | "maxeval_reached"
  | "roundoff_limited"
  | "failure";

/**
 * The settings an optimization actually ran with (after defaults and the
 * initial step heuristic), recorded in the result as MixedModels.jl's
 * `OptSummary` records them.
 *
 * @example
 * ```ts
 * import { bobyqa } from "./bobyqa.ts";
 * const { settings } = bobyqa((x) => (x[0] - 1) ** 2, [0]);
 * console.log(settings.rhobeg, settings.rhoend);
 * ```
 */
export interface OptimSettings {
  /** Name of the algorithm. */
  algorithm: "BOBYQA";
  /** Lower bounds used. */
  lower: Float64Array;
  /** Upper bounds used. */
  upper: Float64Array;
  /** Initial step per coordinate (NLopt's dx). */
  initialStep: Float64Array;
  /** Initial trust region radius, in the working coordinates. */
  rhobeg: number;
  /** Final trust region radius, in the working coordinates. */
  rhoend: number;
  /** Number of interpolation points (2n + 1 for n free coordinates). */
  npt: number;
  /** Absolute x tolerances, one per coordinate. */
  xtolAbs: Float64Array;
  /** Relative x tolerance. */
  xtolRel: number;
  /** Absolute f tolerance. */
  ftolAbs: number;
  /** Relative f tolerance. */
  ftolRel: number;
  /** Stop value for f. */
  stopval: number;
  /** Evaluation budget (0 or less: none). */
  maxeval: number;
}

/**
 * The outcome of an optimization.
 *
 * @example
 * ```ts
 * import { bobyqa } from "./bobyqa.ts";
 * const r = bobyqa((x) => (x[0] - 2) ** 2 + (x[1] + 1) ** 2, [0, 0]);
 * console.log(r.x, r.fval, r.feval, r.status);
 * ```
 */
export interface OptimResult {
  /** The best point found. */
  x: Float64Array;
  /** f at `x` (NaN if f never returned a finite value). */
  fval: number;
  /** Number of evaluations of f. */
  feval: number;
  /** Why the optimizer stopped. */
  status: OptimStatus;
  /**
   * NLopt's numeric return code for `status` (lme4 reports a convergence
   * problem when it is negative or 5).
   */
  code: number;
  /** The message nloptr gives for that return code. */
  message: string;
  /** Number of evaluations whose value was NaN or infinite. */
  nonFiniteEvals: number;
  /** The settings the optimization ran with. */
  settings: OptimSettings;
}
