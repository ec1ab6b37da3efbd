/**
 * R's standard exponential generator `exp_rand()` (src/nmath/sexp.c:
 * Ahrens & Dieter 1972, algorithm SA), which `rpois` uses in its rare
 * rejection steps: the integer part counts the doublings of one uniform
 * that stay ≤ 1 (each adds ln 2); the fraction is the remaining uniform if
 * below ln 2, else ln 2 times the smallest of a few more uniforms, as many
 * as the table of cumulative Poisson(ln 2) probabilities asks for.
 * @module
 */

/**
 * q[k-1] = Σ_{i=1..k} (ln 2)^i / i!, k = 1..16, the values R tabulates
 * (to 16 digits; the last is 1 within double precision).
 */
const Q = [
  0.6931471805599453,
  0.9333736875190459,
  0.9888777961838675,
  0.998495925291496,
  0.9998292811061389,
  0.9999833164100727,
  0.9999985691438767,
  0.9999998906925558,
  0.9999999924734159,
  0.9999999995283275,
  0.9999999999728814,
  0.9999999999985598,
  0.9999999999999289,
  0.9999999999999968,
  0.9999999999999999,
  1.0,
];

/**
 * One standard exponential draw, as R's `exp_rand()`.
 *
 * @param unif the uniform source (`unif_rand()`)
 * @returns a draw from Exp(1)
 * @example
 * ```ts
 * import { expRand } from "./exp.ts";
 * import { MersenneTwister } from "./mt.ts";
 * const mt = new MersenneTwister(1);
 * expRand(() => mt.unifRand()); // 0.7551818, as set.seed(1); rexp(1)
 * ```
 */
export function expRand(unif: () => number): number {
  let a = 0;
  let u = unif();
  // R's precaution for user generators that may return 0 or 1
  while (u <= 0 || u >= 1) u = unif();
  for (;;) {
    u += u;
    if (u > 1) break;
    a += Q[0];
  }
  u -= 1;
  if (u <= Q[0]) return a + u;
  let i = 0;
  let ustar = unif();
  let umin = ustar;
  do {
    ustar = unif();
    if (umin > ustar) umin = ustar;
    i++;
  } while (u > Q[i]);
  return a + umin * Q[0];
}
