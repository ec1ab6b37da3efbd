/**
 * BOBYQA's initial interpolation set and model (Powell's PRELIM), for
 * npt = 2n + 1 points: the start x0 and x0 ± rhobeg e_j along every
 * coordinate (a step that would leave the box goes to the other side, or
 * twice as far when x0 is on a bound). The quadratic model then has the
 * central-difference gradient and diagonal Hessian, and H (the inverse of
 * the interpolation matrix) is known in closed form.
 * @module
 */

import type { Evaluator } from "./evaluator.ts";
import { type BobyqaState, hqIndex, pointAt } from "./bobyqa_state.ts";
import type { OptimStatus } from "./types.ts";

/**
 * Evaluates f at the 2n + 1 initial points around xbase = x0 and sets
 * fval, kopt, gopt (the gradient at xbase), hq, pq, bmat and zmat.
 * Returns a stop reason if f fell below `stopval` or the budget ran out.
 */
export function buildInitialModel(
  s: BobyqaState,
  x0: Float64Array,
  rhobeg: number,
  evaluator: Evaluator,
  stopval: number,
): OptimStatus | null {
  const { n, npt, nptm, xpt, fval, gopt, hq, bmat, zmat, sl, su } = s;
  if (npt !== 2 * n + 1) throw new RangeError("BOBYQA here uses npt = 2n+1");
  const rhosq = rhobeg * rhobeg;
  s.xbase.set(x0);
  xpt.fill(0);
  bmat.fill(0);
  hq.fill(0);
  s.pq.fill(0);
  zmat.fill(0);

  const x = new Float64Array(n);
  let fbeg = 0, stepa = 0, stepb = 0;
  for (let kpt = 0; kpt < npt; kpt++) {
    // Place point kpt: 0 is x0; 1..n step along +e_j (or -e_j on an upper
    // bound); n+1..2n take the opposite step, or a double step inward.
    if (kpt >= 1 && kpt <= n) {
      const j = kpt - 1;
      stepa = su[j] === 0 ? -rhobeg : rhobeg;
      xpt[kpt * n + j] = stepa;
    } else if (kpt > n) {
      const j = kpt - n - 1;
      stepa = xpt[(kpt - n) * n + j];
      stepb = -rhobeg;
      if (sl[j] === 0) stepb = Math.min(2 * rhobeg, su[j]);
      if (su[j] === 0) stepb = Math.max(-2 * rhobeg, sl[j]);
      xpt[kpt * n + j] = stepb;
    }

    pointAt(s, xpt, kpt * n, x);
    const f = evaluator.evaluate(x);
    fval[kpt] = f;
    if (kpt === 0) {
      fbeg = f;
      s.kopt = 0;
    } else if (f < fval[s.kopt]) {
      s.kopt = kpt;
    }

    if (kpt >= 1 && kpt <= n) {
      // Forward difference, refined into a central one by the partner point.
      gopt[kpt - 1] = (f - fbeg) / stepa;
    } else if (kpt > n) {
      const j = kpt - n - 1;
      const partner = kpt - n;
      const temp = (f - fbeg) / stepb;
      const diff = stepb - stepa;
      const ih = hqIndex(j, j);
      hq[ih] = (2 * (temp - gopt[j])) / diff;
      gopt[j] = (gopt[j] * stepb - temp * stepa) / diff;
      // With points on both sides, keep the lower value at the partner's
      // slot, as Powell does.
      if (stepa * stepb < 0 && f < fval[partner]) {
        fval[kpt] = fval[partner];
        fval[partner] = f;
        if (s.kopt === kpt) s.kopt = partner;
        xpt[partner * n + j] = stepb;
        xpt[kpt * n + j] = stepa;
      }
      bmat[j] = -(stepa + stepb) / (stepa * stepb);
      bmat[kpt * n + j] = -0.5 / xpt[partner * n + j];
      bmat[partner * n + j] = -bmat[j] - bmat[kpt * n + j];
      zmat[j] = Math.sqrt(2) / (stepa * stepb);
      zmat[kpt * nptm + j] = Math.sqrt(0.5) / rhosq;
      zmat[partner * nptm + j] = -zmat[j] - zmat[kpt * nptm + j];
    }

    if (f < stopval || f === -Infinity) return "stopval_reached";
    if (evaluator.budgetSpent()) return "maxeval_reached";
  }
  return null;
}
