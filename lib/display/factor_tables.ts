/**
 * Display of per-factor tables (`ranef(m)`, `coef(m)`): an object of tables
 * keyed by grouping factor, still indexed as before (`m.ranef().Subject`,
 * `Object.keys` unchanged), given a non-enumerable notebook display:
 * `text/plain` as R prints `ranef(m)` / `coef(m)` (a `$Subject` heading
 * and the data.frame with the levels as row names, every row) and
 * `text/html` with one table per factor, every row, in a scrolling box.
 * @module
 */
import { escapeHtml, htmlTable, JUPYTER_DISPLAY, type MimeBundle } from "./bundle.ts";
import { formatReal } from "./rformat.ts";

/** One factor's table: its levels (row names), column names and values by level. */
export interface FactorTable {
  /** The factor's levels, one row each. */
  readonly levels: readonly string[];
  /** Column names (the terms). */
  readonly columns: readonly string[];
  /** values[level][column]. */
  readonly values: readonly (readonly number[])[];
}

/** What is displayed: lme4's `ranef()` or `coef()` (their print methods differ). */
export type FactorTablesKind = "ranef" | "coef";

/** Cells of a table formatted as R's print.data.frame (7 significant digits per column). */
function cells(tab: FactorTable): string[][] {
  const cols = tab.columns.map((_, c) =>
    formatReal(tab.values.map((row) => row[c]), 7).map((s) => s.trim())
  );
  return tab.levels.map((_, l) => cols.map((col) => col[l]));
}

/** R's print of one data.frame with the levels as row names (left-aligned), all rows. */
export function dataFrameText(tab: FactorTable): string {
  const body = cells(tab);
  const rw = Math.max(0, ...tab.levels.map((l) => l.length));
  const widths = tab.columns.map((h, j) => Math.max(h.length, ...body.map((r) => r[j].length)));
  const lines = [" ".repeat(rw) + tab.columns.map((h, j) => " " + h.padStart(widths[j])).join("")];
  body.forEach((r, i) =>
    lines.push(tab.levels[i].padEnd(rw) + r.map((c, j) => " " + c.padStart(widths[j])).join(""))
  );
  return lines.join("\n");
}

/** The text R prints for `ranef(m)` or `coef(m)`. */
export function factorTablesText(
  tables: Record<string, FactorTable>,
  kind: FactorTablesKind,
): string {
  const names = Object.keys(tables);
  const parts = names.map((g) => `$${g}\n${dataFrameText(tables[g])}\n`);
  if (kind === "ranef") {
    parts.push(`with conditional variances for ${names.map((g) => `“${g}”`).join(" ")} `);
  } else {
    parts.push(`attr(,"class")\n[1] "coef.mer"`);
  }
  return parts.join("\n");
}

/** One factor's HTML table (the levels as the first column), all rows, in a scrolling box. */
export function factorTableHtml(group: string, tab: FactorTable): string {
  const body = cells(tab).map((r, l) => [tab.levels[l], ...r]);
  return `<div style="max-height:360px;overflow:auto;display:inline-block">${
    htmlTable([group, ...tab.columns], body)
  }</div>`;
}

/** The MIME bundle: R's text and one HTML table per factor (all rows, scrolling). */
export function factorTablesBundle(
  tables: Record<string, FactorTable>,
  kind: FactorTablesKind,
): MimeBundle {
  const what = kind === "ranef"
    ? "Conditional modes of the random effects, ranef(m)"
    : "Per-level coefficients (fixed effects + conditional modes), coef(m)";
  const html = Object.entries(tables).map(([g, tab]) => {
    const body = cells(tab).map((r, l) => [tab.levels[l], ...r]);
    const table = htmlTable([g, ...tab.columns], body);
    return `<div style="font-family:system-ui,sans-serif;font-size:13px;font-weight:600;` +
      `margin-top:6px">${
        escapeHtml(g)
      } <span style="font-weight:normal;color:#666">(${tab.levels.length} levels)</span></div>` +
      `<div style="max-height:360px;overflow:auto;display:inline-block">${table}</div>`;
  });
  return {
    "text/plain": factorTablesText(tables, kind),
    "text/html": `<div class="deno-lmer"><div style="font-family:system-ui,sans-serif;` +
      `font-size:12px;color:#666">${escapeHtml(what)}</div>${html.join("")}</div>`,
  };
}

/**
 * Give an object of tables keyed by factor (`ranef()`, `coef()`) a notebook
 * display, non-enumerable: indexing and `Object.keys` are unchanged.
 */
export function withFactorTablesDisplay<T extends object>(
  out: T,
  tables: Record<string, FactorTable>,
  kind: FactorTablesKind,
): T {
  Object.defineProperty(out, JUPYTER_DISPLAY, {
    value: () => factorTablesBundle(tables, kind),
    enumerable: false,
    configurable: true,
  });
  return out;
}
