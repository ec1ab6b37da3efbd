/**
 * Notebook display: every result object returns a MIME bundle from
 * `[Symbol.for("Jupyter.display")]()` with `text/plain` (R's print layout)
 * and `text/html` (clean tables with R's digits). Never
 * `application/vnd.dataresource+json`: VS Code then shows nothing.
 * @module
 */

/** The key Deno's Jupyter kernel looks for on a cell's value. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/** A MIME bundle as the Deno kernel expects it. */
export interface MimeBundle {
  /** R-style printed text. */
  "text/plain": string;
  /** HTML rendering. */
  "text/html"?: string;
  /** SVG figures. */
  "image/svg+xml"?: string;
  /** PNG figures, base64. */
  "image/png"?: string;
}

/** Escape text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** Options of {@link htmlTable}. */
export interface HtmlTableOptions {
  /** Caption above the table. */
  readonly caption?: string;
  /** Per column: true to right-align (numbers). Default: all but the first. */
  readonly numeric?: readonly boolean[];
}

const TABLE_STYLE =
  "border-collapse:collapse;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;" +
  "font-size:12px;margin:4px 0 10px 0";
const CELL = "padding:2px 10px;border-bottom:1px solid #ddd";

/** A small, self-styled HTML table (inline styles survive notebook sanitizers). */
export function htmlTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  opts: HtmlTableOptions = {},
): string {
  const num = opts.numeric ?? header.map((_, j) => j > 0);
  const align = (j: number) => (num[j] ? "text-align:right" : "text-align:left");
  const head = header.map((h, j) =>
    `<th style="${CELL};${align(j)};border-bottom:1px solid #888">${escapeHtml(h)}</th>`
  ).join("");
  const body = rows.map((r) =>
    `<tr>${
      r.map((c, j) => `<td style="${CELL};${align(j)}">${escapeHtml(c.trim())}</td>`).join("")
    }</tr>`
  ).join("");
  const cap = opts.caption
    ? `<caption style="text-align:left;font-weight:600;padding:2px 0">${
      escapeHtml(opts.caption)
    }</caption>`
    : "";
  return `<table style="${TABLE_STYLE}">${cap}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A block of lines (title, key facts) above tables. */
export function htmlHeader(title: string, facts: readonly [string, string][]): string {
  const f = facts.map(([k, v]) =>
    `<div><span style="color:#666">${escapeHtml(k)}</span> ${escapeHtml(v)}</div>`
  )
    .join("");
  return `<div style="font-family:system-ui,sans-serif;font-size:13px;margin-bottom:6px">` +
    `<div style="font-weight:600">${escapeHtml(title)}</div>${f}</div>`;
}

/** Messages (warnings from the fit) as a highlighted list. */
export function htmlMessages(messages: readonly string[]): string {
  if (!messages.length) return "";
  return `<div style="font-family:system-ui,sans-serif;font-size:12px;color:#8a4b00;background:#fff6e5;` +
    `padding:4px 8px;border-left:3px solid #e0a000">${
      messages.map((m) => escapeHtml(m)).join("<br>")
    }</div>`;
}

/** Wrap HTML parts in one container. */
export function htmlBlock(parts: readonly string[]): string {
  return `<div class="deno-lmer">${parts.join("")}</div>`;
}
