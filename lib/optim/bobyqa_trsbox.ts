/**
 * The trust region step of BOBYQA (Powell's TRSBOX): approximately minimise
 * the quadratic model within ||d|| <= delta and the bounds sl <= xopt + d
 * <= su.
 *
 * A truncated conjugate gradient method runs first; when a line search hits
 * a bound, that variable is fixed there and the method restarts. If the
 * trust region boundary is reached, d is improved by rotations in the plane
 * of d and the reduced gradient, staying on the boundary (Powell 2009,
 * section 3), until the reduction in Q is close to the best achievable.
 * @module
 */

import { type BobyqaState, hessianTimes } from "./bobyqa_state.ts";

/** Scratch vectors of TRSBOX, n entries each, allocated once per run. */
export interface TrsboxWork {
  /** Gradient of Q at xopt + d (read by the caller afterwards). */
  gnew: Float64Array;
  /** -1 / 0 / +1: variable fixed at its lower bound / free / upper bound. */
  xbdi: Float64Array;
  /** Search direction. */
  s: Float64Array;
  /** Hessian times s. */
  hs: Float64Array;
  /** Hessian times the reduced d. */
  hred: Float64Array;
}

/** Allocates TRSBOX's scratch vectors. */
export function createTrsboxWork(n: number): TrsboxWork {
  return {
    gnew: new Float64Array(n),
    xbdi: new Float64Array(n),
    s: new Float64Array(n),
    hs: new Float64Array(n),
    hred: new Float64Array(n),
  };
}

/** What TRSBOX reports besides the step. */
export interface TrsboxResult {
  /** Squared length of the step d = xnew - xopt. */
  dsq: number;
  /**
   * Least curvature of the model met in unconstrained conjugate gradient
   * searches; 0 if the step reached the trust region boundary; -1 if every
   * search was constrained.
   */
  crvmin: number;
}

/** Mutable scalars shared by the two phases of TRSBOX. */
interface TrsboxScalars {
  delsq: number;
  qred: number;
  nact: number;
  iterc: number;
  crvmin: number;
}

/**
 * Computes the trial step: writes xnew (= xopt + d, exactly on the bounds
 * that became active) and d, and returns its squared length and crvmin.
 */
export function trustRegionStep(
  st: BobyqaState,
  delta: number,
  xnew: Float64Array,
  d: Float64Array,
  work: TrsboxWork,
): TrsboxResult {
  const { n, xopt, gopt, sl, su } = st;
  const { gnew, xbdi } = work;

  // Fix at a bound initially each variable that is on it with the gradient
  // pointing out of the box.
  const sc: TrsboxScalars = {
    delsq: delta * delta,
    qred: 0,
    nact: 0,
    iterc: 0,
    crvmin: -1,
  };
  for (let i = 0; i < n; i++) {
    xbdi[i] = 0;
    if (xopt[i] <= sl[i]) {
      if (gopt[i] >= 0) xbdi[i] = -1;
    } else if (xopt[i] >= su[i]) {
      if (gopt[i] <= 0) xbdi[i] = 1;
    }
    if (xbdi[i] !== 0) sc.nact++;
    d[i] = 0;
    gnew[i] = gopt[i];
  }

  if (conjugateGradient(st, d, work, sc) === "boundary") {
    sc.crvmin = 0;
    improveOnBoundary(st, d, work, sc);
  }

  // xnew = xopt + d, with the fixed variables exactly on their bounds.
  let dsq = 0;
  for (let i = 0; i < n; i++) {
    let xi = Math.max(Math.min(xopt[i] + d[i], su[i]), sl[i]);
    if (xbdi[i] === -1) xi = sl[i];
    if (xbdi[i] === 1) xi = su[i];
    xnew[i] = xi;
    d[i] = xi - xopt[i];
    dsq += d[i] * d[i];
  }
  return { dsq, crvmin: sc.crvmin };
}

/**
 * Truncated conjugate gradients on the free variables, restarted each time
 * a variable hits a bound. Returns "boundary" when the trust region
 * boundary is reached, "done" when the step is final.
 */
function conjugateGradient(
  st: BobyqaState,
  d: Float64Array,
  work: TrsboxWork,
  sc: TrsboxScalars,
): "done" | "boundary" {
  const { n, xopt, sl, su } = st;
  const { gnew, xbdi, s, hs } = work;
  let gredsq = 0, itermax = 0;

  restart: for (;;) {
    let beta = 0;
    for (;;) {
      // Next search direction: steepest descent after a restart.
      let stepsq = 0;
      for (let i = 0; i < n; i++) {
        if (xbdi[i] !== 0) s[i] = 0;
        else if (beta === 0) s[i] = -gnew[i];
        else s[i] = beta * s[i] - gnew[i];
        stepsq += s[i] * s[i];
      }
      if (stepsq === 0) return "done";
      if (beta === 0) {
        gredsq = stepsq;
        itermax = sc.iterc + n - sc.nact;
      }
      if (gredsq * sc.delsq <= sc.qred * 1e-4 * sc.qred) return "done";

      hessianTimes(st, s, hs);

      // Step to the trust region boundary (blen) and the line minimiser.
      let resid = sc.delsq, ds = 0, shs = 0;
      for (let i = 0; i < n; i++) {
        if (xbdi[i] === 0) {
          resid -= d[i] * d[i];
          ds += s[i] * d[i];
          shs += s[i] * hs[i];
        }
      }
      if (resid <= 0) return "boundary";
      const temp = Math.sqrt(stepsq * resid + ds * ds);
      const blen = ds < 0 ? (temp - ds) / stepsq : resid / (temp + ds);
      let stplen = blen;
      if (shs > 0) stplen = Math.min(blen, gredsq / shs);

      // Shorten the step to keep the simple bounds; iact hits one.
      let iact = -1;
      for (let i = 0; i < n; i++) {
        if (s[i] !== 0) {
          const xsum = xopt[i] + d[i];
          const t = s[i] > 0 ? (su[i] - xsum) / s[i] : (sl[i] - xsum) / s[i];
          if (t < stplen) {
            stplen = t;
            iact = i;
          }
        }
      }

      // Take the step; sdec is the decrease of Q.
      let sdec = 0, ggsav = 0;
      if (stplen > 0) {
        sc.iterc++;
        const curvature = shs / stepsq;
        if (iact === -1 && curvature > 0) {
          sc.crvmin = Math.min(sc.crvmin, curvature);
          if (sc.crvmin === -1) sc.crvmin = curvature;
        }
        ggsav = gredsq;
        gredsq = 0;
        for (let i = 0; i < n; i++) {
          gnew[i] += stplen * hs[i];
          if (xbdi[i] === 0) gredsq += gnew[i] * gnew[i];
          d[i] += stplen * s[i];
        }
        sdec = Math.max(stplen * (ggsav - 0.5 * stplen * shs), 0);
        sc.qred += sdec;
      }

      // A new bound: fix the variable there and restart.
      if (iact >= 0) {
        sc.nact++;
        xbdi[iact] = s[iact] < 0 ? -1 : 1;
        sc.delsq -= d[iact] * d[iact];
        if (sc.delsq <= 0) return "boundary";
        continue restart;
      }

      if (stplen < blen) {
        if (sc.iterc === itermax) return "done";
        if (sdec <= sc.qred * 0.01) return "done";
        beta = gredsq / ggsav;
        continue;
      }
      return "boundary";
    }
  }
}

/**
 * On the trust region boundary: rotate d in the plane of d and the reduced
 * gradient (by the half-angle tangent angt, searched on a grid and refined
 * by a parabola) while Q decreases enough; a free variable reaching a bound
 * is fixed and the process restarts.
 */
function improveOnBoundary(
  st: BobyqaState,
  d: Float64Array,
  work: TrsboxWork,
  sc: TrsboxScalars,
): void {
  const { n, xopt, sl, su } = st;
  const { gnew, xbdi, s, hs, hred } = work;

  restart: for (;;) {
    if (sc.nact >= n - 1) return;
    let dredsq = 0, dredg = 0, gredsq = 0;
    for (let i = 0; i < n; i++) {
      if (xbdi[i] === 0) {
        dredsq += d[i] * d[i];
        dredg += d[i] * gnew[i];
        gredsq += gnew[i] * gnew[i];
        s[i] = d[i];
      } else {
        s[i] = 0;
      }
    }
    hessianTimes(st, s, hs);
    hred.set(hs);

    for (;;) {
      sc.iterc++;
      // s: the reduced gradient made orthogonal to the reduced d, scaled to
      // the length of d.
      let temp = gredsq * dredsq - dredg * dredg;
      if (temp <= sc.qred * 1e-4 * sc.qred) return;
      temp = Math.sqrt(temp);
      for (let i = 0; i < n; i++) {
        s[i] = xbdi[i] === 0 ? (dredg * d[i] - dredsq * gnew[i]) / temp : 0;
      }
      const sredg = -temp;

      // angbd bounds tan(angle / 2) so that the free variables stay within
      // their bounds; a free variable already on a bound gets fixed.
      let angbd = 1, iact = -1, xsav = 0;
      for (let i = 0; i < n; i++) {
        if (xbdi[i] !== 0) continue;
        const tempa = xopt[i] + d[i] - sl[i];
        const tempb = su[i] - xopt[i] - d[i];
        if (tempa <= 0) {
          sc.nact++;
          xbdi[i] = -1;
          continue restart;
        } else if (tempb <= 0) {
          sc.nact++;
          xbdi[i] = 1;
          continue restart;
        }
        const ssq = d[i] * d[i] + s[i] * s[i];
        const gapLower = xopt[i] - sl[i];
        let t = ssq - gapLower * gapLower;
        if (t > 0) {
          t = Math.sqrt(t) - s[i];
          if (angbd * t > tempa) {
            angbd = tempa / t;
            iact = i;
            xsav = -1;
          }
        }
        const gapUpper = su[i] - xopt[i];
        t = ssq - gapUpper * gapUpper;
        if (t > 0) {
          t = Math.sqrt(t) + s[i];
          if (angbd * t > tempb) {
            angbd = tempb / t;
            iact = i;
            xsav = 1;
          }
        }
      }

      hessianTimes(st, s, hs);
      let shs = 0, dhs = 0, dhd = 0;
      for (let i = 0; i < n; i++) {
        if (xbdi[i] === 0) {
          shs += s[i] * hs[i];
          dhs += d[i] * hs[i];
          dhd += d[i] * hred[i];
        }
      }

      // Greatest reduction of Q over equally spaced angt in [0, angbd].
      let redmax = 0, isav = 0, redsav = 0, rdprev = 0, rdnext = 0;
      const iu = Math.trunc(angbd * 17 + 3.1);
      for (let i = 1; i <= iu; i++) {
        const angt = (angbd * i) / iu;
        const sth = (angt + angt) / (1 + angt * angt);
        const t = shs + angt * (angt * dhd - dhs - dhs);
        const rednew = sth * (angt * dredg - sredg - 0.5 * sth * t);
        if (rednew > redmax) {
          redmax = rednew;
          isav = i;
          rdprev = redsav;
        } else if (i === isav + 1) {
          rdnext = rednew;
        }
        redsav = rednew;
      }
      if (isav === 0) return;
      let angt = angbd;
      if (isav < iu) {
        const t = (rdnext - rdprev) / (redmax + redmax - rdprev - rdnext);
        angt = (angbd * (isav + 0.5 * t)) / iu;
      } else {
        angt = (angbd * isav) / iu;
      }
      const cth = (1 - angt * angt) / (1 + angt * angt);
      const sth = (angt + angt) / (1 + angt * angt);
      const t = shs + angt * (angt * dhd - dhs - dhs);
      const sdec = sth * (angt * dredg - sredg - 0.5 * sth * t);
      if (sdec <= 0) return;

      // Rotate d, and update the gradient and H times reduced d.
      dredg = 0;
      gredsq = 0;
      for (let i = 0; i < n; i++) {
        gnew[i] = gnew[i] + (cth - 1) * hred[i] + sth * hs[i];
        if (xbdi[i] === 0) {
          d[i] = cth * d[i] + sth * s[i];
          dredg += d[i] * gnew[i];
          gredsq += gnew[i] * gnew[i];
        }
        hred[i] = cth * hred[i] + sth * hs[i];
      }
      sc.qred += sdec;
      if (iact >= 0 && isav === iu) {
        sc.nact++;
        xbdi[iact] = xsav;
        continue restart;
      }
      if (sdec <= sc.qred * 0.01) return;
    }
  }
}
