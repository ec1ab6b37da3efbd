/**
 * A small CSV reader for R-written files (`write.csv`), reading them as R's
 * `read.csv` does, with one deliberate difference:
 * - a column is numeric when every field is an unquoted number, `NA`,
 *   `NaN`, `Inf`, `-Inf` (R's `type.convert`: also `inf`, `nan`,
 *   `infinity`, hexadecimal `0x1A`) or empty; empty and blank fields of a
 *   numeric column are missing (null), `NaN` and `±Inf` are numbers;
 * - a column of unquoted `TRUE`/`FALSE` (`T`, `F`, `true`, `false`, `True`,
 *   `False`) is logical (booleans);
 * - any other column is character (a factor when modelled); `NA`, quoted or
 *   not, is missing, an empty field stays the empty string, as in R;
 * - column names are made syntactic and unique as R's `make.names(unique =
 *   TRUE)` (`check.names = TRUE`): `x, x, x` → `x, x.1, x.2`, `""` → `X`,
 *   `a b` → `a.b`, `1x` → `X1x`; a UTF-8 byte-order mark is skipped.
 *
 * The difference: a quoted field keeps its column character, so a quoted
 * "308" is a factor level, not the number 308 (R's `read.csv` would turn a
 * column of quoted numbers into numbers and lose the factor `write.csv`
 * wrote).
 * @module
 */
import type { Cell } from "./frame.ts";

const NUMBER =
  /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|inf|infinity|nan)$/i;
const LOGICAL = new Map([
  ["T", true],
  ["TRUE", true],
  ["true", true],
  ["True", true],
  ["F", false],
  ["FALSE", false],
  ["false", false],
  ["False", false],
]);

/** R's `R_strtod` on a field already matched by NUMBER. */
function rNumber(s: string): number {
  const t = s.trim();
  const neg = t[0] === "-";
  const body = t.replace(/^[+-]/, "").toLowerCase();
  let x: number;
  if (body === "inf" || body === "infinity") x = Infinity;
  else if (body === "nan") x = NaN;
  else if (body.startsWith("0x")) x = parseInt(body.slice(2), 16);
  else x = Number(body);
  return neg ? -x : x;
}

const RESERVED = new Set([
  "if",
  "else",
  "repeat",
  "while",
  "function",
  "for",
  "next",
  "break",
  "TRUE",
  "FALSE",
  "NULL",
  "Inf",
  "NaN",
  "NA",
  "NA_integer_",
  "NA_real_",
  "NA_character_",
  "NA_complex_",
  "in",
]);

/**
 * R's `make.names(names, unique = TRUE)`: syntactic names (invalid
 * characters → ".", an "X" in front of names not starting with a letter or
 * a dot not followed by a digit, reserved words get a trailing "."), then
 * `make.unique(sep = ".")`.
 *
 * @example
 * ```ts
 * import { makeNames } from "./csv.ts";
 * makeNames(["x", "x", "", "a b", "1x"]); // ["x", "x.1", "X", "a.b", "X1x"]
 * ```
 */
export function makeNames(names: readonly string[]): string[] {
  const valid = names.map((n) => {
    let s = n.replace(/[^\p{L}\p{N}._]/gu, ".");
    if (!/^(\p{L}|\.(?!\d))/u.test(s)) s = "X" + s;
    if (RESERVED.has(s)) s += ".";
    return s;
  });
  // make.unique: later duplicates get .1, .2, ... (skipping names in use)
  const seen = new Set<string>();
  const used = new Set(valid);
  const counter = new Map<string, number>();
  return valid.map((s) => {
    if (!seen.has(s)) {
      seen.add(s);
      return s;
    }
    let k = counter.get(s) ?? 1;
    while (used.has(`${s}.${k}`)) k++;
    counter.set(s, k + 1);
    const u = `${s}.${k}`;
    used.add(u);
    seen.add(u);
    return u;
  });
}

/**
 * Parse CSV text into an object of columns, as R's `read.csv(text = ...)`
 * (see the module notes for the one difference: quoted fields stay text).
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * parseCsv('x,x,g\n1,NaN,"a"\n2,,"b"\n');
 * // { x: [1, 2], "x.1": [NaN, null], g: ["a", "b"] }
 * ```
 */
export function parseCsv(text: string): Record<string, Cell[]> {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: { v: string; q: boolean }[][] = [];
  let row: { v: string; q: boolean }[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    let v = "";
    let q = false;
    if (text[i] === '"') {
      q = true;
      i++;
      for (;;) {
        if (i >= n) throw new SyntaxError("csv: unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') (v += '"', i += 2);
          else {
            i++;
            break;
          }
        } else v += text[i++];
      }
    } else {
      while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") v += text[i++];
    }
    row.push({ v, q });
    if (text[i] === ",") i++;
    else {
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      rows.push(row);
      row = [];
    }
  }
  if (row.length) rows.push(row);
  if (!rows.length) return {};
  const header = makeNames(rows[0].map((c) => c.v));
  const body = rows.slice(1).filter((r) => r.length > 1 || (r[0] && (r[0].q || r[0].v !== "")));
  const out: Record<string, Cell[]> = {};
  header.forEach((h, j) => {
    const cells = body.map((r) => r[j]);
    const na = (c: { v: string; q: boolean } | undefined) => !c || c.v === "NA";
    const blank = (c: { v: string; q: boolean }) => !c.q && c.v.trim() === "";
    const present = cells.filter((c) => !na(c) && !blank(c!)) as { v: string; q: boolean }[];
    if (present.every((c) => !c.q && NUMBER.test(c.v.trim()))) {
      out[h] = cells.map((c) => (na(c) || blank(c!) ? null : rNumber(c!.v)));
    } else if (present.every((c) => !c.q && LOGICAL.has(c.v.trim()))) {
      out[h] = cells.map((c) => (na(c) || blank(c!) ? null : LOGICAL.get(c!.v.trim())!));
    } else {
      out[h] = cells.map((c) => (na(c) ? null : c!.v));
    }
  });
  return out;
}

/**
 * Read a CSV file written by R into an object of columns (a `DataLike`).
 *
 * @example
 * ```ts ignore
 * import { readCsv } from "./csv.ts";
 * const sleepstudy = readCsv("sleepstudy.csv"); // e.g. from R's write.csv(lme4::sleepstudy)
 * ```
 */
export function readCsv(path: string | URL): Record<string, Cell[]> {
  return parseCsv(Deno.readTextFileSync(path));
}
