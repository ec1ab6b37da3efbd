/**
 * What the figures read from fitted models: checks with clear messages for
 * unsupported models and unknown names, cluster sizes, per-cluster least
 * squares, normal quantiles, and number formatting for captions.
 * @module
 */
import { LinearModel } from "../models/lm.ts";
import { LinearMixedModel } from "../models/lmer/model.ts";
import { GeneralizedLinearMixedModel } from "../models/glmer/model.ts";
import type { ReTermPlan } from "../design/modelframe.ts";
import { qnorm } from "../rng/mod.ts";
import { checkOptions } from "../data/options.ts";

/** A short name of what was passed, for error messages. */
export function describeValue(x: unknown): string {
  if (x instanceof LinearMixedModel) return "an lmer() fit (LinearMixedModel)";
  if (x instanceof GeneralizedLinearMixedModel) {
    return "a glmer() fit (GeneralizedLinearMixedModel)";
  }
  if (x instanceof LinearModel) return "an lm() fit (LinearModel)";
  if (x === null) return "null";
  if (typeof x !== "object") return `a ${typeof x} (${String(x).slice(0, 40)})`;
  const name = (x as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/**
 * A figure's options: an unknown (misspelt) name is an error naming it, as
 * the models' options are (a silently ignored `bye: "period"` would draw the
 * figure without its split), and sizes in pixels must be positive numbers.
 */
export function checkFigureOptions(
  figure: string,
  options: unknown,
  known: readonly string[],
  sizes: readonly string[],
): void {
  checkOptions(figure, options, known);
  if (options === undefined) return;
  for (const key of sizes) {
    const v = (options as Record<string, unknown>)[key];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v > 0)) {
      throw new RangeError(
        `${figure}: ${key} must be a positive number of pixels, got ${describeValue(v)}`,
      );
    }
  }
}

/** The model as an lmer fit, or a TypeError naming the figure and what it got. */
export function requireLmer(x: unknown, figure: string, hint = ""): LinearMixedModel {
  if (x instanceof LinearMixedModel) return x;
  throw new TypeError(
    `${figure} needs a fitted mixed model from lmer(); got ${describeValue(x)}${
      hint ? `. ${hint}` : ""
    }`,
  );
}

/** A fitted mixed model the caterpillar and diagnostics figures read. */
export type MixedModel = LinearMixedModel | GeneralizedLinearMixedModel;

/** The model as an lmer or glmer fit, or a TypeError naming the figure and what it got. */
export function requireMixed(x: unknown, figure: string, hint = ""): MixedModel {
  if (x instanceof LinearMixedModel || x instanceof GeneralizedLinearMixedModel) return x;
  throw new TypeError(
    `${figure} needs a fitted mixed model from lmer() or glmer(); got ${describeValue(x)}${
      hint ? `. ${hint}` : ""
    }`,
  );
}

/** The model as a glmer fit, or a TypeError naming the figure and what it got. */
export function requireGlmer(x: unknown, figure: string, hint = ""): GeneralizedLinearMixedModel {
  if (x instanceof GeneralizedLinearMixedModel) return x;
  throw new TypeError(
    `${figure} needs a fitted generalized linear mixed model from glmer(); got ${describeValue(x)}${
      hint ? `. ${hint}` : ""
    }`,
  );
}

/** How a mixed model was fitted, for subtitles: `lmer(y ~ x + (1 | g))`. */
export function modelCall(m: MixedModel): string {
  if (!(m instanceof GeneralizedLinearMixedModel)) return `lmer(${m.formula})`;
  const { family, link } = m.family;
  const canonical = { binomial: "logit", poisson: "log", gaussian: "identity" }[family];
  return `glmer(${m.formula}, ${family}${link === canonical ? "" : `(${link})`})`;
}

/** The model as an lm fit, or a TypeError. */
export function requireLm(x: unknown, figure: string, hint = ""): LinearModel {
  if (x instanceof LinearModel) return x;
  throw new TypeError(
    `${figure} needs a fitted linear model from lm(); got ${describeValue(x)}${
      hint ? `. ${hint}` : ""
    }`,
  );
}

/** Names of the model's grouping factors, in formula order, without repeats. */
export function groupNames(m: MixedModel): string[] {
  return [...new Set(m.frame.mf.random.map((t) => t.group))];
}

/** The first random-effects term of grouping factor `group`, or an error listing the factors. */
export function groupTerm(m: MixedModel, group: string, figure: string): ReTermPlan {
  const t = m.frame.mf.random.find((r) => r.group === group);
  if (!t) {
    throw new RangeError(
      `${figure}: '${group}' is not a grouping factor of the model ${m.formula} ` +
        `(its grouping factors: ${groupNames(m).map((g) => `'${g}'`).join(", ")})`,
    );
  }
  return t;
}

/** Observations per level of a term's grouping factor. */
export function levelCounts(t: ReTermPlan): Int32Array {
  const n = new Int32Array(t.levels.length);
  for (const k of t.index) n[k]++;
  return n;
}

/** Per-level least-squares line y = a + b·x (lmList's y ~ x | g); NaN where not estimable. */
export function perLevelLines(
  y: ArrayLike<number>,
  x: ArrayLike<number>,
  index: Int32Array,
  nLevels: number,
): { intercept: Float64Array; slope: Float64Array; n: Int32Array } {
  const n = new Int32Array(nLevels);
  const sx = new Float64Array(nLevels), sy = new Float64Array(nLevels);
  for (let i = 0; i < index.length; i++) {
    const k = index[i];
    n[k]++;
    sx[k] += x[i];
    sy[k] += y[i];
  }
  const mx = sx.map((s, k) => s / n[k]), my = sy.map((s, k) => s / n[k]);
  // Centred sums: the textbook one-pass formula loses digits when x is far from 0.
  const sxx = new Float64Array(nLevels), sxy = new Float64Array(nLevels);
  for (let i = 0; i < index.length; i++) {
    const k = index[i];
    const dx = x[i] - mx[k];
    sxx[k] += dx * dx;
    sxy[k] += dx * (y[i] - my[k]);
  }
  const intercept = new Float64Array(nLevels), slope = new Float64Array(nLevels);
  for (let k = 0; k < nLevels; k++) {
    // R's lm reports an aliased slope as NA and the intercept as the mean when
    // x does not vary; a relative tolerance stands in for its QR rank test.
    const scale = Math.max(1, mx[k] * mx[k]);
    if (n[k] >= 2 && sxx[k] > 1e-10 * scale * n[k]) {
      slope[k] = sxy[k] / sxx[k];
      intercept[k] = my[k] - slope[k] * mx[k];
    } else {
      slope[k] = NaN;
      intercept[k] = n[k] > 0 ? my[k] : NaN;
    }
  }
  return { intercept, slope, n };
}

/** R's `ppoints(n)`: probabilities for normal QQ plots. */
export function ppoints(n: number): Float64Array {
  const a = n <= 10 ? 3 / 8 : 1 / 2;
  return Float64Array.from({ length: n }, (_, i) => (i + 1 - a) / (n + 1 - 2 * a));
}

/** Points of a normal QQ plot and R's `qqline` (through the quartiles). */
export function qqPoints(values: ArrayLike<number>): {
  theoretical: Float64Array;
  sample: Float64Array;
  order: Int32Array;
  line: { intercept: number; slope: number };
} {
  const n = values.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const sample = Float64Array.from(order, (i) => values[i]);
  const theoretical = ppoints(n).map((p) => qnorm(p));
  const q = (p: number) => {
    const h = (n - 1) * p, lo = Math.floor(h), hi = Math.min(lo + 1, n - 1);
    return sample[lo] + (h - lo) * (sample[hi] - sample[lo]);
  };
  const y1 = q(0.25), y2 = q(0.75), x1 = qnorm(0.25), x2 = qnorm(0.75);
  const slope = (y2 - y1) / (x2 - x1);
  return { theoretical, sample, order, line: { intercept: y1 - slope * x1, slope } };
}

/** Format a number with `digits` significant digits, as R's `signif` then print. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const s = Number(x.toPrecision(digits));
  const abs = Math.abs(s);
  if (abs >= 1e6 || abs < 1e-4) return s.toExponential(digits - 1).replace("-", "−");
  return String(s).replace("-", "−");
}

/** Plural helper: "1 cluster", "3 clusters". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
