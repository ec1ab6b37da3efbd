/**
 * Factors in polars DataFrames. nodejs-polars 0.25 has no Enum type, and a
 * `Categorical` column's codes come from polars' string cache (shared by the
 * whole process), so neither carries R's level order or R's "ordered" flag.
 * Factors the library makes ({@link categoricalSeries}, as `dataset()` does)
 * are therefore registered by column name with their levels and
 * orderedness: a Categorical column of that name whose values all belong to
 * a registered level set is read with that level order (and flag) — also
 * after `filter`, `sort`, `select` or a join. Any other Categorical column is
 * read as strings are: levels in R's sorted order, unordered.
 * @module
 */
import { pl } from "../deps.ts";
import type { Series } from "../deps.ts";
import type { DataFrame } from "./table.ts";
import type { FactorColumn } from "./frame.ts";
import { rLevelOrder } from "./factor.ts";

interface Registered {
  readonly levels: readonly string[];
  readonly set: ReadonlySet<string>;
  readonly ordered: boolean;
}

const registry = new Map<string, Registered[]>();

/**
 * Register the level order (and orderedness) of Categorical columns named
 * `column` whose values all lie in `levels`.
 */
export function registerFactor(column: string, levels: readonly string[], ordered: boolean): void {
  const list = registry.get(column) ?? [];
  const key = levels.join("\u0000");
  if (!list.some((r) => r.levels.join("\u0000") === key && r.ordered === ordered)) {
    list.push({ levels: [...levels], set: new Set(levels), ordered });
  }
  registry.set(column, list);
}

/** The registered level order for a column with these distinct values, if any. */
function lookup(column: string, present: readonly string[]): Registered | undefined {
  return registry.get(column)?.find((r) => present.every((l) => r.set.has(l)));
}

/**
 * A polars Categorical Series of a factor (`codes` 0-based into `levels`, −1
 * for missing), registered so that it reads back with this level order and
 * orderedness (see the module doc).
 */
export function categoricalSeries(
  name: string,
  levels: readonly string[],
  codes: ArrayLike<number>,
  ordered = false,
): Series {
  registerFactor(name, levels, ordered);
  const values: (string | null)[] = new Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    values[i] = c < 0 ? null : levels[c];
  }
  return pl.Series(name, values).cast(pl.Categorical);
}

/** Whether a polars Series is Categorical. */
export function isCategorical(s: { dtype: unknown }): boolean {
  const d = s.dtype as { variant?: unknown } | null;
  return d !== null && typeof d === "object" && d.variant === "Categorical";
}

/**
 * Read a Categorical column of a polars DataFrame as a factor: the registered
 * level order when there is one (all levels kept, as R keeps unused levels of
 * a subset), else R's sorted order of the values present.
 */
export function readCategorical(df: DataFrame, name: string): FactorColumn {
  const labels = df.getColumn(name).toArray() as (string | null)[];
  const present = [...new Set(labels.filter((l): l is string => l !== null && l !== undefined))];
  const reg = lookup(name, present);
  const levels = reg ? [...reg.levels] : rLevelOrder(present);
  const pos = new Map(levels.map((l, i) => [l, i]));
  const codes = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    codes[i] = l === null || l === undefined ? -1 : pos.get(l)!;
  }
  return { kind: "factor", levels, codes, ordered: reg?.ordered ?? false };
}
