/**
 * NLopt's heuristic for the initial step of its derivative-free algorithms
 * (`nlopt_set_default_initial_step` in NLopt's `src/api/options.c`). lme4's
 * `nloptwrap` sets no initial step, so BOBYQA's initial trust region radius
 * comes from here: 0.75 for a variance parameter starting at 1 with lower
 * bound 0, and 1 for a correlation parameter starting at 0 with no bounds.
 * @module
 */

/**
 * The initial step NLopt picks for each coordinate of `x` within the bounds.
 *
 * Per coordinate, the smallest of these that applies:
 * a quarter of the width of a finite box, three quarters of the distance to
 * a finite bound strictly beyond x; else 1.1 times the distance to a finite
 * bound that x sits on; else |x| itself; and 1 when all that gives 0.
 *
 * @example
 * ```ts
 * import { defaultInitialStep } from "./initial_step.ts";
 * // lme4's start for (Days | Subject): theta = [1, 0, 1], lower = [0, -Inf, 0]
 * const dx = defaultInitialStep([1, 0, 1], [0, -Infinity, 0], [Infinity, Infinity, Infinity]);
 * console.log(Array.from(dx)); // [0.75, 1, 0.75]
 * ```
 */
export function defaultInitialStep(
  x: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
): Float64Array {
  const n = x.length;
  const dx = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const xi = x[i], lb = lower[i], ub = upper[i];
    const lbFinite = !isInfinite(lb), ubFinite = !isInfinite(ub);
    let step = Infinity;
    if (ubFinite && lbFinite && (ub - lb) * 0.25 < step && ub > lb) {
      step = (ub - lb) * 0.25;
    }
    if (ubFinite && ub - xi < step && ub > xi) step = (ub - xi) * 0.75;
    if (lbFinite && xi - lb < step && xi > lb) step = (xi - lb) * 0.75;
    // x sits on a bound: step 10% beyond the distance to the other side.
    if (isInfinite(step)) {
      if (ubFinite && Math.abs(ub - xi) < Math.abs(step)) {
        step = (ub - xi) * 1.1;
      }
      if (lbFinite && Math.abs(xi - lb) < Math.abs(step)) {
        step = (xi - lb) * 1.1;
      }
    }
    if (isInfinite(step) || isTiny(step)) step = xi;
    if (isInfinite(step) || step === 0) step = 1;
    dx[i] = step;
  }
  return dx;
}

/** NLopt's `nlopt_isinf`: either infinity. */
function isInfinite(v: number): boolean {
  return v === Infinity || v === -Infinity;
}

/** NLopt's `nlopt_istiny`: zero or subnormal. */
function isTiny(v: number): boolean {
  return v === 0 || Math.abs(v) < 2.2250738585072014e-308;
}
