/**
 * Fitting `lmer` from a polars LazyFrame (`pl.scanParquet(path)`,
 * `pl.scanCSV(path)`, `df.lazy()`, any lazy query) without holding its rows:
 * the aggregation plan of lib/sources/plan.ts runs as lazy polars
 * `groupBy().agg()` queries — slice by slice (partial sums merged by level)
 * for a plain Parquet/IPC scan or an in-memory frame, else on polars'
 * streaming engine — so the fit's memory is that of the blocks
 * (levels · q² + p²) and of one slice, not of the n rows.
 *
 * `lmer(formula, lazyFrame)` comes here (this module registers itself with
 * lmer when imported, as `mod.ts` does). The fit equals the in-memory fit of
 * the collected rows to rounding. Fitted values and residuals (and so the
 * summary and `predict()`) stream the source once more
 * ({@link lazyRowStream}); what needs X, Z or y row by row (Kenward-Roger,
 * the bootstrap, figures) says that it needs the rows.
 *
 * @example
 * ```ts ignore
 * import { lmer } from "../../mod.ts";
 * import { pl } from "../deps.ts";
 * const m = lmer("y ~ x + (x | cluster)", pl.scanParquet("big.parquet"));
 * m.fixef(); // as lmer(formula, pl.readParquet("big.parquet"))
 * ```
 * @module
 */
import { pl } from "../deps.ts";
import type { DataFrame, LazyDataFrame } from "../deps.ts";
import { readCategorical } from "../data/categorical.ts";
import type { FactorSpec } from "../design/modelframe.ts";
import {
  checkLmerOptions,
  type LazyFrameLike,
  type LmerOptions,
  registerSourceFitter,
} from "../models/lmer/fit.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { lmerFromAggregates } from "./aggregates.ts";
import type { RowStream } from "../models/lmer/core.ts";
import {
  type AggQuery,
  type AggResult,
  assemble,
  type AssembledFit,
  blockQueries,
  type ColumnType,
  earlyMoments,
  type FilterItem,
  type KeyValue,
  levelQueries,
  type LmerPlan,
  lmerPlan,
  momentsQuery,
  type NumExpr,
  planColumns,
  planTermOrder,
  readLevels,
  readMoments,
  type SourceSchema,
  UnsupportedTermError,
} from "./plan.ts";

// deno-lint-ignore no-explicit-any
type Expr = any;

/**
 * Whether `x` is a nodejs-polars LazyFrame (duck-typed: no instanceof across
 * copies of the package).
 *
 * @example
 * ```ts
 * import { isLazyFrame } from "./polars.ts";
 * import { pl } from "../deps.ts";
 * isLazyFrame(pl.DataFrame({ a: [1] }).lazy()); // true
 * ```
 */
export function isLazyFrame(x: unknown): x is LazyFrameLike {
  if (typeof x !== "object" || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.collectSync === "function" && typeof o.describeOptimizedPlan === "function" &&
    typeof o.groupBy === "function";
}

/** The plan's column types from a LazyFrame's schema; other types are an error naming the column. */
export function lazySchema(lf: LazyDataFrame, used?: readonly string[]): {
  schema: SourceSchema;
  categorical: Set<string>;
} {
  // the schema without reading rows (a Parquet scan reads its footer)
  const raw = lf.head(0).collectSync().schema as unknown as Record<string, { variant?: string }>;
  const schema: Record<string, ColumnType> = {};
  const categorical = new Set<string>();
  for (const [name, dt] of Object.entries(raw)) {
    if (used?.includes(name) && (name === "*" || /^\^.*\$$/.test(name))) {
      // pl.col("^…$") is a regular expression and pl.col("*") every column:
      // "^xx$" read column xx (a silently wrong fit)
      throw new RangeError(
        `column '${name}' of the LazyFrame: polars reads this name as a ` +
          `${name === "*" ? "wildcard" : "regular expression"}, not as a column name; ` +
          `rename it first (lf.rename({ ${JSON.stringify(name)}: "x" }))`,
      );
    }
    const v = String(dt?.variant ?? dt).replace(/^DataType\((\w+).*$/, "$1");
    if (/^(Float|Int|UInt)\d*$/.test(v)) schema[name] = "number";
    else if (v === "String" || v === "Utf8") schema[name] = "string";
    else if (v === "Categorical" || v === "Enum") {
      schema[name] = "string";
      categorical.add(name);
    } else if (v === "Bool" || v === "Boolean") schema[name] = "logical";
    else if (used?.includes(name)) {
      throw new TypeError(
        `column '${name}' of the LazyFrame has type ${v}, which lmer cannot read ` +
          "(numbers, text, categoricals and booleans are supported): cast it in the query",
      );
    } else schema[name] = "number"; // checked once the formula's columns are known
  }
  return { schema, categorical };
}

/** A plan expression as a polars expression. */
export function polarsExpr(e: NumExpr, schema: SourceSchema): Expr {
  switch (e.op) {
    case "col":
      return pl.col(e.column).cast(pl.Float64);
    case "const":
      return pl.lit(e.value);
    case "neg":
      return pl.lit(0).sub(polarsExpr(e.arg, schema));
    case "add":
      return polarsExpr(e.left, schema).add(polarsExpr(e.right, schema));
    case "sub":
      return polarsExpr(e.left, schema).sub(polarsExpr(e.right, schema));
    case "mul":
      return polarsExpr(e.left, schema).mul(polarsExpr(e.right, schema));
    case "div":
      return polarsExpr(e.left, schema).div(polarsExpr(e.right, schema));
    case "pow": {
      const b = constValue(e.right);
      if (b === null) {
        throw new UnsupportedTermError(
          "^",
          "a power with an exponent that is not a number is not supported for a LazyFrame",
        );
      }
      return polarsExpr(e.left, schema).pow(b);
    }
    case "fn": {
      const a = polarsExpr(e.arg, schema);
      switch (e.fn) {
        case "log":
          return a.log();
        case "log2":
          return a.log(2);
        case "log10":
          return a.log(10);
        case "log1p":
          return a.log1p();
        case "exp":
          return a.exp();
        case "expm1":
          return a.exp().sub(pl.lit(1));
        case "sqrt":
          return a.pow(0.5);
        case "abs":
          return a.abs();
        case "sin":
          return a.sin();
        case "cos":
          return a.cos();
        case "tan":
          return a.tan();
      }
      throw new Error(`unknown function ${e.fn}`);
    }
    case "lookup": {
      if (e.keys.length === 0) return pl.lit(0);
      const k = keyExpr(e.part.column, e.part.type);
      let w: Expr = pl.when(k.eq(pl.lit(e.keys[0]))).then(pl.lit(e.values[0]));
      for (let i = 1; i < e.keys.length; i++) {
        w = w.when(k.eq(pl.lit(e.keys[i]))).then(pl.lit(e.values[i]));
      }
      return w.otherwise(pl.lit(0));
    }
  }
}

/** A grouping column as the plan's keys hold it (text, double or boolean). */
function keyExpr(column: string, type: ColumnType): Expr {
  const c = pl.col(column);
  return type === "string" ? c.cast(pl.Utf8) : type === "number" ? c.cast(pl.Float64) : c;
}

function filterExpr(items: readonly FilterItem[], schema: SourceSchema): Expr | null {
  let out: Expr | null = null;
  for (const it of items) {
    let e: Expr;
    if (it.kind === "number") {
      const x = polarsExpr(it.expr, schema);
      e = x.isNotNull().and(x.isNotNan());
    } else {
      const c = keyExpr(it.part.column, it.part.type);
      e = it.part.type === "number" ? c.isNotNull().and(c.isNotNan()) : c.isNotNull();
    }
    out = out === null ? e : out.and(e);
  }
  return out;
}

/** Options of the polars executor. */
export interface LazyExecOptions {
  /**
   * polars' engine for a query over the whole frame: "streaming" (default)
   * or "in-memory". Slices (see `chunkRows`) run in memory.
   */
  readonly engine?: "streaming" | "in-memory";
  /**
   * Rows per slice: the queries run slice by slice and the partial sums are
   * merged, so that memory holds one slice (polars 0.25's streaming
   * group-by grows with the rows: ~40 bytes a row). Default: 1,000,000 rows
   * when the frame is a plain Parquet/IPC scan or an in-memory frame
   * (projections allowed), whose slices are read directly; otherwise (a
   * filter, join, sort, CSV scan …, where each slice would recompute the
   * frame) no slicing. `false`: never slice.
   */
  readonly chunkRows?: number | false;
}

/** Whether slices of `lf` are read directly (no recomputation of what precedes them). */
function sliceable(lf: LazyDataFrame): boolean {
  const plan = lf.describeOptimizedPlan();
  const sources = plan.match(/Parquet SCAN|Ipc SCAN|IPC SCAN|^\s*DF \[/gm) ?? [];
  return sources.length === 1 &&
    !/\b(FILTER|JOIN|SORT|AGGREGATE|GROUP|UNION|SLICE|UNIQUE|DISTINCT|EXPLODE|UNPIVOT|CACHE|SCAN \[?Csv|Csv SCAN|NDJSON|HCONCAT|MAP)\b/
      .test(plan);
}

const rowCounts = new WeakMap<LazyDataFrame, number>();

/** Rows of the frame (a Parquet scan reads its metadata), remembered. */
function rowCount(lf: LazyDataFrame): number {
  let n = rowCounts.get(lf);
  if (n === undefined) {
    n = Number(lf.select(pl.len().alias("n")).collectSync().getColumn("n").get(0));
    rowCounts.set(lf, n);
  }
  return n;
}

/** Sums, counts, minima and maxima of one query merged over slices (by key). */
class Merger {
  private readonly index = new Map<KeyValue, number>();
  private readonly keys: KeyValue[][];
  private readonly n: number[] = [];
  private readonly values: Record<string, number[]> = {};
  constructor(private readonly q: AggQuery) {
    this.keys = q.keys.map(() => []);
    for (const a of q.aggs) this.values[a.name] = [];
  }
  add(r: AggResult): void {
    const m = r.n.length, nk = this.q.keys.length;
    const aggs = this.q.aggs.map((a) => ({
      fn: a.fn,
      from: r.values[a.name],
      to: this.values[a.name],
    }));
    for (let row = 0; row < m; row++) {
      // one key: its value (a number, string or boolean) is the map key
      let id: KeyValue = nk === 1 ? r.keys[0][row] : "";
      if (nk > 1) {
        for (let k = 0; k < nk; k++) {
          const v = r.keys[k][row];
          id += `${typeof v}:${String(v)}\u0000`;
        }
      }
      let at = this.index.get(id);
      if (at === undefined) {
        at = this.n.length;
        this.index.set(id, at);
        for (let k = 0; k < nk; k++) this.keys[k].push(r.keys[k][row]);
        this.n.push(0);
        for (const a of this.q.aggs) {
          this.values[a.name].push(a.fn === "sum" ? 0 : a.fn === "min" ? Infinity : -Infinity);
        }
      }
      this.n[at] += Number(r.n[row]);
      for (const { fn, from, to } of aggs) {
        const v = Number(from[row]);
        if (fn === "sum") to[at] += v;
        else if (fn === "min") to[at] = Math.min(to[at], v);
        else to[at] = Math.max(to[at], v);
      }
    }
  }
  result(): AggResult {
    const values: Record<string, Float64Array> = {};
    for (const a of this.q.aggs) values[a.name] = Float64Array.from(this.values[a.name]);
    return { keys: this.keys, n: Float64Array.from(this.n), values };
  }
}

/**
 * Run plan queries on a LazyFrame: the filter, then `groupBy(keys).agg()`
 * (or one `select` of all ungrouped queries with the same filter), collected
 * on polars' streaming engine.
 */
export function executeLazy(
  frame: LazyFrameLike,
  plan: LmerPlan,
  queries: readonly AggQuery[],
  options: LazyExecOptions = {},
): AggResult[] {
  const lf = frame as unknown as LazyDataFrame;
  const chunk = options.chunkRows === false
    ? 0
    : options.chunkRows ?? (sliceable(lf) ? 1_000_000 : 0);
  if (!(chunk > 0)) return executeOnce(lf, plan, queries, options.engine ?? "streaming");
  const total = rowCount(lf);
  if (total <= chunk) return executeOnce(lf, plan, queries, "in-memory");
  // the source's row count is known: no slice needs to count it
  const counted = queries.map((q) => q.keys.length === 0 && !q.filtered && q.aggs.length === 0);
  const sliceQueries = queries.filter((_, k) => !counted[k]);
  const merged = sliceQueries.map((q) => new Merger(q));
  for (let off = 0; off < total; off += chunk) {
    // (each query reads its slice: collecting the slice once into a
    // DataFrame held native memory until the JS collector ran)
    const part = executeOnce(lf.slice(off, chunk), plan, sliceQueries, "in-memory");
    part.forEach((r, k) => merged[k].add(r));
  }
  const results = merged.map((m) => m.result());
  let next = 0;
  return queries.map((_, k) => counted[k] ? { keys: [], n: [total], values: {} } : results[next++]);
}

/** Run the queries on one frame (the whole source or a slice). */
function executeOnce(
  lf: LazyDataFrame,
  plan: LmerPlan,
  queries: readonly AggQuery[],
  engine: "streaming" | "in-memory",
): AggResult[] {
  const schema = plan.schema;
  const base = lf.select(planColumns(plan).map((c) => pl.col(c)));
  const taken = new Set(planColumns(plan));
  const filter = filterExpr(plan.filter, schema);
  const filtered = filter === null ? base : base.filter(filter);
  const out: AggResult[] = new Array(queries.length);
  // Ungrouped filtered queries ride along with the first grouped filtered
  // query (their aggregates per group, reduced over the groups), so that a
  // stage reads the rows once.
  const host = queries.findIndex((q) => q.keys.length > 0 && q.filtered);
  const riders = host < 0
    ? []
    : queries.map((q, k) => (q.keys.length === 0 && q.filtered ? k : -1)).filter((k) => k >= 0);
  // the other ungrouped queries: one select per filter setting
  for (const f of [false, true]) {
    const idx = queries.map((q, k) =>
      q.keys.length === 0 && q.filtered === f && !riders.includes(k) ? k : -1
    ).filter((k) => k >= 0);
    if (!idx.length) continue;
    const exprs: Expr[] = [];
    for (const k of idx) {
      exprs.push(pl.len().cast(pl.Float64).alias(`q${k}__n`));
      for (const a of queries[k].aggs) {
        exprs.push(agg(a.fn, a.expr, schema).alias(`q${k}__${a.name}`));
      }
    }
    const df = (f ? filtered : base).select(exprs).collectSync({ engine });
    for (const k of idx) {
      const values: Record<string, number[]> = {};
      for (const a of queries[k].aggs) {
        values[a.name] = [num(df.getColumn(`q${k}__${a.name}`).get(0))];
      }
      out[k] = { keys: [], n: [num(df.getColumn(`q${k}__n`).get(0))], values };
    }
  }
  queries.forEach((q, k) => {
    if (q.keys.length === 0) return;
    const src = q.filtered ? filtered : base;
    const keyNames = q.keys.map((_, i) => freshName(`k${i}`, taken));
    const keyed = src.withColumns(
      ...q.keys.map((p, i) => keyExpr(p.column, p.type).alias(keyNames[i])),
    );
    const extra = k === host
      ? riders.flatMap((r) =>
        queries[r].aggs.map((a) => agg(a.fn, a.expr, schema).alias(`q${r}__${a.name}`))
      )
      : [];
    const df = keyed.groupBy(keyNames).agg(
      pl.len().cast(pl.Float64).alias("__n"),
      ...q.aggs.map((a) => agg(a.fn, a.expr, schema).alias(a.name)),
      ...extra,
    ).collectSync({ engine });
    const values: Record<string, Float64Array> = {};
    for (const a of q.aggs) values[a.name] = floats(df, a.name);
    const n = floats(df, "__n");
    out[k] = { keys: keyNames.map((c) => df.getColumn(c).toArray() as KeyValue[]), n, values };
    if (k !== host) return;
    for (const r of riders) {
      const rv: Record<string, number[]> = {};
      for (const a of queries[r].aggs) {
        const col = floats(df, `q${r}__${a.name}`);
        let acc = a.fn === "sum" ? 0 : a.fn === "min" ? Infinity : -Infinity;
        for (const v of col) {
          acc = a.fn === "sum" ? acc + v : a.fn === "min" ? Math.min(acc, v) : Math.max(acc, v);
        }
        rv[a.name] = [acc];
      }
      let total = 0;
      for (const v of n) total += v;
      out[r] = { keys: [], n: [total], values: rv };
    }
  });
  return out;
}

/**
 * An aggregate of a row expression; a constant one (the intercept's 1) is
 * folded, since polars does not broadcast a literal over the rows in an
 * aggregation (`lit(1).sum()` is 1).
 */
function agg(fn: "sum" | "min" | "max", e: NumExpr, schema: SourceSchema): Expr {
  const c = constValue(e);
  if (c !== null) return fn === "sum" ? pl.len().cast(pl.Float64).mul(pl.lit(c)) : pl.lit(c);
  const x = polarsExpr(e, schema);
  return fn === "sum" ? x.sum() : fn === "min" ? x.min() : x.max();
}

/** The value of an expression that reads no column, else null. */
function constValue(e: NumExpr): number | null {
  switch (e.op) {
    case "const":
      return e.value;
    case "neg": {
      const a = constValue(e.arg);
      return a === null ? null : -a;
    }
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "pow": {
      const a = constValue(e.left), b = constValue(e.right);
      if (a === null || b === null) return null;
      return e.op === "add"
        ? a + b
        : e.op === "sub"
        ? a - b
        : e.op === "mul"
        ? a * b
        : e.op === "div"
        ? a / b
        : a ** b;
    }
    default:
      return null;
  }
}

function num(v: unknown): number {
  return v === null || v === undefined ? NaN : Number(v);
}

function floats(df: DataFrame, name: string): Float64Array {
  const c = df.getColumn(name);
  if (c.nullCount() === 0) {
    const t = c.cast(pl.Float64).toTypedArray() as Float64Array;
    return t instanceof Float64Array ? t : Float64Array.from(t);
  }
  return Float64Array.from(c.toArray() as (number | null)[], num);
}

/**
 * Level orders of Categorical columns made by the library (`dataset()`,
 * `categoricalSeries`): as the in-memory path reads them.
 */
function categoricalLevels(
  plan: LmerPlan,
  categorical: ReadonlySet<string>,
  queries: readonly AggQuery[],
  results: readonly AggResult[],
): Record<string, FactorSpec> {
  const out: Record<string, FactorSpec> = {};
  for (const p of plan.parts) {
    if (!categorical.has(p.column) || plan.factors[p.column]) continue;
    const k = queries.findIndex((q) => q.id === `levels:${p.column}`);
    const values = (results[k].keys[0] as string[]).filter((v) => v !== null);
    const df = pl.DataFrame([pl.Series(p.column, values).cast(pl.Categorical)]);
    const f = readCategorical(df as unknown as Parameters<typeof readCategorical>[0], p.column);
    out[p.column] = { levels: f.levels, ordered: f.ordered };
  }
  return out;
}

/** Run the three stages of the plan on a LazyFrame. */
export function aggregateLazy(
  formula: string,
  frame: LazyFrameLike,
  options: { factors?: Readonly<Record<string, FactorSpec>> } & LazyExecOptions = {},
): { plan: LmerPlan; fit: AssembledFit; ms: { levels: number; moments: number; blocks: number } } {
  const lf = frame as unknown as LazyDataFrame;
  let t = performance.now();
  const lap = () => {
    const now = performance.now(), d = now - t;
    t = now;
    return d;
  };
  const { schema, categorical } = lazySchema(lf);
  let plan = lmerPlan(formula, schema, { factors: options.factors });
  lazySchema(lf, planColumns(plan));
  // X without factors: its moments come with the levels (one scan less)
  const early = earlyMoments(plan);
  const q1 = [...levelQueries(plan), ...(early ? [early] : [])];
  const r1 = executeLazy(lf, plan, q1, options);
  const cat = categoricalLevels(plan, categorical, q1, r1);
  if (Object.keys(cat).length) {
    plan = lmerPlan(formula, schema, { factors: { ...cat, ...options.factors } });
  }
  const lv = readLevels(plan, q1, r1);
  const levels = lap();
  const mo = readMoments(
    plan,
    lv,
    early ? r1[q1.length - 1] : executeLazy(lf, plan, [momentsQuery(plan, lv)], options)[0],
  );
  const moments = lap();
  const q3 = blockQueries(plan, lv, mo);
  const fit = assemble(plan, lv, mo, q3, executeLazy(lf, plan, q3, options));
  return { plan, fit, ms: { levels, moments, blocks: lap() } };
}

/**
 * `lmer(formula, lazyFrame)`: the fit from aggregated cross-products of a
 * polars LazyFrame, equal to the in-memory fit of its rows to rounding.
 * Prior weights and offsets are not supported (an error).
 *
 * @example
 * ```ts ignore
 * const m = lmerLazy("Reaction ~ Days + (Days | Subject)", pl.scanCsv("sleepstudy.csv"));
 * ```
 */
export function lmerLazy(
  formula: string,
  frame: LazyFrameLike,
  options: LmerOptions & LazyExecOptions = {},
): LinearMixedModel {
  const lf = frame as unknown as LazyDataFrame;
  const { engine, chunkRows, ...lmerOptions } = options;
  checkLmerOptions(lmerOptions);
  if (options.weights !== undefined || options.offset !== undefined) {
    throw new Error(
      "lmer: weights and offset are not supported for a LazyFrame yet; compute them into the " +
        "formula's columns or collect() the data",
    );
  }
  if (!isLazyFrame(lf)) {
    const o = lf as unknown as Record<string, unknown>;
    if (typeof o === "object" && o !== null && typeof o.collect === "function") {
      throw new TypeError(
        "lmer: the data has collect() but is not a nodejs-polars LazyFrame (as pl.scanParquet(path) " +
          "or df.lazy() make); collect it into a DataFrame or rows, or make a polars LazyFrame",
      );
    }
    throw new TypeError(
      "lmerLazy: the data must be a polars LazyFrame (e.g. pl.scanParquet(path))",
    );
  }
  const { plan, fit } = aggregateLazy(formula, lf, { factors: options.factors, engine, chunkRows });
  return lmerFromAggregates(plan, fit, lmerOptions, lazyRowStream(lf, plan, fit, { engine }));
}

/**
 * Fitted values and residuals by one more pass over a LazyFrame: Xβ as
 * polars expressions, Zb by joining each term's b on its grouping columns,
 * rows in the source's order (after the missing-value filter). Collects
 * the n fitted values and residuals (2n doubles).
 */
export function lazyRowStream(
  lf: LazyDataFrame,
  plan: LmerPlan,
  fit: AssembledFit,
  options: LazyExecOptions = {},
): RowStream {
  return (beta, b) => {
    const schema = plan.schema;
    const lv = fit.levels, d = fit.design;
    const filter = filterExpr(plan.filter, schema);
    const base = lf.select(planColumns(plan).map((c) => pl.col(c)));
    // helper columns never take a model column's name
    const taken = new Set(planColumns(plan));
    const own = (name: string) => {
      const n = freshName(name, taken);
      taken.add(n);
      return n;
    };
    const rowName = own("__row");
    let q = (filter === null ? base : base.filter(filter)).withRowIndex(rowName);
    let fitted: Expr = pl.lit(0);
    fit.kept.forEach((j, c) => {
      const xj = polarsExpr(d.x[j], schema);
      fitted = c === 0 ? xj.mul(pl.lit(beta[c])) : fitted.add(xj.mul(pl.lit(beta[c])));
    });
    let zOffset = 0;
    for (const k of planTermOrder(lv)) {
      const t = plan.terms[k], g = lv.groups[k], z = d.z[k].columns, qk = z.length;
      // b of each level, once per source value (tuple) of the level
      const keyCols: KeyValue[][] = t.parts.map(() => []);
      const bCols: number[][] = z.map(() => []);
      g.levels.forEach((_, l) => {
        const tuples: KeyValue[][] = g.positions
          ? cartesian(t.parts.map((p, i) => lv.parts.get(p.column)!.keys[g.positions![l][i]]))
          : g.keys[l].map((v) => [v]);
        for (const tup of tuples) {
          tup.forEach((v, i) => keyCols[i].push(v));
          for (let c = 0; c < qk; c++) bCols[c].push(b[zOffset + l * qk + c]);
        }
      });
      const names = t.parts.map((_, i) => own(`__k${k}_${i}`));
      const bNames = z.map((_, c) => own(`__b${k}_${c}`));
      const series = [
        ...t.parts.map((p, i) =>
          p.type === "number"
            ? pl.Series(names[i], keyCols[i] as number[], pl.Float64)
            : pl.Series(names[i], keyCols[i])
        ),
        ...bCols.map((v, c) => pl.Series(bNames[c], v, pl.Float64)),
      ];
      q = q.withColumns(...t.parts.map((p, i) => keyExpr(p.column, p.type).alias(names[i])))
        .join(pl.DataFrame(series).lazy(), { on: names, how: "left" });
      let zb: Expr = null;
      z.forEach((e, c) => {
        const term = polarsExpr(e, schema).mul(pl.col(bNames[c]));
        zb = zb === null ? term : zb.add(term);
      });
      fitted = fitted.add(zb);
      zOffset += g.levels.length * qk;
    }
    const fName = own("__fitted"), rName = own("__resid");
    const df = q.select(
      pl.col(rowName),
      fitted.alias(fName),
      polarsExpr(plan.response, schema).sub(fitted).alias(rName),
    ).sort(rowName).collectSync({ engine: options.engine ?? "streaming" });
    return { fitted: floats(df, fName), residuals: floats(df, rName) };
  };
}

/**
 * A name for a helper column that is none of the source's columns the plan
 * reads (a model column named 'k0' or '__row' must not be overwritten or
 * shadowed by the aggregation's own columns).
 */
function freshName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  while (taken.has(name)) name = `${name}_`;
  return name;
}

function cartesian(lists: readonly (readonly KeyValue[])[]): KeyValue[][] {
  let out: KeyValue[][] = [[]];
  for (const l of lists) out = out.flatMap((prefix) => l.map((v) => [...prefix, v]));
  return out;
}

/** The lmer fitter for LazyFrames. */
const lazyFitter = {
  // a polars LazyFrame, or an object that looks lazy (collect()) for a clear error
  accepts: (x: unknown) =>
    isLazyFrame(x) ||
    (typeof x === "object" && x !== null && !Array.isArray(x) &&
      typeof (x as { collect?: unknown }).collect === "function" &&
      typeof (x as { getColumn?: unknown }).getColumn !== "function"),
  fit: (formula: string, data: unknown, options: LmerOptions) =>
    lmerLazy(formula, data as LazyFrameLike, options),
};
registerSourceFitter(lazyFitter);

export { lmerFromAggregates };
