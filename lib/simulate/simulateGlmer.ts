/**
 * New responses from a fitted binomial or Poisson GLMM, as lme4 1.1-31's
 * `simulate(m, nsim, seed)` (`simulate.merMod` → `.simulateFun`), draw for
 * draw. lme4's order, after `set.seed(seed)`:
 * 1. with the default `re.form = NA` (`reForm: "none"`): u = rnorm(q · nsim),
 *    new spherical random effects (simulation s uses u[s·q .. s·q + q)),
 *    η_s = Xβ + offset + ZΛ(θ)u_s; with `re.form = NULL` (`reForm: "full"`)
 *    no draws and η = the fitted linear predictor (with the fitted modes);
 * 2. μ = linkinv(η) for all simulations (n · nsim values), then the family's
 *    simulate function in one call over all of them:
 *    - binomial: `rbinom(n · nsim, size = w, prob = μ)` with w the prior
 *      weights (the trials: `size` for `cbind`, the `weights` option for a
 *      proportion), recycled; lme4 returns rbinom / w (proportions; 0/1 for
 *      a 0/1 response), successes and failures for `cbind(s, f)`, and a
 *      factor (first level = 0 draws) for a factor response;
 *    - Poisson: `rpois(n · nsim, μ)`.
 * With the R-identical generator (`rbinom`, `rpois` bit for bit), the counts
 * are lme4's exactly (tests/glmer_simulate_test.ts).
 * @module
 */

import { checkOptions, describeValue } from "../data/options.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";
import { type Columns, tableBundle, tableText } from "../display/table.ts";
import type { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import { splitArgs } from "../models/glmer/fit.ts";
import type { Rng } from "../rng/mod.ts";
import { checkNsim, paramVector, randomEffectsInto, streamFor, termLoadings } from "./common.ts";
import { checkSimulationSize, Simulations } from "./simulations.ts";
import { dataFrame } from "../data/frame.ts";
import type { DataFrame } from "../data/table.ts";

/** Options of `simulate` for a glmer fit. */
export interface GlmerSimulateOptions {
  /** Number of simulated responses (default 1). */
  readonly nsim?: number;
  /** `set.seed(seed)` before drawing, as lme4's `seed` argument. */
  readonly seed?: number;
  /** A random stream to continue instead of `seed`. */
  readonly rng?: Rng;
  /**
   * `"none"` (default, lme4's `re.form = NA`): new random effects for each
   * simulation; `"full"` (lme4's `re.form = NULL`, `use.u = TRUE`):
   * conditional on the fitted random effects. `null` is refused rather than
   * read as the default, since lme4's `re.form = NULL` means `"full"`.
   */
  readonly reForm?: "none" | "full";
  /**
   * Simulate from these parameters instead of the fitted ones (lme4's
   * `newparams = list(theta, beta)`); only with `reForm: "none"`.
   */
  readonly newparams?: GlmerNewParams;
}

/** Parameters of a GLMM simulation (lme4's `newparams`). */
export interface GlmerNewParams {
  /** θ in `getME(m, "theta")` order (a number for a single θ). */
  readonly theta?: number | ArrayLike<number>;
  /** Fixed effects in fixef order (a number for a single one). */
  readonly beta?: number | ArrayLike<number>;
}

/**
 * How the simulated responses are coded: `"numeric"` (counts for Poisson;
 * successes / trials for a binomial 0/1 or proportion response), `"cbind"`
 * (successes in `values`, failures in {@link GlmerSimulations.failures}) or
 * `"factor"` (0 = first level, 1 = second, see
 * {@link GlmerSimulations.levels}).
 */
export type GlmerSimulationKind = "numeric" | "cbind" | "factor";

const SHOW_SIMS = 10;
const SHOW_ROWS = 50;

/**
 * Simulated GLMM responses: a {@link Simulations} (n × nsim, column s is
 * simulation s) with the response's coding. For `cbind(successes,
 * failures)` models lme4 returns one n × 2 matrix per simulation; here
 * `values` holds the successes and `failures` the failures (the trials
 * minus the successes), both n × nsim, and `responseNames` lme4's column
 * names. For a factor response lme4 returns factors; here `values` holds
 * 0 (first level) or 1 (second level) and `labels(s)` the level names.
 *
 * @example
 * ```ts ignore
 * const sims = simulate(m, { nsim: 2, seed: 1 }); // m: a cbind(...) glmer fit
 * sims.kind;          // "cbind"
 * sims.column(0);     // successes of simulation 1
 * sims.failures?.column(0); // failures of simulation 1
 * ```
 */
export class GlmerSimulations extends Simulations {
  /** How `values` code the response. */
  readonly kind: GlmerSimulationKind;
  /** `"cbind"`: the failures, n × nsim like `values`. */
  readonly failures: Simulations | undefined;
  /** `"cbind"`: lme4's column names of each simulation's matrix, e.g. ["incidence", ""]. */
  readonly responseNames: readonly string[] | undefined;
  /** `"factor"`: the response's levels (values index the first two). */
  readonly levels: readonly string[] | undefined;

  /** Use `simulate`. */
  constructor(
    values: Float64Array,
    nrow: number,
    nsim: number,
    coding: {
      kind: GlmerSimulationKind;
      failures?: Float64Array;
      responseNames?: readonly string[];
      levels?: readonly string[];
    },
  ) {
    super(values, nrow, nsim);
    this.kind = coding.kind;
    this.failures = coding.failures ? new Simulations(coding.failures, nrow, nsim) : undefined;
    this.responseNames = coding.responseNames;
    this.levels = coding.levels;
  }

  /**
   * A nodejs-polars DataFrame as R's `as.data.frame(simulate(m))`: one
   * column per simulation, except that a `cbind` response gives two,
   * `sim_1.<successes>` and `sim_1.<failures>` (R's `V1`/`V2` for an
   * unnamed one, e.g. `sim_1.incidence`, `sim_1.V2`), and a factor
   * response gives its level names.
   */
  override toDataFrame(): DataFrame {
    if (this.kind === "factor") {
      const cols: Record<string, string[]> = {};
      for (let s = 0; s < this.nsim; s++) cols[`sim_${s + 1}`] = this.labels(s);
      return dataFrame(cols);
    }
    if (this.kind !== "cbind") return super.toDataFrame();
    const [a, b] = this.responseNames ?? ["", ""];
    const cols: Record<string, Float64Array> = {};
    for (let s = 0; s < this.nsim; s++) {
      cols[`sim_${s + 1}.${a || "V1"}`] = this.column(s);
      cols[`sim_${s + 1}.${b || "V2"}`] = (this.failures as Simulations).column(s);
    }
    return dataFrame(cols);
  }

  /**
   * Simulation s (0-based) as level names (`"factor"` responses), as lme4's
   * factor column.
   */
  labels(s: number): string[] {
    const lv = this.levels;
    if (!lv) throw new TypeError(`labels: the simulations are ${this.kind}, not a factor`);
    return Array.from(this.column(s), (v) => lv[v]);
  }

  #head(): Columns {
    const cols: Columns = {};
    const rows = Math.min(this.nrow, SHOW_ROWS);
    for (let s = 0; s < Math.min(this.nsim, SHOW_SIMS); s++) {
      const v = this.column(s).subarray(0, rows);
      if (this.kind === "factor") {
        cols[`sim_${s + 1}`] = Array.from(v, (x) => this.levels?.[x] ?? String(x));
      } else if (this.kind === "cbind") {
        const [a, b] = this.responseNames ?? ["", ""];
        cols[`sim_${s + 1}.${a || 1}`] = v;
        cols[`sim_${s + 1}.${b || 2}`] = (this.failures as Simulations).column(s).subarray(0, rows);
      } else cols[`sim_${s + 1}`] = v;
    }
    return cols;
  }

  #note(): string {
    const more = this.nsim - SHOW_SIMS;
    return `${this.nrow} × ${this.nsim} simulations` +
      (this.kind === "cbind" ? " of (successes, failures)" : "") +
      (more > 0 ? ` (first ${SHOW_SIMS} shown, ${more.toLocaleString("en-US")} more)` : "") +
      (this.nrow > SHOW_ROWS ? `, first ${SHOW_ROWS} rows shown` : "");
  }

  /** R-like text of the first rows and simulations. */
  override toString(): string {
    return tableText(this.#head()) + "\n" + this.#note();
  }

  /** Notebook display: the first rows and simulations, and the dimensions. */
  override [JUPYTER_DISPLAY](): MimeBundle {
    return {
      "text/plain": this.toString(),
      "text/html": tableBundle(this.#head())["text/html"] +
        `<div style="font-size:11px;color:#666">${this.#note()}</div>`,
    };
  }
}

/** R's cbind() column name of an argument: a plain name, else "" (deparse.level = 1). */
function cbindName(arg: string): string {
  const a = arg.trim();
  if (/^[A-Za-z.][A-Za-z0-9._]*$/.test(a)) return a;
  const bt = /^`([^`]+)`$/.exec(a);
  return bt ? bt[1] : "";
}

/** How lme4's binomial simulate function sees the response (model.response). */
function responseCoding(
  model: GeneralizedLinearMixedModel,
): { kind: GlmerSimulationKind; responseNames?: string[]; levels?: readonly string[] } {
  if (model.frame.family.family !== "binomial") return { kind: "numeric" };
  const lhs = model.formula.slice(0, model.formula.indexOf("~")).trim();
  const cb = /^cbind\s*\(([\s\S]*)\)$/.exec(lhs);
  if (cb) return { kind: "cbind", responseNames: splitArgs(cb[1]).map(cbindName) };
  const mf = model.frame.mf;
  if (mf.responseLabel.startsWith("as.numeric(")) {
    // glFormula read a non-numeric response through its codes: a factor
    // (R: model.response is a factor) unless it is an R logical
    const col = mf.frame.columns.get(lhs);
    if (col && col.kind === "factor" && !col.logical) {
      return { kind: "factor", levels: col.levels };
    }
  }
  return { kind: "numeric" };
}

/** θ and β to simulate from: the fit's, or `newparams` checked against it. */
function glmerParams(
  model: GeneralizedLinearMixedModel,
  newparams: GlmerNewParams | undefined,
): { theta: ArrayLike<number>; beta: ArrayLike<number> } {
  if (newparams === undefined) return { theta: model.theta, beta: model.beta };
  checkOptions("simulate: newparams", newparams, ["theta", "beta"]);
  const theta = newparams.theta === undefined
    ? model.theta
    : paramVector("theta", newparams.theta, model.theta.length);
  const beta = newparams.beta === undefined
    ? model.beta
    : paramVector("beta", newparams.beta, model.beta.length);
  return { theta, beta };
}

/** Every option name of {@link simulateGlmer}. */
const GLMER_SIMULATE_OPTION_NAMES: {
  readonly [K in keyof Required<GlmerSimulateOptions>]: true;
} = { nsim: true, seed: true, rng: true, reForm: true, newparams: true };

/**
 * lme4's `simulate(m, nsim, seed)` for a binomial or Poisson `glmer` fit
 * (see the module notes for the order of draws and the codings). Refused,
 * before drawing, when (2·nobs + q) × nsim numbers (3·nobs + q for `cbind`:
 * μ, the draws, the failures and the new random effects) exceed
 * {@link MAX_SIMULATION_DOUBLES} (2e8): simulate in batches sharing one
 * `rng` instead.
 *
 * @example
 * ```ts ignore
 * import { dataset, glmer, simulate } from "../../mod.ts";
 * const m = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
 *   dataset("cbpp"), { family: "binomial" });
 * const sims = simulate(m, { nsim: 3, seed: 101 }); // as lme4's simulate(m, 3, seed = 101)
 * sims.column(0);              // simulated incidence, simulation 1
 * sims.failures?.column(0);    // size - incidence
 * ```
 */
export function simulateGlmer(
  model: GeneralizedLinearMixedModel,
  options: GlmerSimulateOptions = {},
): GlmerSimulations {
  checkOptions("simulate", options, Object.keys(GLMER_SIMULATE_OPTION_NAMES));
  const nsim = checkNsim(options.nsim ?? 1);
  // undefined only: null is refused below, since lme4's re.form = NULL means "full"
  const reForm = options.reForm === undefined ? "none" : options.reForm;
  if (reForm !== "none" && reForm !== "full") {
    throw new RangeError(
      `simulate: 'reForm' must be "none" (new random effects, lme4's re.form = NA) or "full" ` +
        `(the fitted ones, re.form = NULL), got ${describeValue(reForm)}`,
    );
  }
  if (reForm === "full" && options.newparams !== undefined) {
    throw new RangeError(
      `simulate: 'newparams' needs reForm "none": the fitted random effects belong to the fitted parameters`,
    );
  }
  const family = model.frame.family;
  if (family.family !== "binomial" && family.family !== "poisson") {
    throw new Error(`simulation not implemented for family '${family.family}'`);
  }
  const { theta, beta } = glmerParams(model, options.newparams);
  const coding = responseCoding(model);
  const n = model.nobs;
  const q = reForm === "none" ? model.glmm.q : 0;
  checkSimulationSize("simulate", (coding.kind === "cbind" ? 3 : 2) * n + q, nsim);
  const wts = model.frame.weights;
  if (family.family === "binomial") {
    if (wts.some((w) => w % 1 !== 0)) {
      throw new RangeError("cannot simulate from non-integer prior.weights");
    }
  } else if (wts.some((w) => w !== 1)) {
    console.warn("Warning message:\nIn simulate() : ignoring prior weights");
  }
  const r = streamFor(options);
  const ftd = new Float64Array(n * nsim);
  if (reForm === "none") {
    // predict(m, re.form = NA): X %*% beta column by column, then + offset
    const { x, p } = model.frame.x;
    const eta = new Float64Array(n);
    for (let j = 0; j < p; j++) {
      const b = beta[j];
      for (let i = 0; i < n; i++) eta[i] += x[j * n + i] * b;
    }
    if (model.frame.hasOffset) {
      const off = model.frame.offset;
      for (let i = 0; i < n; i++) eta[i] += off[i];
    }
    const u = r.rnorm(q * nsim);
    const zl = termLoadings(model.glmm.terms, n, theta);
    const reff = new Float64Array(n);
    for (let s = 0; s < nsim; s++) {
      const us = u.subarray(s * q, s * q + q);
      randomEffectsInto(reff, zl, us);
      for (let i = 0; i < n; i++) ftd[s * n + i] = family.linkinv(eta[i] + reff[i]);
    }
  } else {
    const eta = model.linearPredictor();
    const mu = eta.map((e) => family.linkinv(e));
    for (let s = 0; s < nsim; s++) ftd.set(mu, s * n);
  }
  if (family.family === "poisson") {
    return new GlmerSimulations(r.rpois(n * nsim, ftd), n, nsim, { kind: "numeric" });
  }
  if (coding.kind === "factor") {
    return new GlmerSimulations(r.rbinom(n * nsim, 1, ftd), n, nsim, coding);
  }
  const y = r.rbinom(n * nsim, wts, ftd);
  if (coding.kind === "cbind") {
    const failures = new Float64Array(n * nsim);
    for (let k = 0; k < n * nsim; k++) failures[k] = wts[k % n] - y[k];
    return new GlmerSimulations(y, n, nsim, { ...coding, failures });
  }
  for (let k = 0; k < n * nsim; k++) y[k] /= wts[k % n];
  return new GlmerSimulations(y, n, nsim, coding);
}
