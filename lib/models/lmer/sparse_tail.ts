/**
 * A sparse factorization of the blocked factor's tail (the crossed terms'
 * Z columns after the head is eliminated, then F = [X y]), for designs where
 * the tail's pattern stays sparse (several crossed factors with many levels,
 * e.g. students × teachers × schools).
 *
 * The tail's Z columns are permuted by a minimum-degree ordering found once
 * ({@link minimumDegreeOrder}); the first `s` of them are eliminated as sparse
 * columns (left-looking, patterns fixed symbolically), the remaining
 * `denseZ` (where the fill made the graph dense) and the p + 1 columns of F
 * form a dense block that is updated by the sparse columns and factored by
 * the dense {@link potrf} (SIMD kernels, optional second thread), exactly as
 * the whole tail is on the dense path. The F rows of the sparse columns are
 * kept as dense (p + 1)-vectors.
 *
 * Storage is one flat array `all`: the dense block (md × md, column-major,
 * md = denseZ + p + 1) first, then the sparse columns' values (diagonal
 * first in each column), then their F rows (p + 1 per column). Assembly
 * writes into `all` through indices computed once ({@link SparseTail.index}).
 * @module
 */

import { potrf, potrfWorkSize } from "../../linalg/cholesky.ts";
import type { EliminationOrder } from "../../linalg/min_degree.ts";
import { type DenseKernels, simdArena } from "../../linalg/simd.ts";
import { syrkWideSub } from "../../linalg/gemm.ts";
import { trsvLower, trsvLowerTrans } from "../../linalg/triangular.ts";

/** The tail's sparse columns, its dense block, and their numeric factor. */
export class SparseTail {
  /** Tail Z columns (natural order: tail terms, then levels, then q). */
  readonly tz: number;
  /** Columns of F (p + 1). */
  readonly nf: number;
  /** Sparse columns (positions 0 .. s-1). */
  readonly s: number;
  /** Z columns in the dense block (positions s .. tz-1). */
  readonly denseZ: number;
  /** Order of the dense block: denseZ + nf. */
  readonly md: number;
  /** order[pos] = natural tail Z column at position pos. */
  readonly order: Int32Array;
  /** position[natural column] = its position. */
  readonly position: Int32Array;
  /** Sparse column pattern (positions, ascending, diagonal first). */
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
  /** Dense block ∪ sparse values ∪ their F rows. */
  readonly all: Float64Array;
  /** The dense block (a view of `all` at 0). */
  readonly dense: Float64Array;
  /** Offset of the sparse values in `all`. */
  readonly valBase: number;
  /** Offset of the sparse columns' F rows in `all` (column j's at + j·nf). */
  readonly fBase: number;
  /** Sparse columns' F rows, a view of `all` (nf × s). */
  private readonly lf: Float64Array;
  /** Left-looking row lists: entries L[j, k] (k < j, both sparse). */
  private readonly rowPtr: Int32Array;
  private readonly rowCol: Int32Array;
  private readonly rowEnt: Int32Array;
  /** First entry of each sparse column with a dense-block row. */
  private readonly dStart: Int32Array;
  private readonly x: Float64Array;
  private readonly work: Float64Array;
  private readonly kernels: DenseKernels | undefined;

  constructor(elim: EliminationOrder, tz: number, nf: number, simd: boolean) {
    this.tz = tz;
    this.nf = nf;
    this.s = elim.nSparse;
    this.denseZ = tz - this.s;
    this.md = this.denseZ + nf;
    this.order = elim.order;
    this.position = elim.position;
    this.colPtr = elim.colPtr;
    this.rowIdx = elim.rowIdx;
    const { s, md, colPtr, rowIdx } = this;
    const nnz = colPtr[s];
    const mm = md * md, nw = potrfWorkSize(md);
    const total = mm + nnz + s * nf;
    const arena = simd && md > 64 ? simdArena(total + nw) : undefined;
    this.all = arena ? arena.alloc(total) : new Float64Array(total);
    this.work = arena ? arena.alloc(nw) : new Float64Array(nw);
    this.kernels = arena?.kernels;
    this.dense = this.all.subarray(0, mm);
    this.valBase = mm;
    this.fBase = mm + nnz;
    this.lf = this.all.subarray(this.fBase, this.fBase + s * nf);
    // row lists: for every sparse row i, the entries (k, e) with rowIdx[e] = i, k < i
    const rowPtr = new Int32Array(s + 1);
    const dStart = new Int32Array(s);
    for (let k = 0; k < s; k++) {
      let e = colPtr[k] + 1;
      for (; e < colPtr[k + 1] && rowIdx[e] < s; e++) rowPtr[rowIdx[e] + 1]++;
      dStart[k] = e;
    }
    for (let i = 0; i < s; i++) rowPtr[i + 1] += rowPtr[i];
    const next = rowPtr.slice(0, s);
    const rowCol = new Int32Array(rowPtr[s]), rowEnt = new Int32Array(rowPtr[s]);
    for (let k = 0; k < s; k++) {
      for (let e = colPtr[k] + 1; e < dStart[k]; e++) {
        const at = next[rowIdx[e]]++;
        rowCol[at] = k;
        rowEnt[at] = e;
      }
    }
    this.rowPtr = rowPtr;
    this.rowCol = rowCol;
    this.rowEnt = rowEnt;
    this.dStart = dStart;
    this.x = new Float64Array(tz + nf);
  }

  /**
   * Index in `all` of the entry (a, b) of the permuted lower tail, for
   * natural tail Z columns a and b (either order). Throws when the entry is
   * outside the symbolic pattern (a bug in the caller's graph).
   */
  index(a: number, b: number): number {
    let pr = this.position[a], pc = this.position[b];
    if (pr < pc) [pr, pc] = [pc, pr];
    const { s, md } = this;
    if (pc >= s) return (pc - s) * md + (pr - s);
    let lo = this.colPtr[pc], hi = this.colPtr[pc + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.rowIdx[mid];
      if (v === pr) return this.valBase + mid;
      if (v < pr) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`sparse tail: entry (${a}, ${b}) outside the symbolic pattern`);
  }

  /** Index in `all` of F row 0 of natural tail Z column c (rows r at + r). */
  fIndex(c: number): number {
    const pc = this.position[c];
    return pc >= this.s ? (pc - this.s) * this.md + this.denseZ : this.fBase + pc * this.nf;
  }

  /** Index in `all` of the F × F block (leading dimension md). */
  get ffIndex(): number {
    return this.denseZ * this.md + this.denseZ;
  }

  /**
   * Factor the assembled matrix in place. Returns -1, or the dense block's
   * column where {@link potrf} met a non-positive pivot. Throws on a
   * non-positive pivot in a sparse column (a non-SPD Z block, which only
   * non-finite θ can cause).
   */
  factor(): number {
    const { s, tz, nf, md, all, colPtr, rowIdx, rowPtr, rowCol, rowEnt, x, valBase: vb } = this;
    const fb = this.fBase;
    for (let j = 0; j < s; j++) {
      const c0 = colPtr[j], c1 = colPtr[j + 1];
      for (let e = c0; e < c1; e++) x[rowIdx[e]] = all[vb + e];
      const lfj = fb + j * nf;
      for (let r = 0; r < nf; r++) x[tz + r] = all[lfj + r];
      for (let t = rowPtr[j]; t < rowPtr[j + 1]; t++) {
        const k = rowCol[t], e0 = rowEnt[t];
        const ljk = all[vb + e0];
        if (ljk === 0) continue;
        const end = colPtr[k + 1];
        for (let e = e0; e < end; e++) x[rowIdx[e]] -= all[vb + e] * ljk;
        const lfk = fb + k * nf;
        for (let r = 0; r < nf; r++) x[tz + r] -= all[lfk + r] * ljk;
      }
      const d = x[j];
      if (!(d > 0)) {
        for (let e = c0; e < c1; e++) x[rowIdx[e]] = 0;
        for (let r = 0; r < nf; r++) x[tz + r] = 0;
        throw new Error(
          `random-effects block not positive definite at sparse tail column ${j} ` +
            `(θ contains non-finite values?)`,
        );
      }
      const l = Math.sqrt(d), inv = 1 / l;
      all[vb + c0] = l;
      x[j] = 0;
      for (let e = c0 + 1; e < c1; e++) {
        const i = rowIdx[e];
        all[vb + e] = x[i] * inv;
        x[i] = 0;
      }
      for (let r = 0; r < nf; r++) {
        all[lfj + r] = x[tz + r] * inv;
        x[tz + r] = 0;
      }
    }
    // dense block −= L[D∪F, S] L[D∪F, S]ᵀ
    const dz = this.denseZ;
    for (let k = 0; k < s; k++) {
      const d0 = this.dStart[k], end = colPtr[k + 1];
      const lfk = fb + k * nf;
      for (let e1 = d0; e1 < end; e1++) {
        const a = rowIdx[e1] - s;
        const v1 = all[vb + e1];
        if (v1 === 0) continue;
        for (let e2 = d0; e2 <= e1; e2++) all[(rowIdx[e2] - s) * md + a] -= v1 * all[vb + e2];
        const fo = a * md + dz;
        for (let r = 0; r < nf; r++) all[fo + r] -= v1 * all[lfk + r];
      }
    }
    if (s > 0) syrkWideSub(all, this.ffIndex, md, this.lf, nf, s);
    return potrf(this.dense, md, 0, md, this.work, this.kernels);
  }

  /** Σ log of the Z diagonal of L (sparse columns and the dense block's Z part). */
  logDetZ(): number {
    let ld = 0;
    const { all, colPtr, valBase, md } = this;
    for (let j = 0; j < this.s; j++) ld += Math.log(all[valBase + colPtr[j]]);
    for (let r = 0; r < this.denseZ; r++) ld += Math.log(all[r * md + r]);
    return ld;
  }

  /**
   * Solve L_DDᵀ [u_T; β] = c for D = tail Z ∪ X, c = y's row of L. Returns
   * u_T in natural tail order followed by β (length tz + p).
   */
  solveTrans(): Float64Array {
    const { s, tz, nf, md, all, colPtr, rowIdx, valBase: vb, fBase: fb } = this;
    const p = nf - 1;
    const dz = this.denseZ;
    const xd = new Float64Array(md - 1);
    for (let r = 0; r < md - 1; r++) xd[r] = all[r * md + md - 1];
    trsvLowerTrans(all, md - 1, 0, md, xd, 0);
    const xs = new Float64Array(tz); // by position
    xs.set(xd.subarray(0, dz), s);
    const beta = xd.subarray(dz);
    for (let j = s - 1; j >= 0; j--) {
      const lf = fb + j * nf;
      let v = all[lf + p];
      for (let r = 0; r < p; r++) v -= all[lf + r] * beta[r];
      for (let e = colPtr[j] + 1; e < colPtr[j + 1]; e++) v -= all[vb + e] * xs[rowIdx[e]];
      xs[j] = v / all[vb + colPtr[j]];
    }
    const out = new Float64Array(tz + p);
    for (let pos = 0; pos < tz; pos++) out[this.order[pos]] = xs[pos];
    out.set(beta, tz);
    return out;
  }

  /**
   * Solve L_TT w = x in place for x by position (`x[off + pos]`, length tz),
   * whose entries before `first` are zero: the sparse columns from `first`
   * on (skipping zeros), then the dense block's Z part.
   */
  forwardSolve(x: Float64Array, off: number, first: number): void {
    const { s, md, all, colPtr, rowIdx, valBase: vb } = this;
    for (let j = first; j < s; j++) {
      let xj = x[off + j];
      if (xj === 0) continue;
      const c0 = colPtr[j];
      xj /= all[vb + c0];
      x[off + j] = xj;
      for (let e = c0 + 1; e < colPtr[j + 1]; e++) x[off + rowIdx[e]] -= all[vb + e] * xj;
    }
    if (this.denseZ > 0) trsvLower(all, this.denseZ, 0, md, x, off + s);
  }

  /**
   * Σ_TT = (L_TT L_TTᵀ)⁻¹ (tz × tz, both triangles, natural order): formed
   * from a dense copy of L_TT in positions, inverted and multiplied out.
   */
  covariance(
    invert: (w: Float64Array, n: number) => Float64Array,
  ): Float64Array {
    const { s, tz, md, all, colPtr, rowIdx, valBase: vb } = this;
    const w = new Float64Array(tz * tz);
    for (let j = 0; j < s; j++) {
      for (let e = colPtr[j]; e < colPtr[j + 1]; e++) w[j * tz + rowIdx[e]] = all[vb + e];
    }
    for (let c = 0; c < this.denseZ; c++) {
      for (let r = c; r < this.denseZ; r++) w[(s + c) * tz + s + r] = all[c * md + r];
    }
    const sp = invert(w, tz);
    const out = new Float64Array(tz * tz);
    const { order } = this;
    for (let c = 0; c < tz; c++) {
      const oc = order[c] * tz;
      for (let r = 0; r < tz; r++) out[oc + order[r]] = sp[c * tz + r];
    }
    return out;
  }
}
