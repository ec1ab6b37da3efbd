/**
 * The fitted model from a plan's aggregates (lib/sources/plan.ts), whatever
 * engine computed them: lme4's optimization on the assembled cross-products,
 * and a model frame without rows (what needs the rows says so, see
 * `ROWS_NEEDED`; predict on new data works from the levels and codings).
 * @module
 */
import type { Column, Frame } from "../data/frame.ts";
import type { ModelFrame, ReTermPlan } from "../design/modelframe.ts";
import type { FixedDesign } from "../design/reterm.ts";
import { newTransformState } from "../formula/evaluate.ts";
import { lmmFromCrossProducts, ROWS_NEEDED, type RowStream } from "../models/lmer/core.ts";
import {
  fitDevfun,
  type LmerDevfun,
  type LmerFrame,
  type LmerOptions,
} from "../models/lmer/fit.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import type { AssembledFit, LmerPlan } from "./plan.ts";

/** An object whose listed properties refuse with {@link ROWS_NEEDED}. */
function refusing<T extends object>(obj: T, props: Record<string, string>): T {
  for (const [k, what] of Object.entries(props)) {
    Object.defineProperty(obj, k, {
      get(): never {
        throw new Error(`${what} ${ROWS_NEEDED}`);
      },
      enumerable: false,
    });
  }
  return obj;
}

/**
 * The training data's column kinds and factor levels without rows: what
 * predict(newdata) reads of the training frame.
 */
function shapeFrame(plan: LmerPlan, fit: AssembledFit): Frame {
  const columns = new Map<string, Column>();
  for (const [name, type] of Object.entries(plan.schema)) {
    const pl = fit.levels.parts.get(name);
    columns.set(
      name,
      pl
        ? {
          kind: "factor",
          levels: pl.levels,
          codes: new Int32Array(0),
          ordered: plan.factors[name]?.ordered ?? false,
          ...(type === "logical" ? { logical: true } : {}),
        }
        : { kind: "numeric", values: new Float64Array(0) },
    );
  }
  return { nrow: 0, names: Object.keys(plan.schema), columns };
}

/** lme4's frame (lFormula) without rows, from the assembled aggregates. */
function rowFreeFrame(plan: LmerPlan, fit: AssembledFit): LmerFrame {
  const x = refusing({ n: fit.n, p: fit.names.length, names: fit.names } as FixedDesign, {
    x: "the fixed-effects model matrix",
  });
  const random: ReTermPlan[] = fit.terms.map((t, k) =>
    refusing(
      {
        group: t.group,
        levels: t.levels,
        cnames: t.cnames,
        plan: fit.termPlans[k],
        spec: plan.parsed.random[k],
      } as unknown as ReTermPlan,
      {
        index: `the level index of '${t.group}'`,
        z: `the random-effects design of '${t.group}'`,
      },
    )
  );
  const mfx = refusing(
    { n: fit.n, p: fit.fixed.names.length, names: fit.fixed.names } as FixedDesign,
    {
      x: "the fixed-effects model matrix",
    },
  );
  const mf = refusing(
    {
      formula: plan.parsed,
      responseLabel: plan.responseLabel,
      x: mfx,
      plan: fit.fixed,
      random,
      nDropped: fit.nDropped,
      state: newTransformState(),
      frame: shapeFrame(plan, fit),
    } as unknown as ModelFrame,
    // (the message reads "<what> needs the rows: …")
    { y: "the response", rows: "the list of the rows the fit used (e.g. for emmeans)" },
  );
  return { mf, x, keptColumns: fit.kept, messages: fit.messages };
}

/**
 * The fit from the aggregates of a plan ({@link aggregateLazy} or a SQL
 * engine's rows assembled by `assemble`): lme4's optimization and fitted
 * model, without rows.
 *
 * @example
 * ```ts ignore
 * const { plan, fit } = aggregateLazy(formula, pl.scanParquet(path));
 * const m = lmerFromAggregates(plan, fit);
 * ```
 */
export function lmerFromAggregates(
  plan: LmerPlan,
  fit: AssembledFit,
  options: LmerOptions = {},
  stream?: RowStream,
): LinearMixedModel {
  const lmm = lmmFromCrossProducts(
    {
      a: fit.a,
      names: fit.names,
      centering: fit.k >= 0 ? { k: fit.k, a: fit.shift } : undefined,
      stream,
    },
    fit.n,
    fit.terms,
  );
  const reml = options.REML ?? true;
  const frame = rowFreeFrame(plan, fit);
  const f = (theta: ArrayLike<number>) => lmm.objective(theta, reml);
  const devfun: LmerDevfun = Object.assign(f, { lmm, reml, frame });
  return fitDevfun(devfun, plan.formula, options);
}
