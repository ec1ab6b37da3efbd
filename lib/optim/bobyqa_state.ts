/**
 * The state BOBYQA carries between iterations: the interpolation set, the
 * quadratic model and the factored inverse of the interpolation matrix.
 *
 * Notation follows Powell (2009), "The BOBYQA algorithm for bound
 * constrained optimization without derivatives", DAMTP 2009/NA06, and his
 * Fortran; names are kept so that the paper can be read beside the code.
 * All vectors are 0-based; matrices are row-major Float64Arrays.
 * @module
 */

/** Working state of one BOBYQA run on the (rescaled) problem. */
export interface BobyqaState {
  /** Number of variables. */
  readonly n: number;
  /** Number of interpolation points (2n + 1 here). */
  readonly npt: number;
  /** Columns of ZMAT: npt - n - 1. */
  readonly nptm: number;
  /** Rows of BMAT: npt + n. */
  readonly ndim: number;
  /** Lower bounds of the working variables. */
  readonly xl: Float64Array;
  /** Upper bounds of the working variables. */
  readonly xu: Float64Array;
  /** Origin of the displacements below (moved now and then to xopt). */
  readonly xbase: Float64Array;
  /** Interpolation points relative to xbase: xpt[k * n + j], npt x n. */
  readonly xpt: Float64Array;
  /** f at the interpolation points. */
  readonly fval: Float64Array;
  /** Displacement of the best point from xbase (the trust region centre). */
  readonly xopt: Float64Array;
  /** Gradient of the quadratic model at xbase + xopt. */
  readonly gopt: Float64Array;
  /** Explicit second derivatives of the model, packed lower triangle. */
  readonly hq: Float64Array;
  /** Parameters of the implicit second derivatives: sum pq_k x_k x_k'. */
  readonly pq: Float64Array;
  /**
   * The last n columns of H, the inverse of the interpolation matrix:
   * bmat[k * n + j], ndim x n (its trailing n x n block is symmetric).
   */
  readonly bmat: Float64Array;
  /** Factor of H's leading npt x npt block, Z Z': zmat[k * nptm + j]. */
  readonly zmat: Float64Array;
  /** xl - xbase: lower bounds on displacements. */
  readonly sl: Float64Array;
  /** xu - xbase: upper bounds on displacements. */
  readonly su: Float64Array;
  /** Index of the best interpolation point. */
  kopt: number;
}

/** Allocates the state for n variables and npt points, all zero. */
export function createState(
  n: number,
  npt: number,
  xl: Float64Array,
  xu: Float64Array,
): BobyqaState {
  const nptm = npt - n - 1;
  const ndim = npt + n;
  return {
    n,
    npt,
    nptm,
    ndim,
    xl,
    xu,
    xbase: new Float64Array(n),
    xpt: new Float64Array(npt * n),
    fval: new Float64Array(npt),
    xopt: new Float64Array(n),
    gopt: new Float64Array(n),
    hq: new Float64Array((n * (n + 1)) / 2),
    pq: new Float64Array(npt),
    bmat: new Float64Array(ndim * n),
    zmat: new Float64Array(npt * nptm),
    sl: new Float64Array(n),
    su: new Float64Array(n),
    kopt: 0,
  };
}

/** Index into the packed lower triangle of HQ of element (i, j), i <= j. */
export function hqIndex(i: number, j: number): number {
  return (j * (j + 1)) / 2 + i;
}

/**
 * The point xbase + disp in the working variables, moved into [xl, xu] and
 * put exactly on a bound when the displacement is exactly on it (so that
 * bounds are honoured despite rounding in xbase + disp).
 */
export function pointAt(
  s: BobyqaState,
  disp: Float64Array,
  dispOffset: number,
  out: Float64Array,
): void {
  for (let i = 0; i < s.n; i++) {
    const di = disp[dispOffset + i];
    let xi = Math.min(Math.max(s.xl[i], s.xbase[i] + di), s.xu[i]);
    if (di === s.sl[i]) xi = s.xl[i];
    if (di === s.su[i]) xi = s.xu[i];
    out[i] = xi;
  }
}

/**
 * Multiplies the model's Hessian (explicit HQ plus implicit PQ part) by v,
 * writing into hv: the "GGMULT" step of Powell's TRSBOX.
 */
export function hessianTimes(
  s: BobyqaState,
  v: Float64Array,
  hv: Float64Array,
): void {
  const { n, npt, xpt, hq, pq } = s;
  let ih = 0;
  for (let j = 0; j < n; j++) {
    hv[j] = 0;
    for (let i = 0; i <= j; i++) {
      if (i < j) hv[j] += hq[ih] * v[i];
      hv[i] += hq[ih] * v[j];
      ih++;
    }
  }
  for (let k = 0; k < npt; k++) {
    if (pq[k] !== 0) {
      let temp = 0;
      for (let j = 0; j < n; j++) temp += xpt[k * n + j] * v[j];
      temp *= pq[k];
      for (let i = 0; i < n; i++) hv[i] += temp * xpt[k * n + i];
    }
  }
}

/**
 * Adds to gopt the change of the model gradient along the step d:
 * H d with H = HQ + sum_k pq_k x_k x_k'. Used when the centre moves.
 * `withImplicitPart = false` skips the PQ part (known to be zero).
 */
export function addHessianStepToGradient(
  s: BobyqaState,
  d: Float64Array,
  withImplicitPart = true,
): void {
  const { n, npt, xpt, hq, pq, gopt } = s;
  let ih = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i <= j; i++) {
      if (i < j) gopt[j] += hq[ih] * d[i];
      gopt[i] += hq[ih] * d[j];
      ih++;
    }
  }
  if (!withImplicitPart) return;
  for (let k = 0; k < npt; k++) {
    let temp = 0;
    for (let j = 0; j < n; j++) temp += xpt[k * n + j] * d[j];
    temp = pq[k] * temp;
    for (let i = 0; i < n; i++) gopt[i] += temp * xpt[k * n + i];
  }
}
