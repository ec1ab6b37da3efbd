/**
 * The numerical core of `glmer`: penalized iteratively reweighted least
 * squares (PIRLS) for the conditional modes u at (θ, β) — or for u and β
 * together at θ (lme4's nAGQ = 0 stage) — and the Laplace approximation of
 * the deviance,
 *
 *     −2 log L(θ, β) ≈ log|ΛᵀZᵀWZΛ + I| + ‖u‖² + Σ −2 log p(yᵢ | μᵢ)
 *
 * (lme4's `glmerLaplace`: `ldL2 + sqrL + aic`, the last the family's `aic`
 * at the conditional modes, with W the GLM working weights at the mode).
 *
 * Each PIRLS step is a weighted penalized least-squares problem with the
 * working response and weights, solved with lmer's blocked Cholesky
 * ({@link WeightedSystem}): the block structure is analysed once, and each
 * step refills the weighted cross-products from the rows (one O(n) pass).
 * @module
 */

import type { FixedDesign, ReTerm } from "../../design/reterm.ts";
import { buildLmm, type TermInfo } from "../lmer/core.ts";
import { termInfo, thetaLower, thetaNames, thetaStart } from "../lmer/structure.ts";
import type { GlmFamily } from "./family.ts";
import { WeightedSystem } from "./wsystem.ts";
import { WorkingRows } from "./working.ts";
import { type RowDesign, xbRows, zbRows, type ZTermRows } from "./row_threads.ts";

/** The data of a generalized linear mixed model, after the model frame. */
export interface GlmmData {
  /** Fixed-effects design. */
  readonly x: FixedDesign;
  /** The response: 0/1 or proportions (binomial), counts (Poisson). */
  readonly y: Float64Array;
  /** Binomial sizes (1 for a 0/1 or proportion response and for Poisson). */
  readonly size: Float64Array;
  /** Prior weights as R's glm uses them (times the sizes for `cbind`). */
  readonly weights: Float64Array;
  /** Offset of the linear predictor (zeros without one). */
  readonly offset: Float64Array;
  /** Random-effects terms (any order; sorted as lme4 sorts them). */
  readonly terms: readonly ReTerm[];
  /** The family and link. */
  readonly family: GlmFamily;
}

/** The state of PIRLS at convergence. */
export interface PirlsResult {
  /** Laplace deviance: ldL2 + ‖u‖² + aic. */
  readonly deviance: number;
  /** log|ΛᵀZᵀWZΛ + I| at the last weights. */
  readonly ldL2: number;
  /** ‖u‖². */
  readonly sqrL: number;
  /** The family's −2 Σ log density at μ. */
  readonly aic: number;
  /** Σ unit deviances at μ (lme4's resDev). */
  readonly resDev: number;
  /** Fixed effects (given, or from PIRLS). */
  readonly beta: Float64Array;
  /** Spherical random effects u, Z's column order (lme4's term order). */
  readonly u: Float64Array;
  /** b = Λu. */
  readonly b: Float64Array;
  /** Linear predictor η (with the offset). */
  readonly eta: Float64Array;
  /** Conditional mean μ. */
  readonly mu: Float64Array;
  /** PIRLS iterations. */
  readonly iterations: number;
  /** The working weights of the last PIRLS step (those of its factor L). */
  readonly weights: Float64Array;
  /**
   * diag((R_XᵀR_X)⁻¹) of the last weighted least-squares step (lme4's
   * `diag(pp$unsc())`), when β was estimated by PIRLS.
   */
  readonly unscDiag?: Float64Array;
}

/** Relative change of the penalized deviance at which PIRLS stops (lme4's tolPwrss). */
const PIRLS_TOL = 1e-7;
/** lme4's maximal number of PIRLS iterations. */
const PIRLS_MAXIT = 30;

/**
 * A generalized linear mixed model ready for optimization: the Laplace
 * deviance as a function of θ (β by PIRLS) or of (θ, β).
 */
export class Glmm {
  /** Number of observations. */
  readonly n: number;
  /** Number of fixed effects. */
  readonly p: number;
  /** Number of random effects (columns of Z). */
  readonly q: number;
  /** Terms in lme4's order. */
  readonly terms: readonly TermInfo[];
  /** Length of θ. */
  readonly thetaLength: number;
  /** lme4's lower bounds of θ. */
  readonly lower: Float64Array;
  /** lme4's starting θ (identity factors). */
  readonly thetaStart: Float64Array;
  /** θ's names as `getME(m, "theta")`. */
  readonly thetaNames: readonly string[];
  /** The model's data. */
  readonly data: GlmmData;
  /** η from R's `family$initialize` (μ start), with the offset. */
  readonly etaStart: Float64Array;
  private readonly noX: FixedDesign;
  /** The terms as Zb reads them. */
  readonly #zTerms: readonly ZTermRows[];
  private readonly sortedTerms: readonly ReTerm[];

  /** Sort the terms as lme4 does and compute R's starting μ. */
  constructor(data: GlmmData) {
    this.data = data;
    this.n = data.x.n;
    this.p = data.x.p;
    this.terms = termInfo(data.terms);
    this.sortedTerms = this.terms.map((t) => t.term);
    this.q = this.terms.reduce((s, t) => s + t.size, 0);
    this.thetaLength = this.terms.reduce((s, t) => s + t.nTheta, 0);
    this.lower = thetaLower(this.terms);
    this.thetaStart = thetaStart(this.terms);
    this.thetaNames = thetaNames(this.terms);
    this.noX = { x: new Float64Array(0), n: this.n, p: 0, names: [] };
    this.#zTerms = this.terms.map((t) => ({
      q: t.q,
      offset: t.zOffset,
      ones: t.q === 1 && t.term.z.every((v) => v === 1),
      index: t.term.index,
      z: t.term.z,
    }));
    const { y, weights, family, offset } = data;
    this.etaStart = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      // binomial: (w y + 0.5)/(w + 1) with w the (size-scaled) weights; Poisson: y + 0.1
      const mu = family.family === "binomial"
        ? (weights[i] * y[i] + 0.5) / (weights[i] + 1)
        : y[i] + 0.1;
      this.etaStart[i] = family.linkfun(mu) + offset[i];
    }
  }

  #systems: [WeightedSystem | undefined, WeightedSystem | undefined] = [undefined, undefined];

  /** The weighted system with X (β by PIRLS) or without (u only), built on first use. */
  private system(uOnly: boolean): WeightedSystem {
    const k = uOnly ? 1 : 0;
    return this.#systems[k] ??= new WeightedSystem(uOnly ? this.noX : this.data.x, this.terms);
  }

  /**
   * out + Zb (b in Z's column order, terms in lme4's order), or `from` + Zb
   * when `from` is given (as if it were copied into `out` first).
   */
  zb(
    b: Float64Array,
    out: Float64Array = new Float64Array(this.n),
    from?: Float64Array,
  ): Float64Array {
    zbRows(this.#zTerms, b, from ?? out, out, 0, this.n);
    return out;
  }

  /** Xβ + offset (into `out` when given). */
  xb(beta: ArrayLike<number>, out: Float64Array = new Float64Array(this.n)): Float64Array {
    xbRows(this.data.x.x, this.n, beta, this.data.offset, out, 0, this.n);
    return out;
  }

  /** The fused per-row kernels (μ, unit deviances, working weights and response). */
  #rows: WorkingRows | undefined;
  /** Buffers of one PIRLS run, reused (results are copied out). */
  #buf: PirlsBuffers | undefined;
  /** u, b and β of the accepted iterate and of the candidate (β: when PIRLS estimates it). */
  #uPairs: { u: Float64Array; b: Float64Array; beta: Float64Array }[] | undefined;
  /**
   * The first PIRLS step's working weights and (y − μ)/μ′ from a starting
   * linear predictor, kept for the next run from the same one (every
   * stage-2 evaluation starts from lme4's lp0).
   */
  #start:
    | { lp0: Float64Array | undefined; w: Float64Array; r: Float64Array; eta: Float64Array }
    | undefined;

  /** The row kernels, built on first use. */
  private rows(): WorkingRows {
    if (this.#rows) return this.#rows;
    const { y, size, weights, family, x } = this.data;
    const design: RowDesign = { x: x.x, p: x.p, terms: this.#zTerms, qTotal: this.q };
    return this.#rows = new WorkingRows(y, size, weights, family, design);
  }

  /**
   * η at the start (offset + lp0, or R's mustart) with its first step's
   * working weights w and (y − μ)/μ′ (z = η − base + that).
   */
  private startAt(
    lp0: Float64Array | undefined,
  ): { w: Float64Array; r: Float64Array; eta: Float64Array } {
    const st = this.#start;
    if (st && sameValues(st.lp0, lp0)) return st;
    const { n } = this;
    const { offset } = this.data;
    const eta = new Float64Array(n);
    for (let i = 0; i < n; i++) eta[i] = lp0 ? offset[i] + lp0[i] : this.etaStart[i];
    const rows = this.rows();
    const w = new Float64Array(n), r = new Float64Array(n);
    rows.evaluate(eta, new Float64Array(n));
    rows.working(eta, undefined, w, r);
    const st1 = { lp0: lp0 ? Float64Array.from(lp0) : undefined, w, r, eta };
    this.#start = st1;
    return st1;
  }

  /**
   * PIRLS at θ as lme4's `pwrssUpdate`: for u with β fixed (`beta` given:
   * lme4's nAGQ ≥ 1 stage), or for u and β together (`beta` undefined:
   * lme4's nAGQ = 0 stage). Each evaluation starts, as lme4's deviance
   * function does, from η = offset + `lp0` (lme4's `lp0`, a linear
   * predictor without offset; default the one of R's `mustart`) and iterates
   * until the penalized deviance changes by less than `tol` (lme4's
   * tolPwrss, 1e-7) relative, halving steps that increase it; the
   * log-determinant is the one of the last iteration's weights (as lme4's).
   * Throws when step-halving fails or after `maxit` (30) iterations.
   */
  pirls(
    theta: ArrayLike<number>,
    beta?: ArrayLike<number>,
    lp0?: Float64Array,
    tol = PIRLS_TOL,
  ): PirlsResult {
    return this.#run(theta, beta, lp0, tol, true);
  }

  /**
   * The Laplace deviance of {@link pirls} (`pirls(θ, β, lp0).deviance`, the
   * same number), without copying out its length-n results: what an
   * optimizer's deviance function needs (three n-length copies cost about
   * as much as a tenth of a PIRLS run at 1e5 rows).
   */
  deviance(
    theta: ArrayLike<number>,
    beta?: ArrayLike<number>,
    lp0?: Float64Array,
    tol = PIRLS_TOL,
  ): number {
    return this.#run(theta, beta, lp0, tol, false).deviance;
  }

  /** PIRLS; its arrays are the internal buffers unless `copy` (then the caller's own). */
  #run(
    theta: ArrayLike<number>,
    beta: ArrayLike<number> | undefined,
    lp0: Float64Array | undefined,
    tol: number,
    copy: boolean,
  ): PirlsResult {
    const { n } = this;
    const { offset } = this.data;
    const rows = this.rows();
    const uOnly = beta !== undefined;
    // a large model's η iterates and μ are the row helper's shared arrays
    // (evaluate() then copies nothing)
    const bf = this.#buf ??= ((shared) => ({
      base: shared?.base ?? new Float64Array(n),
      eta: shared?.eta[0] ?? new Float64Array(n),
      mu: shared?.mu ?? new Float64Array(n),
      w: shared?.w ?? new Float64Array(n),
      z: shared?.z ?? new Float64Array(n),
      e: shared?.eta[1] ?? new Float64Array(n),
    }))(rows.rowBuffers());
    // the first iteration's z is written there by this thread, outside a
    // job: a working job cut off in an earlier run (an interrupt) must no
    // longer be writing it
    rows.settle();
    // the working response's base, Xβ + offset or (β by PIRLS) the offset,
    // in the buffer the row helper reads
    const base = uOnly ? this.xb(beta, bf.base) : (bf.base.set(offset), bf.base);
    const { mu, w, z } = bf;
    const start = this.startAt(lp0);
    const sys = this.system(uOnly);
    // β fixed: u and b go to two pairs of buffers, the accepted iterate's
    // and the candidate's, swapped on acceptance (no allocation per step)
    const pair = this.#uPairs ??= [0, 1].map(() => ({
      u: new Float64Array(this.q),
      b: new Float64Array(this.q),
      beta: new Float64Array(this.p),
    }));
    // β by PIRLS: the candidates go to the buffers too, unless the caller
    // keeps the result (then lmer's solution, with (R_XᵀR_X)⁻¹'s diagonal)
    const buffered = uOnly || !copy;
    let acc = pair[0], cand = pair[1];
    acc.u.fill(0);
    acc.b.fill(0);
    let u: Float64Array = acc.u, b: Float64Array = acc.b;
    let be: Float64Array = uOnly ? copyOf(beta) : new Float64Array(this.p);
    // η of the accepted iterate (at first lme4's: offset + lp0, with the
    // offset and Xβ set only afterwards, so the first working response
    // carries lp0 − Xβ) and of the candidate, swapped on acceptance; μ and
    // the working quantities follow the last candidate evaluated, which is
    // always the accepted one
    const spare = bf.eta;
    let eta: Float64Array = start.eta, e = bf.e;
    let wLast = start.w;
    let oldPdev = Number.MAX_VALUE;
    let unscDiag: Float64Array | undefined;
    let pdev = NaN, rdev = NaN;
    let it = 0, converged = false;
    const formed = rows.formsEta;
    const next = (uu: Float64Array, bb: Float64Array, bbe: Float64Array) => {
      let s = 0;
      for (let k = 0; k < uu.length; k++) s += uu[k] * uu[k];
      let rd: number;
      if (formed) {
        // a large model: η = base (+ Xβ) + Zb formed in the row pass's chunks
        rd = rows.evaluateFormed(e, mu, base, bb, uOnly ? undefined : bbe);
      } else {
        if (uOnly) this.zb(bb, e, base);
        else this.zb(bb, this.xb(bbe, e));
        rd = rows.evaluate(e, mu);
      }
      return { rd, pd: rd + s };
    };
    for (; it < PIRLS_MAXIT; it++) {
      if (it === 0) {
        const r = start.r;
        for (let i = 0; i < n; i++) z[i] = eta[i] - base[i] + r[i];
      } else {
        rows.working(eta, base, w, z);
        wLast = w;
      }
      const sol = sys.solve(theta, wLast, z, buffered ? cand : undefined);
      if (!uOnly) unscDiag = sol.unscDiag;
      const uNew = sol.u, bNew = sol.b, beNew = uOnly ? be : sol.beta;
      let r = next(uNew, bNew, beNew);
      pdev = r.pd;
      const done = Math.abs((oldPdev - pdev) / pdev) < tol;
      if (!done && (Number.isNaN(pdev) || pdev > oldPdev)) {
        // step halving towards the previous iterate (lme4: up to 10 times)
        for (let k = 0; k < 10 && (Number.isNaN(r.pd) || r.pd > oldPdev); k++) {
          halve(u, uNew);
          halve(b, bNew);
          if (!uOnly) halve(be, beNew);
          r = next(uNew, bNew, beNew);
        }
        pdev = r.pd;
        if (Number.isNaN(pdev) || pdev - oldPdev > tol) {
          throw new Error(
            "(maxstephalfit) PIRLS step-halvings failed to reduce deviance in pwrssUpdate",
          );
        }
      }
      // accept the candidate
      u = uNew, b = bNew, be = beNew;
      if (buffered) [acc, cand] = [cand, acc];
      const prev = eta;
      eta = e;
      e = prev === start.eta ? spare : prev;
      rdev = r.rd;
      if (done) {
        converged = true;
        break;
      }
      oldPdev = pdev;
    }
    if (!converged) throw new Error("pwrssUpdate did not converge in (maxit) iterations");
    // the factor is still the last iteration's (step halving does not refactor)
    const ldL2 = sys.logDet();
    let sqrL = 0;
    for (let k = 0; k < u.length; k++) sqrL += u[k] * u[k];
    const aic = rows.aicAtLast();
    const cp = (a: Float64Array) => (copy ? a.slice() : a);
    return {
      deviance: ldL2 + sqrL + aic,
      ldL2,
      sqrL,
      aic,
      resDev: rdev,
      beta: be,
      u: cp(u),
      b: cp(b),
      eta: cp(eta),
      mu: cp(mu),
      iterations: it + 1,
      weights: cp(wLast),
      ...(unscDiag ? { unscDiag } : {}),
    };
  }

  /**
   * lme4's conditional variances of the modes (`ranef(m, condVar = TRUE)`'s
   * postVar): the diagonal blocks of Λ (ΛᵀZᵀWZΛ + I)⁻¹ Λᵀ with the weights
   * of the fit's last PIRLS step; per term, level l's q × q block
   * (column-major) at `l*q*q`.
   */
  condVar(theta: ArrayLike<number>, fit: PirlsResult): Float64Array[] {
    return new WeightedSystem(this.noX, this.terms).condVar(theta, fit.weights);
  }

  /**
   * (R_XᵀR_X)⁻¹ of the weighted least-squares problem at the fit's weights
   * (lme4's `pp$unsc()`, vcov's fallback when the Hessian is not usable);
   * p × p column-major.
   */
  unscaledVcov(theta: ArrayLike<number>, fit: PirlsResult): Float64Array {
    const { y, weights, family } = this.data;
    const w = new Float64Array(this.n), z = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const me = family.muEta(fit.eta[i]);
      w[i] = (weights[i] * me * me) / family.variance(fit.mu[i]);
      z[i] = fit.eta[i] - this.data.offset[i] + (y[i] - fit.mu[i]) / me;
    }
    const sol = buildLmm(this.data.x, z, this.sortedTerms, { weights: w }).solve(theta, false);
    const s2 = sol.sigma * sol.sigma;
    return sol.vcov.map((v) => v / s2);
  }
}

/** Work arrays of one PIRLS run (length n). */
interface PirlsBuffers {
  base: Float64Array;
  eta: Float64Array;
  mu: Float64Array;
  w: Float64Array;
  z: Float64Array;
  e: Float64Array;
}

/** Whether two optional arrays hold the same numbers. */
function sameValues(a: Float64Array | undefined, b: Float64Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** b ← (a + b)/2: a step halved towards the previous iterate a. */
function halve(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) b[i] = (a[i] + b[i]) / 2;
}

/** A Float64Array copy of β. */
function copyOf(v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i];
  return out;
}
