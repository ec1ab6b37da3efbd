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

/**
 * C ← C − P Pᵀ on the lower triangle of the n × n matrix C (at offC, ldc) for
 * a short, wide P: n × k with k ≫ n, column-major with leading dimension n.
 * Each 2 × 2 tile of C is one pass over P's columns with four accumulators
 * (a rank-1 update per column would cost a short inner loop per column).
 *
 * @example
 * ```ts
 * const c = new Float64Array(4);
 * syrkWideSub(c, 0, 2, Float64Array.of(1, 2, 3, 4), 2, 2); // P = [[1, 3], [2, 4]]
 * // lower of c: [[-10, ·], [-14, -20]]
 * ```
 */
export function syrkWideSub(
  c: Float64Array,
  offC: number,
  ldc: number,
  p: Float64Array,
  n: number,
  k: number,
): void {
  for (let b = 0; b < n; b += 2) {
    const b1 = b + 1 < n ? b + 1 : b;
    for (let a = b; a < n; a += 2) {
      const a1 = a + 1 < n ? a + 1 : a;
      let s00 = 0, s10 = 0, s01 = 0, s11 = 0;
      for (let o = 0; o < k * n; o += n) {
        const pa = p[o + a], pa1 = p[o + a1], pb = p[o + b], pb1 = p[o + b1];
        s00 += pa * pb;
        s10 += pa1 * pb;
        s01 += pa * pb1;
        s11 += pa1 * pb1;
      }
      // (a1, b), (a, b1), (a1, b1) exist only when distinct and in the lower part
      c[offC + b * ldc + a] -= s00;
      if (a1 !== a) c[offC + b * ldc + a1] -= s10;
      if (b1 !== b && a >= b1) c[offC + b1 * ldc + a] -= s01;
      if (b1 !== b && a1 !== a) c[offC + b1 * ldc + a1] -= s11;
    }
  }
}
