/**
 * Likelihood profiles of a generalized linear mixed model, as lme4's
 * `profile.merMod` does them for a GLMM, and so its profile intervals
 * (`confint(m)`):
 * - the deviance is lme4's `getME(m, "devfun")` (Laplace for nAGQ = 1),
 *   a function of θ and β together ({@link GeneralizedLinearMixedModel.devfun});
 *   there is no σ and no profiling-out of β: lme4's `devfun2` for a GLMM
 *   takes (sds and correlations, β) and maps the first part to θ;
 * - every parameter, β included, is profiled the same way: held fixed while
 *   all the others are re-optimised with the optimizer of the fit's last
 *   stage (Nelder-Mead, lme4's defaults: initial steps 0.02, FtolAbs 1e-5),
 *   starting from the previous point's parameters;
 * - ζ, the stepping rule, the spline and the limits are the LMM's
 *   ({@link profileStepper}, {@link collectProfile}, `LmerProfile.confint`);
 *   a limit the profile does not reach is the parameter's bound (0 for an
 *   sd, ±1 for a correlation, ∓∞ for a fixed effect, as lme4).
 *
 * @example
 * ```ts ignore
 * const pr = glmerProfile(m);
 * pr.confint(0.95).rows; // lme4's confint(m) for the glmer fit
 * ```
 * @module
 */
import { nelderMead } from "../optim/nelder_mead.ts";
import type { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import type { ProfileOptions } from "../models/lmer/extensions.ts";
import type { TermInfo } from "../models/lmer/structure.ts";
import {
  LmerProfile,
  type ParameterInfo,
  type ParameterProfile,
  profileByReoptimising,
  type ProfileRow,
  profileSetup,
  sdcorBounds,
  sdcorToTheta,
  selectParameters,
  thetaToSdcor,
} from "./profile.ts";

/**
 * The parameters lme4's `confint` reports for a GLMM, in its order: per
 * term the sds and correlations (".sig01", …), then the fixed effects (no
 * ".sigma": binomial and Poisson have none).
 *
 * @example
 * ```ts ignore
 * glmerParameterNames(m).map((p) => p.name); // [".sig01", "(Intercept)", "period2", …]
 * ```
 */
export function glmerParameterNames(model: GeneralizedLinearMixedModel): ParameterInfo[] {
  const out: ParameterInfo[] = [];
  let k = 0;
  const sig = () => `.sig${String(++k).padStart(2, "0")}`;
  for (const t of model.glmm.terms) {
    for (let j = 0; j < t.q; j++) {
      for (let i = j; i < t.q; i++) {
        out.push(
          i === j
            ? { name: sig(), kind: "sd", label: `sd_${t.cnames[i]}|${t.group}` }
            : { name: sig(), kind: "cor", label: `cor_${t.cnames[i]}.${t.cnames[j]}|${t.group}` },
        );
      }
    }
  }
  for (const nm of model.fixedNames) out.push({ name: nm, kind: "fixed", label: nm });
  return out;
}

/** θ → sds and correlations (lme4's Cv_to_Sv without σ). */
function sdcorOf(terms: readonly TermInfo[], theta: ArrayLike<number>): Float64Array {
  return thetaToSdcor(terms, theta, 1).subarray(0, theta.length);
}

/**
 * Profile the deviance of a glmer fit over each parameter, as lme4's
 * `profile(m)` for a GLMM.
 *
 * @example
 * ```ts ignore
 * import { dataset, glmer } from "../../mod.ts";
 * const m = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
 *   dataset("cbpp"), { family: "binomial" });
 * glmerProfile(m).confint().rows; // .sig01 [0.346, 1.100], (Intercept) [-1.901, -0.948], …
 * ```
 */
export function glmerProfile(
  model: GeneralizedLinearMixedModel,
  options: ProfileOptions = {},
): LmerProfile {
  const t0 = performance.now();
  const params = glmerParameterNames(model);
  const which = selectParameters(params, options.parm);

  const terms = model.glmm.terms;
  const nth = model.theta.length, p = model.glmm.p;
  const nptot = nth + p;
  const d0 = model.devfun();
  let evaluations = 0;
  const thetaBuf = new Float64Array(nth), parBuf = new Float64Array(nptot);
  // lme4's devfun2 for a GLMM: (sds, cors, β) → deviance
  const dd = (pars: ArrayLike<number>): number => {
    evaluations++;
    sdcorToTheta(terms, pars, 1, thetaBuf);
    parBuf.set(thetaBuf);
    for (let j = 0; j < p; j++) parBuf[nth + j] = pars[nth + j];
    return d0(parBuf);
  };

  const base = model.deviance();
  const opt = new Float64Array(nptot);
  opt.set(sdcorOf(terms, model.theta));
  opt.set(model.beta, nth);
  const atOpt = dd(opt);
  if (!(Math.abs(atOpt - base) <= 1e-5 * Math.abs(base))) {
    throw new Error(
      "Profiling over both the residual variance and\nfixed effects is not numerically consistent with\n" +
        "profiling over the fixed effects only",
    );
  }

  const { messages, warn, fillmat } = profileSetup(options, nptot);
  // bounds on the sdcor scale: sd ≥ 0, −1 ≤ cor ≤ 1, β free
  const { lower, upper } = sdcorBounds(model.glmm.lower, nptot);
  const baseRow: ProfileRow = new Float64Array(1 + nptot);
  baseRow.set(opt, 1);

  const profiles: ParameterProfile[] = which.map((w) =>
    profileByReoptimising({
      w,
      params,
      npar: nptot,
      nptot,
      baseRow,
      lower,
      upper,
      base,
      dd,
      // lme4's optwrap(Nelder_Mead) with the fit's control minus xst/xt: the defaults
      minimize: (f, start, lo, up) => nelderMead(f, start, { lower: lo, upper: up }),
      optimum: "the optimum",
      warn,
      fillmat,
      naOmit: true,
    })
  );

  return new LmerProfile({
    parameters: params,
    estimates: opt,
    baseDeviance: base,
    profiles,
    messages,
    seconds: (performance.now() - t0) / 1000,
    evaluations,
  });
}
