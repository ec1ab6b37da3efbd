/**
 * Random numbers identical to R's defaults (R >= 3.6: `RNGkind()` =
 * "Mersenne-Twister", "Inversion", "Rejection"): `rng(seed)` behaves like
 * `set.seed(seed)`, and its methods continue one stream as consecutive R
 * calls do.
 *
 * Agreement with R (R 4.2.2 on glibc 2.36, checked by tests/rng_test.ts):
 * uniforms, `sampleInt` and `rmvnorm` with a diagonal sigma are
 * bit-identical. `rnorm` is bit-identical when the quantile function can use
 * the C library's `log`, as R does (Deno's FFI permission granted, e.g.
 * `deno test -A` or a Jupyter kernel: 500,000 of 500,000 draws checked);
 * otherwise a correctly rounded portable `log` is used, and about 1 draw in
 * 100,000 differs from R by an ulp or two, because glibc's `log` itself
 * misrounds a few near-midpoint arguments (see ./log.ts, `setLogSource`).
 * `rmvnorm` with a non-diagonal sigma agrees to ~1e-15 (R's LAPACK
 * eigenvectors are not reproducible bit for bit, the square root is).
 * @module
 */

import { isSymmetric, symmetricEigen } from "./eigen.ts";
import { MersenneTwister, toSeed } from "./mt.ts";
import { normRand } from "./normal.ts";
import { BinomialGenerator } from "./binom.ts";
import { PoissonGenerator } from "./pois.ts";

export {
  getLogSource,
  log,
  type LogSource,
  rExp,
  rExpm1,
  rLog,
  rPow,
  setLogSource,
} from "./log.ts";
export { BinomialGenerator, powDi } from "./binom.ts";
export { PoissonGenerator } from "./pois.ts";
export { expRand } from "./exp.ts";
export { normRand, qnorm } from "./normal.ts";
export { isSymmetric, type SymmetricEigen, symmetricEigen } from "./eigen.ts";
export { MersenneTwister } from "./mt.ts";

/** R's `INT_MAX`: the largest population `sampleInt` accepts. */
const INT_MAX = 2147483647;

/** Checks a count argument: a finite non-negative integer. */
function checkCount(value: number, name: string, max = INT_MAX): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 0 ||
    value > max
  ) {
    throw new RangeError(
      `invalid '${name}' argument: expected an integer in [0, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

/** Checks a finite numeric parameter. */
function checkFinite(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(
      `'${name}' must be a finite number, got ${String(value)}`,
    );
  }
  return value;
}

/** A distribution parameter as an array (a number is an array of one). */
function asParams(x: number | ArrayLike<number>, name: string): ArrayLike<number> {
  if (typeof x === "number") return [x];
  if (x === null || typeof x !== "object" || typeof x.length !== "number") {
    throw new TypeError(`'${name}' must be a number or an array of numbers, got ${String(x)}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (typeof x[i] !== "number") {
      throw new TypeError(`'${name}' must contain numbers: element ${i + 1} is ${String(x[i])}`);
    }
  }
  return x;
}

/** R's warning for NA results of a random generator. */
function warnNA(fn: string): void {
  console.warn(`Warning message:\nIn ${fn}() : NAs produced`);
}

/**
 * One random stream of R, started by `set.seed(seed)`. Create it with
 * {@link rng}.
 */
export class Rng {
  readonly #mt: MersenneTwister;
  readonly #unif: () => number;
  // R's static state of rbinom/rpois (per stream here; see binom.ts, pois.ts)
  readonly #binom = new BinomialGenerator();
  readonly #pois = new PoissonGenerator();

  /**
   * Starts the stream as `set.seed(seed)`; {@link rng} is the usual way.
   * @param seed as for R's `set.seed()` (an integer)
   */
  constructor(seed: number) {
    this.#mt = new MersenneTwister(seed);
    const mt = this.#mt;
    this.#unif = () => mt.unifRand();
  }

  /**
   * One uniform draw in (0, 1): R's C-level `unif_rand()`.
   * @returns the next uniform of the stream
   */
  unifRand(): number {
    return this.#mt.unifRand();
  }

  /**
   * One standard normal draw: R's C-level `norm_rand()` (inversion; uses two
   * uniforms).
   * @returns the next standard normal of the stream
   */
  normRand(): number {
    return normRand(this.#unif);
  }

  /**
   * `n` normal draws, as R's `rnorm(n, mean, sd)`.
   *
   * As in R, `sd = 0` (or an infinite `mean`) returns `mean` n times without
   * consuming random numbers. Where R returns NaN with a warning (negative or
   * infinite `sd`, NaN `mean`), this throws.
   *
   * @param n number of draws (a non-negative integer)
   * @param mean mean
   * @param sd standard deviation (>= 0)
   * @returns the draws
   * @example
   * ```ts
   * import { rng } from "./mod.ts";
   * rng(42).rnorm(3); // [1.3709584471466685, -0.5646981713960887, 0.3631284113373392]
   * ```
   */
  rnorm(n: number, mean = 0, sd = 1): Float64Array {
    checkCount(n, "n", Number.MAX_SAFE_INTEGER);
    if (typeof mean !== "number" || Number.isNaN(mean)) {
      throw new RangeError(`'mean' must be a number, got ${String(mean)}`);
    }
    if (typeof sd !== "number" || !Number.isFinite(sd) || sd < 0) {
      throw new RangeError(
        `'sd' must be a finite number >= 0, got ${String(sd)}`,
      );
    }
    const out = new Float64Array(n);
    if (sd === 0 || !Number.isFinite(mean)) {
      // R's rnorm(): returns mu without drawing.
      out.fill(mean);
      return out;
    }
    const unif = this.#unif;
    for (let i = 0; i < n; i++) out[i] = mean + sd * normRand(unif);
    return out;
  }

  /**
   * `n` uniform draws on (min, max), as R's `runif(n, min, max)`.
   * `min = max` returns `min` n times without drawing (as R does).
   *
   * @param n number of draws (a non-negative integer)
   * @param min lower limit (finite)
   * @param max upper limit (finite, >= min)
   * @returns the draws
   * @example
   * ```ts
   * import { rng } from "./mod.ts";
   * rng(42).runif(2); // [0.9148060434963554, 0.9370754132978618]
   * ```
   */
  runif(n: number, min = 0, max = 1): Float64Array {
    checkCount(n, "n", Number.MAX_SAFE_INTEGER);
    checkFinite(min, "min");
    checkFinite(max, "max");
    if (max < min) {
      throw new RangeError(`'max' (${max}) must be >= 'min' (${min})`);
    }
    const out = new Float64Array(n);
    if (min === max) {
      out.fill(min);
      return out;
    }
    const mt = this.#mt;
    for (let i = 0; i < n; i++) {
      // unif_rand() is already in (0, 1); R re-checks for user generators.
      out[i] = min + (max - min) * mt.unifRand();
    }
    return out;
  }

  /**
   * `n` binomial draws, as R's `rbinom(n, size, prob)`: `size` and `prob`
   * may be numbers or arrays, recycled to length n as R recycles them (draw
   * i uses `size[i % size.length]`, `prob[i % prob.length]`). R's algorithms
   * bit for bit: inversion for size·min(p, 1-p) < 30, else BTPE (see
   * ./binom.ts).
   *
   * As in R, `prob` 0 or `size` 0 gives 0 and `prob` 1 gives `size` without
   * drawing; a NaN, negative or non-integer `size`, or `prob` outside [0, 1],
   * gives NaN (R's NA) and R's warning "NAs produced" on `console.warn`, as
   * do empty parameter arrays (all NaN). R returns an integer vector; this
   * returns doubles. Sizes ≥ 2³¹ - 1 throw (R draws those by `qbinom`).
   *
   * @param n number of draws (a non-negative integer)
   * @param size numbers of trials (non-negative integers)
   * @param prob success probabilities in [0, 1]
   * @returns the numbers of successes
   * @example
   * ```ts
   * import { rng } from "./mod.ts";
   * rng(42).rbinom(5, 10, 0.3); // [5, 5, 2, 4, 3], as set.seed(42); rbinom(5, 10, 0.3)
   * rng(1).rbinom(3, [1, 100, 1000], [0.5, 0.9]); // [0, 91, 497]: prob recycled
   * ```
   */
  rbinom(
    n: number,
    size: number | ArrayLike<number>,
    prob: number | ArrayLike<number>,
  ): Float64Array {
    checkCount(n, "n", Number.MAX_SAFE_INTEGER);
    const a = asParams(size, "size");
    const b = asParams(prob, "prob");
    const out = new Float64Array(n);
    if (n === 0) return out;
    if (a.length === 0 || b.length === 0) {
      out.fill(NaN);
      warnNA("rbinom");
      return out;
    }
    const gen = this.#binom, unif = this.#unif;
    const na = a.length, nb = b.length;
    let nan = false;
    for (let i = 0; i < n; i++) {
      const v = gen.draw(a[na === 1 ? 0 : i % na], b[nb === 1 ? 0 : i % nb], unif);
      if (Number.isNaN(v)) nan = true;
      out[i] = v;
    }
    if (nan) warnNA("rbinom");
    return out;
  }

  /**
   * `n` Poisson draws, as R's `rpois(n, lambda)`: `lambda` a number or an
   * array recycled to length n. R's algorithms bit for bit: table-lookup
   * inversion for λ < 10, else Ahrens & Dieter's normal-approximation method
   * (see ./pois.ts).
   *
   * As in R, λ = 0 gives 0 without drawing; a NaN, negative or infinite λ
   * gives NaN (R's NA) and R's warning "NAs produced" on `console.warn`, as
   * does an empty `lambda` (all NaN). R returns integers (doubles above
   * 2³¹ - 1); this returns doubles.
   *
   * @param n number of draws (a non-negative integer)
   * @param lambda means (≥ 0)
   * @returns the counts
   * @example
   * ```ts
   * import { rng } from "./mod.ts";
   * rng(42).rpois(5, 4); // [7, 7, 3, 6, 5], as set.seed(42); rpois(5, 4)
   * rng(7).rpois(4, [0.5, 50]); // [3, 48, 0, 45]: lambda recycled
   * ```
   */
  rpois(n: number, lambda: number | ArrayLike<number>): Float64Array {
    checkCount(n, "n", Number.MAX_SAFE_INTEGER);
    const a = asParams(lambda, "lambda");
    const out = new Float64Array(n);
    if (n === 0) return out;
    if (a.length === 0) {
      out.fill(NaN);
      warnNA("rpois");
      return out;
    }
    const gen = this.#pois, unif = this.#unif;
    const na = a.length;
    let nan = false;
    for (let i = 0; i < n; i++) {
      const v = gen.draw(a[na === 1 ? 0 : i % na], unif);
      if (Number.isNaN(v)) nan = true;
      out[i] = v;
    }
    if (nan) warnNA("rpois");
    return out;
  }

  /**
   * R's `R_unif_index(dn)` with sample.kind = "Rejection": a uniform integer
   * in [0, dn), from random bits in 16-bit chunks, rejecting values >= dn.
   *
   * @param dn the number of possible values (a positive integer < 2^31)
   * @returns an integer in [0, dn)
   */
  unifIndex(dn: number): number {
    if (dn <= 0) return 0;
    // bits = ceil(log2(dn)), computed exactly: the bit length of dn - 1
    // (dn <= 2^31, so dn - 1 fits clz32's unsigned 32-bit argument).
    const bits = dn <= 1 ? 0 : 32 - Math.clz32(dn - 1);
    // Masking with integer ops: v < 2^32, and ToInt32 keeps its low 32 bits,
    // so (v & mask) equals v mod 2^bits for bits <= 31 (a double % is slow).
    const mask = bits === 0 ? 0 : (2 ** bits - 1) | 0;
    const mt = this.#mt;
    for (;;) {
      // rbits(bits): note the loop runs for n = 0, 16, ... while n <= bits,
      // so bits = 16 uses two chunks, as in R.
      let v = 0;
      for (let b = 0; b <= bits; b += 16) {
        // floor(u * 65536) with u in (0, 1): below 2^16, so | 0 truncates exactly.
        v = 65536 * v + ((mt.unifRand() * 65536) | 0);
      }
      const dv = v & mask;
      if (dv < dn) return dv;
    }
  }

  /**
   * A random sample of `size` of the integers 1..n without replacement, as
   * R's `sample.int(n, size)` (R >= 3.6, "Rejection" sampling), including
   * R's switch to its hashing algorithm (`useHash`) when n > 1e7 and
   * size <= n/2.
   *
   * @param n population size (an integer in [0, 2147483647])
   * @param size sample size (an integer in [0, n]); defaults to n, a random
   *   permutation
   * @returns the sample, 1-based, in draw order
   * @example
   * ```ts
   * import { rng } from "./mod.ts";
   * rng(42).sampleInt(10); // [1, 5, 10, 8, 2, 4, 6, 9, 7, 3]
   * ```
   */
  sampleInt(n: number, size: number = n): Int32Array {
    checkCount(n, "n");
    checkCount(size, "size");
    if (size > n) {
      throw new RangeError(
        `cannot take a sample larger than the population when 'replace = FALSE' (size ${size} > n ${n})`,
      );
    }
    const k = size;
    const out = new Int32Array(k);
    if (n > 1e7 && k <= n / 2) {
      // R's sample.int(useHash = TRUE) -> .Internal(sample2(n, size)): draw
      // with replacement, redrawing duplicates (at most 100 tries, as R).
      const seen = new Set<number>();
      for (let i = 0; i < k; i++) {
        let v = 0;
        for (let j = 0; j < 100; j++) {
          v = this.unifIndex(n) + 1;
          if (!seen.has(v)) break;
        }
        seen.add(v);
        out[i] = v;
      }
      return out;
    }
    if (k < 2) {
      // R avoids the allocation for a single draw; same stream use.
      for (let i = 0; i < k; i++) out[i] = this.unifIndex(n) + 1;
      return out;
    }
    // Partial Fisher-Yates as do_sample: pick x[j], replace it by the last.
    const x = new Int32Array(n);
    for (let i = 0; i < n; i++) x[i] = i;
    let m = n;
    for (let i = 0; i < k; i++) {
      const j = this.unifIndex(m);
      out[i] = x[j] + 1;
      x[j] = x[--m];
    }
    return out;
  }

  /**
   * `n` draws from a multivariate normal distribution, as
   * `mvtnorm::rmvnorm(n, mean, sigma)` with its default method "eigen":
   * `R = t(V %*% (t(V) * sqrt(pmax(values, 0))))` from
   * `eigen(sigma, symmetric = TRUE)`, then
   * `matrix(rnorm(n * p), nrow = n, byrow = TRUE) %*% R`, plus `mean`.
   * So row i uses the i-th block of p consecutive normal draws.
   *
   * Where mvtnorm only warns that sigma "is numerically not positive
   * semidefinite" (eigenvalue < -sqrt(eps)·largest), this throws.
   *
   * @param n number of draws (rows)
   * @param sigma p × p covariance matrix (symmetric, positive semidefinite)
   * @param mean mean vector of length p (default zeros)
   * @returns n rows of p values
   * @example
   * ```ts
   * import { rng } from "./mod.ts";
   * const draws = rng(888).rmvnorm(2, [[0.25, 0], [0, 0.0625]]);
   * draws.length; // 2, each a row of 2
   * ```
   */
  rmvnorm(
    n: number,
    sigma: ArrayLike<ArrayLike<number>>,
    mean?: ArrayLike<number>,
  ): number[][] {
    checkCount(n, "n", Number.MAX_SAFE_INTEGER);
    const p = sigma.length;
    if (p === 0) throw new RangeError("sigma must be a non-empty square matrix");
    for (let i = 0; i < p; i++) {
      if (sigma[i].length !== p) {
        throw new RangeError(
          `sigma must be a square matrix: row ${i + 1} has ${
            sigma[i].length
          } entries, expected ${p}`,
        );
      }
      for (let j = 0; j < p; j++) {
        if (!Number.isFinite(sigma[i][j])) {
          throw new RangeError(
            `sigma must be finite: sigma[${i + 1}, ${j + 1}] is ${sigma[i][j]}`,
          );
        }
      }
    }
    if (!isSymmetric(sigma)) {
      throw new RangeError("sigma must be a symmetric matrix");
    }
    const mu = mean ?? new Float64Array(p);
    if (mu.length !== p) {
      throw new RangeError("mean and sigma have non-conforming size");
    }
    const { values, vectors: v } = symmetricEigen(sigma);
    if (values.some((l) => !(l >= -Math.sqrt(Number.EPSILON) * Math.abs(values[0])))) {
      throw new RangeError(
        `sigma is numerically not positive semidefinite (eigenvalues ${
          Array.from(values).join(", ")
        })`,
      );
    }
    const root = values.map((l) => Math.sqrt(Math.max(l, 0)));
    // S = V %*% (t(V) * sqrt(values)): S[i][j] = sum_k V[i][k]·(V[j][k]·root[k]);
    // R is its transpose. Summation in k order, as a matrix product does.
    const r: Float64Array[] = [];
    for (let i = 0; i < p; i++) r.push(new Float64Array(p));
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) {
        let s = 0;
        for (let k = 0; k < p; k++) s += v[i][k] * (v[j][k] * root[k]);
        r[j][i] = s;
      }
    }
    const z = this.rnorm(n * p);
    const out: number[][] = [];
    for (let row = 0; row < n; row++) {
      const o = new Array<number>(p);
      for (let j = 0; j < p; j++) {
        let s = 0;
        for (let i = 0; i < p; i++) s += z[row * p + i] * r[i][j];
        // sweep(retval, 2, mean, "+")
        o[j] = s + mu[j];
      }
      out.push(o);
    }
    return out;
  }

  /**
   * The generator state as R's `.Random.seed` would show it (kind code
   * 10403, position, 624 words).
   * @returns a new Int32Array of length 626
   */
  randomSeed(): Int32Array {
    return this.#mt.randomSeed();
  }
}

/**
 * Starts an R-compatible random stream: `rng(seed)` is `set.seed(seed)`.
 *
 * @param seed an integer in [-2147483647, 2147483647] (non-integers are
 *   truncated, as R's `set.seed` does)
 * @returns a new stream; its draws continue from call to call
 * @example
 * ```ts
 * import { rng } from "./mod.ts";
 * const r = rng(824523);
 * const x = r.rnorm(5);        // set.seed(824523); x <- rnorm(5)
 * const i = r.sampleInt(10, 3); // then sample.int(10, 3)
 * ```
 */
export function rng(seed: number): Rng {
  toSeed(seed); // validate before constructing, for the message
  return new Rng(seed);
}
