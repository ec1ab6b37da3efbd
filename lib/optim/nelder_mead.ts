/**
 * lme4's Nelder-Mead optimizer (`Nelder_Mead()`, src/optimizer.cpp: NLopt's
 * nldrmd as lme4 adapted it): a bounded simplex method whose reflected
 * points are pinned to the bounds; it stops when every vertex is within
 * `xt` of the centroid in each coordinate, or after `maxeval` evaluations.
 * `glmer`'s second stage runs it over (θ, β).
 * @module
 */

/** Options of {@link nelderMead}. */
export interface NelderMeadOptions {
  /** Lower bounds (default −∞). */
  readonly lower?: ArrayLike<number>;
  /** Upper bounds (default +∞). */
  readonly upper?: ArrayLike<number>;
  /** Initial step per coordinate (lme4: 0.02). */
  readonly xst?: ArrayLike<number>;
  /** Absolute x tolerance per coordinate (lme4: xst × 5e-4). */
  readonly xt?: ArrayLike<number>;
  /** Kept for lme4's control names; lme4's simplex does not test f. */
  readonly ftolAbs?: number;
  /** Kept for lme4's control names. */
  readonly ftolRel?: number;
  /** Relative x tolerance (1e-7). */
  readonly xtolRel?: number;
  /** Maximal number of evaluations (lme4: 10000). */
  readonly maxeval?: number;
}

/** Result of {@link nelderMead}. */
export interface NelderMeadResult {
  /** Best point found. */
  readonly x: Float64Array;
  /** f at x. */
  readonly fval: number;
  /** Evaluations of f. */
  readonly feval: number;
  /** lme4's NM.result: 7 (x converged), 5 (maximal evaluations), … */
  readonly code: number;
  /** lme4's message for the code. */
  readonly message: string;
}

const ALPHA = 1, BETA = 0.5, GAMMA = 2, DELTA = 0.5;

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-13 * (Math.abs(a) + Math.abs(b));

/**
 * Minimise f from x0 with lme4's Nelder-Mead.
 *
 * @example
 * ```ts
 * import { nelderMead } from "./nelder_mead.ts";
 * const r = nelderMead((x) => (x[0] - 1) ** 2 + (x[1] + 2) ** 2, [0, 0], {
 *   xst: [0.1, 0.1], xt: [1e-8, 1e-8],
 * });
 * console.log(r.x); // ≈ [1, -2]
 * ```
 */
export function nelderMead(
  f: (x: Float64Array) => number,
  x0: ArrayLike<number>,
  options: NelderMeadOptions = {},
): NelderMeadResult {
  const n = x0.length;
  const lb = Float64Array.from(options.lower ?? new Float64Array(n).fill(-Infinity));
  const ub = Float64Array.from(options.upper ?? new Float64Array(n).fill(Infinity));
  const xst = Float64Array.from(options.xst ?? new Float64Array(n).fill(0.02));
  const xt = Float64Array.from(options.xt ?? xst.map((v) => v * 5e-4));
  const xtolRel = options.xtolRel ?? 1e-7;
  const maxeval = options.maxeval ?? 10000;
  const x = Float64Array.from(x0);
  for (let i = 0; i < n; i++) {
    if (x[i] < lb[i] || x[i] > ub[i]) throw new RangeError("initial x is not feasible");
  }
  // simplex: n + 1 columns of length n
  const pts: Float64Array[] = Array.from({ length: n + 1 }, () => Float64Array.from(x));
  for (let i = 0; i < n; i++) {
    const p = pts[i + 1];
    p[i] += xst[i];
    if (p[i] > ub[i]) {
      p[i] = ub[i] - x[i] > Math.abs(xst[i]) * 0.1 ? ub[i] : x[i] - Math.abs(xst[i]);
    }
    if (p[i] < lb[i]) {
      if (x[i] - lb[i] > Math.abs(xst[i]) * 0.1) p[i] = lb[i];
      else {
        p[i] = x[i] + Math.abs(xst[i]);
        if (p[i] > ub[i]) p[i] = 0.5 * ((ub[i] - x[i] > x[i] - lb[i] ? ub[i] : lb[i]) + x[i]);
      }
    }
    if (close(p[i], x[i])) throw new RangeError("cannot generate a feasible simplex");
  }
  const vals = new Float64Array(n + 1);
  const c = new Float64Array(n);
  let best = Float64Array.from(x);
  let minf = Infinity;
  let nevals = 0;
  const evalf = (p: Float64Array): number => {
    nevals++;
    const v = f(Float64Array.from(p));
    if (v < minf) (minf = v, best = Float64Array.from(p));
    return v;
  };
  // xnew = center + scale (center − xold), pinned to the bounds; false when it
  // coincides with the centroid c or with xold (lme4's reflectpt)
  const reflect = (
    out: Float64Array,
    scale: number,
    xold: Float64Array,
    center: Float64Array = c,
  ): boolean => {
    let equalc = true, equalold = true;
    for (let i = 0; i < n; i++) {
      const v = Math.min(Math.max(center[i] + scale * (center[i] - xold[i]), lb[i]), ub[i]);
      equalc = equalc && close(v, c[i]);
      equalold = equalold && close(v, xold[i]);
      out[i] = v;
    }
    return !(equalc || equalold);
  };
  const done = (code: number, message: string): NelderMeadResult => ({
    x: best,
    fval: minf,
    feval: nevals,
    code,
    message,
  });
  const xcur = new Float64Array(n), xeval = new Float64Array(n);
  const relstop = (vold: number, vnew: number, abstol: number) =>
    Math.abs(vnew - vold) < abstol ||
    Math.abs(vnew - vold) < xtolRel * (Math.abs(vnew) + Math.abs(vold)) * 0.5 ||
    (xtolRel > 0 && vnew === vold);
  const tooMany = () => maxeval > 0 && nevals > maxeval;
  const MAXMSG = "reached max evaluations";
  // initial simplex values
  let initial = true;
  for (;;) {
    if (initial) {
      for (let k = 0; k <= n; k++) {
        vals[k] = evalf(pts[k]);
        if (tooMany()) return done(5, MAXMSG);
      }
      initial = false;
    }
    // restart: high and low, centroid opposite the high vertex
    let il = 0, ih = 0;
    for (let k = 1; k <= n; k++) {
      if (vals[k] < vals[il]) il = k;
      if (vals[k] > vals[ih]) ih = k;
    }
    const fl = vals[il], fh = vals[ih];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k <= n; k++) s += pts[k][i];
      c[i] = (s - pts[ih][i]) / n;
    }
    let xconv = true;
    for (let i = 0; i < n && xconv; i++) {
      let dev = 0;
      for (let k = 0; k <= n; k++) dev = Math.max(dev, Math.abs(pts[k][i] - c[i]));
      if (!relstop(dev, 0, xt[i])) xconv = false;
    }
    if (xconv) return done(7, "parameter values converged to within tolerance");
    if (!reflect(xcur, ALPHA, pts[ih])) {
      return done(7, "parameter values converged to within tolerance");
    }
    const fr = evalf(xcur);
    if (tooMany()) return done(5, MAXMSG);
    if (fr < fl) {
      // new best point: try to expand
      if (!reflect(xeval, GAMMA, pts[ih])) {
        return done(7, "parameter values converged to within tolerance");
      }
      const fe = evalf(xeval);
      if (tooMany()) return done(5, MAXMSG);
      if (fe < vals[ih]) (pts[ih].set(xeval), vals[ih] = fe);
      else (pts[ih].set(xcur), vals[ih] = fr);
      continue;
    }
    if (fr < fh) {
      vals[ih] = fr;
      pts[ih].set(xcur);
      continue;
    }
    // new worst point: contract
    if (!reflect(xcur, fh <= fr ? -BETA : BETA, pts[ih])) {
      return done(7, "parameter values converged to within tolerance");
    }
    const fc = evalf(xcur);
    if (tooMany()) return done(5, MAXMSG);
    if (fc < fr && fc < fh) {
      pts[ih].set(xcur);
      vals[ih] = fc;
      continue;
    }
    // shrink towards the best vertex, then re-evaluate every vertex
    for (let k = 0; k <= n; k++) {
      if (k === il) continue;
      if (!reflect(xeval, -DELTA, pts[k], pts[il])) {
        return done(7, "parameter values converged to within tolerance");
      }
      pts[k].set(xeval);
    }
    initial = true;
  }
}
