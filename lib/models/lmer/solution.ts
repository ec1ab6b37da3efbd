/**
 * Everything the fitted model needs at θ̂, from the blocked factor L(θ̂):
 * β̂ and the spherical random effects u (one back substitution through Lᵀ),
 * b = Λu, σ̂, fitted values and residuals (one O(n) pass), vcov(β̂) =
 * σ̂²(R_XᵀR_X)⁻¹, and lme4's conditional variances of b (`condVar`,
 * σ̂² Λ (ΛᵀZᵀZΛ + I)⁻¹ Λᵀ, diagonal blocks per level).
 * @module
 */

import type { FixedDesign } from "../../design/reterm.ts";
import { crossprodLower, trsvLower, trsvLowerTrans, trtriLower } from "../../linalg/triangular.ts";
import { type BlockedFactor, findBlock } from "./cholesky.ts";
import type { SparseTail } from "./sparse_tail.ts";
import type { DevianceParts } from "./deviance.ts";
import type { TermInfo } from "./structure.ts";

/** The random effects of one term (terms in lme4's order). */
export interface TermSolution {
  /** The term (group, levels, cnames, offsets). */
  readonly info: TermInfo;
  /** Conditional modes b = T u, level-major: level l, column r at `l*q + r`. */
  readonly b: Float64Array;
  /**
   * lme4's conditional covariance ("postVar") of b for each level: level l's
   * q × q column-major block at `l*q*q`; σ̂² T Σ_ll Tᵀ with
   * Σ = (ΛᵀZᵀZΛ + I)⁻¹ (the uncertainty in β̂ is not included, as in lme4).
   */
  readonly condVar: Float64Array;
  /** √ of condVar's diagonal, level-major like `b`. */
  readonly condSd: Float64Array;
}

/** lme4's `getME(m, "devcomp")$cmp` entries for a linear mixed model. */
export interface DevComp {
  /** log|ΛᵀZᵀZΛ + I| (log-determinant of L_Z L_Zᵀ). */
  readonly ldL2: number;
  /** log|R_XᵀR_X|. */
  readonly ldRX2: number;
  /** Residual sum of squares ‖y − fitted‖². */
  readonly wrss: number;
  /** ‖u‖². */
  readonly ussq: number;
  /** wrss + ussq. */
  readonly pwrss: number;
  /** Not defined for linear mixed models (NA in lme4). */
  readonly drsum: number;
  /** REML criterion when fitted by REML, else NaN (NA in lme4). */
  readonly REML: number;
  /** ML deviance when fitted by ML, else NaN (NA in lme4). */
  readonly dev: number;
  /** √(pwrss / n). */
  readonly sigmaML: number;
  /** √(pwrss / (n − p)). */
  readonly sigmaREML: number;
}

/** The fitted model's numbers at one θ. */
export interface LmmSolution {
  /** The θ this solution is for. */
  readonly theta: Float64Array;
  /** Whether σ̂ and the objective are REML (else ML). */
  readonly reml: boolean;
  /** The criterion minimized (REML criterion or ML deviance) at θ. */
  readonly objective: number;
  /** Fixed effects β̂ in X's column order. */
  readonly beta: Float64Array;
  /**
   * Pearson residuals √wᵢ (yᵢ − fittedᵢ), when the model has prior weights or
   * an offset (else they equal the residuals).
   */
  readonly pearson?: Float64Array;
  /** Standard errors of β̂: √diag(vcov). */
  readonly se: Float64Array;
  /** σ̂²(R_XᵀR_X)⁻¹, p × p column-major. */
  readonly vcov: Float64Array;
  /** Residual standard deviation σ̂ (REML or ML as fitted). */
  readonly sigma: number;
  /** Spherical random effects u, in Z's column order. */
  readonly u: Float64Array;
  /** Random effects b = Λu, in Z's column order. */
  readonly b: Float64Array;
  /** Per term (lme4's order): b, conditional variances and sds. */
  readonly ranef: readonly TermSolution[];
  /** Xβ̂ + Zb̂. */
  readonly fitted: Float64Array;
  /** y − fitted. */
  readonly residuals: Float64Array;
  /** lme4's deviance components. */
  readonly devcomp: DevComp;
}

/** Inputs of {@link solve} besides the factor. */
export interface SolveInput {
  /** The blocked factor, already updated at θ. */
  readonly factor: BlockedFactor;
  /** Criterion pieces read off that factor. */
  readonly parts: DevianceParts;
  /** θ. */
  readonly theta: Float64Array;
  /** REML (else ML) σ̂ and objective. */
  readonly reml: boolean;
  /** The criterion value at θ. */
  readonly objective: number;
  /** The fixed-effects design (for fitted values). */
  readonly x: FixedDesign;
  /** The response. */
  readonly y: Float64Array;
  /**
   * Restores the factor at this θ. The conditional variances are computed
   * on first use (they need a dense inverse of the crossed block: about a
   * second on InstEval), by which time the factor may have been updated for
   * another θ.
   */
  readonly refactor?: () => void;
  /**
   * False when the rows are not at hand (a fit from aggregated
   * cross-products, lib/sources/): no O(n) pass; the residual sum of squares
   * comes from the factor (r² − ‖u‖²), and fitted values and residuals are
   * left empty for the caller to replace.
   */
  readonly rows?: boolean;
}

/**
 * Per-term solutions whose conditional variances are computed on first
 * access of `condVar` or `condSd` (for all terms at once), after restoring
 * the factor at θ̂.
 */
function lazyConditionalVariances(
  f: BlockedFactor,
  b: Float64Array,
  sigma: number,
  refactor: (() => void) | undefined,
): TermSolution[] {
  let memo: TermSolution[] | null = null;
  const all = (): TermSolution[] => {
    if (!memo) {
      refactor?.();
      memo = conditionalVariances(f, b, sigma);
    }
    return memo;
  };
  return f.terms.map((t, k) => ({
    info: t,
    b: b.slice(t.zOffset, t.zOffset + t.size),
    get condVar(): Float64Array {
      return all()[k].condVar;
    },
    get condSd(): Float64Array {
      return all()[k].condSd;
    },
  }));
}

/** Build the solution from a factor already updated at θ. */
export function solve(input: SolveInput): LmmSolution {
  const { factor: f, x, y, reml, parts } = input;
  const { n, p } = x;
  const qTotal = f.terms.reduce((s, t) => s + t.size, 0);
  const u = new Float64Array(qTotal), beta = new Float64Array(p);
  backSubstitute(f, u, beta);
  const b = scaleByLambda(f, u);
  const rows = input.rows !== false;
  const fitted = rows ? fittedValues(x, beta, f.terms, b) : new Float64Array(0);
  const residuals = new Float64Array(rows ? n : 0);
  let wrss = 0;
  for (let i = 0; i < residuals.length; i++) {
    const r = y[i] - fitted[i];
    residuals[i] = r;
    wrss += r * r;
  }
  let ussq = 0;
  for (let k = 0; k < qTotal; k++) ussq += u[k] * u[k];
  if (!rows) wrss = Math.max(parts.pwrss - ussq, 0);
  const pwrss = wrss + ussq;
  const sigmaML = Math.sqrt(pwrss / n);
  const sigmaREML = Math.sqrt(pwrss / (n - p));
  const sigma = reml ? sigmaREML : sigmaML;
  const vcov = fixedVcov(f, sigma);
  const se = new Float64Array(p);
  for (let j = 0; j < p; j++) se[j] = Math.sqrt(vcov[j * p + j]);
  const ranef = lazyConditionalVariances(f, b, sigma, input.refactor);
  return {
    theta: input.theta.slice(),
    reml,
    objective: input.objective,
    beta,
    se,
    vcov,
    sigma,
    u,
    b,
    ranef,
    fitted,
    residuals,
    devcomp: {
      ldL2: parts.ldL2,
      ldRX2: parts.ldRX2,
      wrss,
      ussq,
      pwrss,
      drsum: NaN,
      REML: reml ? input.objective : NaN,
      dev: reml ? NaN : input.objective,
      sigmaML,
      sigmaREML,
    },
  };
}

/**
 * Solve Lᵀ [u; β] = c, where c is y's row of L, into `u` (Z order) and
 * `beta`: first the dense tail (tail terms' u and β together), then the
 * head terms from the last back, each with its right-hand side
 * c_j − L[X, j]ᵀβ, one block of L[i, j]ᵀu_i subtracted at a time, and its
 * diagonal blocks solved. `xdBuf` (length ≥ the dense tail's order − 1) is
 * the tail's work space when given (PIRLS reuses one).
 */
export function backSubstitute(
  f: BlockedFactor,
  u: Float64Array,
  beta: Float64Array,
  xdBuf?: Float64Array,
): void {
  const { tailZ, p, terms } = f;
  const nf = p + 1;
  const headZ = u.length - tailZ;
  // tail: x_D = L_DD⁻ᵀ c_D, with c_D the tail and X part of y's row of L
  const xd = f.solveTail(xdBuf);
  u.set(xd.subarray(0, tailZ), headZ);
  for (let r = 0; r < p; r++) beta[r] = xd[tailZ + r];
  for (let j = f.nHead - 1; j >= 0; j--) {
    const t = terms[j];
    const q = t.q;
    const fj = f.headF[j];
    const zo = t.zOffset;
    for (let col = 0; col < t.size; col++) {
      let s = fj[col * nf + p];
      for (let r = 0; r < p; r++) s -= fj[col * nf + r] * beta[r];
      u[zo + col] = s;
    }
    // − Σ_{i > j} L[i, j]ᵀ u_i
    for (let i = j + 1; i < terms.length; i++) {
      const { colPtr, rowLevel, values } = f.headOff[i][j];
      const qi = terms[i].q;
      const io = terms[i].zOffset;
      for (let bl = 0; bl < t.nLevels; bl++) {
        for (let pos = colPtr[bl]; pos < colPtr[bl + 1]; pos++) {
          const a = rowLevel[pos];
          const vo = pos * qi * q;
          for (let c = 0; c < q; c++) {
            let s = 0;
            for (let r = 0; r < qi; r++) s += values[vo + c * qi + r] * u[io + a * qi + r];
            u[zo + bl * q + c] -= s;
          }
        }
      }
    }
    const d = f.headDiag[j];
    if (q === 1) {
      // trsvLowerTrans of one column: x / l
      for (let bl = 0; bl < t.nLevels; bl++) u[zo + bl] /= d[bl];
    } else {
      for (let bl = 0; bl < t.nLevels; bl++) trsvLowerTrans(d, q, bl * q * q, q, u, zo + bl * q);
    }
  }
}

/**
 * b = Λu: T_k times each level's q-vector, into `out` when given (PIRLS
 * reuses its buffers) or a new array.
 */
export function scaleByLambda(
  f: BlockedFactor,
  u: Float64Array,
  out: Float64Array = new Float64Array(u.length),
): Float64Array {
  const b = out;
  for (let k = 0; k < f.terms.length; k++) {
    const t = f.terms[k];
    const T = f.lambda[k];
    const q = t.q;
    if (q === 1) {
      // the loop below for q = 1 (0 + T·u), without its inner loops
      const s = T[0], o = t.zOffset;
      for (let l = 0; l < t.nLevels; l++) b[o + l] = 0 + s * u[o + l];
      continue;
    }
    for (let l = 0; l < t.nLevels; l++) {
      const o = t.zOffset + l * q;
      for (let r = 0; r < q; r++) {
        let s = 0;
        for (let c = 0; c <= r; c++) s += T[c * q + r] * u[o + c];
        b[o + r] = s;
      }
    }
  }
  return b;
}

/** Xβ + Σ_k Z_k b_k, reading Z from the terms' level index and value rows. */
export function fittedValues(
  x: FixedDesign,
  beta: Float64Array,
  terms: readonly TermInfo[],
  b: Float64Array,
): Float64Array {
  const { n, p } = x;
  const out = new Float64Array(n);
  for (let j = 0; j < p; j++) {
    const bj = beta[j];
    const col = j * n;
    for (let i = 0; i < n; i++) out[i] += x.x[col + i] * bj;
  }
  for (const t of terms) {
    const { index, z } = t.term;
    const q = t.q;
    for (let i = 0; i < n; i++) {
      const o = t.zOffset + index[i] * q;
      let s = 0;
      for (let r = 0; r < q; r++) s += z[i * q + r] * b[o + r];
      out[i] += s;
    }
  }
  return out;
}

/** σ²(R_XᵀR_X)⁻¹ = σ² L_X⁻ᵀ L_X⁻¹ with L_X the X block of the tail factor. */
function fixedVcov(f: BlockedFactor, sigma: number): Float64Array {
  const { p, m, tail, denseZ: tailZ } = f;
  const w = new Float64Array(p * p);
  for (let c = 0; c < p; c++) {
    for (let r = c; r < p; r++) w[c * p + r] = tail[(tailZ + c) * m + tailZ + r];
  }
  trtriLower(w, p, 0, p);
  const v = new Float64Array(p * p);
  crossprodLower(w, p, 0, p, v);
  const s2 = sigma * sigma;
  for (let k = 0; k < v.length; k++) v[k] *= s2;
  return v;
}

/**
 * Diagonal blocks of Σ = (L_Z L_Zᵀ)⁻¹, scaled to σ² T Σ_ll Tᵀ per level.
 * With L_Z = [L_SS 0; L_TS L_TT] (head S, dense tail T):
 * - tail levels: blocks of Σ_TT = L_TT⁻ᵀ L_TT⁻¹ (formed densely);
 * - head level c: Σ_cc = X_Sᵀ X_S + Vᵀ Σ_TT V with X_S = L_SS⁻¹ E_c and
 *   V = L_TS X_S. X_S is a chain of one block per head term (each head column
 *   has one block in every later head term), and V is sparse.
 */
function conditionalVariances(
  f: BlockedFactor,
  b: Float64Array,
  sigma: number,
): TermSolution[] {
  const { terms, tailZ } = f;
  const quad = f.sparse ? sparseTailQuad(f.sparse) : denseTailQuad(f.tailCovariance(), tailZ);
  const headCov = new HeadCovariance(f, quad);
  const rows = new Int32Array(terms.reduce((m, t) => Math.max(m, t.q), 1));
  const unit = new Float64Array(rows.length * tailZ);
  const out: TermSolution[] = [];
  for (let k = 0; k < terms.length; k++) {
    const t = terms[k];
    const q = t.q;
    const cv = new Float64Array(t.nLevels * q * q);
    const blk = new Float64Array(q * q);
    for (let l = 0; l < t.nLevels; l++) {
      if (k < f.nHead) headCov.block(k, l, blk);
      else {
        // E_lᵀ Σ_TT E_l with E_l the level's q unit columns
        const o = f.tailOffset[k] + l * q;
        for (let r = 0; r < q; r++) {
          rows[r] = o + r;
          for (let h = 0; h < q; h++) unit[h * tailZ + o + r] = r === h ? 1 : 0;
        }
        blk.fill(0);
        quad(rows, q, unit, q, blk);
      }
      sandwich(f.lambda[k], blk, q, sigma * sigma, cv, l * q * q);
    }
    const sd = new Float64Array(t.size);
    for (let l = 0; l < t.nLevels; l++) {
      for (let r = 0; r < q; r++) sd[l * q + r] = Math.sqrt(cv[l * q * q + r * q + r]);
    }
    out.push({
      info: t,
      b: b.slice(t.zOffset, t.zOffset + t.size),
      condVar: cv,
      condSd: sd,
    });
  }
  return out;
}

/** out[off..] = s · T S Tᵀ for q × q S and lower T (column-major). */
function sandwich(
  T: Float64Array,
  S: Float64Array,
  q: number,
  s: number,
  out: Float64Array,
  off: number,
): void {
  for (let c = 0; c < q; c++) {
    for (let r = 0; r < q; r++) {
      let acc = 0;
      for (let a = 0; a <= r; a++) {
        for (let bb = 0; bb <= c; bb++) acc += T[a * q + r] * S[bb * q + a] * T[bb * q + c];
      }
      out[off + c * q + r] = s * acc;
    }
  }
}

/**
 * out (q × q) += Vᵀ Σ_TT V for V (tailZ × q, column h at `v[h*tailZ ..]`)
 * whose nonzero rows (natural tail order) are among `rows[0 .. nt-1]`.
 */
type TailQuad = (
  rows: Int32Array,
  nt: number,
  v: Float64Array,
  q: number,
  out: Float64Array,
) => void;

/** {@link TailQuad} from the dense Σ_TT (both triangles). */
function denseTailQuad(sigTT: Float64Array, tailZ: number): TailQuad {
  return (rows, nt, v, q, out) => {
    for (let h1 = 0; h1 < q; h1++) {
      for (let h2 = 0; h2 < q; h2++) {
        let s = 0;
        for (let a = 0; a < nt; a++) {
          const ra = rows[a];
          const va = v[h1 * tailZ + ra];
          if (va === 0) continue;
          let inner = 0;
          for (let bb = 0; bb < nt; bb++) {
            const rb = rows[bb];
            inner += sigTT[rb * tailZ + ra] * v[h2 * tailZ + rb];
          }
          s += va * inner;
        }
        out[h2 * q + h1] += s;
      }
    }
  };
}

/**
 * {@link TailQuad} on the sparse path, without forming Σ_TT: Vᵀ Σ_TT V =
 * Wᵀ W with W = L_TT⁻¹ P V (one sparse forward solve per column of V).
 */
function sparseTailQuad(sp: SparseTail): TailQuad {
  const { tz, position } = sp;
  let w = new Float64Array(0);
  return (rows, nt, v, q, out) => {
    if (w.length < q * tz) w = new Float64Array(q * tz);
    for (let h = 0; h < q; h++) {
      const wo = h * tz;
      w.fill(0, wo, wo + tz);
      let first = tz;
      for (let a = 0; a < nt; a++) {
        const pos = position[rows[a]];
        w[wo + pos] = v[h * tz + rows[a]];
        if (pos < first) first = pos;
      }
      sp.forwardSolve(w, wo, first);
    }
    for (let h1 = 0; h1 < q; h1++) {
      for (let h2 = 0; h2 < q; h2++) {
        let s = 0;
        for (let i = 0; i < tz; i++) s += w[h1 * tz + i] * w[h2 * tz + i];
        out[h2 * q + h1] += s;
      }
    }
  };
}

/** Σ_cc for head levels: the chain forward solve and the tail quadratic form. */
class HeadCovariance {
  private readonly f: BlockedFactor;
  private readonly quad: TailQuad;
  /** chain blocks x_j (q_j × q_k), per head term. */
  private readonly chain: Float64Array[];
  private readonly level: Int32Array;
  private readonly v: Float64Array;
  private readonly touched: Int32Array;
  private readonly mark: Uint8Array;

  constructor(f: BlockedFactor, quad: TailQuad) {
    this.f = f;
    this.quad = quad;
    const qmax = f.terms.reduce((s, t) => Math.max(s, t.q), 1);
    this.chain = f.terms.slice(0, f.nHead).map((t) => new Float64Array(t.q * qmax));
    this.level = new Int32Array(f.nHead);
    this.v = new Float64Array(f.tailZ * qmax);
    this.touched = new Int32Array(f.tailZ);
    this.mark = new Uint8Array(f.tailZ);
  }

  /** Write Σ_cc (q_k × q_k) for level l of head term k into `out`. */
  block(k: number, l: number, out: Float64Array): void {
    const { f, chain, level } = this;
    const { terms } = f;
    const qk = terms[k].q;
    // x_k = L_kk[l]⁻¹ (columns: unit vectors)
    const xk = chain[k];
    xk.fill(0, 0, qk * qk);
    for (let h = 0; h < qk; h++) {
      xk[h * qk + h] = 1;
      trsvLower(f.headDiag[k], qk, l * qk * qk, qk, xk, h * qk);
    }
    level[k] = l;
    for (let i = k + 1; i < f.nHead; i++) {
      const qi = terms[i].q;
      const first = f.headOff[i][k];
      const xi = chain[i];
      xi.fill(0, 0, qi * qk);
      // the chain ends at a level without observations (its column is empty)
      const a = first.colPtr[l + 1] > first.colPtr[l] ? first.rowLevel[first.colPtr[l]] : -1;
      level[i] = a;
      if (a < 0) continue;
      for (let j = k; j < i; j++) {
        if (level[j] < 0) continue;
        const blk = f.headOff[i][j];
        const pos = findBlock(blk, level[j], a);
        if (pos < 0) continue;
        subProduct(xi, blk.values, pos * qi * terms[j].q, chain[j], qi, terms[j].q, qk);
      }
      for (let h = 0; h < qk; h++) {
        trsvLower(f.headDiag[i], qi, a * qi * qi, qi, xi, h * qi);
      }
    }
    out.fill(0, 0, qk * qk);
    for (let j = k; j < f.nHead; j++) addCrossprod(out, chain[j], terms[j].q, qk);
    if (f.tailZ > 0) this.addTailPart(k, out);
  }

  /** out += Vᵀ Σ_TT V with V = L_TS X_S (only V's nonzero rows are visited). */
  private addTailPart(k: number, out: Float64Array): void {
    const { f, chain, level, v, touched, mark } = this;
    const { terms, tailZ } = f;
    const qk = terms[k].q;
    let nt = 0;
    for (let t = f.nHead; t < terms.length; t++) {
      const qt = terms[t].q;
      const ot = f.tailOffset[t];
      for (let j = k; j < f.nHead; j++) {
        const blk = f.headOff[t][j];
        const qj = terms[j].q;
        const xj = chain[j];
        const bl = level[j];
        if (bl < 0) continue;
        for (let pos = blk.colPtr[bl]; pos < blk.colPtr[bl + 1]; pos++) {
          const row = ot + blk.rowLevel[pos] * qt;
          const vo = pos * qt * qj;
          for (let rr = 0; rr < qt; rr++) {
            const gr = row + rr;
            if (!mark[gr]) {
              mark[gr] = 1;
              touched[nt++] = gr;
              for (let h = 0; h < qk; h++) v[h * tailZ + gr] = 0;
            }
            for (let h = 0; h < qk; h++) {
              let s = 0;
              for (let c = 0; c < qj; c++) s += blk.values[vo + c * qt + rr] * xj[h * qj + c];
              v[h * tailZ + gr] += s;
            }
          }
        }
      }
    }
    this.quad(touched, nt, v, qk, out);
    for (let a = 0; a < nt; a++) mark[touched[a]] = 0;
  }
}

/** x (qi × qk) −= A (qi × qj, at offA) · y (qj × qk). */
function subProduct(
  x: Float64Array,
  a: Float64Array,
  offA: number,
  y: Float64Array,
  qi: number,
  qj: number,
  qk: number,
): void {
  for (let h = 0; h < qk; h++) {
    for (let c = 0; c < qj; c++) {
      const ych = y[h * qj + c];
      if (ych === 0) continue;
      for (let r = 0; r < qi; r++) x[h * qi + r] -= a[offA + c * qi + r] * ych;
    }
  }
}

/** out (qk × qk) += xᵀ x for x qj × qk. */
function addCrossprod(out: Float64Array, x: Float64Array, qj: number, qk: number): void {
  for (let c = 0; c < qk; c++) {
    for (let r = 0; r < qk; r++) {
      let s = 0;
      for (let h = 0; h < qj; h++) s += x[r * qj + h] * x[c * qj + h];
      out[c * qk + r] += s;
    }
  }
}
