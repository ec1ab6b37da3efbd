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
import { checkNumberOption, checkOptions, describeValue } from "../data/options.ts";

/** Every option name of {@link clusterTrial} (a compile error here when one is added). */
const CLUSTER_TRIAL_OPTION_NAMES: { readonly [K in keyof Required<ClusterTrialOptions>]: true } = {
  seed: true,
  clusterSizes: true,
  sdCluster: true,
  effect: true,
};

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
  if (options === undefined) {
    throw new TypeError(
      "clusterTrial: give the options, at least { seed } (e.g. { seed: 824523 })",
    );
  }
  checkOptions("clusterTrial", options, Object.keys(CLUSTER_TRIAL_OPTION_NAMES));
  checkNumberOption("clusterTrial", "seed", options.seed);
  if (options.clusterSizes !== undefined && !Array.isArray(options.clusterSizes)) {
    throw new TypeError(
      `clusterTrial: 'clusterSizes' must be an array of cluster sizes, got ${
        describeValue(options.clusterSizes)
      }`,
    );
  }
  if (options.sdCluster !== undefined) {
    checkNumberOption("clusterTrial", "sdCluster", options.sdCluster, { min: 0 });
  }
  if (options.effect !== undefined) checkNumberOption("clusterTrial", "effect", options.effect);
  const sizes = options.clusterSizes ?? [2, 10, 10, 10, 2, 10, 10, 10];
  if (sizes.length < 2 || sizes.length % 2 !== 0) {
    throw new RangeError(`clusterSizes: need an even number of clusters (got ${sizes.length})`);
  }
  sizes.forEach((s, i) => {
    if (typeof s !== "number" || !Number.isInteger(s) || s < 1) {
      throw new RangeError(
        `clusterTrial: clusterSizes[${i}] must be a positive whole number, got ${
          typeof s === "number" ? s : describeValue(s)
        }`,
      );
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
