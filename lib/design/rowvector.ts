/**
 * Per-observation vectors given with a model (prior weights, offsets): a
 * numeric column of the data, named, or one number per row of the data.
 * Read for the rows the model frame kept (after dropping incomplete rows).
 * @module
 */
import type { ModelFrame } from "./modelframe.ts";

/** A numeric column's name, or one number per row of the data. */
export type RowVectorSpec = string | ArrayLike<number>;

/**
 * The values of `spec` at the model frame's rows, or undefined if `spec` is.
 * Errors name the option, the column and the row.
 */
export function rowVector(
  spec: RowVectorSpec | undefined,
  what: string,
  mf: ModelFrame,
): Float64Array | undefined {
  if (spec === undefined || spec === null) return undefined;
  const nrow = mf.frame.nrow;
  let all: ArrayLike<number>;
  if (typeof spec === "string") {
    const col = mf.frame.columns.get(spec);
    if (!col) {
      throw new RangeError(
        `${what}: no column '${spec.slice(0, 60)}' in the data (columns: ${
          mf.frame.names.slice(0, 20).join(", ")
        })`,
      );
    }
    if (col.kind !== "numeric") throw new TypeError(`${what}: column '${spec}' is not numeric`);
    all = col.values;
  } else if (typeof spec === "object" && typeof spec.length === "number") {
    if (spec.length !== nrow) {
      throw new RangeError(`${what}: ${spec.length} values for ${nrow} rows of data`);
    }
    all = spec;
  } else {
    throw new TypeError(
      `${what}: expected a column name or an array of numbers, got ${typeof spec}`,
    );
  }
  const out = new Float64Array(mf.rows.length);
  for (let k = 0; k < mf.rows.length; k++) {
    const v = all[mf.rows[k]];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(
        `${what}: row ${mf.rows[k] + 1} has ${String(v)}; ${what} must be finite numbers` +
          " (drop those rows first)",
      );
    }
    out[k] = v;
  }
  return out;
}

/**
 * R's model.offset(): the formula's `offset(...)` terms plus the `offset`
 * option, added; undefined when there is neither.
 */
export function combineOffsets(
  formula: Float64Array | undefined,
  option: Float64Array | undefined,
): Float64Array | undefined {
  if (!formula) return option;
  if (!option) return formula;
  return formula.map((v, i) => v + option[i]);
}
