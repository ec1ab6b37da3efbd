/**
 * Display of result tables. Every table the library returns is a
 * nodejs-polars DataFrame whose notebook display is replaced by ours:
 * `text/plain` as R prints a data.frame (columns formatted with 7
 * significant digits, NA for missing) and a `text/html` table — never
 * polars' `application/vnd.dataresource+json`, which VS Code shows as nothing.
 * @module
 */
import { htmlTable, JUPYTER_DISPLAY, type MimeBundle } from "./bundle.ts";
import { alignTable, formatReal } from "./rformat.ts";

/** Plain columns of a table. */
export type Columns = Record<string, ArrayLike<number | string | null>>;

const MAX_ROWS = 50;

/** Format each column as R's print.data.frame does (format() per column, digits 7). */
export function formatColumns(
  columns: Columns,
  digits = 7,
): { names: string[]; cells: string[][]; n: number } {
  const names = Object.keys(columns);
  const n = names.length ? columns[names[0]].length : 0;
  const shown = Math.min(n, MAX_ROWS);
  const formatted = names.map((k) => {
    const v = Array.from(columns[k]).slice(0, shown);
    if (v.every((x) => x === null || typeof x === "number")) {
      const nums = v.map((x) => (x === null ? NaN : (x as number)));
      return formatReal(nums, digits).map((s) => s.trim());
    }
    // R prints a missing string in a data.frame as <NA>.
    return v.map((x) => (x === null ? "<NA>" : String(x)));
  });
  const cells = Array.from({ length: shown }, (_, i) => formatted.map((c) => c[i]));
  return { names, cells, n };
}

/** R's print.data.frame text (right-aligned columns, row numbers). */
export function tableText(columns: Columns): string {
  const { names, cells, n } = formatColumns(columns);
  const rowNames = cells.map((_, i) => String(i + 1));
  const rw = Math.max(0, ...rowNames.map((r) => r.length));
  const widths = names.map((h, j) => Math.max(h.length, ...cells.map((r) => r[j].length)));
  const lines = [" ".repeat(rw) + names.map((h, j) => " " + h.padStart(widths[j])).join("")];
  cells.forEach((r, i) =>
    lines.push(rowNames[i].padEnd(rw) + r.map((c, j) => " " + c.padStart(widths[j])).join(""))
  );
  if (n > cells.length) {
    lines.push(` [ reached ${cells.length} rows -- omitted ${n - cells.length} rows ]`);
  }
  return lines.join("\n");
}

/** The MIME bundle of a table. */
export function tableBundle(columns: Columns, caption?: string): MimeBundle {
  const { names, cells, n } = formatColumns(columns);
  const numeric = names.map((k) =>
    Array.from(columns[k]).every((x) => x === null || typeof x === "number")
  );
  let html = htmlTable(names, cells, { caption, numeric });
  if (n > cells.length) {
    html += `<div style="font-size:11px;color:#666">${n - cells.length} more rows</div>`;
  }
  return { "text/plain": tableText(columns), "text/html": html };
}

/** Give a polars DataFrame our display (R-like text, HTML table). */
export function withTableDisplay<T extends object>(df: T, columns: Columns, caption?: string): T {
  Object.defineProperty(df, JUPYTER_DISPLAY, {
    value: () => tableBundle(columns, caption),
    enumerable: false,
    configurable: true,
  });
  return df;
}

/**
 * Give a DataFrame the display of an R numeric matrix with row names (as R
 * prints `confint(fit)`): `rowNames` down the side, each column formatted
 * with 7 significant digits, NA for null; an HTML table with `caption`.
 */
export function withMatrixDisplay<T extends object>(
  df: T,
  rowNames: readonly string[],
  columns: Record<string, readonly (number | null)[]>,
  caption?: string,
): T {
  const names = Object.keys(columns);
  const formatted = names.map((k) => formatReal(columns[k].map((v) => v ?? NaN)));
  const rows = rowNames.map((r, i) => [r, ...formatted.map((c) => c[i])]);
  Object.defineProperty(df, JUPYTER_DISPLAY, {
    value: (): MimeBundle => ({
      "text/plain": alignTable(["", ...names], rows),
      "text/html": htmlTable(["", ...names], rows, { caption }),
    }),
    enumerable: false,
    configurable: true,
  });
  return df;
}
