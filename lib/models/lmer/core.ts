/**
 * The numerical core of `lmer`: build the blocked crossproducts of
 * [Z X y] once (the only pass over the data), then evaluate lme4's profiled
 * REML / ML criterion as a function of θ with no work proportional to n, and
 * at the optimum compute everything the fitted model reports.
 *
 * @example
 * ```ts
 * const lmm = buildLmm(x, y, reTerms);          // O(n), once
 * lmm.thetaNames;                               // ["Subject.(Intercept)", …]
 * const f = lmm.objective(lmm.thetaStart, true); // lme4's devfun(θ) for REML
 * const fit = lmm.solve(thetaHat, true);         // β̂, σ̂, vcov, ranef, fitted…
 * ```
 * @module
 */

import type { FixedDesign, ReTerm } from "../../design/reterm.ts";
import { BlockedFactor, type TailMode } from "./cholesky.ts";
import { type CrossProducts, crossProducts, fixedByTerm, fixedCrossprod } from "./crossprod.ts";
import { centerDesign, type Centering, uncenterBeta, uncenterVcov } from "./centering.ts";
import { type DevianceParts, devianceParts, profiledCriterion } from "./deviance.ts";
import { backSubstitute, fittedValues, type LmmSolution, solve } from "./solution.ts";
import {
  type CriterionDerivatives,
  derivativesUnsupported,
  DerivativeWorkspace,
} from "./gradient.ts";
import { type TermInfo, termInfo, thetaLower, thetaNames, thetaStart } from "./structure.ts";

export type { FixedDesign, ReTerm } from "../../design/reterm.ts";
export type { TermInfo } from "./structure.ts";
export type { BlockSparse, CrossProducts } from "./crossprod.ts";
export { termOrder } from "./structure.ts";
export type { DevianceParts } from "./deviance.ts";
export type { TailMode } from "./cholesky.ts";
export type { DevComp, LmmSolution, TermSolution } from "./solution.ts";

/** The shape of a linear mixed model as the optimizer and printers see it. */
export interface LmmStructure {
  /** Number of observations. */
  readonly n: number;
  /** Number of fixed-effect columns. */
  readonly p: number;
  /** Total number of random effects (columns of Z). */
  readonly q: number;
  /** Random-effects terms in lme4's order, with their Z and θ offsets. */
  readonly terms: readonly TermInfo[];
  /** Length of θ. */
  readonly thetaLength: number;
  /** lme4's lower bounds of θ (0 on factor diagonals, −∞ elsewhere). */
  readonly lower: Float64Array;
  /** lme4's starting θ (identity factors). */
  readonly thetaStart: Float64Array;
  /** θ's names as `getME(m, "theta")`, e.g. "Subject.Days.(Intercept)". */
  readonly thetaNames: readonly string[];
  /** X's column names. */
  readonly fixedNames: readonly string[];
  /**
   * Order of the dense block factored at each evaluation (Z columns of the
   * crossed terms + p + 1, or fewer when the crossed terms are factored
   * sparsely); the evaluation cost is about denseOrder³/3 flops plus terms
   * linear in the number of levels (and the sparse columns' work).
   */
  readonly denseOrder: number;
}

/** Options of {@link buildLmm}. */
export interface LmmOptions {
  /**
   * Factor the dense block with the WebAssembly SIMD kernels when the runtime
   * supports them (default true). The results are bitwise the same either way.
   */
  readonly simd?: boolean;
  /**
   * Prior weights (lme4's `weights`): positive and finite, one per
   * observation; the residual variance of observation i is σ²/wᵢ.
   */
  readonly weights?: Float64Array;
  /** A known offset added to the linear predictor (lme4's `offset`). */
  readonly offset?: Float64Array;
  /**
   * How the crossed terms' block (the tail) is factored: `"auto"` (default)
   * picks a sparse factorization in a fill-reducing order when its estimated
   * work is below the dense one's (a deterministic flop count), `"dense"` and
   * `"sparse"` force a path. The results agree to rounding.
   */
  readonly tail?: TailMode;
}

/**
 * Cross-products formed elsewhere (by a data source that is not in memory,
 * lib/sources/), of F̃ = [X y] centred as {@link centerDesign} would centre
 * it (or uncentred when `centering` is absent), terms in lme4's order.
 */
export interface FormedCrossProducts {
  /** The blocks of Ã = [Z X̃ ỹ]ᵀ[Z X̃ ỹ]. */
  readonly a: CrossProducts;
  /** X's column names. */
  readonly names: readonly string[];
  /** The intercept column k and the shifts a (length p + 1, a[k] = 0), if centred. */
  readonly centering?: { readonly k: number; readonly a: Float64Array };
  /**
   * Fitted values and residuals computed by the source from β and b (a pass
   * over its rows, on first use), when it can; without it they refuse.
   */
  readonly stream?: RowStream;
}

/** Computes fitted values Xβ + Zb and residuals y − fitted over a source's rows. */
export type RowStream = (
  beta: Float64Array,
  b: Float64Array,
) => { readonly fitted: Float64Array; readonly residuals: Float64Array };

/**
 * A linear mixed model ready for optimization: the crossproducts are formed,
 * and each call to {@link Lmm.objective} refactors the blocked system for θ.
 * Not safe for concurrent use (it reuses its workspace), and it keeps
 * references to X, y and the terms for {@link Lmm.solve}'s O(n) pass.
 */
export class Lmm implements LmmStructure {
  readonly n: number;
  readonly p: number;
  readonly q: number;
  readonly terms: readonly TermInfo[];
  readonly thetaLength: number;
  readonly lower: Float64Array;
  readonly thetaStart: Float64Array;
  readonly thetaNames: readonly string[];
  readonly fixedNames: readonly string[];
  readonly denseOrder: number;
  /** Whether the tail is factored sparsely (see {@link LmmOptions.tail}). */
  readonly sparseTail: boolean;

  /** The fitted design: X and y centred at their means when X has an intercept. */
  private readonly x: FixedDesign;
  private readonly y: Float64Array;
  private readonly centering: Centering | undefined;
  /** X and y − offset as given (unweighted, uncentred). */
  private readonly input: { readonly x: FixedDesign; readonly y: Float64Array };
  /** Prior weights, when given. */
  readonly weights: Float64Array | undefined;
  /** Offset, when given. */
  readonly offset: Float64Array | undefined;
  /** Σ log wᵢ: the weights' term of the criterion (0 without weights). */
  private readonly ldW: number;
  /** The terms with √w-scaled Z, when weighted (else this.terms). */
  private readonly fitTerms: readonly TermInfo[];
  /** The cross-products the factor works on (of the centred design). */
  private readonly a: CrossProducts;
  private uncentered: CrossProducts | undefined;
  private readonly factor: BlockedFactor;
  private readonly xtxDiag: Float64Array;

  /**
   * Whether the rows are at hand (false: fitted from {@link FormedCrossProducts};
   * fitted values and residuals need the data).
   */
  readonly rows: boolean;
  private readonly stream: RowStream | undefined;
  private derivativeWork: DerivativeWorkspace | undefined;
  private lastParts:
    | { readonly theta: Float64Array; readonly updates: number; readonly parts: DevianceParts }
    | undefined;

  /** Prefer {@link buildLmm} (or {@link lmmFromCrossProducts}). */
  constructor(
    x: FixedDesign,
    y: Float64Array,
    terms: readonly ReTerm[],
    options: LmmOptions = {},
    formed?: FormedCrossProducts,
  ) {
    if (terms.length === 0) {
      throw new Error("a linear mixed model needs at least one random-effects term");
    }
    this.n = x.n;
    this.p = x.p;
    this.terms = termInfo(terms);
    this.q = this.terms.reduce((s, t) => s + t.size, 0);
    this.thetaLength = this.terms.reduce((s, t) => s + t.nTheta, 0);
    this.lower = thetaLower(this.terms);
    this.thetaStart = thetaStart(this.terms);
    this.thetaNames = thetaNames(this.terms);
    this.fixedNames = x.names;
    if (this.n <= this.p) {
      throw new Error(`need more observations (${this.n}) than fixed effects (${this.p})`);
    }
    const { weights: w, offset } = options;
    this.rows = !formed;
    this.stream = formed?.stream;
    if (formed) {
      // a fit from aggregated cross-products: no rows, no weights or offset
      if (w || offset) throw new Error("weights and offsets need the rows in memory");
      this.weights = undefined;
      this.offset = undefined;
      this.ldW = 0;
      this.input = { x, y };
      const c = formed.centering;
      this.centering = c ? { k: c.k, a: c.a, x, y } : undefined;
      this.x = x;
      this.y = y;
      this.fitTerms = this.terms;
      this.a = formed.a;
      if (!c) this.uncentered = this.a;
      this.factor = new BlockedFactor(this.a, this.terms, options.simd ?? true, options.tail);
      this.sparseTail = this.factor.sparse !== undefined;
      this.denseOrder = this.factor.m;
      const nf0 = this.p + 1;
      this.xtxDiag = new Float64Array(this.p);
      for (let j = 0; j < this.p; j++) this.xtxDiag[j] = this.a.ff[j * nf0 + j];
      return;
    }
    checkRowVector(w, "weights", this.n, true);
    checkRowVector(offset, "offset", this.n, false);
    this.weights = w;
    this.offset = offset;
    let ldW = 0;
    if (w) { for (let i = 0; i < this.n; i++) ldW += Math.log(w[i]); }
    this.ldW = ldW;
    const yOff = offset ? y.map((v, i) => v - offset[i]) : y;
    // Centring keeps A's entries at the scale of the data's spread, so the
    // fit does not depend on the data's location (see centering.ts).
    this.input = { x, y: yOff };
    this.centering = centerDesign(x, yOff, w);
    let xf = this.centering?.x ?? x, yf = this.centering?.y ?? yOff;
    let fitTerms = this.terms;
    if (w) {
      // weighted least squares: rows of [Z X y] times √wᵢ
      const sw = w.map(Math.sqrt);
      const xw = Float64Array.from(xf.x);
      for (let j = 0; j < this.p; j++) {
        for (let i = 0; i < this.n; i++) xw[j * this.n + i] *= sw[i];
      }
      xf = { ...xf, x: xw };
      yf = yf.map((v, i) => v * sw[i]);
      fitTerms = this.terms.map((t) => {
        const z = Float64Array.from(t.term.z);
        for (let i = 0; i < this.n; i++) {
          for (let c = 0; c < t.q; c++) z[i * t.q + c] *= sw[i];
        }
        return { ...t, term: { ...t.term, z } };
      });
    }
    this.x = xf;
    this.y = yf;
    this.fitTerms = fitTerms;
    this.a = crossProducts(this.x, this.y, fitTerms);
    if (!this.centering && !w) this.uncentered = this.a;
    this.factor = new BlockedFactor(this.a, fitTerms, options.simd ?? true, options.tail);
    this.sparseTail = this.factor.sparse !== undefined;
    this.denseOrder = this.factor.m;
    const nf = this.p + 1;
    this.xtxDiag = new Float64Array(this.p);
    for (let j = 0; j < this.p; j++) this.xtxDiag[j] = this.a.ff[j * nf + j];
  }

  /** The cross-products the factor works on (of the centred design, see centering.ts). */
  get fitProducts(): CrossProducts {
    return this.a;
  }

  /**
   * The blocked crossproducts A = [Z X y]ᵀ[Z X y] of the data as given
   * (uncentred), for refits and profiles that change X's columns or y
   * (formed on first use; the Z blocks are shared with the fit's).
   */
  get crossprod(): CrossProducts {
    if (this.weights) {
      throw new Error(
        "refits, profiles and the bootstrap are not available yet for models with prior weights",
      );
    }
    if (!this.uncentered && !this.rows) this.uncentered = uncenterProducts(this.a, this.centering!);
    if (!this.uncentered) {
      const { x, y } = this.input;
      // F's blocks from the data, as the fit would form them uncentred (an
      // exact transform of the centred blocks would round differently)
      const fz = this.terms.map((t) => fixedByTerm(x, y, t));
      this.uncentered = { ...this.a, fz, ff: fixedCrossprod(x, y) };
    }
    return this.uncentered;
  }

  /**
   * lme4's profiled criterion at θ (what `lmer(..., devFunOnly = TRUE)`
   * returns): the REML criterion if `reml`, else the ML deviance (−2 log L).
   * Throws for a θ of the wrong length or with non-finite entries, and for a
   * rank-deficient X.
   */
  objective(theta: ArrayLike<number>, reml: boolean): number {
    return profiledCriterion(this.parts(theta), this.n, this.p, reml) - this.ldW;
  }

  /** ldL2, ldRX2 and the penalized RSS at θ (refactors L). */
  parts(theta: ArrayLike<number>): DevianceParts {
    this.checkTheta(theta);
    // The Newton path's last evaluation is at the optimum, where the fitted
    // model is then built: reuse that factorization (the dense tail only, which
    // nothing but update() writes) instead of repeating it.
    const last = this.lastParts;
    if (last && last.updates === this.factor.updates && !this.factor.sparse) {
      let same = true;
      for (let k = 0; k < theta.length; k++) same &&= Object.is(theta[k], last.theta[k]);
      if (same) return last.parts;
    }
    const info = this.factor.update(theta);
    const parts = devianceParts(this.factor, info, this.xtxDiag);
    this.lastParts = { theta: Float64Array.from(theta), updates: this.factor.updates, parts };
    return parts;
  }

  /**
   * Whether {@link Lmm.derivatives} applies: every random-effects term
   * scalar, one head term and a densely factored tail (crossed factors),
   * the rows in memory.
   */
  get derivativesSupported(): boolean {
    return this.derivativesUnsupported === undefined;
  }

  /** Why {@link Lmm.derivatives} does not apply (undefined when it does). */
  get derivativesUnsupported(): string | undefined {
    if (!this.rows) return "the model was fitted from aggregated cross-products, not rows";
    return derivativesUnsupported(this.factor);
  }

  /**
   * The criterion at θ with its exact gradient and an approximate Hessian
   * (lib/models/lmer/gradient.ts); needs {@link Lmm.derivativesSupported}.
   * Costs about two evaluations of {@link Lmm.objective}.
   */
  derivatives(
    theta: ArrayLike<number>,
    reml: boolean,
  ): CriterionDerivatives & { readonly objective: number } {
    const why = this.derivativesUnsupported;
    if (why) throw new Error(`the criterion's derivatives do not apply here: ${why}`);
    const parts = this.parts(theta);
    const objective = profiledCriterion(parts, this.n, this.p, reml) - this.ldW;
    this.derivativeWork ??= new DerivativeWorkspace();
    const u = new Float64Array(this.q), beta = new Float64Array(this.p);
    backSubstitute(this.factor, u, beta);
    const d = this.derivativeWork.derivatives({
      factor: this.factor,
      theta,
      reml,
      pwrss: parts.pwrss,
      u,
      beta,
      x: this.x,
      y: this.y,
      terms: this.fitTerms,
    });
    return { objective, ...d };
  }

  /** β̂, u, b, σ̂, vcov, conditional variances, fitted values… at θ. */
  solve(theta: ArrayLike<number>, reml: boolean): LmmSolution {
    const parts = this.parts(theta);
    const objective = profiledCriterion(parts, this.n, this.p, reml) - this.ldW;
    const th = Float64Array.from(theta);
    const sol = solve({
      factor: this.factor,
      parts,
      theta: th,
      reml,
      objective,
      x: this.x,
      y: this.y,
      refactor: () => void this.factor.update(th),
      rows: this.rows,
    });
    const cen = this.centering;
    if (!this.rows) return rowFreeSolution(sol, cen, this.p, this.stream);
    if (!cen && !this.weights && !this.offset) return sol;
    // back from the centred coordinates: β, vcov, fitted (residuals, u, b,
    // σ and the criterion are the same in both)
    const vcov = cen ? uncenterVcov(sol.vcov, cen, this.p) : sol.vcov;
    const se = new Float64Array(this.p);
    for (let j = 0; j < this.p; j++) se[j] = Math.sqrt(vcov[j * this.p + j]);
    const beta = cen ? uncenterBeta(sol.beta, cen) : sol.beta;
    if (!this.weights && !this.offset) {
      const fitted = sol.fitted.map((f) => f + cen!.a[this.p]);
      return { ...sol, beta, vcov, se, fitted };
    }
    // with weights or an offset: fitted values on the response's scale
    // (Xβ + Zb + offset), response residuals y − fitted, and Pearson
    // residuals √w (y − fitted)
    const fitted = fittedValues(this.input.x, beta, this.terms, sol.b); // Xβ + Zb
    const { offset, weights } = this;
    const residuals = new Float64Array(this.n), pearson = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const r = this.input.y[i] - fitted[i];
      if (offset) fitted[i] += offset[i];
      residuals[i] = r;
      pearson[i] = weights ? Math.sqrt(weights[i]) * r : r;
    }
    return { ...sol, beta, vcov, se, fitted, residuals, pearson };
  }

  /** Reject a θ of the wrong length or with non-finite entries. */
  private checkTheta(theta: ArrayLike<number>): void {
    if (theta.length !== this.thetaLength) {
      throw new Error(`θ has length ${theta.length}, expected ${this.thetaLength}`);
    }
    for (let k = 0; k < theta.length; k++) {
      if (!Number.isFinite(theta[k])) {
        throw new Error(`θ[${k}] (${this.thetaNames[k]}) is ${theta[k]}`);
      }
    }
  }
}

/** The message when rows are asked of a model fitted from aggregated cross-products. */
export const ROWS_NEEDED =
  "needs the rows: this model was fitted from aggregated cross-products of a " +
  "data source (a LazyFrame or SQL table), not from rows in memory; collect the data " +
  "(e.g. lmer(formula, lazyFrame.collectSync())) and refit for this";

/** β and vcov back from the centred coordinates; fitted values and residuals refuse. */
function rowFreeSolution(
  sol: LmmSolution,
  cen: Centering | undefined,
  p: number,
  stream: RowStream | undefined,
): LmmSolution {
  const vcov = cen ? uncenterVcov(sol.vcov, cen, p) : sol.vcov;
  const se = new Float64Array(p);
  for (let j = 0; j < p; j++) se[j] = Math.sqrt(vcov[j * p + j]);
  const beta = cen ? uncenterBeta(sol.beta, cen) : sol.beta;
  const { fitted: _f, residuals: _r, ...rest } = sol;
  let rows: ReturnType<RowStream> | undefined;
  const get = (what: string, key: "fitted" | "residuals") => ({
    get(): Float64Array {
      if (!stream) throw new Error(`${what} ${ROWS_NEEDED}`);
      rows ??= stream(beta, sol.b);
      return rows[key];
    },
    enumerable: false,
  });
  return Object.defineProperties({ ...rest, beta, vcov, se }, {
    fitted: get("fitted()", "fitted"),
    residuals: get("residuals()", "residuals"),
  }) as LmmSolution;
}

/**
 * The uncentred blocks from the centred ones: F = F̃ S⁻¹ with S⁻¹ = I + e_k aᵀ,
 * i.e. f_j = f̃_j + a_j f̃_k (f̃_k is the intercept column).
 */
function uncenterProducts(a: CrossProducts, cen: Centering): CrossProducts {
  const nf = a.p + 1, { k } = cen, s = cen.a;
  const fz = a.fz.map((m) => {
    const out = m.slice();
    for (let c = 0; c < out.length / nf; c++) {
      for (let j = 0; j < nf; j++) if (j !== k) out[c * nf + j] += s[j] * m[c * nf + k];
    }
    return out;
  });
  // rows, then columns
  const r = a.ff.slice();
  for (let c = 0; c < nf; c++) {
    for (let j = 0; j < nf; j++) if (j !== k) r[c * nf + j] += s[j] * a.ff[c * nf + k];
  }
  const ff = r.slice();
  for (let c = 0; c < nf; c++) {
    if (c === k) continue;
    for (let j = 0; j < nf; j++) ff[c * nf + j] += s[c] * r[k * nf + j];
  }
  return { ...a, fz, ff };
}

/**
 * A linear mixed model from cross-products formed elsewhere (a data source
 * that is not in memory): the criterion, β, θ, σ and the conditional
 * variances are exactly as from rows; fitted values and residuals refuse
 * (see {@link ROWS_NEEDED}).
 *
 * @example
 * ```ts ignore
 * const lmm = lmmFromCrossProducts({ a, names: ["(Intercept)", "x"] }, n, reTerms);
 * lmm.objective(lmm.thetaStart, true);
 * ```
 */
export function lmmFromCrossProducts(
  formed: FormedCrossProducts,
  n: number,
  terms: readonly ReTerm[],
  options: Pick<LmmOptions, "simd" | "tail"> = {},
): Lmm {
  const p = formed.names.length;
  const x: FixedDesign = { x: new Float64Array(0), n, p, names: formed.names };
  return new Lmm(x, new Float64Array(0), terms, options, formed);
}

/** Weights (positive) or an offset: finite, one per observation. */
function checkRowVector(
  v: Float64Array | undefined,
  what: string,
  n: number,
  positive: boolean,
): void {
  if (v === undefined) return;
  if (v.length !== n) throw new RangeError(`${what}: ${v.length} values for ${n} observations`);
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (!Number.isFinite(x) || (positive && !(x > 0))) {
      throw new RangeError(
        `${what}: value ${i + 1} is ${x}; ${what} must be ${
          positive ? "positive and finite" : "finite"
        }`,
      );
    }
  }
}

/**
 * Form the model's blocked crossproducts from the fixed design, the response
 * and the random-effects terms (any order: they are sorted as lme4 sorts
 * them). This is the only pass over the n observations.
 *
 * @example
 * ```ts
 * const lmm = buildLmm(x, y, [subjectTerm]);
 * lmm.objective([1, 0, 1], true); // REML criterion at θ = (1, 0, 1)
 * ```
 */
export function buildLmm(
  x: FixedDesign,
  y: Float64Array,
  terms: readonly ReTerm[],
  options: LmmOptions = {},
): Lmm {
  return new Lmm(x, y, terms, options);
}
