/**
 * The weighted penalized least-squares system of one PIRLS step, built
 * once per model: lmer's blocked cross-products of [Z X y] with row
 * weights, A(w) = [Z X y]ᵀ W [Z X y], and lmer's blocked Cholesky factor
 * over them. The block structure (which levels meet, the factor's symbolic
 * analysis and tail plan) does not depend on the weights, so each PIRLS
 * step only refills A's numbers from the rows (one O(n (p + q)²) pass, no
 * allocation) and refactors for θ.
 * @module
 */

import type { FixedDesign } from "../../design/reterm.ts";
import { BlockedFactor, findBlock, oneEach } from "../lmer/cholesky.ts";
import { type CrossProducts, crossProducts } from "../lmer/crossprod.ts";
import { checkFixedRank, devianceParts, logDetL } from "../lmer/deviance.ts";
import { backSubstitute, scaleByLambda, solve } from "../lmer/solution.ts";
import type { TermInfo } from "../lmer/structure.ts";
import { trsvLowerTrans } from "../../linalg/triangular.ts";

/** What one weighted solve gives PIRLS (log|ΛᵀZᵀWZΛ + I| is {@link WeightedSystem.logDet}). */
export interface WeightedSolution {
  /** Spherical random effects u (Z order). */
  readonly u: Float64Array;
  /** b = Λu. */
  readonly b: Float64Array;
  /** β (length p; empty for a system without X). */
  readonly beta: Float64Array;
  /** diag((R_XᵀR_X)⁻¹) (length p). */
  readonly unscDiag: Float64Array;
}

/**
 * A reusable weighted system for a fixed design (X, possibly with no
 * columns, and the random-effects terms in lme4's order).
 */
export class WeightedSystem {
  /** The blocked factor (its cross-products are refilled in place). */
  readonly factor: BlockedFactor;
  private readonly a: CrossProducts;
  private readonly x: FixedDesign;
  private readonly terms: readonly TermInfo[];
  /** pos[i][j][r]: block of observation r in A's off-diagonal block (i, j), i > j. */
  private readonly pos: Int32Array[][];
  private readonly xtxDiag: Float64Array;

  /** Symbolic work, once: the cross-products' pattern and the factor's analysis. */
  constructor(x: FixedDesign, terms: readonly TermInfo[]) {
    this.x = x;
    this.terms = terms;
    this.a = crossProducts(x, new Float64Array(x.n), terms);
    this.factor = new BlockedFactor(this.a, terms, false, "auto");
    const K = terms.length;
    this.pos = terms.map(() => []);
    for (let i = 1; i < K; i++) {
      for (let j = 0; j < i; j++) {
        const blk = this.a.off[i][j];
        const ri = terms[i].term.index, cj = terms[j].term.index;
        const p = new Int32Array(x.n);
        for (let r = 0; r < x.n; r++) p[r] = findBlock(blk, cj[r], ri[r]);
        this.pos[i][j] = p;
      }
    }
    this.xtxDiag = new Float64Array(x.p);
    this.#runs = terms.map((t) => inRuns(t.term.index));
    this.#posRuns = this.pos.map((row) => row.map(inRuns));
  }

  /** The dense tail's right-hand side in back substitution (m − 1). */
  #tailBuf: Float64Array | undefined;
  /** Weighted columns w ∘ F_f (F = [X z]), n per column; empty without scalar terms. */
  #wf: Float64Array | undefined;
  /** Per term: whether its only column is the intercept (z ≡ 1, products with it are exact). */
  #ones: boolean[] | undefined;
  /** Per term: whether its rows come in runs of one level (on average 4 rows or more). */
  readonly #runs: boolean[];
  /** The same for the rows' blocks in A's off-diagonal blocks (i, j), i > j. */
  readonly #posRuns: boolean[][];

  /**
   * Refill A with weights w and response z (F = [X z]): FᵀWF by weighted
   * column dot products, then each term's blocks in one pass over the rows
   * through the positions found once (scalar terms read only the level and
   * the weight). Every entry is summed over the rows in row order with the
   * same products as {@link crossProducts} would form, so A's numbers do not
   * depend on how the passes are arranged.
   */
  private refill(w: Float64Array, z: Float64Array): void {
    const { a, x, terms } = this;
    const { n, p } = x;
    const nf = p + 1;
    const xv = x.x;
    const ones = this.#ones ??= terms.map((t) => t.q === 1 && t.term.z.every((v) => v === 1));
    // the weighted columns w ∘ F, stored only for scalar terms (which add
    // them up per level); every other sum forms its products (w F_f)·v in
    // place, the same numbers
    const wf = this.#wf ??= new Float64Array(terms.some((t) => t.q === 1) ? nf * n : 0);
    if (wf.length > 0) {
      for (let f = 0; f < p; f++) {
        const o = f * n;
        for (let r = 0; r < n; r++) wf[o + r] = w[r] * xv[o + r];
      }
      const o = p * n;
      for (let r = 0; r < n; r++) wf[o + r] = w[r] * z[r];
    }
    const wz = wf.subarray(p * n, nf * n);
    // X columns that are mostly zero (dummy codes) and, when every weighted
    // value is finite, the rows where they are not: a zero x makes a zero
    // product (±0), and adding ±0 to a sum that starts at +0 never changes
    // it (such a sum is never −0), so those rows can be left out of every
    // sum below that multiplies by that column
    const sparse = p > 0 ? this.#sparseRows() : [];
    let useSparse = sparse.some((l) => l !== undefined);
    if (useSparse) {
      for (let r = 0; r < n && useSparse; r++) {
        if (!Number.isFinite(w[r]) || !Number.isFinite(w[r] * z[r])) useSparse = false;
      }
    }
    const rowsOf = (f: number) => (useSparse && f < p ? sparse[f] : undefined);
    this.#crossF(w, z, rowsOf, useSparse);
    for (let k = 0; k < terms.length; k++) {
      const t = terms[k];
      const q = t.q;
      const zk = t.term.z;
      const idx = t.term.index;
      const d = a.diag[k];
      const fz = a.fz[k];
      d.fill(0);
      fz.fill(0);
      for (let j = 0; j < k; j++) a.off[k][j].values.fill(0);
      if (q === 1) {
        if (ones[k] && this.#runs[k]) {
          // as below, with rows in runs of one level
          addRuns(d, idx, 1, 0, w, 0, n);
          for (let f = 0; f < nf; f++) {
            const list = rowsOf(f);
            addRuns(fz, idx, nf, f, wf, f * n, n, list);
          }
        } else if (ones[k] && nf > 1 && useSparse) {
          // as below, the mostly-zero columns over their non-zero rows
          const dense: number[] = [];
          for (let f = 0; f < nf; f++) {
            const list = rowsOf(f);
            if (!list) {
              dense.push(f);
              continue;
            }
            const o = f * n;
            for (let t = 0; t < list.length; t++) {
              const r = list[t];
              fz[idx[r] * nf + f] += wf[o + r];
            }
          }
          const nd = dense.length;
          for (let r = 0; r < n; r++) {
            const l = idx[r];
            d[l] += w[r];
            const o = l * nf;
            for (let t = 0; t < nd; t++) {
              const f = dense[t];
              fz[o + f] += wf[f * n + r];
            }
          }
        } else if (ones[k]) {
          // w·1·1 = w and wf·1 = wf exactly
          if (nf === 1) {
            for (let r = 0; r < n; r++) {
              const l = idx[r];
              d[l] += w[r];
              fz[l] += wz[r];
            }
          } else {
            // row by row: each entry still sums its rows in row order
            for (let r = 0; r < n; r++) {
              const l = idx[r];
              d[l] += w[r];
              const o = l * nf;
              for (let f = 0; f < nf; f++) fz[o + f] += wf[f * n + r];
            }
          }
        } else {
          for (let r = 0; r < n; r++) d[idx[r]] += w[r] * zk[r] * zk[r];
          for (let f = 0; f < nf; f++) {
            const o = f * n;
            for (let r = 0; r < n; r++) fz[idx[r] * nf + f] += wf[o + r] * zk[r];
          }
        }
        for (let j = 0; j < k; j++) {
          if (terms[j].q !== 1) continue;
          const v = a.off[k][j].values, pos = this.pos[k][j], zj = terms[j].term.z;
          if (ones[k] && ones[j] && this.#posRuns[k][j]) addRuns(v, pos, 1, 0, w, 0, n);
          else if (ones[k] && ones[j]) { for (let r = 0; r < n; r++) v[pos[r]] += w[r]; }
          else if (ones[k]) { for (let r = 0; r < n; r++) v[pos[r]] += w[r] * zj[r]; }
          else if (ones[j]) { for (let r = 0; r < n; r++) v[pos[r]] += w[r] * zk[r]; }
          else for (let r = 0; r < n; r++) v[pos[r]] += w[r] * zk[r] * zj[r];
        }
      } else if (q === 2 && this.#runs[k]) {
        // as below, with rows grouped by level: a level's sums carried in
        // variables through its run of rows (the same additions in the same
        // order, without a store and load between consecutive ones), first
        // Z's four and the response's two, then the X columns two at a time
        // in a pass over the run each (more at once run slower)
        let r = 0;
        while (r < n) {
          const l = idx[r];
          const b4 = 4 * l, cl0 = 2 * l * nf, cl1 = cl0 + nf;
          let d0 = d[b4], d1 = d[b4 + 1], d2 = d[b4 + 2], d3 = d[b4 + 3];
          let f0 = fz[cl0 + p], f1 = fz[cl1 + p];
          const r0 = r;
          for (; r < n && idx[r] === l; r++) {
            const wr = w[r];
            const z0 = zk[2 * r], z1 = zk[2 * r + 1], zr = z[r];
            const zc0 = z0 * wr, zc1 = z1 * wr;
            d0 += z0 * zc0;
            d1 += z1 * zc0;
            d2 += z0 * zc1;
            d3 += z1 * zc1;
            f0 += zr * zc0;
            f1 += zr * zc1;
          }
          d[b4] = d0, d[b4 + 1] = d1, d[b4 + 2] = d2, d[b4 + 3] = d3;
          fz[cl0 + p] = f0, fz[cl1 + p] = f1;
          let f = 0;
          for (; f + 1 < p; f += 2) {
            const o = f * n, o1 = o + n;
            let a0 = fz[cl0 + f], c0 = fz[cl1 + f], a1 = fz[cl0 + f + 1], c1 = fz[cl1 + f + 1];
            for (let i = r0; i < r; i++) {
              const wr = w[i];
              const zc0 = zk[2 * i] * wr, zc1 = zk[2 * i + 1] * wr;
              const u0 = xv[o + i], u1 = xv[o1 + i];
              a0 += u0 * zc0;
              c0 += u0 * zc1;
              a1 += u1 * zc0;
              c1 += u1 * zc1;
            }
            fz[cl0 + f] = a0, fz[cl1 + f] = c0, fz[cl0 + f + 1] = a1, fz[cl1 + f + 1] = c1;
          }
          if (f < p) {
            const o = f * n;
            let a0 = fz[cl0 + f], c0 = fz[cl1 + f];
            for (let i = r0; i < r; i++) {
              const wr = w[i], u = xv[o + i];
              a0 += u * (zk[2 * i] * wr);
              c0 += u * (zk[2 * i + 1] * wr);
            }
            fz[cl0 + f] = a0, fz[cl1 + f] = c0;
          }
        }
      } else if (q === 2) {
        // the general loop below unrolled for q = 2 (the random-slope case);
        // products with zc = 0 add +0 there and are skipped, here added
        for (let r = 0; r < n; r++) {
          const wr = w[r];
          const z0 = zk[2 * r], z1 = zk[2 * r + 1], zr = z[r];
          const zc0 = z0 * wr, zc1 = z1 * wr;
          const b4 = 4 * idx[r];
          d[b4] += z0 * zc0;
          d[b4 + 1] += z1 * zc0;
          d[b4 + 2] += z0 * zc1;
          d[b4 + 3] += z1 * zc1;
          const cl0 = 2 * idx[r] * nf, cl1 = cl0 + nf;
          for (let f = 0; f < p; f++) {
            const xf = xv[f * n + r];
            fz[cl0 + f] += xf * zc0;
            fz[cl1 + f] += xf * zc1;
          }
          fz[cl0 + p] += zr * zc0;
          fz[cl1 + p] += zr * zc1;
        }
      } else {
        for (let r = 0; r < n; r++) {
          const wr = w[r];
          const lvl = idx[r];
          for (let c = 0; c < q; c++) {
            const zc = zk[r * q + c] * wr;
            if (zc === 0) continue;
            const base = lvl * q * q + c * q;
            for (let rr = 0; rr < q; rr++) d[base + rr] += zk[r * q + rr] * zc;
            const cl = (lvl * q + c) * nf;
            for (let f = 0; f < p; f++) fz[cl + f] += xv[f * n + r] * zc;
            fz[cl + p] += z[r] * zc;
          }
        }
      }
      for (let j = 0; j < k; j++) {
        const tj = terms[j];
        const qj = tj.q;
        if (q === 1 && qj === 1) continue;
        const zj = tj.term.z;
        const pos = this.pos[k][j];
        const v = a.off[k][j].values;
        for (let r = 0; r < n; r++) {
          const wr = w[r];
          const o = pos[r] * q * qj;
          for (let c = 0; c < qj; c++) {
            const zc = zj[r * qj + c] * wr;
            if (zc === 0) continue;
            for (let rr = 0; rr < q; rr++) v[o + c * q + rr] += zk[r * q + rr] * zc;
          }
        }
      }
    }
    for (let j = 0; j < p; j++) this.xtxDiag[j] = a.ff[j * nf + j];
  }

  /**
   * FᵀWF (F = [X z]) into A: entry (c, rr), c ≤ rr, is Σ (w F_rr)·F_c in
   * row order, as {@link crossProducts} sums it. Pairs with a mostly-zero
   * column (`rowsOf`) are summed over its non-zero rows only; the others
   * several per pass over the rows (each still summed in row order, their
   * chains of additions overlapping): all of them in one pass for up to
   * three columns, else four at a time.
   */
  #crossF(
    w: Float64Array,
    z: Float64Array,
    rowsOf: (f: number) => Int32Array | undefined,
    sparse: boolean,
  ): void {
    const { n, p } = this.x;
    const nf = p + 1;
    const xv = this.x.x;
    const ff = this.a.ff;
    const col = (c: number) => (c < p ? xv.subarray(c * n, c * n + n) : z);
    const pairs = this.#pairs[sparse ? 1 : 0] ??= [];
    const fresh = pairs.length === 0;
    for (let c = 0; c < nf; c++) {
      for (let rr = c; rr < nf; rr++) {
        const lc = rowsOf(c), lr = rowsOf(rr);
        const list = lc && lr ? (lc.length <= lr.length ? lc : lr) : lc ?? lr;
        if (!list) {
          if (fresh) pairs.push(c, rr);
          continue;
        }
        const fc = col(c), fr = col(rr);
        let s = 0;
        for (let t = 0; t < list.length; t++) {
          const r = list[t];
          s += (w[r] * fr[r]) * fc[r];
        }
        ff[c * nf + rr] = ff[rr * nf + c] = s;
      }
    }
    const m = pairs.length / 2;
    if (nf === 1) {
      let s = 0;
      for (let r = 0; r < n; r++) s += (w[r] * z[r]) * z[r];
      ff[0] = s;
      return;
    }
    if (nf === 2 && m === 3) {
      const f0 = col(0);
      let s00 = 0, s01 = 0, s11 = 0;
      for (let r = 0; r < n; r++) {
        const wr = w[r], v0 = f0[r], v1 = z[r];
        const w0 = wr * v0, w1 = wr * v1;
        s00 += w0 * v0;
        s01 += w1 * v0;
        s11 += w1 * v1;
      }
      ff[0] = s00, ff[1] = ff[2] = s01, ff[3] = s11;
      return;
    }
    if (nf === 3 && m === 6) {
      const f0 = col(0), f1 = col(1);
      let s00 = 0, s01 = 0, s02 = 0, s11 = 0, s12 = 0, s22 = 0;
      for (let r = 0; r < n; r++) {
        const wr = w[r], v0 = f0[r], v1 = f1[r], v2 = z[r];
        const w0 = wr * v0, w1 = wr * v1, w2 = wr * v2;
        s00 += w0 * v0;
        s01 += w1 * v0;
        s02 += w2 * v0;
        s11 += w1 * v1;
        s12 += w2 * v1;
        s22 += w2 * v2;
      }
      ff[0] = s00, ff[1] = ff[3] = s01, ff[2] = ff[6] = s02;
      ff[4] = s11, ff[5] = ff[7] = s12, ff[8] = s22;
      return;
    }
    const put = (i: number, s: number) => {
      const c = pairs[2 * i], rr = pairs[2 * i + 1];
      ff[c * nf + rr] = ff[rr * nf + c] = s;
    };
    let g = 0;
    for (; g + 3 < m; g += 4) {
      const g0 = col(pairs[2 * g + 1]), f0 = col(pairs[2 * g]);
      const g1 = col(pairs[2 * g + 3]), f1 = col(pairs[2 * g + 2]);
      const g2 = col(pairs[2 * g + 5]), f2 = col(pairs[2 * g + 4]);
      const g3 = col(pairs[2 * g + 7]), f3 = col(pairs[2 * g + 6]);
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let r = 0; r < n; r++) {
        const wr = w[r];
        s0 += (wr * g0[r]) * f0[r];
        s1 += (wr * g1[r]) * f1[r];
        s2 += (wr * g2[r]) * f2[r];
        s3 += (wr * g3[r]) * f3[r];
      }
      put(g, s0), put(g + 1, s1), put(g + 2, s2), put(g + 3, s3);
    }
    for (; g < m; g++) {
      const g0 = col(pairs[2 * g + 1]), f0 = col(pairs[2 * g]);
      let s0 = 0;
      for (let r = 0; r < n; r++) s0 += (w[r] * g0[r]) * f0[r];
      put(g, s0);
    }
  }

  /**
   * A(w) at weights w and response z (F = [X z]) as a PIRLS step refills
   * it: the system's own cross-products, overwritten by the next step (for
   * tests: each entry is the weighted sum over the rows in row order).
   */
  crossProductsAt(w: Float64Array, z: Float64Array): CrossProducts {
    this.refill(w, z);
    return this.a;
  }

  /** FᵀWF's pairs (c, rr) summed over all rows, without and with the mostly-zero columns' lists. */
  readonly #pairs: [number[] | undefined, number[] | undefined] = [undefined, undefined];

  /** Per X column: its non-zero rows when at most 60% are non-zero, built once. */
  #sparse: (Int32Array | undefined)[] | undefined;
  #sparseRows(): (Int32Array | undefined)[] {
    if (this.#sparse) return this.#sparse;
    const { n, p } = this.x;
    const xv = this.x.x;
    const out: (Int32Array | undefined)[] = [];
    for (let f = 0; f < p; f++) {
      let nnz = 0;
      for (let r = 0; r < n; r++) if (xv[f * n + r] !== 0) nnz++;
      if (nnz > 0.6 * n) {
        out.push(undefined);
        continue;
      }
      const l = new Int32Array(nnz);
      let t = 0;
      for (let r = 0; r < n; r++) if (xv[f * n + r] !== 0) l[t++] = r;
      out.push(l);
    }
    return this.#sparse = out;
  }

  /**
   * Conditional variances of b at weights w (σ = 1): per term, level l's
   * q × q block at `l*q*q`, from lmer's conditional-variance code.
   */
  condVar(theta: ArrayLike<number>, w: Float64Array): Float64Array[] {
    this.refill(w, new Float64Array(this.x.n));
    const info = this.factor.update(theta);
    // response 0, so b = 0 and the one dummy row (y = 1) gives σ = 1
    const sol = this.solveFactored(theta, info);
    const s2 = sol.sigma * sol.sigma;
    return sol.ranef.map((r) => r.condVar.map((v) => v / s2));
  }

  /**
   * Solve the penalized weighted least-squares problem at θ. Without X
   * (β fixed), u and b are written to `out` when given.
   */
  solve(
    theta: ArrayLike<number>,
    w: Float64Array,
    z: Float64Array,
    out?: {
      readonly u: Float64Array;
      readonly b: Float64Array;
      readonly beta?: Float64Array;
    },
  ): WeightedSolution {
    this.refill(w, z);
    const info = this.factor.update(theta);
    const p = this.x.p;
    const tailBuf = this.#tailBuf ??= new Float64Array(this.factor.m - 1);
    if (p === 0) {
      // u only (β fixed): back substitution through L and b = Λu, nothing else
      const qTotal = this.terms.reduce((s, t) => s + t.size, 0);
      const u = out?.u ?? new Float64Array(qTotal), b = out?.b ?? new Float64Array(qTotal);
      backSolveU(this.factor, u, tailBuf);
      scaleByLambda(this.factor, u, b);
      return { u, b, beta: EMPTY, unscDiag: EMPTY };
    }
    if (out?.beta) {
      // u and β into the caller's buffers, without (R_XᵀR_X)⁻¹ (unscDiag
      // left empty) nor the rest of lmer's solution: the numbers of
      // lmer's back substitution, operation for operation
      checkFixedRank(this.factor, info, this.xtxDiag);
      backSubstitute(this.factor, out.u, out.beta, tailBuf);
      scaleByLambda(this.factor, out.u, out.b);
      return { u: out.u, b: out.b, beta: out.beta, unscDiag: EMPTY };
    }
    const sol = this.solveFactored(theta, info);
    const s2 = sol.sigma * sol.sigma;
    const unscDiag = new Float64Array(p);
    for (let j = 0; j < p; j++) unscDiag[j] = sol.vcov[j * p + j] / s2;
    return { u: sol.u, b: sol.b, beta: sol.beta, unscDiag };
  }

  /**
   * lmer's solve() on the factor just updated at θ (`info`: its return),
   * with one dummy row: solve() forms fitted values and σ from the rows
   * given, which PIRLS does not use; vcov / σ² is (R_XᵀR_X)⁻¹ whatever σ is.
   * devianceParts checks X's rank.
   */
  private solveFactored(theta: ArrayLike<number>, info: number) {
    const p = this.x.p;
    return solve({
      factor: this.factor,
      parts: devianceParts(this.factor, info, this.xtxDiag),
      theta: Float64Array.from(theta),
      reml: false,
      objective: 0,
      x: { x: new Float64Array(p), n: 1, p, names: this.x.names },
      y: Float64Array.of(1),
    });
  }

  /**
   * log|ΛᵀZᵀWZΛ + I| of the last {@link solve} (lme4's ldL2), summed as
   * lmer's `devianceParts` sums it; PIRLS needs it only at convergence.
   */
  logDet(): number {
    return logDetL(this.factor);
  }
}

const EMPTY = new Float64Array(0);

/** Whether consecutive entries repeat (runs of 4 on average or longer). */
function inRuns(idx: Int32Array): boolean {
  let changes = 1;
  for (let r = 1; r < idx.length; r++) if (idx[r] !== idx[r - 1]) changes++;
  return 4 * changes <= idx.length;
}

/**
 * dst[idx[r]·stride + off] += src[srcOff + r] for r = 0 … n − 1, or for
 * the rows in `list` (ascending) only when given (the others add +0 or −0,
 * which leaves the sums unchanged), in that order, with the target carried
 * in a variable through runs of rows that hit it (no store and load between
 * their additions: the same numbers).
 */
function addRuns(
  dst: Float64Array,
  idx: Int32Array,
  stride: number,
  off: number,
  src: Float64Array,
  srcOff: number,
  n: number,
  list?: Int32Array,
): void {
  let cur = -1, acc = 0;
  const m = list ? list.length : n;
  for (let k = 0; k < m; k++) {
    const r = list ? list[k] : k;
    const t = idx[r] * stride + off;
    if (t !== cur) {
      if (cur >= 0) dst[cur] = acc;
      cur = t;
      acc = dst[t];
    }
    acc += src[srcOff + r];
  }
  if (cur >= 0) dst[cur] = acc;
}

/**
 * u from Lᵀ u = c for a factor without X columns (c: the response's row of
 * L) into `out`: the dense tail first (its right-hand side in `xd`, m − 1),
 * then the head terms from the last back (as lmer's back substitution,
 * without β).
 */
function backSolveU(f: BlockedFactor, out: Float64Array, xdBuf: Float64Array): void {
  const { tailZ, terms } = f;
  const headZ = out.length - tailZ;
  const xd = f.solveTail(xdBuf);
  out.set(xd.subarray(0, tailZ), headZ);
  for (let j = f.nHead - 1; j >= 0; j--) {
    const t = terms[j];
    const q = t.q;
    const fj = f.headF[j];
    const zo = t.zOffset;
    // F = [y] only: column col of L[F, j] is c_j
    for (let col = 0; col < t.size; col++) out[zo + col] = fj[col];
    for (let i = j + 1; i < terms.length; i++) {
      const blk = f.headOff[i][j];
      const qi = terms[i].q;
      const io = terms[i].zOffset;
      const { colPtr, rowLevel, values } = blk;
      if (q === 1 && qi === 1 && oneEach(colPtr)) {
        // the loop below with one value per column (position bl)
        for (let bl = 0; bl < t.nLevels; bl++) {
          out[zo + bl] -= 0 + values[bl] * out[io + rowLevel[bl]];
        }
        continue;
      }
      if (q === 1 && qi === 1) {
        for (let bl = 0; bl < t.nLevels; bl++) {
          let s = 0;
          for (let pos = colPtr[bl]; pos < colPtr[bl + 1]; pos++) {
            s += values[pos] * out[io + rowLevel[pos]];
          }
          out[zo + bl] -= s;
        }
        continue;
      }
      for (let bl = 0; bl < t.nLevels; bl++) {
        for (let pos = colPtr[bl]; pos < colPtr[bl + 1]; pos++) {
          const a = rowLevel[pos];
          const vo = pos * qi * q;
          for (let c = 0; c < q; c++) {
            let s = 0;
            for (let r = 0; r < qi; r++) s += values[vo + c * qi + r] * out[io + a * qi + r];
            out[zo + bl * q + c] -= s;
          }
        }
      }
    }
    const d = f.headDiag[j];
    if (q === 1) {
      for (let bl = 0; bl < t.nLevels; bl++) out[zo + bl] /= d[bl];
    } else {
      for (let bl = 0; bl < t.nLevels; bl++) trsvLowerTrans(d, q, bl * q * q, q, out, zo + bl * q);
    }
  }
}
