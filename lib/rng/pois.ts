/**
 * R's Poisson generator (`rpois`, R 4.2's src/nmath/rpois.c), written afresh
 * from its description (Ahrens & Dieter 1982, "Computer generation of
 * Poisson deviates from modified normal distributions"):
 *  - μ < 10: inversion with a table of cumulative probabilities P(X ≤ k),
 *    k ≤ 35, built lazily and kept while μ stays the same; a uniform beyond
 *    P(X ≤ 35) is redrawn;
 *  - μ ≥ 10: a normal draw μ + √μ·z, accepted at once when large enough,
 *    else by a squeeze with one uniform, else by comparing with Hermite
 *    approximations of the discrete normal probabilities (quotient
 *    acceptance), and on rejection by sampling from a double-exponential
 *    "hat" (one `exp_rand()` and one uniform per attempt).
 *
 * Every constant and arithmetic step is R's, in R's order, with the C
 * library's `log`, `exp` and `pow` where FFI is permitted ({@link rLog},
 * {@link rExp}, {@link rPow}).
 *
 * R keeps the table and the μ-dependent constants in static variables
 * between calls (recomputed when μ changes). Rebuilt or cached, the table
 * and constants have the same values, so in R 4.2 the cache changes speed,
 * never the stream; {@link PoissonGenerator} keeps the same cache per stream.
 * @module
 */

import { expRand } from "./exp.ts";
import { normRand } from "./normal.ts";
import { rExp as exp, rLog as log, rPow as pow } from "./log.ts";

// Coefficients of the polynomial approximation of log(1 + v) - v (R's a0..a7).
const A0 = -0.5;
const A1 = 0.3333333;
const A2 = -0.2500068;
const A3 = 0.2000118;
const A4 = -0.1661269;
const A5 = 0.1421878;
const A6 = -0.1384794;
const A7 = 0.1250060;

const ONE_7 = 0.1428571428571428571;
const ONE_12 = 0.0833333333333333333;
const ONE_24 = 0.0416666666666666667;
/** R's M_1_SQRT_2PI, 1/√(2π). */
const M_1_SQRT_2PI = 0.398942280401432677939946059934;

/** 0!, ..., 9!. */
const FACT = [1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880];

/** |x|·sign(y), as R's `fsign`. */
function fsign(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return x + y;
  return y >= 0 ? Math.abs(x) : -Math.abs(x);
}

/**
 * One stream's Poisson generator with R's per-μ cache.
 *
 * @example
 * ```ts
 * import { PoissonGenerator } from "./pois.ts";
 * import { MersenneTwister } from "./mt.ts";
 * const mt = new MersenneTwister(42);
 * new PoissonGenerator().draw(4, () => mt.unifRand()); // as set.seed(42); rpois(1, 4)
 * ```
 */
export class PoissonGenerator {
  // Small μ: the cumulative table pp[1..l], the last term p and sum q.
  #l = 0;
  #m = 0;
  readonly #pp = new Float64Array(36);
  #p0 = 0;
  #p = 0;
  #q = 0;
  // Large μ: √μ, 6μ², floor(μ - 1.1484) and the Hermite coefficients.
  #s = 0;
  #d = 0;
  #bigL = 0;
  #omega = 0;
  #c = 0;
  #c0 = 0;
  #c1 = 0;
  #c2 = 0;
  #c3 = 0;
  #muprev = 0;
  #muprev2 = 0;

  /**
   * One draw of R's C-level `rpois(mu)`: NaN for a negative or non-finite
   * μ, 0 for μ = 0.
   *
   * @param mu the mean
   * @param unif the uniform source (`unif_rand()`)
   * @returns the count (a double: it may exceed 2³¹ for a huge μ), or NaN
   */
  draw(mu: number, unif: () => number): number {
    if (!Number.isFinite(mu) || mu < 0) return NaN;
    if (mu <= 0) return 0;
    const bigMu = mu >= 10;
    let newBigMu = false;
    if (!(bigMu && mu === this.#muprev)) {
      if (bigMu) {
        newBigMu = true;
        this.#muprev = mu;
        this.#s = Math.sqrt(mu);
        this.#d = 6 * mu * mu;
        this.#bigL = Math.floor(mu - 1.1484);
      } else {
        return this.#small(mu, unif);
      }
    }
    return this.#large(mu, newBigMu, unif);
  }

  /** μ < 10: table look-up inversion. */
  #small(mu: number, unif: () => number): number {
    if (mu !== this.#muprev) {
      this.#muprev = mu;
      this.#m = Math.max(1, Math.trunc(mu));
      this.#l = 0;
      this.#p = this.#q = this.#p0 = exp(-mu);
    }
    const pp = this.#pp;
    for (;;) {
      const u = unif();
      if (u <= this.#p0) return 0;
      const l = this.#l;
      if (l !== 0) {
        // the table so far; above 0.458 the answer is at least min(l, m)
        for (let k = u <= 0.458 ? 1 : Math.min(l, this.#m); k <= l; k++) {
          if (u <= pp[k]) return k;
        }
        if (l === 35) continue;
      }
      // extend the table until it passes u
      this.#l = l + 1;
      for (let k = this.#l; k <= 35; k++) {
        this.#p *= mu / k;
        this.#q += this.#p;
        pp[k] = this.#q;
        if (u <= this.#q) {
          this.#l = k;
          return k;
        }
      }
      this.#l = 35;
    }
  }

  /** μ ≥ 10: normal approximation with squeeze, quotient and hat acceptance. */
  #large(mu: number, newBigMu: boolean, unif: () => number): number {
    const s = this.#s;
    // Step N: normal sample
    const g = mu + s * normRand(unif);
    let pois = -1;
    let fk = 0;
    let difmuk = 0;
    let u = 0;
    if (g >= 0) {
      pois = Math.floor(g);
      // Step I: immediate acceptance
      if (pois >= this.#bigL) return pois;
      // Step S: squeeze acceptance
      fk = pois;
      difmuk = mu - fk;
      u = unif();
      if (this.#d * u >= difmuk * difmuk * difmuk) return pois;
    }
    // Step P: constants of the Hermite approximations (when μ changed)
    if (newBigMu || mu !== this.#muprev2) {
      this.#muprev2 = mu;
      this.#omega = M_1_SQRT_2PI / s;
      const b1 = ONE_24 / mu;
      const b2 = 0.3 * b1 * b1;
      const c3 = ONE_7 * b1 * b2;
      this.#c3 = c3;
      this.#c2 = b2 - 15 * c3;
      this.#c1 = b1 - 6 * b2 + 45 * c3;
      this.#c0 = 1 - b1 + 3 * b2 - 15 * c3;
      this.#c = 0.1069 / mu;
    }
    const omega = this.#omega, c = this.#c;
    const c0 = this.#c0, c1 = this.#c1, c2 = this.#c2, c3 = this.#c3;
    // With g >= 0 the first pass evaluates F for the normal candidate and
    // tries quotient acceptance (kflag = 0); later passes sample the hat.
    let fromHat = !(g >= 0);
    let e = 0;
    for (;;) {
      if (fromHat) {
        // Step E: double-exponential sample t
        e = expRand(unif);
        u = 2 * unif() - 1;
        const t = 1.8 + fsign(e, u);
        if (!(t > -0.6744)) continue;
        pois = Math.floor(mu + s * t);
        fk = pois;
        difmuk = mu - fk;
      }
      // Step F: px, py (log Poisson probability pieces), fx, fy (normal)
      let px: number, py: number;
      if (pois < 10) {
        px = -mu;
        py = pow(mu, pois) / FACT[pois];
      } else {
        let del = ONE_12 / fk;
        del = del * (1 - 4.8 * del * del);
        const v = difmuk / fk;
        if (Math.abs(v) <= 0.25) {
          px = fk * v * v *
              (((((((A7 * v + A6) * v + A5) * v + A4) * v + A3) * v + A2) * v + A1) * v + A0) -
            del;
        } else {
          px = fk * log(1 + v) - difmuk - del;
        }
        py = M_1_SQRT_2PI / Math.sqrt(fk);
      }
      let x = (0.5 - difmuk) / s;
      x *= x;
      const fx = -0.5 * x;
      const fy = omega * (((c3 * x + c2) * x + c1) * x + c0);
      if (fromHat) {
        // Step H: hat acceptance
        if (c * Math.abs(u) <= py * exp(px + e) - fy * exp(fx + e)) return pois;
      } else if (fy - u * fy <= py * exp(px - fx)) {
        // Step Q: quotient acceptance
        return pois;
      }
      fromHat = true;
    }
  }
}
