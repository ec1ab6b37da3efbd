/**
 * R's binomial generator (`rbinom`, R 4.2's src/nmath/rbinom.c), written
 * afresh from its description:
 *  - n·p < 30: inversion of the cdf, walking up from P(X = 0) = qⁿ with the
 *    recurrence P(k)/P(k-1) = (n - k + 1)p / (kq), giving up after 110 steps
 *    and drawing a new uniform;
 *  - n·p ≥ 30: Kachitvichyanukul & Schmeiser's BTPE (1988): a triangle, two
 *    parallelograms and two exponential tails bound the distribution; two
 *    uniforms per attempt; acceptance by explicit evaluation near the mode,
 *    else by a squeeze and, rarely, Stirling's formula.
 * Both work with p' = min(p, 1 - p) and report n - X when p > 1/2.
 *
 * Every arithmetic step is R's, in R's order: C's `(int)` casts truncate
 * towards zero (`Math.trunc`, not `floor`: a left-tail candidate in (-1, 0)
 * becomes 0 and is kept), `-k * k` is a 32-bit integer product, qⁿ is R's
 * `R_pow_di` (repeated squaring), and `log` is the C library's when FFI is
 * permitted ({@link rLog}), as in the normal generator.
 *
 * R keeps the set-up constants in static variables and recomputes them only
 * when (n, p) change between calls. In R 4.2 the cached values always equal
 * what a recomputation would give, so the cache changes speed, never the
 * stream; {@link BinomialGenerator} keeps the same cache per stream.
 *
 * Not reproduced: sizes ≥ 2³¹ - 1, where R switches to `qbinom(unif_rand(),
 * ...)` (its exact quantile search is not ported); these throw.
 * @module
 */

import { rLog as log } from "./log.ts";

/** R's `INT_MAX`. */
const INT_MAX = 2147483647;

/**
 * R's `R_pow_di(x, n)` for n ≥ 0 and finite x: xⁿ by repeated squaring
 * (its rounding differs from `Math.pow`).
 */
export function powDi(x: number, n: number): number {
  let xn = 1;
  if (Number.isNaN(x)) return x;
  if (n === 0) return 1;
  if (!Number.isFinite(x)) return Math.pow(x, n);
  for (;;) {
    if (n & 1) xn *= x;
    n >>>= 1;
    if (n) x *= x;
    else break;
  }
  return xn;
}

/** 13860 - (462 - (132 - (99 - 140/x²)/x²)/x²)/x², the Stirling series term. */
function stirling(x2: number): number {
  return 13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / x2) / x2) / x2) / x2;
}

/**
 * One stream's binomial generator with R's per-parameter cache.
 *
 * @example
 * ```ts
 * import { BinomialGenerator } from "./binom.ts";
 * import { MersenneTwister } from "./mt.ts";
 * const mt = new MersenneTwister(42);
 * const gen = new BinomialGenerator();
 * gen.draw(10, 0.3, () => mt.unifRand()); // 5, as set.seed(42); rbinom(1, 10, 0.3)
 * ```
 */
export class BinomialGenerator {
  // The parameters the constants below belong to (R's psave, nsave).
  #psave = -1;
  #nsave = -1;
  // Inversion: P(X = 0) for min(p, 1 - p).
  #qn = 0;
  // BTPE set-up (R's names).
  #m = 0;
  #fm = 0;
  #npq = 0;
  #p1 = 0;
  #p2 = 0;
  #p3 = 0;
  #p4 = 0;
  #xm = 0;
  #xl = 0;
  #xr = 0;
  #c = 0;
  #xll = 0;
  #xlr = 0;

  /**
   * One draw of R's C-level `rbinom(nin, pp)`: NaN where R returns NaN
   * (non-finite or non-integer size, negative size, p outside [0, 1]).
   *
   * @param nin the size
   * @param pp the success probability
   * @param unif the uniform source (`unif_rand()`)
   * @returns the number of successes, or NaN
   */
  draw(nin: number, pp: number, unif: () => number): number {
    if (!Number.isFinite(nin) || !Number.isInteger(nin)) return NaN;
    if (!Number.isFinite(pp) || nin < 0 || pp < 0 || pp > 1) return NaN;
    if (nin === 0 || pp === 0) return 0;
    if (pp === 1) return nin;
    if (nin >= INT_MAX) {
      throw new RangeError(
        `rbinom: size ${nin} >= 2147483647 is not supported (R draws those by qbinom)`,
      );
    }
    const n = nin;
    const p = pp < 1 - pp ? pp : 1 - pp;
    const q = 1 - p;
    const np = n * p;
    const r = p / q;
    const g = r * (n + 1);
    let ix: number;
    if (pp !== this.#psave || n !== this.#nsave) {
      this.#psave = pp;
      this.#nsave = n;
      if (np < 30) {
        this.#qn = powDi(q, n);
      } else {
        this.#setupBtpe(p, q, np);
      }
    }
    if (np < 30) {
      ix = this.#inversion(unif, this.#qn, g, r);
    } else {
      ix = this.#btpe(n, p, q, g, r, unif);
    }
    return this.#psave > 0.5 ? n - ix : ix;
  }

  #setupBtpe(p: number, q: number, np: number): void {
    const ffm = np + p;
    const m = Math.trunc(ffm);
    this.#m = m;
    const fm = m;
    this.#fm = fm;
    const npq = np * q;
    this.#npq = npq;
    const p1 = Math.trunc(2.195 * Math.sqrt(npq) - 4.6 * q) + 0.5;
    this.#p1 = p1;
    const xm = fm + 0.5;
    this.#xm = xm;
    const xl = xm - p1;
    this.#xl = xl;
    const xr = xm + p1;
    this.#xr = xr;
    const c = 0.134 + 20.5 / (15.3 + fm);
    this.#c = c;
    let al = (ffm - xl) / (ffm - xl * p);
    const xll = al * (1.0 + 0.5 * al);
    this.#xll = xll;
    al = (xr - ffm) / (xr * q);
    const xlr = al * (1.0 + 0.5 * al);
    this.#xlr = xlr;
    const p2 = p1 * (1.0 + c + c);
    this.#p2 = p2;
    const p3 = p2 + c / xll;
    this.#p3 = p3;
    this.#p4 = p3 + c / xlr;
  }

  /** n·p < 30: inversion from P(0) = qn upwards; a new uniform after 110 steps. */
  #inversion(unif: () => number, qn: number, g: number, r: number): number {
    for (;;) {
      let ix = 0;
      let f = qn;
      let u = unif();
      for (;;) {
        if (u < f) return ix;
        if (ix > 110) break;
        u -= f;
        ix++;
        f *= g / ix - r;
      }
    }
  }

  /** n·p ≥ 30: BTPE with the cached set-up. */
  #btpe(n: number, p: number, q: number, g: number, r: number, unif: () => number): number {
    const m = this.#m, fm = this.#fm, npq = this.#npq;
    const p1 = this.#p1, p2 = this.#p2, p3 = this.#p3, p4 = this.#p4;
    const xm = this.#xm, xl = this.#xl, xr = this.#xr, c = this.#c;
    const xll = this.#xll, xlr = this.#xlr;
    for (;;) {
      const u = unif() * p4;
      let v = unif();
      // triangle: accept at once
      if (u <= p1) return Math.trunc(xm - p1 * v + u);
      let ix: number;
      if (u <= p2) {
        // parallelograms
        const x = xl + (u - p1) / c;
        v = v * c + 1.0 - Math.abs(xm - x) / p1;
        if (v > 1.0 || v <= 0) continue;
        ix = Math.trunc(x);
      } else if (u > p3) {
        // right exponential tail
        ix = Math.trunc(xr - log(v) / xlr);
        if (ix > n) continue;
        v = v * (u - p3) * xlr;
      } else {
        // left exponential tail
        ix = Math.trunc(xl + log(v) / xll);
        if (ix < 0) continue;
        v = v * (u - p2) * xll;
      }
      const k = Math.abs(ix - m);
      if (k <= 20 || k >= npq / 2 - 1) {
        // explicit evaluation of f(ix)/f(m) by the recurrence
        let f = 1.0;
        if (m < ix) {
          for (let i = m + 1; i <= ix; i++) f *= g / i - r;
        } else if (m !== ix) {
          for (let i = ix + 1; i <= m; i++) f /= g / i - r;
        }
        if (v <= f) return ix;
      } else {
        // squeeze with bounds on log f(ix), then Stirling's formula
        const amaxp = (k / npq) * ((k * (k / 3 + 0.625) + 0.1666666666666) / npq + 0.5);
        // C's int product -k * k (wraps like R's for huge k)
        const ynorm = Math.imul(-k, k) / (2.0 * npq);
        const alv = log(v);
        if (alv < ynorm - amaxp) return ix;
        if (alv <= ynorm + amaxp) {
          const x1 = ix + 1;
          const f1 = fm + 1.0;
          const z = n + 1 - fm;
          const w = n - ix + 1.0;
          const z2 = z * z, x2 = x1 * x1, f2 = f1 * f1, w2 = w * w;
          // R 4.2 adds all four Stirling terms (later R subtracts two: PR#19049)
          const bound = xm * log(f1 / x1) + (n - m + 0.5) * log(z / w) +
            (ix - m) * log(w * p / (x1 * q)) +
            stirling(f2) / f1 / 166320.0 + stirling(z2) / z / 166320.0 +
            stirling(x2) / x1 / 166320.0 + stirling(w2) / w / 166320.0;
          if (alv <= bound) return ix;
        }
      }
    }
  }
}
