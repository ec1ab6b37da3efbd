/**
 * The exact gradient of lme4's profiled criterion in θ, and an approximate
 * Hessian, for models whose random-effects terms are all scalar (one column
 * per level: `(1 | g)`, `(0 + x | g)`) with one head term and a dense tail:
 * two or more crossed factors with many levels.
 *
 * Why: such a fit spends everything in the dense factorization of order m
 * (5,000 levels: 42 GFlop per evaluation), and lme4's derivative-free BOBYQA
 * needs about 30 evaluations. With the gradient and the "average
 * information" matrix of REML practice (Gilmour, Thompson & Cullis 1995,
 * Biometrics 51:1440) a Newton iteration reaches a criterion at least as low
 * in 4–6 evaluations, each about twice the factorization's cost.
 *
 * The method, for A = ΛᵀZᵀZΛ + I with Λ = diag(θ_k I) and the augmented
 * matrix M of [ZΛ X] (REML):
 * - ∂ log|A| / ∂θ_k = (2/θ_k)(q_k − tr_k(A⁻¹)), tr_k the trace of A⁻¹'s
 *   diagonal block of term k (REML: of M⁻¹'s, which adds log|R_X|²'s part);
 * - ∂ r² / ∂θ_k = −2‖u_k‖²/θ_k at the penalized least-squares solution
 *   (envelope theorem, and θ_k Z_kᵀ e = u_k), so the criterion's gradient is
 *   (2/θ_k)(q_k − tr_k) − 2N‖u_k‖²/(θ_k r²), N = n − p (REML) or n (ML);
 * - the traces: with W = L_DD⁻¹ (the dense tail factor's Z and X part
 *   inverted, LAPACK's dtrtri), a tail column's diagonal entry of M⁻¹ is
 *   ‖W e_c‖², and a head level l's is 1/d_l² + ‖W L_Dl‖²/d_l²;
 * - the Hessian: the average information matrix of −2 log L in (θ, σ²),
 *   AI_ij = w_iᵀ P w_j with w_k = V_θk P y = 2 Z_k u_k and
 *   w_σ² = (y − Xβ̂)/σ², where w_iᵀ P w_j = (w_iᵀw_j − h_iᵀh_j)/σ² and
 *   h = L⁻¹[ΛᵀZᵀw; Xᵀw] (ML: its Z part), profiled over σ² by a Schur
 *   complement. It needs only K + 1 triangular solves.
 *
 * Everything works in the factor's coordinates (the centred and weighted
 * design); the gradient is invariant to that.
 * @module
 */
import type { FixedDesign } from "../../design/reterm.ts";
import { trsvLower, trtriLower } from "../../linalg/triangular.ts";
import { nativeLapack } from "../../linalg/native.ts";
import type { BlockedFactor } from "./cholesky.ts";
import type { TermInfo } from "./structure.ts";

/** The gradient and the approximate Hessian of the criterion at θ. */
export interface CriterionDerivatives {
  /** ∂ criterion / ∂θ_k. */
  readonly gradient: Float64Array;
  /** The average-information approximation of the Hessian, K × K row-major. */
  readonly information: Float64Array;
}

/**
 * Why {@link DerivativeWorkspace.derivatives} does not apply to this factor
 * (every term scalar, one head term, the tail factored densely are needed),
 * or undefined when it does.
 */
export function derivativesUnsupported(f: BlockedFactor): string | undefined {
  const { terms } = f;
  const vector = terms.find((t) => t.q !== 1);
  if (vector) {
    return `the term of ${vector.group} has ${vector.q} columns per level ` +
      `(${vector.cnames.join(", ")})`;
  }
  if (terms.length < 2) return "the model has a single random-effects term";
  if (f.nHead !== 1) {
    const a = terms[0].group, b = terms[f.nHead - 1].group;
    return a === b
      ? `two terms share the grouping factor ${a}`
      : `the levels of ${a} are nested in those of ${b}`;
  }
  if (f.sparse) {
    return "the crossed factors' block is factored sparsely (many levels, few observations each)";
  }
  return undefined;
}

/** The data the information matrix needs, in the factor's coordinates. */
export interface DerivativeInput {
  /** The factor, updated at θ (successfully). */
  readonly factor: BlockedFactor;
  /** θ (one entry per term). */
  readonly theta: ArrayLike<number>;
  /** REML (else ML). */
  readonly reml: boolean;
  /** The penalized residual sum of squares r² at θ. */
  readonly pwrss: number;
  /** The spherical random effects u at θ (Z order). */
  readonly u: Float64Array;
  /** β at θ, in the factor's coordinates. */
  readonly beta: Float64Array;
  /** X as factored (centred, weighted). */
  readonly x: FixedDesign;
  /** y as factored. */
  readonly y: Float64Array;
  /** The terms with Z as factored (weighted). */
  readonly terms: readonly TermInfo[];
}

/**
 * Reusable buffers for one factor. The inverse W is formed in the factor's
 * own dense tail (no second m² array: 1.15 GB at the largest dense block),
 * which leaves the factor stale: the next use updates it.
 */
export class DerivativeWorkspace {
  readonly #acc: Float64Array;

  constructor() {
    this.#acc = new Float64Array(BAND);
  }

  /**
   * The gradient and information at the factor's θ (see the module's
   * notes). Overwrites the factor's dense tail (it is marked stale).
   */
  derivatives(input: DerivativeInput): CriterionDerivatives {
    const { factor: f, theta, reml, pwrss, u } = input;
    const K = f.terms.length;
    const nn = reml ? input.x.n - input.x.p : input.x.n;
    // the information's triangular solves need the factor: before W replaces it
    const info = information(input, nn);
    const traces = this.traces(f, reml);
    const gradient = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const t = f.terms[k], th = theta[t.thetaOffset];
      if (th === 0) continue; // the criterion is even in θ_k: a stationary point
      let uu = 0;
      for (let l = 0; l < t.size; l++) uu += u[t.zOffset + l] * u[t.zOffset + l];
      gradient[k] = (2 / th) * (t.size - traces[k]) - (2 * nn * uu) / (th * pwrss);
    }
    return { gradient, information: info };
  }

  /**
   * tr_k of A⁻¹ (ML) or of M⁻¹'s Z block (REML) for each term, from the
   * inverse of the dense tail factor's leading m − 1 rows and columns.
   */
  private traces(f: BlockedFactor, reml: boolean): Float64Array {
    const { m, tail: w, tailZ } = f;
    // W = L_DD⁻¹ in place: order d = m − 1 (y's row and column untouched),
    // leading dimension ld = m
    const d = m - 1, ld = m;
    f.markStale();
    const native = nativeLapack()?.trtri;
    if (native && d > 0) native(w, d, 0, ld);
    else trtriLower(w, d, 0, ld);
    // rows of W that count: all (REML, M⁻¹) or the Z rows (ML, A⁻¹ = L_ZZ⁻ᵀL_ZZ⁻¹)
    const lim = reml ? d : tailZ;
    const K = f.terms.length;
    const tr = new Float64Array(K);
    for (let k = 1; k < K; k++) {
      const o = f.tailOffset[k], size = f.terms[k].size;
      let s = 0;
      for (let c = o; c < o + size; c++) {
        const co = c * ld;
        for (let i = c; i < lim; i++) s += w[co + i] * w[co + i];
      }
      tr[k] = s;
    }
    // the head term: level l's column of L below the head is L_Dl (tail Z
    // rows from the sparse blocks, X rows from headF); M⁻¹'s entry is
    // (1 + ‖W L_Dl‖²) / d_l²
    const head = f.terms[0], dh = f.headDiag[0], hf = f.headF[0], nf = f.p + 1;
    // G: level l's entries of L below the head (row in W, value), rows
    // ascending, for all levels (CSC)
    const nl = head.nLevels;
    let nnz = reml ? nl * f.p : 0;
    for (let i = 1; i < K; i++) nnz += f.headOff[i][0].rowLevel.length;
    const ptr = new Int32Array(nl + 1), rs = new Int32Array(nnz), vs = new Float64Array(nnz);
    let c = 0;
    for (let l = 0; l < nl; l++) {
      for (let i = 1; i < K; i++) {
        const blk = f.headOff[i][0], o = f.tailOffset[i];
        for (let pos = blk.colPtr[l]; pos < blk.colPtr[l + 1]; pos++) {
          const r = o + blk.rowLevel[pos];
          if (r < lim) rs[c] = r, vs[c++] = blk.values[pos];
        }
      }
      if (reml) { for (let j = 0; j < f.p; j++) rs[c] = tailZ + j, vs[c++] = hf[l * nf + j]; }
      ptr[l + 1] = c;
      sortEntries(rs, vs, ptr[l], c);
    }
    // Σ_l ‖W g_l‖² / d_l², in bands of rows of W so that the band's part of
    // W stays in cache while every level passes over it
    const ss = new Float64Array(nl), acc = this.#acc;
    for (let i0 = 0; i0 < lim; i0 += BAND) {
      const i1 = Math.min(lim, i0 + BAND);
      for (let l = 0; l < nl; l++) {
        const e0 = ptr[l], e1 = ptr[l + 1];
        if (e0 === e1 || rs[e0] >= i1) continue;
        acc.fill(0, 0, i1 - i0);
        let e = e0;
        // four entries at a time (rows ascending): each acc element is
        // loaded and stored once per four columns of W
        for (; e + 3 < e1 && rs[e + 3] < i1; e += 4) {
          const fa = Math.max(rs[e], i0), fb = Math.max(rs[e + 1], i0);
          const fc = Math.max(rs[e + 2], i0), fd = Math.max(rs[e + 3], i0);
          // W[row i0 + i, column r] is at r·ld + i0 + i
          const ca = rs[e] * ld + i0, cb = rs[e + 1] * ld + i0;
          const cc = rs[e + 2] * ld + i0, cd = rs[e + 3] * ld + i0;
          const va = vs[e], vb = vs[e + 1], vc = vs[e + 2], vd = vs[e + 3];
          let i = fa - i0;
          for (const end = fb - i0; i < end; i++) acc[i] += va * w[ca + i];
          for (const end = fc - i0; i < end; i++) {
            acc[i] += va * w[ca + i] + vb * w[cb + i];
          }
          for (const end = fd - i0; i < end; i++) {
            acc[i] += va * w[ca + i] + vb * w[cb + i] + vc * w[cc + i];
          }
          for (const end = i1 - i0; i < end; i++) {
            acc[i] += va * w[ca + i] + vb * w[cb + i] + vc * w[cc + i] +
              vd * w[cd + i];
          }
        }
        for (; e < e1; e++) {
          const r = rs[e];
          if (r >= i1) break;
          const v = vs[e], from = r > i0 ? r : i0, co = r * ld + from;
          for (let i = 0, len = i1 - from, ao = from - i0; i < len; i++) {
            acc[ao + i] += v * w[co + i];
          }
        }
        let t = 0;
        for (let i = 0; i < i1 - i0; i++) t += acc[i] * acc[i];
        ss[l] += t;
      }
    }
    let s0 = 0;
    for (let l = 0; l < nl; l++) s0 += (1 + ss[l]) / (dh[l] * dh[l]);
    tr[0] = s0;
    return tr;
  }
}

/** Rows of W per band of the head trace (a band of 5,000 columns: 10 MB). */
const BAND = 256;

/** Sort entries [from, to) by row (insertion sort: a level has few entries). */
function sortEntries(rs: Int32Array, vs: Float64Array, from: number, to: number): void {
  for (let a = from + 1; a < to; a++) {
    const r = rs[a], v = vs[a];
    let b = a - 1;
    while (b >= from && rs[b] > r) {
      rs[b + 1] = rs[b], vs[b + 1] = vs[b];
      b--;
    }
    rs[b + 1] = r, vs[b + 1] = v;
  }
}

/** The profiled average-information matrix (K × K, row-major). */
function information(input: DerivativeInput, nn: number): Float64Array {
  const { factor: f, theta, reml, pwrss, u, beta, x, y, terms } = input;
  const { n, p } = x;
  const K = terms.length;
  const sigma2 = pwrss / nn;
  // w_k = 2 Z_k u_k, w_K = (y − Xβ)/σ²
  const ws: Float64Array[] = [];
  for (const t of terms) {
    const w = new Float64Array(n), { index, z } = t.term;
    for (let i = 0; i < n; i++) w[i] = 2 * z[i] * u[t.zOffset + index[i]];
    ws.push(w);
  }
  const wr = Float64Array.from(y);
  for (let j = 0; j < p; j++) {
    const bj = beta[j], col = j * n;
    for (let i = 0; i < n; i++) wr[i] -= x.x[col + i] * bj;
  }
  for (let i = 0; i < n; i++) wr[i] /= sigma2;
  ws.push(wr);
  const hs = ws.map((w) => forwardSolve(f, theta, terms, x, w, reml));
  const ai = new Float64Array((K + 1) * (K + 1));
  for (let a = 0; a <= K; a++) {
    for (let b = 0; b <= a; b++) {
      let ww = 0, hh = 0;
      const wa = ws[a], wb = ws[b], ha = hs[a], hb = hs[b];
      for (let i = 0; i < n; i++) ww += wa[i] * wb[i];
      for (let i = 0; i < ha.length; i++) hh += ha[i] * hb[i];
      ai[a * (K + 1) + b] = ai[b * (K + 1) + a] = (ww - hh) / sigma2;
    }
  }
  // profile σ² out: H = AI_θθ − AI_θσ AI_σσ⁻¹ AI_σθ
  const ss = ai[K * (K + 1) + K];
  const h = new Float64Array(K * K);
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < K; b++) {
      const cross = ss > 0 ? (ai[a * (K + 1) + K] * ai[b * (K + 1) + K]) / ss : 0;
      h[a * K + b] = ai[a * (K + 1) + b] - cross;
    }
  }
  return h;
}

/**
 * h = L⁻¹ [ΛᵀZᵀw; Xᵀw] through the head (diagonal) and the dense tail:
 * the Z part and, for REML, the X part.
 */
function forwardSolve(
  f: BlockedFactor,
  theta: ArrayLike<number>,
  terms: readonly TermInfo[],
  x: FixedDesign,
  w: Float64Array,
  reml: boolean,
): Float64Array {
  const { n, p } = x;
  const head = terms[0], nh = head.size, d = f.m - 1, tz = f.tailZ, nf = p + 1;
  const hH = new Float64Array(nh);
  const tv = new Float64Array(d);
  for (let k = 0; k < terms.length; k++) {
    const t = terms[k], th = theta[t.thetaOffset], { index, z } = t.term;
    const out = k === 0 ? hH : tv, o = k === 0 ? 0 : f.tailOffset[k];
    for (let i = 0; i < n; i++) out[o + index[i]] += th * z[i] * w[i];
  }
  for (let j = 0; j < p; j++) {
    let s = 0;
    const col = j * n;
    for (let i = 0; i < n; i++) s += x.x[col + i] * w[i];
    tv[tz + j] = s;
  }
  const dh = f.headDiag[0], hf = f.headF[0];
  for (let l = 0; l < nh; l++) {
    const v = hH[l] / dh[l];
    hH[l] = v;
    if (v === 0) continue;
    for (let i = 1; i < terms.length; i++) {
      const blk = f.headOff[i][0], o = f.tailOffset[i];
      for (let pos = blk.colPtr[l]; pos < blk.colPtr[l + 1]; pos++) {
        tv[o + blk.rowLevel[pos]] -= blk.values[pos] * v;
      }
    }
    for (let j = 0; j < p; j++) tv[tz + j] -= hf[l * nf + j] * v;
  }
  trsvLower(f.tail, d, 0, f.m, tv, 0);
  const lim = reml ? d : tz;
  const h = new Float64Array(nh + lim);
  h.set(hH);
  h.set(tv.subarray(0, lim), nh);
  return h;
}
