/**
 * Michael Clark's `create_data()` from "Shrinkage in Mixed Effects Models"
 * (2019), ported so that it returns the same rows, in the same order, as the
 * R function does with the same arguments:
 *
 * ```r
 * set.seed(seed)
 * cluster = rep(1:n_cluster, each = obs_per_cluster)
 * N = n_cluster * obs_per_cluster
 * x = rnorm(N)
 * varmat = matrix(c(sd_int^2, cor, cor, sd_slope^2), 2, 2)
 * re = mvtnorm::rmvnorm(n_cluster, sigma = varmat)
 * y = (intercept + re[cluster, 1]) + (beta + re[cluster, 2])*x + rnorm(N, sd = sigma)
 * df = sample_frac(tibble(y, x, cluster), balanced)
 * ```
 * @module
 */

import type { DataFrame } from "../data/table.ts";
import { pl } from "../deps.ts";
import { rng } from "../rng/mod.ts";
import { checkOptions, describeValue } from "../data/options.ts";

/** Arguments of {@link createData}; R's names in camelCase, same defaults. */
export interface CreateDataOptions {
  /** Observations per cluster (`obs_per_cluster`), default 10. */
  obsPerCluster?: number;
  /** Number of clusters (`n_cluster`), default 100. */
  nCluster?: number;
  /** Fixed intercept, default 1. */
  intercept?: number;
  /** Fixed slope of x, default 0.5. */
  beta?: number;
  /** Residual standard deviation, default 1. */
  sigma?: number;
  /** Standard deviation of the random intercepts (`sd_int`), default 0.5. */
  sdInt?: number;
  /** Standard deviation of the random slopes (`sd_slope`), default 0.25. */
  sdSlope?: number;
  /**
   * Off-diagonal of the random-effects covariance matrix, default 0. Note:
   * Clark calls it a correlation, but his code puts it into the matrix
   * as is, so it is a covariance (correlation = cor / (sdInt · sdSlope)).
   */
  cor?: number;
  /**
   * Fraction of the rows kept by `dplyr::sample_frac()`, in [0, 1]; default
   * 1 (R's `TRUE`), which keeps all rows but still shuffles them.
   */
  balanced?: number | boolean;
  /** Seed for `set.seed()`, default 888. */
  seed?: number;
}

/** A value in a message: numbers as they are, anything else described ("a string ("10")"). */
function shown(value: unknown): string {
  return typeof value === "number" ? String(value) : describeValue(value);
}

/** Every option name of {@link createData} (a compile error here when one is added). */
const CREATE_DATA_OPTION_NAMES: { readonly [K in keyof Required<CreateDataOptions>]: true } = {
  obsPerCluster: true,
  nCluster: true,
  intercept: true,
  beta: true,
  sigma: true,
  sdInt: true,
  sdSlope: true,
  cor: true,
  balanced: true,
  seed: true,
};

/** A non-negative integer argument, or an error naming it. */
function checkCount(value: number, name: string, min: number): number {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < min
  ) {
    throw new RangeError(
      `createData: '${name}' must be an integer >= ${min}, got ${shown(value)}`,
    );
  }
  return value;
}

/** A finite number argument, or an error naming it. */
function checkFinite(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(
      `createData: '${name}' must be a finite number, got ${shown(value)}`,
    );
  }
  return value;
}

/**
 * R's `round(x)` (digits = 0): round half to even, as C's `nearbyint`.
 * `Math.round` rounds halves up, which would differ for e.g. 2.5.
 */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Simulates clustered data with random intercepts and slopes, identical to
 * Clark's `create_data()` in R (R >= 3.6 default RNG, mvtnorm's `rmvnorm`,
 * dplyr's `sample_frac`): same values, same row order.
 *
 * The result is a nodejs-polars DataFrame with columns `y` (Float64), `x`
 * (Float64) and `cluster` (Int32: the cluster number 1..nCluster, an integer
 * as R's `rep(1:n_cluster, ...)`; models treat it as a grouping factor).
 * `balanced < 1` keeps `round(balanced · N)` randomly chosen rows (R's
 * round-half-even), giving unbalanced clusters.
 *
 * Unlike the R function, invalid arguments are rejected before any work:
 * `balanced` outside [0, 1] (R stops only after simulating), counts that
 * are not integers, and a `cor` that makes the covariance matrix not positive
 * semidefinite (|cor| > sdInt · sdSlope; mvtnorm would only warn).
 *
 * @param options the simulation settings; every field has R's default
 * @returns a DataFrame with columns y, x, cluster
 * @example
 * ```ts
 * import { createData } from "./createData.ts";
 * const df = createData(); // create_data() in R: 1000 rows, seed 888
 * const unbalanced = createData({ balanced: 0.5, sdSlope: 0.5, sigma: 0.25 });
 * ```
 */
export function createData(options: CreateDataOptions = {}): DataFrame {
  checkOptions("createData", options, Object.keys(CREATE_DATA_OPTION_NAMES));
  const {
    obsPerCluster = 10,
    nCluster = 100,
    intercept = 1,
    beta = 0.5,
    sigma = 1,
    sdInt = 0.5,
    sdSlope = 0.25,
    cor = 0,
    seed = 888,
  } = options;
  const balancedIn = options.balanced ?? 1;
  // R's TRUE/FALSE are 1/0 in arithmetic.
  const balanced = typeof balancedIn === "boolean" ? (balancedIn ? 1 : 0) : balancedIn;
  if (
    typeof balanced !== "number" || Number.isNaN(balanced) || balanced < 0 ||
    balanced > 1
  ) {
    throw new RangeError(
      `createData: 'balanced' should be a proportion to sample, in [0, 1]; got ${
        shown(balancedIn)
      }`,
    );
  }
  checkCount(obsPerCluster, "obsPerCluster", 0);
  // n_cluster = 0 breaks in R too (1:0 is c(1, 0)).
  checkCount(nCluster, "nCluster", 1);
  checkFinite(intercept, "intercept");
  checkFinite(beta, "beta");
  checkFinite(sigma, "sigma");
  if (sigma < 0) {
    throw new RangeError(`createData: 'sigma' must be >= 0, got ${sigma}`);
  }
  checkFinite(sdInt, "sdInt");
  checkFinite(sdSlope, "sdSlope");
  checkFinite(cor, "cor");
  const varInt = sdInt ** 2;
  const varSlope = sdSlope ** 2;
  if (cor * cor > varInt * varSlope * (1 + 1e-12)) {
    throw new RangeError(
      `createData: 'cor' is a covariance here and must satisfy |cor| <= ` +
        `sdInt * sdSlope = ${Math.abs(sdInt * sdSlope)}; got ${cor}`,
    );
  }
  const n = nCluster * obsPerCluster;
  if (n > 2147483647) {
    throw new RangeError(
      `createData: nCluster * obsPerCluster = ${n} exceeds R's integer range`,
    );
  }

  const r = rng(seed);
  // cluster = rep(1:n_cluster, each = obs_per_cluster)
  const cluster = new Int32Array(n);
  for (let c = 0, i = 0; c < nCluster; c++) {
    for (let k = 0; k < obsPerCluster; k++) cluster[i++] = c + 1;
  }
  const x = r.rnorm(n);
  // Same stream order as R: x, then the random effects, then the noise.
  const re = r.rmvnorm(nCluster, [[varInt, cor], [cor, varSlope]]);
  const noise = r.rnorm(n, 0, sigma);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = re[cluster[i] - 1];
    // Same operation order as R's vectorised expression.
    y[i] = (intercept + e[0]) + (beta + e[1]) * x[i] + noise[i];
  }

  // dplyr::sample_frac(df, balanced):
  //   slice(df, sample.int(n(), round(n() * balanced)))
  const keep = r.sampleInt(n, roundHalfEven(n * balanced));
  const m = keep.length;
  const ys = new Float64Array(m);
  const xs = new Float64Array(m);
  const cs = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const j = keep[i] - 1;
    ys[i] = y[j];
    xs[i] = x[j];
    cs[i] = cluster[j];
  }
  return pl.DataFrame([
    pl.Series("y", ys, pl.Float64),
    pl.Series("x", xs, pl.Float64),
    pl.Series("cluster", cs, pl.Int32),
  ]);
}
