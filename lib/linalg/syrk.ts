/**
 * Symmetric rank-k update C ← C − P Pᵀ (lower triangle) on column-major
 * storage: the kernel that dominates a dense Cholesky.
 *
 * P is packed into groups of 4 rows (`pack[g*4*kb + k*4 + r]` = P[4g+r, k]) so
 * that the 4 × 4 register tile reads one contiguous stream per operand; rows
 * past m are padded with zeros so every tile computes a full 4 × 4 block and
 * only the write-back checks the edges.
 * @module
 */

import { type DenseKernels, kernelsFor } from "./simd.ts";

/** Workspace length {@link syrkLowerPacked} needs for m rows and width kb. */
export function syrkPackSize(m: number, kb: number): number {
  return (((m + 3) >> 2) << 2) * kb;
}

/**
 * C ← C − P Pᵀ on the lower triangle, where P is the m × kb matrix at `offP`
 * and C the m × m matrix at `offC`, both in `a` with leading dimension `lda`.
 *
 * @param pack scratch of length at least `syrkPackSize(m, kb)`.
 * @param kernels SIMD kernels; used when `a` and `pack` live in their memory
 *   (they then pack the full row groups and update their tiles, and this
 *   function the last, partial group).
 * @example
 * ```ts
 * // C (2×2, lda 3) in columns 1..2, P (2×1) in column 0, rows 1..2
 * const a = Float64Array.of(0, 1, 2, 0, 10, 0, 0, 0, 10);
 * syrkLowerPacked(a, 2, 1, 1, 4, 3, new Float64Array(4));
 * // lower of C: [[9, ·], [8, 6]]
 * ```
 */
export function syrkLowerPacked(
  a: Float64Array,
  m: number,
  kb: number,
  offP: number,
  offC: number,
  lda: number,
  pack: Float64Array,
  kernels?: DenseKernels,
): void {
  const mg = (m + 3) >> 2;
  const k = kernelsFor(kernels, a, pack);
  if (k) {
    const full = m >> 2;
    k.packRows(a.byteOffset + offP * 8, lda, kb, 0, full, pack.byteOffset);
    packRowsRest(a, m, kb, offP, lda, pack);
    k.syrkTiles(pack.byteOffset, kb, full, a.byteOffset + offC * 8, lda, 0, full);
    syrkEdge(a, m, kb, offC, lda, pack);
    return;
  }
  packRows4(a, m, kb, offP, lda, pack);
  for (let gj = 0; gj < mg; gj++) {
    for (let gi = gj; gi < mg; gi++) tile(a, m, kb, offC, lda, pack, gi, gj);
  }
}

/**
 * The tiles of C −= P Pᵀ in the last, partial row group (when m is not a
 * multiple of 4), which the SIMD kernel (full groups only) leaves out.
 * `pack` must hold P packed, including the zero-padded last group.
 */
export function syrkEdge(
  a: Float64Array,
  m: number,
  kb: number,
  offC: number,
  lda: number,
  pack: Float64Array,
): void {
  const full = m >> 2;
  if (full * 4 === m) return;
  for (let gj = 0; gj <= full; gj++) tile(a, m, kb, offC, lda, pack, full, gj);
}

/** One 4 × 4 tile (row group gi, column group gj) of C −= P Pᵀ. */
function tile(
  a: Float64Array,
  m: number,
  kb: number,
  offC: number,
  lda: number,
  pack: Float64Array,
  gi: number,
  gj: number,
): void {
  const bj = gj * 4 * kb;
  const j0 = gj * 4;
  const bi = gi * 4 * kb;
  let c00 = 0, c10 = 0, c20 = 0, c30 = 0;
  let c01 = 0, c11 = 0, c21 = 0, c31 = 0;
  let c02 = 0, c12 = 0, c22 = 0, c32 = 0;
  let c03 = 0, c13 = 0, c23 = 0, c33 = 0;
  for (let k = 0; k < kb; k++) {
    const pa = bi + k * 4, pb = bj + k * 4;
    const a0 = pack[pa], a1 = pack[pa + 1];
    const a2 = pack[pa + 2], a3 = pack[pa + 3];
    const b0 = pack[pb], b1 = pack[pb + 1];
    const b2 = pack[pb + 2], b3 = pack[pb + 3];
    c00 += a0 * b0, c10 += a1 * b0, c20 += a2 * b0, c30 += a3 * b0;
    c01 += a0 * b1, c11 += a1 * b1, c21 += a2 * b1, c31 += a3 * b1;
    c02 += a0 * b2, c12 += a1 * b2, c22 += a2 * b2, c32 += a3 * b2;
    c03 += a0 * b3, c13 += a1 * b3, c23 += a2 * b3, c33 += a3 * b3;
  }
  const i0 = gi * 4;
  if (gi !== gj && i0 + 4 <= m) {
    // interior tile: all 16 entries are in the strict lower triangle
    let c = offC + j0 * lda + i0;
    a[c] -= c00, a[c + 1] -= c10, a[c + 2] -= c20, a[c + 3] -= c30;
    c += lda;
    a[c] -= c01, a[c + 1] -= c11, a[c + 2] -= c21, a[c + 3] -= c31;
    c += lda;
    a[c] -= c02, a[c + 1] -= c12, a[c + 2] -= c22, a[c + 3] -= c32;
    c += lda;
    a[c] -= c03, a[c + 1] -= c13, a[c + 2] -= c23, a[c + 3] -= c33;
    return;
  }
  // diagonal or edge tile: write only lower-triangle entries inside C
  const c = offC + j0 * lda + i0;
  const im = m - i0, jm = m - j0, d = i0 - j0;
  sub(a, c, 0, 0, c00, im, jm, d);
  sub(a, c + 1, 1, 0, c10, im, jm, d);
  sub(a, c + 2, 2, 0, c20, im, jm, d);
  sub(a, c + 3, 3, 0, c30, im, jm, d);
  sub(a, c + lda, 0, 1, c01, im, jm, d);
  sub(a, c + lda + 1, 1, 1, c11, im, jm, d);
  sub(a, c + lda + 2, 2, 1, c21, im, jm, d);
  sub(a, c + lda + 3, 3, 1, c31, im, jm, d);
  sub(a, c + 2 * lda, 0, 2, c02, im, jm, d);
  sub(a, c + 2 * lda + 1, 1, 2, c12, im, jm, d);
  sub(a, c + 2 * lda + 2, 2, 2, c22, im, jm, d);
  sub(a, c + 2 * lda + 3, 3, 2, c32, im, jm, d);
  sub(a, c + 3 * lda, 0, 3, c03, im, jm, d);
  sub(a, c + 3 * lda + 1, 1, 3, c13, im, jm, d);
  sub(a, c + 3 * lda + 2, 2, 3, c23, im, jm, d);
  sub(a, c + 3 * lda + 3, 3, 3, c33, im, jm, d);
}

/**
 * Guarded write-back of one tile entry (row r, column c within the tile):
 * skipped when outside C (r ≥ im or c ≥ jm) or above the diagonal.
 */
function sub(
  a: Float64Array,
  at: number,
  r: number,
  c: number,
  v: number,
  im: number,
  jm: number,
  d: number,
): void {
  if (r < im && c < jm && r + d >= c) a[at] -= v;
}

/** Copy the m × kb matrix at `offP` into 4-row interleaved groups, zero-padded. */
function packRows4(
  a: Float64Array,
  m: number,
  kb: number,
  offP: number,
  lda: number,
  pack: Float64Array,
): void {
  const full = m >> 2;
  for (let g = 0; g < full; g++) {
    const base = g * 4 * kb;
    for (let k = 0; k < kb; k++) {
      const col = offP + k * lda + g * 4;
      const t = base + k * 4;
      pack[t] = a[col];
      pack[t + 1] = a[col + 1];
      pack[t + 2] = a[col + 2];
      pack[t + 3] = a[col + 3];
    }
  }
  packRowsRest(a, m, kb, offP, lda, pack);
}

/** The last, partial 4-row group of {@link packRows4} (nothing if m is a multiple of 4). */
export function packRowsRest(
  a: Float64Array,
  m: number,
  kb: number,
  offP: number,
  lda: number,
  pack: Float64Array,
): void {
  const full = m >> 2;
  const rest = m - full * 4;
  if (rest > 0) {
    const base = full * 4 * kb;
    for (let k = 0; k < kb; k++) {
      const col = offP + k * lda + full * 4;
      for (let r = 0; r < 4; r++) {
        pack[base + k * 4 + r] = r < rest ? a[col + r] : 0;
      }
    }
  }
}
