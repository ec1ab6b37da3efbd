/**
 * The aggregation plan of an lmer fit: what to sum over the rows of a data
 * source that is not in memory (a polars LazyFrame, a SQL table), so that
 * the fit never holds the n rows. After one pass that forms the blocks of
 * A = [Z X y]ᵀ[Z X y] (see lib/models/lmer/crossprod.ts), no criterion
 * evaluation touches the rows; every block is a sum of products grouped by
 * grouping-factor levels, which a columnar engine computes out of core.
 *
 * The plan is plain data and names no engine: an executor (lib/sources/
 * polars.ts, a SQL renderer) turns each {@link AggQuery} into its own
 * language, runs it, and returns an {@link AggResult}. The fit then never
 * sees a row.
 *
 * ## Shape (what a renderer implements)
 *
 * - Columns: the plan reads the source's columns by name, typed by a
 *   {@link SourceSchema} the executor supplies (`"number"`: any integer or
 *   floating column, read as double; `"string"`: text or categorical;
 *   `"logical"`: booleans).
 * - {@link NumExpr}: a double-valued row expression. `col` (a numeric column
 *   cast to double; a logical column reads 1/0), `const`, `neg`,
 *   `add`/`sub`/`mul`/`div`, `pow` (R's `^`), `fn` (log, log2, log10,
 *   log1p, exp, expm1, sqrt, abs, sin, cos, tan: natural semantics, NaN
 *   outside the domain), and `lookup` (a factor's coding: `values[i]` when
 *   the part's column equals `keys[i]`, else 0; SQL: `CASE WHEN g = k1 THEN
 *   v1 … ELSE 0 END`; keys are strings, numbers or booleans as the column
 *   holds them).
 * - {@link FactorPart}: a raw column grouped on (`GROUP BY column`).
 * - {@link LmerPlan.filter}: R's `na.omit`: a row is used when every
 *   `key` column is non-null and every `number` expression is non-null and
 *   not NaN (SQL: `x IS NOT NULL AND NOT isNaN(x)`). Every query with
 *   `filtered: true` applies it (`WHERE …`); a query with `filtered: false`
 *   counts the source's rows (for lme4's "N observations deleted" message).
 * - {@link AggQuery}: `SELECT keys…, count(*) AS n, agg(expr) AS name …
 *   [WHERE filter] GROUP BY keys…`; `fn` is `sum`, `min` or `max`. No keys:
 *   one row. Sums must be over doubles (a pairwise or Kahan sum helps the
 *   agreement with the in-memory fit but is not needed for correctness).
 * - {@link AggResult}: the returned rows column by column: `keys[k][r]` the
 *   value of key k in row r (string, number or boolean as the column holds
 *   it), `n[r]`, and `values[name][r]`. Row order is free.
 *
 * ## Stages (three scans of the source; two when X has no factor)
 *
 * 1. {@link levelQueries}: the rows before and after the filter, and the
 *    distinct values of every factor column (and the occurring combinations
 *    of each interaction grouping factor `a:b`) with counts. From them,
 *    {@link readLevels} gives R's level order.
 * 2. {@link momentsQuery}: count, Σ, Σ², min and max of every column of X
 *    and of y (X's columns are built from the levels: contrasts). From it,
 *    {@link readMoments} decides the centring (lib/models/lmer/centering.ts:
 *    y and the X columns whose mean exceeds their spread are centred at
 *    their means; the criterion is unchanged, and A keeps the digits of the
 *    data's spread). When X has no factor, {@link earlyMoments} gives this
 *    query before the levels are known, to run with stage 1.
 * 3. {@link blockQueries}: per random-effects term (lme4's order), `GROUP
 *    BY` its level: Σ z_r z_c (the diagonal block) and Σ f̃_j z_c (FᵀZ_k with
 *    F̃ = centred [X y]); per pair of terms, `GROUP BY` both levels: Σ z_ir
 *    z_jc (the sparse off-diagonal blocks; for nested or crossed factors the
 *    result has one row per occurring pair of levels); one global query for
 *    F̃ᵀF̃. {@link assemble} turns the rows into a `CrossProducts` and
 *    everything the fit needs (levels, names, centring, lme4's checks).
 *
 * {@link runPlan} / {@link runPlanAsync} drive the three stages given an
 * executor.
 *
 * Supported formula features: numeric columns, factors (text, logical, or
 * `factor(x)` of a numeric column; the `factors` option's level orders and
 * ordered factors), arithmetic, `I()`, `log()` (with a base), the unary
 * math functions, interactions (`a:b`, `a*b`, `(a+b)^2`, `/`), random
 * intercepts and slopes, nested and crossed grouping, `||`. Anything else
 * (`poly()`, `scale()`, comparisons, `%in%`, `offset()`, weights) is an
 * {@link UnsupportedTermError} naming the term.
 *
 * @example
 * ```ts ignore
 * const plan = lmerPlan("Reaction ~ Days + (Days | Subject)", {
 *   Reaction: "number", Days: "number", Subject: "string",
 * });
 * const fit = runPlan(plan, (queries) => queries.map(runOnMyEngine));
 * fit.a.ff; // F̃ᵀF̃ of the centred [X y]
 * ```
 * @module
 */
import { compareLabels, rNumberLabel } from "../data/factor.ts";
import type { FactorColumn } from "../data/frame.ts";
import type { VarColumn } from "../formula/evaluate.ts";
import { deparse, type Expr, parseFormula } from "../formula/parse.ts";
import { expandDot, expandFormula, type ModelFormula, type TermSet } from "../formula/terms.ts";
import { FormulaError } from "../formula/tokenize.ts";
import type { FactorSpec } from "../design/modelframe.ts";
import { type FixedPlan, planFixed } from "../design/fixed.ts";
import type { ReTerm } from "../design/reterm.ts";
import type { BlockSparse, CrossProducts } from "../models/lmer/crossprod.ts";
import { termOrder } from "../models/lmer/structure.ts";
import { ROWS_NEEDED } from "../models/lmer/core.ts";

/** How a source column is typed for the plan. */
export type ColumnType = "number" | "string" | "logical";

/** The source's columns and their types. */
export type SourceSchema = Readonly<Record<string, ColumnType>>;

/** A value of a grouping column as the source holds it. */
export type KeyValue = string | number | boolean;

/** A raw column grouped on (`GROUP BY column`). */
export interface FactorPart {
  /** Column name. */
  readonly column: string;
  /** Its type in the source. */
  readonly type: ColumnType;
}

/** The math functions of {@link NumExpr} `fn`. */
export type MathFn =
  | "log"
  | "log2"
  | "log10"
  | "log1p"
  | "exp"
  | "expm1"
  | "sqrt"
  | "abs"
  | "sin"
  | "cos"
  | "tan";

/** A double-valued row expression (see the module documentation). */
export type NumExpr =
  | { readonly op: "col"; readonly column: string }
  | { readonly op: "const"; readonly value: number }
  | { readonly op: "neg"; readonly arg: NumExpr }
  | {
    readonly op: "add" | "sub" | "mul" | "div" | "pow";
    readonly left: NumExpr;
    readonly right: NumExpr;
  }
  | { readonly op: "fn"; readonly fn: MathFn; readonly arg: NumExpr }
  | {
    readonly op: "lookup";
    readonly part: FactorPart;
    readonly keys: readonly KeyValue[];
    readonly values: readonly number[];
  };

/** One condition of the missing-value filter (R's na.omit). */
export type FilterItem =
  | { readonly kind: "number"; readonly expr: NumExpr }
  | { readonly kind: "key"; readonly part: FactorPart };

/** One aggregate: `fn(expr) AS name`. */
export interface Agg {
  /** Output column name (a plain identifier). */
  readonly name: string;
  /** sum, min or max. */
  readonly fn: "sum" | "min" | "max";
  /** The row expression. */
  readonly expr: NumExpr;
}

/** One aggregation query (see the module documentation). */
export interface AggQuery {
  /** What it is for: "rows", "levels:<col>", "levels:<a>:<b>", "moments", "term:<k>", "pair:<i>:<j>", "ff". */
  readonly id: string;
  /** Whether the missing-value filter applies. */
  readonly filtered: boolean;
  /** GROUP BY these columns (none: one row). */
  readonly keys: readonly FactorPart[];
  /** The aggregates besides `count(*) AS n`. */
  readonly aggs: readonly Agg[];
}

/** The rows an executor returns for an {@link AggQuery}, column by column. */
export interface AggResult {
  /** One array per key, in the query's key order. */
  readonly keys: readonly (readonly KeyValue[])[];
  /** count(*) per row. */
  readonly n: ArrayLike<number>;
  /** Each aggregate's values by its name. */
  readonly values: Readonly<Record<string, ArrayLike<number>>>;
}

/** A formula term the plan cannot express as row expressions. */
export class UnsupportedTermError extends Error {
  /** The term (R's label). */
  readonly term: string;
  /** An error for `term` (R's label), saying why it cannot be computed. */
  constructor(term: string, why: string) {
    super(`term '${term}' cannot be computed by the data source: ${why}`);
    this.name = "UnsupportedTermError";
    this.term = term;
  }
}

/** A formula variable as the plan evaluates it: a numeric expression or a factor column. */
export type PlanVar =
  | { readonly kind: "numeric"; readonly expr: NumExpr }
  | { readonly kind: "factor"; readonly part: FactorPart };

/** A random-effects term of the plan (formula order). */
export interface PlanTerm {
  /** lme4's grouping label ("Subject", "a:b"). */
  readonly group: string;
  /** Grouping columns (several: the interaction a:b of the occurring combinations). */
  readonly parts: readonly FactorPart[];
  /** The term's left side. */
  readonly lhs: TermSet;
  /** Its variables. */
  readonly vars: readonly PlanVar[];
  /** The source text of the bar term. */
  readonly text: string;
}

/** A parsed lmer formula translated to row expressions (stage 0). */
export interface LmerPlan {
  /** The formula as given. */
  readonly formula: string;
  /** The expanded formula. */
  readonly parsed: ModelFormula;
  /** The schema it was planned against. */
  readonly schema: SourceSchema;
  /** The response expression. */
  readonly response: NumExpr;
  /** The response's label. */
  readonly responseLabel: string;
  /** Fixed-effect variables (by variable index of `parsed.fixed`). */
  readonly fixedVars: readonly PlanVar[];
  /** Random-effects terms in formula order. */
  readonly terms: readonly PlanTerm[];
  /** Every factor column the formula uses (fixed factors and grouping parts). */
  readonly parts: readonly FactorPart[];
  /** Parts used as fixed-effect factors (their level order keeps unused logical levels). */
  readonly fixedParts: ReadonlySet<string>;
  /** The missing-value filter. */
  readonly filter: readonly FilterItem[];
  /** The `factors` option (level orders, ordered factors). */
  readonly factors: Readonly<Record<string, FactorSpec>>;
}

const MATH: Record<string, MathFn> = {
  log2: "log2",
  log10: "log10",
  log1p: "log1p",
  exp: "exp",
  expm1: "expm1",
  sqrt: "sqrt",
  abs: "abs",
  sin: "sin",
  cos: "cos",
  tan: "tan",
};

const ARITH: Record<string, "add" | "sub" | "mul" | "div" | "pow"> = {
  "+": "add",
  "-": "sub",
  "*": "mul",
  "/": "div",
  "^": "pow",
};

/** Translate formula variables into row expressions against a schema. */
class Translator {
  constructor(
    private readonly schema: SourceSchema,
    private readonly factors: Readonly<Record<string, FactorSpec>>,
    private readonly src: string,
  ) {}

  private column(name: string, e: Expr): ColumnType {
    const t = this.schema[name];
    if (t === undefined) {
      const names = Object.keys(this.schema);
      throw new FormulaError(
        `object '${name}' not found: the data source has no column '${name}' (columns: ${
          names.slice(0, 20).join(", ")
        }${names.length > 20 ? ", …" : ""})`,
        this.src,
        e.pos,
      );
    }
    return t;
  }

  /** A whole variable: a factor column, or a numeric expression. */
  variable(e: Expr, label: string): PlanVar {
    const u = unwrap(e);
    if (u.type === "name" && u.name in this.schema) {
      const t = this.column(u.name, u);
      if (t !== "number" || this.factors[u.name]) {
        return { kind: "factor", part: { column: u.name, type: t } };
      }
    }
    if (u.type === "call" && (u.fn === "factor" || u.fn === "as.factor")) {
      const a = u.args[0] ? unwrap(u.args[0]) : undefined;
      if (u.args.length !== 1 || u.names?.some((x) => x) || a?.type !== "name") {
        throw new UnsupportedTermError(label, `${u.fn}() is supported of one column only`);
      }
      return { kind: "factor", part: { column: a.name, type: this.column(a.name, a) } };
    }
    return { kind: "numeric", expr: this.num(e, label) };
  }

  /** A grouping factor's part (a column, or factor(column)). */
  part(e: Expr, label: string): FactorPart {
    const v = this.variable(e, label);
    if (v.kind === "factor") return v.part;
    const u = unwrap(e);
    if (u.type === "name") return { column: u.name, type: this.column(u.name, u) };
    throw new UnsupportedTermError(label, "a grouping factor must be a column of the source");
  }

  /** A numeric row expression. */
  num(e: Expr, label: string): NumExpr {
    switch (e.type) {
      case "name": {
        if (!(e.name in this.schema) && e.name === "pi") return { op: "const", value: Math.PI };
        const t = this.column(e.name, e);
        if (t === "string") {
          throw new UnsupportedTermError(
            label,
            `arithmetic on the text column '${e.name}'`,
          );
        }
        return { op: "col", column: e.name };
      }
      case "number":
        return { op: "const", value: e.value };
      case "paren":
        return this.num(e.expr, label);
      case "unary":
        if (e.op === "-") return { op: "neg", arg: this.num(e.arg, label) };
        if (e.op === "+") return this.num(e.arg, label);
        break;
      case "binary": {
        const op = ARITH[e.op];
        if (op) return { op, left: this.num(e.left, label), right: this.num(e.right, label) };
        break;
      }
      case "call": {
        if (e.names?.some((x) => x !== null && x !== "x" && x !== "base")) break;
        if (e.fn === "I" && e.args.length === 1) return this.num(e.args[0], label);
        if (e.fn === "log" && (e.args.length === 1 || e.args.length === 2)) {
          const x = this.num(e.args[0], label);
          if (e.args.length === 1) return { op: "fn", fn: "log", arg: x };
          const b = unwrap(e.args[1]);
          if (b.type !== "number") {
            throw new UnsupportedTermError(label, "log(): the base must be a number");
          }
          if (b.value === 10) return { op: "fn", fn: "log10", arg: x };
          if (b.value === 2) return { op: "fn", fn: "log2", arg: x };
          return {
            op: "div",
            left: { op: "fn", fn: "log", arg: x },
            right: { op: "const", value: Math.log(b.value) },
          };
        }
        const fn = MATH[e.fn];
        if (fn && e.args.length === 1) return { op: "fn", fn, arg: this.num(e.args[0], label) };
        if (e.fn === "as.numeric" || e.fn === "as.double") {
          if (e.args.length === 1) return this.num(e.args[0], label);
        }
        throw new UnsupportedTermError(
          label,
          `${e.fn}() is not supported for a data source that is not in memory ` +
            "(supported: arithmetic, I(), log(), log2, log10, log1p, exp, expm1, sqrt, abs, " +
            "sin, cos, tan, factor(column)); collect the data or compute the column in the source",
        );
      }
    }
    throw new UnsupportedTermError(
      label,
      `'${deparse(e)}' is not supported for a data source that is not in memory ` +
        "(supported: arithmetic, I(), log() and the unary math functions)",
    );
  }
}

function unwrap(e: Expr): Expr {
  while (e.type === "paren") e = e.expr;
  return e;
}

/** Columns a numeric expression reads. */
function exprColumns(e: NumExpr, out: Set<string>): Set<string> {
  switch (e.op) {
    case "col":
      out.add(e.column);
      break;
    case "neg":
    case "fn":
      exprColumns(e.arg, out);
      break;
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "pow":
      exprColumns(e.left, out);
      exprColumns(e.right, out);
      break;
    case "lookup":
      out.add(e.part.column);
  }
  return out;
}

/**
 * Stage 0: parse the formula and translate every variable into row
 * expressions against the source's schema. Throws a {@link FormulaError}
 * for a column the source lacks and an {@link UnsupportedTermError} naming
 * a term that cannot be computed by the source.
 *
 * @example
 * ```ts
 * import { lmerPlan } from "./plan.ts";
 * const plan = lmerPlan("y ~ x + (1 | g)", { y: "number", x: "number", g: "string" });
 * console.log(plan.parts); // [{ column: "g", type: "string" }]
 * ```
 */
export function lmerPlan(
  formula: string,
  schema: SourceSchema,
  options: { readonly factors?: Readonly<Record<string, FactorSpec>> } = {},
): LmerPlan {
  const factors = options.factors ?? {};
  for (const name of Object.keys(factors)) {
    if (!(name in schema)) throw new RangeError(`factors: unknown column '${name}'`);
  }
  const written = parseFormula(formula);
  const parsed = expandFormula(expandDot(written, Object.keys(schema)));
  if (!parsed.response) {
    throw new FormulaError("the formula needs a response on the left of '~'", formula, 1);
  }
  const tr = new Translator(schema, factors, formula);
  const responseLabel = parsed.responseLabel!;
  const rv = tr.variable(parsed.response, responseLabel);
  let response: NumExpr;
  if (rv.kind === "factor") {
    if (rv.part.type !== "logical" || factors[rv.part.column]) {
      throw new FormulaError(
        `response '${responseLabel}' is not numeric (it is a ${rv.part.type} column)`,
        formula,
        parsed.response.pos,
      );
    }
    response = { op: "col", column: rv.part.column };
  } else response = rv.expr;
  if (parsed.fixed.offsets?.length) {
    const v = parsed.fixed.variables[parsed.fixed.offsets[0]];
    throw new UnsupportedTermError(v.label, "offset() is not supported for a data source");
  }
  const fixedVars = parsed.fixed.variables.map((v) => tr.variable(v.expr, v.label));
  const terms: PlanTerm[] = parsed.random.map((r) => {
    if (r.lhs.offsets?.length) {
      throw new UnsupportedTermError(r.text, "offset() is not supported for a data source");
    }
    return {
      group: r.groupLabel,
      parts: r.group.map((g) => tr.part(g, r.groupLabel)),
      lhs: r.lhs,
      vars: r.lhs.variables.map((v) => tr.variable(v.expr, v.label)),
      text: r.text,
    };
  });
  const parts = new Map<string, FactorPart>();
  const fixedParts = new Set<string>();
  const filter: FilterItem[] = [];
  const numeric = new Map<string, NumExpr>();
  const addNum = (e: NumExpr) => numeric.set(JSON.stringify(e), e);
  addNum(response);
  const used = (v: PlanVar, fixed: boolean) => {
    if (v.kind === "numeric") addNum(v.expr);
    else {
      parts.set(v.part.column, v.part);
      if (fixed) fixedParts.add(v.part.column);
    }
  };
  fixedVars.forEach((v) => used(v, true));
  for (const t of terms) {
    t.vars.forEach((v) => used(v, false));
    for (const p of t.parts) parts.set(p.column, p);
  }
  // R's na.omit: every variable's value present (numeric: not NA/NaN)
  for (const e of numeric.values()) filter.push({ kind: "number", expr: e });
  for (const p of parts.values()) filter.push({ kind: "key", part: p });
  return {
    formula,
    parsed,
    schema,
    response,
    responseLabel,
    fixedVars,
    terms,
    parts: [...parts.values()],
    fixedParts,
    filter,
    factors,
  };
}

/** The columns a plan reads from the source. */
export function planColumns(plan: LmerPlan): string[] {
  const out = new Set<string>();
  for (const f of plan.filter) {
    if (f.kind === "key") out.add(f.part.column);
    else exprColumns(f.expr, out);
  }
  return [...out];
}

// ---------------------------------------------------------------- stage 1

/** A factor's levels in R's order, with the source values of each. */
export interface PartLevels {
  /** Level labels in R's order. */
  readonly levels: readonly string[];
  /** Level index of each source value (by its label). */
  readonly index: ReadonlyMap<string, number>;
  /** The source values of each level (several numbers can print alike). */
  readonly keys: readonly (readonly KeyValue[])[];
  /** For an interaction a:b: each level's positions in its parts' levels. */
  readonly positions?: readonly (readonly number[])[];
}

/** Stage 1's result. */
export interface PlanLevels {
  /** Rows of the source before the filter. */
  readonly nTotal: number;
  /** Rows used. */
  readonly n: number;
  /** Levels of each factor column, by column name. */
  readonly parts: ReadonlyMap<string, PartLevels>;
  /** Levels of each random-effects term's grouping factor (formula order). */
  readonly groups: readonly PartLevels[];
}

/** A source value's label (R's `as.character`). */
export function keyLabel(v: KeyValue): string {
  return typeof v === "string"
    ? v
    : typeof v === "boolean"
    ? (v ? "TRUE" : "FALSE")
    : rNumberLabel(v);
}

/**
 * Stage 1's queries: the row counts (before and after the filter) and the
 * distinct values of every factor column, and the occurring combinations of
 * each interaction grouping factor, with counts.
 */
export function levelQueries(plan: LmerPlan): AggQuery[] {
  const qs: AggQuery[] = [
    { id: "rows", filtered: false, keys: [], aggs: [] },
    { id: "used", filtered: true, keys: [], aggs: [] },
  ];
  for (const p of plan.parts) {
    qs.push({ id: `levels:${p.column}`, filtered: true, keys: [p], aggs: [] });
  }
  const seen = new Set<string>();
  for (const t of plan.terms) {
    if (t.parts.length < 2) continue;
    const id = `levels:${t.parts.map((p) => p.column).join(":")}`;
    if (seen.has(id)) continue;
    seen.add(id);
    qs.push({ id, filtered: true, keys: t.parts, aggs: [] });
  }
  return qs;
}

function byId(queries: readonly AggQuery[], results: readonly AggResult[], id: string): AggResult {
  const k = queries.findIndex((q) => q.id === id);
  if (k < 0 || !results[k]) throw new Error(`aggregation result '${id}' is missing`);
  return results[k];
}

/** One column's levels in R's order from its distinct values. */
function partLevels(
  plan: LmerPlan,
  part: FactorPart,
  values: readonly KeyValue[],
): PartLevels {
  const spec = plan.factors[part.column];
  if (part.type === "number" && !spec?.levels) {
    // numeric values sorted as numbers; labels that print alike are one level
    const sorted = Float64Array.from(
      values.filter((v) => v !== null && v !== undefined) as number[],
    ).sort();
    const levels: string[] = [], keys: number[][] = [];
    const index = new Map<string, number>();
    for (const v of sorted) {
      const l = keyLabel(v);
      let k = index.get(l);
      if (k === undefined) (k = levels.length, levels.push(l), keys.push([]), index.set(l, k));
      keys[k].push(v);
    }
    return { levels, index, keys };
  }
  const byLabel = new Map<string, KeyValue[]>();
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const l = keyLabel(v);
    const list = byLabel.get(l);
    if (list) list.push(v);
    else byLabel.set(l, [v]);
  }
  let levels: string[];
  if (spec?.levels) {
    const wanted = new Set(spec.levels);
    const missing = [...byLabel.keys()].filter((l) => !wanted.has(l));
    if (missing.length) {
      throw new RangeError(
        `factors: column '${part.column}' has values not in its levels: ${missing.join(", ")}`,
      );
    }
    levels = spec.levels.filter((l) => byLabel.has(l));
  } else if (part.type === "logical") {
    // a logical fixed-effect factor keeps FALSE and TRUE (R's model.matrix)
    levels = plan.fixedParts.has(part.column)
      ? ["FALSE", "TRUE"]
      : ["FALSE", "TRUE"].filter((l) => byLabel.has(l));
  } else if (part.type === "number") {
    // numeric values sorted as numbers; labels that print alike are one level
    const smallest = new Map<string, number>();
    for (const [l, vs] of byLabel) smallest.set(l, Math.min(...(vs as number[])));
    levels = [...byLabel.keys()].sort((a, b) => smallest.get(a)! - smallest.get(b)!);
  } else levels = [...byLabel.keys()].sort(compareLabels);
  const index = new Map(levels.map((l, i) => [l, i]));
  return { levels, index, keys: levels.map((l) => byLabel.get(l) ?? []) };
}

/** Stage 1's results → R's levels of every factor and grouping factor. */
export function readLevels(
  plan: LmerPlan,
  queries: readonly AggQuery[],
  results: readonly AggResult[],
): PlanLevels {
  const nTotal = Number(byId(queries, results, "rows").n[0] ?? 0);
  const n = Number(byId(queries, results, "used").n[0] ?? 0);
  if (nTotal === 0) throw new RangeError("data has no rows");
  if (n === 0) {
    throw new RangeError(
      `no complete rows: all ${nTotal} rows have a missing value in a variable of '${plan.formula}'`,
    );
  }
  const parts = new Map<string, PartLevels>();
  for (const p of plan.parts) {
    parts.set(p.column, partLevels(plan, p, byId(queries, results, `levels:${p.column}`).keys[0]));
  }
  const groups = plan.terms.map((t): PartLevels => {
    if (t.parts.length === 1) {
      const pl = parts.get(t.parts[0].column)!;
      if (t.parts[0].type !== "logical") return pl;
      // a logical grouping factor has only the values that occur
      const levels = pl.levels.filter((_, i) => pl.keys[i].length > 0);
      return {
        levels,
        index: new Map(levels.map((l, i) => [l, i])),
        keys: levels.map((l) => pl.keys[pl.index.get(l)!]),
      };
    }
    // the interaction: occurring combinations, first part slowest (R's a:b)
    const r = byId(queries, results, `levels:${t.parts.map((p) => p.column).join(":")}`);
    const pls = t.parts.map((p) => parts.get(p.column)!);
    const combos = new Map<string, number[]>();
    for (let row = 0; row < r.n.length; row++) {
      const pos = t.parts.map((_, k) => pls[k].index.get(keyLabel(r.keys[k][row]))!);
      combos.set(pos.join(","), pos);
    }
    const sorted = [...combos.values()].sort((a, b) => {
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] - b[k];
      return 0;
    });
    const levels = sorted.map((pos) => pos.map((l, k) => pls[k].levels[l]).join(":"));
    return {
      levels,
      index: new Map(levels.map((l, i) => [l, i])),
      keys: levels.map(() => []),
      positions: sorted,
    };
  });
  return { nTotal, n, parts, groups };
}

// ---------------------------------------------------------------- stage 2

/** A fake column with the right kind and levels, for R's coding rules (planFixed). */
function shapeColumns(plan: LmerPlan, vars: readonly PlanVar[], lv: PlanLevels): VarColumn[] {
  return vars.map((v): VarColumn => {
    if (v.kind === "numeric") return { kind: "numeric", values: new Float64Array(0) };
    const pl = lv.parts.get(v.part.column)!;
    const f: FactorColumn = {
      kind: "factor",
      levels: pl.levels,
      codes: new Int32Array(0),
      ordered: plan.factors[v.part.column]?.ordered ?? false,
    };
    return f;
  });
}

function mul(a: NumExpr | null, b: NumExpr): NumExpr {
  return a === null ? b : { op: "mul", left: a, right: b };
}

/** The model-matrix columns of a term set as row expressions (R's model.matrix). */
function designColumns(
  plan: LmerPlan,
  ts: TermSet,
  vars: readonly PlanVar[],
  lv: PlanLevels,
): { fixed: FixedPlan; columns: NumExpr[] } {
  const fixed = planFixed(ts, shapeColumns(plan, vars, lv));
  const columns: NumExpr[] = [];
  if (fixed.intercept) columns.push({ op: "const", value: 1 });
  for (const t of fixed.terms) {
    if (t.response) continue;
    let block: (NumExpr | null)[] = [null];
    t.vars.forEach((v, k) => {
      const coding = t.codings[k];
      const pv = vars[v];
      const cols: NumExpr[] = [];
      if (coding.kind === "numeric" && pv.kind === "numeric") cols.push(pv.expr);
      else if (coding.kind === "factor" && pv.kind === "factor") {
        const pl = lv.parts.get(pv.part.column)!;
        for (let a = 0; a < coding.contrast.names.length; a++) {
          const keys: KeyValue[] = [], values: number[] = [];
          pl.levels.forEach((_, l) => {
            const c = coding.contrast.values[l][a];
            if (c === 0) return;
            for (const key of pl.keys[l]) (keys.push(key), values.push(c));
          });
          cols.push({ op: "lookup", part: pv.part, keys, values });
        }
      } else throw new UnsupportedTermError(coding.label, "matrix-valued variables");
      const next: (NumExpr | null)[] = [];
      for (const f of cols) for (const b of block) next.push(mul(b, f));
      block = next;
    });
    for (const c of block) columns.push(c ?? { op: "const", value: 1 });
  }
  return { fixed, columns };
}

/** The model's columns: X's (before dropping aliased ones) and each term's z. */
export interface PlanDesign {
  /** How X was coded (R's names, assign, contrasts). */
  readonly fixed: FixedPlan;
  /** X's columns. */
  readonly x: readonly NumExpr[];
  /** Each random term's plan and z columns (formula order). */
  readonly z: readonly { readonly fixed: FixedPlan; readonly columns: readonly NumExpr[] }[];
}

/** X's and Z's columns as row expressions, given the levels. */
export function planDesign(plan: LmerPlan, lv: PlanLevels): PlanDesign {
  const fx = designColumns(plan, plan.parsed.fixed, plan.fixedVars, lv);
  const z = plan.terms.map((t) => {
    const d = designColumns(plan, t.lhs, t.vars, lv);
    if (d.columns.length === 0) {
      throw new FormulaError(`random-effects term ${t.text} has no columns`, plan.formula, 0);
    }
    return { fixed: d.fixed, columns: d.columns };
  });
  return { fixed: fx.fixed, x: fx.columns, z };
}

/**
 * Stage 2's query: count, Σ, Σ², min and max of every column of F = [X y]
 * (aggregates `s<j>`, `ss<j>`, `lo<j>`, `hi<j>`; j = p is y).
 */
export function momentsQuery(plan: LmerPlan, lv?: PlanLevels): AggQuery {
  if (!lv && plan.fixedParts.size) {
    throw new Error("the moments of X need the levels of its factors (stage 1) first");
  }
  const noLevels: PlanLevels = { nTotal: 0, n: 0, parts: new Map(), groups: [] };
  const x = designColumns(plan, plan.parsed.fixed, plan.fixedVars, lv ?? noLevels).columns;
  const f = [...x, plan.response];
  const aggs: Agg[] = [];
  f.forEach((e, j) => {
    aggs.push(
      { name: `s${j}`, fn: "sum", expr: e },
      { name: `ss${j}`, fn: "sum", expr: { op: "mul", left: e, right: e } },
      { name: `lo${j}`, fn: "min", expr: e },
      { name: `hi${j}`, fn: "max", expr: e },
    );
  });
  return { id: "moments", filtered: true, keys: [], aggs };
}

/** Stage 2's result: the moments of F and the centring. */
export interface PlanMoments {
  /** Rows used. */
  readonly n: number;
  /** Σ f_j (j < p: X's columns, j = p: y). */
  readonly sum: Float64Array;
  /** Σ f_j². */
  readonly sumsq: Float64Array;
  /** min f_j. */
  readonly min: Float64Array;
  /** max f_j. */
  readonly max: Float64Array;
  /** The intercept column (all ones), or −1. */
  readonly k: number;
  /** Centring shifts: a[j] subtracted from column j (0: not centred; a[k] = 0). */
  readonly a: Float64Array;
}

/** Stage 2's result → the centring of lib/models/lmer/centering.ts. */
export function readMoments(plan: LmerPlan, lv: PlanLevels, r: AggResult): PlanMoments {
  const d = planDesign(plan, lv);
  const p = d.x.length, nf = p + 1;
  const n = Number(r.n[0]);
  const get = (name: string) => Number(r.values[name][0]);
  const sum = new Float64Array(nf), sumsq = new Float64Array(nf);
  const min = new Float64Array(nf), max = new Float64Array(nf);
  for (let j = 0; j < nf; j++) {
    sum[j] = get(`s${j}`);
    sumsq[j] = get(`ss${j}`);
    min[j] = get(`lo${j}`);
    max[j] = get(`hi${j}`);
    if (!Number.isFinite(min[j]) || !Number.isFinite(max[j])) {
      const label = j === p ? plan.responseLabel : d.fixed.names[j];
      throw new RangeError(
        j === p
          ? `response '${label}' has a non-finite value (${
            Number.isFinite(min[j]) ? max[j] : min[j]
          })`
          : `variable '${label}' has a non-finite value (${
            Number.isFinite(min[j]) ? max[j] : min[j]
          })`,
      );
    }
  }
  let k = -1;
  for (let j = 0; j < p && k < 0; j++) if (min[j] === 1 && max[j] === 1) k = j;
  const a = new Float64Array(nf);
  if (k >= 0) {
    for (let j = 0; j <= p; j++) {
      if (j === k) continue;
      const m = sum[j] / n;
      const spread = Math.sqrt(Math.max(sumsq[j] / n - m * m, 0));
      a[j] = j === p || Math.abs(m) > spread ? m : 0;
    }
  }
  return { n, sum, sumsq, min, max, k, a };
}

// ---------------------------------------------------------------- stage 3

/** lme4's order of the random terms (formula indices), from the levels. */
export function planTermOrder(lv: PlanLevels): number[] {
  return termOrder(lv.groups.map((g) => g.levels.length));
}

function centred(e: NumExpr, a: number): NumExpr {
  return a === 0 ? e : { op: "sub", left: e, right: { op: "const", value: a } };
}

/** Distinct parts of two groups, in order. */
function unionParts(a: readonly FactorPart[], b: readonly FactorPart[]): FactorPart[] {
  const out = [...a];
  for (const p of b) if (!out.some((q) => q.column === p.column)) out.push(p);
  return out;
}

/**
 * Stage 3's queries: per term k (formula index) `term:<k>` grouped by its
 * level with `zz<r>_<c>` = Σ z_r z_c (r ≤ c) and `fz<j>_<c>` = Σ f̃_j z_c;
 * per pair of terms in lme4's order (i after j) `pair:<i>:<j>` grouped by
 * both levels with `zz<r>_<c>` = Σ z_ir z_jc; and `ff` with `ff<i>_<j>` =
 * Σ f̃_i f̃_j (i ≤ j), where f̃ = f − a (the centring).
 */
export function blockQueries(plan: LmerPlan, lv: PlanLevels, mo: PlanMoments): AggQuery[] {
  const d = planDesign(plan, lv);
  const f = [...d.x, plan.response].map((e, j) => centred(e, mo.a[j]));
  const qs: AggQuery[] = [];
  plan.terms.forEach((t, k) => {
    const z = d.z[k].columns;
    const aggs: Agg[] = [];
    for (let c = 0; c < z.length; c++) {
      for (let r = 0; r <= c; r++) {
        aggs.push({ name: `zz${r}_${c}`, fn: "sum", expr: prod(z[r], z[c]) });
      }
    }
    for (let c = 0; c < z.length; c++) {
      for (let j = 0; j < f.length; j++) {
        aggs.push({ name: `fz${j}_${c}`, fn: "sum", expr: prod(f[j], z[c]) });
      }
    }
    qs.push({ id: `term:${k}`, filtered: true, keys: t.parts, aggs });
  });
  const order = planTermOrder(lv);
  for (let jj = 0; jj < order.length; jj++) {
    for (let ii = jj + 1; ii < order.length; ii++) {
      const i = order[ii], j = order[jj];
      const zi = d.z[i].columns, zj = d.z[j].columns;
      const aggs: Agg[] = [];
      for (let c = 0; c < zj.length; c++) {
        for (let r = 0; r < zi.length; r++) {
          aggs.push({ name: `zz${r}_${c}`, fn: "sum", expr: prod(zi[r], zj[c]) });
        }
      }
      qs.push({
        id: `pair:${i}:${j}`,
        filtered: true,
        keys: unionParts(plan.terms[i].parts, plan.terms[j].parts),
        aggs,
      });
    }
  }
  const ff: Agg[] = [];
  for (let j = 0; j < f.length; j++) {
    for (let i = 0; i <= j; i++) {
      ff.push({ name: `ff${i}_${j}`, fn: "sum", expr: prod(f[i], f[j]) });
    }
  }
  qs.push({ id: "ff", filtered: true, keys: [], aggs: ff });
  return qs;
}

/** a·b, with the constant 1 left out. */
function prod(a: NumExpr, b: NumExpr): NumExpr {
  if (a.op === "const" && a.value === 1) return b;
  if (b.op === "const" && b.value === 1) return a;
  return { op: "mul", left: a, right: b };
}

/** The message for anything that needs the rows of a model fitted from aggregates. */
export function rowsNeeded(what: string): string {
  return `${what} ${ROWS_NEEDED}`;
}

/** Level index by source value, for one-column grouping factors. */
const valueIndexes = new WeakMap<PartLevels, Map<KeyValue, number>>();

function valueIndex(g: PartLevels): Map<KeyValue, number> {
  let m = valueIndexes.get(g);
  if (!m) {
    const out = new Map<KeyValue, number>();
    g.keys.forEach((ks, l) => ks.forEach((k) => out.set(k, l)));
    valueIndexes.set(g, out);
    m = out;
  }
  return m;
}

/** A level of a term for a result row: its parts' values joined as R labels them. */
function levelOf(
  parts: readonly FactorPart[],
  keyPos: readonly number[],
  r: AggResult,
  row: number,
  g: PartLevels,
  group: string,
): number {
  if (keyPos.length === 1 && !g.positions) {
    const l = valueIndex(g).get(r.keys[keyPos[0]][row]);
    if (l !== undefined) return l;
  }
  const label = keyPos.map((k) => keyLabel(r.keys[k][row])).join(":");
  const l = g.index.get(label);
  if (l === undefined) {
    throw new Error(
      `grouping factor '${group}': level '${label}' of the aggregation rows was not seen ` +
        `when the levels were read (${parts.map((p) => p.column).join(", ")}); ` +
        "did the source change between the passes?",
    );
  }
  return l;
}

/** Everything the fit needs, from the three stages. */
export interface AssembledFit {
  /** Rows used. */
  readonly n: number;
  /** Rows dropped for missing values. */
  readonly nDropped: number;
  /** The centred cross-products (aliased X columns removed), terms in lme4's order. */
  readonly a: CrossProducts;
  /** X's names after dropping aliased columns. */
  readonly names: readonly string[];
  /** Columns of the full X kept. */
  readonly kept: readonly number[];
  /** The intercept column among the kept ones (−1: none, no centring). */
  readonly k: number;
  /** Centring shifts of the kept X columns and y (length p + 1). */
  readonly shift: Float64Array;
  /** The random terms in formula order: levels and names (no rows: index and z are empty). */
  readonly terms: readonly ReTerm[];
  /** Each term's coding (formula order). */
  readonly termPlans: readonly FixedPlan[];
  /** X's coding. */
  readonly fixed: FixedPlan;
  /** lme4's messages (rank, missing rows, scale). */
  readonly messages: readonly string[];
  /** The design as row expressions (for streaming fitted values). */
  readonly design: PlanDesign;
  /** Moments of F (uncentred, all columns of X and y). */
  readonly moments: PlanMoments;
  /** The levels read in stage 1. */
  readonly levels: PlanLevels;
}

/**
 * Stage 3's results → the blocks of A (terms in lme4's order), with lme4's
 * checks on the grouping factors, the response and X's rank (aliased
 * columns are dropped from the blocks with lme4's message).
 */
export function assemble(
  plan: LmerPlan,
  lv: PlanLevels,
  mo: PlanMoments,
  queries: readonly AggQuery[],
  results: readonly AggResult[],
): AssembledFit {
  const d = planDesign(plan, lv);
  const n = lv.n;
  const pFull = d.x.length, nfFull = pFull + 1;
  const order = planTermOrder(lv);
  const qOf = d.z.map((z) => z.columns.length);
  const messages: string[] = [...d.fixed.warnings];
  if (lv.nTotal > n) {
    const k = lv.nTotal - n;
    messages.push(`${k} observation${k > 1 ? "s" : ""} deleted due to missingness`);
  }
  // lme4's checks of the grouping factors
  plan.terms.forEach((t, k) => {
    const nl = lv.groups[k].levels.length;
    if (nl < 2) {
      throw new RangeError(
        `grouping factor '${t.group}' has ${nl} level${nl === 1 ? "" : "s"}` +
          ` ('${lv.groups[k].levels[0] ?? ""}'): grouping factors must have > 1 sampled level`,
      );
    }
  });
  const bad = plan.terms.filter((_, k) => lv.groups[k].levels.length >= n).map((t) => t.group);
  if (bad.length) {
    throw new RangeError(
      `number of levels of each grouping factor must be < number of observations (problems: ${
        [...new Set(bad)].join(", ")
      })`,
    );
  }
  plan.terms.forEach((t, k) => {
    const nre = lv.groups[k].levels.length * qOf[k];
    if (qOf[k] > 1 && n <= nre) {
      throw new RangeError(
        `number of observations (=${n}) <= number of random effects (=${nre}) for term ${t.text}; ` +
          "the random-effects parameters and the residual variance are probably unidentifiable",
      );
    }
  });
  if (mo.min[pFull] === mo.max[pFull]) {
    throw new RangeError(
      `response '${plan.responseLabel}' is constant (every value is ${
        mo.min[pFull]
      }): there is no variance to model`,
    );
  }
  // F̃ᵀF̃, full
  const ffr = byId(queries, results, "ff");
  const ffFull = new Float64Array(nfFull * nfFull);
  for (let j = 0; j < nfFull; j++) {
    for (let i = 0; i <= j; i++) {
      const v = Number(ffr.values[`ff${i}_${j}`][0]);
      ffFull[j * nfFull + i] = v;
      ffFull[i * nfFull + j] = v;
    }
  }
  // lme4's check.rankX: aliased columns of X (a column whose residual on the
  // earlier kept ones is below 1e-7 of its norm, as R's pivoted QR)
  const kept = keptColumns(ffFull, pFull, mo.sumsq);
  if (kept.length < pFull) {
    const al = d.fixed.names.filter((_, j) => !kept.includes(j));
    const m = al.length;
    messages.push(
      `fixed-effect model matrix is rank deficient so dropping ${m} column${
        m > 1 ? "s" : ""
      } / coefficient${m > 1 ? "s" : ""} (${al.join(", ")})`,
    );
  }
  const fcols = [...kept, pFull];
  const p = kept.length, nf = p + 1;
  const ff = new Float64Array(nf * nf);
  for (let c = 0; c < nf; c++) {
    for (let r = 0; r < nf; r++) ff[c * nf + r] = ffFull[fcols[c] * nfFull + fcols[r]];
  }
  const scale = checkScale(mo, kept, ffFull, nfFull, n);
  if (scale) messages.push(scale);
  // the terms (formula order), levels only
  const terms: ReTerm[] = plan.terms.map((t, k) => ({
    group: t.group,
    levels: lv.groups[k].levels,
    cnames: d.z[k].fixed.names,
    get index(): Int32Array {
      throw new Error(rowsNeeded(`the level index of '${t.group}'`));
    },
    get z(): Float64Array {
      throw new Error(rowsNeeded(`the random-effects design of '${t.group}'`));
    },
  }));
  // diagonal blocks and FᵀZ_k, in lme4's order
  const diag: Float64Array[] = [], fz: Float64Array[] = [];
  for (const k of order) {
    const q = qOf[k], g = lv.groups[k], nl = g.levels.length;
    const r = byId(queries, results, `term:${k}`);
    const keyPos = plan.terms[k].parts.map((_, i) => i);
    const dg = new Float64Array(nl * q * q), fzk = new Float64Array(nf * nl * q);
    const zz = Array.from(
      { length: q },
      (_, c) => Array.from({ length: c + 1 }, (_, rr) => r.values[`zz${rr}_${c}`]),
    );
    const fzc = Array.from({ length: q }, (_, c) => fcols.map((j) => r.values[`fz${j}_${c}`]));
    for (let row = 0; row < r.n.length; row++) {
      const l = levelOf(plan.terms[k].parts, keyPos, r, row, g, plan.terms[k].group);
      for (let c = 0; c < q; c++) {
        for (let rr = 0; rr <= c; rr++) {
          const v = Number(zz[c][rr][row]);
          dg[l * q * q + c * q + rr] += v;
          if (rr !== c) dg[l * q * q + rr * q + c] += v;
        }
        const fc = fzc[c];
        for (let j = 0; j < nf; j++) fzk[(l * q + c) * nf + j] += Number(fc[j][row]);
      }
    }
    diag.push(dg);
    fz.push(fzk);
  }
  // off-diagonal blocks Z_iᵀZ_j (i after j in lme4's order)
  const off: BlockSparse[][] = order.map(() => []);
  for (let jj = 0; jj < order.length; jj++) {
    for (let ii = jj + 1; ii < order.length; ii++) {
      const i = order[ii], j = order[jj];
      const q = queries.find((x) => x.id === `pair:${i}:${j}`)!;
      const r = byId(queries, results, `pair:${i}:${j}`);
      const posOf = (t: number) =>
        plan.terms[t].parts.map((p) => q.keys.findIndex((x) => x.column === p.column));
      off[ii][jj] = blockSparse(
        r,
        qOf[i],
        qOf[j],
        lv.groups[j].levels.length,
        (row) => levelOf(plan.terms[i].parts, posOf(i), r, row, lv.groups[i], plan.terms[i].group),
        (row) => levelOf(plan.terms[j].parts, posOf(j), r, row, lv.groups[j], plan.terms[j].group),
      );
    }
  }
  const shift = Float64Array.from(fcols, (j) => mo.a[j]);
  const k = mo.k >= 0 ? kept.indexOf(mo.k) : -1;
  if (mo.k >= 0 && k < 0) {
    throw new Error("the intercept column was dropped as aliased; refit with the data collected");
  }
  return {
    n,
    nDropped: lv.nTotal - n,
    a: { n, p, diag, off, fz, ff },
    names: kept.map((j) => d.fixed.names[j]),
    kept,
    k,
    shift,
    terms,
    termPlans: d.z.map((z) => z.fixed),
    fixed: d.fixed,
    messages,
    design: d,
    moments: mo,
    levels: lv,
  };
}

/** Compressed-column blocks from (row level, column level, values) rows. */
function blockSparse(
  r: AggResult,
  qi: number,
  qj: number,
  nCol: number,
  rowLevel: (row: number) => number,
  colLevel: (row: number) => number,
): BlockSparse {
  const m = r.n.length, bs = qi * qj;
  const zz = Array.from(
    { length: qj },
    (_, c) => Array.from({ length: qi }, (_, rr) => r.values[`zz${rr}_${c}`]),
  );
  const li = new Int32Array(m), lj = new Int32Array(m);
  for (let row = 0; row < m; row++) (li[row] = rowLevel(row), lj[row] = colLevel(row));
  const ord = Array.from({ length: m }, (_, k) => k).sort((a, b) => lj[a] - lj[b] || li[a] - li[b]);
  const colPtr = new Int32Array(nCol + 1);
  const rows: number[] = [];
  const vals: number[] = [];
  let prevI = -1, prevJ = -1;
  for (const row of ord) {
    if (li[row] !== prevI || lj[row] !== prevJ) {
      rows.push(li[row]);
      colPtr[lj[row] + 1]++;
      for (let v = 0; v < bs; v++) vals.push(0);
      prevI = li[row];
      prevJ = lj[row];
    }
    const base = vals.length - bs;
    for (let c = 0; c < qj; c++) {
      for (let rr = 0; rr < qi; rr++) {
        vals[base + c * qi + rr] += Number(zz[c][rr][row]);
      }
    }
  }
  for (let b = 0; b < nCol; b++) colPtr[b + 1] += colPtr[b];
  return { qi, qj, colPtr, rowLevel: Int32Array.from(rows), values: Float64Array.from(vals) };
}

/**
 * R's pivoted QR rank check on the Gram matrix: column j is aliased when its
 * squared residual on the earlier kept columns is below (1e-7)² of its
 * squared norm Σ x_j² (the residual is the same for centred columns).
 */
function keptColumns(ff: Float64Array, p: number, sumsq: Float64Array): number[] {
  const nf = p + 1;
  const kept: number[] = [];
  // Cholesky rows of the kept columns: L[kept] (dense, small)
  const L: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    const l = new Float64Array(kept.length);
    let d = ff[j * nf + j];
    for (let a = 0; a < kept.length; a++) {
      let s = ff[kept[a] * nf + j];
      for (let b = 0; b < a; b++) s -= L[a][b] * l[b];
      l[a] = s / L[a][a];
      d -= l[a] * l[a];
    }
    if (d > 1e-14 * sumsq[j] && d > 0) {
      const row = new Float64Array(kept.length + 1);
      row.set(l);
      row[kept.length] = Math.sqrt(d);
      L.push(row);
      kept.push(j);
    }
  }
  return kept;
}

/** lme4's checkScaleX warning from the moments (sds of the non-0/1 columns). */
function checkScale(
  mo: PlanMoments,
  kept: readonly number[],
  ffFull: Float64Array,
  nf: number,
  n: number,
): string | null {
  const sds: number[] = [];
  for (const j of kept) {
    const is01 = mo.min[j] >= 0 && mo.max[j] <= 1 && mo.sumsq[j] === mo.sum[j];
    if (is01) continue;
    const m = mo.sum[j] / n - mo.a[j];
    sds.push(Math.sqrt(Math.max(ffFull[j * nf + j] - n * m * m, 0) / (n - 1)));
  }
  const tol = Math.log(1e3);
  let bad = sds.some((s) => Math.abs(Math.log(s)) > tol);
  for (let i = 0; i < sds.length && !bad; i++) {
    for (let j = 0; j < i; j++) if (Math.abs(Math.log(sds[i] / sds[j])) > tol) bad = true;
  }
  return bad ? "Some predictor variables are on very different scales: consider rescaling" : null;
}

// ---------------------------------------------------------------- drivers

/**
 * Stage 2's query when X has no factor (its columns do not depend on the
 * levels): it can run with stage 1, saving a scan. Else null.
 */
export function earlyMoments(plan: LmerPlan): AggQuery | null {
  return plan.fixedParts.size ? null : momentsQuery(plan);
}

/** Runs a batch of queries; results in the same order. */
export type Executor = (queries: readonly AggQuery[]) => readonly AggResult[];

/** {@link Executor} for engines reached asynchronously (HTTP). */
export type AsyncExecutor = (queries: readonly AggQuery[]) => Promise<readonly AggResult[]>;

/**
 * Run the three stages with an executor and assemble the fit's inputs.
 *
 * @example
 * ```ts ignore
 * const fit = runPlan(lmerPlan(formula, schema), (qs) => qs.map(myEngine));
 * ```
 */
export function runPlan(plan: LmerPlan, exec: Executor): AssembledFit {
  const early = earlyMoments(plan);
  const q1 = [...levelQueries(plan), ...(early ? [early] : [])];
  const r1 = exec(q1);
  const lv = readLevels(plan, q1, r1);
  const q2 = early ?? momentsQuery(plan, lv);
  const mo = readMoments(plan, lv, early ? r1[q1.length - 1] : exec([q2])[0]);
  const q3 = blockQueries(plan, lv, mo);
  return assemble(plan, lv, mo, q3, exec(q3));
}

/** {@link runPlan} with an asynchronous executor. */
export async function runPlanAsync(plan: LmerPlan, exec: AsyncExecutor): Promise<AssembledFit> {
  const early = earlyMoments(plan);
  const q1 = [...levelQueries(plan), ...(early ? [early] : [])];
  const r1 = await exec(q1);
  const lv = readLevels(plan, q1, r1);
  const q2 = early ?? momentsQuery(plan, lv);
  const mo = readMoments(plan, lv, early ? r1[q1.length - 1] : (await exec([q2]))[0]);
  const q3 = blockQueries(plan, lv, mo);
  return assemble(plan, lv, mo, q3, await exec(q3));
}
