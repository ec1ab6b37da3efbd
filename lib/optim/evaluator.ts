/**
 * The one place where the objective is called: counts evaluations, maps the
 * optimizer's working variables back to the caller's, and keeps non-finite
 * values out of the quadratic model.
 * @module
 */

import type { Objective } from "./types.ts";

/**
 * Replaces a NaN or +Infinity value by a finite one that is worse than every
 * finite value seen so far, so that the quadratic model stays finite and the
 * trust region moves away from the point (NLopt's BOBYQA has no such guard:
 * a NaN there poisons the model through comparisons that are all false).
 *
 * The penalty is the worst finite value so far plus the spread of the finite
 * values (at least 1 and 1e-3 |worst|): large enough to make the point
 * unattractive, small enough not to swamp the model's curvature with a
 * value dozens of orders of magnitude off, as an "extreme barrier" would.
 * Before any finite value is seen the penalty is 2^100 (PRIMA's HUGEFUN).
 */
export class NonFinitePenalty {
  #best = Infinity;
  #worst = -Infinity;
  /** How many values were replaced. */
  count = 0;

  /** Whether any finite value has been seen. */
  get sawFinite(): boolean {
    return this.#worst > -Infinity;
  }

  /** Records a value and returns the one the model should see. */
  moderate(value: number): number {
    if (Number.isFinite(value)) {
      if (value < this.#best) this.#best = value;
      if (value > this.#worst) this.#worst = value;
      return value;
    }
    if (value === -Infinity) return value; // the caller stops on it
    this.count++;
    if (!this.sawFinite) return 2 ** 100;
    const spread = Math.max(
      this.#worst - this.#best,
      1e-3 * Math.abs(this.#worst),
      1,
    );
    return this.#worst + spread;
  }
}

/**
 * Calls the objective on working points: counts the calls against the
 * budget, maps working to caller variables with `toCaller`, and moderates
 * non-finite values.
 */
export class Evaluator {
  /** Number of calls of the objective so far. */
  nevals = 0;
  readonly penalty: NonFinitePenalty = new NonFinitePenalty();
  readonly #f: Objective;
  readonly #toCaller: (w: Float64Array, out: Float64Array) => void;
  readonly #x: Float64Array;
  readonly #maxeval: number;

  constructor(
    f: Objective,
    callerDimension: number,
    toCaller: (w: Float64Array, out: Float64Array) => void,
    maxeval: number,
  ) {
    this.#f = f;
    this.#toCaller = toCaller;
    this.#x = new Float64Array(callerDimension);
    this.#maxeval = maxeval;
  }

  /** Whether the budget of evaluations is spent (NLopt's nlopt_stop_evals). */
  budgetSpent(): boolean {
    return this.#maxeval > 0 && this.nevals >= this.#maxeval;
  }

  /** f at the working point w, as the model should see it. */
  evaluate(w: Float64Array): number {
    this.#toCaller(w, this.#x);
    this.nevals++;
    return this.penalty.moderate(this.#f(this.#x));
  }
}
