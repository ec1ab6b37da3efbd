/**
 * Number formatting as R prints it: `format(x, digits)` chooses one common
 * fixed or scientific layout for a vector (R's formatReal), `signif`,
 * `format.pval`, and `printCoefmat`'s coefficient table with stars. Text
 * output of every result goes through here so it reads like R's.
 * @module
 */

interface SciParts {
  neg: boolean;
  nsig: number; // significant digits actually needed (≤ digits)
  e: number; // decimal exponent after rounding to `digits`
}

function sciParts(x: number, digits: number): SciParts {
  const s = Math.abs(x).toExponential(Math.max(0, digits - 1));
  const [mant, exp] = s.split("e");
  const m = mant.replace(".", "").replace(/0+$/, "");
  return { neg: x < 0, nsig: Math.max(1, m.length), e: Number(exp) };
}

/**
 * R's `format(x, digits = d)` for a numeric vector: the fewest significant
 * digits (at most `digits`) that show every element to `digits` significant
 * digits, in a common fixed layout unless scientific is narrower. Strings are
 * right-aligned to a common width. NaN/NA print as "NA", ±Inf as "Inf"/"-Inf".
 */
export function formatReal(xs: readonly number[], digits = 7, scipen = 0): string[] {
  const finite = xs.filter((x) => Number.isFinite(x));
  let neg = false, mxsl = 1, rgt = 0, mxe = 1, mxns = 1, anyNonZero = false;
  for (const x of finite) {
    if (x < 0) neg = true;
    if (x === 0) continue;
    anyNonZero = true;
    const p = sciParts(x, digits);
    const left = p.e >= 0 ? p.e + 1 : 1;
    mxsl = Math.max(mxsl, left);
    rgt = Math.max(rgt, p.nsig - p.e - 1);
    mxns = Math.max(mxns, p.nsig);
    mxe = Math.max(mxe, Math.abs(p.e) >= 100 ? 3 : 2);
  }
  rgt = Math.max(0, rgt);
  const fixedWidth = (neg ? 1 : 0) + mxsl + (rgt > 0 ? rgt + 1 : 0);
  const sciWidth = (neg ? 1 : 0) + (mxns > 1 ? mxns + 1 : mxns) + 2 + mxe;
  const useFixed = !anyNonZero || fixedWidth <= sciWidth + scipen;
  const out = xs.map((x) => {
    if (Number.isNaN(x)) return "NA";
    if (!Number.isFinite(x)) return x > 0 ? "Inf" : "-Inf";
    if (useFixed) return x.toFixed(Math.min(rgt, 100));
    const s = x.toExponential(mxns - 1);
    return s.replace(/e([+-])(\d)$/, "e$10$2");
  });
  const w = Math.max(0, ...out.map((s) => s.length));
  return out.map((s) => s.padStart(w));
}

/** One number formatted as R's `format(x, digits)` would print it alone. */
export function formatNum(x: number, digits = 7): string {
  return formatReal([x], digits)[0];
}

/** R's `signif(x, digits)`. */
export function signif(x: number, digits: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  return Number(x.toPrecision(digits));
}

/** R's `round(x, digits)` (half away from zero on the decimal representation). */
export function roundTo(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  // Shift the decimal point in the string form to avoid binary scaling error;
  // fall back to arithmetic when the value prints in exponent notation.
  const a = String(Math.abs(x));
  if (a.includes("e")) return Math.round(x * 10 ** digits) / 10 ** digits;
  const s = Number(`${a}e${digits}`);
  return Math.sign(x) * Number(`${Math.round(s)}e${-digits}`);
}

/** R's `format.pval(pv, digits)`, with "< 2e-16" below machine epsilon (R 4.2's rules). */
export function formatPval(
  pv: readonly number[],
  digits = 3,
  eps = 2.220446049250313e-16,
): string[] {
  const out = new Array<string>(pv.length).fill("");
  const fix: number[] = [], sci: number[] = [], zero: number[] = [];
  pv.forEach((p, i) => {
    if (Number.isNaN(p)) out[i] = "NA";
    else if (p < eps) zero.push(i);
    else {
      const expo = Math.floor(Math.log10(p > 0 ? p : 1e-50));
      (expo >= -3 || (expo === -4 && digits > 1) ? fix : sci).push(i);
    }
  });
  let nc = 0;
  for (const group of [fix, sci]) {
    if (!group.length) continue;
    const f = formatReal(group.map((i) => pv[i]), digits);
    group.forEach((i, k) => (out[i] = f[k]));
    nc = Math.max(nc, ...f.map((s) => s.length));
  }
  if (zero.length) {
    let d = Math.max(1, digits - 2);
    let sep: string;
    if (fix.length + sci.length) {
      if (d > 1 && d + 6 > nc) d = Math.max(1, nc - 7);
      sep = d === 1 && nc <= 6 ? "" : " ";
    } else sep = d === 1 ? "" : " ";
    const e = formatNum(eps, d);
    for (const i of zero) out[i] = `<${sep}${e}`;
  }
  return out;
}

/** Significance stars as R's symnum with the usual cut points. */
export function stars(p: number): string {
  if (Number.isNaN(p)) return "";
  return p < 0.001 ? "***" : p < 0.01 ? "**" : p < 0.05 ? "*" : p < 0.1 ? "." : " ";
}

/** Pad a table of strings into aligned text; first column left-aligned. */
export function alignTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, j) => Math.max(...all.map((r) => (r[j] ?? "").length)));
  return all
    .map((r) =>
      r.map((c, j) => (j === 0 ? (c ?? "").padEnd(widths[j]) : (c ?? "").padStart(widths[j]))).join(
        " ",
      )
    )
    .join("\n");
}

/** Options of {@link printCoefmat}. */
export interface CoefmatOptions {
  readonly digits?: number;
  /** Index of the p-value column, if any (it gets format.pval and stars). */
  readonly pColumn?: number;
  /** Indices of estimate-like columns formatted jointly (default [0, 1]). */
  readonly csColumns?: readonly number[];
  /** Indices of test-statistic columns (default: the rest except p). */
  readonly testColumns?: readonly number[];
  readonly signifStars?: boolean;
}

/**
 * R's printCoefmat: estimates and standard errors rounded and formatted
 * together, test statistics to `digits - 1` decimals, p-values by
 * format.pval, and significance stars with their legend.
 */
export function printCoefmat(
  rowNames: readonly string[],
  colNames: readonly string[],
  values: readonly (readonly number[])[],
  opts: CoefmatOptions = {},
): string {
  const { cells, stars: st } = coefmatCells(colNames, values, opts);
  const showStars = st !== null;
  const sw = Math.max(0, ...(st ?? []).map((x) => x.length));
  const header = ["", ...colNames, ...(showStars ? [""] : [])];
  const rows = values.map((
    _,
    i,
  ) => [rowNames[i], ...cells[i], ...(showStars ? [st![i].padEnd(sw)] : [])]);
  let text = alignTable(header, rows);
  if (showStars) {
    text += "\n---\nSignif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1";
  }
  return text;
}

/**
 * The formatted cells of R's printCoefmat (strings per row and column) and
 * the significance stars (null without a p-value column); shared by the
 * text and HTML renderings so both show R's digits.
 */
export function coefmatCells(
  colNames: readonly string[],
  values: readonly (readonly number[])[],
  opts: CoefmatOptions = {},
): { cells: string[][]; stars: string[] | null } {
  const digits = opts.digits ?? 4;
  const nc = colNames.length;
  const pCol = opts.pColumn;
  const cs = opts.csColumns ?? [0, 1].filter((j) => j < nc && j !== pCol);
  const tst = opts.testColumns ??
    [...Array(nc).keys()].filter((j) => !cs.includes(j) && j !== pCol);
  const cells: string[][] = values.map(() => new Array<string>(nc).fill(""));
  const acs = values.flatMap((r) => cs.map((j) => Math.abs(r[j]))).filter((v) =>
    Number.isFinite(v) && v !== 0
  );
  if (cs.length) {
    // R: max(1, digits - digmin) over both ends of the range, i.e. driven by the smallest.
    const digmin = acs.length ? 1 + Math.floor(Math.log10(Math.min(...acs))) : 1;
    const dec = Math.max(1, digits - digmin);
    const flat = values.flatMap((r) => cs.map((j) => roundTo(r[j], dec)));
    const f = formatReal(flat, digits);
    values.forEach((_, i) => cs.forEach((j, k) => (cells[i][j] = f[i * cs.length + k])));
  }
  const digTst = Math.max(1, Math.min(5, digits - 1));
  for (const j of tst) {
    const f = formatReal(values.map((r) => roundTo(r[j], digTst)), digits);
    values.forEach((_, i) => (cells[i][j] = f[i]));
  }
  // R shows stars (and their legend) only when some p-value is below 0.1.
  const showStars = opts.signifStars !== false && pCol !== undefined &&
    values.some((r) => r[pCol] < 0.1);
  if (pCol !== undefined) {
    const f = formatPval(values.map((r) => r[pCol]), digTst);
    values.forEach((_, i) => (cells[i][pCol] = f[i]));
  }
  // R pads the stars column (format(Signif)) to its widest entry.
  return { cells, stars: showStars ? values.map((r) => stars(r[pCol!])) : null };
}

/** C's `%.{digits}g` (trailing zeros dropped, exponent when < 1e-4 or ≥ 10^digits). */
export function formatG(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "NaN" : x > 0 ? "Inf" : "-Inf";
  if (x === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(digits)))));
  if (e < -4 || e >= digits) {
    const [m, ex] = x.toExponential(digits - 1).split("e");
    const mant = m.includes(".") ? m.replace(/\.?0+$/, "") : m;
    const n = Number(ex);
    return `${mant}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  const s = x.toFixed(Math.max(0, digits - 1 - e));
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/** R's `formatC(x, digits)`: `%g`, right-aligned in at least `digits + 1` characters. */
export function formatC(x: number, digits: number): string {
  return formatG(x, digits).padStart(digits + 1);
}
