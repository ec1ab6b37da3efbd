/**
 * Adaptive Gauss-Hermite quadrature (`glmer(..., { nAGQ })` with nAGQ > 1)
 * as lme4's `glmerAGQ`: for a model with a single scalar random-effects
 * term the integral over the random effects factors into one
 * one-dimensional integral per level j of the grouping factor,
 *
 *     ∫ exp(−devc_j(u)/2) du,   devc_j(u) = u² + Σ_{i in j} d_i(u)
 *
 * (d_i the unit deviances). Each integral is centred at the conditional
 * mode û_j and scaled by sd_j = 1/L_jj (L the Cholesky factor of
 * ΛᵀZᵀWZΛ + I at PIRLS's last weights), then evaluated with the
 * Gauss-Hermite rule of the standard normal density:
 *
 *     mult_j = Σ_k w_k exp(−(devc_j(û_j + z_k sd_j) − devc_j(û_j))/2 − log φ(z_k)) / √(2π)
 *     deviance = Σ_j devc_j(û_j) + log|L|² − 2 log Π_j mult_j
 *
 * As lme4's, this deviance is built from the unit deviances (not the full
 * −2 log-density that the Laplace deviance uses), so AGQ and Laplace
 * log-likelihoods of the same binomial model are not on the same scale.
 * @module
 */
import type { TermInfo } from "../lmer/structure.ts";
import type { Glmm, PirlsResult } from "./pirls.ts";

/** lme4's largest number of quadrature points accepted by `glmer` (its `nAGQ <= 25L` check). */
export const MAX_NAGQ = 25;

/** A Gauss-Hermite rule for the standard normal density (lme4's `GHrule(n)`). */
export interface GHRule {
  /** Nodes, increasing. */
  readonly z: Float64Array;
  /** Weights, summing to 1. */
  readonly w: Float64Array;
  /** log φ(z): the standard normal log-density at the nodes. */
  readonly ldnorm: Float64Array;
}

const LN_SQRT_2PI = 0.918938533204672741780329736406;
const SQRT_2PI = 2.506628274631000502415765284811;

/**
 * Orthonormal Hermite polynomials of the standard normal density at x:
 * p_0 = 1, p_{k+1} = (x p_k − √k p_{k−1}) / √(k+1). Returns p_{n−1}(x),
 * p_n(x) and Σ_{k<n} p_k(x)² (whose inverse is the Christoffel weight).
 */
function hermite(n: number, x: number): { pm1: number; pn: number; sumSq: number } {
  let p0 = 0, p1 = 1, sumSq = 0;
  for (let k = 0; k < n; k++) {
    sumSq += p1 * p1;
    const p2 = (x * p1 - Math.sqrt(k) * p0) / Math.sqrt(k + 1);
    p0 = p1, p1 = p2;
  }
  return { pm1: p0, pn: p1, sumSq };
}

/**
 * Number of eigenvalues below x of the Jacobi matrix of the Hermite
 * polynomials (zero diagonal, off-diagonal √1 … √(n−1)): the Sturm count of
 * the LDLᵀ pivots of J − xI.
 */
function sturmCount(n: number, x: number): number {
  let count = 0, q = -x;
  if (q < 0) count++;
  for (let i = 1; i < n; i++) {
    const qq = q === 0 ? Number.MIN_VALUE : q;
    q = -x - i / qq;
    if (q < 0) count++;
  }
  return count;
}

const rules = new Map<number, GHRule>();

/**
 * The n-point Gauss-Hermite rule for ∫ f(z) φ(z) dz as lme4's `GHrule(n)`:
 * the nodes are the eigenvalues of the Jacobi matrix of the Hermite
 * polynomials (Golub-Welsch), found by Sturm-sequence bisection and polished
 * by Newton steps on the polynomial; the weights are the Christoffel numbers
 * 1 / Σ_k p_k(z)² (equal to the squared first components of the
 * eigenvectors, but accurate to full relative precision also for the tiny
 * weights of the outer nodes). The rule is made exactly symmetric (as
 * lme4 ≥ 2.0 does), so an odd rule has the node 0.
 *
 * @example
 * ```ts
 * import { ghRule } from "./agq.ts";
 * const r = ghRule(3); // nodes −√3, 0, √3 with weights 1/6, 2/3, 1/6
 * r.w[1]; // 0.6666…
 * ```
 */
export function ghRule(n: number): GHRule {
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new RangeError(`ghRule: the order must be an integer from 1 to 100, got ${n}`);
  }
  const cached = rules.get(n);
  if (cached) return cached;
  const z = new Float64Array(n), w = new Float64Array(n);
  // Gershgorin: the spectrum lies in [−2√n, 2√n]
  const bound = 2 * Math.sqrt(n) + 1;
  for (let k = 0; k < n; k++) {
    // the (k+1)-th smallest eigenvalue: count(lo) ≤ k < count(hi)
    let lo = -bound, hi = bound;
    for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(1, Math.abs(lo), Math.abs(hi)); it++) {
      const mid = (lo + hi) / 2;
      if (sturmCount(n, mid) > k) hi = mid;
      else lo = mid;
    }
    let x = (lo + hi) / 2;
    for (let it = 0; it < 3; it++) {
      const h = hermite(n, x);
      const step = h.pn / (Math.sqrt(n) * h.pm1);
      if (!Number.isFinite(step)) break;
      x -= step;
      if (Math.abs(step) <= 1e-16 * Math.max(1, Math.abs(x))) break;
    }
    z[k] = x;
  }
  // exact symmetry: z_k = −z_{n−1−k}, equal weights of mirrored nodes
  for (let k = 0; k < n >> 1; k++) {
    const a = (z[n - 1 - k] - z[k]) / 2;
    z[k] = -a, z[n - 1 - k] = a;
  }
  if (n % 2 === 1) z[n >> 1] = 0;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += w[k] = 1 / hermite(n, z[k]).sumSq;
  for (let k = 0; k < n; k++) w[k] /= sum;
  for (let k = 0; k < n >> 1; k++) {
    const m = (w[k] + w[n - 1 - k]) / 2;
    w[k] = w[n - 1 - k] = m;
  }
  const ldnorm = z.map((v) => -0.5 * v * v - LN_SQRT_2PI);
  const rule = { z, w, ldnorm };
  rules.set(n, rule);
  return rule;
}

/**
 * lme4's checks that AGQ applies: one grouping factor whose first term (in
 * lme4's term order) is scalar (R's message), and that this is the only
 * term (lme4's C++ check on the Cholesky factor being diagonal).
 */
export function checkAgqTerms(terms: readonly TermInfo[]): void {
  const groups = new Set(terms.map((t) => t.group));
  if (groups.size !== 1 || terms[0].q !== 1) {
    throw new RangeError(
      "nAGQ > 1 is only available for models with a single, scalar random-effects term",
    );
  }
  if (terms.length !== 1) {
    throw new RangeError("AGQ only defined for a single scalar random-effects term");
  }
}

/**
 * The AGQ deviance (lme4's `glmerAGQ`) at θ (one value) from PIRLS's
 * converged state `fit` at (θ, β): the conditional modes, the linear
 * predictor and the working weights of the last PIRLS step (those of L).
 */
export function agqDeviance(
  glmm: Glmm,
  theta: number,
  fit: PirlsResult,
  rule: GHRule,
): number {
  const term = glmm.terms[0];
  const { index, z: zcol } = term.term;
  const nl = term.nLevels, n = glmm.n;
  const { y, weights, family } = glmm.data;
  const w = fit.weights, eta = fit.eta, u = fit.u;
  // L_jj² = 1 + θ² Σ_{i in j} w_i z_i² (ΛᵀZᵀWZΛ + I is diagonal here)
  const sd = new Float64Array(nl).fill(0);
  for (let i = 0; i < n; i++) sd[index[i]] += w[i] * zcol[i] * zcol[i];
  for (let j = 0; j < nl; j++) sd[j] = 1 / Math.sqrt(1 + theta * theta * sd[j]);
  // devc0: û_j² plus the unit deviances of level j at the mode
  const devc0 = new Float64Array(nl), devc = new Float64Array(nl);
  for (let j = 0; j < nl; j++) devc0[j] = u[j] * u[j];
  for (let i = 0; i < n; i++) {
    devc0[index[i]] += family.devResid(y[i], fit.mu[i], weights[i]);
  }
  const mult = new Float64Array(nl);
  const { z: zk, w: wk, ldnorm } = rule;
  for (let k = 0; k < zk.length; k++) {
    if (zk[k] === 0) {
      for (let j = 0; j < nl; j++) mult[j] += wk[k];
      continue;
    }
    // u_j = û_j + z_k sd_j: η moves by θ z_i z_k sd_j
    for (let j = 0; j < nl; j++) {
      const uj = u[j] + zk[k] * sd[j];
      devc[j] = uj * uj;
    }
    for (let i = 0; i < n; i++) {
      const j = index[i];
      const e = eta[i] + theta * zcol[i] * zk[k] * sd[j];
      devc[j] += family.devResid(y[i], family.linkinv(e), weights[i]);
    }
    for (let j = 0; j < nl; j++) {
      mult[j] += (Math.exp(-0.5 * (devc[j] - devc0[j]) - ldnorm[k]) * wk[k]) / SQRT_2PI;
    }
  }
  let sum0 = 0, prod = 1, logProd = 0;
  for (let j = 0; j < nl; j++) {
    sum0 += devc0[j];
    prod *= mult[j];
    logProd += Math.log(mult[j]);
  }
  // lme4 takes log(prod(mult)); fall back to Σ log when the product under- or overflows
  const lp = prod > 0 && Number.isFinite(prod) ? Math.log(prod) : logProd;
  return sum0 + fit.ldL2 - 2 * lp;
}

/**
 * lme4's stage-2 deviance function for nAGQ > 1 (`glmer(..., nAGQ,
 * devFunOnly = TRUE)`): (θ, β) ↦ the AGQ deviance after PIRLS for u at
 * (θ, β), each evaluation starting from the linear predictor `lp0`
 * (without offset; stage 1's final one). Throws where PIRLS fails.
 */
export function agqDevfun(
  glmm: Glmm,
  lp0: Float64Array,
  nAGQ: number,
): (par: ArrayLike<number>) => number {
  checkAgqTerms(glmm.terms);
  const rule = ghRule(nAGQ);
  const nth = glmm.thetaLength;
  return (par) => {
    const p = Float64Array.from(par);
    const fit = glmm.pirls(p.subarray(0, nth), p.subarray(nth), lp0);
    return agqDeviance(glmm, p[0], fit, rule);
  };
}
