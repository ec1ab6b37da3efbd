/**
 * BOBYQA's recovery from a damaged interpolation set (Powell's RESCUE,
 * Powell 2009, section 5), called when rounding errors have made the
 * denominator of the update of H too small. xbase moves to the best point,
 * and BMAT and ZMAT are rebuilt from scratch for a well-poised
 * "provisional" set (xopt and xopt ± delta along each coordinate, clipped
 * by the bounds). The original points are then swapped back in one by one
 * while the updating denominators stay large; f is evaluated only at the
 * provisional points that remain.
 *
 * Written for npt = 2n + 1, where every provisional point other than the
 * centre is a step along a single coordinate.
 * @module
 */

import type { Evaluator } from "./evaluator.ts";
import { type BobyqaState, hqIndex, pointAt } from "./bobyqa_state.ts";
import { updateInverse } from "./bobyqa_update.ts";
import type { OptimStatus } from "./types.ts";

/** Scratch space of RESCUE. */
export interface RescueWork {
  /** Provisional steps along each coordinate: first and second choice. */
  step1: Float64Array;
  step2: Float64Array;
  /**
   * For a provisional point k, the coordinate of its step; -1 for an
   * original point.
   */
  provCoord: Int32Array;
  /** For a provisional point k: 1 if its step is step1, 2 if step2. */
  provSide: Int8Array;
  /** Squared distances of the original points to xopt (npt). */
  dist: Float64Array;
  /** The vector w of an original point (ndim), and update scratch. */
  wv: Float64Array;
  scratch: Float64Array;
  /** A working point (n). */
  x: Float64Array;
}

/** Allocates RESCUE's scratch space. */
export function createRescueWork(n: number, npt: number): RescueWork {
  return {
    step1: new Float64Array(n),
    step2: new Float64Array(n),
    provCoord: new Int32Array(npt),
    provSide: new Int8Array(npt),
    dist: new Float64Array(npt),
    wv: new Float64Array(npt + n),
    scratch: new Float64Array(npt + n),
    x: new Float64Array(n),
  };
}

/**
 * Rebuilds the interpolation set and H around xopt (see the module notes).
 * `vlag` (ndim) is working space. kopt may change; the caller then resets
 * xopt (which is 0 on return, xbase having moved) and gopt.
 * Returns a stop reason if f fell below `stopval` or the budget ran out.
 */
export function rescueModel(
  st: BobyqaState,
  delta: number,
  vlag: Float64Array,
  evaluator: Evaluator,
  stopval: number,
  work: RescueWork,
): OptimStatus | null {
  const { n, npt, nptm, xpt, xopt, pq, hq, bmat, zmat, sl, su } = st;
  const { step1, step2, provCoord, provSide, dist, wv } = work;

  // Shift the points so that xopt is the origin, and clear ZMAT.
  let sumpq = 0, winc = 0;
  for (let k = 0; k < npt; k++) {
    let distsq = 0;
    for (let j = 0; j < n; j++) {
      xpt[k * n + j] -= xopt[j];
      distsq += xpt[k * n + j] * xpt[k * n + j];
    }
    sumpq += pq[k];
    dist[k] = distsq;
    winc = Math.max(winc, distsq);
    zmat.fill(0, k * nptm, (k + 1) * nptm);
  }

  // HQ so that HQ and PQ are the model's second derivatives after the shift.
  let ih = 0;
  for (let j = 0; j < n; j++) {
    wv[j] = 0.5 * sumpq * xopt[j];
    for (let k = 0; k < npt; k++) wv[j] += pq[k] * xpt[k * n + j];
    for (let i = 0; i <= j; i++) {
      hq[ih] = hq[ih] + wv[i] * xopt[j] + wv[j] * xopt[i];
      ih++;
    }
  }

  // Move xbase to xopt; the provisional steps along each coordinate are
  // +-delta within the bounds, the larger first, the other at least half as
  // long.
  for (let j = 0; j < n; j++) {
    st.xbase[j] += xopt[j];
    sl[j] -= xopt[j];
    su[j] -= xopt[j];
    xopt[j] = 0;
    step1[j] = Math.min(delta, su[j]);
    step2[j] = Math.max(-delta, sl[j]);
    if (step1[j] + step2[j] < 0) {
      const t = step1[j];
      step1[j] = step2[j];
      step2[j] = t;
    }
    if (Math.abs(step2[j]) < 0.5 * Math.abs(step1[j])) {
      step2[j] = 0.5 * step1[j];
    }
  }
  bmat.fill(0);
  const fbase = st.fval[st.kopt];

  // H of the provisional set, in closed form as in PRELIM. Point 0 is the
  // centre, points j+1 and n+j+1 the steps along coordinate j.
  provCoord[0] = -2; // the centre: provisional, but with no step
  provSide[0] = 0;
  for (let j = 0; j < n; j++) {
    const jp = j + 1, jpn = j + 1 + n;
    provCoord[jp] = j;
    provSide[jp] = 1;
    provCoord[jpn] = j;
    provSide[jpn] = 2;
    const temp = 1 / (step1[j] - step2[j]);
    bmat[jp * n + j] = -temp + 1 / step1[j];
    bmat[jpn * n + j] = temp + 1 / step2[j];
    bmat[j] = -bmat[jp * n + j] - bmat[jpn * n + j];
    zmat[j] = Math.SQRT2 / Math.abs(step1[j] * step2[j]);
    zmat[jp * nptm + j] = zmat[j] * step2[j] * temp;
    zmat[jpn * nptm + j] = -zmat[j] * step1[j] * temp;
  }

  // Reinstate original points, replacing provisional ones (kold), first the
  // best point in place of the centre, then by increasing distance.
  let nrem = npt, kold = 0, knew = st.kopt;
  let beta = 0, denom = 0;
  for (;;) {
    swapRows(bmat, n, kold, knew);
    swapRows(zmat, nptm, kold, knew);
    provCoord[kold] = provCoord[knew];
    provSide[kold] = provSide[knew];
    provCoord[knew] = -1;
    dist[knew] = 0;
    nrem--;
    if (knew !== st.kopt) {
      const t = vlag[kold];
      vlag[kold] = vlag[knew];
      vlag[knew] = t;
      updateInverse(st, vlag, beta, denom, knew, work.scratch);
      if (nrem === 0) return null;
      for (let k = 0; k < npt; k++) dist[k] = Math.abs(dist[k]);
    }

    // Pick the next original point and a provisional one to replace; a
    // point whose denominator is too small waits (its distance is made
    // negative, and larger by winc, until the next success).
    let found = false;
    while (!found) {
      let dsqmin = 0;
      for (let k = 0; k < npt; k++) {
        if (dist[k] > 0 && (dsqmin === 0 || dist[k] < dsqmin)) {
          knew = k;
          dsqmin = dist[k];
        }
      }
      if (dsqmin === 0) {
        return evaluateProvisionalPoints(st, fbase, evaluator, stopval, work);
      }
      ({ beta, kold, denom, found } = chooseProvisionalToReplace(
        st,
        knew,
        vlag,
        work,
      ));
      if (!found) dist[knew] = -dist[knew] - winc;
    }
  }
}

/**
 * For the original point knew: computes vlag = H w and beta of the update
 * that would reinstate it, and the provisional point kold with the largest
 * denominator. found is false if that denominator is too small.
 */
function chooseProvisionalToReplace(
  st: BobyqaState,
  knew: number,
  vlag: Float64Array,
  work: RescueWork,
): { beta: number; kold: number; denom: number; found: boolean } {
  const { n, npt, nptm, ndim, xpt, bmat, zmat, kopt } = st;
  const { step1, step2, provCoord, provSide, wv } = work;

  for (let j = 0; j < n; j++) wv[npt + j] = xpt[knew * n + j];
  for (let k = 0; k < npt; k++) {
    let sum = 0;
    if (k === kopt) {
      // the centre
    } else if (provCoord[k] === -1) {
      for (let j = 0; j < n; j++) sum += wv[npt + j] * xpt[k * n + j];
    } else {
      const j = provCoord[k];
      sum = wv[npt + j] * (provSide[k] === 1 ? step1[j] : step2[j]);
    }
    wv[k] = 0.5 * sum * sum;
  }

  for (let k = 0; k < npt; k++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += bmat[k * n + j] * wv[npt + j];
    vlag[k] = sum;
  }
  let beta = 0;
  for (let j = 0; j < nptm; j++) {
    let sum = 0;
    for (let k = 0; k < npt; k++) sum += zmat[k * nptm + j] * wv[k];
    beta -= sum * sum;
    for (let k = 0; k < npt; k++) vlag[k] += sum * zmat[k * nptm + j];
  }
  let bsum = 0, distsq = 0;
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let k = 0; k < npt; k++) sum += bmat[k * n + j] * wv[k];
    const jp = j + npt;
    bsum += sum * wv[jp];
    for (let ip = npt; ip < ndim; ip++) sum += bmat[ip * n + j] * wv[ip];
    bsum += sum * wv[jp];
    vlag[jp] = sum;
    distsq += xpt[knew * n + j] * xpt[knew * n + j];
  }
  beta = 0.5 * distsq * distsq + beta - bsum;
  vlag[kopt] += 1;

  let denom = 0, vlmxsq = 0, kold = -1;
  for (let k = 0; k < npt; k++) {
    if (provCoord[k] !== -1) {
      let hdiag = 0;
      for (let j = 0; j < nptm; j++) {
        hdiag += zmat[k * nptm + j] * zmat[k * nptm + j];
      }
      const den = beta * hdiag + vlag[k] * vlag[k];
      if (den > denom) {
        kold = k;
        denom = den;
      }
    }
    vlmxsq = Math.max(vlmxsq, vlag[k] * vlag[k]);
  }
  return { beta, kold, denom, found: denom > vlmxsq * 0.01 };
}

/**
 * Moves each remaining provisional point into XPT, evaluates f there and
 * updates the model to interpolate it (the Lagrange function of that point
 * times the error of the model's prediction).
 */
function evaluateProvisionalPoints(
  st: BobyqaState,
  fbase: number,
  evaluator: Evaluator,
  stopval: number,
  work: RescueWork,
): OptimStatus | null {
  const { n, npt, nptm, xpt, fval, gopt, hq, pq, bmat, zmat } = st;
  const { step1, step2, provCoord, provSide, wv, x } = work;

  for (let kpt = 0; kpt < npt; kpt++) {
    if (provCoord[kpt] === -1) continue;
    if (evaluator.budgetSpent()) return "maxeval_reached";

    // Fold the implicit second derivative of the point into HQ and move it.
    let ih = 0;
    for (let j = 0; j < n; j++) {
      wv[j] = xpt[kpt * n + j];
      xpt[kpt * n + j] = 0;
      const temp = pq[kpt] * wv[j];
      for (let i = 0; i <= j; i++) {
        hq[ih] += temp * wv[i];
        ih++;
      }
    }
    pq[kpt] = 0;
    const j = provCoord[kpt];
    const step = provSide[kpt] === 1 ? step1[j] : step2[j];
    xpt[kpt * n + j] = step;

    // The model's value at the new point.
    let vquad = fbase;
    vquad += step * (gopt[j] + 0.5 * step * hq[hqIndex(j, j)]);
    for (let k = 0; k < npt; k++) {
      const temp = step * xpt[k * n + j];
      vquad += 0.5 * pq[k] * temp * temp;
    }

    pointAt(st, xpt, kpt * n, x);
    const f = evaluator.evaluate(x);
    fval[kpt] = f;
    if (f < fval[st.kopt]) st.kopt = kpt;
    if (f < stopval || f === -Infinity) return "stopval_reached";
    if (evaluator.budgetSpent()) return "maxeval_reached";

    // Add diff times the Lagrange function of point kpt to the model.
    const diff = f - vquad;
    for (let i = 0; i < n; i++) gopt[i] += diff * bmat[kpt * n + i];
    for (let k = 0; k < npt; k++) {
      let sum = 0;
      for (let jj = 0; jj < nptm; jj++) {
        sum += zmat[k * nptm + jj] * zmat[kpt * nptm + jj];
      }
      const temp = diff * sum;
      if (provCoord[k] === -1) {
        pq[k] += temp;
      } else {
        const c = provCoord[k];
        const v = provSide[k] === 1 ? step1[c] : step2[c];
        hq[hqIndex(c, c)] += temp * (v * v);
      }
    }
    provCoord[kpt] = -1;
  }
  return null;
}

/** Swaps rows a and b of a row-major matrix with `cols` columns. */
function swapRows(m: Float64Array, cols: number, a: number, b: number): void {
  for (let j = 0; j < cols; j++) {
    const t = m[a * cols + j];
    m[a * cols + j] = m[b * cols + j];
    m[b * cols + j] = t;
  }
}
