/**
 * Distribution functions for inference (p-values, intervals): log-gamma,
 * regularized incomplete beta and gamma functions, and from them the t, F,
 * chi-squared and normal distributions. Continued fractions are evaluated
 * with the modified Lentz method; prefactors in log space, so tail
 * probabilities keep their relative accuracy (~1e-14) far into the tails.
 * @module
 */

const LOG_SQRT_2PI = 0.91893853320467274178;

/** log Γ(x) for x > 0: Stirling's series after shifting x above 15. */
export function lgamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  let shift = 0;
  while (x < 15) {
    shift += Math.log(x);
    x += 1;
  }
  const x2 = 1 / (x * x);
  // Bernoulli-number terms B_{2k} / (2k(2k-1) x^{2k-1}).
  const series = (1 / 12 -
    x2 * (1 / 360 - x2 * (1 / 1260 - x2 * (1 / 1680 - x2 * (1 / 1188 - x2 * (691 / 360360)))))) / x;
  return (x - 0.5) * Math.log(x) - x + LOG_SQRT_2PI + series - shift;
}

const TINY = 1e-300;
const EPS = 1e-16;

/** Continued fraction for the incomplete beta (Numerical Recipes' betacf, Lentz). */
function betaCF(a: number, b: number, x: number): number {
  const qab = a + b, qap = a + 1, qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/**
 * Regularized incomplete beta I_x(a, b); with `upper` the complement
 * 1 − I_x(a, b), computed without cancellation.
 */
export function pbeta(x: number, a: number, b: number, upper = false): number {
  if (Number.isNaN(x) || !(a > 0) || !(b > 0)) return NaN;
  if (x <= 0) return upper ? 1 : 0;
  if (x >= 1) return upper ? 0 : 1;
  const logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) {
    const lower = Math.exp(logFront) * betaCF(a, b, x) / a;
    return upper ? 1 - lower : lower;
  }
  const up = Math.exp(logFront) * betaCF(b, a, 1 - x) / b;
  return upper ? up : 1 - up;
}

/** Regularized lower incomplete gamma P(a, x); `upper` gives Q(a, x). */
export function pgamma(x: number, a: number, upper = false): number {
  if (Number.isNaN(x) || !(a > 0)) return NaN;
  if (x <= 0) return upper ? 1 : 0;
  if (x === Infinity) return upper ? 0 : 1;
  const logFront = a * Math.log(x) - x - lgamma(a);
  if (x < a + 1) {
    // Series: P = e^{-x} x^a / Γ(a+1) Σ x^n / ((a+1)…(a+n)).
    let sum = 1 / a, term = 1 / a;
    for (let n = 1; n < 100000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    const p = sum * Math.exp(logFront);
    return upper ? 1 - p : p;
  }
  // Continued fraction for Q (Lentz).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  const q = Math.exp(logFront) * h;
  return upper ? q : 1 - q;
}

/** Standard normal distribution function Φ(q); `upper` gives 1 − Φ(q). */
export function pnorm(q: number, upper = false): number {
  if (Number.isNaN(q)) return NaN;
  const tail = 0.5 * pgamma((q * q) / 2, 0.5, true); // P(Z > |q|)
  const lowerTail = q < 0;
  return upper === lowerTail ? 1 - tail : tail;
}

/** Student t distribution function P(T ≤ t) with `df` degrees of freedom; `upper` for P(T > t). */
export function pt(t: number, df: number, upper = false): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (df === Infinity) return pnorm(t, upper);
  const tail = 0.5 * pbeta(df / (df + t * t), df / 2, 0.5); // P(T > |t|)
  const lowerTail = t < 0;
  return upper === lowerTail ? 1 - tail : tail;
}

/** Two-sided p-value of a t statistic: 2 P(T > |t|). */
export function ptTwoSided(t: number, df: number): number {
  if (df === Infinity) return 2 * pnorm(-Math.abs(t));
  return pbeta(df / (df + t * t), df / 2, 0.5);
}

/** F distribution upper tail P(F > f) with (df1, df2) degrees of freedom. */
export function pfUpper(f: number, df1: number, df2: number): number {
  if (!(f > 0)) return 1;
  return pbeta(df2 / (df2 + df1 * f), df2 / 2, df1 / 2);
}

/** Chi-squared upper tail P(X > x) with `df` degrees of freedom. */
export function pchisqUpper(x: number, df: number): number {
  return pgamma(x / 2, df / 2, true);
}

/**
 * Quantile of the t distribution: Newton steps on `pt` from a normal-based
 * start, safeguarded by bisection.
 */
export function qt(p: number, df: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  if (p === 0.5) return 0;
  if (p > 0.5) return -qt(1 - p, df);
  // p < 0.5: answer negative. Bracket, then Newton with bisection fallback.
  let lo = -1, hi = 0;
  while (pt(lo, df) > p) lo *= 2;
  let t = (lo + hi) / 2;
  for (let it = 0; it < 200; it++) {
    const f = pt(t, df) - p;
    if (f > 0) hi = t;
    else lo = t;
    const dens = Math.exp(
      lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * Math.log(df * Math.PI) -
        ((df + 1) / 2) * Math.log1p((t * t) / df),
    );
    let next = t - f / dens;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - t) <= 1e-15 * Math.abs(t)) return next;
    t = next;
  }
  return t;
}

/** Standard normal quantile by bisection-safeguarded Newton on `pnorm`. */
export function qnormStd(p: number): number {
  return qt(p, Infinity);
}
