/**
 * The blocked Cholesky factor L(θ) of the augmented system
 *
 *     L Lᵀ = [Λᵀ Z ᵀZ Λ + I   Λᵀ ZᵀF]
 *            [FᵀZ Λ           FᵀF   ],   F = [X y],
 *
 * following MixedModels.jl's blocked scheme. The Z columns are split into
 * - a *head*: the leading terms whose diagonal blocks of L stay block diagonal
 *   (one q × q lower factor per level). Term 0 always is; a later term j is
 *   when every level of each earlier head term meets at most one level of j
 *   (j's factor nests the earlier ones, or is the same factor as in
 *   `(x || g)`), so no fill-in reaches L[j, j]. Blocks L[i, j] below a head
 *   term keep a sparse block pattern (A's pattern plus any fill, found
 *   symbolically once; for patterns that come from data there is none).
 * - a *tail*: the remaining terms (crossed factors, where L[j, j] fills in)
 *   followed by the p + 1 columns of F. On the dense path it is one dense
 *   lower matrix M. Where its pattern stays sparse (several crossed factors
 *   with many levels, e.g. teachers within schools after the students), the
 *   tail's Z columns are put in minimum-degree order once, most of them are
 *   eliminated as sparse columns ({@link SparseTail}), and only the rest
 *   (where the fill made it dense) and F form M. The path is chosen once per
 *   model from the symbolic analysis' flop counts ({@link tailPlan}).
 * Each evaluation copies A's blocks, scales them by Λ(θ), adds I to the Z
 * diagonal, eliminates the head block by block, then the tail's sparse
 * columns, and factors M densely. The last diagonal entry of M is then r
 * (√ of the penalized RSS), and M's X diagonal is R_X's. Nothing here
 * depends on n.
 * @module
 */

import { potf2, potrf, potrfWorkSize } from "../../linalg/cholesky.ts";
import { nativeLapack } from "../../linalg/native.ts";
import { type DenseKernels, simdArena } from "../../linalg/simd.ts";
import { gemmNTSub, syrkSmallSub, syrkWideSub } from "../../linalg/gemm.ts";
import {
  crossprodLower,
  trsmRightLowerTrans,
  trsvLowerTrans,
  trtriLower,
} from "../../linalg/triangular.ts";
import { BitGraph, type EliminationOrder, minimumDegreeOrder } from "../../linalg/min_degree.ts";
import type { BlockSparse, CrossProducts } from "./crossprod.ts";
import { SparseTail } from "./sparse_tail.ts";
import { fillFactors, leftMulTrans, rightMul, type TermInfo } from "./structure.ts";

/**
 * Largest dense tail (Z columns of the crossed terms + p + 1) accepted: its
 * factor takes order² × 8 bytes (1.15 GB at 12000) and each evaluation about
 * order³/3 flops.
 */
export const MAX_DENSE_TAIL = 12000;

/** Largest number of tail Z columns analysed for a sparse factorization (n²/8 bytes of bitsets). */
const MAX_SPARSE_ANALYSIS = 25000;

/**
 * How the tail is factored: `"dense"` (one dense Cholesky), `"sparse"`
 * (every tail Z column eliminated as a sparse column in minimum-degree
 * order; only F = [X y] dense), or `"auto"` (default): minimum degree until
 * the remaining graph is dense, the rest as a dense block, chosen over the
 * dense path when the estimated work is smaller (see {@link tailPlan}).
 */
export type TailMode = "auto" | "dense" | "sparse";

/**
 * Relative cost of a flop in the scalar sparse kernels against one in the
 * dense SIMD factorization (measured ≈ 4–8).
 */
const SPARSE_FLOP_COST = 6;

/**
 * Minimum degree stops (the rest forms the dense block) once the least
 * degree reaches this fraction of the nodes left: eliminating a node of
 * degree δ sparsely costs ≈ SPARSE_FLOP_COST·δ² against ≈ R²/3 per column of
 * a dense block of order R.
 */
const DENSE_FRACTION = 0.2;

/** The sparse path is taken when its estimated work is below this fraction of the dense path's. */
const SPARSE_MARGIN = 0.5;

/**
 * How much faster a dense flop is in the native LAPACK (lib/linalg/native.ts)
 * than in the WebAssembly kernels SPARSE_FLOP_COST was measured against
 * (2.5–4× from order 256 to 2,000, tests/bench/cholesky_bench.ts).
 */
const NATIVE_DENSE_SPEEDUP = 3;

/**
 * The indices i with key[i] ≥ 0 ordered by key[i] (in 0 … nKeys − 1),
 * ascending indices within one key (a counting sort).
 */
function stableOrder(key: Int32Array, nKeys: number): Int32Array {
  const start = new Int32Array(nKeys + 1);
  for (let i = 0; i < key.length; i++) if (key[i] >= 0) start[key[i] + 1]++;
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const out = new Int32Array(start[nKeys]);
  for (let i = 0; i < key.length; i++) if (key[i] >= 0) out[start[key[i]]++] = i;
  return out;
}

const ONE_EACH = new WeakMap<Int32Array, boolean>();

/**
 * Whether every column of a block-sparse pattern holds exactly one block
 * (colPtr[c] = c: a nested factor's levels each within one outer level),
 * remembered per pattern.
 */
export function oneEach(colPtr: Int32Array): boolean {
  let v = ONE_EACH.get(colPtr);
  if (v === undefined) {
    v = colPtr.every((x, c) => x === c);
    ONE_EACH.set(colPtr, v);
  }
  return v;
}

/**
 * The blocked factor. Construct once from the crossproducts; `update(θ)`
 * refactors in place without allocating.
 */
export class BlockedFactor {
  /** Terms in lme4's order. */
  readonly terms: readonly TermInfo[];
  /** Number of fixed-effect columns; F = [X y] has p + 1. */
  readonly p: number;
  /** Number of head terms (0 < nHead ≤ K), or 0 when there are no terms. */
  readonly nHead: number;
  /** L[j, j] for head terms j: level l's q × q lower factor at `l*q*q`. */
  readonly headDiag: readonly Float64Array[];
  /** L[i, j] for head terms j < nHead and any term i > j (sparse blocks). */
  readonly headOff: readonly (readonly BlockSparse[])[];
  /** L[F, j] for head terms j: (p+1) × ℓ_j q_j, column-major. */
  readonly headF: readonly Float64Array[];
  /**
   * Dense lower factor of the tail (tail terms, then X, then y): m × m. On
   * the sparse path only its dense block (the last denseZ tail Z columns in
   * the sparse path's order, then X, then y).
   */
  readonly tail: Float64Array;
  /** Order of the dense tail (of its dense block on the sparse path). */
  readonly m: number;
  /** Number of Z columns in the tail (Σ ℓ q over tail terms). */
  readonly tailZ: number;
  /**
   * Number of Z columns in the dense block `tail` (its F rows start there):
   * tailZ on the dense path, fewer when the sparse path eliminates some.
   */
  readonly denseZ: number;
  /** The sparse factorization of the tail, when that path was chosen. */
  readonly sparse: SparseTail | undefined;
  /** The estimates the path was chosen by (undefined when not analysed). */
  readonly tailCost: TailCost | undefined;
  /**
   * Each tail term's first Z column in the tail's natural order (head terms:
   * -1); on the dense path also its row/column in M.
   */
  readonly tailOffset: Int32Array;
  /** The relative covariance factors T_k(θ) of the last update. */
  readonly lambda: readonly Float64Array[];
  /**
   * The factor state's version: changes with every {@link BlockedFactor.update}
   * and {@link BlockedFactor.markStale}.
   */
  updates = 0;

  /**
   * Record that the dense tail was overwritten (the criterion's derivatives
   * invert it in place): whoever kept the factor at some θ must update it.
   */
  markStale(): void {
    this.updates++;
  }

  private readonly a: CrossProducts;
  private readonly headDiagA: readonly Float64Array[];
  private readonly headOffA: readonly (readonly Float64Array[])[];
  /** maps[i][j][mm]: position in L[i, j] hit by each block of L[i, mm]. */
  private readonly maps: readonly (readonly (readonly Int32Array[])[])[];
  private readonly coupling: readonly TailCoupling[];
  private readonly scratch: Float64Array;
  /** Per scalar head term: 1/d of each level of the last update. */
  readonly #inv: Float64Array[] = [];
  /** {@link eliminateNested}'s visiting orders, grouped by target, built on first use. */
  readonly #byTarget = new Map<number, Int32Array>();
  private readonly work: Float64Array;
  private readonly kernels: DenseKernels | undefined;
  /** Sparse path: `all` index of each coupling pair and of each entry's F rows. */
  private readonly pairTarget: readonly Int32Array[];
  private readonly fTarget: readonly Int32Array[];

  /**
   * Symbolic analysis and storage layout; no numeric factorization yet.
   * @param simd place the dense tail in WebAssembly memory and factor it with
   *   the SIMD kernels when available (same results, faster).
   * @param mode how the tail is factored ({@link TailMode}).
   */
  constructor(
    a: CrossProducts,
    terms: readonly TermInfo[],
    simd = true,
    mode: TailMode = "auto",
  ) {
    this.a = a;
    this.terms = terms;
    this.p = a.p;
    const K = terms.length;
    const patterns = symbolic(a, terms);
    const nHead = patterns.nHead;
    this.nHead = nHead;
    this.headDiag = terms.slice(0, nHead).map((t) => new Float64Array(t.nLevels * t.q * t.q));
    this.headDiagA = a.diag.slice(0, nHead);
    const headOff: BlockSparse[][] = terms.map(() => []);
    const headOffA: Float64Array[][] = terms.map(() => []);
    for (let j = 0; j < nHead; j++) {
      for (let i = j + 1; i < K; i++) {
        const pat = patterns.off[i][j];
        const vals = new Float64Array(pat.rowLevel.length * pat.qi * pat.qj);
        headOff[i][j] = { ...pat, values: vals };
        headOffA[i][j] = scatterTemplate(a.off[i][j], pat);
      }
    }
    this.headOff = headOff;
    this.headOffA = headOffA;
    this.headF = terms.slice(0, nHead).map((t) => new Float64Array((a.p + 1) * t.size));
    this.maps = updateMaps(headOff, nHead, K);

    const tailOffset = new Int32Array(K).fill(-1);
    let tz = 0;
    for (let k = nHead; k < K; k++) {
      tailOffset[k] = tz;
      tz += terms[k].size;
    }
    this.tailOffset = tailOffset;
    this.tailZ = tz;
    this.lambda = terms.map((t) => new Float64Array(t.q * t.q));
    this.coupling = terms.slice(0, nHead).map((_, mm) =>
      tailCoupling(headOff, terms, nHead, tailOffset, tz, mm)
    );
    const nf = a.p + 1;
    let cost: TailCost | undefined;
    const plan = tailPlan(a, terms, nHead, tailOffset, tz, this.coupling, mode, (c) => cost = c);
    this.tailCost = cost;
    if (plan) {
      const sp = new SparseTail(plan, tz, nf, simd);
      this.sparse = sp;
      this.denseZ = sp.denseZ;
      this.m = sp.md;
      this.tail = sp.dense;
      this.work = new Float64Array(0);
      this.kernels = undefined;
      this.pairTarget = this.coupling.map((tc) => pairTargets(tc, sp));
      this.fTarget = this.coupling.map((tc) => Int32Array.from(tc.rowIdx, (r) => sp.fIndex(r)));
    } else {
      this.sparse = undefined;
      this.denseZ = tz;
      this.m = tz + nf;
      this.pairTarget = [];
      this.fTarget = [];
      if (this.m > MAX_DENSE_TAIL) {
        throw new Error(
          `the crossed random-effects terms need a dense block of order ` +
            `${this.m} (levels of ${
              terms.slice(nHead).map((t) => t.group).join(", ")
            } plus p + 1), more than the supported ${MAX_DENSE_TAIL}`,
        );
      }
      const mm = this.m * this.m, nw = potrfWorkSize(this.m);
      // only worth it when the dense factorization is blocked (order > 64)
      const arena = simd && this.m > 64 ? simdArena(mm + nw) : undefined;
      this.tail = arena ? arena.alloc(mm) : new Float64Array(mm);
      this.work = arena ? arena.alloc(nw) : new Float64Array(nw);
      this.kernels = arena?.kernels;
    }
    const qmax = terms.reduce((s, t) => Math.max(s, t.q), 1);
    this.scratch = new Float64Array(qmax * qmax);
  }

  /**
   * Refactor L for θ. Returns -1 when L was fully formed, otherwise the tail
   * column where the dense factorization met a non-positive pivot: an X
   * column (rank-deficient X; the caller reports it) or the last one, y's
   * (an exact fit, r² ≤ 0 by rounding). Throws on a non-SPD Z block, which
   * only non-finite θ can cause.
   */
  update(theta: ArrayLike<number>): number {
    this.updates++;
    fillFactors(theta, this.terms, this.lambda);
    this.initHead();
    const sp = this.sparse;
    if (sp) this.initTailSparse(sp);
    else this.initTail();
    for (let j = 0; j < this.nHead; j++) this.eliminateHead(j);
    let info: number;
    if (sp) {
      this.updateTailSparse(sp);
      info = sp.factor();
    } else {
      this.updateTail();
      info = potrf(this.tail, this.m, 0, this.m, this.work, this.kernels);
    }
    if (info >= 0 && info < this.denseZ) {
      throw new Error(
        `random-effects block not positive definite at tail column ${info} ` +
          `(θ contains non-finite values?)`,
      );
    }
    return info;
  }

  /** Copy A's head blocks into L and scale: Tᵀ A T (+ I on the diagonal). */
  private initHead(): void {
    const { terms, p } = this;
    const nf = p + 1;
    for (let j = 0; j < this.nHead; j++) {
      const t = terms[j];
      const T = this.lambda[j];
      const q = t.q;
      const d = this.headDiag[j];
      d.set(this.headDiagA[j]);
      if (q === 1) {
        const t2 = T[0] * T[0];
        for (let l = 0; l < d.length; l++) d[l] = d[l] * t2 + 1;
      } else if (q === 2) {
        scaleInflate2(d, t.nLevels, T);
      } else {
        for (let l = 0; l < t.nLevels; l++) {
          const o = l * q * q;
          leftMulTrans(d, o, q, q, T, q);
          rightMul(d, o, q, q, T, q);
          for (let r = 0; r < q; r++) d[o + r * q + r] += 1;
        }
      }
      for (let i = j + 1; i < terms.length; i++) {
        const blk = this.headOff[i][j];
        blk.values.set(this.headOffA[i][j]);
        scaleBlocks(blk, this.lambda[i], T);
      }
      const f = this.headF[j];
      f.set(this.a.fz[j]);
      if (q === 1) {
        const s = T[0];
        if (s !== 1) { for (let r = 0; r < f.length; r++) f[r] *= s; }
      } else if (q === 2) {
        // (f0, f1) ← (f0 t00 + f1 t10, f1 t11) on each row of each level
        const t00 = T[0], t10 = T[1], t11 = T[3];
        for (let l = 0; l < t.nLevels; l++) {
          const o = 2 * l * nf;
          for (let r = 0; r < nf; r++) {
            const f0 = f[o + r], f1 = f[o + nf + r];
            f[o + r] = f0 * t00 + f1 * t10;
            f[o + nf + r] = f1 * t11;
          }
        }
      } else {
        for (let l = 0; l < t.nLevels; l++) rightMul(f, l * q * nf, nf, nf, T, q);
      }
    }
  }

  /** Σ log of L's diagonal over the tail's Z columns. */
  tailLogDet(): number {
    if (this.sparse) return this.sparse.logDetZ();
    const { tail, m } = this;
    let ld = 0;
    for (let r = 0; r < this.tailZ; r++) ld += Math.log(tail[r * m + r]);
    return ld;
  }

  /**
   * Solve L_DDᵀ [u_T; β] = c (D = tail Z columns and X, c = the X and tail
   * part of y's row of L): u_T in natural tail order (tailZ), then β (p).
   * On the dense path into `buf` (length ≥ m − 1) when given (PIRLS reuses
   * one), else a new array.
   */
  solveTail(buf?: Float64Array): Float64Array {
    if (this.sparse) return this.sparse.solveTrans();
    const { m, tail } = this;
    const xd = buf ?? new Float64Array(m - 1);
    for (let r = 0; r < m - 1; r++) xd[r] = tail[r * m + m - 1];
    trsvLowerTrans(tail, m - 1, 0, m, xd, 0);
    return xd;
  }

  /**
   * Σ_TT = (L_TT L_TTᵀ)⁻¹ over the tail's Z columns (tailZ × tailZ, both
   * triangles, natural order), formed densely.
   */
  tailCovariance(): Float64Array {
    const { tailZ, m, tail } = this;
    const invert = (w: Float64Array, n: number): Float64Array => {
      const out = new Float64Array(n * n);
      if (n === 0) return out;
      trtriLower(w, n, 0, n);
      crossprodLower(w, n, 0, n, out);
      return out;
    };
    if (this.sparse) return this.sparse.covariance(invert);
    const w = new Float64Array(tailZ * tailZ);
    for (let c = 0; c < tailZ; c++) {
      w.set(tail.subarray(c * m + c, c * m + tailZ), c * tailZ + c);
    }
    return invert(w, tailZ);
  }

  /** Sparse path: zero the tail and scatter A's tail blocks, scaled by Λ. */
  private initTailSparse(sp: SparseTail): void {
    sp.all.fill(0);
    const ff = sp.ffIndex, md = sp.md;
    this.fillTail({
      buf: sp.all,
      index: (row, col) => sp.index(row, col),
      fIndex: (zcol) => sp.fIndex(zcol),
      ffIndex: (c, r) => ff + c * md + r,
    });
  }

  /** Sparse path: tail −= Σ_{head m} L[D, m] L[D, m]ᵀ through precomputed targets. */
  private updateTailSparse(sp: SparseTail): void {
    const nf = this.p + 1;
    const { all, md } = sp;
    for (let mm = 0; mm < this.nHead; mm++) {
      const tc = this.coupling[mm];
      const fm = this.headF[mm];
      const { colPtr, srcTerm, srcIdx, val } = tc;
      for (let e = 0; e < val.length; e++) {
        val[e] = this.headOff[srcTerm[e]][mm].values[srcIdx[e]];
      }
      const pt = this.pairTarget[mm], ft = this.fTarget[mm];
      let at = 0;
      for (let k = 0; k + 1 < colPtr.length; k++) {
        const c0 = colPtr[k], c1 = colPtr[k + 1];
        const fo = k * nf;
        for (let e1 = c0; e1 < c1; e1++) {
          const v1 = val[e1];
          for (let e2 = c0; e2 <= e1; e2++) all[pt[at++]] -= v1 * val[e2];
          if (v1 === 0) continue;
          const base = ft[e1];
          for (let r = 0; r < nf; r++) all[base + r] -= fm[fo + r] * v1;
        }
      }
      syrkWideSub(all, sp.ffIndex, md, fm, nf, fm.length / nf);
    }
  }

  /** Zero M and scatter A's tail blocks into it, scaled by Λ. */
  /** Dense path: zero M's lower triangle and scatter A's tail blocks, scaled by Λ. */
  private initTail(): void {
    const { m, tail } = this;
    const tz = this.tailZ;
    // only the lower triangle is ever read (the factorizations, solves and
    // inverses are all lower): zeroing half of M saves ~40 ms per evaluation
    // at order 5,000
    for (let c = 0; c < m; c++) tail.fill(0, c * m + c, (c + 1) * m);
    this.fillTail({
      buf: tail,
      index: (row, col) => col * m + row,
      fIndex: (zcol) => zcol * m + tz,
      ffIndex: (c, r) => (tz + c) * m + tz + r,
    });
  }

  /**
   * Write the tail's part of A, scaled by Λ, where `target` says (both
   * paths: the dense M and the sparse path's storage): Tᵀ A_ll T + I per
   * level of each tail term, Tiᵀ A_ij Tj for pairs of tail terms, (FᵀZ_k) T_k,
   * and FᵀF (lower triangles).
   */
  private fillTail(target: TailTarget): void {
    const { terms, a, scratch } = this;
    const { buf } = target;
    const nf = this.p + 1;
    for (let k = this.nHead; k < terms.length; k++) {
      const t = terms[k];
      const q = t.q;
      const T = this.lambda[k];
      const o = this.tailOffset[k];
      const src = a.diag[k];
      for (let l = 0; l < t.nLevels; l++) {
        for (let r = 0; r < q * q; r++) scratch[r] = src[l * q * q + r];
        leftMulTrans(scratch, 0, q, q, T, q);
        rightMul(scratch, 0, q, q, T, q);
        const base = o + l * q;
        for (let c = 0; c < q; c++) {
          for (let r = c; r < q; r++) {
            buf[target.index(base + r, base + c)] = scratch[c * q + r] + (r === c ? 1 : 0);
          }
        }
      }
      for (let j = this.nHead; j < k; j++) {
        const { qi, qj, colPtr, rowLevel, values } = a.off[k][j];
        const Tj = this.lambda[j];
        const oj = this.tailOffset[j];
        const bs = qi * qj;
        for (let b = 0; b + 1 < colPtr.length; b++) {
          for (let pos = colPtr[b]; pos < colPtr[b + 1]; pos++) {
            for (let r = 0; r < bs; r++) scratch[r] = values[pos * bs + r];
            leftMulTrans(scratch, 0, qi, qj, T, qi);
            rightMul(scratch, 0, qi, qi, Tj, qj);
            const row = o + rowLevel[pos] * qi;
            for (let c = 0; c < qj; c++) {
              for (let r = 0; r < qi; r++) {
                buf[target.index(row + r, oj + b * qj + c)] = scratch[c * qi + r];
              }
            }
          }
        }
      }
      // F rows: (FᵀZ_k) T_k
      const fz = a.fz[k];
      for (let l = 0; l < t.nLevels; l++) {
        for (let c = 0; c < q; c++) {
          const dst = target.fIndex(o + l * q + c);
          for (let r = 0; r < nf; r++) {
            let s = 0;
            for (let h = c; h < q; h++) s += fz[(l * q + h) * nf + r] * T[c * q + h];
            buf[dst + r] = s;
          }
        }
      }
    }
    for (let c = 0; c < nf; c++) {
      for (let r = c; r < nf; r++) buf[target.ffIndex(c, r)] = a.ff[c * nf + r];
    }
  }

  /**
   * Left-looking step for head term j: subtract the contributions of earlier
   * head terms from block column j, factor its diagonal blocks and solve the
   * blocks below them.
   */
  private eliminateHead(j: number): void {
    const { terms } = this;
    const K = terms.length;
    const nf = this.p + 1;
    const qj = terms[j].q;
    const d = this.headDiag[j];
    const fj = this.headF[j];
    for (let mm = 0; mm < j; mm++) {
      const qm = terms[mm].q;
      const y = this.headOff[j][mm];
      const fm = this.headF[mm];
      if (qj === 1 && qm === 1) {
        this.eliminateNested(j, mm);
        continue;
      }
      for (let c = 0; c < terms[mm].nLevels; c++) {
        // at most one block per column (that is what makes j a head term);
        // none only for a level of term mm without observations
        const py = y.colPtr[c];
        if (y.colPtr[c + 1] === py) continue;
        const b = y.rowLevel[py];
        const yo = py * qj * qm;
        syrkSmallSub(d, b * qj * qj, qj, y.values, yo, qj, qj, qm);
        for (let i = j + 1; i < K; i++) {
          const x = this.headOff[i][mm];
          const tgt = this.headOff[i][j];
          const map = this.maps[i][j][mm];
          const qi = terms[i].q;
          for (let px = x.colPtr[c]; px < x.colPtr[c + 1]; px++) {
            gemmNTSub(
              tgt.values,
              map[px] * qi * qj,
              qi,
              x.values,
              px * qi * qm,
              qi,
              y.values,
              yo,
              qj,
              qi,
              qj,
              qm,
            );
          }
        }
        gemmNTSub(fj, b * qj * nf, nf, fm, c * qm * nf, nf, y.values, yo, qj, nf, qj, qm);
      }
    }
    this.factorHeadDiag(j);
    if (qj === 1) {
      // 1/d once per level: the blocks below and the F rows are scaled by it
      const inv = this.#inv[j] ??= new Float64Array(terms[j].nLevels);
      for (let b = 0; b < inv.length; b++) inv[b] = 1 / d[b];
      for (let i = j + 1; i < K; i++) solveBlocksScalar(this.headOff[i][j], inv);
      if (nf === 1) {
        for (let b = 0; b < inv.length; b++) fj[b] *= inv[b];
      } else {
        for (let b = 0; b < inv.length; b++) {
          const v = inv[b];
          for (let r = 0; r < nf; r++) fj[b * nf + r] *= v;
        }
      }
      return;
    }
    for (let i = j + 1; i < K; i++) solveBlocks(this.headOff[i][j], d);
    if (qj === 2) {
      for (let b = 0; b < terms[j].nLevels; b++) {
        const l00 = d[4 * b], l10 = d[4 * b + 1], l11 = d[4 * b + 3];
        const o = 2 * b * nf;
        for (let r = 0; r < nf; r++) {
          const x0 = fj[o + r] / l00;
          fj[o + r] = x0;
          fj[o + nf + r] = (fj[o + nf + r] - x0 * l10) / l11;
        }
      }
    } else {
      for (let b = 0; b < terms[j].nLevels; b++) {
        trsmRightLowerTrans(fj, nf, qj, b * qj * nf, nf, d, b * qj * qj, qj);
      }
    }
  }

  /**
   * Scalar head term mm eliminated from scalar head term j (nested random
   * intercepts): each level c of mm has at most one entry g of L[j, mm]
   * (level b of j; none for a level without observations), and its
   * products are subtracted from b's diagonal, the blocks below and b's F
   * rows, bitwise what syrkSmallSub / gemmNTSub do for 1 × 1 blocks (a
   * zero g subtracts nothing, as they skip it). Each target takes its
   * levels c in ascending order, but the levels are visited grouped by
   * target (a stable order, built once), so a target's value is carried in
   * a variable through all its levels: the same subtractions in the same
   * order, without a call, lookups and scattered loads and stores per level.
   */
  private eliminateNested(j: number, mm: number): void {
    const { terms } = this;
    const nf = this.p + 1;
    const y = this.headOff[j][mm];
    const ycp = y.colPtr, yrl = y.rowLevel, yv = y.values;
    const dj = this.headDiag[j];
    const fj = this.headF[j], fm = this.headF[mm];
    const K = terms.length, nc = terms[mm].nLevels;
    const key = j * K + mm;
    let ord = this.#byTarget.get(key);
    if (!ord) {
      // the levels c of mm with an entry, by their level b of j
      const colKey = Int32Array.from(
        { length: nc },
        (_, c) => (ycp[c + 1] > ycp[c] ? yrl[ycp[c]] : -1),
      );
      this.#byTarget.set(key, ord = stableOrder(colKey, terms[j].nLevels));
    }
    let cur = -1, acc = 0, accF = 0;
    for (let t = 0; t < ord.length; t++) {
      const c = ord[t], py = ycp[c];
      const g = yv[py];
      if (g === 0) continue;
      const b = yrl[py];
      if (b !== cur) {
        if (cur >= 0) {
          dj[cur] = acc;
          if (nf === 1) fj[cur] = accF;
        }
        cur = b;
        acc = dj[b];
        accF = nf === 1 ? fj[b] : 0;
      }
      acc -= g * g;
      if (nf === 1) accF -= fm[c] * g;
      else {
        const bo = b * nf, co = c * nf;
        for (let r = 0; r < nf; r++) fj[bo + r] -= fm[co + r] * g;
      }
    }
    if (cur >= 0) {
      dj[cur] = acc;
      if (nf === 1) fj[cur] = accF;
    }
    for (let i = j + 1; i < terms.length; i++) {
      const x = this.headOff[i][mm];
      const xcp = x.colPtr, xv = x.values;
      const tgt = this.headOff[i][j].values;
      const map = this.maps[i][j][mm];
      const qi = terms[i].q;
      if (qi === 1 && oneEach(xcp)) {
        // block c of column c, target map[c]: grouped by target
        const k2 = ((i + 1) * K + j) * K + mm;
        let ot = this.#byTarget.get(k2);
        if (!ot) this.#byTarget.set(k2, ot = stableOrder(map, tgt.length));
        cur = -1;
        for (let t = 0; t < ot.length; t++) {
          const c = ot[t], py = ycp[c];
          if (ycp[c + 1] === py) continue;
          const g = yv[py];
          if (g === 0) continue;
          const tt = map[c];
          if (tt !== cur) {
            if (cur >= 0) tgt[cur] = acc;
            cur = tt;
            acc = tgt[tt];
          }
          acc -= xv[c] * g;
        }
        if (cur >= 0) tgt[cur] = acc;
        continue;
      }
      for (let c = 0; c < nc; c++) {
        const py = ycp[c];
        if (ycp[c + 1] === py) continue;
        const g = yv[py];
        if (g === 0) continue;
        for (let px = xcp[c]; px < xcp[c + 1]; px++) {
          const o = map[px] * qi, xo = px * qi;
          for (let r = 0; r < qi; r++) tgt[o + r] -= xv[xo + r] * g;
        }
      }
    }
  }

  /**
   * {@link updateTail}'s Z part when every column of L[T, m] has every tail
   * row (fully crossed factors; entry r of column k at colPtr[k] + r): two
   * columns j, j + 1 of M at a time, four columns k at a time, so that each
   * loaded value of L serves two columns of M. Every entry of M still
   * subtracts its products one column k after the other in ascending order;
   * a group is used only when its eight multipliers are non-zero (a zero
   * one subtracts nothing in the column-at-a-time loop), else the columns k
   * one at a time. Also M's F rows of those columns.
   */
  private updateTailFull(val: Float64Array, fm: Float64Array, colPtr: Int32Array): void {
    const { m, tail, tailZ } = this;
    const nf = this.p + 1;
    const nCols = colPtr.length - 1;
    // column k alone into column j of M (rows j …), skipped when its multiplier is 0
    const one = (k: number, j: number) => {
      const c0 = colPtr[k];
      const g = val[c0 + j];
      if (g === 0) return;
      const cj = j * m;
      for (let r = j; r < tailZ; r++) tail[cj + r] -= val[c0 + r] * g;
      const fc = cj + tailZ, fo = k * nf;
      for (let a = 0; a < nf; a++) tail[fc + a] -= fm[fo + a] * g;
    };
    let j = 0;
    for (; j + 1 < tailZ; j += 2) {
      const cA = j * m, cB = cA + m;
      let k = 0;
      while (k < nCols) {
        if (k + 3 < nCols) {
          const n0 = colPtr[k], n1 = colPtr[k + 1], n2 = colPtr[k + 2], n3 = colPtr[k + 3];
          const a0 = val[n0 + j], a1 = val[n1 + j], a2 = val[n2 + j], a3 = val[n3 + j];
          const b0 = val[n0 + j + 1], b1 = val[n1 + j + 1], b2 = val[n2 + j + 1];
          const b3 = val[n3 + j + 1];
          if (
            a0 !== 0 && a1 !== 0 && a2 !== 0 && a3 !== 0 &&
            b0 !== 0 && b1 !== 0 && b2 !== 0 && b3 !== 0
          ) {
            // row j of column j (column j + 1 starts at row j + 1)
            let t = tail[cA + j];
            t -= a0 * a0;
            t -= a1 * a1;
            t -= a2 * a2;
            t -= a3 * a3;
            tail[cA + j] = t;
            for (let r = j + 1; r < tailZ; r++) {
              const v0 = val[n0 + r], v1 = val[n1 + r], v2 = val[n2 + r], v3 = val[n3 + r];
              let x = tail[cA + r];
              x -= v0 * a0;
              x -= v1 * a1;
              x -= v2 * a2;
              x -= v3 * a3;
              tail[cA + r] = x;
              let y = tail[cB + r];
              y -= v0 * b0;
              y -= v1 * b1;
              y -= v2 * b2;
              y -= v3 * b3;
              tail[cB + r] = y;
            }
            const fA = cA + tailZ, fB = cB + tailZ;
            const f0 = k * nf, f1 = f0 + nf, f2 = f1 + nf, f3 = f2 + nf;
            for (let a = 0; a < nf; a++) {
              const u0 = fm[f0 + a], u1 = fm[f1 + a], u2 = fm[f2 + a], u3 = fm[f3 + a];
              let x = tail[fA + a];
              x -= u0 * a0;
              x -= u1 * a1;
              x -= u2 * a2;
              x -= u3 * a3;
              tail[fA + a] = x;
              let y = tail[fB + a];
              y -= u0 * b0;
              y -= u1 * b1;
              y -= u2 * b2;
              y -= u3 * b3;
              tail[fB + a] = y;
            }
            k += 4;
            continue;
          }
        }
        one(k, j);
        one(k, j + 1);
        k++;
      }
    }
    for (; j < tailZ; j++) for (let k = 0; k < nCols; k++) one(k, j);
  }

  /** Factor head term j's diagonal blocks in place (one q × q per level). */
  private factorHeadDiag(j: number): void {
    const t = this.terms[j];
    const d = this.headDiag[j];
    const q = t.q;
    if (q === 1) {
      for (let l = 0; l < t.nLevels; l++) d[l] = Math.sqrt(d[l]);
      return;
    }
    for (let l = 0; l < t.nLevels; l++) {
      if ((q === 2 ? chol2(d, 4 * l) : potf2(d, q, l * q * q, q)) >= 0) {
        throw new Error(
          `random-effects block for ${t.group} level ${
            t.term.levels[l]
          } not positive definite (θ contains non-finite values?)`,
        );
      }
    }
  }

  /**
   * L[T, m]'s values in the coupling's entry order: the head block's own
   * values when they are in that order already (one tail term), else
   * gathered into `tc.val`.
   */
  private couplingValues(tc: TailCoupling, mm: number): Float64Array {
    if (tc.direct >= 0) return this.headOff[tc.direct][mm].values;
    const { srcTerm, srcIdx, val } = tc;
    const src = this.headOff.map((row) => row[mm]?.values);
    for (let e = 0; e < val.length; e++) val[e] = src[srcTerm[e]]![srcIdx[e]];
    return val;
  }

  /**
   * M ← M − Σ_{head m} L[D, m] L[D, m]ᵀ (D = tail terms ∪ F). L[T, m] (the
   * tail rows) is gathered into scalar compressed columns, then M is updated
   * one column j at a time from the entries of row j, so the writes of each
   * step stay inside one column of M (the scattered alternative is ~3× slower
   * on an InstEval-size tail). The F rows are read in place.
   */
  private updateTail(): void {
    const { m, tail, tailZ } = this;
    const nf = this.p + 1;
    for (let mm = 0; mm < this.nHead; mm++) {
      const tc = this.coupling[mm];
      const fm = this.headF[mm];
      const { colPtr, rowIdx, colOf, rowPtr, rowEnt, contiguous, full } = tc;
      const val = this.couplingValues(tc, mm);
      if (tc.allFull) {
        this.updateTailFull(val, fm, colPtr);
        syrkWideSub(tail, tailZ * m + tailZ, m, fm, nf, fm.length / nf);
        continue;
      }
      for (let j = 0; j < tailZ; j++) {
        const colM = j * m;
        const fc = colM + tailZ;
        for (let p = rowPtr[j]; p < rowPtr[j + 1]; p++) {
          const e0 = rowEnt[p];
          const g = val[e0];
          if (g === 0) continue;
          const k = colOf[e0];
          if (full[k] && p + 3 < rowPtr[j + 1]) {
            // four columns with every tail row at once (fully crossed
            // factors): each entry of M still takes their four products in
            // column order, loaded and stored once (when all four apply)
            const e1 = rowEnt[p + 1], e2 = rowEnt[p + 2], e3 = rowEnt[p + 3];
            const g1 = val[e1], g2 = val[e2], g3 = val[e3];
            const k1 = colOf[e1], k2 = colOf[e2], k3 = colOf[e3];
            if (full[k1] && full[k2] && full[k3] && g1 !== 0 && g2 !== 0 && g3 !== 0) {
              // a full column's entry of row r is at colPtr + r
              const n0 = colPtr[k], n1 = colPtr[k1], n2 = colPtr[k2], n3 = colPtr[k3];
              for (let r = j; r < tailZ; r++) {
                let t = tail[colM + r];
                t -= val[n0 + r] * g;
                t -= val[n1 + r] * g1;
                t -= val[n2 + r] * g2;
                t -= val[n3 + r] * g3;
                tail[colM + r] = t;
              }
              const f0 = k * nf, f1 = k1 * nf, f2 = k2 * nf, f3 = k3 * nf;
              for (let a = 0; a < nf; a++) {
                let t = tail[fc + a];
                t -= fm[f0 + a] * g;
                t -= fm[f1 + a] * g1;
                t -= fm[f2 + a] * g2;
                t -= fm[f3 + a] * g3;
                tail[fc + a] = t;
              }
              p += 3;
              continue;
            }
          }
          // rows of column k are ascending, so entries from e0 on are ≥ j
          const end = colPtr[k + 1];
          if (contiguous[k]) {
            // rows j, j + 1, …: the same subtractions without the row index
            const o = colM + j - e0;
            for (let e = e0; e < end; e++) tail[o + e] -= val[e] * g;
          } else {
            for (let e = e0; e < end; e++) tail[colM + rowIdx[e]] -= val[e] * g;
          }
          const fo = k * nf;
          for (let a = 0; a < nf; a++) tail[fc + a] -= fm[fo + a] * g;
        }
      }
      // F rows × F rows: M_FF −= L[F, m] L[F, m]ᵀ
      syrkWideSub(tail, tailZ * m + tailZ, m, fm, nf, fm.length / nf);
    }
  }
}

/** Where {@link BlockedFactor}'s tail entries go: the dense M or the sparse path's storage. */
interface TailTarget {
  readonly buf: Float64Array;
  /** Position of tail entry (row, col), row ≥ col (Z columns in natural tail order). */
  index(row: number, col: number): number;
  /** Position of the first F row of Z column `zcol` (the p + 1 rows follow). */
  fIndex(zcol: number): number;
  /** Position of FᵀF's entry (r, c), r ≥ c. */
  ffIndex(c: number, r: number): number;
}

/**
 * L[T, m] for one head term m in scalar compressed-column form (column
 * k = level·q_m + h, rows = tail scalar rows, ascending) plus its row-wise
 * index, built once; `val` is refilled from the head blocks each update.
 */
export interface TailCoupling {
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
  /** Column of each entry. */
  readonly colOf: Int32Array;
  /** Row-wise index: entries of tail row j are `rowEnt[rowPtr[j] .. rowPtr[j+1]-1]`. */
  readonly rowPtr: Int32Array;
  readonly rowEnt: Int32Array;
  /** Source of each entry: head block L[srcTerm, m], value index srcIdx. */
  readonly srcTerm: Int32Array;
  readonly srcIdx: Int32Array;
  readonly val: Float64Array;
  /** Per column: 1 when its rows are consecutive (no gaps), as for fully crossed factors. */
  readonly contiguous: Uint8Array;
  /** Per column: 1 when it has every tail row (0 … tailZ − 1). */
  readonly full: Uint8Array;
  /** Every column has every tail row. */
  readonly allFull: boolean;
  /**
   * The tail term whose head block L[t, m] holds exactly `val`'s entries in
   * order (srcTerm ≡ t, srcIdx[e] = e), or -1.
   */
  readonly direct: number;
}

function tailCoupling(
  off: BlockSparse[][],
  terms: readonly TermInfo[],
  nHead: number,
  tailOffset: Int32Array,
  tailZ: number,
  mm: number,
): TailCoupling {
  const qm = terms[mm].q;
  const nCols = terms[mm].nLevels * qm;
  const colPtr = new Int32Array(nCols + 1);
  for (let c = 0; c < terms[mm].nLevels; c++) {
    let r = 0;
    for (let t = nHead; t < terms.length; t++) {
      const x = off[t][mm];
      r += (x.colPtr[c + 1] - x.colPtr[c]) * terms[t].q;
    }
    for (let h = 0; h < qm; h++) colPtr[c * qm + h + 1] = r;
  }
  for (let k = 0; k < nCols; k++) colPtr[k + 1] += colPtr[k];
  const nnz = colPtr[nCols];
  const rowIdx = new Int32Array(nnz), colOf = new Int32Array(nnz);
  const srcTerm = new Int32Array(nnz), srcIdx = new Int32Array(nnz);
  for (let c = 0; c < terms[mm].nLevels; c++) {
    for (let h = 0; h < qm; h++) {
      const k = c * qm + h;
      let e = colPtr[k];
      for (let t = nHead; t < terms.length; t++) {
        const x = off[t][mm];
        const qt = terms[t].q;
        for (let px = x.colPtr[c]; px < x.colPtr[c + 1]; px++) {
          for (let rr = 0; rr < qt; rr++) {
            rowIdx[e] = tailOffset[t] + x.rowLevel[px] * qt + rr;
            colOf[e] = k;
            srcTerm[e] = t;
            srcIdx[e] = px * qt * qm + h * qt + rr;
            e++;
          }
        }
      }
    }
  }
  const rowPtr = new Int32Array(tailZ + 1);
  for (let e = 0; e < nnz; e++) rowPtr[rowIdx[e] + 1]++;
  for (let j = 0; j < tailZ; j++) rowPtr[j + 1] += rowPtr[j];
  const next = rowPtr.slice(0, tailZ);
  const rowEnt = new Int32Array(nnz);
  for (let e = 0; e < nnz; e++) rowEnt[next[rowIdx[e]]++] = e;
  const contiguous = new Uint8Array(nCols), full = new Uint8Array(nCols);
  for (let k = 0; k < nCols; k++) {
    const c0 = colPtr[k], c1 = colPtr[k + 1];
    contiguous[k] = c1 === c0 || rowIdx[c1 - 1] - rowIdx[c0] === c1 - 1 - c0 ? 1 : 0;
    full[k] = c1 - c0 === tailZ && contiguous[k] && tailZ > 0 ? 1 : 0;
  }
  let direct = nnz > 0 ? srcTerm[0] : -1;
  for (let e = 0; e < nnz && direct >= 0; e++) {
    if (srcTerm[e] !== direct || srcIdx[e] !== e) direct = -1;
  }
  if (direct >= 0 && off[direct][mm].values.length !== nnz) direct = -1;
  return {
    colPtr,
    rowIdx,
    colOf,
    rowPtr,
    rowEnt,
    srcTerm,
    srcIdx,
    val: new Float64Array(nnz),
    contiguous,
    full,
    allFull: nCols > 0 && full.every((v) => v === 1),
    direct,
  };
}

/**
 * Tᵀ B T + I in place for every 2 × 2 block (q = 2 is the common random-slope
 * case, worth a closed form: the generic path costs several calls per level).
 */
function scaleInflate2(d: Float64Array, nLevels: number, T: Float64Array): void {
  const t00 = T[0], t10 = T[1], t11 = T[3];
  for (let l = 0; l < nLevels; l++) {
    const o = 4 * l;
    const b00 = d[o], b10 = d[o + 1], b11 = d[o + 3];
    const u = b10 * t00 + b11 * t10; // (B T)[1, 0]
    const c10 = t11 * u;
    d[o] = t00 * (b00 * t00 + b10 * t10) + t10 * u + 1;
    d[o + 1] = c10;
    d[o + 2] = c10;
    d[o + 3] = t11 * t11 * b11 + 1;
  }
}

/** Lower Cholesky of the 2 × 2 block at `o`; -1, or the failing pivot index. */
function chol2(d: Float64Array, o: number): number {
  const a00 = d[o];
  if (!(a00 > 0)) return 0;
  const l00 = Math.sqrt(a00);
  const l10 = d[o + 1] / l00;
  const s = d[o + 3] - l10 * l10;
  if (!(s > 0)) return 1;
  d[o] = l00;
  d[o + 1] = l10;
  d[o + 3] = Math.sqrt(s);
  return -1;
}

/** Scale every block of a sparse block matrix in place: B ← Tiᵀ B Tj. */
function scaleBlocks(blk: BlockSparse, Ti: Float64Array, Tj: Float64Array): void {
  const { qi, qj, values } = blk;
  if (qi === 1 && qj === 1) {
    const s = Ti[0] * Tj[0];
    if (s !== 1) { for (let r = 0; r < values.length; r++) values[r] *= s; }
    return;
  }
  const bs = qi * qj;
  const nb = values.length / bs;
  for (let pos = 0; pos < nb; pos++) {
    leftMulTrans(values, pos * bs, qi, qj, Ti, qi);
    rightMul(values, pos * bs, qi, qi, Tj, qj);
  }
}

/** X ← X L_bb⁻ᵀ for every block (a, b) of a head block column. */
/** {@link solveBlocks} for a scalar column term, with 1/d of each level given. */
function solveBlocksScalar(blk: BlockSparse, inv: Float64Array): void {
  const { qi, colPtr, values } = blk;
  const nCols = colPtr.length - 1;
  if (qi === 1 && oneEach(colPtr)) {
    for (let b = 0; b < nCols; b++) values[b] *= inv[b];
    return;
  }
  for (let b = 0; b < nCols; b++) {
    const v = inv[b];
    for (let r = colPtr[b] * qi; r < colPtr[b + 1] * qi; r++) values[r] *= v;
  }
}

function solveBlocks(blk: BlockSparse, d: Float64Array): void {
  const { qi, qj, colPtr, values } = blk;
  const bs = qi * qj;
  const nCols = colPtr.length - 1;
  if (qj === 1 && qi === 1 && oneEach(colPtr)) {
    // the loop below with its one value per column
    for (let b = 0; b < nCols; b++) values[b] *= 1 / d[b];
    return;
  }
  if (qj === 1) {
    for (let b = 0; b < nCols; b++) {
      const inv = 1 / d[b];
      for (let r = colPtr[b] * qi; r < colPtr[b + 1] * qi; r++) values[r] *= inv;
    }
    return;
  }
  for (let b = 0; b < nCols; b++) {
    for (let pos = colPtr[b]; pos < colPtr[b + 1]; pos++) {
      trsmRightLowerTrans(values, qi, qj, pos * bs, qi, d, b * qj * qj, qj);
    }
  }
}

/** Sparsity patterns of L's head block columns and the number of head terms. */
interface Symbolic {
  readonly nHead: number;
  /** off[i][j] for j < nHead, i > j: pattern (values unused, length 0). */
  readonly off: readonly (readonly BlockSparse[])[];
}

/**
 * Decide the head and the patterns of its blocks. For head term j and i > j,
 * pattern(L[i, j]) = pattern(A[i, j]) ∪ ⋃_{m<j} pattern(L[i, m] L[j, m]ᵀ);
 * since each column c of L[j, m] holds a single block (row b), the product
 * adds the rows of column c of L[i, m] to column b.
 */
function symbolic(a: CrossProducts, terms: readonly TermInfo[]): Symbolic {
  const K = terms.length;
  const off: BlockSparse[][] = terms.map(() => []);
  let nHead = K;
  for (let j = 0; j < K; j++) {
    let head = true;
    for (let mm = 0; mm < j && head; mm++) head = atMostOneBlockPerColumn(off[j][mm]);
    if (!head) {
      nHead = j;
      break;
    }
    for (let i = j + 1; i < K; i++) {
      off[i][j] = j === 0 ? patternOf(a.off[i][j]) : fillPattern(a, off, i, j, terms);
    }
  }
  return { nHead, off };
}

function atMostOneBlockPerColumn(p: BlockSparse): boolean {
  for (let c = 0; c + 1 < p.colPtr.length; c++) {
    if (p.colPtr[c + 1] - p.colPtr[c] > 1) return false;
  }
  return true;
}

function patternOf(b: BlockSparse): BlockSparse {
  return {
    qi: b.qi,
    qj: b.qj,
    colPtr: b.colPtr,
    rowLevel: b.rowLevel,
    values: new Float64Array(0),
  };
}

function fillPattern(
  a: CrossProducts,
  off: BlockSparse[][],
  i: number,
  j: number,
  terms: readonly TermInfo[],
): BlockSparse {
  const base = a.off[i][j];
  // Data never produce fill here: an observation with level c of term mm has
  // level b of j (the only one c meets) and its level a of i, so (a, b) is
  // already in A[i, j]. Check that cheaply; build the union only otherwise.
  if (!fillNeeded(base, off, i, j, terms)) return patternOf(base);
  const cols: Set<number>[] = [];
  const nCols = terms[j].nLevels;
  for (let b = 0; b < nCols; b++) {
    cols.push(new Set(base.rowLevel.subarray(base.colPtr[b], base.colPtr[b + 1])));
  }
  for (let mm = 0; mm < j; mm++) {
    const pim = off[i][mm], pjm = off[j][mm];
    for (let c = 0; c < terms[mm].nLevels; c++) {
      if (pjm.colPtr[c + 1] === pjm.colPtr[c]) continue; // unobserved level
      const b = pjm.rowLevel[pjm.colPtr[c]];
      for (let px = pim.colPtr[c]; px < pim.colPtr[c + 1]; px++) cols[b].add(pim.rowLevel[px]);
    }
  }
  const colPtr = new Int32Array(nCols + 1);
  for (let b = 0; b < nCols; b++) colPtr[b + 1] = colPtr[b] + cols[b].size;
  const rowLevel = new Int32Array(colPtr[nCols]);
  for (let b = 0; b < nCols; b++) {
    const rows = Int32Array.from(cols[b]).sort();
    rowLevel.set(rows, colPtr[b]);
  }
  return { qi: base.qi, qj: base.qj, colPtr, rowLevel, values: new Float64Array(0) };
}

/** Whether some L[i, mm] L[j, mm]ᵀ (mm < j) reaches outside A[i, j]'s pattern. */
function fillNeeded(
  base: BlockSparse,
  off: BlockSparse[][],
  i: number,
  j: number,
  terms: readonly TermInfo[],
): boolean {
  for (let mm = 0; mm < j; mm++) {
    const pim = off[i][mm], pjm = off[j][mm];
    for (let c = 0; c < terms[mm].nLevels; c++) {
      if (pjm.colPtr[c + 1] === pjm.colPtr[c]) continue;
      const b = pjm.rowLevel[pjm.colPtr[c]];
      for (let px = pim.colPtr[c]; px < pim.colPtr[c + 1]; px++) {
        if (findBlock(base, b, pim.rowLevel[px]) < 0) return true;
      }
    }
  }
  return false;
}

/** Position of row level a in column b of a block pattern (binary search), or -1. */
export function findBlock(p: BlockSparse, b: number, a: number): number {
  let lo = p.colPtr[b], hi = p.colPtr[b + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = p.rowLevel[mid];
    if (v === a) return mid;
    if (v < a) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A's values laid out in L's (possibly larger) pattern, fill entries 0. */
function scatterTemplate(src: BlockSparse, pat: BlockSparse): Float64Array {
  if (src.rowLevel === pat.rowLevel) return src.values;
  const bs = src.qi * src.qj;
  const out = new Float64Array(pat.rowLevel.length * bs);
  for (let b = 0; b + 1 < src.colPtr.length; b++) {
    for (let pos = src.colPtr[b]; pos < src.colPtr[b + 1]; pos++) {
      const to = findBlock(pat, b, src.rowLevel[pos]);
      out.set(src.values.subarray(pos * bs, pos * bs + bs), to * bs);
    }
  }
  return out;
}

/** For mm < j < nHead and i > j: where each block of L[i, mm] lands in L[i, j]. */
function updateMaps(
  off: BlockSparse[][],
  nHead: number,
  K: number,
): Int32Array[][][] {
  const maps: Int32Array[][][] = [];
  for (let i = 0; i < K; i++) {
    maps.push([]);
    for (let j = 0; j < Math.min(i, nHead); j++) {
      maps[i].push([]);
      for (let mm = 0; mm < j; mm++) {
        const x = off[i][mm], y = off[j][mm], tgt = off[i][j];
        const map = new Int32Array(x.rowLevel.length);
        for (let c = 0; c + 1 < x.colPtr.length; c++) {
          if (y.colPtr[c + 1] === y.colPtr[c]) continue; // unobserved level
          const b = y.rowLevel[y.colPtr[c]];
          for (let px = x.colPtr[c]; px < x.colPtr[c + 1]; px++) {
            map[px] = findBlock(tgt, b, x.rowLevel[px]);
          }
        }
        maps[i][j].push(map);
      }
    }
  }
  return maps;
}

/** `all` index of every pair (e1 ≥ e2) of entries within each coupling column. */
function pairTargets(tc: TailCoupling, sp: SparseTail): Int32Array {
  const { colPtr, rowIdx } = tc;
  let n = 0;
  for (let k = 0; k + 1 < colPtr.length; k++) {
    const c = colPtr[k + 1] - colPtr[k];
    n += (c * (c + 1)) / 2;
  }
  const out = new Int32Array(n);
  let at = 0;
  for (let k = 0; k + 1 < colPtr.length; k++) {
    for (let e1 = colPtr[k]; e1 < colPtr[k + 1]; e1++) {
      for (let e2 = colPtr[k]; e2 <= e1; e2++) out[at++] = sp.index(rowIdx[e1], rowIdx[e2]);
    }
  }
  return out;
}

/** Estimated work of a tail plan, in dense-flop units. */
export interface TailCost {
  /** The dense path: m³/3. */
  readonly dense: number;
  /**
   * The sparse path: SPARSE_FLOP_COST · Σ (column count + p + 1)² + md³/3
   * (the sparse flops counted 3× dearer when the native LAPACK does the dense ones).
   */
  readonly sparse: number;
  /** Order of the sparse path's dense block. */
  readonly denseOrder: number;
}

/**
 * The symbolic analysis of the tail: its graph after the head is eliminated
 * (A's tail blocks ∪ the fill from the head), a minimum-degree ordering, and
 * the choice of path. Returns the elimination order when the sparse path is
 * taken, else undefined. Deterministic (flop counts, not timings).
 */
export function tailPlan(
  a: CrossProducts,
  terms: readonly TermInfo[],
  nHead: number,
  tailOffset: Int32Array,
  tz: number,
  coupling: readonly TailCoupling[],
  mode: TailMode,
  cost?: (c: TailCost) => void,
): EliminationOrder | undefined {
  if (mode === "dense" || tz === 0 || tz > MAX_SPARSE_ANALYSIS) return undefined;
  const g = new BitGraph(tz);
  const K = terms.length;
  for (let k = nHead; k < K; k++) {
    const q = terms[k].q, o = tailOffset[k];
    if (q > 1) {
      for (let l = 0; l < terms[k].nLevels; l++) {
        for (let c = 0; c < q; c++) {
          for (let r = c + 1; r < q; r++) g.add(o + l * q + r, o + l * q + c);
        }
      }
    }
    for (let j = nHead; j < k; j++) {
      const { qi, qj, colPtr, rowLevel } = a.off[k][j];
      const oj = tailOffset[j];
      for (let b = 0; b + 1 < colPtr.length; b++) {
        for (let pos = colPtr[b]; pos < colPtr[b + 1]; pos++) {
          for (let c = 0; c < qj; c++) {
            for (let r = 0; r < qi; r++) g.add(o + rowLevel[pos] * qi + r, oj + b * qj + c);
          }
        }
      }
    }
  }
  for (const tc of coupling) {
    const { colPtr, rowIdx } = tc;
    for (let k = 0; k + 1 < colPtr.length; k++) {
      for (let e1 = colPtr[k]; e1 < colPtr[k + 1]; e1++) {
        for (let e2 = colPtr[k]; e2 < e1; e2++) g.add(rowIdx[e1], rowIdx[e2]);
      }
    }
  }
  const order = minimumDegreeOrder(
    g,
    mode === "sparse" ? () => false : (deg, left) => deg >= DENSE_FRACTION * left,
  );
  const nf = a.p + 1;
  let sparseFlops = 0;
  for (let j = 0; j < order.nSparse; j++) {
    const c = order.colPtr[j + 1] - order.colPtr[j] + nf;
    sparseFlops += c * c;
  }
  const md = tz - order.nSparse + nf;
  // the native LAPACK (when loaded) makes a dense flop ~3× cheaper, a sparse one not
  const sparseCost = SPARSE_FLOP_COST * (nativeLapack() ? NATIVE_DENSE_SPEEDUP : 1);
  const c: TailCost = {
    dense: (tz + nf) ** 3 / 3,
    sparse: sparseCost * sparseFlops + md ** 3 / 3,
    denseOrder: md,
  };
  cost?.(c);
  if (mode === "sparse") return order;
  if (order.nSparse === 0 || md > MAX_DENSE_TAIL) return undefined;
  // a clear margin: near a tie the dense path's kernels are the better bet
  if (tz + nf <= MAX_DENSE_TAIL && !(c.sparse < SPARSE_MARGIN * c.dense)) return undefined;
  return order;
}
