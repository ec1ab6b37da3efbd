/**
 * R's contrast matrices: `contr.treatment` for unordered factors and
 * `contr.poly` for ordered factors.
 * @module
 */

/** A k × m contrast matrix (row-major by level) with R's column suffixes. */
export interface Contrast {
  /** values[level][column] */
  readonly values: readonly Float64Array[];
  /** Column name suffixes: level names ("B") or ".L", ".Q", ".C", "^4", … */
  readonly names: readonly string[];
}

/** R's contr.treatment: the first level is the baseline. */
export function contrTreatment(levels: readonly string[]): Contrast {
  const k = levels.length;
  const values = levels.map((_, i) => {
    const row = new Float64Array(k - 1);
    if (i > 0) row[i - 1] = 1;
    return row;
  });
  return { values, names: levels.slice(1) };
}

/** Full indicator coding (a factor not coded by contrasts, e.g. without intercept). */
export function contrDummy(levels: readonly string[]): Contrast {
  const k = levels.length;
  const values = levels.map((_, i) => {
    const row = new Float64Array(k);
    row[i] = 1;
    return row;
  });
  return { values, names: [...levels] };
}

/**
 * R's contr.poly(k): orthonormal polynomials in the scores 1..k. R takes
 * Q·diag(R) of the QR decomposition of the centred Vandermonde matrix and
 * normalises the columns; that is exactly Gram-Schmidt of the powers with
 * each column oriented along its power, which we do here in two passes of
 * modified Gram-Schmidt for accuracy.
 */
export function contrPoly(k: number): Contrast {
  if (k < 2) throw new RangeError("contr.poly needs at least 2 levels");
  const mean = (k + 1) / 2;
  const y = Array.from({ length: k }, (_, i) => i + 1 - mean);
  const cols: Float64Array[] = [];
  for (let d = 0; d < k; d++) {
    const v = new Float64Array(k);
    for (let i = 0; i < k; i++) v[i] = d === 0 ? 1 : Math.pow(y[i], d);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of cols) {
        let dot = 0;
        for (let i = 0; i < k; i++) dot += q[i] * v[i];
        for (let i = 0; i < k; i++) v[i] -= dot * q[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < k; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < k; i++) v[i] /= norm;
    cols.push(v);
  }
  const names = Array.from({ length: k - 1 }, (_, j) => {
    const d = j + 1;
    return d === 1 ? ".L" : d === 2 ? ".Q" : d === 3 ? ".C" : `^${d}`;
  });
  const values = Array.from({ length: k }, (_, i) => {
    const row = new Float64Array(k - 1);
    for (let j = 0; j < k - 1; j++) row[j] = cols[j + 1][i];
    return row;
  });
  return { values, names };
}
