/**
 * Kenward & Roger's (1997) small-sample adjustment for the fixed effects of a
 * linear mixed model fitted by REML, as pbkrtest 0.5 computes it
 * (`vcovAdj`, `Lb_ddf`; Halekoh & Højsgaard 2014, J. Stat. Softw. 59(9)).
 *
 * pbkrtest writes the marginal covariance as V = Σ_r γ_r G_r with one γ_r
 * per entry of each term's covariance matrix (lower triangle, column by
 * column, as VarCorr) and γ = σ² for G = I, where G_r = Z_k (I ⊗ E_r) Z_kᵀ
 * (E_r the indicator of entry r of term k's q × q matrix, symmetrized). It
 * then forms, with Φ = vcov(β̂) = (XᵀV⁻¹X)⁻¹,
 *
 *     P_r  = −XᵀV⁻¹G_rV⁻¹X,   Q_rs = XᵀV⁻¹G_rV⁻¹G_sV⁻¹X,
 *     IE2_rs = tr(G_rV⁻¹G_sV⁻¹) − 2 tr(Φ Q_rs) + tr(Φ P_r Φ P_s),  W = 2 IE2⁻¹,
 *     Φ_A = Φ + 2 Φ [Σ_rs W_rs (Q_rs − P_r Φ P_s)] Φ,
 *
 * with n × n dense matrices. Here every one of those quantities is
 * rewritten in the q-dimensional space of the random effects by the
 * Woodbury identity, V⁻¹ = σ⁻²(I − ZΛ S⁻¹ ΛᵀZᵀ) with S = ΛᵀZᵀZΛ + I:
 *
 *     [Z X]ᵀV⁻¹[Z X] = σ⁻²(M − RᵀS⁻¹R),
 *     [Z X]ᵀV⁻²[Z X] = σ⁻⁴(M − RᵀS⁻¹R − RᵀS⁻²R),
 *     tr V⁻²         = σ⁻⁴(n − q + tr S⁻²),
 *
 * where M = [Z X]ᵀ[Z X] and R = ΛᵀZᵀ[Z X]. So the only pass over the data
 * forms M (O(n (Σq_k + p)²)); the rest costs O(q³ + q²p + Σ_rs ℓ_r ℓ_s)
 * for q random effects and ℓ levels per term, independent of n (Clark's
 * 1000-row model: q = 200, a few milliseconds). The dense q × q work is
 * refused above {@link KR_MAX_DIM}.
 * @module
 */
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { leftMulTrans, rightMul } from "../models/lmer/structure.ts";
import { potrf } from "../linalg/cholesky.ts";
import { symmetricEigen } from "../rng/eigen.ts";

/**
 * Largest q + p (random effects plus fixed effects) for which the dense
 * (q + p)² work of the Kenward-Roger adjustment is attempted (≈ 8 s and
 * 130 MB at the limit). pbkrtest itself works with n × n matrices, and
 * emmeans turns it off above n = 3000 observations.
 */
export const KR_MAX_DIM = 4000;

/** pbkrtest's `vcovAdj` result and the pieces `Lb_ddf` needs. */
export interface KenwardRogerParts {
  /** Number of fixed effects. */
  readonly p: number;
  /** Number of variance parameters γ (covariance entries of all terms, then σ²). */
  readonly nGamma: number;
  /** Names of the γ, e.g. "Subject.(Intercept)", "Subject.Days.(Intercept)", …, "sigma^2". */
  readonly gammaNames: readonly string[];
  /** γ̂: the covariance entries (σ² T Tᵀ, lower triangles) and σ̂². */
  readonly gamma: Float64Array;
  /** Unadjusted vcov(β̂) Φ (p × p, column-major). */
  readonly phi: Float64Array;
  /** The adjusted covariance Φ_A (pbkrtest's `vcovAdj`), p × p column-major. */
  readonly phiAdj: Float64Array;
  /** P_r = −XᵀV⁻¹G_rV⁻¹X, one p × p column-major matrix per γ (`attr(, "P")`). */
  readonly P: readonly Float64Array[];
  /** W = 2 IE2⁻¹, nGamma × nGamma column-major (`attr(, "W")`). */
  readonly W: Float64Array;
  /** Smallest |eigenvalue| of IE2 (`attr(, "condi")`); below 1e-10 a pseudo-inverse was used. */
  readonly condi: number;
}

const cache = new WeakMap<LinearMixedModel, KenwardRogerParts>();

/** C = A B for column-major A (r × k) and B (k × c). */
function mul(a: Float64Array, b: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let j = 0; j < c; j++) {
    for (let t = 0; t < k; t++) {
      const btj = b[j * k + t];
      if (btj === 0) continue;
      const at = t * r, oj = j * r;
      for (let i = 0; i < r; i++) out[oj + i] += a[at + i] * btj;
    }
  }
  return out;
}

/** Σ_ab A[a,b] B[a,b] (R's sum(A * B)). */
function dotAll(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Row range [lo, hi) of the non-zeros of each column of a rows × cols column-major matrix (leading dimension ld). */
function rowRanges(
  a: Float64Array,
  rows: number,
  cols: number,
  ld = rows,
): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(cols), hi = new Int32Array(cols);
  for (let j = 0; j < cols; j++) {
    const o = j * ld;
    let l = 0, h = rows;
    while (l < rows && a[o + l] === 0) l++;
    while (h > l && a[o + h - 1] === 0) h--;
    lo[j] = l;
    hi[j] = h;
  }
  return { lo, hi };
}

/** Σ_r a[r, i] b[r, j] over the rows where both columns can be non-zero. */
function dotCols(
  a: Float64Array,
  ra: { lo: Int32Array; hi: Int32Array },
  i: number,
  b: Float64Array,
  rb: { lo: Int32Array; hi: Int32Array },
  j: number,
  ld: number,
): number {
  const lo = Math.max(ra.lo[i], rb.lo[j]), hi = Math.min(ra.hi[i], rb.hi[j]);
  let s = 0;
  const oi = i * ld, oj = j * ld;
  for (let r = lo; r < hi; r++) s += a[oi + r] * b[oj + r];
  return s;
}

/** Inverse (or, when `pseudo`, MASS::ginv) of a small symmetric matrix through its eigen decomposition. */
function symInverse(a: Float64Array, n: number, pseudo: boolean): Float64Array {
  const rows = Array.from(
    { length: n },
    (_, i) => Array.from({ length: n }, (_, j) => a[j * n + i]),
  );
  const { values, vectors } = symmetricEigen(rows);
  const maxAbs = Math.max(...[...values].map(Math.abs));
  const out = new Float64Array(n * n);
  values.forEach((lambda, e) => {
    // ginv keeps singular values above √ε times the largest.
    if (pseudo && !(Math.abs(lambda) > Math.sqrt(Number.EPSILON) * maxAbs)) return;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) out[j * n + i] += (vectors[i][e] * vectors[j][e]) / lambda;
    }
  });
  return out;
}

/**
 * One variance parameter's pattern: (I_ℓ ⊗ E_r) as the list of its unit
 * entries (out[t], inn[t]) in Z's column numbering, so that
 * ((I ⊗ E_r) M)[out[t], ·] += M[inn[t], ·].
 */
interface Pattern {
  readonly out: Int32Array;
  readonly inn: Int32Array;
}

/**
 * M = [Z X]ᵀ[Z X] (m × m, column-major, m = Q + p): the one pass over the
 * data. Each row of [Z X] has Σq_k + p non-zeros, at increasing columns.
 */
function crossprodZX(model: LinearMixedModel): Float64Array {
  const terms = model.lmm.terms, X = model.frame.x;
  const n = X.n, p = X.p, Q = model.lmm.q, m = Q + p;
  const M = new Float64Array(m * m);
  const nnz = terms.reduce((s, t) => s + t.q, 0) + p;
  const idx = new Int32Array(nnz), val = new Float64Array(nnz);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (const t of terms) {
      const base = t.zOffset + t.term.index[i] * t.q;
      for (let c = 0; c < t.q; c++) (idx[k] = base + c, val[k++] = t.term.z[i * t.q + c]);
    }
    for (let j = 0; j < p; j++) (idx[k] = Q + j, val[k++] = X.x[j * n + i]);
    for (let b = 0; b < nnz; b++) {
      const vb = val[b];
      if (vb === 0) continue;
      const col = idx[b] * m;
      for (let a = b; a < nnz; a++) M[col + idx[a]] += val[a] * vb;
    }
  }
  for (let j = 0; j < m; j++) for (let i = j + 1; i < m; i++) M[i * m + j] = M[j * m + i];
  return M;
}

/**
 * The products of [Z X] with powers of V⁻¹ that pbkrtest's formulas use,
 * all by the Woodbury identity (see the module documentation).
 */
interface MarginalProducts {
  /** [Z X]ᵀV⁻¹[Z X] (m × m, column-major). */
  readonly A1: Float64Array;
  /** Entry (i, j) of [Z X]ᵀV⁻²[Z X] (computed on demand: only some are needed). */
  readonly a2: (i: number, j: number) => number;
  /** ZᵀV⁻¹X (Q × p). */
  readonly C: Float64Array;
  /** ZᵀV⁻²X (Q × p). */
  readonly D: Float64Array;
  /** XᵀV⁻²X (p × p). */
  readonly xv2x: Float64Array;
  /** XᵀV⁻³X (p × p). */
  readonly xv3x: Float64Array;
  /** tr V⁻². */
  readonly trV2: number;
}

function marginalProducts(model: LinearMixedModel): MarginalProducts {
  const lmm = model.lmm, terms = lmm.terms;
  const n = model.nobs, p = model.frame.x.p, Q = lmm.q, m = Q + p;
  const s2 = model.sigma * model.sigma;
  const M = crossprodZX(model);

  // Each term's relative covariance factor T_k (q × q lower, column-major).
  const T = terms.map((t) => {
    const f = new Float64Array(t.q * t.q);
    let o = t.thetaOffset;
    for (let j = 0; j < t.q; j++) for (let i = j; i < t.q; i++) f[j * t.q + i] = model.theta[o++];
    return f;
  });
  /** B ← ΛᵀB for a Q-row block B with `cols` columns (leading dimension Q). */
  const lambdaT = (b: Float64Array, cols: number) => {
    terms.forEach((t, k) => {
      for (let l = 0; l < t.nLevels; l++) leftMulTrans(b, t.zOffset + l * t.q, Q, cols, T[k], t.q);
    });
  };

  // R = ΛᵀZᵀ[Z X] (Q × m) and S = ΛᵀZᵀZΛ + I, factored S = L Lᵀ.
  const R = new Float64Array(Q * m);
  for (let j = 0; j < m; j++) R.set(M.subarray(j * m, j * m + Q), j * Q);
  lambdaT(R, m);
  const L = R.slice(0, Q * Q);
  terms.forEach((t, k) => {
    for (let l = 0; l < t.nLevels; l++) rightMul(L, (t.zOffset + l * t.q) * Q, Q, Q, T[k], t.q);
  });
  for (let i = 0; i < Q; i++) L[i * Q + i] += 1;
  if (potrf(L, Q) >= 0) throw new Error("Kenward-Roger: Λᵀ Zᵀ Z Λ + I is not positive definite");

  // L keeps S's sparsity inside an envelope (block diagonal for a single
  // grouping factor): solves and dot products below only visit that part.
  const last = new Int32Array(Q);
  for (let j = 0; j < Q; j++) {
    let i = Q - 1;
    while (i > j && L[j * Q + i] === 0) i--;
    last[j] = i;
  }
  /** x ← L⁻¹x for the column of `a` at `off`. */
  const forward = (a: Float64Array, off: number) => {
    for (let j = 0; j < Q; j++) {
      const xj = a[off + j] / L[j * Q + j];
      a[off + j] = xj;
      if (xj === 0) continue;
      const cj = j * Q, lj = last[j];
      for (let i = j + 1; i <= lj; i++) a[off + i] -= L[cj + i] * xj;
    }
  };
  /** x ← L⁻ᵀx for the column of `a` at `off`. */
  const backward = (a: Float64Array, off: number) => {
    for (let j = Q - 1; j >= 0; j--) {
      const cj = j * Q, lj = last[j];
      let s = a[off + j];
      for (let i = j + 1; i <= lj; i++) s -= L[cj + i] * a[off + i];
      a[off + j] = s / L[cj + j];
    }
  };

  // Y = L⁻¹R, Y2 = S⁻¹R = L⁻ᵀY, with the row range of each column's non-zeros.
  const Y = R.slice();
  for (let j = 0; j < m; j++) forward(Y, j * Q);
  const Y2 = Y.slice();
  for (let j = 0; j < m; j++) backward(Y2, j * Q);
  const yr = rowRanges(Y, Q, m), y2r = rowRanges(Y2, Q, m);
  // A1 = [Z X]ᵀV⁻¹[Z X] (all of it is used).
  const A1 = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    for (let i = j; i < m; i++) {
      const v = (M[j * m + i] - dotCols(Y, yr, i, Y, yr, j, Q)) / s2;
      A1[j * m + i] = v;
      A1[i * m + j] = v;
    }
  }
  // [Z X]ᵀV⁻²[Z X] entry (i, j): only some entries are needed.
  const a2 = (i: number, j: number) =>
    A1[j * m + i] / s2 - dotCols(Y2, y2r, i, Y2, y2r, j, Q) / (s2 * s2);

  // C = ZᵀV⁻¹X and D = ZᵀV⁻²X (Q × p); XᵀV⁻²X; XᵀV⁻³X; tr V⁻².
  const C = new Float64Array(Q * p), D = new Float64Array(Q * p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < Q; i++) (C[j * Q + i] = A1[(Q + j) * m + i], D[j * Q + i] = a2(i, Q + j));
  }
  const xv2x = new Float64Array(p * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < p; i++) xv2x[j * p + i] = a2(Q + i, Q + j);
  // XᵀV⁻³X = (V⁻¹X)ᵀV⁻¹(V⁻¹X) = σ⁻²(XᵀV⁻²X − BᵀS⁻¹B), B = L⁻¹ΛᵀZᵀV⁻¹X.
  const B = C.slice();
  lambdaT(B, p);
  for (let j = 0; j < p; j++) forward(B, j * Q);
  const br = rowRanges(B, Q, p);
  const xv3x = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < p; i++) {
      xv3x[j * p + i] = (xv2x[j * p + i] - dotCols(B, br, i, B, br, j, Q)) / s2;
    }
  }
  // tr S⁻² = Σ_j ‖S⁻¹e_j‖².
  let trS2 = 0;
  const e = new Float64Array(Q);
  for (let j = 0; j < Q; j++) {
    e.fill(0);
    e[j] = 1;
    forward(e, 0);
    backward(e, 0);
    for (let i = 0; i < Q; i++) trS2 += e[i] * e[i];
  }
  const trV2 = (n - Q + trS2) / (s2 * s2);
  return { A1, a2, C, D, xv2x, xv3x, trV2 };
}

/**
 * pbkrtest's variance parameters γ (each term's covariance entries, lower
 * triangle by columns, as VarCorr, then σ²), their names and values, and
 * the pattern I ⊗ E_r of each covariance entry (σ²'s G is I).
 */
function varianceParameters(
  model: LinearMixedModel,
): { patterns: Pattern[]; names: string[]; values: number[] } {
  const terms = model.lmm.terms;
  const patterns: Pattern[] = [];
  const names: string[] = [];
  const values: number[] = [];
  const vc = model.varCorrTerms();
  terms.forEach((t, k) => {
    for (let j = 0; j < t.q; j++) {
      for (let i = j; i < t.q; i++) {
        const out: number[] = [], inn: number[] = [];
        for (let l = 0; l < t.nLevels; l++) {
          const a = t.zOffset + l * t.q + i, b = t.zOffset + l * t.q + j;
          if (i === j) (out.push(a), inn.push(a));
          else (out.push(a, b), inn.push(b, a));
        }
        patterns.push({ out: Int32Array.from(out), inn: Int32Array.from(inn) });
        names.push(
          i === j ? `${vc[k].grp}.${t.cnames[i]}` : `${vc[k].grp}.${t.cnames[i]}.${t.cnames[j]}`,
        );
        values.push(vc[k].cov[i][j]);
      }
    }
  });
  names.push("sigma^2");
  values.push(model.sigma * model.sigma);
  return { patterns, names, values };
}

/**
 * pbkrtest's `vcovAdj(model)` and the matrices behind it, for a REML fit
 * (computed once per model and cached).
 *
 * @example
 * ```ts ignore
 * const kr = kenwardRogerParts(lmer("Reaction ~ Days + (Days | Subject)", sleepstudy));
 * kr.phiAdj; // 2 × 2 adjusted covariance (column-major), as pbkrtest::vcovAdj
 * krDdf(kr, [[0, 1]]); // 17 denominator df for the slope
 * ```
 */
export function kenwardRogerParts(model: LinearMixedModel): KenwardRogerParts {
  const hit = cache.get(model);
  if (hit) return hit;
  if (!model.REML) {
    throw new Error(
      "Kenward-Roger's method needs a REML fit (pbkrtest refits ML fits by REML): " +
        'refit with { REML: true }, or use df: "satterthwaite"',
    );
  }
  if (model.lmm.weights) {
    throw new Error(
      'Kenward-Roger is not available yet for models with prior weights: use df: "satterthwaite"',
    );
  }
  const Q = model.lmm.q, p = model.frame.x.p, m = Q + p;
  if (m > KR_MAX_DIM) {
    throw new RangeError(
      `Kenward-Roger: ${Q} random effects + ${p} fixed effects exceed the dense limit ` +
        `(${KR_MAX_DIM}); use df: "satterthwaite" (or "asymptotic")`,
    );
  }
  const { A1, a2, C, D, xv2x, xv3x, trV2 } = marginalProducts(model);
  const { patterns, names: gammaNames, values: gammaVals } = varianceParameters(model);
  const g = patterns.length + 1; // γ: covariance entries, then σ²
  const res = g - 1;

  // P_r (and P for σ²: −XᵀV⁻²X).
  const P: Float64Array[] = patterns.map(({ out, inn }) => {
    const pr = new Float64Array(p * p);
    for (let t = 0; t < out.length; t++) {
      const o = out[t], v = inn[t];
      for (let y = 0; y < p; y++) {
        const cy = C[y * Q + v];
        if (cy === 0) continue;
        for (let x = 0; x < p; x++) pr[y * p + x] -= C[x * Q + o] * cy;
      }
    }
    return pr;
  });
  P.push(xv2x.map((v) => -v));

  // H_s = (ZᵀV⁻¹Z)(I ⊗ E_s)C, then Q_rs = Cᵀ(I ⊗ E_r)H_s. ZᵀV⁻¹Z is as
  // sparse as ZᵀZ's pattern allows (block diagonal for one grouping factor).
  const a1r = rowRanges(A1, Q, Q, m);
  const H = patterns.map(({ out, inn }) => {
    const h = new Float64Array(Q * p);
    for (let t = 0; t < out.length; t++) {
      const aCol = out[t] * m, lo = a1r.lo[out[t]], hi = a1r.hi[out[t]];
      for (let y = 0; y < p; y++) {
        const c = C[y * Q + inn[t]];
        if (c === 0) continue;
        const hy = y * Q;
        for (let i = lo; i < hi; i++) h[hy + i] += A1[aCol + i] * c;
      }
    }
    return h;
  });
  /** Σ_t C[out_t, x] F[inn_t, y] for a Q × p matrix F. */
  const sandwich = ({ out, inn }: Pattern, f: Float64Array) => {
    const q = new Float64Array(p * p);
    for (let t = 0; t < out.length; t++) {
      const o = out[t], v = inn[t];
      for (let y = 0; y < p; y++) {
        const fy = f[y * Q + v];
        if (fy === 0) continue;
        for (let x = 0; x < p; x++) q[y * p + x] += C[x * Q + o] * fy;
      }
    }
    return q;
  };
  const QQ = new Map<number, Float64Array>();
  const key = (r: number, s: number) => (r <= s ? r * g + s : s * g + r);
  const Ktrace = new Float64Array(g * g);
  for (let r = 0; r < g; r++) {
    for (let s = r; s < g; s++) {
      let qrs: Float64Array, k: number;
      if (s < res) {
        qrs = sandwich(patterns[r], H[s]);
        // tr(G_rV⁻¹G_sV⁻¹) = Σ_t Σ_u A1[in_t, out_u] A1[in_u, out_t].
        const a = patterns[r], b = patterns[s];
        k = 0;
        for (let t = 0; t < a.out.length; t++) {
          const it = a.inn[t], ot = a.out[t] * m;
          for (let u = 0; u < b.out.length; u++) {
            k += A1[b.out[u] * m + it] * A1[ot + b.inn[u]];
          }
        }
      } else if (r < res) {
        qrs = sandwich(patterns[r], D);
        // tr(G_rV⁻²) = Σ_t (ZᵀV⁻²Z)[in_t, out_t].
        const a = patterns[r];
        k = 0;
        for (let t = 0; t < a.out.length; t++) k += a2(a.inn[t], a.out[t]);
      } else {
        qrs = xv3x;
        k = trV2;
      }
      QQ.set(key(r, s), qrs);
      Ktrace[s * g + r] = k;
      Ktrace[r * g + s] = k;
    }
  }

  const phi = Float64Array.from(model.solution.vcov);
  const phiP = P.map((pr) => mul(phi, pr, p, p, p));
  const pPhi = P.map((pr) => mul(pr, phi, p, p, p));
  const IE2 = new Float64Array(g * g);
  for (let r = 0; r < g; r++) {
    for (let s = r; s < g; s++) {
      const v = Ktrace[s * g + r] - 2 * dotAll(phi, QQ.get(key(r, s))!) + dotAll(phiP[r], pPhi[s]);
      IE2[s * g + r] = v;
      IE2[r * g + s] = v;
    }
  }
  const ieRows = Array.from(
    { length: g },
    (_, i) => Array.from({ length: g }, (_, j) => IE2[j * g + i]),
  );
  const condi = Math.min(...[...symmetricEigen(ieRows).values].map(Math.abs));
  const W = symInverse(IE2, g, !(condi > 1e-10)).map((v) => 2 * v);

  // UU = Σ_{r<s} W_rs (Q_rs − P_rΦP_s) + its transpose + Σ_r W_rr (Q_rr − P_rΦP_r).
  const UU = new Float64Array(p * p);
  for (let r = 0; r < g - 1; r++) {
    for (let s = r + 1; s < g; s++) {
      const w = W[s * g + r];
      const qrs = QQ.get(key(r, s))!, pps = mul(P[r], phiP[s], p, p, p);
      for (let i = 0; i < p * p; i++) UU[i] += w * (qrs[i] - pps[i]);
    }
  }
  for (let j = 0; j < p; j++) {
    for (let i = j; i < p; i++) {
      const v = UU[j * p + i] + UU[i * p + j];
      UU[j * p + i] = v;
      UU[i * p + j] = v;
    }
  }
  for (let r = 0; r < g; r++) {
    const w = W[r * g + r];
    const qrr = QQ.get(key(r, r))!, ppr = mul(P[r], phiP[r], p, p, p);
    for (let i = 0; i < p * p; i++) UU[i] += w * (qrr[i] - ppr[i]);
  }
  const gg = mul(mul(phi, UU, p, p, p), phi, p, p, p);
  const phiAdj = phi.map((v, i) => v + 2 * gg[i]);

  const parts: KenwardRogerParts = {
    p,
    nGamma: g,
    gammaNames,
    gamma: Float64Array.from(gammaVals),
    phi,
    phiAdj,
    P,
    W,
    condi,
  };
  cache.set(model, parts);
  return parts;
}

/** Solve the small SPD system (L Φ Lᵀ) X = B by Gauss-Jordan elimination with pivoting. */
function solveSmall(a: Float64Array, k: number, b: Float64Array, c: number): Float64Array {
  const A = a.slice(), X = b.slice();
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++) {
      if (Math.abs(A[col * k + r]) > Math.abs(A[col * k + piv])) piv = r;
    }
    if (A[col * k + piv] === 0) {
      throw new RangeError("L Φ Lᵀ is singular: the rows of L are not independent");
    }
    if (piv !== col) {
      for (let j = 0; j < k; j++) {
        [A[j * k + col], A[j * k + piv]] = [A[j * k + piv], A[j * k + col]];
      }
      for (let j = 0; j < c; j++) {
        [X[j * k + col], X[j * k + piv]] = [X[j * k + piv], X[j * k + col]];
      }
    }
    const d = A[col * k + col];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = A[col * k + r] / d;
      if (f === 0) continue;
      for (let j = col; j < k; j++) A[j * k + r] -= f * A[j * k + col];
      for (let j = 0; j < c; j++) X[j * k + r] -= f * X[j * k + col];
    }
  }
  for (let r = 0; r < k; r++) {
    const d = A[r * k + r];
    for (let j = 0; j < c; j++) X[j * k + r] /= d;
  }
  return X;
}

/** pbkrtest's `.divZero`: x / y, or 1 when both are (nearly) zero. */
function divZero(x: number, y: number, tol = 1e-14): number {
  return Math.abs(x) < tol && Math.abs(y) < tol ? 1 : x / y;
}

/**
 * Kenward-Roger denominator df for the hypothesis L β = 0 (L has one row per
 * restriction, each of length p), as pbkrtest's `Lb_ddf(L, vcov(m),
 * vcovAdj(m))`; for a single row, the t-test df that lmerTest's
 * `summary(m, ddf = "Kenward-Roger")` and emmeans report.
 *
 * @example
 * ```ts ignore
 * const kr = kenwardRogerParts(m);
 * krDdf(kr, [[1, 0]]);          // df of the intercept
 * krDdf(kr, [[1, 0], [0, 1]]);  // denominator df of the joint F test
 * ```
 */
export function krDdf(parts: KenwardRogerParts, L: readonly ArrayLike<number>[]): number {
  const { p, phi, P, W, nGamma: g } = parts;
  const q = L.length;
  if (q === 0) throw new RangeError("L has no rows");
  for (const row of L) {
    if (row.length !== p) {
      throw new RangeError(
        `a row of L has ${row.length} entries, the model has ${p} fixed effects`,
      );
    }
  }
  // Lt (p × q), Θ = Lᵀ(LΦLᵀ)⁻¹L.
  const Lt = new Float64Array(p * q);
  L.forEach((row, r) => {
    for (let j = 0; j < p; j++) Lt[r * p + j] = row[j];
  });
  const phiLt = mul(phi, Lt, p, p, q);
  const LphiLt = new Float64Array(q * q);
  for (let b = 0; b < q; b++) {
    for (let a = 0; a < q; a++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += Lt[a * p + j] * phiLt[b * p + j];
      LphiLt[b * q + a] = s;
    }
  }
  const Lmat = new Float64Array(q * p); // L as q × p column-major
  for (let r = 0; r < q; r++) for (let j = 0; j < p; j++) Lmat[j * q + r] = Lt[r * p + j];
  const theta = mul(Lt, solveSmall(LphiLt, q, Lmat, p), p, q, p);
  const thetaPhi = mul(theta, phi, p, p, p);
  const u = P.map((pr) => mul(mul(thetaPhi, pr, p, p, p), phi, p, p, p));
  const trace = (a: Float64Array) => {
    let s = 0;
    for (let i = 0; i < p; i++) s += a[i * p + i];
    return s;
  };
  const trU = u.map(trace);
  let A1 = 0, A2 = 0;
  for (let i = 0; i < g; i++) {
    for (let j = i; j < g; j++) {
      const e = i === j ? 1 : 2;
      const w = W[j * g + i];
      A1 += e * w * trU[i] * trU[j];
      // sum(ui * t(uj)) = tr(ui uj)
      let s = 0;
      const ui = u[i], uj = u[j];
      for (let b = 0; b < p; b++) for (let a = 0; a < p; a++) s += ui[b * p + a] * uj[a * p + b];
      A2 += e * w * s;
    }
  }
  const B = (1 / (2 * q)) * (A1 + 6 * A2);
  const gg = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2);
  const den = 3 * q + 2 * (1 - gg);
  const c1 = gg / den, c2 = (q - gg) / den, c3 = (q + 2 - gg) / den;
  let V0 = 1 + c1 * B;
  const V1 = 1 - c2 * B, V2 = 1 - c3 * B;
  if (Math.abs(V0) < 1e-10) V0 = 0;
  const rho = (1 / q) * divZero(1 - A2 / q, V1) ** 2 * V0 / V2;
  return 4 + (q + 2) / (q * rho - 1);
}

/**
 * pbkrtest's `vcovAdj(model)`: the Kenward-Roger adjusted covariance matrix
 * of the fixed effects, with the fixed-effect names.
 *
 * @example
 * ```ts ignore
 * const { names, matrix } = vcovAdj(lmer("y ~ x + (x | cluster)", df));
 * ```
 */
export function vcovAdj(model: LinearMixedModel): { names: string[]; matrix: number[][] } {
  const { phiAdj, p } = kenwardRogerParts(model);
  const names = [...model.frame.x.names];
  return { names, matrix: names.map((_, i) => names.map((_, j) => phiAdj[j * p + i])) };
}
