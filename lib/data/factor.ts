/**
 * R's level order for factors made from character data.
 *
 * R's `factor()` sorts the distinct strings with the session's collation.
 * Almost every R user runs an English UTF-8 locale, whose collation puts
 * "a" before "B" (case is a tie-breaker, lower case first). We follow that
 * with `Intl.Collator("en")` and break remaining ties by code point so the
 * order is total. Under `LC_COLLATE=C` R would instead sort by bytes
 * ("B" before "a"); this is documented as a deliberate choice in the README.
 * @module
 */

const collator = new Intl.Collator("en", { sensitivity: "variant", caseFirst: "lower" });

/** Compare two labels as R's `sort()` does for character vectors in en_US.UTF-8. */
export function compareLabels(a: string, b: string): number {
  const c = collator.compare(a, b);
  if (c !== 0) return c;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Distinct labels in R's factor level order. */
export function rLevelOrder(labels: readonly string[]): string[] {
  return [...new Set(labels)].sort(compareLabels);
}

/**
 * Numeric grouping values as R's `factor()` makes them: the distinct values
 * sorted numerically, labelled with {@link rNumberLabel} (R's
 * `as.character`), and values whose labels coincide (0.1 + 0.2 and 0.3 both
 * print "0.3") are one level, at the position of its smallest value.
 *
 * @example
 * ```ts
 * import { numericLevels } from "./factor.ts";
 * numericLevels(Float64Array.of(0.1 + 0.2, 0.3, 0.1)).levels; // ["0.1", "0.3"]
 * ```
 */
export function numericLevels(values: Float64Array): { levels: string[]; codes: Int32Array } {
  const n = values.length;
  // Integer codes in a moderate range (the usual grouping ids): distinct
  // values from a presence table, no sort, O(n + range).
  let lo = Infinity, hi = -Infinity, integers = true;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    if (!Number.isInteger(v)) {
      integers = false;
      break;
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (integers && lo <= hi && hi - lo <= 4 * n + 1_000_000 && Math.max(-lo, hi) < 1e15) {
    const span = hi - lo + 1;
    const table = new Int32Array(span).fill(-1);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!Number.isNaN(v)) table[v - lo] = 0;
    }
    const levels: string[] = [];
    for (let k = 0; k < span; k++) {
      // integers below 1e15 label as themselves (rNumberLabel): one level per value
      if (table[k] === 0) (table[k] = levels.length, levels.push(rNumberLabel(lo + k)));
    }
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      codes[i] = Number.isNaN(v) ? -1 : table[v - lo];
    }
    return { levels, codes };
  }
  // Otherwise the distinct values by a typed sort (numeric), then a binary
  // search per value; a Set and a Map of boxed doubles took tens of seconds
  // at 1e7 values. (A plain loop: TypedArray.prototype.filter is slow in V8.)
  let sorted = new Float64Array(n);
  let nv = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(values[i])) sorted[nv++] = values[i];
  sorted = sorted.subarray(0, nv).sort();
  let m = 0;
  for (let i = 0; i < sorted.length; i++) {
    // −0 and +0 are one value, as in R (and a Set)
    if (m === 0 || sorted[i] !== sorted[m - 1]) sorted[m++] = sorted[i];
  }
  const distinct = sorted.subarray(0, m);
  const levels: string[] = [];
  const levelOf = new Map<string, number>();
  const levelOfDistinct = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const label = rNumberLabel(distinct[k]);
    let lv = levelOf.get(label);
    if (lv === undefined) (lv = levels.length, levels.push(label), levelOf.set(label, lv));
    levelOfDistinct[k] = lv;
  }
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      codes[i] = -1;
      continue;
    }
    let a = 0, b = m - 1; // binary search: the first distinct value ≥ v
    while (a < b) {
      const mid = (a + b) >> 1;
      if (distinct[mid] < v) a = mid + 1;
      else b = mid;
    }
    codes[i] = levelOfDistinct[a];
  }
  return { levels, codes };
}

/**
 * R's `as.character()` of a double: 15 significant digits, fixed or
 * scientific notation whichever is narrower (R's `formatReal` with
 * `scipen = 0`: 1e-04, 1e+05, 0.333333333333333). Integer values below
 * 1e15 print in full ("100000") as R prints integer columns (the usual
 * source of numeric grouping codes), where a double 1e5 would print "1e+05".
 *
 * @example
 * ```ts
 * import { rNumberLabel } from "./factor.ts";
 * rNumberLabel(0.1 + 0.2); // "0.3"
 * rNumberLabel(1e-4); // "1e-04"
 * ```
 */
export function rNumberLabel(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "Inf" : "-Inf";
  // shortest representation with at most 15 significant digits
  const sci = v.toExponential(14); // d.dddddddddddddde±x
  const m = /^(-?)(\d)\.(\d+)e([+-]\d+)$/.exec(sci)!;
  const neg = m[1];
  const digits = (m[2] + m[3]).replace(/0+$/, "") || "0";
  const e10 = Number(m[4]);
  const nsig = digits.length;
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const ae = Math.abs(e10);
  const sciText = `${neg}${mant}e${e10 < 0 ? "-" : "+"}${ae < 10 ? "0" : ""}${ae}`;
  const rgt = Math.max(0, nsig - e10 - 1);
  const fixedWidth = neg.length + (e10 >= 0 ? e10 + 1 : 1) + (rgt > 0 ? rgt + 1 : 0);
  if (fixedWidth > sciText.length) return sciText;
  // fixed notation prints every digit of the integer part (sprintf "%.*f")
  return rgt <= 100 ? v.toFixed(rgt) : sciText;
}
