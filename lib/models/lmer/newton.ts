/**
 * A damped Newton method for lmer's criterion over θ, for the models whose
 * exact gradient and average-information Hessian lib/models/lmer/gradient.ts
 * provides (scalar terms, large crossed factors).
 *
 * Why not lme4's BOBYQA there: each evaluation is one dense factorization
 * of thousands of rows, and BOBYQA spends about 30 of them; the Newton
 * steps reach a criterion at least as low in 4–6 evaluations that cost about
 * twice as much each. The criterion is even in every scalar θ_k (flipping a
 * term's sign leaves |A| and r² unchanged), so a step that crosses 0 is
 * reflected (θ_k ← |θ_k|) instead of projected; the bound θ ≥ 0 holds
 * without constraints.
 * @module
 */
import { choleskyRows } from "./convergence.ts";

/** The criterion, its gradient and an approximate Hessian (K × K row-major) at θ. */
export interface Derivatives {
  readonly objective: number;
  readonly gradient: Float64Array;
  readonly information: Float64Array;
}

/** The settings a Newton run used, recorded in the fit's optSummary. */
export interface NewtonSettings {
  /** Name of the algorithm. */
  readonly algorithm: "Newton";
  /** Stop when the predicted decrease ½ gᵀH⁻¹g falls to this. */
  readonly ftolAbs: number;
  /** Evaluation budget. */
  readonly maxeval: number;
}

/** The outcome of {@link newtonMinimize}. */
export interface NewtonResult {
  /** The best point evaluated. */
  readonly x: Float64Array;
  /** The criterion there. */
  readonly fval: number;
  /** Its gradient there (empty after a last step checked by the criterion alone). */
  readonly gradient: Float64Array;
  /** Number of evaluations (each with its derivatives). */
  readonly feval: number;
  /** "converged", or why the iteration stopped early. */
  readonly status:
    | "converged"
    | "maxeval_reached"
    | "no_progress"
    | "singular_hessian"
    | "near_bound";
  /** A sentence for the optimizer's record. */
  readonly message: string;
  /** The settings used. */
  readonly settings: NewtonSettings;
}

/**
 * Minimise an even function of θ ≥ 0 from x0 with Newton steps on the given
 * Hessian approximation, an Armijo backtracking line search, and reflection
 * at 0.
 *
 * @example
 * ```ts
 * import { newtonMinimize } from "./newton.ts";
 * const r = newtonMinimize((x) => ({
 *   objective: (x[0] * x[0] - 4) ** 2,
 *   gradient: Float64Array.of(4 * x[0] * (x[0] * x[0] - 4)),
 *   information: Float64Array.of(8 * x[0] * x[0]),
 * }), Float64Array.of(1));
 * console.log(r.x[0]); // ≈ 2
 * ```
 */
export function newtonMinimize(
  fg: (x: Float64Array, derivatives: boolean) => Derivatives,
  x0: Float64Array,
  options: { ftolAbs?: number; maxeval?: number; nearBound?: number } = {},
): NewtonResult {
  const settings: NewtonSettings = {
    algorithm: "Newton",
    ftolAbs: options.ftolAbs ?? 1e-8,
    maxeval: options.maxeval ?? 100,
  };
  // Where the information of θ_k vanishes (as θ_k², while the gradient
  // goes as θ_k) the steps are useless: stop there (the caller finishes
  // with another method).
  const nearBound = options.nearBound ?? 0;
  const K = x0.length;
  let x = Float64Array.from(x0, Math.abs);
  let cur = fg(x, true);
  let feval = 1;
  const done = (status: NewtonResult["status"], message: string): NewtonResult => ({
    x,
    fval: cur.objective,
    gradient: cur.gradient,
    feval,
    status,
    message,
    settings,
  });
  if (!Number.isFinite(cur.objective)) {
    return done("no_progress", "the criterion is not finite at the start");
  }
  for (;;) {
    const p = newtonStep(cur.information, cur.gradient, K);
    if (!p) return done("singular_hessian", "the approximate Hessian is not positive definite");
    let dec = 0;
    for (let k = 0; k < K; k++) dec -= cur.gradient[k] * p[k];
    if (dec / 2 <= settings.ftolAbs) {
      return done("converged", `predicted decrease ${dec / 2} at most ftolAbs`);
    }
    // Far from the optimum (a start at θ = 100 or 1e-6) the information is
    // tiny in some direction and the step huge: 1e5 and beyond, reflected at
    // 0, where the factorization breaks down. Start the line search with no
    // component moving more than MAX_STEP × max(θ_k, 1).
    let t = 1;
    for (let k = 0; k < K; k++) {
      const reach = MAX_STEP * Math.max(x[k], 1);
      if (Math.abs(p[k]) * t > reach) t = reach / Math.abs(p[k]);
    }
    const t0 = t;
    for (;;) {
      if (feval >= settings.maxeval) {
        return done("maxeval_reached", "the evaluation budget was spent");
      }
      const xt = new Float64Array(K);
      for (let k = 0; k < K; k++) xt[k] = Math.abs(x[k] + t * p[k]);
      // The last step: when the model promises little (dec/2 ≤ FINAL_STEP ×
      // ftolAbs) take the full step with the criterion alone (half an
      // evaluation's cost) if the decrease is what the model predicted (see
      // below); otherwise the derivatives follow at the same θ (the
      // factorization is reused) and the iteration goes on.
      const last = t === 1 && dec / 2 <= FINAL_STEP * settings.ftolAbs;
      // a non-finite criterion (fg's answer where it cannot be evaluated)
      // makes the step shorter
      let next = fg(xt, !last);
      feval++;
      if (last) {
        // With the information off by a relative ε along the step, the gain
        // is the prediction times 1 + ε and the step leaves the prediction
        // times ε² to gain: accept when that is at most ftolAbs.
        const gain = cur.objective - next.objective;
        const eps = Math.min(0.5, Math.sqrt(settings.ftolAbs / (dec / 2)));
        if (Math.abs(gain / (dec / 2) - 1) <= eps) {
          x = xt;
          cur = next;
          return done(
            "converged",
            `a last step with predicted decrease ${dec / 2} (actual ${gain})`,
          );
        }
        if (Number.isFinite(next.objective)) next = fg(xt, true);
      }
      if (next.objective <= cur.objective - 1e-4 * t * dec) {
        const gain = cur.objective - next.objective;
        x = xt;
        cur = next;
        // steps that gain nothing while the model promises more (a θ_k
        // near 0, where the information vanishes as θ_k² and the steps
        // grow as 1/θ_k) would go on for the whole budget
        if (gain <= settings.ftolAbs) {
          return done("no_progress", "a step lowered the criterion by at most ftolAbs");
        }
        if (x.some((v) => v < nearBound)) {
          return done("near_bound", `a component of θ fell below ${nearBound}`);
        }
        break;
      }
      // a step that does not decrease the criterion enough: shorten it
      // (the minimiser of the quadratic through f(0), f'(0) and f(t),
      // kept within [t/10, t/2])
      const f1 = Number.isFinite(next.objective) ? next.objective : Infinity;
      const tq = (t * t * dec) / (2 * (f1 - cur.objective + t * dec));
      t = Math.min(t / 2, Math.max(t / 10, Number.isFinite(tq) ? tq : t / 10));
      if (t < 1e-6 * t0) return done("no_progress", "the line search found no lower criterion");
    }
  }
}

/**
 * A full step whose predicted decrease is at most this many times ftolAbs is
 * the last one, checked by the criterion alone.
 */
const FINAL_STEP = 1e4;

/** Largest move of a component in a step's first trial, in units of max(θ_k, 1). */
const MAX_STEP = 10;

/**
 * p = −H⁻¹g by a Cholesky factorization of H (K × K, row-major); null when
 * H is not positive definite.
 */
function newtonStep(h: Float64Array, g: Float64Array, K: number): Float64Array | null {
  const rows = Array.from({ length: K }, (_, i) => Array.from(h.subarray(i * K, i * K + K)));
  const l = choleskyRows(rows);
  if (!l) return null;
  const p = new Float64Array(K);
  for (let i = 0; i < K; i++) {
    let v = -g[i];
    for (let c = 0; c < i; c++) v -= l[i][c] * p[c];
    p[i] = v / l[i][i];
  }
  for (let i = K - 1; i >= 0; i--) {
    let v = p[i];
    for (let c = i + 1; c < K; c++) v -= l[c][i] * p[c];
    p[i] = v / l[i][i];
  }
  return p;
}
