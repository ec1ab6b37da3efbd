/**
 * Likelihood profiles of a linear mixed model, as lme4's `profile.merMod`,
 * and profile confidence intervals, as lme4's `confint.thpr`.
 *
 * What lme4 does, and so what this does, step by step:
 * - A REML fit is first refitted by maximum likelihood (`devfun2` calls
 *   `refitML`): profiles are always of the ML deviance, base = its minimum.
 * - The variance parameters are profiled on the standard-deviation /
 *   correlation scale ("sdcor"): per term the sds and correlations of its
 *   columns (column-major lower triangle: sd1, cor21, …, sd2, …), then σ.
 *   lme4's names are `.sig01`, `.sig02`, …, `.sigma`. The deviance as a
 *   function of all of them (`devfun2`) is
 *   ldL2(θ) + r²(θ)/σ² + n log(2πσ²) with θ = chol(Σ/σ²) per term; to
 *   profile one, it is held fixed and the others re-optimised (BOBYQA).
 * - A fixed effect β_j is profiled by moving x_j·β_j into an offset and
 *   re-optimising θ of the model without column j (ML deviance).
 * - ζ = sign(value − estimate)·√(deviance − base). Points are placed by
 *   lme4's stepping rule (`nextpar`: steps of about δ = cutoff/8 in ζ,
 *   cutoff = √χ²₀.₉₉(#parameters)) until |ζ| passes the cutoff or a bound.
 * - Intervals: an interpolating natural cubic spline of ζ against the value
 *   (`interpSpline`), inverted piecewise (`backSpline`), evaluated at
 *   ζ = ±Φ⁻¹((1 + level)/2). Where the profile ends before that ζ (a bound,
 *   e.g. an sd estimated as 0), the limit is the bound (0 for an sd, ±1 for
 *   a correlation), as lme4 reports it.
 *
 * Replaying lme4's own grid and spline (rather than solving for the exact
 * crossing) is deliberate: lme4's numbers carry the spline's interpolation
 * error (up to ~1e-3 relative), and the task is to reproduce them.
 *
 * @example
 * ```ts ignore
 * const pr = profile(m);                 // all parameters
 * console.log(pr.confint(0.95));         // [{ parameter: ".sig01", lower, upper }, …]
 * ```
 * @module
 */

import { qnorm } from "../rng/mod.ts";
import { pchisqUpper } from "../stats/distributions.ts";
import { bobyqa } from "../optim/mod.ts";
import { RefitCore } from "../models/lmer/refit.ts";
import { describeValue } from "../data/options.ts";
import type { TermInfo } from "../models/lmer/structure.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import type { ProfileOptions } from "../models/lmer/extensions.ts";

// ---------------------------------------------------------------------------
// Parameter names and the sd/cor <-> θ maps (lme4's Cv_to_Sv / Sv_to_Cv)
// ---------------------------------------------------------------------------

/** What a parameter of {@link parameterNames} is. */
export type ParameterKind = "sd" | "cor" | "sigma" | "fixed";

/** One parameter of a fitted model on lme4's confint scale. */
export interface ParameterInfo {
  /** lme4's name: ".sig01", …, ".sigma", or the fixed-effect term. */
  readonly name: string;
  /** sd, correlation, residual sd or fixed effect. */
  readonly kind: ParameterKind;
  /** lme4's descriptive name (`tnames(m, old = FALSE)`): "sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "sigma". */
  readonly label: string;
}

/**
 * The parameters lme4's `confint` reports, in its order: for each term the
 * sds and correlations (column-major lower triangle of its covariance),
 * `.sigma`, then the fixed effects.
 *
 * @example
 * ```ts ignore
 * parameterNames(lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)).map((p) => p.name);
 * // [".sig01", ".sig02", ".sig03", ".sigma", "(Intercept)", "Days"]
 * ```
 */
export function parameterNames(model: LinearMixedModel): ParameterInfo[] {
  const out: ParameterInfo[] = [];
  let k = 0;
  const sig = () => `.sig${String(++k).padStart(2, "0")}`;
  for (const t of model.lmm.terms) {
    // lme4's tnames use the plain group name, also for (Days || Subject)
    const g = t.group;
    for (let j = 0; j < t.q; j++) {
      for (let i = j; i < t.q; i++) {
        out.push(
          i === j
            ? { name: sig(), kind: "sd", label: `sd_${t.cnames[i]}|${g}` }
            : { name: sig(), kind: "cor", label: `cor_${t.cnames[i]}.${t.cnames[j]}|${g}` },
        );
      }
    }
  }
  out.push({ name: ".sigma", kind: "sigma", label: "sigma" });
  for (const nm of model.frame.x.names) out.push({ name: nm, kind: "fixed", label: nm });
  return out;
}

/**
 * lme4's `Cv_to_Sv(θ, s = σ)`: per term the sds and correlations of
 * σ²·T Tᵀ (column-major lower triangle), then σ. A correlation with a zero
 * sd is 0, as lme4 converts its NaN.
 *
 * @example
 * ```ts ignore
 * thetaToSdcor(m.lmm.terms, m.theta, m.sigma); // [sd, cor, sd, σ] for (Days | Subject)
 * ```
 */
export function thetaToSdcor(
  terms: readonly TermInfo[],
  theta: ArrayLike<number>,
  sigma: number,
): Float64Array {
  const out = new Float64Array(theta.length + 1);
  const s2 = sigma * sigma;
  for (const t of terms) {
    const q = t.q, o = t.thetaOffset;
    const T = lowerFactor(theta, o, q);
    // V = T Tᵀ σ² (tcrossprod(m) * s^2)
    const V = new Float64Array(q * q);
    for (let a = 0; a < q; a++) {
      for (let b = 0; b < q; b++) {
        let s = 0;
        for (let k = 0; k < q; k++) s += T[k * q + a] * T[k * q + b];
        V[b * q + a] = s * s2;
      }
    }
    const sd = new Float64Array(q), is = new Float64Array(q);
    for (let a = 0; a < q; a++) {
      sd[a] = Math.sqrt(V[a * q + a]);
      is[a] = 1 / sd[a];
    }
    let at = o;
    for (let j = 0; j < q; j++) {
      for (let i = j; i < q; i++) {
        if (i === j) out[at++] = sd[j];
        else {
          // cov2sdcor's r[j, i] = (Is[j] * V[j, i]) * Is[i]; NaN (zero sd) -> 0
          const r = (is[j] * V[i * q + j]) * is[i];
          out[at++] = Number.isNaN(r) ? 0 : r;
        }
      }
    }
  }
  out[theta.length] = sigma;
  return out;
}

/**
 * lme4's `Sv_to_Cv(v, s = σ)`: θ from sds and correlations (σ not
 * included in `sdcor`): per term the lower Cholesky factor of Σ/σ² with
 * lme4's `safe_chol` (zero, scalar and diagonal shortcuts; pivoted Cholesky
 * when Σ is only semi-definite, e.g. a correlation of ±1).
 *
 * @example
 * ```ts ignore
 * sdcorToTheta(m.lmm.terms, [24.7, 0.066, 5.92], 25.6); // ≈ m.theta
 * ```
 */
export function sdcorToTheta(
  terms: readonly TermInfo[],
  sdcor: ArrayLike<number>,
  sigma: number,
  out: Float64Array = new Float64Array(terms.reduce((s, t) => s + t.nTheta, 0)),
): Float64Array {
  const s2 = sigma * sigma;
  for (const t of terms) {
    const q = t.q, o = t.thetaOffset;
    if (q === 1) {
      // sdcor2cov then safe_chol's sqrt of the 1 × 1 matrix
      out[o] = Math.sqrt((sdcor[o] * sdcor[o]) / s2);
      continue;
    }
    // sdcor2cov(m) / s^2: cov_ij = cor_ij * (sd_i * sd_j), cov_ii = sd_i * sd_i
    const sd = new Float64Array(q);
    const M = new Float64Array(q * q);
    let at = o;
    for (let j = 0; j < q; j++) {
      for (let i = j; i < q; i++) {
        if (i === j) sd[j] = sdcor[at];
        else M[j * q + i] = M[i * q + j] = sdcor[at];
        at++;
      }
    }
    for (let j = 0; j < q; j++) {
      for (let i = 0; i < q; i++) {
        M[j * q + i] = (i === j ? 1 : M[j * q + i]) * (sd[i] * sd[j]) / s2;
      }
    }
    safeCholTheta(M, q, out, o);
  }
  return out;
}

/** T (q × q, column-major, lower) from θ's column-major lower triangle at `o`. */
function lowerFactor(theta: ArrayLike<number>, o: number, q: number): Float64Array {
  const T = new Float64Array(q * q);
  let at = o;
  for (let j = 0; j < q; j++) for (let i = j; i < q; i++) T[j * q + i] = theta[at++];
  return T;
}

/**
 * θ entries of t(safe_chol(M)) as lme4's mlist2vec reads them: the lower
 * triangle column by column when t(cc) is lower triangular, otherwise (only
 * after a reordering pivoted Cholesky) the lower triangle of cc itself.
 */
function safeCholTheta(M: Float64Array, q: number, out: Float64Array, o: number): void {
  let anyNaN = false, allZero = true, diagonal = true;
  for (let j = 0; j < q; j++) {
    for (let i = 0; i < q; i++) {
      const v = M[j * q + i];
      if (Number.isNaN(v)) anyNaN = true;
      if (v !== 0) allZero = false;
      if (i !== j && v !== 0) diagonal = false;
    }
  }
  // cc: upper triangular Cholesky factor (column-major), as R's chol()
  let cc: Float64Array;
  if (anyNaN || allZero) cc = Float64Array.from(M);
  else if (diagonal) {
    cc = new Float64Array(q * q);
    for (let j = 0; j < q; j++) cc[j * q + j] = Math.sqrt(M[j * q + j]);
  } else cc = cholUpper(M, q) ?? pivotedCholUpper(M, q);
  // x = t(cc); mlist2vec: lower triangle of x when its upper triangle is 0
  let upperZero = true;
  // x[i, j] = cc[j, i]; x's upper triangle (i < j) is cc's lower triangle
  for (let j = 0; j < q; j++) {
    for (let i = 0; i < j; i++) {
      const v = cc[i * q + j]; // cc[j, i], i < j: below cc's diagonal
      if (!Number.isNaN(v) && v !== 0) upperZero = false;
    }
  }
  let at = o;
  for (let j = 0; j < q; j++) {
    for (let i = j; i < q; i++) {
      // upperZero: x[i, j] = cc[j, i]; else t(x)[i, j] = cc[i, j]
      out[at++] = upperZero ? cc[i * q + j] : cc[j * q + i];
    }
  }
}

/** R's chol() (LAPACK dpotrf, upper): null when a pivot is not positive. */
function cholUpper(M: Float64Array, q: number): Float64Array | null {
  const R = new Float64Array(q * q);
  for (let j = 0; j < q; j++) {
    let d = M[j * q + j];
    for (let k = 0; k < j; k++) d -= R[j * q + k] * R[j * q + k];
    if (!(d > 0)) return null;
    const rjj = Math.sqrt(d);
    R[j * q + j] = rjj;
    for (let c = j + 1; c < q; c++) {
      let s = M[c * q + j];
      for (let k = 0; k < j; k++) s -= R[j * q + k] * R[c * q + k];
      R[c * q + j] = s / rjj;
    }
  }
  return R;
}

/**
 * R's chol(pivot = TRUE) (LAPACK dpstf2, upper, default tolerance), then
 * lme4's `cc[, order(pivot)]`. Rows past the rank keep what dpstf2 leaves:
 * the pivot's remaining Schur value on the diagonal, the permuted input
 * elsewhere in the upper triangle.
 */
function pivotedCholUpper(M: Float64Array, q: number): Float64Array {
  const A = Float64Array.from(M);
  const piv = Array.from({ length: q }, (_, i) => i);
  const work = new Float64Array(q);
  let maxDiag = -Infinity;
  for (let i = 0; i < q; i++) maxDiag = Math.max(maxDiag, A[i * q + i]);
  const dstop = q * 2.220446049250313e-16 * maxDiag;
  const swap = (a: number, b: number) => {
    // symmetric row/column swap on the upper triangle (full matrix kept symmetric)
    for (let k = 0; k < q; k++) {
      const t1 = A[k * q + a];
      A[k * q + a] = A[k * q + b];
      A[k * q + b] = t1;
    }
    for (let k = 0; k < q; k++) {
      const t2 = A[a * q + k];
      A[a * q + k] = A[b * q + k];
      A[b * q + k] = t2;
    }
    const tp = piv[a];
    piv[a] = piv[b];
    piv[b] = tp;
    const tw = work[a];
    work[a] = work[b];
    work[b] = tw;
  };
  for (let j = 0; j < q; j++) {
    let best = j, bestVal = -Infinity;
    for (let i = j; i < q; i++) {
      if (j > 0) work[i] += A[i * q + (j - 1)] ** 2;
      const v = A[i * q + i] - work[i];
      if (v > bestVal || Number.isNaN(v)) (bestVal = v, best = i);
    }
    if (bestVal <= dstop || Number.isNaN(bestVal)) {
      if (best !== j) swap(j, best);
      A[j * q + j] = bestVal;
      break;
    }
    if (best !== j) swap(j, best);
    const ajj = Math.sqrt(bestVal);
    A[j * q + j] = ajj;
    for (let c = j + 1; c < q; c++) {
      let s = A[c * q + j];
      for (let k = 0; k < j; k++) s -= A[j * q + k] * A[c * q + k];
      A[c * q + j] = s / ajj;
    }
  }
  // R zeroes the strict lower triangle of the result
  for (let j = 0; j < q; j++) for (let i = j + 1; i < q; i++) A[j * q + i] = 0;
  // cc[, order(pivot)]: column piv[c] of the unpermuted result is column c
  const out = new Float64Array(q * q);
  for (let c = 0; c < q; c++) out.set(A.subarray(c * q, c * q + q), piv[c] * q);
  return out;
}

// ---------------------------------------------------------------------------
// Splines: splines::interpSpline, backSpline and predict, as lme4 uses them
// ---------------------------------------------------------------------------

/** A piecewise cubic in polynomial form (splines' `polySpline`). */
interface PolySpline {
  /** Ascending knots. */
  readonly knots: Float64Array;
  /** Per knot: value, first derivative, c2, c3 (y = Σ c_k (x − knot)^k). */
  readonly coef: Float64Array[];
}

/**
 * The natural interpolating cubic spline of y on strictly increasing x
 * (`interpSpline`): its values and first derivatives at the knots, which is
 * all `backSpline` uses.
 */
function naturalSplineSlopes(x: Float64Array, y: Float64Array): Float64Array {
  const n = x.length;
  const h = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) h[i] = x[i + 1] - x[i];
  // second derivatives M with M_0 = M_{n-1} = 0: tridiagonal solve (Thomas)
  const M = new Float64Array(n);
  if (n > 2) {
    const m = n - 2;
    const diag = new Float64Array(m), rhs = new Float64Array(m), sub = new Float64Array(m);
    for (let i = 1; i <= m; i++) {
      diag[i - 1] = 2 * (h[i - 1] + h[i]);
      rhs[i - 1] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1]);
      sub[i - 1] = h[i - 1];
    }
    for (let k = 1; k < m; k++) {
      const w = sub[k] / diag[k - 1];
      diag[k] -= w * h[k];
      rhs[k] -= w * rhs[k - 1];
    }
    M[m] = rhs[m - 1] / diag[m - 1];
    for (let k = m - 2; k >= 0; k--) M[k + 1] = (rhs[k] - h[k + 1] * M[k + 2]) / diag[k];
  }
  const slope = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) {
    slope[i] = (y[i + 1] - y[i]) / h[i] - (h[i] * (2 * M[i] + M[i + 1])) / 6;
  }
  const l = n - 2;
  slope[n - 1] = (y[n - 1] - y[l]) / h[l] + (h[l] * (M[l] + 2 * M[n - 1])) / 6;
  return slope;
}

/** splines' backSpline.npolySpline: the inverse of a monotone spline. */
function backSpline(x: Float64Array, y: Float64Array, slope: Float64Array): PolySpline {
  const nk = x.length, nkm1 = nk - 1;
  const kdiff = new Float64Array(nkm1), adiff = new Float64Array(nkm1);
  for (let i = 0; i < nkm1; i++) {
    kdiff[i] = x[i + 1] - x[i];
    adiff[i] = y[i + 1] - y[i];
  }
  let rev: boolean;
  if (adiff.every((d) => d < 0)) rev = true;
  else if (adiff.every((d) => d > 0)) rev = false;
  else throw new Error("spline must be monotone");
  const b = Array.from({ length: nk }, () => new Float64Array(4));
  for (let i = 0; i < nk; i++) {
    b[i][0] = x[i];
    b[i][1] = 1 / slope[i];
  }
  for (let i = 0; i < nkm1; i++) {
    // [a² a³; 2a 3a²] [c2; c3] = [kdiff − a·b1_i; b1_{i+1} − b1_i]
    const a = adiff[i];
    const r1 = kdiff[i] - a * b[i][1], r2 = b[i + 1][1] - b[i][1];
    const [c2, c3] = solve2(a * a, a * a * a, 2 * a, 3 * a * a, r1, r2);
    b[i][2] = c2;
    b[i][3] = c3;
  }
  b[nkm1][1] = b[nkm1][2] = b[nkm1][3] = NaN;
  if (nk > 2) {
    b[0][3] = 0;
    b[nkm1 - 1][3] = 0;
    const a = adiff[0];
    const [c1, c2] = solve2(a, a * a, 1, 2 * a, kdiff[0], 1 / slope[1]);
    b[0][1] = c1;
    b[0][2] = c2;
    const al = adiff[nkm1 - 1];
    b[nkm1 - 1][2] = (kdiff[nkm1 - 1] - al * b[nkm1 - 1][1]) / (al * al);
  }
  if (b[0][2] > 0) {
    b[0][2] = 0;
    b[0][1] = kdiff[0] / adiff[0];
  }
  if (b[nkm1 - 1][2] < 0) {
    b[nkm1 - 1][2] = 0;
    b[nkm1 - 1][1] = kdiff[nkm1 - 1] / adiff[nkm1 - 1];
  }
  const knots = Float64Array.from(y);
  if (!rev) return { knots, coef: b };
  return { knots: knots.reverse(), coef: b.reverse() };
}

/** solve() of [[a11, a12], [a21, a22]] z = r (LU with partial pivoting, as LAPACK). */
function solve2(
  a11: number,
  a12: number,
  a21: number,
  a22: number,
  r1: number,
  r2: number,
): [number, number] {
  if (Math.abs(a21) > Math.abs(a11)) {
    [a11, a12, a21, a22, r1, r2] = [a21, a22, a11, a12, r2, r1];
  }
  const l = a21 / a11;
  const u22 = a22 - l * a12;
  const z2 = (r2 - l * r1) / u22;
  return [(r1 - a12 * z2) / a11, z2];
}

/** predict.polySpline: NaN outside (knots[0], knots[last]] (knots[0] itself is in). */
function predictPoly(sp: PolySpline, v: number): number {
  const k = sp.knots;
  const nk = k.length;
  if (!(v >= k[0] && v <= k[nk - 1])) return NaN;
  let i = 0;
  if (v > k[0]) {
    // cut(): the interval (k[i], k[i+1]] holding v
    let lo = 0, hi = nk - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (v > k[mid]) lo = mid;
      else hi = mid;
    }
    i = lo;
  }
  const c = sp.coef[i];
  const d = v - k[i];
  return ((c[3] * d + c[2]) * d + c[1]) * d + c[0];
}

/** approxfun(x, y)(v) with R's defaults (NA pairs dropped, ties averaged, NaN outside). */
function approxLinear(xs: ArrayLike<number>, ys: ArrayLike<number>, v: number): number {
  const pairs: [number, number][] = [];
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isNaN(xs[i]) && !Number.isNaN(ys[i])) pairs.push([xs[i], ys[i]]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const x: number[] = [], y: number[] = [];
  for (let i = 0; i < pairs.length;) {
    let j = i, s = 0;
    while (j < pairs.length && pairs[j][0] === pairs[i][0]) s += pairs[j++][1];
    x.push(pairs[i][0]);
    y.push(s / (j - i));
    i = j;
  }
  const n = x.length;
  if (n === 0 || !(v >= x[0] && v <= x[n - 1])) return NaN;
  if (n === 1) return y[0];
  let lo = 0, hi = n - 1;
  while (lo < hi - 1) {
    const mid = (lo + hi) >> 1;
    if (v < x[mid]) hi = mid;
    else lo = mid;
  }
  if (v === x[hi]) return y[hi];
  if (v === x[lo]) return y[lo];
  return y[lo] + (y[hi] - y[lo]) * ((v - x[lo]) / (x[hi] - x[lo]));
}

// ---------------------------------------------------------------------------
// The profile
// ---------------------------------------------------------------------------

export type { ProfileOptions } from "../models/lmer/extensions.ts";

/** One point of a profile: ζ and every parameter there. */
export interface ProfilePoint {
  /** Signed square root of the deviance increase. */
  readonly zeta: number;
  /** Value of the profiled parameter. */
  readonly value: number;
  /** All parameters at this point, in {@link parameterNames} order. */
  readonly par: Float64Array;
}

/** The profile of one parameter. */
export interface ParameterProfile {
  /** lme4's name (".sig01", …). */
  readonly name: string;
  /** Kind of parameter. */
  readonly kind: ParameterKind;
  /** lme4's descriptive name ("sd_(Intercept)|Subject", …). */
  readonly label: string;
  /** ML estimate (the profile's centre). */
  readonly estimate: number;
  /** Lower and upper bound of the parameter on the sdcor scale (NaN for fixed effects). */
  readonly bounds: readonly [number, number];
  /** The points, sorted by value (lme4's rows, duplicates removed). */
  readonly points: readonly ProfilePoint[];
  /** Why the spline could not be built (lme4's warning), if so. */
  readonly splineError: string | null;
  /**
   * Drop failed (NA) points before the spline also for a fixed effect (lme4
   * does for GLMMs, whose fixed effects are profiled with the variance
   * parameters; an LMM's fixed-effect profile with an NA has no spline).
   */
  readonly naOmit?: boolean;
}

/** One row of a confidence-interval table. */
export interface ConfintRow {
  /** lme4's parameter name. */
  readonly parameter: string;
  /** Lower limit (NaN: not available, lme4's NA). */
  readonly lower: number;
  /** Upper limit (NaN: not available). */
  readonly upper: number;
}

/**
 * Result of {@link profile}: per parameter the profile points, and
 * intervals at any level from them.
 *
 * @example
 * ```ts ignore
 * const pr = profile(m);
 * pr.profiles[0].points.map((p) => [p.value, p.zeta]); // the .sig01 profile
 * pr.confint(0.99).rows;
 * ```
 */
export class LmerProfile {
  /** Every parameter of the model (profiled or not), lme4's order. */
  readonly parameters: readonly ParameterInfo[];
  /** ML estimates of all parameters on the sdcor scale (then β). */
  readonly estimates: Float64Array;
  /** ML deviance at the optimum (the profiles' base). */
  readonly baseDeviance: number;
  /** Profiles, in parameter order. */
  readonly profiles: readonly ParameterProfile[];
  /** Warnings as lme4 gives them ("non-monotonic profile for .sig02", …). */
  readonly messages: readonly string[];
  /** Wall time of the profiling, seconds. */
  readonly seconds: number;
  /** Number of deviance evaluations. */
  readonly evaluations: number;

  /** Built by {@link profile}. */
  constructor(init: {
    parameters: readonly ParameterInfo[];
    estimates: Float64Array;
    baseDeviance: number;
    profiles: readonly ParameterProfile[];
    messages: readonly string[];
    seconds: number;
    evaluations: number;
  }) {
    this.parameters = init.parameters;
    this.estimates = init.estimates;
    this.baseDeviance = init.baseDeviance;
    this.profiles = init.profiles;
    this.messages = init.messages;
    this.seconds = init.seconds;
    this.evaluations = init.evaluations;
  }

  /**
   * Profile intervals as lme4's `confint.thpr`: the back-spline at
   * ζ = ±Φ⁻¹((1 + level)/2); a limit the profile did not reach is the
   * parameter's bound (NaN for fixed effects), and a profile too irregular
   * for a spline falls back to linear interpolation, as lme4 does.
   *
   * @example
   * ```ts ignore
   * profile(m).confint(0.9);
   * ```
   */
  confint(level = 0.95): { rows: ConfintRow[]; messages: string[] } {
    checkLevel(level);
    const a = (1 - level) / 2;
    const zeta = [qnorm(a), qnorm(1 - a)];
    const messages: string[] = [];
    const rows = this.profiles.map((pr) => {
      let lim = [NaN, NaN];
      let bad = false;
      const xs = pr.points.map((p) => p.value);
      const zs = pr.points.map((p) => p.zeta);
      const spline = pr.splineError === null ? splineOrError(pr) : pr.splineError;
      if (typeof spline !== "string") lim = zeta.map((z) => predictPoly(spline, z));
      else {
        // lme4: min(diff(zeta) < -non.mono.tol, na.rm = TRUE), i.e. every step decreases
        const diffs = zs.slice(1).map((z, i) => z - zs[i]).filter((d) => !Number.isNaN(d));
        if (zs.every((z) => Number.isNaN(z))) {
          bad = true;
          messages.push(`bad profile for ${pr.name}`);
        } else if (diffs.every((d) => d < -0.01)) {
          bad = true;
          messages.push(`non-monotonic profile for ${pr.name}`);
        } else {
          messages.push(
            `bad spline fit for ${pr.name}: falling back to linear interpolation`,
          );
          lim = zeta.map((z) => approxLinear(zs, xs, z));
        }
      }
      if (!bad) {
        if (Number.isNaN(lim[0])) lim[0] = pr.bounds[0];
        if (Number.isNaN(lim[1])) lim[1] = pr.bounds[1];
      }
      return { parameter: pr.name, lower: lim[0], upper: lim[1] };
    });
    return { rows, messages };
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`level must be in (0, 1), got ${level}`);
  }
}

/**
 * interpSpline + backSpline of a profile (NA rows dropped for variance
 * parameters, as lme4's na.omit; any NA is an error for fixed effects, as
 * na.fail). A string is the error lme4's tryCatch would catch.
 */
function splineOrError(pr: ParameterProfile): PolySpline | string {
  let pts = pr.points.map((p) => [p.value, p.zeta] as const);
  if (pr.kind === "fixed" && !pr.naOmit) {
    if (pts.some(([v, z]) => Number.isNaN(v) || Number.isNaN(z))) return "missing values in object";
  } else pts = pts.filter(([v, z]) => !Number.isNaN(v) && !Number.isNaN(z));
  pts = [...pts].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < pts.length; i++) {
    if (pts[i][0] === pts[i - 1][0]) return "values of 'x' must be distinct";
  }
  if (pts.length < 4) return "must have at least 'ord'=4 points";
  const x = Float64Array.from(pts, (p) => p[0]), y = Float64Array.from(pts, (p) => p[1]);
  const slope = naturalSplineSlopes(x, y);
  try {
    return backSpline(x, y, slope);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Upper-tail χ² quantile by bisection on pchisq (for lme4's cutoff).
 *
 * @example
 * ```ts
 * import { qchisqUpper } from "./profile.ts";
 * qchisqUpper(0.01, 6); // 16.811893829770927, R's qchisq(0.99, 6)
 * ```
 */
export function qchisqUpper(p: number, df: number): number {
  let lo = 0, hi = Math.max(1, df);
  while (pchisqUpper(hi, df) > p) hi *= 2;
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    if (pchisqUpper(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * Resolve lme4's `which` / `parm`: names (or descriptive labels), or
 * "theta_" / "beta_"; indices into {@link parameterNames}, ascending.
 *
 * @example
 * ```ts ignore
 * selectParameters(parameterNames(m), ["beta_"]); // [4, 5] for (Days | Subject)
 * ```
 */
export function selectParameters(
  params: readonly ParameterInfo[],
  parm: readonly string[] | string | undefined,
): number[] {
  if (parm === undefined) return params.map((_, i) => i);
  // R's parm = "theta_" is one string: iterating it would give its characters
  const list: readonly unknown[] = typeof parm === "string" ? [parm] : parm;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `confint: parm must be parameter names (a string or an array of strings), got ${
        describeValue(parm)
      }`,
    );
  }
  const out = new Set<number>();
  for (const p of list) {
    if (typeof p !== "string") {
      throw new TypeError(
        `confint: parm must be parameter names such as ${
          params.map((q) => `"${q.name}"`).slice(0, 2).join(", ")
        } (or "theta_", "beta_"), got ${describeValue(p)}`,
      );
    }
    if (p === "theta_") params.forEach((q, i) => q.kind !== "fixed" && out.add(i));
    else if (p === "beta_") params.forEach((q, i) => q.kind === "fixed" && out.add(i));
    else {
      const i = params.findIndex((q) => q.name === p || q.label === p);
      if (i < 0) {
        throw new RangeError(
          `unknown parameter '${p}': the model's parameters are ${
            params.map((q) => q.name).join(", ")
          } (or "theta_", "beta_")`,
        );
      }
      out.add(i);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** A profile row: ζ, then every parameter (lme4's `res` matrix row). */
export type ProfileRow = Float64Array;

/** What {@link profileStepper} needs: lme4's profile.merMod settings. */
export interface StepperSettings {
  /** Stop once |ζ| passes this (√χ²_{1−alphamax}(#parameters)). */
  readonly cutoff: number;
  /** Step in ζ. */
  readonly delta: number;
  /** Largest step as a multiple of the previous one. */
  readonly maxmult: number;
  /** Maximal number of rows per direction. */
  readonly maxpts: number;
  /** Where lme4's warnings go. */
  readonly warn: (message: string) => void;
}

/**
 * lme4's `nextpar` and `fillmat` (profile.merMod's stepping rule): from the
 * two rows given, step the parameter in column `cc` by about δ in ζ (capped
 * at maxmult times the last step, clamped to [lo, up]) and append the rows
 * `zetafun` computes until |ζ| passes the cutoff, a bound is reached or
 * maxpts rows are there.
 *
 * @example
 * ```ts ignore
 * const { fillmat } = profileStepper({ cutoff, delta, maxmult: 10, maxpts: 100, warn });
 * const up = fillmat([baseRow, first], 0, Infinity, zeta, 1 + w);
 * ```
 */
export function profileStepper(s: StepperSettings): {
  fillmat(
    rows: ProfileRow[],
    lo: number,
    up: number,
    zetafun: (x: number, start: ProfileRow) => ProfileRow,
    cc: number,
  ): ProfileRow[];
} {
  const { cutoff, delta, maxmult, maxpts, warn } = s;
  const nextpar = (rows: ProfileRow[], cc: number, r: number, lo: number, up: number): number => {
    const p0 = rows[r - 1][cc], p1 = rows[r][cc];
    const z0 = rows[r - 1][0], z1 = rows[r][0];
    const num = p1 - p0, denom = z1 - z0;
    let step: number;
    if (Number.isNaN(denom) || denom === 0) {
      warn("Last two rows have identical or NA .zeta values: using minstep");
      step = 1e-6;
    } else {
      step = delta * num / denom;
      if (step < 0) {
        warn("unexpected decrease in profile: using minstep");
        step = 1e-6;
      } else {
        const maxstep = Math.abs(maxmult * num);
        if (Math.abs(step) > maxstep) step = Math.sign(step) * maxstep;
      }
    }
    return Math.min(up, Math.max(lo, p1 + Math.sign(num) * step));
  };
  const fillmat = (
    rows: ProfileRow[],
    lo: number,
    up: number,
    zetafun: (x: number, start: ProfileRow) => ProfileRow,
    cc: number,
  ): ProfileRow[] => {
    let i = 1;
    while (
      i < maxpts - 1 && rows[i][cc] > lo && rows[i][cc] < up &&
      (Number.isNaN(rows[i][0]) || Math.abs(rows[i][0]) <= cutoff)
    ) {
      const np = nextpar(rows, cc, i, lo, up);
      rows.push(zetafun(np, rows[i]));
      i++;
    }
    return rows;
  };
  return { fillmat };
}

/**
 * One parameter's profile from lme4's two half-profiles: `unique(rbind(upperf,
 * lowerf))` ordered by the parameter's value, with the spline check that
 * gives lme4's "non-monotonic profile" warning.
 *
 * @example
 * ```ts ignore
 * collectProfile(params[w], w, opt[w], [0, Infinity], up, baseRow, down, warn);
 * ```
 */
export function collectProfile(
  info: ParameterInfo,
  w: number,
  estimate: number,
  bounds: readonly [number, number],
  upperRows: readonly ProfileRow[],
  baseRow: ProfileRow,
  lowerRows: readonly ProfileRow[],
  warn: (message: string) => void,
  naOmit = false,
): ParameterProfile {
  const seen = new Set<string>();
  const rows: ProfileRow[] = [];
  for (const r of [...upperRows, baseRow, ...lowerRows]) {
    const key = Array.from(r).join(",");
    if (!seen.has(key)) (seen.add(key), rows.push(r));
  }
  rows.sort((a, b) => cmpNaNLast(a[1 + w], b[1 + w]));
  const points = rows.map((r) => ({ zeta: r[0], value: r[1 + w], par: r.slice(1) }));
  const pr: ParameterProfile = {
    name: info.name,
    kind: info.kind,
    label: info.label,
    estimate,
    bounds,
    points,
    splineError: null,
    ...(naOmit ? { naOmit } : {}),
  };
  const sp = splineOrError(pr);
  if (typeof sp === "string") {
    warn(`non-monotonic profile for ${info.name}`);
    return { ...pr, splineError: sp };
  }
  return pr;
}

/**
 * lme4's profile.merMod settings from the options: the cutoff in ζ
 * (√χ²_{1−alphamax}(#parameters)), the step δ, the stepping rule and the
 * list its warnings go to (each message once).
 *
 * @example
 * ```ts ignore
 * const { cutoff, fillmat, messages, warn } = profileSetup(options, nptot);
 * ```
 */
export function profileSetup(options: ProfileOptions, nptot: number): {
  cutoff: number;
  delta: number;
  messages: string[];
  warn: (message: string) => void;
  fillmat: ReturnType<typeof profileStepper>["fillmat"];
} {
  const maxpts = options.maxpts ?? 100;
  const maxmult = options.maxmult ?? 10;
  const alphamax = options.alphamax ?? 0.01;
  const messages: string[] = [];
  const warn = (m: string) => void (messages.includes(m) || messages.push(m));
  const cutoff = Math.sqrt(qchisqUpper(alphamax, nptot));
  const delta = options.delta ?? cutoff / 8;
  const { fillmat } = profileStepper({ cutoff, delta, maxmult, maxpts, warn });
  return { cutoff, delta, messages, warn, fillmat };
}

/**
 * Bounds on the sdcor scale for θ's lower bounds `thetaLower` (0 on a
 * diagonal element: sd ≥ 0; −∞ off it: −1 ≤ cor ≤ 1); the other `nptot −
 * θ.length` parameters are free.
 */
export function sdcorBounds(
  thetaLower: ArrayLike<number>,
  nptot: number,
): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(nptot).fill(-Infinity);
  const upper = new Float64Array(nptot).fill(Infinity);
  for (let k = 0; k < thetaLower.length; k++) {
    lower[k] = Math.max(thetaLower[k], -1);
    upper[k] = thetaLower[k] === 0 ? Infinity : 1;
  }
  return { lower, upper };
}

/** What {@link profileByReoptimising} needs for one parameter. */
export interface ReoptimisedProfileSettings {
  /** The parameter (index into `params` and the rows' columns 1…). */
  readonly w: number;
  readonly params: readonly ParameterInfo[];
  /** The first `npar` parameters enter `dd`; the rows have `1 + nptot` columns. */
  readonly npar: number;
  readonly nptot: number;
  /** The optimum's row (ζ = 0, then the estimates). */
  readonly baseRow: ProfileRow;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** The deviance at the optimum. */
  readonly base: number;
  /** The deviance as a function of the first `npar` parameters. */
  readonly dd: (pars: Float64Array) => number;
  /** Minimise f over the free parameters (throws when it fails: the point is NA). */
  readonly minimize: (
    f: (x: ArrayLike<number>) => number,
    start: number[],
    lower: number[],
    upper: number[],
  ) => { fval: number; x: ArrayLike<number> };
  /** Fill the rest of a row from the point's parameters (lmer: β at that point). */
  readonly complete?: (row: ProfileRow, pars: Float64Array) => void;
  /** Which optimum the "lower deviance" error names ("the ML optimum", "the optimum"). */
  readonly optimum: string;
  readonly warn: (message: string) => void;
  readonly fillmat: ReturnType<typeof profileStepper>["fillmat"];
  /** Drop NA points before the spline also for a fixed effect (glmer). */
  readonly naOmit?: boolean;
}

/**
 * One parameter's profile as lme4's profile.merMod does it for the
 * parameters of `devfun2`: held fixed at each point while the others are
 * re-optimised from the previous point's values; ζ from the deviance
 * difference, with lme4's checks ("NAs detected in profiling", a new lower
 * deviance is an error, a slightly lower one a warning); stepped up and
 * down from the optimum by {@link profileStepper}.
 *
 * @example
 * ```ts ignore
 * profiles.push(profileByReoptimising({ w, params, npar, nptot, baseRow, … }));
 * ```
 */
export function profileByReoptimising(s: ReoptimisedProfileSettings): ParameterProfile {
  const { w, params, npar, nptot, baseRow, lower, upper, base, dd, warn, fillmat } = s;
  const devtol = 1e-9;
  const pw = baseRow[1 + w];
  const lowvp = [...lower.subarray(0, npar)].filter((_, k) => k !== w);
  const upvp = [...upper.subarray(0, npar)].filter((_, k) => k !== w);
  const pars = new Float64Array(npar);
  const zeta = (xx: number, startRow: ProfileRow): ProfileRow => {
    const start = [...startRow.subarray(1, 1 + npar)].filter((_, k) => k !== w);
    const row = new Float64Array(1 + nptot).fill(NaN);
    row[1 + w] = xx;
    let fval = NaN, best: ArrayLike<number> | null = null;
    try {
      const res = s.minimize(
        (x) => {
          for (let k = 0, at = 0; k < npar; k++) pars[k] = k === w ? xx : x[at++];
          return dd(pars);
        },
        start,
        lowvp,
        upvp,
      );
      fval = res.fval;
      best = res.x;
    } catch {
      // lme4's tryCatch: the point becomes NA and the profile goes on
      best = null;
    }
    const devdiff = fval - base;
    if (Number.isNaN(devdiff)) warn("NAs detected in profiling");
    else if (devdiff < -devtol) {
      throw new Error(
        `profiling detected new, lower deviance (${fval} < ${base}) for ${params[w].name}: ` +
          `${s.optimum} was not found; refit the model (e.g. from another start)`,
      );
    } else if (devdiff < 0) warn(`slightly lower deviances (diff=${devdiff}) detected`);
    row[0] = Math.sign(xx - pw) * Math.sqrt(Math.max(0, devdiff));
    if (best) {
      for (let k = 0, at = 0; k < npar; k++) pars[k] = k === w ? xx : best[at++];
      row.set(pars, 1);
      s.complete?.(row, pars);
    }
    return row;
  };
  const shift = pw === 0 ? 0.001 : pw * 1.01;
  const first = zeta(shift, baseRow);
  const up = fillmat([baseRow, first], lower[w], upper[w], zeta, 1 + w);
  const down = pw > lower[w]
    ? fillmat([first, baseRow], lower[w], upper[w], zeta, 1 + w)
    : [first, baseRow];
  const bounds: [number, number] = [lower[w], upper[w]];
  return collectProfile(params[w], w, pw, bounds, up, baseRow, down, warn, s.naOmit ?? false);
}

/**
 * Profile the ML deviance over each parameter, as lme4's `profile(m)`
 * (REML fits are refitted by ML first, as lme4 does).
 *
 * @example
 * ```ts ignore
 * import { lmer, profile } from "../../mod.ts";
 * const pr = profile(lmer("Reaction ~ Days + (Days | Subject)", sleepstudy));
 * pr.confint().rows; // lme4's confint(m, method = "profile")
 * ```
 */
export function profile(model: LinearMixedModel, options: ProfileOptions = {}): LmerProfile {
  const t0 = performance.now();
  const params = parameterNames(model);
  const which = selectParameters(params, options.parm);

  const core = RefitCore.fromModel(model);
  const terms = model.lmm.terms;
  const n = model.nobs, p = model.frame.x.p;
  const nth = model.theta.length;
  const npar1 = nth + 1; // variance parameters incl. σ
  const nptot = npar1 + p;
  let evaluations = 0;

  // lme4's refitML: the ML optimum, started from the fitted θ̂.
  let thetaML: Float64Array, sigmaML: number, betaML: Float64Array, base: number;
  let seML: Float64Array;
  if (model.REML) {
    const r = core.fit({ reml: false, start: model.theta });
    evaluations += r.feval;
    thetaML = r.theta;
    betaML = r.beta;
    base = r.objective;
    sigmaML = Math.sqrt(core.parts(thetaML).pwrss / n);
    seML = fixedSe(core, thetaML, sigmaML);
  } else {
    thetaML = Float64Array.from(model.theta);
    betaML = Float64Array.from(model.solution.beta);
    base = model.solution.objective;
    sigmaML = model.sigma;
    seML = Float64Array.from(model.solution.se);
  }
  const opt = new Float64Array(nptot);
  opt.set(thetaToSdcor(terms, thetaML, sigmaML));
  opt.set(betaML, npar1);

  const { delta, messages, warn, fillmat } = profileSetup(options, nptot);

  // bounds on the sdcor scale: sd ≥ 0, −1 ≤ cor ≤ 1, σ ≥ 0, β free
  const { lower, upper } = sdcorBounds(model.lmm.lower, nptot);
  lower[nth] = 0;

  // devfun2: ML deviance at (sds, cors, σ), β profiled out
  const thetaBuf = new Float64Array(nth);
  const dd = (pars: ArrayLike<number>): number => {
    evaluations++;
    const sigma = pars[nth];
    sdcorToTheta(terms, pars, sigma, thetaBuf);
    const parts = core.parts(thetaBuf);
    const s2 = sigma * sigma;
    return parts.ldL2 + parts.pwrss / s2 + n * Math.log(2 * Math.PI * s2);
  };

  const baseRow: ProfileRow = new Float64Array(1 + nptot);
  baseRow.set(opt, 1);

  const profiles: ParameterProfile[] = [];
  // variance parameters: fix one, re-optimise the others on devfun2
  for (const w of which.filter((k) => k < npar1)) {
    profiles.push(profileByReoptimising({
      w,
      params,
      npar: npar1,
      nptot,
      baseRow,
      lower,
      upper,
      base,
      dd,
      minimize: (f, start, lo, up) => {
        const res = bobyqa(f, start, {
          lower: lo,
          upper: up,
          xtolAbs: 1e-8,
          ftolAbs: 1e-8,
          maxeval: 1e5,
        });
        return { fval: res.fval, x: Float64Array.from(res.x) };
      },
      complete: (row, pars) => {
        dd(pars); // leaves the factor at the optimum, for β (lme4's pp$beta(1))
        row.set(core.beta(), 1 + npar1);
      },
      optimum: "the ML optimum",
      warn,
      fillmat,
    }));
  }

  // fixed effects: β_j into the offset, θ re-optimised (ML) from θ̂_ML
  for (const w of which.filter((k) => k >= npar1)) {
    const j = w - npar1;
    const est = opt[w];
    const fe = core.dropColumn(j);
    const feZeta = (fw: number): ProfileRow => {
      fe.setOffset(fw);
      const r = fe.fit({ reml: false, start: thetaML });
      evaluations += r.feval;
      const row = new Float64Array(1 + nptot);
      // no max(0, ·) here in lme4: a lower deviance gives NaN
      row[0] = Math.sign(fw - est) * Math.sqrt(r.objective - base);
      const sig = Math.sqrt(fe.parts(r.theta).pwrss / n);
      row.set(thetaToSdcor(terms, r.theta, sig), 1);
      for (let k = 0, at = 0; k < p; k++) row[1 + npar1 + k] = k === j ? fw : r.beta[at++];
      return row;
    };
    const first = feZeta(est + delta * seML[j]);
    const up = fillmat([baseRow, first], -Infinity, Infinity, feZeta, 1 + w);
    const down = fillmat([first, baseRow], -Infinity, Infinity, feZeta, 1 + w);
    // a fixed effect's limit the profile does not reach is NA (lme4)
    profiles.push(collectProfile(params[w], w, est, [NaN, NaN], up, baseRow, down, warn));
  }
  profiles.sort((a, b) =>
    params.findIndex((q) => q.name === a.name) -
    params.findIndex((q) => q.name === b.name)
  );

  return new LmerProfile({
    parameters: params,
    estimates: opt,
    baseDeviance: base,
    profiles,
    messages,
    seconds: (performance.now() - t0) / 1000,
    evaluations,
  });
}

/** Standard errors of β̂ at θ for residual sd σ: σ √diag((R_XᵀR_X)⁻¹). */
function fixedSe(core: RefitCore, theta: Float64Array, sigma: number): Float64Array {
  const unscaled = core.fixedCovUnscaled(theta);
  const p = core.p;
  const se = new Float64Array(p);
  for (let j = 0; j < p; j++) se[j] = sigma * Math.sqrt(unscaled[j * p + j]);
  return se;
}

function cmpNaNLast(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a - b;
}
