/**
 * BOBYQA's "alternative" move (Powell's ALTMOV): a new position for the
 * interpolation point `knew` that keeps the interpolation set well poised,
 * chosen to make the denominator of the update of H large rather than to
 * reduce f. Two candidates are built:
 * - xnew, on a line through xopt and another interpolation point, maximising
 *   the predicted denominator within distance adelt and the bounds;
 * - xalt, a bound-constrained Cauchy step that maximises |l_knew|, the
 *   modulus of the knew-th Lagrange function (Powell 2009, section 4).
 * The caller chooses between them once the true denominator is known.
 * @module
 */

import type { BobyqaState } from "./bobyqa_state.ts";

/** Scratch vectors of ALTMOV. */
export interface AltmovWork {
  /** Gradient of the knew-th Lagrange function at xopt (n). */
  glag: Float64Array;
  /** Second derivative coefficients of that function (npt). */
  hcol: Float64Array;
  /** The Cauchy step (n) and the downhill xalt kept aside (n). */
  w: Float64Array;
}

/** Allocates ALTMOV's scratch vectors. */
export function createAltmovWork(n: number, npt: number): AltmovWork {
  return {
    glag: new Float64Array(n),
    hcol: new Float64Array(npt),
    w: new Float64Array(2 * n),
  };
}

/** What ALTMOV reports besides xnew and xalt. */
export interface AltmovResult {
  /** The knew-th diagonal element of H. */
  alpha: number;
  /** l_knew(xalt)^2, or 0 if xalt was not computed. */
  cauchy: number;
}

const ONE_PLUS_SQRT2 = 1 + Math.sqrt(2);

/** Computes xnew and xalt for replacing point `knew` within radius adelt. */
export function alternativeMove(
  st: BobyqaState,
  knew: number,
  adelt: number,
  xnew: Float64Array,
  xalt: Float64Array,
  work: AltmovWork,
): AltmovResult {
  const { n, npt, nptm, xpt, xopt, bmat, zmat, sl, su, kopt } = st;
  const { glag, hcol } = work;

  // Column knew of H's leading block, and the Lagrange function's gradient.
  hcol.fill(0);
  for (let j = 0; j < nptm; j++) {
    const temp = zmat[knew * nptm + j];
    for (let k = 0; k < npt; k++) hcol[k] += temp * zmat[k * nptm + j];
  }
  const alpha = hcol[knew];
  const ha = 0.5 * alpha;
  for (let i = 0; i < n; i++) glag[i] = bmat[knew * n + i];
  for (let k = 0; k < npt; k++) {
    let temp = 0;
    for (let j = 0; j < n; j++) temp += xpt[k * n + j] * xopt[j];
    temp = hcol[k] * temp;
    for (let i = 0; i < n; i++) glag[i] += temp * xpt[k * n + i];
  }

  // Line searches through xopt and each other point k, for the step along
  // xpt_k - xopt with the largest predicted denominator (presav).
  let presav = 0, ksav = -1, stpsav = 0, ibdsav = 0;
  for (let k = 0; k < npt; k++) {
    if (k === kopt) continue;
    let dderiv = 0, distsq = 0;
    for (let i = 0; i < n; i++) {
      const temp = xpt[k * n + i] - xopt[i];
      dderiv += glag[i] * temp;
      distsq += temp * temp;
    }
    let subd = adelt / Math.sqrt(distsq);
    let slbd = -subd;
    // ilbd / iubd: the bound (+(i+1) upper, -(i+1) lower) limiting the step.
    let ilbd = 0, iubd = 0;
    const sumin = Math.min(1, subd);
    for (let i = 0; i < n; i++) {
      const temp = xpt[k * n + i] - xopt[i];
      if (temp > 0) {
        if (slbd * temp < sl[i] - xopt[i]) {
          slbd = (sl[i] - xopt[i]) / temp;
          ilbd = -(i + 1);
        }
        if (subd * temp > su[i] - xopt[i]) {
          subd = Math.max(sumin, (su[i] - xopt[i]) / temp);
          iubd = i + 1;
        }
      } else if (temp < 0) {
        if (slbd * temp > su[i] - xopt[i]) {
          slbd = (su[i] - xopt[i]) / temp;
          ilbd = i + 1;
        }
        if (subd * temp < sl[i] - xopt[i]) {
          subd = Math.max(sumin, (sl[i] - xopt[i]) / temp);
          iubd = -(i + 1);
        }
      }
    }

    let step: number, vlag: number, isbd: number;
    if (k === knew) {
      // l_knew along the line is step (dderiv - step (dderiv - 1)).
      const diff = dderiv - 1;
      step = slbd;
      vlag = slbd * (dderiv - slbd * diff);
      isbd = ilbd;
      const temp = subd * (dderiv - subd * diff);
      if (Math.abs(temp) > Math.abs(vlag)) {
        step = subd;
        vlag = temp;
        isbd = iubd;
      }
      const tempd = 0.5 * dderiv;
      const tempa = tempd - diff * slbd;
      const tempb = tempd - diff * subd;
      if (tempa * tempb < 0) {
        const t = (tempd * tempd) / diff;
        if (Math.abs(t) > Math.abs(vlag)) {
          step = tempd / diff;
          vlag = t;
          isbd = 0;
        }
      }
    } else {
      // l_knew along the line is dderiv step (1 - step).
      step = slbd;
      vlag = slbd * (1 - slbd);
      isbd = ilbd;
      const temp = subd * (1 - subd);
      if (Math.abs(temp) > Math.abs(vlag)) {
        step = subd;
        vlag = temp;
        isbd = iubd;
      }
      if (subd > 0.5 && Math.abs(vlag) < 0.25) {
        step = 0.5;
        vlag = 0.25;
        isbd = 0;
      }
      vlag *= dderiv;
    }

    const temp = step * (1 - step) * distsq;
    const predsq = vlag * vlag * (vlag * vlag + ha * temp * temp);
    if (predsq > presav) {
      presav = predsq;
      ksav = k;
      stpsav = step;
      ibdsav = isbd;
    }
  }

  // xnew on the chosen line, exactly on the bound that limited the step.
  // (ksav stays -1 only if every predicted denominator is zero or NaN; the
  // step is then zero, which the caller's denominator test rejects.)
  for (let i = 0; i < n; i++) {
    const dir = ksav >= 0 ? xpt[ksav * n + i] - xopt[i] : 0;
    const temp = xopt[i] + stpsav * dir;
    xnew[i] = Math.max(sl[i], Math.min(su[i], temp));
  }
  if (ibdsav < 0) xnew[-ibdsav - 1] = sl[-ibdsav - 1];
  if (ibdsav > 0) xnew[ibdsav - 1] = su[ibdsav - 1];

  const cauchy = constrainedCauchyStep(st, adelt, xalt, work);
  return { alpha, cauchy };
}

/**
 * xalt: the Cauchy step of +l_knew and of -l_knew within the trust region
 * and the bounds (free components move along -glag, those that would cross
 * a bound are fixed on it); returns the larger l_knew(xalt)^2.
 */
function constrainedCauchyStep(
  st: BobyqaState,
  adelt: number,
  xalt: Float64Array,
  work: AltmovWork,
): number {
  const { n, npt, xpt, xopt, sl, su } = st;
  const { glag, hcol, w } = work;
  const bigstp = adelt + adelt;
  let csave = 0;
  let cauchy = 0;

  for (let pass = 0; pass < 2; pass++) {
    // Components that can move downhill are free (w = bigstp).
    let wfixsq = 0, ggfree = 0;
    for (let i = 0; i < n; i++) {
      w[i] = 0;
      const tempa = Math.min(xopt[i] - sl[i], glag[i]);
      const tempb = Math.max(xopt[i] - su[i], glag[i]);
      if (tempa > 0 || tempb < 0) {
        w[i] = bigstp;
        ggfree += glag[i] * glag[i];
      }
    }
    if (ggfree === 0) return 0;

    // Fix the free components that the steepest descent step pushes onto a
    // bound, until no more get fixed.
    let step = 0;
    let temp = adelt * adelt - wfixsq;
    while (temp > 0) {
      const wsqsav = wfixsq;
      step = Math.sqrt(temp / ggfree);
      ggfree = 0;
      for (let i = 0; i < n; i++) {
        if (w[i] === bigstp) {
          const t = xopt[i] - step * glag[i];
          if (t <= sl[i]) {
            w[i] = sl[i] - xopt[i];
            wfixsq += w[i] * w[i];
          } else if (t >= su[i]) {
            w[i] = su[i] - xopt[i];
            wfixsq += w[i] * w[i];
          } else {
            ggfree += glag[i] * glag[i];
          }
        }
      }
      if (!(wfixsq > wsqsav && ggfree > 0)) break;
      temp = adelt * adelt - wfixsq;
    }

    // The remaining free components, and xalt.
    let gw = 0;
    for (let i = 0; i < n; i++) {
      if (w[i] === bigstp) {
        w[i] = -step * glag[i];
        xalt[i] = Math.max(sl[i], Math.min(su[i], xopt[i] + w[i]));
      } else if (w[i] === 0) {
        xalt[i] = xopt[i];
      } else if (glag[i] > 0) {
        xalt[i] = sl[i];
      } else {
        xalt[i] = su[i];
      }
      gw += glag[i] * w[i];
    }

    // Curvature of l_knew along w; a shorter step may give a larger |l|.
    let curv = 0;
    for (let k = 0; k < npt; k++) {
      let t = 0;
      for (let j = 0; j < n; j++) t += xpt[k * n + j] * w[j];
      curv += hcol[k] * t * t;
    }
    if (pass === 1) curv = -curv;
    if (curv > -gw && curv < -ONE_PLUS_SQRT2 * gw) {
      const scale = -gw / curv;
      for (let i = 0; i < n; i++) {
        const t = xopt[i] + scale * w[i];
        xalt[i] = Math.max(sl[i], Math.min(su[i], t));
      }
      const h = 0.5 * gw * scale;
      cauchy = h * h;
    } else {
      const h = gw + 0.5 * curv;
      cauchy = h * h;
    }

    if (pass === 0) {
      // Second pass: the Cauchy step of -l_knew, keeping the first aside.
      for (let i = 0; i < n; i++) {
        glag[i] = -glag[i];
        w[n + i] = xalt[i];
      }
      csave = cauchy;
    }
  }
  if (csave > cauchy) {
    for (let i = 0; i < n; i++) xalt[i] = w[n + i];
    cauchy = csave;
  }
  return cauchy;
}
