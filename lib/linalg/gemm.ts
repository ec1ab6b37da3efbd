/**
 * Small general matrix products on column-major `Float64Array` storage, for
 * the q × q blocks of the random-effects system (q is the number of columns
 * of a random-effects term, usually 1–3), where loop overhead matters more
 * than blocking.
 * @module
 */

/**
 * C ← C − A Bᵀ, with A m × k (at offA, lda), B n × k (at offB, ldb) and
 * C m × n (at offC, ldc).
 *
 * @example
 * ```ts
 * const c = new Float64Array(1);
 * gemmNTSub(c, 0, 1, Float64Array.of(2), 0, 1, Float64Array.of(3), 0, 1, 1, 1, 1);
 * // c = [-6]
 * ```
 */
export function gemmNTSub(
  c: Float64Array,
  offC: number,
  ldc: number,
  a: Float64Array,
  offA: number,
  lda: number,
  b: Float64Array,
  offB: number,
  ldb: number,
  m: number,
  n: number,
  k: number,
): void {
  for (let j = 0; j < n; j++) {
    const cj = offC + j * ldc;
    for (let h = 0; h < k; h++) {
      const bjh = b[offB + h * ldb + j];
      if (bjh === 0) continue;
      const ah = offA + h * lda;
      for (let i = 0; i < m; i++) c[cj + i] -= a[ah + i] * bjh;
    }
  }
}

/**
 * C ← C − A Aᵀ on the lower triangle of the n × n matrix C (at offC, ldc),
 * with A n × k (at offA, lda).
 *
 * @example
 * ```ts
 * const c = Float64Array.of(10, 0, 0, 10);
 * syrkSmallSub(c, 0, 2, Float64Array.of(1, 2), 0, 2, 2, 1);
 * // lower of c: [[9, ·], [8, 6]]
 * ```
 */
export function syrkSmallSub(
  c: Float64Array,
  offC: number,
  ldc: number,
  a: Float64Array,
  offA: number,
  lda: number,
  n: number,
  k: number,
): void {
  for (let j = 0; j < n; j++) {
    const cj = offC + j * ldc;
    for (let h = 0; h < k; h++) {
      const ah = offA + h * lda;
      const ajh = a[ah + j];
      if (ajh === 0) continue;
      for (let i = j; i < n; i++) c[cj + i] -= a[ah + i] * ajh;
    }
  }
}
