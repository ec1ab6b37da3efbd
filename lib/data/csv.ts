/**
 * A small CSV reader for R-written files (`write.csv`): quoted fields become
 * strings (factors), unquoted fields numbers, `NA` and empty fields missing.
 * It keeps R's distinction that polars' reader would lose (a quoted "308"
 * is a factor level, not the number 308).
 * @module
 */
import type { Cell } from "./frame.ts";

/** Parse CSV text into an object of columns. */
export function parseCsv(text: string): Record<string, Cell[]> {
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
  const header = rows[0].map((c) => c.v);
  const out: Record<string, Cell[]> = {};
  header.forEach((h, j) => {
    out[h] = rows.slice(1).filter((r) => r.length > 1 || r[0]?.v !== "").map((r) => {
      const c = r[j];
      if (!c || (!c.q && (c.v === "" || c.v === "NA"))) return null;
      if (c.q) return c.v;
      const x = Number(c.v);
      return Number.isNaN(x) ? c.v : x;
    });
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
