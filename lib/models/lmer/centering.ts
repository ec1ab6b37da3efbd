/**
 * Centring the fixed effects before the cross-products, so that the fit does
 * not depend on where the data sit.
 *
 * The criterion is read off A = [Z X y]ᵀ[Z X y]: r² is what remains of yᵀy
 * after the Schur complements. With a response whose mean is 10⁸ times its
 * spread, yᵀy ≈ n·10¹⁶ holds no digit of r², and θ̂ drifts (lme4 is immune:
 * it computes r² from residuals). With an intercept column k, replacing y,
 * and each other column of X whose mean exceeds its spread, by its deviation
 * from the column mean (a = those means, 0 for the other columns),
 *
 *     F̃ = F S,   S = I − e_k aᵀ   (a_k = 0),
 *
 * changes neither the column space nor the residuals (det S = 1, so
 * log|R_X|² and the criterion are unchanged), but keeps every entry of Ã at
 * the scale of the spread. Estimates map back exactly:
 *
 *     β = β̃ + e_k (a_y − a_Xᵀβ̃),   vcov(β) = M vcov(β̃) Mᵀ with M = I − e_k a_Xᵀ,
 *     fitted = fitted̃ + a_y,  residuals unchanged.
 *
 * Models without an all-ones column are left as they are (their fit is not
 * location invariant in lme4 either, except when factor codings add up to
 * an intercept).
 * @module
 */
import type { FixedDesign } from "../../design/reterm.ts";

/** The shift of F = [X y] by multiples of the intercept column. */
export interface Centering {
  /** The intercept column. */
  readonly k: number;
  /** Column means subtracted: a[0..p) for X (a[k] = 0), a[p] for y. */
  readonly a: Float64Array;
  /** The centred design X̃. */
  readonly x: FixedDesign;
  /** The centred response ỹ. */
  readonly y: Float64Array;
}

/**
 * An accurate (weighted) mean: the plain mean, corrected by the mean of the
 * deviations.
 */
function mean(v: Float64Array, off: number, n: number, w?: Float64Array): number {
  let s = 0, sw = 0;
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i] : 1;
    s += wi * v[off + i];
    sw += wi;
  }
  const m = s / sw;
  let c = 0;
  for (let i = 0; i < n; i++) c += (w ? w[i] : 1) * (v[off + i] - m);
  return m + c / sw;
}

/**
 * The (weighted) root mean square deviation from `m`. A column whose mean is
 * within one of these of zero is left as it is: centring it gains no digits
 * (the cancellation grows with (mean/spread)²), and leaving dummy codings
 * and centred covariates alone keeps the optimizer on lme4's path.
 */
function spread(v: Float64Array, off: number, n: number, m: number, w?: Float64Array): number {
  let ss = 0, sw = 0;
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i] : 1, d = v[off + i] - m;
    ss += wi * d * d;
    sw += wi;
  }
  return Math.sqrt(ss / sw);
}

/** The first column of X whose entries are all exactly 1, or −1. */
export function interceptColumn(x: FixedDesign): number {
  const { n, p } = x;
  outer: for (let j = 0; j < p; j++) {
    const off = j * n;
    for (let i = 0; i < n; i++) if (x.x[off + i] !== 1) continue outer;
    return j;
  }
  return -1;
}

/**
 * Centre X's non-intercept columns and y at their (weighted) means, or
 * undefined when X has no intercept column.
 */
export function centerDesign(
  x: FixedDesign,
  y: Float64Array,
  w?: Float64Array,
): Centering | undefined {
  const k = interceptColumn(x);
  if (k < 0) return undefined;
  const { n, p } = x;
  const a = new Float64Array(p + 1);
  const xc = new Float64Array(n * p);
  for (let j = 0; j < p; j++) {
    const off = j * n;
    let m = j === k ? 0 : mean(x.x, off, n, w);
    if (m !== 0 && Math.abs(m) <= spread(x.x, off, n, m, w)) m = 0;
    a[j] = m;
    for (let i = 0; i < n; i++) xc[off + i] = x.x[off + i] - m;
  }
  const ym = mean(y, 0, n, w);
  a[p] = ym;
  const yc = new Float64Array(n);
  for (let i = 0; i < n; i++) yc[i] = y[i] - ym;
  return { k, a, x: { ...x, x: xc }, y: yc };
}

/** β from β̃ (in place on a copy). */
export function uncenterBeta(beta: Float64Array, cen: Centering): Float64Array {
  const p = beta.length, { k, a } = cen;
  const out = beta.slice();
  let s = a[p];
  for (let j = 0; j < p; j++) if (j !== k) s -= a[j] * beta[j];
  out[k] += s;
  return out;
}

/** vcov(β) = M vcov(β̃) Mᵀ with M = I − e_k a_Xᵀ (p × p, column-major). */
export function uncenterVcov(v: Float64Array, cen: Centering, p: number): Float64Array {
  const { k, a } = cen;
  // W = M V: row k becomes V[k,:] − Σ_j a_j V[j,:]
  const w = v.slice();
  for (let c = 0; c < p; c++) {
    let s = v[c * p + k];
    for (let j = 0; j < p; j++) if (j !== k) s -= a[j] * v[c * p + j];
    w[c * p + k] = s;
  }
  // M W Mᵀ = W Mᵀ: column k becomes W[:,k] − Σ_j a_j W[:,j]
  const out = w.slice();
  for (let r = 0; r < p; r++) {
    let s = w[k * p + r];
    for (let j = 0; j < p; j++) if (j !== k) s -= a[j] * w[j * p + r];
    out[k * p + r] = s;
  }
  return out;
}
