/**
 * The profiled criterion of lme4 (Bates et al. 2015, eqs. 34 and 41) from the
 * blocked factor L(θ):
 *
 *     ML:   log|L|² + n (1 + log(2π r²/n))
 *     REML: log|L|² + log|R_X|² + (n−p)(1 + log(2π r²/(n−p)))
 *
 * where log|L|² sums 2·log of the Z diagonal of L, log|R_X|² 2·log of its X
 * diagonal, and r² (penalized residual sum of squares) is the square of L's
 * last diagonal entry, so neither β nor u is solved for.
 * @module
 */

import type { BlockedFactor } from "./cholesky.ts";

/** The pieces of the criterion at one θ (lme4's devcomp names). */
export interface DevianceParts {
  /** log-determinant of Λᵀ Zᵀ Z Λ + I: lme4's `ldL2`. */
  readonly ldL2: number;
  /** log-determinant of R_Xᵀ R_X: lme4's `ldRX2`. */
  readonly ldRX2: number;
  /** Penalized residual sum of squares r² = ‖y − Xβ − ZΛu‖² + ‖u‖²: `pwrss`. */
  readonly pwrss: number;
}

/**
 * Relative size below which an X pivot of L counts as zero: the X column is
 * (numerically) a combination of the others. Far below anything a finite θ
 * produces for a full-rank X (≈ 1/(1 + θ²·n_level) for a group-level column).
 */
const RANK_TOL = 1e-14;

/**
 * Read ldL2, ldRX2 and r² off a freshly updated factor. Throws a clear error
 * when X's block is not positive definite (rank-deficient X).
 */
export function devianceParts(
  f: BlockedFactor,
  info: number,
  xtxDiag: Float64Array,
): DevianceParts {
  const { m, tail, denseZ, p } = f;
  checkFixedRank(f, info, xtxDiag);
  const ldL2 = logDetL(f);
  let ldRX2 = 0;
  for (let r = 0; r < p; r++) ldRX2 += Math.log(tail[(denseZ + r) * m + denseZ + r]);
  const last = tail[m * m - 1];
  // info = m−1: the Schur complement of y was ≤ 0, i.e. an exact fit up to
  // rounding; it is left unsquared on the diagonal
  const pwrss = info === m - 1 ? Math.max(last, 0) : last * last;
  return { ldL2, ldRX2: 2 * ldRX2, pwrss };
}

/**
 * log|ΛᵀZᵀZΛ + I| = 2 Σ log of L's Z diagonal (head blocks, then the tail),
 * off a freshly updated factor: lme4's ldL2.
 */
export function logDetL(f: BlockedFactor): number {
  let ld = 0;
  for (let j = 0; j < f.nHead; j++) {
    const d = f.headDiag[j];
    const q = f.terms[j].q;
    if (q === 1) {
      for (let l = 0; l < d.length; l++) ld += Math.log(d[l]);
    } else {
      for (let l = 0; l < f.terms[j].nLevels; l++) {
        for (let r = 0; r < q; r++) ld += Math.log(d[l * q * q + r * q + r]);
      }
    }
  }
  ld += f.tailLogDet();
  return 2 * ld;
}

/**
 * Throw a clear error when X's block of a freshly updated factor is not
 * positive definite (rank-deficient X): what {@link devianceParts} checks
 * first, alone for a caller that needs the solution but not the
 * criterion's pieces.
 */
export function checkFixedRank(f: BlockedFactor, info: number, xtxDiag: Float64Array): void {
  const { m, tail, denseZ, p } = f;
  if (info >= denseZ && info < denseZ + p) {
    throw rankDeficient(info - denseZ);
  }
  for (let r = 0; r < p; r++) {
    const d = tail[(denseZ + r) * m + denseZ + r];
    if (d * d < RANK_TOL * xtxDiag[r]) throw rankDeficient(r);
  }
}

function rankDeficient(col: number): Error {
  return new Error(
    `fixed-effect model matrix is rank deficient: column ${
      col + 1
    } is (numerically) a linear combination of the preceding columns; ` +
      `drop it before fitting`,
  );
}

/**
 * lme4's profiled deviance (ML) or REML criterion from its pieces.
 *
 * @example
 * ```ts
 * profiledCriterion({ ldL2: 0, ldRX2: 0, pwrss: 10 }, 10, 1, false);
 * // 10 (1 + log(2π))
 * ```
 */
export function profiledCriterion(
  parts: DevianceParts,
  n: number,
  p: number,
  reml: boolean,
): number {
  const { ldL2, ldRX2, pwrss } = parts;
  if (reml) {
    const nmp = n - p;
    return ldL2 + ldRX2 + nmp * (1 + Math.log((2 * Math.PI * pwrss) / nmp));
  }
  return ldL2 + n * (1 + Math.log((2 * Math.PI * pwrss) / n));
}
