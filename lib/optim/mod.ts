/**
 * Bounded derivative-free optimization: Powell's BOBYQA as NLopt runs it,
 * which is what lme4 minimises its profiled deviance with (`nloptwrap`).
 *
 * @example
 * ```ts
 * import { bobyqa } from "./mod.ts";
 * // A deviance-like function of theta with the minimum on the bound 0.
 * const f = (th: Float64Array) => (th[0] + 0.5) ** 2 + (th[1] - 1) ** 2;
 * const r = bobyqa(f, [1, 1], { lower: [0, 0] });
 * console.log(r.x[0] === 0, r.status, r.feval);
 * ```
 * @module
 */

export { bobyqa } from "./bobyqa.ts";
export { defaultInitialStep } from "./initial_step.ts";
export type { Objective, OptimOptions, OptimResult, OptimSettings, OptimStatus } from "./types.ts";
