/**
 * Updating H, the inverse of the interpolation matrix, when one
 * interpolation point is replaced (Powell's UPDATE; NEWUOA paper, 2006,
 * section 4). H is held as BMAT (its last n columns) and ZMAT (a factor of
 * its leading npt x npt block, Omega = Z Z').
 * @module
 */

import type { BobyqaState } from "./bobyqa_state.ts";

/**
 * Replaces interpolation point `knew`: updates BMAT and ZMAT given
 * `vlag` = H w for the new point (npt + n values; modified), `beta` and the
 * denominator `denom` = alpha beta + tau^2 of the updating formula.
 * `work` needs ndim entries.
 */
export function updateInverse(
  s: BobyqaState,
  vlag: Float64Array,
  beta: number,
  denom: number,
  knew: number,
  work: Float64Array,
): void {
  const { n, npt, nptm, bmat, zmat } = s;

  // Entries of ZMAT this small relative to its largest are treated as zero.
  let ztest = 0;
  for (let k = 0; k < npt; k++) {
    for (let j = 0; j < nptm; j++) {
      ztest = Math.max(ztest, Math.abs(zmat[k * nptm + j]));
    }
  }
  ztest *= 1e-20;

  // Givens rotations of ZMAT's columns put zeros in row knew, except in
  // column 0, so that only that column changes below.
  const kz = knew * nptm;
  for (let j = 1; j < nptm; j++) {
    if (Math.abs(zmat[kz + j]) > ztest) {
      const z0 = zmat[kz], zj = zmat[kz + j];
      const r = Math.sqrt(z0 * z0 + zj * zj);
      const c = zmat[kz] / r;
      const sn = zmat[kz + j] / r;
      for (let i = 0; i < npt; i++) {
        const t = c * zmat[i * nptm] + sn * zmat[i * nptm + j];
        zmat[i * nptm + j] = c * zmat[i * nptm + j] - sn * zmat[i * nptm];
        zmat[i * nptm] = t;
      }
    }
    zmat[kz + j] = 0;
  }

  // The first npt entries of column knew of H, and the updating parameters.
  for (let i = 0; i < npt; i++) work[i] = zmat[kz] * zmat[i * nptm];
  const alpha = work[knew];
  const tau = vlag[knew];
  vlag[knew] -= 1;

  // Complete the updating of ZMAT.
  const sqrtDenom = Math.sqrt(denom);
  const tb = zmat[kz] / sqrtDenom;
  const ta = tau / sqrtDenom;
  for (let i = 0; i < npt; i++) {
    zmat[i * nptm] = ta * zmat[i * nptm] - tb * vlag[i];
  }

  // Update BMAT, keeping its trailing n x n block symmetric.
  for (let j = 0; j < n; j++) {
    const jp = npt + j;
    work[jp] = bmat[knew * n + j];
    const ta2 = (alpha * vlag[jp] - tau * work[jp]) / denom;
    const tb2 = (-beta * work[jp] - tau * vlag[jp]) / denom;
    for (let i = 0; i <= jp; i++) {
      bmat[i * n + j] = bmat[i * n + j] + ta2 * vlag[i] + tb2 * work[i];
      if (i >= npt) bmat[jp * n + (i - npt)] = bmat[i * n + j];
    }
  }
}
