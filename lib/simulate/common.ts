/**
 * What lmer's and glmer's simulate share: the random stream an option set
 * asks for, the nsim check, and ZΛ(θ) row by row for drawing new random
 * effects (lme4's `U = t(Lambdat %*% Zt)`).
 * @module
 */
import { Rng, rng } from "../rng/mod.ts";
import { checkNumberOption, describeValue } from "../data/options.ts";
import type { TermInfo } from "../models/lmer/structure.ts";

/**
 * The stream an option set asks for: `rng`, or `rng(seed)`, or a randomly
 * seeded one.
 *
 * @example
 * ```ts
 * import { streamFor } from "./common.ts";
 * streamFor({ seed: 42 }).rnorm(1); // [1.3709584471466685], as set.seed(42); rnorm(1)
 * ```
 */
export function streamFor(options: { seed?: number; rng?: Rng }): Rng {
  if (options.seed !== undefined) {
    checkNumberOption("simulate", "seed", options.seed);
  }
  if (options.rng !== undefined && !(options.rng instanceof Rng)) {
    throw new TypeError(
      `simulate: 'rng' must be a random stream made by rng(seed), got ${
        describeValue(options.rng)
      }`,
    );
  }
  if (options.seed !== undefined && options.rng !== undefined) {
    throw new RangeError("give either 'seed' or 'rng', not both");
  }
  if (options.rng) return options.rng;
  if (options.seed !== undefined) return rng(options.seed);
  // no global stream in this library: a fresh, unpredictable seed
  const buf = new Int32Array(1);
  crypto.getRandomValues(buf);
  return rng(buf[0] === -2147483648 ? 0 : buf[0]);
}

/**
 * One vector of `newparams` (theta or beta) checked: a number (R's
 * length-1 vector) or an array of `expected` finite numbers; the message
 * names the element and what it is.
 *
 * @example
 * ```ts
 * import { paramVector } from "./common.ts";
 * paramVector("theta", 0.5, 1); // [0.5]
 * ```
 */
export function paramVector(name: string, value: unknown, expected: number): ArrayLike<number> {
  const v = typeof value === "number" ? [value] : value;
  if (
    v === null || typeof v !== "object" ||
    typeof (v as { length?: unknown }).length !== "number"
  ) {
    throw new TypeError(
      `simulate: newparams.${name} must be a number or an array of numbers, got ${
        describeValue(value)
      }`,
    );
  }
  const a = v as ArrayLike<unknown>;
  if (a.length !== expected) {
    throw new RangeError(`newparams.${name} has ${a.length} values, expected ${expected}`);
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new RangeError(
        `newparams.${name}[${i + 1}] is ${describeValue(x)}, not a finite number`,
      );
    }
  }
  return a as ArrayLike<number>;
}

/** nsim checked: a positive integer. */
export function checkNsim(nsim: number): number {
  if (typeof nsim !== "number") {
    throw new TypeError(`simulate: nsim must be a positive integer, got ${describeValue(nsim)}`);
  }
  if (!(Number.isInteger(nsim) && nsim >= 1)) {
    throw new RangeError(`nsim must be a positive integer, got ${nsim}`);
  }
  return nsim;
}

/** One term's rows of ZΛ(θ): n × q (row-major) and the u index of each row's level. */
export interface TermLoadings {
  /** Columns of the term. */
  readonly q: number;
  /** Index in u of row i's level (its first column). */
  readonly base: Int32Array;
  /** Row i's loadings on the level's q random effects. */
  readonly w: Float64Array;
}

/**
 * Each term's rows of ZΛ(θ) (n × q, row-major) and the u index of each row's level,
 * terms in Z's column order. Row i's random effect is Σ_terms Σ_c w[i·q + c] u[base[i] + c].
 *
 * @example
 * ```ts ignore
 * const zl = termLoadings(model.lmm.terms, model.nobs, model.theta);
 * ```
 */
/** Each term's rows of ZΛ(θ) (n × q, row-major) and the u index of each row's level. */
export function termLoadings(
  terms: readonly TermInfo[],
  n: number,
  theta: ArrayLike<number>,
): TermLoadings[] {
  return terms.map((t) => {
    const q = t.q, o = t.thetaOffset;
    const { index, z } = t.term;
    const T = new Float64Array(q * q);
    let at = o;
    for (let j = 0; j < q; j++) for (let i = j; i < q; i++) T[j * q + i] = theta[at++];
    const w = new Float64Array(n * q);
    const base = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      base[i] = t.zOffset + index[i] * q;
      for (let c = 0; c < q; c++) {
        let zl = 0;
        for (let r = c; r < q; r++) zl += z[i * q + r] * T[c * q + r];
        w[i * q + c] = zl;
      }
    }
    return { q, base, w };
  });
}

/**
 * Row i's random effect Σ_terms Σ_c w[i·q + c] u[base[i] + c] for spherical
 * effects `u`, written into `out` (length n, overwritten).
 */
export function randomEffectsInto(
  out: Float64Array,
  zl: readonly TermLoadings[],
  u: ArrayLike<number>,
): Float64Array {
  const n = out.length;
  out.fill(0);
  for (const { q, base, w } of zl) {
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let c = 0; c < q; c++) acc += w[i * q + c] * u[base[i] + c];
      out[i] += acc;
    }
  }
  return out;
}
