/**
 * The random-effects structure as lme4 lays it out: the order of the terms,
 * the θ vector (names, bounds, start), and the relative covariance factor
 * Λ(θ), block diagonal with one lower-triangular q × q factor T_k per level of
 * term k. Everything here is O(number of terms); no data are touched.
 * @module
 */

import type { ReTerm } from "../../design/reterm.ts";

/** One random-effects term after lme4's reordering, with its place in Z and θ. */
export interface TermInfo {
  /** The term as the design side built it. */
  readonly term: ReTerm;
  /** Position of the term in the formula (before reordering). */
  readonly formulaIndex: number;
  /** Grouping factor name, e.g. "Subject" or "cask:batch". */
  readonly group: string;
  /** Column names of the term, e.g. ["(Intercept)", "Days"]. */
  readonly cnames: readonly string[];
  /** Number of levels ℓ of the grouping factor. */
  readonly nLevels: number;
  /** Number of columns q of the term. */
  readonly q: number;
  /** Number of columns of Z (and entries of u) for this term: ℓ·q. */
  readonly size: number;
  /** First column of this term in Z; level l, column r is zOffset + l·q + r. */
  readonly zOffset: number;
  /** First entry of this term's parameters in θ. */
  readonly thetaOffset: number;
  /** Number of θ entries of the term: q(q+1)/2. */
  readonly nTheta: number;
}

/**
 * lme4's order of random-effects terms (`mkReTrms`, `reorder.terms = TRUE`):
 * terms are left in formula order when their numbers of levels never
 * increase; otherwise they are put in `rev(order(nl))` order: decreasing
 * number of levels with ties in *reverse* formula order (R's `order` is
 * stable, and `rev` flips the ties too). Matching this matters because θ's
 * layout and names follow it.
 *
 * @returns formula indices in the order the terms take in Z and θ.
 * @example
 * ```ts
 * termOrder([2, 18, 18]); // [2, 1, 0], as lme4 orders (1|f2)+(1|Subject)+(0+Days|Subject)
 * termOrder([30, 10]); // [0, 1]
 * ```
 */
export function termOrder(nLevels: readonly number[]): number[] {
  const idx = nLevels.map((_, i) => i);
  let increases = false;
  for (let i = 1; i < nLevels.length; i++) {
    if (nLevels[i] > nLevels[i - 1]) increases = true;
  }
  if (!increases) return idx;
  idx.sort((a, b) => nLevels[a] - nLevels[b] || a - b);
  return idx.reverse();
}

/**
 * Sort the terms as lme4 does and give each its offsets in Z and θ.
 *
 * @example
 * ```ts
 * const info = termInfo([{ group: "g", levels: ["a", "b"], index: Int32Array.of(0, 1),
 *   cnames: ["(Intercept)"], z: Float64Array.of(1, 1) }]);
 * info[0].size; // 2
 * ```
 */
export function termInfo(terms: readonly ReTerm[]): TermInfo[] {
  const order = termOrder(terms.map((t) => t.levels.length));
  const out: TermInfo[] = [];
  let zOffset = 0;
  let thetaOffset = 0;
  for (const k of order) {
    const term = terms[k];
    const q = term.cnames.length;
    const nLevels = term.levels.length;
    const nTheta = (q * (q + 1)) / 2;
    out.push({
      term,
      formulaIndex: k,
      group: term.group,
      cnames: term.cnames,
      nLevels,
      q,
      size: nLevels * q,
      zOffset,
      thetaOffset,
      nTheta,
    });
    zOffset += nLevels * q;
    thetaOffset += nTheta;
  }
  return out;
}

/**
 * θ's names as lme4's `getME(m, "theta")`: for each term, its factor's lower
 * triangle column by column; a diagonal entry is "group.cname", an
 * off-diagonal one (row i, column j) "group.cname_i.cname_j".
 *
 * @example
 * ```ts
 * // (Days|Subject): ["Subject.(Intercept)", "Subject.Days.(Intercept)", "Subject.Days"]
 * ```
 */
export function thetaNames(terms: readonly TermInfo[]): string[] {
  const names: string[] = [];
  for (const t of terms) {
    for (let j = 0; j < t.q; j++) {
      for (let i = j; i < t.q; i++) {
        names.push(
          i === j ? `${t.group}.${t.cnames[i]}` : `${t.group}.${t.cnames[i]}.${t.cnames[j]}`,
        );
      }
    }
  }
  return names;
}

/** Lower bounds of θ as lme4: 0 for diagonal entries of T_k, −∞ otherwise. */
export function thetaLower(terms: readonly TermInfo[]): Float64Array {
  return thetaPattern(terms, 0, -Infinity);
}

/** lme4's starting θ: T_k = I (1 on the diagonal, 0 off it). */
export function thetaStart(terms: readonly TermInfo[]): Float64Array {
  return thetaPattern(terms, 1, 0);
}

function thetaPattern(
  terms: readonly TermInfo[],
  diag: number,
  offDiag: number,
): Float64Array {
  const n = terms.reduce((s, t) => s + t.nTheta, 0);
  const out = new Float64Array(n);
  for (const t of terms) {
    let at = t.thetaOffset;
    for (let j = 0; j < t.q; j++) {
      for (let i = j; i < t.q; i++) out[at++] = i === j ? diag : offDiag;
    }
  }
  return out;
}

/**
 * Write each term's q × q factor T_k (column-major, upper triangle zero) from
 * θ into `out[k]`, which must have length q². No allocation: this runs once
 * per objective evaluation.
 */
export function fillFactors(
  theta: ArrayLike<number>,
  terms: readonly TermInfo[],
  out: readonly Float64Array[],
): void {
  for (let k = 0; k < terms.length; k++) {
    const t = terms[k];
    const f = out[k];
    let at = t.thetaOffset;
    for (let j = 0; j < t.q; j++) {
      for (let i = 0; i < j; i++) f[j * t.q + i] = 0;
      for (let i = j; i < t.q; i++) f[j * t.q + i] = theta[at++];
    }
  }
}

/**
 * B ← Tᵀ B in place for the q × cols block B at `off` (leading dimension ld)
 * and the q × q lower factor T. Row r of Tᵀ B uses rows r.. of B only, so
 * rows are overwritten from the top.
 */
export function leftMulTrans(
  b: Float64Array,
  off: number,
  ld: number,
  cols: number,
  t: Float64Array,
  q: number,
): void {
  for (let c = 0; c < cols; c++) {
    const bc = off + c * ld;
    for (let r = 0; r < q; r++) {
      let s = 0;
      for (let k = r; k < q; k++) s += t[r * q + k] * b[bc + k];
      b[bc + r] = s;
    }
  }
}

/**
 * B ← B T in place for the rows × q block B at `off` (leading dimension ld).
 * Column c of B T uses columns c.. of B only, so columns are overwritten from
 * the left.
 */
export function rightMul(
  b: Float64Array,
  off: number,
  ld: number,
  rows: number,
  t: Float64Array,
  q: number,
): void {
  for (let c = 0; c < q; c++) {
    const bc = off + c * ld;
    const tcc = t[c * q + c];
    if (tcc !== 1) {
      for (let r = 0; r < rows; r++) b[bc + r] *= tcc;
    }
    for (let k = c + 1; k < q; k++) {
      const tkc = t[c * q + k];
      if (tkc === 0) continue;
      const bk = off + k * ld;
      for (let r = 0; r < rows; r++) b[bc + r] += b[bk + r] * tkc;
    }
  }
}
