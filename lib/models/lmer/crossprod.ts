/**
 * The one pass over the data: the blocks of A = [Z X y]ᵀ[Z X y].
 *
 * With Z = [Z_1 … Z_K] (terms in lme4's order) and F = [X y], A's blocks are
 * - Z_kᵀZ_k: block diagonal, one q_k × q_k block per level (an observation
 *   belongs to exactly one level of a factor);
 * - Z_iᵀZ_j (i > j): sparse, one q_i × q_j block for each pair of levels that
 *   occur together in some observation ({@link BlockSparse});
 * - FᵀZ_k: dense (p+1) × ℓ_k q_k; FᵀF: dense (p+1) × (p+1).
 * Nothing of size n × (number of random effects) is ever formed: Z is read
 * from each term's level index and its n × q value rows.
 * @module
 */

import type { FixedDesign } from "../../design/reterm.ts";
import type { TermInfo } from "./structure.ts";

/**
 * A sparse matrix of dense qi × qj blocks in compressed-column form, indexed
 * by levels: the blocks of column level b are positions
 * `colPtr[b] .. colPtr[b+1]-1`, with row levels `rowLevel[pos]` (ascending)
 * and values `values[pos*qi*qj ..]` (each block column-major).
 */
export interface BlockSparse {
  /** Rows per block (q of the row term). */
  readonly qi: number;
  /** Columns per block (q of the column term). */
  readonly qj: number;
  /** Column pointers, length = number of column levels + 1. */
  readonly colPtr: Int32Array;
  /** Row level of each block, ascending within a column. */
  readonly rowLevel: Int32Array;
  /** Block values, qi·qj per block, column-major within the block. */
  readonly values: Float64Array;
}

/** A = [Z X y]ᵀ[Z X y] in blocks, for terms in lme4's order. */
export interface CrossProducts {
  /** Number of observations. */
  readonly n: number;
  /** Number of fixed-effect columns (F = [X y] has p + 1). */
  readonly p: number;
  /** Z_kᵀZ_k: level l's q × q block (column-major) at `l*q*q`. */
  readonly diag: readonly Float64Array[];
  /** Z_iᵀZ_j for i > j at `off[i][j]` (entries with i ≤ j are undefined). */
  readonly off: readonly (readonly BlockSparse[])[];
  /** FᵀZ_k: (p+1) × ℓ_k q_k, column-major (Z column c at `c*(p+1)`). */
  readonly fz: readonly Float64Array[];
  /** FᵀF: (p+1) × (p+1), column-major, both triangles. */
  readonly ff: Float64Array;
}

/**
 * Form the blocks of A in O(n·(p + Σq)² ) time, reading the data once per
 * block row. Validates lengths and level indices.
 *
 * @example
 * ```ts
 * const a = crossProducts(x, y, termInfo(reTerms));
 * a.ff[0]; // n when X's first column is the intercept
 * ```
 */
export function crossProducts(
  x: FixedDesign,
  y: Float64Array,
  terms: readonly TermInfo[],
): CrossProducts {
  const { n, p } = x;
  validate(x, y, terms);
  const diag = terms.map((t) => diagBlocks(t, n));
  const fz = terms.map((t) => fixedByTerm(x, y, t));
  const off: BlockSparse[][] = terms.map(() => []);
  const perm = new Int32Array(n);
  for (let j = 0; j < terms.length; j++) {
    if (j === terms.length - 1) break;
    const start = bucketByLevel(terms[j], perm);
    for (let i = j + 1; i < terms.length; i++) {
      off[i][j] = offBlocks(terms[i], terms[j], perm, start);
    }
  }
  return { n, p, diag, off, fz, ff: fixedCrossprod(x, y) };
}

function validate(
  x: FixedDesign,
  y: Float64Array,
  terms: readonly TermInfo[],
): void {
  const { n, p } = x;
  if (x.x.length !== n * p) {
    throw new Error(`X has ${x.x.length} values, expected n*p = ${n * p}`);
  }
  if (y.length !== n) {
    throw new Error(`response has length ${y.length}, expected n = ${n}`);
  }
  for (const t of terms) {
    const { index, z } = t.term;
    if (index.length !== n || z.length !== n * t.q) {
      throw new Error(
        `random-effects term for ${t.group}: index/z lengths ` +
          `${index.length}/${z.length} do not match n = ${n}, q = ${t.q}`,
      );
    }
    for (let i = 0; i < n; i++) {
      const l = index[i];
      if (l < 0 || l >= t.nLevels) {
        throw new Error(
          `random-effects term for ${t.group}: observation ${i} has level ` +
            `index ${l} outside 0..${t.nLevels - 1}`,
        );
      }
    }
  }
}

/** Z_kᵀZ_k as ℓ blocks of q × q: Σ over the level's observations of z zᵀ. */
function diagBlocks(t: TermInfo, n: number): Float64Array {
  const { q } = t;
  const { index, z } = t.term;
  const out = new Float64Array(t.nLevels * q * q);
  if (q === 1) {
    for (let i = 0; i < n; i++) out[index[i]] += z[i] * z[i];
    return out;
  }
  for (let i = 0; i < n; i++) {
    const base = index[i] * q * q;
    const zi = i * q;
    for (let c = 0; c < q; c++) {
      const zc = z[zi + c];
      if (zc === 0) continue;
      for (let r = 0; r < q; r++) out[base + c * q + r] += z[zi + r] * zc;
    }
  }
  return out;
}

/** FᵀZ_k: column l*q + c gets Σ_i f_i z_ic over level l's observations. */
export function fixedByTerm(
  x: FixedDesign,
  y: Float64Array,
  t: TermInfo,
): Float64Array {
  const { n, p } = x;
  const xv = x.x;
  const nf = p + 1;
  const { q } = t;
  const { index, z } = t.term;
  const out = new Float64Array(nf * t.size);
  for (let i = 0; i < n; i++) {
    const zi = i * q;
    const lq = index[i] * q;
    for (let c = 0; c < q; c++) {
      const zc = z[zi + c];
      if (zc === 0) continue;
      const col = (lq + c) * nf;
      for (let j = 0; j < p; j++) out[col + j] += xv[j * n + i] * zc;
      out[col + p] += y[i] * zc;
    }
  }
  return out;
}

/** FᵀF (both triangles) from dot products of F's contiguous columns. */
export function fixedCrossprod(x: FixedDesign, y: Float64Array): Float64Array {
  const { n, p } = x;
  const nf = p + 1;
  const out = new Float64Array(nf * nf);
  const col = (j: number): Float64Array => j < p ? x.x.subarray(j * n, j * n + n) : y;
  for (let j = 0; j < nf; j++) {
    const cj = col(j);
    for (let i = j; i < nf; i++) {
      const ci = col(i);
      let s = 0;
      for (let r = 0; r < n; r++) s += ci[r] * cj[r];
      out[j * nf + i] = s;
      out[i * nf + j] = s;
    }
  }
  return out;
}

/**
 * Counting sort of the observations by their level of term t: on return,
 * the observations of level b are `perm[start[b] .. start[b+1]-1]`, in their
 * original order. Returns `start`.
 */
function bucketByLevel(t: TermInfo, perm: Int32Array): Int32Array {
  const { index } = t.term;
  const start = new Int32Array(t.nLevels + 1);
  for (let i = 0; i < index.length; i++) start[index[i] + 1]++;
  for (let b = 0; b < t.nLevels; b++) start[b + 1] += start[b];
  const next = start.slice(0, t.nLevels);
  for (let i = 0; i < index.length; i++) perm[next[index[i]]++] = i;
  return start;
}

/**
 * Z_iᵀZ_j with observations bucketed by term j's level: pass 1 counts the
 * distinct row levels per column, pass 2 fixes their (sorted) positions and
 * accumulates z_i z_jᵀ into the blocks.
 */
function offBlocks(
  ti: TermInfo,
  tj: TermInfo,
  perm: Int32Array,
  start: Int32Array,
): BlockSparse {
  const ai = ti.term.index;
  const zi = ti.term.z;
  const zj = tj.term.z;
  const qi = ti.q, qj = tj.q, bs = qi * qj;
  const stamp = new Int32Array(ti.nLevels).fill(-1);
  const colPtr = new Int32Array(tj.nLevels + 1);
  for (let b = 0; b < tj.nLevels; b++) {
    let count = 0;
    for (let k = start[b]; k < start[b + 1]; k++) {
      const a = ai[perm[k]];
      if (stamp[a] !== b) {
        stamp[a] = b;
        count++;
      }
    }
    colPtr[b + 1] = colPtr[b] + count;
  }
  const rowLevel = new Int32Array(colPtr[tj.nLevels]);
  const values = new Float64Array(rowLevel.length * bs);
  const pos = new Int32Array(ti.nLevels);
  stamp.fill(-1);
  for (let b = 0; b < tj.nLevels; b++) {
    let at = colPtr[b];
    for (let k = start[b]; k < start[b + 1]; k++) {
      const a = ai[perm[k]];
      if (stamp[a] !== b) {
        stamp[a] = b;
        rowLevel[at++] = a;
      }
    }
    const rows = rowLevel.subarray(colPtr[b], colPtr[b + 1]);
    rows.sort();
    for (let k = 0; k < rows.length; k++) pos[rows[k]] = colPtr[b] + k;
    for (let k = start[b]; k < start[b + 1]; k++) {
      const obs = perm[k];
      const blk = pos[ai[obs]] * bs;
      for (let c = 0; c < qj; c++) {
        const zc = zj[obs * qj + c];
        if (zc === 0) continue;
        for (let r = 0; r < qi; r++) {
          values[blk + c * qi + r] += zi[obs * qi + r] * zc;
        }
      }
    }
  }
  return { qi, qj, colPtr, rowLevel, values };
}
