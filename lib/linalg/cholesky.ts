/**
 * Dense lower Cholesky factorization on column-major `Float64Array` storage.
 *
 * Every routine addresses a sub-matrix BLAS-style: element (i, j) of the
 * n × n matrix lives at `a[off + i + j * lda]`. Only the lower triangle is read
 * or written; the strict upper triangle is left untouched.
 * @module
 */

import { NATIVE_MIN_ORDER, nativeLapack } from "./native.ts";
import { type DenseKernels, kernelsFor } from "./simd.ts";
import { packRowsRest, syrkEdge, syrkLowerPacked, syrkPackSize } from "./syrk.ts";
import {
  type DenseHelper,
  noteFactorTime,
  PARALLEL_MIN_ORDER,
  parallelHelper,
} from "./parallel.ts";

/** Block size of {@link potrf}: the packed panel (n × NB) stays in L2. */
const NB = 64;

/**
 * Unblocked, left-looking lower Cholesky of an n × n matrix, in place.
 *
 * Returns -1 on success. On failure returns the index j of the first
 * non-positive (or NaN) pivot; `a[j, j]` then holds the pivot value before the
 * square root (the Schur complement), columns before j hold their factor, and
 * columns after j are unfinished. Callers use that value: for the augmented
 * `[Z X y]` system the last pivot is the penalized residual sum of squares.
 *
 * @example
 * ```ts
 * const a = Float64Array.of(4, 2, 2, 5); // [[4, 2], [2, 5]]
 * potf2(a, 2); // a = [2, 1, 2, 2]: L = [[2, 0], [1, 2]]
 * ```
 */
export function potf2(
  a: Float64Array,
  n: number,
  off = 0,
  lda: number = n,
): number {
  for (let j = 0; j < n; j++) {
    const cj = off + j * lda;
    let d = a[cj + j];
    for (let k = 0; k < j; k++) {
      const v = a[off + k * lda + j];
      d -= v * v;
    }
    if (!(d > 0)) {
      a[cj + j] = d;
      return j;
    }
    d = Math.sqrt(d);
    a[cj + j] = d;
    // column j below the diagonal: a[i, j] -= sum_k a[i, k] a[j, k] (axpy form,
    // so the inner loop runs down contiguous columns)
    for (let k = 0; k < j; k++) {
      const ljk = a[off + k * lda + j];
      if (ljk === 0) continue;
      const ck = off + k * lda;
      for (let i = j + 1; i < n; i++) a[cj + i] -= a[ck + i] * ljk;
    }
    const inv = 1 / d;
    for (let i = j + 1; i < n; i++) a[cj + i] *= inv;
  }
  return -1;
}

/** Length of the workspace {@link potrf} needs for an n × n matrix. */
export function potrfWorkSize(n: number): number {
  return syrkPackSize(n, NB);
}

/**
 * Blocked right-looking lower Cholesky of an n × n matrix, in place.
 *
 * Each step factors a diagonal block of width 64 ({@link potf2}), solves the
 * panel below it, and subtracts the panel's outer product from the trailing
 * matrix with a register-blocked kernel; that update is where all but O(n²)
 * of the flops go. Return value as for {@link potf2} (-1, or the index of the
 * first non-positive pivot, whose Schur complement is left on the diagonal).
 *
 * @param work optional scratch of length `potrfWorkSize(n)`; allocated if
 *   absent (pass one in a loop to avoid garbage).
 * @param kernels WebAssembly SIMD kernels (`simd.ts`), used when `a` and
 *   `work` are views on their memory; the result is bitwise the same. When
 *   that memory is shared and n ≥ 400, the factorization is split with a
 *   helper thread (`parallel.ts`), again with bitwise the same result.
 *   From order 256, when the system's OpenBLAS can be loaded through FFI
 *   (`native.ts`), LAPACK's dpotrf does the work instead (same contract,
 *   rounding differs).
 * @example
 * ```ts
 * const a = Float64Array.of(4, 2, 2, 5);
 * potrf(a, 2); // -1; lower triangle of a is now [[2, ·], [1, 2]]
 * ```
 */
export function potrf(
  a: Float64Array,
  n: number,
  off = 0,
  lda: number = n,
  work?: Float64Array,
  kernels?: DenseKernels,
): number {
  if (n <= NB) return potf2(a, n, off, lda);
  if (n >= NATIVE_MIN_ORDER) {
    const lapack = nativeLapack();
    if (lapack) return lapack.potrf(a, n, off, lda);
  }
  const pack = work ?? new Float64Array(potrfWorkSize(n));
  const k = kernelsFor(kernels, a, pack);
  if (k && n >= PARALLEL_MIN_ORDER) {
    const helper = parallelHelper(k, n);
    const t0 = performance.now();
    const info = helper
      ? potrfTwoThreads(a, n, off, lda, pack, k, helper)
      : potrfBlocked(a, n, off, lda, pack, k);
    noteFactorTime(k, n, helper !== undefined, performance.now() - t0, info < 0);
    return info;
  }
  return potrfBlocked(a, n, off, lda, pack, k);
}

/** The single-thread loop of {@link potrf}. */
function potrfBlocked(
  a: Float64Array,
  n: number,
  off: number,
  lda: number,
  pack: Float64Array,
  k: DenseKernels | undefined,
): number {
  for (let k0 = 0; k0 < n; k0 += NB) {
    const kb = Math.min(NB, n - k0);
    const diagOff = off + k0 * lda + k0;
    const info = potf2(a, kb, diagOff, lda);
    if (info >= 0) return k0 + info;
    const r0 = k0 + kb;
    const m = n - r0;
    if (m === 0) break;
    const offB = off + k0 * lda + r0;
    if (k) k.panelSolve(a.byteOffset + offB * 8, m, kb, a.byteOffset + diagOff * 8, lda);
    else panelSolve(a, m, kb, offB, diagOff, lda);
    syrkLowerPacked(a, m, kb, offB, off + r0 * lda + r0, lda, pack, k);
  }
  return -1;
}

/** Trailing blocks smaller than this are updated by the main thread alone. */
const PARALLEL_MIN_STEP = 64;

/**
 * {@link potrfBlocked} with each panel solve and trailing update shared with
 * the helper thread: the same kernels on disjoint chunks of rows (panel) and
 * tile columns (update), so the same bits. Diagonal blocks ({@link potf2})
 * and the partial row group stay on this thread.
 */
function potrfTwoThreads(
  a: Float64Array,
  n: number,
  off: number,
  lda: number,
  pack: Float64Array,
  k: DenseKernels,
  helper: DenseHelper,
): number {
  const base = a.byteOffset, pk = pack.byteOffset;
  helper.begin();
  try {
    for (let k0 = 0; k0 < n; k0 += NB) {
      const kb = Math.min(NB, n - k0);
      const diagOff = off + k0 * lda + k0;
      const info = potf2(a, kb, diagOff, lda);
      if (info >= 0) return k0 + info;
      const r0 = k0 + kb;
      const m = n - r0;
      if (m === 0) break;
      const offB = off + k0 * lda + r0, offC = off + r0 * lda + r0;
      const pB = base + offB * 8, pL = base + diagOff * 8, pC = base + offC * 8;
      if (m < PARALLEL_MIN_STEP) {
        k.panelSolve(pB, m, kb, pL, lda);
        syrkLowerPacked(a, m, kb, offB, offC, lda, pack, k);
        continue;
      }
      helper.panel(pB, m, kb, pL, lda, pk);
      packRowsRest(a, m, kb, offB, lda, pack);
      helper.syrk(pk, kb, m >> 2, pC, lda, () => syrkEdge(a, m, kb, offC, lda, pack));
    }
    return -1;
  } finally {
    helper.end();
  }
}

/**
 * B ← B L⁻ᵀ for the m × kb panel B at `offB` and the kb × kb lower factor L at
 * `offL` (same leading dimension): column j of the result is
 * (b_j − Σ_{k<j} x_k l_jk) / l_jj.
 */
function panelSolve(
  a: Float64Array,
  m: number,
  kb: number,
  offB: number,
  offL: number,
  lda: number,
): void {
  for (let j = 0; j < kb; j++) {
    const cj = offB + j * lda;
    for (let k = 0; k < j; k++) {
      const ljk = a[offL + k * lda + j];
      if (ljk === 0) continue;
      const ck = offB + k * lda;
      for (let i = 0; i < m; i++) a[cj + i] -= a[ck + i] * ljk;
    }
    const inv = 1 / a[offL + j * lda + j];
    for (let i = 0; i < m; i++) a[cj + i] *= inv;
  }
}
