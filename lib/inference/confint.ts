/**
 * Confidence intervals for a linear mixed model, as lme4's `confint.merMod`:
 * - "Wald": β̂ ± Φ⁻¹(1 − α/2)·SE for the fixed effects; the variance
 *   parameters get no Wald interval (NA, as lme4: null in the table);
 * - "profile" (lme4's default): likelihood-profile intervals for every
 *   parameter ({@link profile});
 * - "boot": parametric-bootstrap percentile intervals ({@link bootMer}).
 *
 * Rows use lme4's names: ".sig01", ".sig02", … (per term: sds and
 * correlations, column-major lower triangle), ".sigma", then the fixed
 * effects.
 *
 * glmer fits (no ".sigma"): "Wald" as above; "profile" is lme4's
 * profile.merMod for a GLMM ({@link glmerProfile}); "boot" is not
 * available yet.
 *
 * Singular fits: a standard deviation estimated as 0 (θ below lme4's
 * isSingular tolerance 1e-4) has a one-sided profile; its lower limit is the
 * boundary 0, as lme4 reports it, and the result carries a message saying
 * so (also for correlations of such a term, which are then not
 * identifiable). {@link confint} prints the messages with `console.warn`
 * (as R warns) unless `quiet`; {@link confintResult} returns them.
 *
 * @example
 * ```ts ignore
 * import { confint, lmer } from "../../mod.ts";
 * const m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy);
 * confint(m, { method: "Wald" });              // DataFrame parameter, 2.5 %, 97.5 %
 * confint(m);                                  // profile, lme4's default
 * confint(m, { method: "boot", nsim: 500, seed: 1 });
 * ```
 * @module
 */

import { qnorm } from "../rng/mod.ts";
import { dataFrame } from "../data/frame.ts";
import type { DataFrame } from "../data/table.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import { LinearModel, type LmConfintOptions } from "../models/lm.ts";
import { checkOptions, describeValue } from "../data/options.ts";
import {
  htmlBlock,
  htmlMessages,
  htmlTable,
  JUPYTER_DISPLAY,
  type MimeBundle,
} from "../display/bundle.ts";
import { alignTable, formatReal } from "../display/rformat.ts";
import {
  type ConfintRow,
  type LmerProfile,
  type ParameterInfo,
  parameterNames,
  profile,
  selectParameters,
} from "./profile.ts";
import { bootConfint, bootMer, bootMerAsync, type BootResult } from "./bootstrap.ts";
import { glmerParameterNames, glmerProfile } from "./glmerProfile.ts";
import type { ConfintMethod, ConfintOptions } from "../models/lmer/extensions.ts";

export type { ConfintRow } from "./profile.ts";

export type { ConfintMethod, ConfintOptions } from "../models/lmer/extensions.ts";

/**
 * Confidence intervals with what lme4 would have warned about.
 *
 * @example
 * ```ts ignore
 * const r = confintResult(m, { method: "Wald" });
 * String(r);        // R's print of the confint matrix, then the messages
 * r.toDataFrame();  // parameter, 2.5 %, 97.5 %
 * ```
 */
export class ConfintResult {
  /** The method used. */
  readonly method: ConfintMethod;
  /** The confidence level. */
  readonly level: number;
  /** One row per parameter (NaN where lme4 gives NA). */
  readonly rows: readonly ConfintRow[];
  /** Notes and warnings (singular components, profile or bootstrap problems). */
  readonly messages: readonly string[];
  /** The profile, for method "profile". */
  readonly profile: LmerProfile | undefined;
  /** The bootstrap replicates, for method "boot". */
  readonly boot: BootResult | undefined;

  /** Built by {@link confintResult}. */
  constructor(init: {
    method: ConfintMethod;
    level: number;
    rows: readonly ConfintRow[];
    messages: readonly string[];
    profile?: LmerProfile;
    boot?: BootResult;
  }) {
    this.method = init.method;
    this.level = init.level;
    this.rows = init.rows;
    this.messages = init.messages;
    this.profile = init.profile;
    this.boot = init.boot;
  }

  /** Column headers as R prints them ("2.5 %", "97.5 %"). */
  get columnLabels(): [string, string] {
    const a = (1 - this.level) / 2;
    const pct = (x: number) => `${Number((100 * x).toPrecision(3))} %`;
    return [pct(a), pct(1 - a)];
  }

  /**
   * The table: parameter and the limits, named as R names them ("2.5 %",
   * "97.5 %" at level 0.95, as lm's confint), null where lme4 gives NA. It
   * displays as this result does (R's print of the confint matrix).
   */
  toDataFrame(): DataFrame {
    const cell = (v: number) => (Number.isNaN(v) ? null : v);
    const [lo, hi] = this.columnLabels;
    const df = dataFrame({
      parameter: this.rows.map((r) => r.parameter),
      [lo]: this.rows.map((r) => cell(r.lower)),
      [hi]: this.rows.map((r) => cell(r.upper)),
    });
    Object.defineProperty(df, JUPYTER_DISPLAY, {
      value: () => this[JUPYTER_DISPLAY](),
      enumerable: false,
      configurable: true,
    });
    return df;
  }

  /** R's print of the confint matrix, then the messages. */
  toString(): string {
    const lo = formatReal(this.rows.map((r) => r.lower));
    const up = formatReal(this.rows.map((r) => r.upper));
    const table = alignTable(
      ["", ...this.columnLabels],
      this.rows.map((r, i) => [r.parameter, lo[i], up[i]]),
    );
    return [table, ...this.messages].join("\n");
  }

  /** Notebook display: the table and the messages. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const lo = formatReal(this.rows.map((r) => r.lower));
    const up = formatReal(this.rows.map((r) => r.upper));
    const html = htmlBlock([
      htmlTable(
        ["", ...this.columnLabels],
        this.rows.map((r, i) => [r.parameter, lo[i], up[i]]),
        { caption: `${this.method} confidence intervals (level ${this.level})` },
      ),
      htmlMessages(this.messages),
    ]);
    return { "text/plain": this.toString(), "text/html": html };
  }
}

/** A mixed model confint works on: lmer's or glmer's. */
type MixedModel = LinearMixedModel | GeneralizedLinearMixedModel;

/** Wald rows: β̂ + SE·Φ⁻¹(α/2), β̂ + SE·Φ⁻¹(1 − α/2); NaN for variance parameters. */
function waldRows(model: MixedModel, params: readonly ParameterInfo[], level: number) {
  const a = (1 - level) / 2;
  const qlo = qnorm(a), qhi = qnorm(1 - a);
  const { beta, se } = model instanceof GeneralizedLinearMixedModel
    ? { beta: model.beta, se: model.se() }
    : model.solution;
  let j = 0;
  return params.map((p): ConfintRow => {
    if (p.kind !== "fixed") return { parameter: p.name, lower: NaN, upper: NaN };
    const b = beta[j], s = se[j++];
    return { parameter: p.name, lower: b + s * qlo, upper: b + s * qhi };
  });
}

/** Messages about zero-variance components of a singular fit. */
function singularNotes(
  model: MixedModel,
  params: readonly ParameterInfo[],
  wanted: ReadonlySet<number>,
  method: ConfintMethod,
): string[] {
  const notes: string[] = [];
  const core = model instanceof GeneralizedLinearMixedModel ? model.glmm : model.lmm;
  const lower = core.lower;
  for (const t of core.terms) {
    // the term's sd parameters at 0 (lme4's isSingular: diagonal θ < 1e-4)
    const zero: number[] = [];
    const corr: number[] = [];
    let k = t.thetaOffset;
    for (let j = 0; j < t.q; j++) {
      for (let i = j; i < t.q; i++, k++) {
        if (i === j && lower[k] === 0 && model.theta[k] < 1e-4) zero.push(k);
        if (i !== j) corr.push(k);
      }
    }
    for (const k of zero) {
      if (!wanted.has(k)) continue;
      const p = params[k];
      const why = method === "profile"
        ? "its profile is one-sided, so the lower limit reported is the boundary 0 itself, " +
          "not a limit estimated from the data"
        : method === "boot"
        ? "its bootstrap distribution piles up at 0, so the percentile interval starts at the boundary"
        : "Wald intervals are not given for variance parameters";
      notes.push(
        `${p.name} (${p.label}) is estimated as 0 (boundary, singular fit): ${why}; ` +
          "see help('isSingular')",
      );
    }
    if (zero.length) {
      for (const k of corr) {
        if (!wanted.has(k)) continue;
        const p = params[k];
        notes.push(
          `${p.name} (${p.label}) is not identifiable: a standard deviation of its term is 0 ` +
            "(singular fit), so its interval says nothing about the correlation",
        );
      }
    }
  }
  return notes;
}

/** Messages for profile limits that are a parameter's bound, not a crossing. */
function boundNotes(rows: readonly ConfintRow[], pr: LmerProfile, level: number): string[] {
  const notes: string[] = [];
  const z = qnorm((1 + level) / 2);
  for (const prof of pr.profiles) {
    const r = rows.find((x) => x.parameter === prof.name);
    if (!r || prof.kind === "fixed") continue;
    const [lo, up] = prof.bounds;
    const zs = prof.points.map((p) => p.zeta).filter((v) => !Number.isNaN(v));
    if (r.lower === lo && !(Math.min(...zs) <= -z)) {
      notes.push(
        `${prof.name}: the profile reaches the bound ${lo} before ζ = ${(-z).toFixed(3)}, ` +
          `so the lower limit is the bound`,
      );
    }
    if (r.upper === up && !(Math.max(...zs) >= z)) {
      notes.push(
        `${prof.name}: the profile reaches the bound ${up} before ζ = ${z.toFixed(3)}, ` +
          `so the upper limit is the bound`,
      );
    }
  }
  return notes;
}

interface Prepared {
  method: ConfintMethod;
  level: number;
  params: ParameterInfo[];
  wanted: number[];
}

function prepare(model: MixedModel, options: ConfintOptions): Prepared {
  const method = options.method ?? "profile";
  if (!["Wald", "profile", "boot"].includes(method)) {
    throw new RangeError(`unknown method '${method}': use "Wald", "profile" or "boot"`);
  }
  const level = options.level ?? 0.95;
  if (typeof level !== "number") {
    // "0.9" would pass the range check by coercion; R refuses a non-numeric level
    throw new TypeError(`confint: level must be a number in (0, 1), got ${describeValue(level)}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  if (method === "boot" && model instanceof GeneralizedLinearMixedModel) {
    throw new RangeError(
      'confint: method "boot" is not available for glmer() fits yet; use "Wald" or "profile"',
    );
  }
  const params = model instanceof GeneralizedLinearMixedModel
    ? glmerParameterNames(model)
    : parameterNames(model);
  const wanted = selectParameters(params, options.parm);
  return { method, level, params, wanted };
}

function assemble(
  model: MixedModel,
  prep: Prepared,
  rows: readonly ConfintRow[],
  messages: string[],
  extra: { profile?: LmerProfile; boot?: BootResult },
): ConfintResult {
  const wanted = new Set(prep.wanted);
  const byName = new Map(rows.map((r) => [r.parameter, r]));
  const out = prep.wanted.map((k) => byName.get(prep.params[k].name)!);
  const notes = singularNotes(model, prep.params, wanted, prep.method);
  return new ConfintResult({
    method: prep.method,
    level: prep.level,
    rows: out,
    messages: [...notes, ...messages.filter((m) => !notes.includes(m))],
    ...extra,
  });
}

function fromProfile(model: MixedModel, prep: Prepared, options: ConfintOptions) {
  const popts = {
    parm: prep.wanted.map((k) => prep.params[k].name),
    alphamax: options.alphamax,
    maxpts: options.maxpts,
    delta: options.delta,
    maxmult: options.maxmult,
  };
  const pr = model instanceof GeneralizedLinearMixedModel
    ? glmerProfile(model, popts)
    : profile(model, popts);
  const ci = pr.confint(prep.level);
  const messages = [...pr.messages, ...ci.messages, ...boundNotes(ci.rows, pr, prep.level)];
  return assemble(model, prep, ci.rows, [...new Set(messages)], { profile: pr });
}

/**
 * Confidence intervals with their messages (see {@link confint}).
 *
 * @example
 * ```ts ignore
 * const r = confintResult(m, { method: "profile" });
 * r.rows;      // [{ parameter: ".sig01", lower: 14.38, upper: 37.72 }, …]
 * r.messages;  // e.g. a note on a zero-variance component
 * ```
 */
export function confintResult(
  model: LinearMixedModel | GeneralizedLinearMixedModel,
  options: ConfintOptions = {},
): ConfintResult {
  checkModel(model);
  checkOptions("confint", options, Object.keys(CONFINT_OPTION_NAMES));
  const prep = prepare(model, options);
  if (prep.method === "Wald") {
    return assemble(model, prep, waldRows(model, prep.params, prep.level), [], {});
  }
  if (prep.method === "profile") return fromProfile(model, prep, options);
  const boot = bootMer(model as LinearMixedModel, options);
  const ci = bootConfint(boot, prep.level);
  return assemble(model, prep, ci.rows, ci.messages, { boot });
}

/**
 * {@link confintResult}, with the bootstrap run by {@link bootMerAsync}: in
 * a Deno Jupyter notebook its progress is shown in one display, updated in
 * place. Same numbers as the synchronous version.
 *
 * @example
 * ```ts ignore
 * const r = await confintResultAsync(m, { method: "boot", nsim: 1000, seed: 7 });
 * ```
 */
export async function confintResultAsync(
  model: LinearMixedModel | GeneralizedLinearMixedModel,
  options: ConfintOptions = {},
): Promise<ConfintResult> {
  checkModel(model);
  checkOptions("confint", options, Object.keys(CONFINT_OPTION_NAMES));
  const prep = prepare(model, options);
  if (prep.method !== "boot") return confintResult(model, options);
  const boot = await bootMerAsync(model as LinearMixedModel, options);
  const ci = bootConfint(boot, prep.level);
  return assemble(model, prep, ci.rows, ci.messages, { boot });
}

/** Every option name of confint for lmer fits (a compile error here when one is added). */
const CONFINT_OPTION_NAMES: { readonly [K in keyof Required<ConfintOptions>]: true } = {
  method: true,
  level: true,
  parm: true,
  quiet: true,
  alphamax: true,
  maxpts: true,
  delta: true,
  maxmult: true,
  nsim: true,
  seed: true,
  rng: true,
  onProgress: true,
  lme4Refit: true,
  progress: true,
  display: true,
};

function checkModel(model: unknown): void {
  if (!(model instanceof LinearMixedModel) && !(model instanceof GeneralizedLinearMixedModel)) {
    throw new TypeError(
      `confint: expected a fitted lmer(), glmer() or lm() model, got ${describeValue(model)}`,
    );
  }
}

function warnAll(r: ConfintResult, options: ConfintOptions): void {
  if (options.quiet) return;
  for (const m of r.messages) console.warn(`confint: ${m}`);
}

/**
 * lme4's `confint(m, parm, level, method, nsim)` as a DataFrame with
 * columns parameter, `2.5 %`, `97.5 %` (at level 0.95; null where lme4
 * gives NA), displayed as R prints the confint matrix. Messages
 * (singular components, profile or bootstrap problems) go to console.warn
 * unless `quiet`. For an `lm` fit it is R's `confint.lm` (`fit.confint()`:
 * t intervals, columns parameter, `2.5 %`, `97.5 %`).
 *
 * @example
 * ```ts ignore
 * import { confint, lmer } from "../../mod.ts";
 * const m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy);
 * confint(m, { method: "Wald", level: 0.9 });
 * ```
 */
export function confint(
  model: LinearMixedModel | GeneralizedLinearMixedModel | LinearModel,
  options: ConfintOptions | LmConfintOptions = {},
): DataFrame {
  if (model instanceof LinearModel) return model.confint(options as LmConfintOptions);
  checkModel(model);
  const r = confintResult(model, options as ConfintOptions);
  warnAll(r, options);
  return r.toDataFrame();
}

/**
 * {@link confint} with live bootstrap progress in a notebook (see
 * {@link confintResultAsync}).
 *
 * @example
 * ```ts ignore
 * await confintAsync(m, { method: "boot", nsim: 2000, seed: 1 });
 * ```
 */
export async function confintAsync(
  model: LinearMixedModel | GeneralizedLinearMixedModel,
  options: ConfintOptions = {},
): Promise<DataFrame> {
  const r = await confintResultAsync(model, options);
  warnAll(r, options);
  return r.toDataFrame();
}
