/**
 * Data simulation: Clark's `create_data()` (the shrinkage demonstration).
 * @module
 */

export { createData, type CreateDataOptions } from "./createData.ts";
export type { DataFrame, SeriesLike } from "../data/table.ts";
