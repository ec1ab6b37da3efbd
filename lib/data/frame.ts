/**
 * Accepting data: a nodejs-polars DataFrame, an array of row objects, or an
 * object of equal-length columns. Everything is turned into typed columns
 * once, so the model code never touches polars or row objects again.
 * @module
 */
import { pl } from "../deps.ts";
import type { DataFrame } from "./table.ts";
import { rLevelOrder, rNumberLabel } from "./factor.ts";
import { abbreviateName } from "./options.ts";
import { withTableDisplay } from "../display/table.ts";
import { isCategorical, readCategorical } from "./categorical.ts";

/** A value a user may put in a data cell. */
export type Cell = number | string | boolean | null | undefined;

/**
 * What the library accepts as data: a nodejs-polars `DataFrame`, an array of
 * row objects, or an object of equal-length columns.
 */
export type DataLike =
  | DataFrame
  | readonly Record<string, Cell>[]
  | Record<string, ArrayLike<Cell>>;

/** A numeric column; missing values are NaN. */
export interface NumericColumn {
  /** Discriminant. */
  readonly kind: "numeric";
  /** The numbers, NaN where missing. */
  readonly values: Float64Array;
}

/** A factor column: 0-based codes into `levels`, -1 for missing. */
export interface FactorColumn {
  /** Discriminant. */
  readonly kind: "factor";
  /** Level labels in order. */
  readonly levels: readonly string[];
  /** 0-based level of each row, -1 where missing. */
  readonly codes: Int32Array;
  /** R's ordered factor (polynomial contrasts). */
  readonly ordered: boolean;
  /**
   * An R logical (true/false values): a model matrix codes it with levels
   * FALSE, TRUE whatever values occur (R's `xTRUE` column).
   */
  readonly logical?: boolean;
}

/** One column of a {@link Frame}. */
export type Column = NumericColumn | FactorColumn;

/** Typed columns by name, all of length `nrow`. */
export interface Frame {
  /** Number of rows. */
  readonly nrow: number;
  /** Column names in input order. */
  readonly names: readonly string[];
  /** The columns by name. */
  readonly columns: ReadonlyMap<string, Column>;
}

/** True when `x` is a nodejs-polars DataFrame (duck-typed: no instanceof across copies). */
function isPolarsFrame(x: unknown): x is DataFrame {
  return typeof x === "object" && x !== null &&
    typeof (x as { getColumn?: unknown }).getColumn === "function" &&
    Array.isArray((x as { columns?: unknown }).columns);
}

/**
 * Raw column values as plain arrays, whatever the input shape was; polars
 * Categorical columns come back already as factors (their level order is the
 * Categorical's physical order).
 */
function rawColumns(data: DataLike): Map<string, ArrayLike<Cell> | FactorColumn> {
  const out = new Map<string, ArrayLike<Cell> | FactorColumn>();
  if (isPolarsFrame(data)) {
    for (const name of data.columns) {
      const s = data.getColumn(name);
      out.set(name, isCategorical(s) ? readCategorical(data, name) : s.toArray() as Cell[]);
    }
    return out;
  }
  if (Array.isArray(data)) {
    const rows = data as readonly Record<string, Cell>[];
    const names: string[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      if (typeof row !== "object" || row === null) {
        throw new TypeError("data: an array of rows must hold objects");
      }
      for (const k of Object.keys(row)) {
        if (!seen.has(k)) (seen.add(k), names.push(k));
      }
    }
    for (const k of names) out.set(k, rows.map((r) => r[k]));
    return out;
  }
  if (typeof data !== "object" || data === null) {
    throw new TypeError(
      "data must be a polars DataFrame, an array of row objects or an object of columns",
    );
  }
  let len = -1;
  for (const [k, col] of Object.entries(data as Record<string, ArrayLike<Cell>>)) {
    // a polars Series as a column (e.g. { ...df, y: newY } spreads a frame's
    // columns as Series): read its values
    const v = col !== null && typeof col === "object" &&
        typeof (col as { toArray?: unknown }).toArray === "function"
      ? (col as unknown as { toArray(): Cell[] }).toArray()
      : col;
    if (v === null || typeof v !== "object" || typeof v.length !== "number") {
      throw new TypeError(`data: column '${k}' is not an array`);
    }
    if (len >= 0 && v.length !== len) {
      throw new RangeError(
        `data: column '${k}' has ${v.length} values but earlier columns have ${len}`,
      );
    }
    len = v.length;
    out.set(k, v);
  }
  return out;
}

/** Whether a cell counts as missing (R's NA): null, undefined or NaN. */
export function isMissing(v: Cell): boolean {
  return v === null || v === undefined || (typeof v === "number" && Number.isNaN(v));
}

/** Build one typed column: numbers stay numeric, strings and booleans become factors. */
function toColumn(name: string, raw: ArrayLike<Cell>): Column {
  let numeric = true;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (isMissing(v)) continue;
    if (typeof v !== "number" && typeof v !== "bigint") {
      numeric = false;
      break;
    }
  }
  if (numeric) {
    const values = new Float64Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i];
      values[i] = isMissing(v) ? NaN : Number(v);
    }
    return { kind: "numeric", values };
  }
  const labels: (string | null)[] = new Array(raw.length);
  let logical = true;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (isMissing(v)) labels[i] = null;
    else if (typeof v === "boolean") labels[i] = v ? "TRUE" : "FALSE";
    else if (typeof v === "string") labels[i] = v;
    else if (typeof v === "number") labels[i] = rNumberLabel(v);
    else {
      throw new TypeError(`data: column '${name}' holds an unsupported value ${String(v)}`);
    }
    if (typeof v !== "boolean" && !isMissing(v)) logical = false;
  }
  return logical ? { ...factorFromLabels(labels), logical } : factorFromLabels(labels);
}

/** A factor with R's level order (`factor(x)` sorts the distinct values). */
export function factorFromLabels(labels: readonly (string | null)[]): FactorColumn {
  const distinct = [...new Set(labels.filter((l): l is string => l !== null))];
  const levels = rLevelOrder(distinct);
  const pos = new Map(levels.map((l, i) => [l, i]));
  const codes = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    codes[i] = l === null ? -1 : pos.get(l)!;
  }
  return { kind: "factor", levels, codes, ordered: false };
}

/**
 * Convert any {@link DataLike} into a {@link Frame} of typed columns.
 *
 * @example
 * ```ts
 * import { toFrame } from "./frame.ts";
 * const f = toFrame({ y: [1, 2], g: ["b", "a"] });
 * console.log(f.nrow); // 2
 * ```
 */
export function toFrame(data: DataLike): Frame {
  const raw = rawColumns(data);
  const columns = new Map<string, Column>();
  let nrow = -1;
  for (const [name, values] of raw) {
    const len = "kind" in values ? values.codes.length : values.length;
    if (nrow >= 0 && len !== nrow) {
      throw new RangeError(`data: column '${name}' has a different length`);
    }
    nrow = len;
    columns.set(name, "kind" in values ? values : toColumn(name, values));
  }
  return { nrow: Math.max(nrow, 0), names: [...raw.keys()], columns };
}

/** Recode a factor onto a given level order. */
export function relevel(
  col: FactorColumn,
  levels: readonly string[],
  ordered: boolean,
): FactorColumn {
  const pos = new Map<string, number>();
  levels.forEach((l, i) => {
    if (pos.has(l)) {
      // R: factor(x, levels = c("a", "a")) is an error "factor level [2] is duplicated"
      throw new RangeError(
        `levels: factor level [${i + 1}] ${JSON.stringify(abbreviateName(l))} is duplicated`,
      );
    }
    pos.set(l, i);
  });
  const codes = new Int32Array(col.codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = col.codes[i];
    codes[i] = c < 0 ? -1 : (pos.get(col.levels[c]) ?? -1);
  }
  return { kind: "factor", levels: [...levels], codes, ordered };
}

/** A polars DataFrame from plain columns (how every table leaves the library). */
export function dataFrame(columns: Record<string, ArrayLike<number | string | null>>): DataFrame {
  const plain: Record<string, (number | string | null)[]> = {};
  for (const [k, v] of Object.entries(columns)) plain[k] = Array.from(v);
  // Our display (R-like text + HTML) instead of polars' data-resource bundle.
  return withTableDisplay(pl.DataFrame(plain) as unknown as DataFrame, plain);
}

/**
 * A DataFrame from row objects, with the given columns in order (how result
 * tables such as coefficient tables are built from their rows).
 */
export function rowsFrame<R extends object>(
  rows: readonly R[],
  columns: readonly (keyof R & string)[],
): DataFrame {
  const cols: Record<string, (number | string | null)[]> = {};
  for (const c of columns) cols[c] = rows.map((r) => r[c] as number | string | null);
  return dataFrame(cols);
}
