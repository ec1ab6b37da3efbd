/**
 * The main iteration of BOBYQA (Powell's BOBYQB): trust region steps from
 * the quadratic model, "alternative" steps that keep the interpolation set
 * well poised, the update of model and H after each new value of f, and the
 * reduction of the radius rho from rhobeg to rhoend.
 *
 * Powell's Fortran is a web of GOTOs. Here each labelled block is a method
 * returning the next block to run; the labels are kept in the comments so
 * that the code can be read beside the Fortran (or NLopt's C translation,
 * whose stopping tests are reproduced: f-tolerance after each improvement,
 * x-tolerance through rhoend, and the evaluation budget).
 * @module
 */

import { alternativeMove, type AltmovWork, createAltmovWork } from "./bobyqa_altmov.ts";
import { buildInitialModel } from "./bobyqa_prelim.ts";
import { createRescueWork, rescueModel, type RescueWork } from "./bobyqa_rescue.ts";
import { addHessianStepToGradient, type BobyqaState, hqIndex, pointAt } from "./bobyqa_state.ts";
import { createTrsboxWork, type TrsboxWork, trustRegionStep } from "./bobyqa_trsbox.ts";
import { updateInverse } from "./bobyqa_update.ts";
import type { Evaluator } from "./evaluator.ts";
import type { OptimStatus } from "./types.ts";

/** Stopping rules other than rhoend and the evaluation budget. */
export interface CoreTolerances {
  ftolAbs: number;
  ftolRel: number;
  stopval: number;
}

/** Outcome of the iteration, in the working variables. */
export interface CoreResult {
  status: OptimStatus;
  /** The returned point (working variables, within [xl, xu]). */
  x: Float64Array;
  /** f at x. */
  f: number;
}

/** The blocks of the iteration, named after what they do (Fortran label). */
type Block =
  | "centreGradient" // 20
  | "trustRegionStep" // 60
  | "shiftBase" // 90
  | "rescue" // 190
  | "alternativeStep" // 210
  | "denominators" // 230
  | "evaluate" // 360
  | "farthestPoint" // 650
  | "reduceRho" // 680
  | "finish"; // 720

/**
 * NLopt's f-tolerance test (`nlopt_stop_ftol`) between the new best value
 * and the previous one.
 */
export function ftolReached(
  fnew: number,
  fold: number,
  ftolAbs: number,
  ftolRel: number,
): boolean {
  if (fold === Infinity || fold === -Infinity) return false;
  const change = Math.abs(fnew - fold);
  return change < ftolAbs ||
    change < ftolRel * (Math.abs(fnew) + Math.abs(fold)) * 0.5 ||
    (ftolRel > 0 && fnew === fold);
}

/**
 * Runs BOBYQA on the state (whose xl, xu, sl and su are set, and x0 placed
 * so that each coordinate is on a bound or at least rhobeg inside it).
 */
export function runBobyqa(
  st: BobyqaState,
  x0: Float64Array,
  rhobeg: number,
  rhoend: number,
  evaluator: Evaluator,
  tol: CoreTolerances,
): CoreResult {
  return new BobyqaIteration(st, rhobeg, rhoend, evaluator, tol).run(x0);
}

class BobyqaIteration {
  readonly st: BobyqaState;
  readonly rhobeg: number;
  readonly rhoend: number;
  readonly evaluator: Evaluator;
  readonly tol: CoreTolerances;

  // Vectors: the trial point and step, the alternative point, H w for the
  // trial point (vlag), and scratch named after Powell's uses of W.
  readonly xnew: Float64Array;
  readonly xalt: Float64Array;
  readonly d: Float64Array;
  readonly vlag: Float64Array;
  /** W(1..NPT): the vector w of the trial point; later a Lagrange sum. */
  readonly wK: Float64Array;
  /** W(NPT+1..2NPT): xpt_k . d; later the least Frobenius norm pq. */
  readonly wN: Float64Array;
  /** W(1..N): assorted n-vectors. */
  readonly wA: Float64Array;
  readonly updateWork: Float64Array;
  readonly x: Float64Array;
  readonly trsboxWork: TrsboxWork;
  readonly altmovWork: AltmovWork;
  readonly rescueWork: RescueWork;

  // Scalars carried between blocks (Powell's names).
  rho = 0;
  delta = 0;
  dsq = 0;
  dnorm = 0;
  crvmin = 0;
  xoptsq = 0;
  /** Trust region iterations since the last alternative one (-1: short). */
  ntrits = 0;
  /** Evaluations at the last RESCUE, and at the last "long" step. */
  nresc = 0;
  nfsav = 0;
  /** Moduli of the model errors at the last three new points. */
  diffa = 0;
  diffb = 0;
  diffc = 0;
  itest = 0;
  ratio = 0;
  alpha = 0;
  cauchy = 0;
  adelt = 0;
  beta = 0;
  denom = 0;
  knew = -1;
  kbase = 0;
  distsq = 0;
  status: OptimStatus = "success";
  /** Set when the iteration returns the last trial point itself. */
  early: CoreResult | null = null;

  constructor(
    st: BobyqaState,
    rhobeg: number,
    rhoend: number,
    evaluator: Evaluator,
    tol: CoreTolerances,
  ) {
    this.st = st;
    this.rhobeg = rhobeg;
    this.rhoend = rhoend;
    this.evaluator = evaluator;
    this.tol = tol;
    const { n, npt, ndim } = st;
    this.xnew = new Float64Array(n);
    this.xalt = new Float64Array(n);
    this.d = new Float64Array(n);
    this.vlag = new Float64Array(ndim);
    this.wK = new Float64Array(npt);
    this.wN = new Float64Array(npt);
    this.wA = new Float64Array(n);
    this.updateWork = new Float64Array(ndim);
    this.x = new Float64Array(n);
    this.trsboxWork = createTrsboxWork(n);
    this.altmovWork = createAltmovWork(n, npt);
    this.rescueWork = createRescueWork(n, npt);
  }

  run(x0: Float64Array): CoreResult {
    const st = this.st;
    const stop = buildInitialModel(
      st,
      x0,
      this.rhobeg,
      this.evaluator,
      this.tol.stopval,
    );
    this.setXoptFromKopt();
    this.rho = this.rhobeg;
    this.delta = this.rho;
    this.nresc = this.evaluator.nevals;
    this.nfsav = this.evaluator.nevals;
    this.kbase = 0;

    let block: Block = "centreGradient";
    if (stop !== null) {
      this.status = stop;
      block = "finish";
    }
    for (;;) {
      switch (block) {
        case "centreGradient":
          block = this.centreGradient();
          break;
        case "trustRegionStep":
          block = this.trustRegionStep();
          break;
        case "shiftBase":
          block = this.shiftBase();
          break;
        case "rescue":
          block = this.rescue();
          break;
        case "alternativeStep":
          block = this.alternativeStep();
          break;
        case "denominators":
          block = this.denominators();
          break;
        case "evaluate":
          block = this.evaluate();
          if (this.early !== null) return this.early;
          break;
        case "farthestPoint":
          block = this.farthestPoint();
          break;
        case "reduceRho":
          block = this.reduceRho();
          break;
        case "finish":
          return this.finish();
      }
    }
  }

  /** xopt = xpt[kopt], and its squared norm. */
  setXoptFromKopt(): void {
    const { n, xpt, xopt, kopt } = this.st;
    this.xoptsq = 0;
    for (let i = 0; i < n; i++) {
      xopt[i] = xpt[kopt * n + i];
      this.xoptsq += xopt[i] * xopt[i];
    }
  }

  /** 20: move the model gradient from xbase to xopt after PRELIM/RESCUE. */
  centreGradient(): Block {
    const st = this.st;
    if (st.kopt !== this.kbase) {
      addHessianStepToGradient(st, st.xopt, this.evaluator.nevals > st.npt);
    }
    return "trustRegionStep";
  }

  /**
   * 60: the trust region step. A step shorter than rho / 2 is not tried;
   * then either the model is checked (farthestPoint) or, if its recent
   * errors are small compared with the predicted gains, rho is reduced.
   */
  trustRegionStep(): Block {
    const st = this.st;
    const { n, npt, xpt, pq, hq, sl, su } = st;
    const res = trustRegionStep(
      st,
      this.delta,
      this.xnew,
      this.d,
      this.trsboxWork,
    );
    this.dsq = res.dsq;
    this.crvmin = res.crvmin;
    this.dnorm = Math.min(this.delta, Math.sqrt(this.dsq));
    if (this.dnorm >= 0.5 * this.rho) {
      this.ntrits++;
      return "shiftBase";
    }

    this.ntrits = -1;
    const rho = this.rho;
    this.distsq = (10 * rho) * (10 * rho);
    if (this.evaluator.nevals <= this.nfsav + 2) return "farthestPoint";
    // Is the work with this rho complete? Yes if the model's last three
    // errors are small against the gains a step of length rho / 2 could
    // bring, given the curvature and the gradient at active bounds.
    const errbig = Math.max(Math.max(this.diffa, this.diffb), this.diffc);
    const frhosq = rho * 0.125 * rho;
    if (this.crvmin > 0 && errbig > frhosq * this.crvmin) {
      return "farthestPoint";
    }
    const bdtol = errbig / rho;
    const gnew = this.trsboxWork.gnew;
    for (let j = 0; j < n; j++) {
      let bdtest = bdtol;
      if (this.xnew[j] === sl[j]) bdtest = gnew[j];
      if (this.xnew[j] === su[j]) bdtest = -gnew[j];
      if (bdtest < bdtol) {
        let curv = hq[hqIndex(j, j)];
        for (let k = 0; k < npt; k++) {
          curv += pq[k] * (xpt[k * n + j] * xpt[k * n + j]);
        }
        bdtest += 0.5 * curv * rho;
        if (bdtest < bdtol) return "farthestPoint";
      }
    }
    return "reduceRho";
  }

  /**
   * 90: if xopt is far from xbase compared with the step, move xbase to
   * xopt to limit cancellation, updating BMAT and the model's second
   * derivatives (Powell 2009, section 7; NEWUOA 2006, section 5).
   */
  shiftBase(): Block {
    const st = this.st;
    const { n, npt, nptm, xpt, xopt, bmat, zmat, pq, hq } = st;
    const { vlag, wA, wN } = this;
    if (this.dsq <= this.xoptsq * 0.001) {
      const fracsq = this.xoptsq * 0.25;
      let sumpq = 0;
      // Changes to BMAT that do not depend on ZMAT.
      for (let k = 0; k < npt; k++) {
        sumpq += pq[k];
        let sum = -0.5 * this.xoptsq;
        for (let i = 0; i < n; i++) sum += xpt[k * n + i] * xopt[i];
        wN[k] = sum;
        const temp = fracsq - 0.5 * sum;
        for (let i = 0; i < n; i++) {
          wA[i] = bmat[k * n + i];
          vlag[i] = sum * xpt[k * n + i] + temp * xopt[i];
          const ip = npt + i;
          for (let j = 0; j <= i; j++) {
            bmat[ip * n + j] = bmat[ip * n + j] + wA[i] * vlag[j] +
              vlag[i] * wA[j];
          }
        }
      }
      // Changes that depend on ZMAT.
      for (let jj = 0; jj < nptm; jj++) {
        let sumz = 0, sumw = 0;
        for (let k = 0; k < npt; k++) {
          sumz += zmat[k * nptm + jj];
          vlag[k] = wN[k] * zmat[k * nptm + jj];
          sumw += vlag[k];
        }
        for (let j = 0; j < n; j++) {
          let sum = (fracsq * sumz - 0.5 * sumw) * xopt[j];
          for (let k = 0; k < npt; k++) sum += vlag[k] * xpt[k * n + j];
          wA[j] = sum;
          for (let k = 0; k < npt; k++) {
            bmat[k * n + j] += sum * zmat[k * nptm + jj];
          }
        }
        for (let i = 0; i < n; i++) {
          const ip = i + npt;
          const temp = wA[i];
          for (let j = 0; j <= i; j++) bmat[ip * n + j] += temp * wA[j];
        }
      }
      // Shift the points and the second derivatives; symmetrise BMAT.
      let ih = 0;
      for (let j = 0; j < n; j++) {
        wA[j] = -0.5 * sumpq * xopt[j];
        for (let k = 0; k < npt; k++) {
          wA[j] += pq[k] * xpt[k * n + j];
          xpt[k * n + j] -= xopt[j];
        }
        for (let i = 0; i <= j; i++) {
          hq[ih] = hq[ih] + wA[i] * xopt[j] + xopt[i] * wA[j];
          ih++;
          bmat[(npt + i) * n + j] = bmat[(npt + j) * n + i];
        }
      }
      for (let i = 0; i < n; i++) {
        st.xbase[i] += xopt[i];
        this.xnew[i] -= xopt[i];
        st.sl[i] -= xopt[i];
        st.su[i] -= xopt[i];
        xopt[i] = 0;
      }
      this.xoptsq = 0;
    }
    return this.ntrits === 0 ? "alternativeStep" : "denominators";
  }

  /**
   * 190: rebuild the interpolation set and H (RESCUE) when rounding errors
   * have damaged the denominators.
   */
  rescue(): Block {
    const st = this.st;
    this.nfsav = this.evaluator.nevals;
    this.kbase = st.kopt;
    const stop = rescueModel(
      st,
      this.delta,
      this.vlag,
      this.evaluator,
      this.tol.stopval,
      this.rescueWork,
    );
    this.xoptsq = 0;
    if (st.kopt !== this.kbase) this.setXoptFromKopt();
    if (stop !== null) {
      this.status = stop;
      return "finish";
    }
    this.nresc = this.evaluator.nevals;
    if (this.nfsav < this.evaluator.nevals) {
      this.nfsav = this.evaluator.nevals;
      return "centreGradient";
    }
    return this.ntrits > 0 ? "trustRegionStep" : "alternativeStep";
  }

  /** 210: the alternative step for point knew (ALTMOV). */
  alternativeStep(): Block {
    const st = this.st;
    const res = alternativeMove(
      st,
      this.knew,
      this.adelt,
      this.xnew,
      this.xalt,
      this.altmovWork,
    );
    this.alpha = res.alpha;
    this.cauchy = res.cauchy;
    for (let i = 0; i < st.n; i++) this.d[i] = this.xnew[i] - st.xopt[i];
    return "denominators";
  }

  /**
   * 230: vlag = H w and beta for the step d, then the point to replace
   * (knew) and the denominator of the update; RESCUE or stop if rounding
   * errors have made the denominator too small.
   */
  denominators(): Block {
    const st = this.st;
    const { n, npt, nptm, xpt, xopt, bmat, zmat, kopt } = st;
    const { d, vlag, wK, wN } = this;
    for (;;) {
      for (let k = 0; k < npt; k++) {
        let suma = 0, sumb = 0, sum = 0;
        for (let j = 0; j < n; j++) {
          suma += xpt[k * n + j] * d[j];
          sumb += xpt[k * n + j] * xopt[j];
          sum += bmat[k * n + j] * d[j];
        }
        wK[k] = suma * (0.5 * suma + sumb);
        vlag[k] = sum;
        wN[k] = suma;
      }
      let beta = 0;
      for (let jj = 0; jj < nptm; jj++) {
        let sum = 0;
        for (let k = 0; k < npt; k++) sum += zmat[k * nptm + jj] * wK[k];
        beta -= sum * sum;
        for (let k = 0; k < npt; k++) vlag[k] += sum * zmat[k * nptm + jj];
      }
      let dsq = 0, bsum = 0, dx = 0;
      for (let j = 0; j < n; j++) {
        dsq += d[j] * d[j];
        let sum = 0;
        for (let k = 0; k < npt; k++) sum += wK[k] * bmat[k * n + j];
        bsum += sum * d[j];
        const jp = npt + j;
        for (let i = 0; i < n; i++) sum += bmat[jp * n + i] * d[i];
        vlag[jp] = sum;
        bsum += sum * d[j];
        dx += d[j] * xopt[j];
      }
      this.dsq = dsq;
      this.beta = dx * dx + dsq * (this.xoptsq + dx + dx + 0.5 * dsq) + beta -
        bsum;
      vlag[kopt] += 1;

      if (this.ntrits === 0) {
        // Alternative step: prefer the Cauchy point if its denominator is
        // larger.
        const vk = vlag[this.knew];
        this.denom = vk * vk + this.alpha * this.beta;
        if (this.denom < this.cauchy && this.cauchy > 0) {
          for (let i = 0; i < n; i++) {
            this.xnew[i] = this.xalt[i];
            d[i] = this.xnew[i] - xopt[i];
          }
          this.cauchy = 0;
          continue;
        }
        if (this.denom <= 0.5 * (vk * vk)) return this.denominatorTooSmall();
      } else {
        // Trust region step: replace the point with the largest
        // denominator, weighted by its distance from xopt.
        if (!this.chooseKnew(xopt, kopt)) return this.denominatorTooSmall();
      }
      return "evaluate";
    }
  }

  /** RESCUE once per new evaluation; otherwise give up (NLopt's -4). */
  denominatorTooSmall(): Block {
    if (this.evaluator.nevals > this.nresc) return "rescue";
    this.status = "roundoff_limited";
    return "finish";
  }

  /**
   * 360: evaluate f at xnew, then update delta, the model, H and the best
   * point; test the f-tolerance after an improvement.
   */
  evaluate(): Block {
    const st = this.st;
    const { n, npt, nptm, xpt, xopt, fval, gopt, hq, pq, bmat, zmat } = st;
    const { d, vlag, wN, wA, xnew } = this;

    pointAt(st, xnew, 0, this.x);
    if (this.evaluator.budgetSpent()) {
      this.status = "maxeval_reached";
      return "finish";
    }
    const f = this.evaluator.evaluate(this.x);
    if (this.ntrits === -1) {
      // The final short step at rho = rhoend.
      this.status = "xtol_reached";
      if (f < fval[st.kopt]) {
        this.early = { status: this.status, x: this.x.slice(), f };
      }
      return "finish";
    }
    if (f < this.tol.stopval || f === -Infinity) {
      this.early = { status: "stopval_reached", x: this.x.slice(), f };
      return "finish";
    }

    // The model's predicted change, and the error of that prediction.
    const fopt = fval[st.kopt];
    let vquad = 0;
    let ih = 0;
    for (let j = 0; j < n; j++) {
      vquad += d[j] * gopt[j];
      for (let i = 0; i <= j; i++) {
        let temp = d[i] * d[j];
        if (i === j) temp = 0.5 * temp;
        vquad += hq[ih] * temp;
        ih++;
      }
    }
    for (let k = 0; k < npt; k++) vquad += 0.5 * pq[k] * (wN[k] * wN[k]);
    const diff = f - fopt - vquad;
    this.diffc = this.diffb;
    this.diffb = this.diffa;
    this.diffa = Math.abs(diff);
    if (this.dnorm > this.rho) this.nfsav = this.evaluator.nevals;

    if (this.ntrits > 0) {
      // Trust region radius from the ratio of actual to predicted decrease.
      if (vquad >= 0) {
        this.status = "roundoff_limited";
        return "finish";
      }
      this.ratio = (f - fopt) / vquad;
      if (this.ratio <= 0.1) {
        this.delta = Math.min(0.5 * this.delta, this.dnorm);
      } else if (this.ratio <= 0.7) {
        this.delta = Math.max(0.5 * this.delta, this.dnorm);
      } else {
        this.delta = Math.max(0.5 * this.delta, this.dnorm + this.dnorm);
      }
      if (this.delta <= this.rho * 1.5) this.delta = this.rho;
      if (f < fopt) this.rechooseKnewForNewCentre();
    }

    // Replace point knew: update H, then the model (the knew-th Lagrange
    // function times the prediction error is added).
    const knew = this.knew;
    updateInverse(st, vlag, this.beta, this.denom, knew, this.updateWork);
    ih = 0;
    const pqold = pq[knew];
    pq[knew] = 0;
    for (let i = 0; i < n; i++) {
      const temp = pqold * xpt[knew * n + i];
      for (let j = 0; j <= i; j++) {
        hq[ih] += temp * xpt[knew * n + j];
        ih++;
      }
    }
    for (let jj = 0; jj < nptm; jj++) {
      const temp = diff * zmat[knew * nptm + jj];
      for (let k = 0; k < npt; k++) pq[k] += temp * zmat[k * nptm + jj];
    }
    fval[knew] = f;
    for (let i = 0; i < n; i++) {
      xpt[knew * n + i] = xnew[i];
      wA[i] = bmat[knew * n + i];
    }
    for (let k = 0; k < npt; k++) {
      let suma = 0;
      for (let jj = 0; jj < nptm; jj++) {
        suma += zmat[knew * nptm + jj] * zmat[k * nptm + jj];
      }
      if (suma === Infinity || suma === -Infinity) {
        // NLopt: H has become singular; nothing sensible can follow.
        this.status = "roundoff_limited";
        return "finish";
      }
      let sumb = 0;
      for (let j = 0; j < n; j++) sumb += xpt[k * n + j] * xopt[j];
      const temp = suma * sumb;
      for (let i = 0; i < n; i++) wA[i] += temp * xpt[k * n + i];
    }
    for (let i = 0; i < n; i++) gopt[i] += diff * wA[i];

    // A new best point: move the centre there, then test NLopt's ftol.
    if (f < fopt) {
      st.kopt = knew;
      this.xoptsq = 0;
      for (let j = 0; j < n; j++) {
        xopt[j] = xnew[j];
        this.xoptsq += xopt[j] * xopt[j];
      }
      addHessianStepToGradient(st, d);
      if (ftolReached(f, fopt, this.tol.ftolAbs, this.tol.ftolRel)) {
        this.status = "ftol_reached";
        return "finish";
      }
    }

    if (this.ntrits > 0) this.maybeUseMinimumNormModel();

    // After a good trust region step, another one; otherwise look for a
    // point to move away from the centre.
    if (this.ntrits === 0) return "trustRegionStep";
    if (f <= fopt + 0.1 * vquad) return "trustRegionStep";
    const a = 2 * this.delta, b = 10 * this.rho;
    this.distsq = Math.max(a * a, b * b);
    return "farthestPoint";
  }

  /**
   * After a successful trust region step, choose knew again measuring
   * distances from the new point (which becomes the centre), unless that
   * makes the denominator relatively too small.
   */
  rechooseKnewForNewCentre(): void {
    const ksav = this.knew, densav = this.denom;
    if (!this.chooseKnew(this.xnew, -1)) {
      this.knew = ksav;
      this.denom = densav;
    }
  }

  /**
   * Powell's choice of the interpolation point to replace by a step to
   * `centre`: the largest denominator β·‖Z_k‖² + vlag_k², weighted by
   * max(1, (‖x_k − centre‖² / Δ²)²), over all points but `skip`. Sets knew
   * and denom; returns false when that weighted denominator is not more than
   * half the largest weighted vlag_k² (the denominator is then too small).
   */
  chooseKnew(centre: Float64Array, skip: number): boolean {
    const { n, npt, nptm, xpt, zmat } = this.st;
    const vlag = this.vlag;
    const delsq = this.delta * this.delta;
    let scaden = 0, biglsq = 0;
    this.knew = -1;
    for (let k = 0; k < npt; k++) {
      if (k === skip) continue;
      let hdiag = 0;
      for (let jj = 0; jj < nptm; jj++) {
        hdiag += zmat[k * nptm + jj] * zmat[k * nptm + jj];
      }
      const den = this.beta * hdiag + vlag[k] * vlag[k];
      let distsq = 0;
      for (let j = 0; j < n; j++) {
        const t = xpt[k * n + j] - centre[j];
        distsq += t * t;
      }
      const r = distsq / delsq;
      const temp = Math.max(1, r * r);
      if (temp * den > scaden) {
        scaden = temp * den;
        this.knew = k;
        this.denom = den;
      }
      biglsq = Math.max(biglsq, temp * (vlag[k] * vlag[k]));
    }
    return scaden > 0.5 * biglsq;
  }

  /**
   * Compute the least Frobenius norm interpolant of the current data; if
   * its gradient at xopt (projected on the bounds) has been much smaller
   * than the model's for three iterations in a row, adopt it as the model.
   */
  maybeUseMinimumNormModel(): void {
    const st = this.st;
    const { n, npt, nptm, xpt, xopt, fval, gopt, hq, pq, bmat, zmat, kopt } = st;
    const { vlag, wK, wN } = this;
    for (let k = 0; k < npt; k++) {
      vlag[k] = fval[k] - fval[kopt];
      wK[k] = 0;
    }
    for (let j = 0; j < nptm; j++) {
      let sum = 0;
      for (let k = 0; k < npt; k++) sum += zmat[k * nptm + j] * vlag[k];
      for (let k = 0; k < npt; k++) wK[k] += sum * zmat[k * nptm + j];
    }
    for (let k = 0; k < npt; k++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += xpt[k * n + j] * xopt[j];
      wN[k] = wK[k];
      wK[k] = sum * wK[k];
    }
    let gqsq = 0, gisq = 0;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = 0; k < npt; k++) {
        sum = sum + bmat[k * n + i] * vlag[k] + xpt[k * n + i] * wK[k];
      }
      if (xopt[i] === st.sl[i]) {
        const g = Math.min(0, gopt[i]), s = Math.min(0, sum);
        gqsq += g * g;
        gisq += s * s;
      } else if (xopt[i] === st.su[i]) {
        const g = Math.max(0, gopt[i]), s = Math.max(0, sum);
        gqsq += g * g;
        gisq += s * s;
      } else {
        gqsq += gopt[i] * gopt[i];
        gisq += sum * sum;
      }
      vlag[npt + i] = sum;
    }
    this.itest++;
    if (gqsq < 10 * gisq) this.itest = 0;
    if (this.itest >= 3) {
      for (let i = 0; i < n; i++) gopt[i] = vlag[npt + i];
      for (let k = 0; k < npt; k++) pq[k] = wN[k];
      hq.fill(0);
      this.itest = 0;
    }
  }

  /**
   * 650: if some interpolation point is farther than sqrt(distsq) from
   * xopt, move the farthest one by an alternative step; otherwise decide
   * between another trust region step and reducing rho.
   */
  farthestPoint(): Block {
    const { n, npt, xpt, xopt } = this.st;
    this.knew = -1;
    for (let k = 0; k < npt; k++) {
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const t = xpt[k * n + j] - xopt[j];
        sum += t * t;
      }
      if (sum > this.distsq) {
        this.knew = k;
        this.distsq = sum;
      }
    }
    if (this.knew >= 0) {
      const dist = Math.sqrt(this.distsq);
      if (this.ntrits === -1) {
        this.delta = Math.min(0.1 * this.delta, 0.5 * dist);
        if (this.delta <= this.rho * 1.5) this.delta = this.rho;
      }
      this.ntrits = 0;
      this.adelt = Math.max(Math.min(0.1 * dist, this.delta), this.rho);
      this.dsq = this.adelt * this.adelt;
      return "shiftBase";
    }
    if (this.ntrits === -1) return "reduceRho";
    if (this.ratio > 0) return "trustRegionStep";
    if (Math.max(this.delta, this.dnorm) > this.rho) return "trustRegionStep";
    return "reduceRho";
  }

  /**
   * 680: the work with this rho is complete: reduce rho (by a factor 10,
   * less near rhoend), or at rhoend try the last short step and stop.
   */
  reduceRho(): Block {
    if (this.rho > this.rhoend) {
      this.delta = 0.5 * this.rho;
      // Powell reuses RATIO here; its value matters in farthestPoint.
      this.ratio = this.rho / this.rhoend;
      if (this.ratio <= 16) this.rho = this.rhoend;
      else if (this.ratio <= 250) this.rho = Math.sqrt(this.ratio) * this.rhoend;
      else this.rho = 0.1 * this.rho;
      this.delta = Math.max(this.delta, this.rho);
      this.ntrits = 0;
      this.nfsav = this.evaluator.nevals;
      return "trustRegionStep";
    }
    if (this.ntrits === -1) return "evaluate";
    return "finish";
  }

  /** 720: return the best point. */
  finish(): CoreResult {
    const st = this.st;
    pointAt(st, st.xopt, 0, this.x);
    return { status: this.status, x: this.x.slice(), f: st.fval[st.kopt] };
  }
}
