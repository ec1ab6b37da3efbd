/**
 * Symmetric eigen decomposition by cyclic Jacobi rotations, and R's checks on
 * covariance matrices (`isSymmetric()`), for `rmvnorm`.
 *
 * Jacobi is accurate to a few ulps for the small matrices simulations use, and
 * it leaves an already diagonal matrix untouched (eigenvectors exactly the
 * identity), which is what keeps `rmvnorm` with a diagonal sigma bit-identical
 * to R: the symmetric square root V·diag(sqrt λ)·Vᵀ does not depend on the
 * order or signs LAPACK gives the eigenvectors.
 * @module
 */

/** Result of {@link symmetricEigen}. */
export interface SymmetricEigen {
  /** Eigenvalues, in decreasing order (as R's `eigen()` returns them). */
  values: Float64Array;
  /** Eigenvectors as columns: `vectors[i][k]` is component i of vector k. */
  vectors: Float64Array[];
}

/**
 * Eigenvalues and eigenvectors of a real symmetric matrix. Only the lower
 * triangle (and diagonal) is read, as LAPACK's `dsyevr(uplo = "L")` in R's
 * `eigen(symmetric = TRUE)` does.
 *
 * @param a a square matrix, `a[i][j]` = row i, column j
 * @returns eigenvalues (decreasing) and matching unit eigenvectors
 * @example
 * ```ts
 * import { symmetricEigen } from "./eigen.ts";
 * const { values } = symmetricEigen([[2, 1], [1, 2]]);
 * // values ≈ [3, 1]
 * ```
 */
export function symmetricEigen(
  a: ArrayLike<ArrayLike<number>>,
): SymmetricEigen {
  const p = a.length;
  const m: Float64Array[] = [];
  const v: Float64Array[] = [];
  for (let i = 0; i < p; i++) {
    m.push(new Float64Array(p));
    v.push(new Float64Array(p));
    v[i][i] = 1;
  }
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      m[i][j] = a[i][j];
      m[j][i] = a[i][j];
    }
  }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) off += m[i][j] * m[i][j];
    }
    if (off === 0) break;
    for (let i = 0; i < p - 1; i++) {
      for (let j = i + 1; j < p; j++) {
        const aij = m[i][j];
        if (aij === 0) continue;
        const aii = m[i][i];
        const ajj = m[j][j];
        // Negligible against both diagonal entries: zero it (the classical
        // Jacobi convergence test; an eps²-relative perturbation).
        if (
          Math.abs(aij) <= 1e-18 * Math.abs(aii) &&
          Math.abs(aij) <= 1e-18 * Math.abs(ajj)
        ) {
          m[i][j] = 0;
          m[j][i] = 0;
          continue;
        }
        // Rotation angle that annihilates m[i][j]: t = tan(phi), the smaller
        // root of t² + 2·theta·t - 1 = 0 (keeps the rotation small).
        const theta = (ajj - aii) / (2 * aij);
        const t = (theta >= 0 ? 1 : -1) /
          (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        m[i][i] = aii - t * aij;
        m[j][j] = ajj + t * aij;
        m[i][j] = 0;
        m[j][i] = 0;
        for (let k = 0; k < p; k++) {
          if (k !== i && k !== j) {
            const mki = m[k][i];
            const mkj = m[k][j];
            m[k][i] = c * mki - s * mkj;
            m[i][k] = m[k][i];
            m[k][j] = s * mki + c * mkj;
            m[j][k] = m[k][j];
          }
          const vki = v[k][i];
          const vkj = v[k][j];
          v[k][i] = c * vki - s * vkj;
          v[k][j] = s * vki + c * vkj;
        }
      }
    }
  }
  // Sort decreasing, as R does (stable, so equal values keep their order).
  const order = Array.from({ length: p }, (_, k) => k);
  order.sort((x, y) => m[y][y] - m[x][x]);
  const values = new Float64Array(p);
  const vectors: Float64Array[] = [];
  for (let i = 0; i < p; i++) vectors.push(new Float64Array(p));
  for (let k = 0; k < p; k++) {
    values[k] = m[order[k]][order[k]];
    for (let i = 0; i < p; i++) vectors[i][k] = v[i][order[k]];
  }
  return { values, vectors };
}

/**
 * R's `all.equal.numeric(target, current, tolerance)` reduced to its verdict:
 * the mean absolute difference over the elements that differ, relative to
 * their mean absolute target value (absolute if that is below `tolerance`).
 */
function allEqual(
  target: ArrayLike<number>,
  current: ArrayLike<number>,
  tolerance: number,
): boolean {
  let n = 0;
  let sumAbs = 0;
  let sumDiff = 0;
  for (let i = 0; i < target.length; i++) {
    if (target[i] === current[i]) continue;
    n++;
    sumAbs += Math.abs(target[i]);
    sumDiff += Math.abs(target[i] - current[i]);
  }
  if (n === 0) return true;
  let scale = sumAbs / n;
  if (!(Number.isFinite(scale) && scale > tolerance)) scale = 1;
  const xy = sumDiff / (n * scale);
  return !Number.isNaN(xy) && xy <= tolerance;
}

/**
 * R's `isSymmetric(sigma, tol)` for a square numeric matrix: a quick check
 * of rows 1, 2, n-1, n against the matching columns with tolerance `8 tol`,
 * then `all.equal(sigma, t(sigma), tolerance = tol)`.
 *
 * @param a square matrix (rows)
 * @param tol tolerance, R's default here `sqrt(.Machine$double.eps)`
 * @returns whether R would call the matrix symmetric
 * @example
 * ```ts
 * import { isSymmetric } from "./eigen.ts";
 * isSymmetric([[1, 0.5], [0.5, 1]]); // true
 * isSymmetric([[1, 0.5], [0.4, 1]]); // false
 * ```
 */
export function isSymmetric(
  a: ArrayLike<ArrayLike<number>>,
  tol = Math.sqrt(Number.EPSILON),
): boolean {
  const n = a.length;
  if (n > 1) {
    const rows = [...new Set([0, 1, n - 2, n - 1])];
    for (const i of rows) {
      const row = Array.from({ length: n }, (_, j) => a[i][j]);
      const col = Array.from({ length: n }, (_, j) => a[j][i]);
      if (!allEqual(row, col, 8 * tol)) return false;
    }
  }
  const flat: number[] = [];
  const flatT: number[] = [];
  // Column-major, as R stores matrices (the verdict is order-independent
  // up to summation rounding, but follow R anyway).
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      flat.push(a[i][j]);
      flatT.push(a[j][i]);
    }
  }
  return allEqual(flat, flatT, tol);
}
