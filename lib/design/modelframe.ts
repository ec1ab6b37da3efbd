/**
 * The model frame: evaluate every variable a formula uses, drop incomplete
 * rows (R's na.omit), and build y, X and the random-effects terms. This is
 * the one place that knows both the formula and the data.
 * @module
 */
import {
  type Column,
  type DataLike,
  type FactorColumn,
  type Frame,
  relevel,
  toFrame,
} from "../data/frame.ts";
import { numericLevels, rLevelOrder } from "../data/factor.ts";
import {
  Evaluator,
  newTransformState,
  type TransformState,
  type VarColumn,
} from "../formula/evaluate.ts";
import { type Expr, exprNames, type ParsedFormula, parseFormula } from "../formula/parse.ts";
import {
  expandDot,
  expandFormula,
  type ModelFormula,
  type RandomTerm,
  type TermSet,
} from "../formula/terms.ts";
import { FormulaError } from "../formula/tokenize.ts";
import { buildFixed, type FixedPlan, matchLevels, planFixed } from "./fixed.ts";
import type { FixedDesign, ReTerm } from "./reterm.ts";

/** How to turn a column into a factor (R's `factor(x, levels)` / `ordered()`). */
export interface FactorSpec {
  /** Level order; default: R's sorted order of the values. */
  readonly levels?: readonly string[];
  /** An ordered factor gets polynomial contrasts (R's `contr.poly`). */
  readonly ordered?: boolean;
}

/** Options shared by lm and lmer for reading the data. */
export interface DataOptions {
  /**
   * Columns to treat as factors, with their level order and whether they are
   * ordered: `{ temperature: { ordered: true } }` as R's `ordered()`.
   */
  readonly factors?: Readonly<Record<string, FactorSpec>>;
}

/** A random-effects term with what predict() needs to rebuild it. */
export interface ReTermPlan extends ReTerm {
  /** How the term's columns were coded (to rebuild them for new data). */
  readonly plan: FixedPlan;
  /** The random term as written in the formula, expanded. */
  readonly spec: RandomTerm;
}

/** Everything a model fit needs from the formula and the data. */
export interface ModelFrame {
  /** The expanded formula. */
  readonly formula: ModelFormula;
  /** The response values of the rows used. */
  readonly y: Float64Array;
  /** The response's label, e.g. "Reaction" or "log(y)". */
  readonly responseLabel: string;
  /** The fixed-effects model matrix. */
  readonly x: FixedDesign;
  /** How the fixed-effects columns were coded. */
  readonly plan: FixedPlan;
  /** The random-effects terms in formula order (before lme4's sorting). */
  readonly random: readonly ReTermPlan[];
  /** Rows of the input used (0-based), after dropping incomplete ones. */
  readonly rows: Int32Array;
  /** Number of input rows dropped for missing values. */
  readonly nDropped: number;
  /** Remembered transformation parameters (scale(), poly()). */
  readonly state: TransformState;
  /**
   * The sum of the formula's `offset(...)` terms at the rows used (R's
   * `model.offset()`), if it has any.
   */
  readonly offset?: Float64Array;
  /** The data as converted (with factor options applied), for predict and plots. */
  readonly frame: Frame;
}

/**
 * Apply the user's factor specifications to the converted frame, in time
 * linear in rows + levels. A spec naming a column that does not exist is
 * an error at once. With `used` (the columns the formula refers to), only
 * those columns are recoded now; the others are recoded when first read
 * from the frame (by a plot or table asking for that column), so a spec on
 * an unused column costs nothing at fit time.
 *
 * @example
 * ```ts
 * import { applyFactorSpecs } from "./modelframe.ts";
 * import { toFrame } from "../data/frame.ts";
 * const f = applyFactorSpecs(toFrame({ g: ["a", "b"] }), { g: { levels: ["b", "a"] } });
 * console.log(f.columns.get("g")); // levels ["b", "a"], codes [1, 0]
 * ```
 */
export function applyFactorSpecs(
  frame: Frame,
  specs: DataOptions["factors"],
  used?: ReadonlySet<string>,
): Frame {
  if (!specs) return frame;
  const columns = new LazyColumns(frame.columns);
  for (const [name, spec] of Object.entries(specs)) {
    const c = frame.columns.get(name);
    if (!c) throw new RangeError(`factors: unknown column '${name}'`);
    if (!used || used.has(name)) columns.set(name, factorBySpec(name, c, spec));
    else columns.defer(name, () => factorBySpec(name, c, spec));
  }
  return { ...frame, columns };
}

/** One column as the factor a spec asks for (linear: a Set of the levels). */
function factorBySpec(name: string, c: Column, spec: FactorSpec): FactorColumn {
  let f: FactorColumn;
  if (c.kind === "numeric") {
    const { levels, codes } = numericLevels(c.values);
    f = { kind: "factor", levels, codes, ordered: false };
  } else f = c;
  const levels = spec.levels ? [...spec.levels] : f.levels;
  const wanted = new Set(levels);
  const present = new Uint8Array(f.levels.length);
  for (const k of f.codes) if (k >= 0) present[k] = 1;
  const missing = f.levels.filter((l, k) => present[k] === 1 && !wanted.has(l));
  if (missing.length) {
    throw new RangeError(
      `factors: column '${name}' has values not in its levels: ${missing.join(", ")}`,
    );
  }
  return relevel(f, levels, spec.ordered ?? f.ordered);
}

/** Frame columns some of which are computed when first read. */
class LazyColumns extends Map<string, Column> {
  readonly #pending = new Map<string, () => Column>();
  constructor(from: ReadonlyMap<string, Column>) {
    super();
    for (const [k, v] of from) super.set(k, v);
  }
  /** Compute `name` from `make` when it is first read. */
  defer(name: string, make: () => Column): void {
    this.#pending.set(name, make);
  }
  override get(name: string): Column | undefined {
    const make = this.#pending.get(name);
    if (make) {
      super.set(name, make());
      this.#pending.delete(name);
    }
    return super.get(name);
  }
  override set(name: string, c: Column): this {
    this.#pending?.delete(name);
    return super.set(name, c);
  }
  override *entries(): MapIterator<[string, Column]> {
    for (const k of super.keys()) yield [k, this.get(k)!];
  }
  override [Symbol.iterator](): MapIterator<[string, Column]> {
    return this.entries();
  }
  override *values(): MapIterator<Column> {
    for (const k of super.keys()) yield this.get(k)!;
  }
  override forEach(
    fn: (value: Column, key: string, map: Map<string, Column>) => void,
    thisArg?: unknown,
  ): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

/** The data columns a formula refers to (every name in it; a few are functions' constants). */
function formulaColumns(f: ParsedFormula): Set<string> {
  const out = new Set<string>();
  if (f.lhs) exprNames(f.lhs, out);
  return exprNames(f.rhs, out);
}

/**
 * Keep the rows in `keep`, dropping factor levels no longer used (lme4
 * does); a logical keeps its levels FALSE, TRUE (R's model.matrix).
 */
function subsetColumn<C extends VarColumn>(c: C, keep: Int32Array, dropLevels: boolean): C;
function subsetColumn(c: VarColumn, keep: Int32Array, dropLevels: boolean): VarColumn {
  const pick = (x: Float64Array) => {
    const v = new Float64Array(keep.length);
    for (let i = 0; i < keep.length; i++) v[i] = x[keep[i]];
    return v;
  };
  if (c.kind === "numeric") return { kind: "numeric", values: pick(c.values) };
  if (c.kind === "matrix") return { ...c, columns: c.columns.map(pick) };
  const codes = new Int32Array(keep.length);
  for (let i = 0; i < keep.length; i++) codes[i] = c.codes[keep[i]];
  if (c.logical && dropLevels) {
    const f = relevel({ ...c, codes }, ["FALSE", "TRUE"], false);
    return { ...f, logical: true };
  }
  if (!dropLevels) return { ...c, codes };
  const used = new Uint8Array(c.levels.length);
  for (const k of codes) used[k] = 1;
  if (used.every((u) => u === 1)) return { ...c, codes };
  const levels = c.levels.filter((_, i) => used[i]);
  return relevel({ ...c, codes }, levels, c.ordered);
}

/**
 * The grouping factor of a random term: one factor or the interaction a:b
 * (also each level of a/b/c, expanded to a, a:b, a:b:c by the formula).
 *
 * As lme4 (`mkBlist` evaluates `a:b` as `a %i% b`): the levels are only the
 * combinations that occur, labelled "a:b", ordered as R's `a:b` with unused
 * levels dropped, i.e. lexicographically by the parts' level positions
 * (the first factor varying slowest). A row with a missing part is missing.
 * Linear in rows × parts (LSD radix sort by level codes): the Cartesian
 * product of the levels is never formed.
 */
export function groupingFactor(ev: Evaluator, group: readonly Expr[], n: number): FactorColumn {
  const parts = group.map((g) => {
    const c = ev.column(g);
    // a logical grouping factor keeps only the values that occur (lme4's factor())
    if (c.kind === "factor") return c.logical ? { ...c, logical: false } : c;
    const { levels, codes } = numericLevels(c.values);
    return { kind: "factor" as const, levels, codes, ordered: false };
  });
  if (parts.length === 1) return parts[0];
  return interactionFactor(parts, n);
}

/**
 * The interaction of factors holding only the combinations that occur, in
 * R's order for `factor(a:b)` (first factor slowest), labels joined by ":".
 *
 * @example
 * ```ts
 * import { interactionFactor } from "./modelframe.ts";
 * const a = { kind: "factor" as const, levels: ["x", "y"], codes: Int32Array.of(1, 0, 1), ordered: false };
 * const b = { kind: "factor" as const, levels: ["1", "2"], codes: Int32Array.of(0, 1, 0), ordered: false };
 * console.log(interactionFactor([a, b], 3).levels); // ["x:2", "y:1"]
 * ```
 */
export function interactionFactor(parts: readonly FactorColumn[], n: number): FactorColumn {
  // rows with every part present
  let m = 0;
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (parts.every((p) => p.codes[i] >= 0)) rows[m++] = i;
  }
  // LSD radix sort of the complete rows by (part 0, part 1, …) codes: one
  // stable counting sort per part, last part first.
  let order = rows.subarray(0, m);
  let tmp = new Int32Array(m);
  for (let j = parts.length - 1; j >= 0; j--) {
    const codes = parts[j].codes;
    const count = new Int32Array(parts[j].levels.length + 1);
    for (let k = 0; k < m; k++) count[codes[order[k]] + 1]++;
    for (let l = 1; l < count.length; l++) count[l] += count[l - 1];
    for (let k = 0; k < m; k++) tmp[count[codes[order[k]]]++] = order[k];
    [order, tmp] = [tmp, order];
  }
  const out = new Int32Array(n).fill(-1);
  const levels: string[] = [];
  let prev = -1;
  for (let k = 0; k < m; k++) {
    const i = order[k];
    const same = prev >= 0 && parts.every((p) => p.codes[i] === p.codes[prev]);
    if (!same) levels.push(parts.map((p) => p.levels[p.codes[i]]).join(":"));
    out[i] = levels.length - 1;
    prev = i;
  }
  return { kind: "factor", levels, codes: out, ordered: false };
}

/** Evaluate the variables of a term set. */
function evalTermSet(ev: Evaluator, ts: TermSet): VarColumn[] {
  return ts.variables.map((v) => ev.variable(v.expr));
}

function markMissing(c: VarColumn, bad: Uint8Array): void {
  if (c.kind === "matrix") {
    for (const col of c.columns) markMissing({ kind: "numeric", values: col }, bad);
  } else if (c.kind === "numeric") {
    for (let i = 0; i < bad.length; i++) if (Number.isNaN(c.values[i])) bad[i] = 1;
  } else for (let i = 0; i < bad.length; i++) if (c.codes[i] < 0) bad[i] = 1;
}

/** Row-major n × q values of a random term's columns from its model matrix. */
function rowMajor(x: Float64Array, n: number, q: number): Float64Array {
  const z = new Float64Array(n * q);
  for (let j = 0; j < q; j++) for (let i = 0; i < n; i++) z[i * q + j] = x[j * n + i];
  return z;
}

/**
 * Build the model frame for a formula and data.
 *
 * @example
 * ```ts
 * import { modelFrame } from "./modelframe.ts";
 * const mf = modelFrame("y ~ x", { y: [1, 2, 4], x: [0, 1, 2] });
 * console.log(mf.x.names); // ["(Intercept)", "x"]
 * ```
 */
export function modelFrame(
  formula: string,
  data: DataLike,
  options: DataOptions & { allowRandom?: boolean } = {},
): ModelFrame {
  const written = parseFormula(formula);
  const data0 = toFrame(data);
  const raw = expandDot(written, data0.names);
  const parsed = expandFormula(raw);
  if (!parsed.response) {
    throw new FormulaError("the formula needs a response on the left of '~'", formula, 1);
  }
  if (parsed.random.length && options.allowRandom === false) {
    throw new FormulaError(
      "random-effects terms (… | g) need lmer(), not lm()",
      formula,
      formula.indexOf("|") + 1,
    );
  }
  const frame = applyFactorSpecs(data0, options.factors, formulaColumns(raw));
  if (frame.nrow === 0) throw new RangeError("data has no rows");
  const state = newTransformState();
  const ev = new Evaluator(frame, formula, state, true);
  const n0 = frame.nrow;

  let yCol = ev.column(parsed.response);
  if (yCol.kind === "factor" && yCol.logical) {
    // R's lm: a logical response is fitted as 0/1
    const codes = yCol.codes, levels = yCol.levels;
    const values = Float64Array.from(codes, (k) => (k < 0 ? NaN : levels[k] === "TRUE" ? 1 : 0));
    yCol = { kind: "numeric", values };
  }
  if (yCol.kind !== "numeric") {
    throw new FormulaError(
      `response '${parsed.responseLabel}' is not numeric (it is a factor with levels ${
        yCol.levels.slice(0, 5).join(", ")
      }${yCol.levels.length > 5 ? ", …" : ""})`,
      formula,
      parsed.response.pos,
    );
  }
  const fixedCols = evalTermSet(ev, parsed.fixed);
  const reCols = parsed.random.map((r) => ({
    lhs: evalTermSet(ev, r.lhs),
    group: groupingFactor(ev, r.group, n0),
  }));

  const bad = new Uint8Array(n0);
  markMissing(yCol, bad);
  fixedCols.forEach((c) => markMissing(c, bad));
  for (const r of reCols) (r.lhs.forEach((c) => markMissing(c, bad)), markMissing(r.group, bad));
  const keep = Int32Array.from({ length: n0 }, (_, i) => i).filter((i) => !bad[i]);
  const n = keep.length;
  if (n === 0) {
    throw new RangeError(
      `no complete rows: all ${n0} rows have a missing value in a variable of '${formula}'`,
    );
  }

  const y = (subsetColumn(yCol, keep, false) as { values: Float64Array }).values;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i])) {
      throw new RangeError(
        `response '${parsed.responseLabel}' has a non-finite value (${y[i]}) in row ${keep[i] + 1}`,
      );
    }
  }
  const fx = fixedCols.map((c) => subsetColumn(c, keep, true));
  fx.forEach((c, v) => checkFinite(c, parsed.fixed.variables[v].label, keep));
  const offset = offsetValues(parsed.fixed, fx, n);
  const plan = planFixed(parsed.fixed, fx);
  const x: FixedDesign = { x: buildFixed(plan, fx, n), n, p: plan.names.length, names: plan.names };

  const random: ReTermPlan[] = parsed.random.map((spec, k) => {
    const lhs = reCols[k].lhs.map((c) => subsetColumn(c, keep, true));
    lhs.forEach((c, v) => checkFinite(c, spec.lhs.variables[v].label, keep));
    const rplan = planFixed(spec.lhs, lhs);
    if (rplan.names.length === 0) {
      throw new FormulaError(`random-effects term ${spec.text} has no columns`, formula, 0);
    }
    const g = subsetColumn(reCols[k].group, keep, true) as FactorColumn;
    const zx = buildFixed(rplan, lhs, n);
    return {
      group: spec.groupLabel,
      levels: g.levels,
      index: g.codes,
      cnames: rplan.names,
      z: rowMajor(zx, n, rplan.names.length),
      plan: rplan,
      spec,
    };
  });
  return {
    formula: parsed,
    y,
    responseLabel: parsed.responseLabel!,
    x,
    plan,
    random,
    rows: keep,
    nDropped: n0 - n,
    state,
    frame,
    ...(offset ? { offset } : {}),
  };
}

/**
 * The sum of a term set's `offset(...)` variables (R's model.offset), or
 * undefined when it has none.
 */
export function offsetValues(
  ts: TermSet,
  cols: readonly VarColumn[],
  n: number,
): Float64Array | undefined {
  if (!ts.offsets?.length) return undefined;
  const out = new Float64Array(n);
  for (const v of ts.offsets) {
    const c = cols[v];
    if (c.kind !== "numeric") {
      throw new TypeError(`${ts.variables[v].label}: an offset must be numeric`);
    }
    for (let i = 0; i < n; i++) out[i] += c.values[i];
  }
  return out;
}

function checkFinite(c: VarColumn, label: string, keep: Int32Array): void {
  if (c.kind === "matrix") {
    for (const col of c.columns) checkFinite({ kind: "numeric", values: col }, label, keep);
    return;
  }
  if (c.kind !== "numeric") return;
  for (let i = 0; i < c.values.length; i++) {
    if (!Number.isFinite(c.values[i])) {
      throw new RangeError(
        `variable '${label}' has a non-finite value (${c.values[i]}) in row ${keep[i] + 1}`,
      );
    }
  }
}

/** Columns for new data, with the training levels and transformations. */
export function newDataColumns(
  mf: ModelFrame,
  ts: TermSet,
  plan: FixedPlan,
  data: DataLike,
): { cols: VarColumn[]; n: number; frame: Frame } {
  const frame = applyFactorSpecsLike(toFrame(data), mf.frame);
  const ev = new Evaluator(frame, mf.formula.text, mf.state, false);
  const cols = ts.variables.map((v, i): VarColumn => {
    const c = ev.variable(v.expr);
    const levels = plan.factorLevels.get(i);
    if (!levels || c.kind === "matrix") return c;
    if (c.kind === "numeric") {
      const { levels: l, codes } = numericLevels(c.values);
      return matchLevels({ kind: "factor", levels: l, codes, ordered: false }, levels, v.label);
    }
    return matchLevels(c, levels, v.label);
  });
  return { cols, n: frame.nrow, frame };
}

/** New data get the same factor level sets and orderedness as the training frame. */
function applyFactorSpecsLike(frame: Frame, train: Frame): Frame {
  const columns = new Map(frame.columns);
  for (const [name, c] of frame.columns) {
    const t = train.columns.get(name);
    if (t?.kind === "factor" && c.kind === "numeric") {
      const { levels, codes } = numericLevels(c.values);
      columns.set(name, { kind: "factor", levels, codes, ordered: t.ordered });
    } else if (t?.kind === "factor" && c.kind === "factor") {
      columns.set(name, { ...c, levels: c.levels, ordered: t.ordered });
    }
  }
  return { ...frame, columns };
}

export { rLevelOrder };

/** A fitted random-effects term, as {@link addRandomEffects} reads it. */
export interface FittedReTerm {
  /** Position of the term in the formula (`mf.random`). */
  readonly formulaIndex: number;
  /** The grouping factor's name (for messages). */
  readonly group: string;
  /** Columns per level. */
  readonly q: number;
  /** The fitted levels. */
  readonly levels: readonly string[];
  /** The term's random effects b, level by level (q per level). */
  readonly b: ArrayLike<number>;
}

/**
 * Add Z b for new data to `out` (lme4's predict with re.form = NULL): each
 * term's columns and grouping factor rebuilt on `newdata`; a missing
 * grouping value gives NaN; a level the fit did not see contributes 0 when
 * `allowNewLevels`, and is an error naming it otherwise.
 */
export function addRandomEffects(
  mf: ModelFrame,
  frame: Frame,
  newdata: DataLike,
  n: number,
  terms: readonly FittedReTerm[],
  out: Float64Array,
  allowNewLevels: boolean,
): void {
  const ev = new Evaluator(frame, mf.formula.text, mf.state, false);
  for (const t of terms) {
    const spec = mf.random[t.formulaIndex];
    const lhs = newDataColumns(mf, spec.spec.lhs, spec.plan, newdata).cols;
    const z = buildFixed(spec.plan, lhs, n);
    const g = groupingFactor(ev, spec.spec.group, n);
    const pos = new Map(t.levels.map((l, i) => [l, i]));
    const unseen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const code = g.codes[i];
      if (code < 0) {
        out[i] = NaN;
        continue;
      }
      const l = pos.get(g.levels[code]);
      if (l === undefined) {
        unseen.add(g.levels[code]);
        continue;
      }
      for (let c = 0; c < t.q; c++) out[i] += z[c * n + i] * t.b[l * t.q + c];
    }
    if (unseen.size && !allowNewLevels) {
      throw new RangeError(
        `new levels detected in newdata for '${t.group}': ${[...unseen].join(", ")} ` +
          "(use { allowNewLevels: true } to predict them at the population level)",
      );
    }
  }
}
