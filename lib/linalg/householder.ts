/**
 * Householder QR of a dense column-major matrix with R's rank detection:
 * like LINPACK's dqrdc2 (what `lm` uses), a column whose norm, after
 * removing the earlier columns, falls below `tol` times its original norm is
 * declared aliased and set aside; the decomposition continues with the rest.
 * @module
 */

/** A QR decomposition of the non-aliased columns of X. */
export interface QR {
  readonly n: number;
  /** Number of columns of the input. */
  readonly p: number;
  /** Indices of the kept (non-aliased) columns, in order. */
  readonly kept: readonly number[];
  /** Indices of aliased columns. */
  readonly aliased: readonly number[];
  /** Upper-triangular R (rank × rank), column-major. */
  readonly r: Float64Array;
  /** Householder vectors (n × rank, column-major) and their scalars. */
  readonly v: Float64Array;
  readonly beta: Float64Array;
}

/**
 * Factor X (n × p, column-major).
 *
 * @example
 * ```ts
 * import { householderQR } from "./householder.ts";
 * const qr = householderQR(new Float64Array([1, 1, 1, 0, 1, 2]), 3, 2);
 * console.log(qr.kept); // [0, 1]
 * ```
 */
export function householderQR(x: Float64Array, n: number, p: number, tol = 1e-7): QR {
  const a = Float64Array.from(x);
  const kept: number[] = [];
  const aliased: number[] = [];
  const vs: Float64Array[] = [];
  const betas: number[] = [];
  const rcols: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    const col = a.subarray(j * n, j * n + n);
    let orig = 0;
    for (let i = 0; i < n; i++) orig += x[j * n + i] * x[j * n + i];
    orig = Math.sqrt(orig);
    // Apply the earlier reflections to this column.
    for (let k = 0; k < vs.length; k++) applyReflection(vs[k], betas[k], col, k, n);
    const r = vs.length;
    let rest = 0;
    for (let i = r; i < n; i++) rest += col[i] * col[i];
    rest = Math.sqrt(rest);
    if (r >= n || rest <= tol * orig || orig === 0) {
      aliased.push(j);
      continue;
    }
    const alpha = col[r] > 0 ? -rest : rest;
    const v = new Float64Array(n);
    v[r] = col[r] - alpha;
    for (let i = r + 1; i < n; i++) v[i] = col[i];
    let vv = 0;
    for (let i = r; i < n; i++) vv += v[i] * v[i];
    const beta = vv === 0 ? 0 : 2 / vv;
    vs.push(v);
    betas.push(beta);
    const rc = new Float64Array(r + 1);
    for (let i = 0; i < r; i++) rc[i] = col[i];
    rc[r] = alpha;
    rcols.push(rc);
    kept.push(j);
  }
  const rank = kept.length;
  const R = new Float64Array(rank * rank);
  rcols.forEach((rc, j) => {
    for (let i = 0; i <= j; i++) R[j * rank + i] = rc[i];
  });
  const V = new Float64Array(n * rank);
  vs.forEach((v, k) => V.set(v, k * n));
  return { n, p, kept, aliased, r: R, v: V, beta: Float64Array.from(betas) };
}

function applyReflection(
  v: Float64Array,
  beta: number,
  col: Float64Array,
  k: number,
  n: number,
): void {
  let s = 0;
  for (let i = k; i < n; i++) s += v[i] * col[i];
  s *= beta;
  for (let i = k; i < n; i++) col[i] -= s * v[i];
}

/** Qᵀy for the decomposition (length n). */
export function qty(qr: QR, y: Float64Array): Float64Array {
  const out = Float64Array.from(y);
  for (let k = 0; k < qr.kept.length; k++) {
    applyReflection(qr.v.subarray(k * qr.n, (k + 1) * qr.n), qr.beta[k], out, k, qr.n);
  }
  return out;
}

/** Solve R b = c (upper triangular, rank × rank). */
export function backsolve(qr: QR, c: ArrayLike<number>): Float64Array {
  const k = qr.kept.length;
  const b = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = c[i];
    for (let j = i + 1; j < k; j++) s -= qr.r[j * k + i] * b[j];
    b[i] = s / qr.r[i * k + i];
  }
  return b;
}

/** (RᵀR)⁻¹ = R⁻¹R⁻ᵀ, the unscaled covariance of the coefficients (rank × rank, column-major). */
export function unscaledCov(qr: QR): Float64Array {
  const k = qr.kept.length;
  // Rinv: upper triangular inverse.
  const rinv = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    rinv[j * k + j] = 1 / qr.r[j * k + j];
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let m = i + 1; m <= j; m++) s += qr.r[m * k + i] * rinv[j * k + m];
      rinv[j * k + i] = -s / qr.r[i * k + i];
    }
  }
  const out = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      for (let m = Math.max(a, b); m < k; m++) s += rinv[m * k + a] * rinv[m * k + b];
      out[b * k + a] = s;
      out[a * k + b] = s;
    }
  }
  return out;
}
