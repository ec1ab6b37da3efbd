/**
 * lme4's post-fit checks (`checkConv`): a singular (boundary) fit when a
 * diagonal element of θ is below 1e-4, and otherwise the gradient and
 * Hessian of the criterion by central finite differences (lme4's `deriv12`,
 * step 1e-4), with lme4's tolerances and wording. They produce messages on
 * the model, never exceptions.
 * @module
 */
import { symmetricEigen } from "../../rng/eigen.ts";
import { formatG } from "../../display/rformat.ts";
import type { LmerControl, LmerDevfun, OptSummary } from "./fit.ts";

/** What the checks found. */
export interface Convergence {
  /** 0 when all checks passed, as lme4's convergence code. */
  readonly code: number;
  /** lme4's messages, e.g. "boundary (singular) fit: see help('isSingular')". */
  readonly messages: readonly string[];
  /** Whether a diagonal θ is at (or within the tolerance of) its bound 0. */
  readonly singular: boolean;
  /** Finite-difference gradient at θ̂ (null when not computed). */
  readonly gradient: Float64Array | null;
  /** Finite-difference Hessian at θ̂, row-major (null when not computed). */
  readonly hessian: number[][] | null;
}

/** lme4's deriv12: central differences for the gradient and Hessian. */
export function deriv12(
  fun: (x: Float64Array) => number,
  x: Float64Array,
  delta = 1e-4,
  fx = fun(x),
): { gradient: Float64Array; hessian: number[][] } {
  const n = x.length;
  const g = new Float64Array(n);
  const h = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const at = (changes: [number, number][]) => {
    const y = Float64Array.from(x);
    for (const [i, d] of changes) y[i] += d;
    return fun(y);
  };
  for (let i = 0; i < n; i++) {
    const fadd = at([[i, delta]]), fsub = at([[i, -delta]]);
    h[i][i] = (fadd - 2 * fx + fsub) / (delta * delta);
    g[i] = (fadd - fsub) / (2 * delta);
    for (let j = 0; j < i; j++) {
      const v = (at([[i, delta], [j, delta]]) - at([[i, delta], [j, -delta]]) -
        at([[i, -delta], [j, delta]]) + at([[i, -delta], [j, -delta]])) / (4 * delta * delta);
      h[i][j] = h[j][i] = v;
    }
  }
  return { gradient: g, hessian: h };
}

/**
 * The lower Cholesky factor L of a symmetric matrix given as rows (H = L Lᵀ;
 * only the lower triangle is read and written), or null when H is not
 * positive definite.
 */
export function choleskyRows(h: readonly (readonly number[])[]): number[][] | null {
  const n = h.length;
  const l = h.map((r) => r.slice());
  for (let j = 0; j < n; j++) {
    let d = l[j][j];
    for (let k = 0; k < j; k++) d -= l[j][k] * l[j][k];
    if (!(d > 0)) return null;
    l[j][j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = l[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = s / l[j][j];
    }
  }
  return l;
}

/** Solve Hx = g via Cholesky of H; null when H is not positive definite. */
function cholSolve(h: number[][], g: Float64Array): Float64Array | null {
  const n = g.length;
  const l = choleskyRows(h);
  if (!l) return null;
  // lme4 uses solve(chol(H), g): R = chol(H) is upper (= Lᵀ); solve Lᵀ x = g.
  const x = Float64Array.from(g);
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k];
    x[i] = s / l[i][i];
  }
  return x;
}

/** Run lme4's convergence checks at the optimum. */
export function checkConvergence(
  devfun: LmerDevfun,
  opt: OptSummary,
  control: LmerControl,
): Convergence {
  const messages: string[] = [];
  let code = 0;
  if (opt.status === "maxeval_reached") {
    messages.push(
      `maximum number of function evaluations (${opt.feval}) reached; the fit may not have converged`,
    );
    code = -1;
  } else if (opt.status === "failure" || opt.status === "roundoff_limited") {
    messages.push(`optimizer stopped: ${opt.message}`);
    code = -1;
  }
  const tol = control.boundaryTol ?? 1e-4;
  const singular = [...opt.lower].some((lb, k) => lb === 0 && opt.theta[k] < tol);
  if (singular) {
    messages.push("boundary (singular) fit: see help('isSingular')");
    return { code, messages, singular, gradient: null, hessian: null };
  }
  const calc = control.calcDerivs ?? devfun.lmm.n < 1e4;
  if (!calc) return { code, messages, singular, gradient: null, hessian: null };
  const { gradient, hessian } = deriv12((t) => devfun(t), opt.theta, 1e-4, opt.fmin);
  const scgrad = cholSolve(hessian, gradient);
  if (scgrad === null) {
    messages.push("unable to evaluate scaled gradient");
    code = -1;
  } else {
    const mingrad = [...gradient].map((g, i) => Math.min(Math.abs(scgrad[i]), Math.abs(g)));
    const max = Math.max(...mingrad);
    if (max > 0.002) {
      // lme4 formats with %g; it always prints "component 1" (which.max of a
      // single number) — we name the component that actually failed.
      messages.push(
        `Model failed to converge with max|grad| = ${formatG(max, 6)} (tol = 0.002, component ${
          mingrad.indexOf(max) + 1
        })`,
      );
      code = -1;
    }
  }
  // lme4's checkHess (tol 1e-6): negative or zero eigenvalues, else the size
  // and the ratio of the eigenvalues, each checked on its own.
  const ev = hessian.length === 1 ? [hessian[0][0]] : [...symmetricEigen(hessian).values];
  const neg = ev.filter((v) => v < -1e-6).length;
  const maxEv = Math.max(...ev), minEv = Math.min(...ev);
  if (neg) {
    messages.push(`Model failed to converge: degenerate  Hessian with ${neg} negative eigenvalues`);
    code = -1;
  } else if (
    ev.some((v) => Math.abs(v) < 1e-6) || cholSolve(hessian, new Float64Array(ev.length)) === null
  ) {
    messages.push(" Hessian is numerically singular: parameters are not uniquely determined");
    code = -1;
  } else {
    if (maxEv * 1e-6 > 1) {
      messages.push("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?");
    }
    if (minEv / maxEv < 1e-6) {
      messages.push(
        "Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?",
      );
    }
  }
  return { code, messages, singular, gradient, hessian };
}
