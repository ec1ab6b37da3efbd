/**
 * Refitting a fitted linear mixed model to a new response, as lme4's
 * `refit(m, newresp)`, without a new pass over the design.
 *
 * A = [Z X y]ᵀ[Z X y] changes only in its y row and column when y changes:
 * Zᵀy (one entry per random effect) and Xᵀy, yᵀy. {@link RefitCore} keeps
 * the model's Zᵀ Z and Zᵀ X blocks (shared, never copied), owns a copy of the
 * F = [X y] blocks, and rewrites only the y parts: O(n·(p + Σq)) per new
 * response, against O(n·(p + Σq)²) for the full cross-products, and no new
 * symbolic analysis of the blocked Cholesky factor. The parametric bootstrap
 * (one refit per simulated response) and the fixed-effect profiles (X
 * without one column, that column times a fixed value moved into an offset,
 * which is a linear change of the y row computed from A itself, with no
 * pass over the data at all) run on it.
 *
 * {@link refit} returns a complete {@link LinearMixedModel}; until the core
 * offers a way to build an `Lmm` from an existing one (see the lead's notes),
 * it forms the cross-products again.
 *
 * @example
 * ```ts ignore
 * const core = RefitCore.fromModel(m);
 * core.setResponse(newY);                          // y parts of A only
 * const r = core.fit({ reml: m.REML, start: m.theta }); // lme4's refit optimisation
 * console.log(r.theta, r.beta, r.sigma);
 * ```
 * @module
 */

import type { FixedDesign } from "../../design/reterm.ts";
import { bobyqa } from "../../optim/mod.ts";
import type { OptimStatus } from "../../optim/mod.ts";
import { BlockedFactor } from "./cholesky.ts";
import type { CrossProducts } from "./crossprod.ts";
import { type DevianceParts, devianceParts, profiledCriterion } from "./deviance.ts";
import type { TermInfo } from "./structure.ts";
import { type LmerControl, mkLmerDevfun, mkMerMod, type OptSummary } from "./fit.ts";
import type { LinearMixedModel } from "./model.ts";

/** The parts of a fitted model a {@link RefitCore} is built from. */
export interface RefitSource {
  /** The model's cross-products A = [Z X y]ᵀ[Z X y]. */
  readonly crossprod: CrossProducts;
  /** Random-effects terms in lme4's order. */
  readonly terms: readonly TermInfo[];
  /** Lower bounds of θ. */
  readonly lower: Float64Array;
  /** The fixed-effects design the cross-products were formed from. */
  readonly x: FixedDesign;
}

/** Result of {@link RefitCore.fit}: the estimates at the new optimum. */
export interface RefitResult {
  /** θ̂. */
  readonly theta: Float64Array;
  /** β̂ (X's columns, without a dropped one). */
  readonly beta: Float64Array;
  /** σ̂ (REML or ML as fitted). */
  readonly sigma: number;
  /** The criterion at θ̂. */
  readonly objective: number;
  /** Criterion evaluations used. */
  readonly feval: number;
  /** The optimizer's stopping reason. */
  readonly status: OptimStatus;
  /** NLopt's return code (lme4 warns when it is negative or 5). */
  readonly code: number;
}

/** Options of {@link RefitCore.fit}. */
export interface RefitOptions {
  /** REML criterion (else ML deviance). */
  readonly reml: boolean;
  /** Starting θ (lme4's refit starts at the fitted θ̂). */
  readonly start: ArrayLike<number>;
  /** Optimizer settings (nloptwrap's defaults otherwise). */
  readonly control?: LmerControl;
  /**
   * The p of the REML criterion's n − p (default: the number of X columns).
   * lme4's `refit` (and so `bootMer`) builds its response module with
   * `REML = isREML(object)`, i.e. TRUE, stored as the integer 1: its refits
   * of a REML fit optimise the criterion with n − 1 whatever p is (σ̂ still
   * uses n − p). Pass 1 to reproduce lme4's numbers exactly.
   */
  readonly remlP?: number;
}

/** Where the y row of a core comes from. */
type ResponseSource =
  | { readonly kind: "data"; readonly x: FixedDesign }
  | {
    readonly kind: "offset";
    /** The full model's cross-products. */
    readonly base: CrossProducts;
    /** The X column moved into the offset. */
    readonly column: number;
    /** The X columns kept, in order. */
    readonly kept: readonly number[];
  };

/**
 * A linear mixed model whose response can be replaced cheaply, evaluating
 * lme4's profiled criterion as `Lmm.objective` does. Not safe for
 * concurrent use (one factor workspace).
 *
 * @example
 * ```ts ignore
 * const core = RefitCore.fromModel(m);
 * core.setResponse(y2);
 * const { theta, beta, sigma } = core.fit({ reml: true, start: m.theta });
 * ```
 */
export class RefitCore {
  /** Number of observations. */
  readonly n: number;
  /** Number of fixed-effect columns of this core. */
  readonly p: number;
  /** Random-effects terms in lme4's order. */
  readonly terms: readonly TermInfo[];
  /** Lower bounds of θ. */
  readonly lower: Float64Array;
  /** Length of θ. */
  readonly thetaLength: number;
  /** This core's cross-products (the F blocks are its own). */
  readonly crossprod: CrossProducts;

  readonly #factor: BlockedFactor;
  readonly #xtxDiag: Float64Array;
  readonly #source: ResponseSource;

  private constructor(
    crossprod: CrossProducts,
    terms: readonly TermInfo[],
    lower: Float64Array,
    source: ResponseSource,
  ) {
    this.crossprod = crossprod;
    this.terms = terms;
    this.lower = lower;
    this.n = crossprod.n;
    this.p = crossprod.p;
    this.thetaLength = lower.length;
    this.#source = source;
    this.#factor = new BlockedFactor(crossprod, terms, true);
    const nf = this.p + 1;
    this.#xtxDiag = new Float64Array(this.p);
    for (let j = 0; j < this.p; j++) this.#xtxDiag[j] = crossprod.ff[j * nf + j];
  }

  /**
   * A core over a fitted model's structures, with the model's own response
   * (copies of the F blocks; Zᵀ Z and Zᵀ X shared).
   *
   * @example
   * ```ts ignore
   * const core = RefitCore.fromModel(m);
   * core.objective(m.theta, m.REML); // = m.solution.objective
   * ```
   */
  static fromModel(model: LinearMixedModel): RefitCore {
    const lmm = model.lmm;
    return RefitCore.fromSource({
      crossprod: lmm.crossprod,
      terms: lmm.terms,
      lower: lmm.lower,
      x: model.frame.x,
    });
  }

  /**
   * A core from explicit parts (see {@link RefitSource}).
   *
   * @example
   * ```ts ignore
   * const core = RefitCore.fromSource({ crossprod: lmm.crossprod, terms: lmm.terms,
   *   lower: lmm.lower, x: frame.x });
   * ```
   */
  static fromSource(src: RefitSource): RefitCore {
    const a = src.crossprod;
    if (src.x.n !== a.n || src.x.p !== a.p) {
      throw new RangeError(
        `X is ${src.x.n} × ${src.x.p} but the cross-products are for n = ${a.n}, p = ${a.p}`,
      );
    }
    const own: CrossProducts = {
      n: a.n,
      p: a.p,
      diag: a.diag,
      off: a.off,
      fz: a.fz.map((f) => Float64Array.from(f)),
      ff: Float64Array.from(a.ff),
    };
    return new RefitCore(own, src.terms, Float64Array.from(src.lower), {
      kind: "data",
      x: src.x,
    });
  }

  /**
   * Replace the response: rewrite Zᵀy, Xᵀy and yᵀy (one pass over y).
   *
   * @example
   * ```ts ignore
   * core.setResponse(simulated);
   * ```
   */
  setResponse(y: ArrayLike<number>): void {
    const src = this.#source;
    if (src.kind !== "data") {
      throw new Error("setResponse: this core has a fixed-effect offset; use setOffset()");
    }
    const { n, p } = this;
    if (y.length !== n) throw new RangeError(`response has length ${y.length}, expected ${n}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(y[i])) {
        throw new RangeError(`response value ${i + 1} is ${y[i]}: a refit needs finite values`);
      }
    }
    const nf = p + 1;
    const a = this.crossprod;
    // Zᵀy: column l·q + c of term k collects y_i z_ic over level l's rows.
    for (let k = 0; k < this.terms.length; k++) {
      const t = this.terms[k];
      const { q } = t;
      const { index, z } = t.term;
      const fz = a.fz[k];
      for (let c = 0; c < t.size; c++) fz[c * nf + p] = 0;
      for (let i = 0; i < n; i++) {
        const col = index[i] * q;
        const yi = y[i];
        for (let c = 0; c < q; c++) fz[(col + c) * nf + p] += yi * z[i * q + c];
      }
    }
    // Xᵀy and yᵀy, dot products over contiguous columns as crossProducts does.
    const xv = src.x.x;
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += xv[j * n + i] * y[i];
      a.ff[p * nf + j] = s;
      a.ff[j * nf + p] = s;
    }
    let yy = 0;
    for (let i = 0; i < n; i++) yy += y[i] * y[i];
    a.ff[p * nf + p] = yy;
  }

  /**
   * A core for the model with fixed-effect column `j` removed from X and
   * `value · x_j` moved into an offset (set with {@link setOffset}): how
   * lme4 profiles β_j. Everything comes from this core's cross-products, so
   * building it and changing the offset touch no data.
   *
   * @example
   * ```ts ignore
   * const fe = core.dropColumn(1);
   * fe.setOffset(10.5); // β_1 fixed at 10.5
   * fe.objective(theta, false);
   * ```
   */
  dropColumn(j: number): RefitCore {
    const { p } = this;
    if (!(Number.isInteger(j) && j >= 0 && j < p)) {
      throw new RangeError(`dropColumn: column ${j} is not in 0..${p - 1}`);
    }
    if (p < 1) throw new RangeError("dropColumn: X has no columns");
    const base = this.crossprod;
    const kept = [...Array(p).keys()].filter((c) => c !== j);
    const p1 = p - 1, nf1 = p1 + 1, nf = p + 1;
    // X parts copied once; the y parts are written by setOffset.
    const fz = base.fz.map((f) => {
      const cols = f.length / nf;
      const out = new Float64Array(cols * nf1);
      for (let c = 0; c < cols; c++) {
        for (let r = 0; r < p1; r++) out[c * nf1 + r] = f[c * nf + kept[r]];
      }
      return out;
    });
    const ff = new Float64Array(nf1 * nf1);
    for (let c = 0; c < p1; c++) {
      for (let r = 0; r < p1; r++) ff[c * nf1 + r] = base.ff[kept[c] * nf + kept[r]];
    }
    const a: CrossProducts = { n: base.n, p: p1, diag: base.diag, off: base.off, fz, ff };
    const core = new RefitCore(a, this.terms, this.lower, {
      kind: "offset",
      base,
      column: j,
      kept,
    });
    core.setOffset(0);
    return core;
  }

  /**
   * For a core from {@link dropColumn}: the response becomes y − value·x_j
   * (lme4's offset), from the parent's cross-products in O(Σq + p).
   *
   * @example
   * ```ts ignore
   * fe.setOffset(251.4); // profile (Intercept) at 251.4
   * ```
   */
  setOffset(value: number): void {
    const src = this.#source;
    if (src.kind !== "offset") {
      throw new Error("setOffset: only a core from dropColumn() has an offset column");
    }
    if (!Number.isFinite(value)) throw new RangeError(`offset coefficient is ${value}`);
    const { base, column: j, kept } = src;
    const P = base.p, nf = P + 1, p1 = this.p, nf1 = p1 + 1;
    const a = this.crossprod;
    for (let k = 0; k < a.fz.length; k++) {
      const f = base.fz[k], out = a.fz[k];
      const cols = f.length / nf;
      for (let c = 0; c < cols; c++) out[c * nf1 + p1] = f[c * nf + P] - value * f[c * nf + j];
    }
    for (let r = 0; r < p1; r++) {
      const v = base.ff[P * nf + kept[r]] - value * base.ff[j * nf + kept[r]];
      a.ff[p1 * nf1 + r] = v;
      a.ff[r * nf1 + p1] = v;
    }
    // (y − v x)ᵀ(y − v x) = yᵀy − 2v xᵀy + v² xᵀx
    a.ff[p1 * nf1 + p1] = base.ff[P * nf + P] - 2 * value * base.ff[P * nf + j] +
      value * value * base.ff[j * nf + j];
  }

  /** ldL2, ldRX2 and the penalized RSS at θ (refactors L). */
  parts(theta: ArrayLike<number>): DevianceParts {
    if (theta.length !== this.thetaLength) {
      throw new RangeError(`θ has length ${theta.length}, expected ${this.thetaLength}`);
    }
    const info = this.#factor.update(theta);
    return devianceParts(this.#factor, info, this.#xtxDiag);
  }

  /** lme4's profiled criterion at θ: REML criterion if `reml`, else ML deviance. */
  objective(theta: ArrayLike<number>, reml: boolean): number {
    return profiledCriterion(this.parts(theta), this.n, this.p, reml);
  }

  /**
   * β̂ at the θ of the last evaluation: β depends only on the X block of the
   * factor and the X part of y's row (R_X β = c_X), so no random effect is
   * solved for.
   */
  beta(): Float64Array {
    const f = this.#factor;
    const { m, tail, denseZ: tailZ, p } = f;
    const beta = new Float64Array(p);
    for (let r = p - 1; r >= 0; r--) {
      let s = tail[(tailZ + r) * m + m - 1];
      for (let k = r + 1; k < p; k++) s -= tail[(tailZ + r) * m + tailZ + k] * beta[k];
      beta[r] = s / tail[(tailZ + r) * m + tailZ + r];
    }
    return beta;
  }

  /**
   * (R_XᵀR_X)⁻¹ at θ (p × p, column-major): vcov(β̂) / σ̂². From the X
   * block L_X of the factor: (L_X L_Xᵀ)⁻¹ = L_X⁻ᵀ L_X⁻¹.
   */
  fixedCovUnscaled(theta: ArrayLike<number>): Float64Array {
    this.parts(theta);
    const { m, tail, denseZ: tailZ, p } = this.#factor;
    // W = L_X⁻¹ (lower), column by column by forward substitution
    const w = new Float64Array(p * p);
    for (let c = 0; c < p; c++) {
      w[c * p + c] = 1 / tail[(tailZ + c) * m + tailZ + c];
      for (let r = c + 1; r < p; r++) {
        let s = 0;
        for (let k = c; k < r; k++) s -= tail[(tailZ + k) * m + tailZ + r] * w[c * p + k];
        w[c * p + r] = s / tail[(tailZ + r) * m + tailZ + r];
      }
    }
    const out = new Float64Array(p * p);
    for (let a = 0; a < p; a++) {
      for (let b = 0; b < p; b++) {
        let s = 0;
        for (let k = Math.max(a, b); k < p; k++) s += w[a * p + k] * w[b * p + k];
        out[b * p + a] = s;
      }
    }
    return out;
  }

  /**
   * Minimise the criterion over θ as lme4's `refit` does: NLopt's BOBYQA
   * (nloptwrap settings) from `start`, with no restart at the boundary and
   * no snapping onto it (those belong to `optimizeLmer`, which refit skips).
   *
   * @example
   * ```ts ignore
   * const r = core.fit({ reml: true, start: m.theta });
   * ```
   */
  fit(options: RefitOptions): RefitResult {
    const { reml } = options;
    const control = options.control ?? {};
    const pCrit = options.remlP ?? this.p;
    const crit = (th: ArrayLike<number>) => profiledCriterion(this.parts(th), this.n, pCrit, reml);
    const res = bobyqa((th) => crit(th), options.start, {
      lower: this.lower,
      xtolAbs: control.xtolAbs ?? 1e-8,
      ftolAbs: control.ftolAbs ?? 1e-8,
      maxeval: control.maxeval ?? 1e5,
    });
    const theta = Float64Array.from(res.x);
    const parts = this.parts(theta);
    const objective = profiledCriterion(parts, this.n, pCrit, reml);
    const beta = this.beta();
    const sigma = Math.sqrt(parts.pwrss / (reml ? this.n - this.p : this.n));
    return {
      theta,
      beta,
      sigma,
      objective,
      feval: res.feval,
      status: res.status,
      code: res.code,
    };
  }
}

/**
 * Refit a fitted model to a new response, as lme4's `refit(m, newresp)`:
 * same formula, design, REML setting, starting at the fitted θ̂, with
 * lme4's post-fit checks. Returns a complete model.
 *
 * @example
 * ```ts ignore
 * import { lmer, simulateResponses, refit } from "../../../mod.ts";
 * const [y1] = simulateResponses(m, { seed: 1 });
 * const m1 = refit(m, y1);
 * console.log(m1.theta, m1.fixef());
 * ```
 */
export function refit(
  model: LinearMixedModel,
  y: ArrayLike<number>,
  control: LmerControl = {},
): LinearMixedModel {
  const n = model.nobs;
  if (y.length !== n) throw new RangeError(`response has length ${y.length}, expected ${n}`);
  const yy = Float64Array.from(y);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(yy[i])) throw new RangeError(`response value ${i + 1} is ${yy[i]}`);
  }
  const frame = { ...model.frame, mf: { ...model.frame.mf, y: yy } };
  const devfun = mkLmerDevfun(frame, { REML: model.REML });
  const t0 = performance.now();
  const start = Float64Array.from(model.theta);
  const res = bobyqa((th) => devfun(th), start, {
    lower: devfun.lmm.lower,
    xtolAbs: control.xtolAbs ?? 1e-8,
    ftolAbs: control.ftolAbs ?? 1e-8,
    maxeval: control.maxeval ?? 1e5,
  });
  const opt: OptSummary = {
    optimizer: "BOBYQA",
    start,
    lower: Float64Array.from(devfun.lmm.lower),
    theta: Float64Array.from(res.x),
    fmin: res.fval,
    feval: res.feval,
    status: res.status,
    message: res.message,
    settings: res.settings,
    elapsedMs: performance.now() - t0,
  };
  return mkMerMod(devfun, opt, { formula: model.formula, control, dataName: model.dataName });
}
