/**
 * The random-effects term as the numerical core sees it: one grouping factor
 * and the raw (per-observation) columns of that term's model matrix. This is
 * the contract between the model-frame side (formula → design) and the lmer
 * numerical core (crossproducts → Cholesky → profiled deviance).
 * @module
 */

/** One random-effects term `(expr | g)` after expansion (lme4's `reTrms`). */
export interface ReTerm {
  /** Grouping factor name as lme4 prints it: "Subject", "batch:cask". */
  readonly group: string;
  /** Level labels in factor order (R's `levels()`), length = number of levels. */
  readonly levels: readonly string[];
  /** 0-based level of each observation, length n. */
  readonly index: Int32Array;
  /** Column names of the term, e.g. ["(Intercept)", "Days"]; length q. */
  readonly cnames: readonly string[];
  /**
   * Raw model-matrix values, n × q, row-major: observation i's q values are
   * `z[i*q .. i*q+q)`. Z for the term is the Khatri-Rao product of the
   * level indicators and these rows.
   */
  readonly z: Float64Array;
}

/** Dense fixed-effects design: n × p, column-major. */
export interface FixedDesign {
  /** Column-major values: column j occupies `x[j*n .. j*n+n)`. */
  readonly x: Float64Array;
  /** Number of rows. */
  readonly n: number;
  /** Number of columns. */
  readonly p: number;
  /** R's column names, e.g. "(Intercept)", "predictorintervention". */
  readonly names: readonly string[];
}
