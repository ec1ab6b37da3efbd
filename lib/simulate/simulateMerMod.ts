/**
 * New responses from a fitted linear mixed model, as lme4's
 * `simulate(m, nsim, seed)` (`simulate.merMod` → `.simulateFun`, with its
 * defaults `use.u = FALSE`, `re.form = NA`): unconditional on the fitted
 * random effects, i.e. new random effects and new noise for each simulation.
 *
 * lme4's draws, in this order after `set.seed(seed)`:
 * 1. u = rnorm(q · nsim), the spherical random effects of all simulations
 *    (q = number of columns of Z; simulation s uses u[s·q .. s·q + q));
 * 2. e = rnorm(n · nsim), the noise (simulation s uses e[s·n .. s·n + n)).
 * Then y_s = Xβ̂ + σ̂ (Z Λ(θ̂) u_s + e_s). With this package's R-identical
 * generator the results equal R's to rounding.
 *
 * @example
 * ```ts ignore
 * import { lmer, simulate } from "../../mod.ts";
 * const m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy);
 * const sims = simulate(m, { nsim: 3, seed: 101 }); // columns sim_1, sim_2, sim_3
 * sims.column(0); // the first simulated response (a Float64Array view)
 * ```
 * @module
 */

import type { Rng } from "../rng/mod.ts";
import { checkSimulationSize, Simulations } from "./simulations.ts";
import { checkNsim, paramVector, randomEffectsInto, streamFor, termLoadings } from "./common.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { LinearModel } from "../models/lm.ts";
import { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import {
  type GlmerSimulateOptions,
  type GlmerSimulations,
  simulateGlmer,
} from "./simulateGlmer.ts";
import { checkOptions, describeValue } from "../data/options.ts";

export { MAX_SIMULATION_DOUBLES, Simulations } from "./simulations.ts";
export { streamFor } from "./common.ts";
export {
  type GlmerNewParams,
  type GlmerSimulateOptions,
  type GlmerSimulationKind,
  GlmerSimulations,
  simulateGlmer,
} from "./simulateGlmer.ts";

/** Options of {@link simulate} and {@link simulateResponses}. */
export interface SimulateOptions {
  /** Number of simulated responses (default 1). */
  readonly nsim?: number;
  /** `set.seed(seed)` before drawing, as lme4's `seed` argument. */
  readonly seed?: number;
  /**
   * A random stream to continue instead (R without `seed`: the current
   * `.Random.seed`). With neither `seed` nor `rng`, a random seed is drawn.
   */
  readonly rng?: Rng;
  /**
   * Simulate from these parameters instead of the fitted ones (lme4's
   * `newparams = list(theta, beta, sigma)`); any left out stay as fitted.
   */
  readonly newparams?: NewParams;
}

/** Parameters to simulate from (lme4's `newparams`). */
export interface NewParams {
  /** θ in `getME(m, "theta")` order (a number for a single θ). */
  readonly theta?: number | ArrayLike<number>;
  /** Fixed effects in fixef order (a number for a single one). */
  readonly beta?: number | ArrayLike<number>;
  /** Residual standard deviation. */
  readonly sigma?: number;
}

/** The parameters to simulate from: the fit's, or `newparams` checked against it. */
export interface SimulationParams {
  /** θ. */
  readonly theta: ArrayLike<number>;
  /** β. */
  readonly beta: ArrayLike<number>;
  /** σ. */
  readonly sigma: number;
}

/**
 * Resolve `newparams` against the fitted model (lengths and values checked).
 *
 * @example
 * ```ts ignore
 * simulationParams(m, { sigma: 2 }); // the fit's θ and β, σ = 2
 * ```
 */
export function simulationParams(
  model: LinearMixedModel,
  newparams: NewParams = {},
): SimulationParams {
  if (newparams === null || typeof newparams !== "object" || Array.isArray(newparams)) {
    throw new TypeError(
      `simulate: newparams: options must be an object, got ${describeValue(newparams)}`,
    );
  }
  checkOptions("simulate: newparams", newparams, ["theta", "beta", "sigma"]);
  const theta = newparams.theta === undefined
    ? model.theta
    : paramVector("theta", newparams.theta, model.theta.length);
  const beta = newparams.beta === undefined
    ? model.solution.beta
    : paramVector("beta", newparams.beta, model.frame.x.p);
  const sigma = newparams.sigma ?? model.sigma;
  if (typeof sigma !== "number" || !Number.isFinite(sigma) || sigma < 0) {
    throw new RangeError(
      `newparams.sigma must be a finite number >= 0, got ${describeValue(sigma)}`,
    );
  }
  return { theta, beta, sigma };
}

/**
 * Fill `out` with one simulated response from the spherical random effects
 * `u` (length q, Z's column order) and the noise `e` (length n):
 * Xβ + σ(ZΛ(θ)u + e).
 *
 * @example
 * ```ts ignore
 * const p = simulationParams(m);
 * responseFrom(m, p, fixedPredictor(m, p.beta), u, e, new Float64Array(m.nobs));
 * ```
 */
export function responseFrom(
  model: LinearMixedModel,
  params: SimulationParams,
  eta: Float64Array,
  u: ArrayLike<number>,
  e: ArrayLike<number>,
  out: Float64Array,
): Float64Array {
  const n = model.nobs;
  const { sigma, theta } = params;
  const reff = new Float64Array(n);
  for (const t of model.lmm.terms) {
    const q = t.q, o = t.thetaOffset;
    const { index, z } = t.term;
    // T (lower, column-major) from θ̂
    const T = new Float64Array(q * q);
    let at = o;
    for (let j = 0; j < q; j++) for (let i = j; i < q; i++) T[j * q + i] = theta[at++];
    for (let i = 0; i < n; i++) {
      const base = t.zOffset + index[i] * q;
      let s = 0;
      // (ZΛ)[i, l·q + c] = Σ_{r ≥ c} z_ir T_rc, times u, column by column as U %*% u
      for (let c = 0; c < q; c++) {
        let zl = 0;
        for (let r = c; r < q; r++) zl += z[i * q + r] * T[c * q + r];
        s += zl * u[base + c];
      }
      reff[i] += s;
    }
  }
  const sd = noiseScale(model);
  for (let i = 0; i < n; i++) out[i] = eta[i] + sigma * (reff[i] + sd[i] * e[i]);
  return out;
}

/**
 * 1/√wᵢ: the noise of observation i has sd σ/√wᵢ under prior weights (lme4
 * 1.1-31's simulate ignores the weights; we simulate the fitted model).
 */
function noiseScale(model: LinearMixedModel): Float64Array {
  const w = model.lmm.weights;
  return w ? w.map((v) => 1 / Math.sqrt(v)) : new Float64Array(model.nobs).fill(1);
}

/**
 * Xβ (lme4's predict(m, re.form = NA)).
 *
 * @example
 * ```ts ignore
 * fixedPredictor(m, m.solution.beta); // population-level predictions
 * ```
 */
export function fixedPredictor(model: LinearMixedModel, beta: ArrayLike<number>): Float64Array {
  const { x, n, p } = model.frame.x;
  // the offset is part of lme4's predict(m, re.form = NA)
  const off = model.lmm.offset;
  const eta = off ? Float64Array.from(off) : new Float64Array(n);
  for (let j = 0; j < p; j++) {
    const b = beta[j];
    for (let i = 0; i < n; i++) eta[i] += x[j * n + i] * b;
  }
  return eta;
}

/**
 * Simulated responses in one column-major nobs × nsim matrix, in lme4's
 * order of draws: the random effects of all simulations, then the noise
 * simulation by simulation (the same stream as lme4's rnorm(n · nsim)).
 * Refused, before drawing, when (nobs + q) × nsim exceeds
 * {@link MAX_SIMULATION_DOUBLES} (2e8 numbers, 1.6 GB).
 *
 * @example
 * ```ts ignore
 * const sims = simulateMatrix(m, { nsim: 1000, seed: 1 });
 * sims.column(999); // the last simulation
 * ```
 */
export function simulateMatrix(
  model: LinearMixedModel,
  options: SimulateOptions = {},
): Simulations {
  const nsim = checkNsim(options.nsim ?? 1);
  const params = simulationParams(model, options.newparams);
  const n = model.nobs;
  const q = model.lmm.q;
  checkSimulationSize("simulate", n + q, nsim);
  const r = streamFor(options);
  const u = r.rnorm(q * nsim);
  const eta = fixedPredictor(model, params.beta);
  const values = new Float64Array(n * nsim);
  const zl = termLoadings(model.lmm.terms, n, params.theta);
  const sd = noiseScale(model);
  const reff = new Float64Array(n);
  for (let s = 0; s < nsim; s++) {
    const e = r.rnorm(n);
    const us = u.subarray(s * q, s * q + q);
    // as responseFrom, with each term's ZΛ computed once for all simulations
    randomEffectsInto(reff, zl, us);
    const out = values.subarray(s * n, s * n + n);
    for (let i = 0; i < n; i++) out[i] = eta[i] + params.sigma * (reff[i] + sd[i] * e[i]);
  }
  return new Simulations(values, n, nsim);
}

/**
 * Simulated responses as arrays (one Float64Array of length nobs per
 * simulation: views into {@link simulateMatrix}'s matrix), in lme4's
 * order of draws.
 *
 * @example
 * ```ts ignore
 * const [y1, y2] = simulateResponses(m, { nsim: 2, seed: 101 });
 * ```
 */
export function simulateResponses(
  model: LinearMixedModel,
  options: SimulateOptions = {},
): Float64Array[] {
  return [...simulateMatrix(model, options)];
}

/**
 * lme4's `simulate(m, nsim, seed)`: columns `sim_1`, …, `sim_<nsim>`, one
 * row per observation used in the fit, held as one nobs × nsim matrix
 * ({@link Simulations}: `column(s)`, `get(i, s)`, `values`; `getColumn`,
 * `columns`, `height` as a DataFrame; `toDataFrame()` for polars).
 * Refused when (nobs + q) × nsim exceeds {@link MAX_SIMULATION_DOUBLES}
 * (2e8 numbers, 1.6 GB): simulate in batches sharing one `rng` instead. For an `lm` fit it
 * is R's `simulate.lm`: fitted + rnorm(n · nsim, 0, σ̂), simulation s
 * taking draws s·n .. s·n + n. For a binomial or Poisson `glmer` fit it is
 * lme4's GLMM simulation (new random effects, then `rbinom` with the prior
 * weights as sizes, or `rpois`), returning {@link GlmerSimulations}
 * (successes and failures for `cbind` responses, level codes for factor
 * responses; see ./simulateGlmer.ts).
 *
 * @example
 * ```ts ignore
 * import { lmer, simulate } from "../../mod.ts";
 * const sims = simulate(lmer("y ~ x + (1 | g)", data), { nsim: 3, seed: 101 });
 * sims.columns; // ["sim_1", "sim_2", "sim_3"]
 * sims.column(0); // sim_1 as a Float64Array
 * ```
 */
export function simulate(
  model: GeneralizedLinearMixedModel,
  options?: GlmerSimulateOptions,
): GlmerSimulations;
/**
 * lme4's `simulate(m, nsim, seed)` for an `lmer` fit, R's `simulate.lm` for
 * an `lm` fit: one nobs × nsim {@link Simulations}.
 *
 * @example
 * ```ts ignore
 * simulate(lmer("y ~ x + (1 | g)", data), { nsim: 2, seed: 1 }).columns; // ["sim_1", "sim_2"]
 * ```
 */
export function simulate(
  model: LinearMixedModel | LinearModel,
  options?: SimulateOptions,
): Simulations;
/**
 * `simulate` for a model of any supported kind (lmer, glmer, lm).
 *
 * @example
 * ```ts ignore
 * const sims = simulate(m, { nsim: 3, seed: 101 });
 * ```
 */
export function simulate(
  model: LinearMixedModel | LinearModel | GeneralizedLinearMixedModel,
  options?: SimulateOptions | GlmerSimulateOptions,
): Simulations;
export function simulate(
  model: LinearMixedModel | LinearModel | GeneralizedLinearMixedModel,
  options: SimulateOptions | GlmerSimulateOptions = {},
): Simulations {
  if (model instanceof GeneralizedLinearMixedModel) {
    return simulateGlmer(model, options as GlmerSimulateOptions);
  }
  checkOptions("simulate", options, Object.keys(SIMULATE_OPTION_NAMES));
  const opts = options as SimulateOptions;
  if (model instanceof LinearModel) {
    if (opts.newparams !== undefined) {
      throw new TypeError("simulate: 'newparams' is for lmer() fits (R's simulate.lm has none)");
    }
    return simulateLm(model, opts);
  }
  if (!(model instanceof LinearMixedModel)) {
    throw new TypeError(
      `simulate: expected a fitted lmer(), glmer() or lm() model, got ${describeValue(model)}`,
    );
  }
  return simulateMatrix(model, opts);
}

/** Every option name of {@link simulate} (a compile error here when one is added). */
const SIMULATE_OPTION_NAMES: { readonly [K in keyof Required<SimulateOptions>]: true } = {
  nsim: true,
  seed: true,
  rng: true,
  newparams: true,
};

/**
 * R's `simulate.lm(object, nsim, seed)` for a Gaussian lm: `fitted +
 * rnorm(n * nsim, sd = sqrt(deviance / df.residual))`, column s the draws
 * s·n .. s·n + n.
 *
 * @example
 * ```ts
 * import { lm } from "../models/lm.ts";
 * import { simulateLm } from "./simulateMerMod.ts";
 * const fit = lm("y ~ x", { y: [1.1, 1.9, 3.2, 3.9], x: [1, 2, 3, 4] });
 * simulateLm(fit, { nsim: 2, seed: 1 }).columns; // ["sim_1", "sim_2"]
 * ```
 */
export function simulateLm(
  model: LinearModel,
  options: Omit<SimulateOptions, "newparams"> = {},
): Simulations {
  const nsim = checkNsim(options.nsim ?? 1);
  const fitted = model.fitted();
  const n = fitted.length;
  checkSimulationSize("simulate", n, nsim);
  const r = streamFor(options);
  const sd = model.sigma;
  const y = new Float64Array(n * nsim);
  for (let s = 0; s < nsim; s++) {
    const z = r.rnorm(n);
    // rnorm(mean = 0, sd): 0 + sd * norm_rand(), then fitted + that
    for (let i = 0; i < n; i++) y[s * n + i] = fitted[i] + (0 + sd * z[i]);
  }
  return new Simulations(y, n, nsim);
}
