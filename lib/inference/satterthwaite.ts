/**
 * Satterthwaite's denominator degrees of freedom for linear combinations of
 * the fixed effects of a linear mixed model, computed as lmerTest 3.1 does
 * (Kuznetsova, Brockhoff & Christensen 2017, J. Stat. Softw. 82(13)):
 *
 *     df(L) = 2 (L C Lᵀ)² / (gᵀ A g),   g_k = L (∂C/∂φ_k) Lᵀ,
 *
 * where φ = (θ, σ) ("varpar"), C(φ) = σ² (R_XᵀR_X)⁻¹ is vcov(β̂) at φ, and
 * A = 2 H⁻¹ is the asymptotic covariance of φ̂, H the Hessian of the
 * *unprofiled* deviance (REML criterion for REML fits) as a function of φ.
 *
 * Both derivatives are taken numerically with exactly numDeriv's Richardson
 * schemes (`numDeriv::hessian`: step 0.1·|x|, `numDeriv::jacobian`: step
 * 1e-4·|x|, four halvings, Richardson extrapolation), so that the numbers
 * reproduce lmerTest's, including its (small) truncation error, rather than
 * differing from them by it. H is inverted on its positive eigenvalues only
 * (lmerTest's treatment of boundary fits).
 *
 * Cost: (k+1)(k+2)·4 evaluations of the criterion (k = length of θ; each
 * O(levels), nothing proportional to n) and 8(k+1) evaluations of vcov(β̂)
 * (each one O(n) solve), once per model; every df afterwards is O(p²k).
 * @module
 */
import type { Lmm } from "../models/lmer/core.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { symmetricEigen } from "../rng/eigen.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** Settings of numDeriv's Richardson extrapolation (`method.args`). */
export interface RichardsonOptions {
  /** Absolute step used where |x| < zeroTol (numDeriv: 1e-4). */
  readonly eps?: number;
  /** Relative step (numDeriv: 1e-4 for jacobian, 0.1 for hessian). */
  readonly d?: number;
  /** Below this |x| the step is `eps` (numDeriv: √(ε/7e-7) ≈ 1.78e-5). */
  readonly zeroTol?: number;
  /** Number of step halvings (numDeriv: 4). */
  readonly r?: number;
}

const ZERO_TOL = Math.sqrt(2.220446049250313e-16 / 7e-7);

function initialSteps(x: ArrayLike<number>, o: RichardsonOptions, dDefault: number): Float64Array {
  const eps = o.eps ?? 1e-4, d = o.d ?? dDefault, zt = o.zeroTol ?? ZERO_TOL;
  const h = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    h[i] = Math.abs(d * x[i]) + eps * (Math.abs(x[i]) < zt ? 1 : 0);
  }
  return h;
}

/** Richardson's triangle as numDeriv runs it: a[k] ← (4^m a[k+1] − a[k]) / (4^m − 1). */
function extrapolate(a: Float64Array[], r: number): Float64Array {
  for (let m = 1; m < r; m++) {
    const f = 4 ** m;
    for (let k = 0; k < r - m; k++) {
      const ak = a[k], ak1 = a[k + 1];
      for (let i = 0; i < ak.length; i++) ak[i] = (ak1[i] * f - ak[i]) / (f - 1);
    }
  }
  return a[0];
}

function shifted(x: ArrayLike<number>, i: number, hi: number, j = -1, hj = 0): Float64Array {
  const y = Float64Array.from(x);
  y[i] += hi;
  if (j >= 0) y[j] += hj;
  return y;
}

/**
 * The Jacobian of a vector function by numDeriv's Richardson method
 * (`numDeriv::jacobian(func, x)` with its defaults): column i (returned as
 * `jac[i]`) is ∂f/∂x_i, from central differences at steps h, h/2, h/4, h/8
 * (h = 1e-4·|x_i|) extrapolated.
 *
 * @example
 * ```ts
 * import { numDerivJacobian } from "./satterthwaite.ts";
 * const jac = numDerivJacobian((x) => Float64Array.of(x[0] * x[1], Math.sin(x[0])), [1, 2]);
 * // jac[0] ≈ [2, cos(1)], jac[1] ≈ [1, 0]
 * ```
 */
export function numDerivJacobian(
  f: (x: Float64Array) => Float64Array,
  x: ArrayLike<number>,
  options: RichardsonOptions = {},
): Float64Array[] {
  const n = x.length, r = options.r ?? 4;
  const h0 = initialSteps(x, options, 1e-4);
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const a: Float64Array[] = [];
    let h = h0[i];
    for (let k = 0; k < r; k++) {
      const fp = f(shifted(x, i, h)), fm = f(shifted(x, i, -h));
      const col = new Float64Array(fp.length);
      for (let c = 0; c < col.length; c++) col[c] = (fp[c] - fm[c]) / (2 * h);
      a.push(col);
      h /= 2;
    }
    out.push(extrapolate(a, r));
  }
  return out;
}

/**
 * The Hessian of a scalar function by numDeriv's Richardson method
 * (`numDeriv::hessian(func, x)`: `genD` with d = 0.1, four halvings): the
 * diagonal from second differences, off-diagonal entries from the mixed
 * differences along e_i + e_j corrected by the diagonal, each extrapolated.
 * Returns an n × n column-major matrix.
 *
 * @example
 * ```ts
 * import { numDerivHessian } from "./satterthwaite.ts";
 * const h = numDerivHessian((x) => x[0] * x[0] * x[1], [1, 2]); // [[4, 2], [2, 0]]
 * ```
 */
export function numDerivHessian(
  f: (x: Float64Array) => number,
  x: ArrayLike<number>,
  options: RichardsonOptions = {},
): Float64Array {
  const n = x.length, r = options.r ?? 4;
  const h0 = initialSteps(x, options, 0.1);
  const f0 = f(Float64Array.from(x));
  const hdiag = new Float64Array(n);
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a: Float64Array[] = [];
    let h = h0[i];
    for (let k = 0; k < r; k++) {
      const f1 = f(shifted(x, i, h)), f2 = f(shifted(x, i, -h));
      a.push(Float64Array.of((f1 - 2 * f0 + f2) / (h * h)));
      h /= 2;
    }
    hdiag[i] = extrapolate(a, r)[0];
    H[i * n + i] = hdiag[i];
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const a: Float64Array[] = [];
      let hi = h0[i], hj = h0[j];
      for (let k = 0; k < r; k++) {
        const f1 = f(shifted(x, i, hi, j, hj)), f2 = f(shifted(x, i, -hi, j, -hj));
        a.push(Float64Array.of(
          (f1 - 2 * f0 + f2 - hdiag[i] * hi * hi - hdiag[j] * hj * hj) / (2 * hi * hj),
        ));
        hi /= 2;
        hj /= 2;
      }
      const v = extrapolate(a, r)[0];
      H[j * n + i] = v;
      H[i * n + j] = v;
    }
  }
  return H;
}

/**
 * lmerTest's `devfun_vp`: the deviance (REML criterion if `reml`) as a
 * function of varpar = (θ, σ), not profiled over σ:
 *
 *     ldL2 + r²(θ)/σ² + n log(2πσ²)  [+ ldRX2 − p log(2πσ²) for REML]
 *
 * @example
 * ```ts ignore
 * const m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy);
 * varparDeviance(m.lmm, [...m.theta, m.sigma], true); // = m.REMLcrit() at the optimum
 * ```
 */
export function varparDeviance(lmm: Lmm, varpar: ArrayLike<number>, reml: boolean): number {
  const k = varpar.length - 1;
  const sigma2 = varpar[k] * varpar[k];
  const parts = lmm.parts(Float64Array.from(varpar).subarray(0, k));
  const n = lmm.n, p = lmm.p;
  const dev = parts.ldL2 + parts.pwrss / sigma2 + n * (LOG_2PI + Math.log(sigma2));
  return reml ? dev + parts.ldRX2 - p * (LOG_2PI + Math.log(sigma2)) : dev;
}

/**
 * lmerTest's `get_covbeta`: vcov(β̂) = σ²(R_XᵀR_X)⁻¹ at varpar = (θ, σ), as a
 * p × p column-major matrix.
 *
 * @example
 * ```ts ignore
 * covBeta(m.lmm, [...m.theta, m.sigma], m.REML); // = m.vcov() at the optimum
 * ```
 */
export function covBeta(lmm: Lmm, varpar: ArrayLike<number>, reml: boolean): Float64Array {
  const k = varpar.length - 1;
  const sol = lmm.solve(Float64Array.from(varpar).subarray(0, k), reml);
  // sol.vcov = σ̂(θ)²(R_XᵀR_X)⁻¹; rescale to the σ of varpar.
  const scale = (varpar[k] * varpar[k]) / (sol.sigma * sol.sigma);
  return sol.vcov.map((v) => v * scale);
}

/** What lmerTest attaches to a model (`lmerModLmerTest` slots) for Satterthwaite's method. */
export interface SatterthwaiteParts {
  /** varpar = (θ̂, σ̂). */
  readonly varpar: Float64Array;
  /** Hessian of the unprofiled deviance at varpar (column-major). */
  readonly hessian: Float64Array;
  /** A = 2 H⁻¹ over H's positive eigenvalues: lmerTest's `vcov_varpar` (column-major). */
  readonly vcovVarpar: Float64Array;
  /** ∂vcov(β̂)/∂varpar_k, one p × p column-major matrix per entry of varpar (`Jac_list`). */
  readonly jacobian: readonly Float64Array[];
  /** vcov(β̂) at the optimum (p × p, column-major). */
  readonly vcovBeta: Float64Array;
  /** Number of fixed effects p. */
  readonly p: number;
  /** lmerTest's convergence warnings from the Hessian's eigenvalues (empty if none). */
  readonly warnings: readonly string[];
}

const cache = new WeakMap<LinearMixedModel, SatterthwaiteParts>();

/**
 * lmerTest's `as_lmerModLT` ingredients for a fitted model (computed once per
 * model and cached): the Hessian of the deviance in (θ, σ), its inverse A,
 * and the Jacobian of vcov(β̂).
 *
 * @example
 * ```ts ignore
 * const parts = satterthwaiteParts(lmer("Reaction ~ Days + (Days | Subject)", sleepstudy));
 * satterthwaiteDf(parts, [0, 1]); // 17.0 (lmerTest: 16.99998)
 * ```
 */
export function satterthwaiteParts(model: LinearMixedModel, tol = 1e-8): SatterthwaiteParts {
  const hit = cache.get(model);
  if (hit) return hit;
  const lmm = model.lmm, reml = model.REML, p = lmm.p;
  const varpar = Float64Array.of(...model.theta, model.sigma);
  const nv = varpar.length;
  const hessian = numDerivHessian((vp) => varparDeviance(lmm, vp, reml), varpar);
  const rows = Array.from(
    { length: nv },
    (_, i) => Array.from({ length: nv }, (_, j) => hessian[j * nv + i]),
  );
  const eig = symmetricEigen(rows);
  const warnings: string[] = [];
  const neg = [...eig.values].filter((v) => v < -tol);
  const zero = [...eig.values].filter((v) => v > -tol && v < tol);
  const fmt = (v: number[]) => v.map((x) => x.toExponential(1)).join(" ");
  if (neg.length) {
    warnings.push(
      `Model failed to converge with ${neg.length} negative eigenvalue${
        neg.length > 1 ? "s" : ""
      }: ${fmt(neg)}`,
    );
  }
  if (zero.length) {
    warnings.push(
      `Model may not have converged with ${zero.length} eigenvalue${
        zero.length > 1 ? "s" : ""
      } close to zero: ${fmt(zero)}`,
    );
  }
  // A = 2 H⁻¹ on the positive eigenvalues only (lmerTest's pseudo-inverse).
  const vcovVarpar = new Float64Array(nv * nv);
  eig.values.forEach((lambda, e) => {
    if (!(lambda > tol)) return;
    for (let j = 0; j < nv; j++) {
      for (let i = 0; i < nv; i++) {
        vcovVarpar[j * nv + i] += (2 * eig.vectors[i][e] * eig.vectors[j][e]) / lambda;
      }
    }
  });
  const jacobian = numDerivJacobian((vp) => covBeta(lmm, vp, reml), varpar);
  const parts: SatterthwaiteParts = {
    varpar,
    hessian,
    vcovVarpar,
    jacobian,
    vcovBeta: Float64Array.from(model.solution.vcov),
    p,
    warnings,
  };
  cache.set(model, parts);
  return parts;
}

/** l M lᵀ for a row vector l and a square column-major matrix M. */
function qform(l: ArrayLike<number>, m: Float64Array, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) {
    if (l[j] === 0) continue;
    let t = 0;
    for (let i = 0; i < n; i++) t += l[i] * m[j * n + i];
    s += t * l[j];
  }
  return s;
}

/**
 * Satterthwaite's df for the contrast L β (one row L of length p), as
 * lmerTest's `contest1D(model, L, ddf = "Satterthwaite")`.
 *
 * @example
 * ```ts ignore
 * satterthwaiteDf(satterthwaiteParts(m), [1, 5]); // df of β₀ + 5β₁
 * ```
 */
export function satterthwaiteDf(parts: SatterthwaiteParts, l: ArrayLike<number>): number {
  const { p } = parts;
  if (l.length !== p) {
    throw new RangeError(`L has ${l.length} entries, the model has ${p} fixed effects`);
  }
  const varCon = qform(l, parts.vcovBeta, p);
  const nv = parts.varpar.length;
  const grad = Float64Array.from(parts.jacobian, (jk) => qform(l, jk, p));
  const denom = qform(grad, parts.vcovVarpar, nv);
  return (2 * varCon * varCon) / denom;
}
