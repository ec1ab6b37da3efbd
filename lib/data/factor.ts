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

/** Numeric grouping values sorted numerically and labelled as R's `as.character` does. */
export function numericLevels(values: Float64Array): { levels: string[]; codes: Int32Array } {
  const distinct = [...new Set(Array.from(values).filter((v) => !Number.isNaN(v)))].sort((a, b) =>
    a - b
  );
  const pos = new Map(distinct.map((v, i) => [v, i]));
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    codes[i] = Number.isNaN(v) ? -1 : pos.get(v)!;
  }
  return { levels: distinct.map(rNumberLabel), codes };
}

/** R's `as.character()` of a double: 15 significant digits, no trailing zeros. */
export function rNumberLabel(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const s = Number(v.toPrecision(15));
  return String(s);
}
