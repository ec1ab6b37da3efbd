/**
 * Per-group ordinary least squares, as lme4's `lmList(y ~ x | g, data)`:
 * one `lm` per level of the grouping factor, coefficients that a group
 * cannot estimate reported as null (R's NA).
 *
 * The data are read and split once; each group is a small Householder QR
 * with R's rank detection (the same `householderQR` as `lm`), so thousands
 * of groups cost milliseconds. Only groups whose per-group `lm` in R would
 * code the model differently (a factor missing some of its levels in the
 * group, or `scale()` which R evaluates within each group) take a slower
 * path that rebuilds that group's model matrix the way R's `lm` does.
 * @module
 */
import {
  type Column,
  dataFrame,
  type DataLike,
  type FactorColumn,
  type Frame,
} from "../data/frame.ts";
import type { DataFrame } from "../data/table.ts";
import { buildFixed, planFixed } from "../design/fixed.ts";
import {
  type DataOptions,
  groupingFactor,
  type ModelFrame,
  modelFrame,
  type ReTermPlan,
} from "../design/modelframe.ts";
import { Evaluator, newTransformState } from "../formula/evaluate.ts";
import type { Expr } from "../formula/parse.ts";
import { FormulaError } from "../formula/tokenize.ts";
import { backsolve, householderQR, qty } from "../linalg/householder.ts";
import { escapeHtml, JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";
import { dataFrameText, factorTableHtml } from "../display/factor_tables.ts";

/** Options of {@link lmList}: how to read the data (factor levels, ordered factors). */
export type LmListOptions = DataOptions;

/** Per-group least-squares fits, as plain arrays (what {@link lmList} tabulates). */
export interface LmListFit {
  /** The formula as given. */
  readonly formula: string;
  /** Name of the grouping factor, e.g. "Subject" (the group column's name). */
  readonly group: string;
  /** Levels of the grouping factor, in R's factor order. */
  readonly levels: readonly string[];
  /** Complete observations per level. */
  readonly n: Int32Array;
  /** Coefficient names, in the column order of lme4's `coef(lmList(...))`. */
  readonly names: readonly string[];
  /** Coefficients, levels × names row-major; NaN where not estimable (R's NA). */
  readonly coef: Float64Array;
  /** Groups whose fit failed in R's terms (lme4 reports them as all-NA rows), with why. */
  readonly failed: readonly { readonly level: string; readonly reason: string }[];
}

/** Result of one group's fit: coefficient names and values (NaN = aliased), or a failure. */
type GroupFit =
  | { readonly ok: true; readonly names: readonly string[]; readonly values: Float64Array }
  | { readonly ok: false; readonly reason: string };

/**
 * Fit `y ~ x` separately in every group of `g` and return the per-group
 * coefficients as plain arrays (see {@link lmList} for the table).
 *
 * @example
 * ```ts
 * import { lmListFit } from "./lmList.ts";
 * const fit = lmListFit("y ~ x | g", {
 *   y: [1, 2, 3, 2, 4, 6], x: [0, 1, 2, 0, 1, 2], g: ["a", "a", "a", "b", "b", "b"],
 * });
 * console.log(fit.names, Array.from(fit.coef)); // ["(Intercept)", "x"] ≈ [1, 1, 2, 2]
 * ```
 */
export function lmListFit(
  formula: string,
  data: DataLike,
  options: LmListOptions = {},
): LmListFit {
  const mf = modelFrame(formula, data, options);
  const term = checkLmListFormula(formula, mf);
  const spec = term.spec;
  if (spec.lhs.offsets?.length) {
    throw new RangeError(
      "lmList: offset() terms are not supported yet (R's lmList passes them to each group's lm); " +
        "subtract the offset from the response instead",
    );
  }
  const frame = mf.frame;
  const nrow = frame.nrow;
  const ev = new Evaluator(frame, formula, newTransformState(), true);

  // The grouping factor over *all* rows: R's lmList takes its levels from
  // the model frame built with na.pass, so a group whose rows are all
  // incomplete is still listed (its lm fails: an all-NA row, n = 0).
  // Without dropped rows that is the model frame's own grouping factor.
  const gAll: FactorColumn = mf.nDropped === 0
    ? { kind: "factor", levels: term.levels, codes: term.index, ordered: false }
    : dropUnusedLevels(groupingFactor(ev, spec.group, nrow));
  const nLevels = gAll.levels.length;

  // Complete rows (the model frame's) by group.
  const { start, order } = splitRows(
    Int32Array.from(mf.rows, (r) => gAll.codes[r]),
    nLevels,
  );
  const counts = new Int32Array(nLevels);
  for (let l = 0; l < nLevels; l++) counts[l] = start[l + 1] - start[l];

  const slow = slowGroups(mf, term, ev, start, order, nLevels);
  const q = term.cnames.length;
  const z = term.z; // row-major n × q: the group design, coded over all complete rows
  const y = mf.y;
  const fits: GroupFit[] = new Array(nLevels);
  let maxRows = 0;
  for (let l = 0; l < nLevels; l++) maxRows = Math.max(maxRows, counts[l]);
  const xg = new Float64Array(maxRows * q);
  const yg = new Float64Array(maxRows);
  // Rows of the whole frame (complete or not) by group, for the slow path only.
  const allRows = slow.some((v) => v === 1) ? splitRows(gAll.codes, nLevels) : null;
  for (let l = 0; l < nLevels; l++) {
    const ng = counts[l];
    if (ng === 0) {
      fits[l] = { ok: false, reason: "no complete observations (R: 0 (non-NA) cases)" };
      continue;
    }
    if (slow[l]) {
      const groupRows = allRows!.order.subarray(allRows!.start[l], allRows!.start[l + 1]);
      fits[l] = fitGroupLikeLm(frame, formula, mf, spec, groupRows);
      continue;
    }
    // Gather the group's rows column-major; one QR of an ng × q matrix.
    const x = xg.subarray(0, ng * q);
    const yy = yg.subarray(0, ng);
    for (let r = 0; r < ng; r++) {
      const i = order[start[l] + r];
      yy[r] = y[i];
      for (let c = 0; c < q; c++) x[c * ng + r] = z[i * q + c];
    }
    fits[l] = { ok: true, names: term.cnames, values: leastSquares(x, yy, ng, q) };
  }
  return assemble(formula, spec.groupLabel, gAll.levels, counts, fits);
}

/**
 * Per-group least squares as lme4's `lmList(y ~ x | g, data)`, tabulated as
 * `coef(lmList(...))` is: a DataFrame with the group column (named after
 * the grouping factor, holding its levels), `n` (complete observations),
 * then one column per coefficient ("(Intercept)", "x", …), null where the
 * group cannot estimate it (a single observation, a constant x, a factor
 * level absent from the group) or where R's `lm` fails for the group (no
 * complete rows, a factor with one level in the group): an all-null row.
 *
 * @example
 * ```ts
 * import { lmList } from "./lmList.ts";
 * const tab = lmList("y ~ x | g", {
 *   y: [1, 2, 3, 2, 4, 6, 5], x: [0, 1, 2, 0, 1, 2, 3], g: ["a", "a", "a", "b", "b", "b", "c"],
 * });
 * console.log(tab.toRecords());
 * // ≈ [{ g: "a", n: 3, "(Intercept)": 1, x: 1 }, { g: "b", n: 3, "(Intercept)": 2, x: 2 },
 * //    { g: "c", n: 1, "(Intercept)": 5, x: null }]
 * ```
 */
export function lmList(formula: string, data: DataLike, options: LmListOptions = {}): DataFrame {
  return lmListTable(lmListFit(formula, data, options));
}

/**
 * The DataFrame of an {@link LmListFit}: group, n, one column per coefficient.
 *
 * @example
 * ```ts
 * import { lmListFit, lmListTable } from "./lmList.ts";
 * const fit = lmListFit("y ~ x | g", { y: [1, 2, 2, 4], x: [0, 1, 0, 1], g: ["a", "a", "b", "b"] });
 * console.log(lmListTable(fit).columns); // ["g", "n", "(Intercept)", "x"]
 * ```
 */
export function lmListTable(fit: LmListFit): DataFrame {
  const p = fit.names.length;
  const clash = [fit.group, "n"].find((c, k, a) => a.indexOf(c) !== k || fit.names.includes(c));
  if (clash !== undefined) {
    throw new RangeError(
      `lmList: column name '${clash}' is used twice (group, 'n' and coefficient names must differ)`,
    );
  }
  const cols: Record<string, ArrayLike<number | string | null>> = {
    [fit.group]: [...fit.levels],
    n: fit.n,
  };
  fit.names.forEach((name, j) => {
    cols[name] = fit.levels.map((_, l) => {
      const v = fit.coef[l * p + j];
      return Number.isNaN(v) ? null : v;
    });
  });
  // Displayed as R prints an lmList's coefficients (levels as row names, NA).
  const tab = {
    levels: fit.levels,
    columns: fit.names,
    values: fit.levels.map((_, l) => Array.from(fit.coef.subarray(l * p, (l + 1) * p))),
  };
  const df = dataFrame(cols);
  Object.defineProperty(df, JUPYTER_DISPLAY, {
    value: (): MimeBundle => ({
      "text/plain": `Coefficients:\n${dataFrameText(tab)}`,
      "text/html": `<div class="deno-lmer"><div style="font-family:system-ui,sans-serif;` +
        `font-size:12px;color:#666">lmList(${escapeHtml(fit.formula)}): coefficients of ` +
        `${fit.levels.length} per-group fits</div>${factorTableHtml(fit.group, tab)}</div>`,
    }),
    enumerable: false,
    configurable: true,
  });
  return df;
}

/** The formula must be `response ~ terms | group`: one bar term and nothing else. */
function checkLmListFormula(formula: string, mf: ModelFrame): ReTermPlan {
  const bad = () =>
    new FormulaError(
      "lmList needs a formula 'response ~ terms | group', e.g. 'y ~ x | cluster'",
      formula,
      Math.max(formula.indexOf("|"), 0) + 1,
    );
  const fixed = mf.formula.fixed;
  if (mf.random.length !== 1 || fixed.terms.length !== 0 || fixed.variables.length !== 0) {
    throw bad();
  }
  if (/\|\|/.test(formula)) throw bad();
  return mf.random[0];
}

/**
 * Split row indices by group code with one counting sort: group l's rows
 * are `order[start[l] .. start[l + 1])`, in data order. Rows coded −1 are left out.
 */
function splitRows(codes: Int32Array, nLevels: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(nLevels + 1);
  for (const c of codes) if (c >= 0) start[c + 1]++;
  for (let l = 0; l < nLevels; l++) start[l + 1] += start[l];
  const order = new Int32Array(start[nLevels]);
  const fill = start.slice(0, nLevels);
  for (let i = 0; i < codes.length; i++) if (codes[i] >= 0) order[fill[codes[i]]++] = i;
  return { start, order };
}

/** Keep only the levels that occur (R's drop.unused.levels on lmList's frame). */
function dropUnusedLevels(f: FactorColumn): FactorColumn {
  const used = new Int32Array(f.levels.length).fill(-1);
  for (const c of f.codes) if (c >= 0) used[c] = 1;
  const levels: string[] = [];
  for (let k = 0; k < used.length; k++) if (used[k] === 1) used[k] = levels.push(f.levels[k]) - 1;
  if (levels.length === f.levels.length) return f;
  const codes = f.codes.map((c) => (c < 0 ? -1 : used[c]));
  return { kind: "factor", levels, codes, ordered: false };
}

/**
 * Which groups R's per-group `lm` would code differently from the global
 * design: `scale()` is evaluated within each group (all groups), and a
 * factor with levels missing from a group loses them there (lm drops unused
 * levels), which moves treatment baselines and polynomial contrasts.
 */
function slowGroups(
  mf: ModelFrame,
  term: ReTermPlan,
  ev: Evaluator,
  start: Int32Array,
  order: Int32Array,
  nLevels: number,
): Uint8Array {
  const slow = new Uint8Array(nLevels);
  if (mf.state.scale.size > 0) return slow.fill(1);
  const factorVars = [...term.plan.factorLevels.keys()];
  if (factorVars.length === 0) return slow;
  for (const v of factorVars) {
    const col = ev.column(term.spec.lhs.variables[v].expr) as FactorColumn;
    // Global number of levels present among the complete rows (the plan's levels).
    const nGlobal = term.plan.factorLevels.get(v)!.length;
    const seen = new Int32Array(col.levels.length).fill(-1); // last group that saw each level
    for (let l = 0; l < nLevels; l++) {
      if (slow[l]) continue;
      let distinct = 0;
      for (let k = start[l]; k < start[l + 1]; k++) {
        const code = col.codes[mf.rows[order[k]]];
        if (seen[code] !== l) (seen[code] = l, distinct++);
      }
      if (distinct < nGlobal) slow[l] = 1;
    }
  }
  return slow;
}

/** Coefficients of y on X (ng × q, column-major) with R's rank detection; NaN where aliased. */
function leastSquares(x: Float64Array, y: Float64Array, ng: number, q: number): Float64Array {
  const qr = householderQR(x, ng, q);
  const b = backsolve(qr, qty(qr, y));
  const out = new Float64Array(q).fill(NaN);
  qr.kept.forEach((j, k) => (out[j] = b[k]));
  return out;
}

/**
 * One group fitted exactly as R's `lm(formula, data = group's rows)` does:
 * evaluate the variables on the group's rows (so `scale()` is per group),
 * drop incomplete rows, drop unused factor levels, then code the model
 * matrix. A factor left with fewer than two levels makes R's `lm` fail
 * ("contrasts can be applied only to factors with 2 or more levels").
 */
function fitGroupLikeLm(
  frame: Frame,
  formula: string,
  mf: ModelFrame,
  spec: ReTermPlan["spec"],
  rows: Int32Array,
): GroupFit {
  const sub = subsetFrame(frame, rows);
  const ev = new Evaluator(sub, formula, newTransformState(), true);
  const yCol = ev.column(mf.formula.response as Expr);
  if (yCol.kind !== "numeric") throw new TypeError("lmList: the response must be numeric");
  const cols = spec.lhs.variables.map((v) => ev.column(v.expr));
  const keep: number[] = [];
  for (let i = 0; i < sub.nrow; i++) {
    if (Number.isNaN(yCol.values[i])) continue;
    if (cols.some((c) => (c.kind === "numeric" ? Number.isNaN(c.values[i]) : c.codes[i] < 0))) {
      continue;
    }
    keep.push(i);
  }
  const ng = keep.length;
  if (ng === 0) return { ok: false, reason: "no complete observations (R: 0 (non-NA) cases)" };
  const k = Int32Array.from(keep);
  const kept = cols.map((c) => subsetColumn(c, k));
  for (let v = 0; v < kept.length; v++) {
    const c = kept[v];
    if (c.kind === "factor" && c.levels.length < 2) {
      return {
        ok: false,
        reason: `factor '${spec.lhs.variables[v].label}' has only one level (${
          c.levels[0]
        }) in this group (R: contrasts can be applied only to factors with 2 or more levels)`,
      };
    }
  }
  const plan = planFixed(spec.lhs, kept);
  const x = buildFixed(plan, kept, ng);
  const y = new Float64Array(ng);
  for (let i = 0; i < ng; i++) y[i] = yCol.values[k[i]];
  return { ok: true, names: plan.names, values: leastSquares(x, y, ng, plan.names.length) };
}

/** The rows `keep` of a frame (factor levels kept: R's split() keeps them). */
function subsetFrame(frame: Frame, keep: Int32Array): Frame {
  const columns = new Map<string, Column>();
  for (const [name, c] of frame.columns) {
    if (c.kind === "numeric") {
      const v = new Float64Array(keep.length);
      for (let i = 0; i < keep.length; i++) v[i] = c.values[keep[i]];
      columns.set(name, { kind: "numeric", values: v });
    } else {
      const codes = new Int32Array(keep.length);
      for (let i = 0; i < keep.length; i++) codes[i] = c.codes[keep[i]];
      columns.set(name, { ...c, codes });
    }
  }
  return { nrow: keep.length, names: frame.names, columns };
}

/** The rows `keep` of an evaluated variable, unused factor levels dropped (lm's drop.unused.levels). */
function subsetColumn(c: Column, keep: Int32Array): Column {
  if (c.kind === "numeric") {
    const v = new Float64Array(keep.length);
    for (let i = 0; i < keep.length; i++) v[i] = c.values[keep[i]];
    return { kind: "numeric", values: v };
  }
  const codes = new Int32Array(keep.length);
  for (let i = 0; i < keep.length; i++) codes[i] = c.codes[keep[i]];
  return dropUnusedLevelsKeepOrdered({ ...c, codes });
}

function dropUnusedLevelsKeepOrdered(f: FactorColumn): FactorColumn {
  const d = dropUnusedLevels(f);
  return d === f ? f : { ...d, ordered: f.ordered };
}

/**
 * Collect the groups' coefficients into one matrix with lme4's columns:
 * the union of the names of the successful fits, in group order
 * (`Reduce(union, ...)` in coef.lmList4).
 */
function assemble(
  formula: string,
  group: string,
  levels: readonly string[],
  counts: Int32Array,
  fits: readonly GroupFit[],
): LmListFit {
  const names: string[] = [];
  const index = new Map<string, number>();
  let last: readonly string[] | null = null;
  for (const f of fits) {
    if (!f.ok || f.names === last) continue; // most groups share one names array
    last = f.names;
    for (const nm of f.names) if (!index.has(nm)) index.set(nm, names.push(nm) - 1);
  }
  const p = names.length;
  const coef = new Float64Array(levels.length * p).fill(NaN);
  const failed: { level: string; reason: string }[] = [];
  let cols: Int32Array | null = null;
  last = null;
  fits.forEach((f, l) => {
    if (!f.ok) {
      failed.push({ level: levels[l], reason: f.reason });
      return;
    }
    if (f.names !== last) (last = f.names, cols = Int32Array.from(f.names, (nm) => index.get(nm)!));
    for (let j = 0; j < f.values.length; j++) coef[l * p + cols![j]] = f.values[j];
  });
  return { formula, group, levels, n: counts, names, coef, failed };
}
