/**
 * The normal quantile function of R (`qnorm`, Wichura's AS 241) and R's
 * default normal generator, inversion (`norm_rand()` with
 * `RNGkind(normal.kind = "Inversion")`).
 *
 * Every coefficient below is R's (src/nmath/qnorm.c), not the published
 * AS 241 table: one published denominator coefficient differs from R's in the
 * 12th digit, which changes ~3% of `rnorm` draws by an ulp. The logarithm in
 * the tail branch is `rLog` from ./log.ts: the C library's `log`, which R calls,
 * where Deno may call it, else a correctly rounded one (see there).
 *
 * The branch for extreme tails is R 4.2's (the R this project is checked
 * against): for r = sqrt(-log p) > 5 the R_3 rational approximation, and
 * `r * sqrt(2)` for r >= 816 (only reachable with `logP`). R >= 4.3 replaced
 * the r > 27 part (p < 2.5e-317, or log-probabilities below -729) by asymptotic
 * expansions; `rnorm` never gets there (its p is at least ~8.7e-19).
 * @module
 */

import { rExp, rExpm1, rLog as log } from "./log.ts";

/** 2^27: inversion combines two uniforms for 2^27 · 2^32 resolution. */
const BIG = 134217728;

/**
 * AS 241 for the lower-tail probability `p` in (0, 1) (no argument checks):
 * the standard normal quantile. Shared by `qnorm` and `normRand`.
 */
export function qnormStd(p: number): number {
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    // |p - 0.5| <= .425: the central rational approximation R_1. Horner
    // steps written out one by one, in R's order of operations.
    const r = 0.180625 - q * q;
    let num = r * 2509.0809287301226727 + 33430.575583588128105;
    num = num * r + 67265.770927008700853;
    num = num * r + 45921.953931549871457;
    num = num * r + 13731.693765509461125;
    num = num * r + 1971.5909503065514427;
    num = num * r + 133.14166789178437745;
    num = num * r + 3.387132872796366608;
    let den = r * 5226.495278852854561 + 28729.085735721942674;
    den = den * r + 39307.89580009271061;
    den = den * r + 21213.794301586595867;
    den = den * r + 5394.1960214247511077;
    den = den * r + 687.1870074920579083;
    den = den * r + 42.313330701600911252;
    den = den * r + 1;
    return q * num / den;
  }
  // Tails: r = sqrt(-log(min(p, 1 - p))). `0.5 - p + 0.5` is R_DT_CIv, the
  // same expression R evaluates for 1 - p.
  const val = tailQuantile(Math.sqrt(-log(q > 0 ? 0.5 - p + 0.5 : p)));
  return q < 0 ? -val : val;
}

/** AS 241's tail approximations R_2 (r <= 5) and R_3 (r > 5), R 4.2 style. */
function tailQuantile(r: number): number {
  if (r <= 5) {
    r += -1.6;
    let num = r * 7.7454501427834140764e-4 + .0227238449892691845833;
    num = num * r + .24178072517745061177;
    num = num * r + 1.27045825245236838258;
    num = num * r + 3.64784832476320460504;
    num = num * r + 5.7694972214606914055;
    num = num * r + 4.6303378461565452959;
    num = num * r + 1.42343711074968357734;
    let den = r * 1.05075007164441684324e-9 + 5.475938084995344946e-4;
    den = den * r + .0151986665636164571966;
    den = den * r + .14810397642748007459;
    den = den * r + .68976733498510000455;
    den = den * r + 1.6763848301838038494;
    den = den * r + 2.05319162663775882187;
    den = den * r + 1;
    return num / den;
  }
  if (r >= 816) {
    // R 4.2: p extremely close to 0 or 1 (log scale only); asymptote.
    return r * Math.SQRT2;
  }
  r += -5;
  let num = r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5;
  num = num * r + .0012426609473880784386;
  num = num * r + .026532189526576123093;
  num = num * r + .29656057182850489123;
  num = num * r + 1.7848265399172913358;
  num = num * r + 5.4637849111641143699;
  num = num * r + 6.6579046435011037772;
  let den = r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7;
  den = den * r + 1.8463183175100546818e-5;
  den = den * r + 7.868691311456132591e-4;
  den = den * r + .0148753612908506148525;
  den = den * r + .13692988092273580531;
  den = den * r + .59983220655588793769;
  den = den * r + 1;
  return num / den;
}

/**
 * The normal quantile function, as R's `qnorm(p, mean, sd, lower.tail,
 * log.p)` (R 4.2's algorithm; see the module notes).
 *
 * Out-of-range input gives what R gives, without R's warning: `NaN` for
 * p outside [0, 1] (or > 0 with `logP`) and for `sd < 0`; ±Infinity at the
 * boundaries; `mean` when `sd` is 0.
 *
 * @param p probability (a log-probability when `logP` is true)
 * @param mean mean of the distribution
 * @param sd standard deviation
 * @param lowerTail if true probabilities are P[X <= x], otherwise P[X > x]
 * @param logP if true `p` is given as log(p)
 * @returns the quantile
 * @example
 * ```ts
 * import { qnorm } from "./normal.ts";
 * qnorm(0.975); // 1.959963984540054
 * qnorm(-10, 0, 1, true, true); // -3.913946240531893
 * ```
 */
export function qnorm(
  p: number,
  mean = 0,
  sd = 1,
  lowerTail = true,
  logP = false,
): number {
  if (Number.isNaN(p) || Number.isNaN(mean) || Number.isNaN(sd)) {
    return p + mean + sd;
  }
  // R_Q_P01_boundaries(p, -Inf, Inf)
  if (logP) {
    if (p > 0) return NaN;
    if (p === 0) return lowerTail ? Infinity : -Infinity;
    if (p === -Infinity) return lowerTail ? -Infinity : Infinity;
  } else {
    if (p < 0 || p > 1) return NaN;
    if (p === 0) return lowerTail ? -Infinity : Infinity;
    if (p === 1) return lowerTail ? Infinity : -Infinity;
  }
  if (sd < 0) return NaN;
  if (sd === 0) return mean;

  if (!logP && lowerTail) return mean + sd * qnormStd(p);

  // General case, following qnorm.c with R_DT_qIv / R_DT_CIv spelled out.
  const pLower = logP ? (lowerTail ? rExp(p) : -rExpm1(p)) : (lowerTail ? p : 0.5 - p + 0.5);
  const q = pLower - 0.5;
  let val: number;
  if (Math.abs(q) <= 0.425) {
    val = qnormStd(pLower);
  } else {
    let r: number;
    if (logP && ((lowerTail && q <= 0) || (!lowerTail && q > 0))) {
      r = p;
    } else {
      // log of the smaller tail probability: 1 - p~ when q > 0, else p~.
      const small = q > 0
        ? (logP ? (lowerTail ? -rExpm1(p) : rExp(p)) : (lowerTail ? 0.5 - p + 0.5 : p))
        : pLower;
      r = log(small);
    }
    r = Math.sqrt(-r);
    val = tailQuantile(r);
    if (q < 0) val = -val;
  }
  return mean + sd * val;
}

/**
 * R's `norm_rand()` by inversion: two uniforms make one 59-bit-resolution
 * probability, `u = (floor(2^27 u1) + u2) / 2^27`, which goes through
 * `qnorm`. Each normal draw therefore consumes exactly two uniforms.
 *
 * @param unifRand the uniform source (R's `unif_rand()`)
 * @returns a standard normal draw
 * @example
 * ```ts
 * import { normRand } from "./normal.ts";
 * import { MersenneTwister } from "./mt.ts";
 * const mt = new MersenneTwister(42);
 * normRand(() => mt.unifRand()); // 1.3709584471466685, as set.seed(42); rnorm(1)
 * ```
 */
export function normRand(unifRand: () => number): number {
  let u = unifRand();
  // (int)(BIG * u): BIG * u < 2^27, so truncation by `| 0` is exact.
  u = ((BIG * u) | 0) + unifRand();
  return qnormStd(u / BIG);
}
