/**
 * Data simulation with R-identical random numbers: Clark's `create_data()`
 * (seed 004) and the cluster trial of seed 003.
 * @module
 */

export { createData, type CreateDataOptions } from "./createData.ts";
export { clusterTrial, type ClusterTrialOptions } from "./clusterTrial.ts";
export type { DataFrame, SeriesLike } from "../data/table.ts";
