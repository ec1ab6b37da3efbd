/**
 * The table type results come back as. At run time every table is a real
 * nodejs-polars `DataFrame` (filter it, join it, print it); the type below
 * names the part of its interface the library promises, so that the public
 * API does not leak polars' internal types. Cast to polars' own `DataFrame`
 * type for the rest of its API.
 * @module
 */

/** A nodejs-polars Series, as far as the library relies on it. */
export interface SeriesLike {
  /** The values as a plain array. */
  toArray(): unknown[];
  /** The polars data type. */
  readonly dtype: unknown;
  /** Number of values. */
  readonly length: number;
}

/** A nodejs-polars DataFrame, as far as the library relies on it. */
export interface DataFrame {
  /** Column names in order. */
  readonly columns: string[];
  /** Number of rows. */
  readonly height: number;
  /** One column by name. */
  getColumn(name: string): SeriesLike;
  /** The rows as plain objects. */
  toRecords(): Record<string, unknown>[];
  /** polars' text rendering. */
  toString(): string;
}
