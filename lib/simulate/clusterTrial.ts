/**
 * The simulation of the StackExchange question "why does lme4 seem biased
 * toward small clusters" (seed 003), ported so that the same seed gives the
 * same data as the question's R code:
 *
 * ```r
 * set.seed(824523)
 * clustersizes <- c(2,10,10,10,2,10,10,10)
 * data <- rnorm(sum(clustersizes), 0, 1)
 * predictor <- rep(c("control", "intervention"), c(sum(first half), sum(second half)))
 * randomeffects <- rnorm(length(clustersizes), 0, 3)
 * data <- data + rep(randomeffects, times = clustersizes)
 * df <- data.frame(dependent = data, predictor, cluster = rep(clusters, times = clustersizes))
 * df[predictor == "intervention", ]$dependent <- ... + 5
 * ```
 * @module
 */
import type { DataFrame } from "../data/table.ts";
import { dataFrame } from "../data/frame.ts";
import { rng } from "../rng/mod.ts";

/** Arguments of {@link clusterTrial}. */
export interface ClusterTrialOptions {
  /** R's `set.seed` value (824523 and 1324523 in the question). */
  readonly seed: number;
  /** Cluster sizes; the first half of the clusters are controls (default 2,10,10,10,2,10,10,10). */
  readonly clusterSizes?: readonly number[];
  /** Standard deviation of the cluster random effects (3 in scenarios 1–2, 1 in scenario 3). */
  readonly sdCluster?: number;
  /** Intervention effect added to the intervention clusters (5, or 1 in scenario 3). */
  readonly effect?: number;
}

/**
 * Simulate seed 003's two-arm cluster trial: columns `dependent`,
 * `predictor` ("control" / "intervention") and `cluster` (1, 2, …).
 *
 * @example
 * ```ts
 * import { clusterTrial } from "./clusterTrial.ts";
 * const df = clusterTrial({ seed: 824523 }); // scenario 1 of the question
 * console.log(df.height); // 64
 * ```
 */
export function clusterTrial(options: ClusterTrialOptions): DataFrame {
  const sizes = options.clusterSizes ?? [2, 10, 10, 10, 2, 10, 10, 10];
  if (sizes.length < 2 || sizes.length % 2 !== 0) {
    throw new RangeError(`clusterSizes: need an even number of clusters (got ${sizes.length})`);
  }
  sizes.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 1) {
      throw new RangeError(`clusterSizes[${i}] must be a positive whole number (got ${s})`);
    }
  });
  const sd = options.sdCluster ?? 3;
  const effect = options.effect ?? 5;
  const r = rng(options.seed);
  const n = sizes.reduce((a, b) => a + b, 0);
  const y = r.rnorm(n, 0, 1);
  const re = r.rnorm(sizes.length, 0, sd);
  const half = sizes.length / 2;
  const predictor: string[] = [];
  const cluster: number[] = [];
  let i = 0;
  sizes.forEach((s, k) => {
    for (let j = 0; j < s; j++, i++) {
      y[i] += re[k];
      if (k >= half) y[i] += effect;
      predictor.push(k < half ? "control" : "intervention");
      cluster.push(k + 1);
    }
  });
  return dataFrame({ dependent: y, predictor, cluster });
}
