/**
 * The GLM families of `glmer`: binomial (links logit, probit, cloglog) and
 * Poisson (log), with R's `family` functions (`linkfun`, `linkinv`, `mu.eta`,
 * `variance`, `dev.resids`, `aic`, `initialize`), including R's clamping of
 * μ away from the boundaries and R's saddle-point densities (Loader 2000) for
 * the deviance's constant term (the family's `aic`).
 * @module
 */

import { lgamma, pnorm, qnormStd } from "../../stats/distributions.ts";

/** A family name as `glmer` accepts it. */
export type FamilyName = "binomial" | "poisson";
/** A link function name. */
export type LinkName = "logit" | "probit" | "cloglog" | "log";

/**
 * The `family` option of `glmer`: `"binomial"`, `"poisson"`, or an object
 * naming the link, e.g. `{ family: "binomial", link: "probit" }`.
 */
export type FamilySpec = FamilyName | { readonly family: FamilyName; readonly link?: LinkName };

/** A GLM family with its link, as R's `family` object. */
export interface GlmFamily {
  /** "binomial" or "poisson". */
  readonly family: FamilyName;
  /** The link's name. */
  readonly link: LinkName;
  /** η = g(μ). */
  linkfun(mu: number): number;
  /** μ = g⁻¹(η), clamped as R clamps it. */
  linkinv(eta: number): number;
  /** dμ/dη. */
  muEta(eta: number): number;
  /** V(μ). */
  variance(mu: number): number;
  /** The unit deviance of one observation with prior weight wt. */
  devResid(y: number, mu: number, wt: number): number;
  /**
   * −2 Σ log-density of the responses (R's `family$aic` without its + 2k):
   * y the response (proportions for binomial), n the binomial sizes, wt the
   * prior weights (times the sizes for binomial).
   */
  aic(y: Float64Array, n: Float64Array, mu: Float64Array, wt: Float64Array): number;
}

const EPS = 2.220446049250313e-16;
const THRESH = 30, MTHRESH = -30, INVEPS = 1 / EPS;
const PROBIT_THRESH = 8.125890664701906; // -qnorm(.Machine$double.eps)
const LN_SQRT_2PI = 0.918938533204672741780329736406;
const LN_2PI = 1.837877066409345483560659472811;

const LINKS: Record<LinkName, Pick<GlmFamily, "linkfun" | "linkinv" | "muEta">> = {
  logit: {
    linkfun: (mu) => Math.log(mu / (1 - mu)),
    linkinv: (eta) => {
      const t = eta < MTHRESH ? EPS : eta > THRESH ? INVEPS : Math.exp(eta);
      return t / (1 + t);
    },
    muEta: (eta) => {
      if (eta > THRESH || eta < MTHRESH) return EPS;
      const e = Math.exp(eta), o = 1 + e;
      return e / (o * o);
    },
  },
  probit: {
    linkfun: (mu) => qnormStd(mu),
    linkinv: (eta) => pnorm(Math.min(Math.max(eta, -PROBIT_THRESH), PROBIT_THRESH)),
    muEta: (eta) => Math.max(Math.exp(-0.5 * eta * eta - LN_SQRT_2PI), EPS),
  },
  cloglog: {
    linkfun: (mu) => Math.log(-Math.log(1 - mu)),
    linkinv: (eta) => Math.max(Math.min(-Math.expm1(-Math.exp(eta)), 1 - EPS), EPS),
    muEta: (eta) => {
      const e = Math.min(eta, 700);
      return Math.max(Math.exp(e) * Math.exp(-Math.exp(e)), EPS);
    },
  },
  log: {
    linkfun: (mu) => Math.log(mu),
    linkinv: (eta) => Math.max(Math.exp(eta), EPS),
    muEta: (eta) => Math.max(Math.exp(eta), EPS),
  },
};

const yLogY = (y: number, mu: number) => (y !== 0 ? y * Math.log(y / mu) : 0);

/**
 * The family object for a `family` option; throws for unknown families or
 * links the family does not offer.
 *
 * @example
 * ```ts
 * import { glmFamily } from "./family.ts";
 * const f = glmFamily({ family: "binomial", link: "probit" });
 * f.linkinv(0); // 0.5
 * ```
 */
export function glmFamily(spec: FamilySpec): GlmFamily {
  const name = typeof spec === "string" ? spec : spec?.family;
  if (name !== "binomial" && name !== "poisson") {
    const shown = typeof spec === "string" ? `"${spec}"` : JSON.stringify(spec);
    throw new RangeError(
      `glmer: unknown family ${shown}; available: "binomial" (links logit, probit, cloglog) ` +
        `and "poisson" (link log)`,
    );
  }
  const allowed: readonly LinkName[] = name === "binomial"
    ? ["logit", "probit", "cloglog"]
    : ["log"];
  const link = (typeof spec === "string" ? undefined : spec.link) ?? allowed[0];
  if (!allowed.includes(link)) {
    throw new RangeError(
      `glmer: link "${link}" is not available for the ${name} family (available: ${
        allowed.join(", ")
      })`,
    );
  }
  const l = LINKS[link];
  if (name === "binomial") {
    return {
      family: name,
      link,
      ...l,
      variance: (mu) => mu * (1 - mu),
      devResid: (y, mu, wt) => 2 * wt * (yLogY(y, mu) + yLogY(1 - y, 1 - mu)),
      aic(y, n, mu, wt) {
        const big = n.some((v) => v > 1);
        let s = 0;
        for (let i = 0; i < y.length; i++) {
          const m = big ? n[i] : wt[i];
          if (m > 0) s += (wt[i] / m) * dbinomLog(Math.round(m * y[i]), Math.round(m), mu[i]);
        }
        return -2 * s;
      },
    };
  }
  return {
    family: name,
    link,
    ...l,
    variance: (mu) => mu,
    devResid: (y, mu, wt) => 2 * (y > 0 ? wt * (y * Math.log(y / mu) - (y - mu)) : mu * wt),
    aic(y, _n, mu, wt) {
      let s = 0;
      for (let i = 0; i < y.length; i++) s += dpoisLog(y[i], mu[i]) * wt[i];
      return -2 * s;
    },
  };
}

/** R's stirlerr(n) = log(n!) − log(√(2π n) (n/e)ⁿ). */
export function stirlerr(n: number): number {
  const S0 = 1 / 12, S1 = 1 / 360, S2 = 1 / 1260, S3 = 1 / 1680, S4 = 1 / 1188;
  if (n <= 15) return lgamma(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/**
 * R's bd0(x, np) = x log(x/np) + np − x, accurately for x ≈ np;
 * `logRatio`, when the caller has it, is log(x/np) (the same number).
 */
export function bd0(x: number, np: number, logRatio?: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    if (Math.abs(s) < Number.MIN_VALUE) return s;
    let ej = 2 * x * v;
    v = v * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
  }
  return x * (logRatio ?? Math.log(x / np)) + np - x;
}

/** R's dbinom(x, n, p, log = TRUE) (Loader's saddle point). */
export function dbinomLog(x: number, n: number, p: number): number {
  const q = 1 - p;
  if (p === 0) return x === 0 ? 0 : -Infinity;
  if (q === 0) return x === n ? 0 : -Infinity;
  if (x === 0) {
    if (n === 0) return 0;
    return p < 0.1 ? -bd0(n, n * q) - n * p : n * Math.log(q);
  }
  if (x === n) return q < 0.1 ? -bd0(n, n * p) - n * q : n * Math.log(p);
  if (x < 0 || x > n) return -Infinity;
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/** R's dpois(x, λ, log = TRUE) for integer x ≥ 0. */
export function dpoisLog(x: number, lambda: number): number {
  if (lambda === 0) return x === 0 ? 0 : -Infinity;
  if (x === 0) return -lambda;
  return -stirlerr(x) - bd0(x, lambda) - 0.5 * Math.log(2 * Math.PI * x);
}
