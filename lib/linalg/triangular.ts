/**
 * Triangular solves and inverses for lower-triangular factors stored
 * column-major in `Float64Array`s (element (i, j) at `off + i + j * ld`).
 * @module
 */

/**
 * Solve L x = b in place (forward substitution); L is n × n lower.
 *
 * @example
 * ```ts
 * const l = Float64Array.of(2, 1, 0, 2); // [[2, 0], [1, 2]]
 * const x = Float64Array.of(2, 5);
 * trsvLower(l, 2, 0, 2, x, 0); // x = [1, 2]
 * ```
 */
export function trsvLower(
  l: Float64Array,
  n: number,
  offL: number,
  ldl: number,
  x: Float64Array,
  offX: number,
): void {
  for (let j = 0; j < n; j++) {
    const cj = offL + j * ldl;
    const xj = x[offX + j] / l[cj + j];
    x[offX + j] = xj;
    if (xj === 0) continue;
    for (let i = j + 1; i < n; i++) x[offX + i] -= l[cj + i] * xj;
  }
}

/**
 * Solve Lᵀ x = b in place (backward substitution); L is n × n lower. Each step
 * is a dot product down a contiguous column of L.
 *
 * @example
 * ```ts
 * const l = Float64Array.of(2, 1, 0, 2); // Lᵀ = [[2, 1], [0, 2]]
 * const x = Float64Array.of(4, 4);
 * trsvLowerTrans(l, 2, 0, 2, x, 0); // x = [1.5, 2]
 * ```
 */
export function trsvLowerTrans(
  l: Float64Array,
  n: number,
  offL: number,
  ldl: number,
  x: Float64Array,
  offX: number,
): void {
  for (let j = n - 1; j >= 0; j--) {
    const cj = offL + j * ldl;
    let s = x[offX + j];
    for (let i = j + 1; i < n; i++) s -= l[cj + i] * x[offX + i];
    x[offX + j] = s / l[cj + j];
  }
}

/**
 * B ← B L⁻ᵀ, where B is rows × n at `offB` (leading dimension ldb) and L the
 * n × n lower factor at `offL` (leading dimension ldl).
 *
 * @example
 * ```ts
 * const l = Float64Array.of(2, 1, 0, 2);
 * const b = Float64Array.of(2, 5); // one row [2, 5]
 * trsmRightLowerTrans(b, 1, 2, 0, 1, l, 0, 2); // b = [1, 2]
 * ```
 */
export function trsmRightLowerTrans(
  b: Float64Array,
  rows: number,
  n: number,
  offB: number,
  ldb: number,
  l: Float64Array,
  offL: number,
  ldl: number,
): void {
  for (let j = 0; j < n; j++) {
    const cj = offB + j * ldb;
    for (let k = 0; k < j; k++) {
      const ljk = l[offL + k * ldl + j];
      if (ljk === 0) continue;
      const ck = offB + k * ldb;
      for (let i = 0; i < rows; i++) b[cj + i] -= b[ck + i] * ljk;
    }
    const inv = 1 / l[offL + j * ldl + j];
    for (let i = 0; i < rows; i++) b[cj + i] *= inv;
  }
}

/**
 * Invert an n × n lower-triangular matrix in place (the inverse is lower too).
 * Column j of the inverse solves L w = e_j; it is computed from the right so
 * the columns still needed (those of L) are not yet overwritten.
 *
 * @example
 * ```ts
 * const l = Float64Array.of(2, 1, 0, 2);
 * trtriLower(l, 2, 0, 2); // l = [0.5, -0.25, 0, 0.5]
 * ```
 */
export function trtriLower(
  a: Float64Array,
  n: number,
  off: number,
  lda: number,
): void {
  // From W L = I: w_jj = 1/l_jj and, for i > j,
  // W[i, j] = −Σ_{j<k≤i} W[i, k] l_kj / l_jj. Columns are produced from the
  // last one back, so W[:, k] (k > j) is final when column j is formed, and the
  // sum is done as axpys down those contiguous columns.
  const t = new Float64Array(n);
  for (let j = n - 1; j >= 0; j--) {
    const cj = off + j * lda;
    const wjj = 1 / a[cj + j];
    for (let k = j + 1; k < n; k++) {
      t[k] = -a[cj + k] * wjj;
      a[cj + k] = 0;
    }
    for (let k = j + 1; k < n; k++) {
      const tk = t[k];
      if (tk === 0) continue;
      const ck = off + k * lda;
      for (let i = k; i < n; i++) a[cj + i] += a[ck + i] * tk;
    }
    a[cj + j] = wjj;
  }
}

/**
 * S = Wᵀ W for an n × n lower-triangular W (column-major, at `off`, `ldw`),
 * written to the full n × n column-major `s` (both triangles). Entry (i, j)
 * is the dot product of columns i and j of W from row max(i, j) down.
 *
 * @example
 * ```ts
 * const w = Float64Array.of(1, 2, 0, 3);
 * const s = new Float64Array(4);
 * crossprodLower(w, 2, 0, 2, s); // s = [5, 6, 6, 9]
 * ```
 */
export function crossprodLower(
  w: Float64Array,
  n: number,
  off: number,
  ldw: number,
  s: Float64Array,
): void {
  for (let j = 0; j < n; j++) {
    const cj = off + j * ldw;
    for (let i = j; i < n; i++) {
      const ci = off + i * ldw;
      let t = 0;
      for (let k = i; k < n; k++) t += w[ci + k] * w[cj + k];
      s[j * n + i] = t;
      s[i * n + j] = t;
    }
  }
}
