/**
 * A SQL table as the data of an lmer fit: the library writes the
 * aggregation plan (lib/sources/plan.ts) as SQL — one `GROUP BY` query per
 * block family — runs it on the engine, and fits from the aggregated rows.
 * The rows never leave the engine; what comes back is O(levels · q² + p²).
 *
 * - `sqlTable({ engine: "clickhouse", url, table, where? })`: ClickHouse
 *   over HTTP (lib/sources/clickhouse.ts), results in RowBinary. A
 *   Distributed table works as any table: every shard aggregates its part
 *   and the initiating server merges the partial sums.
 * - `sqlTable({ engine: "postgres", table, run })`: PostgreSQL's dialect;
 *   `run(sql)` sends one query with the client of your choice and returns
 *   its rows as arrays of values (in the order of the SELECT list).
 *   `run` also replaces the built-in client for ClickHouse.
 *
 * `lmerSql(formula, source)` returns the SQL of a fit (inspectable, to run
 * on your own warehouse); `lmerFromSql(formula, source)` fits.
 * @module
 */
import type { FactorSpec } from "../design/modelframe.ts";
import {
  type AggQuery,
  type AggResult,
  blockQueries,
  type ColumnType,
  type KeyValue,
  levelQueries,
  type LmerPlan,
  lmerPlan,
  momentsQuery,
  readLevels,
  readMoments,
  type SourceSchema,
} from "./plan.ts";
import {
  type ClickHouseConnection,
  clickhouseQuery,
  clickhouseText,
  RowBinaryReader,
} from "./clickhouse.ts";
import {
  clickhouseDialect,
  outputNames,
  renderQuery,
  sqlDialect,
  type SqlDialectName,
  tableName,
  whereProblem,
} from "./sql_dialect.ts";
import { checkOptions, describeValue } from "../data/options.ts";
import { escapeHtml, JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";
import {
  type AsyncSource,
  checkLmerOptions,
  type LmerOptions,
  registerSourceFitter,
} from "../models/lmer/fit.ts";
import { lmerFromAggregates } from "./aggregates.ts";
import type { LinearMixedModel } from "../models/lmer/model.ts";
import { type AssembledFit, earlyMoments, runPlanAsync } from "./plan.ts";

/** One result row of a query: values in the order of its SELECT list. */
export type SqlRow = readonly (string | number | bigint | boolean | null)[];

/** Sends one SQL query and returns its rows (see {@link SqlTableOptions.run}). */
export type SqlRunner = (sql: string) => Promise<readonly SqlRow[]>;

/** Options of {@link sqlTable}. */
export interface SqlTableOptions {
  /** The engine: its SQL dialect, and for "clickhouse" the built-in HTTP client. */
  readonly engine: SqlDialectName;
  /** The table (a dotted name is quoted part by part: "db.table"). */
  readonly table: string;
  /** A condition selecting rows, in the engine's SQL (e.g. "year >= 2020"). */
  readonly where?: string;
  /** ClickHouse: the HTTP interface, e.g. "http://127.0.0.1:8123". */
  readonly url?: string;
  /** ClickHouse: user. */
  readonly user?: string;
  /** ClickHouse: password. */
  readonly password?: string;
  /** ClickHouse: database of the table (default: the server's default). */
  readonly database?: string;
  /** ClickHouse: query settings sent with every query (e.g. `{ max_threads: 8 }`). */
  readonly settings?: Readonly<Record<string, string | number>>;
  /**
   * Your own client: sends one query, returns its rows as arrays of values.
   * Required for "postgres"; for "clickhouse" it replaces the HTTP client
   * (the queries then end in `FORMAT RowBinary` only with the built-in one).
   */
  readonly run?: SqlRunner;
  /**
   * The columns' types ("number", "string", "logical"); default: read from
   * the engine (ClickHouse `DESCRIBE TABLE`, PostgreSQL
   * `information_schema.columns`).
   */
  readonly schema?: SourceSchema;
}

const OPTION_NAMES = [
  "engine",
  "table",
  "where",
  "url",
  "user",
  "password",
  "database",
  "settings",
  "run",
  "schema",
];

/** Options of {@link lmerSql} and {@link lmerFromSql} that shape the plan. */
export interface SqlPlanOptions {
  /** Level orders and ordered factors, as lmer's `factors` option. */
  readonly factors?: Readonly<Record<string, FactorSpec>>;
}

/**
 * A table in a SQL engine, as the data of {@link lmerFromSql} (and of `lmer`
 * where the library's `lmer` accepts it). Made by {@link sqlTable}.
 */
export class SqlTable implements AsyncSource {
  /** Marks a data source for `lmer` (lib/models/lmer/fit.ts). */
  readonly lmerSource = "sql";
  /** `lmer` returns a promise for this source. */
  readonly lmerAsync = true;
  /** The engine (and dialect). */
  readonly engine: SqlDialectName;
  /** The table. */
  readonly table: string;
  /** The row condition, if any. */
  readonly where: string | undefined;
  /** The ClickHouse connection (engine "clickhouse" without `run`). */
  readonly connection: ClickHouseConnection | undefined;
  private readonly run: SqlRunner | undefined;
  private schemaKnown: SourceSchema | undefined;
  /** Columns of types the plan cannot read, with their engine type (for the error). */
  private readonly unreadable = new Map<string, string>();
  /**
   * Every query sent, with its wall time and its batch (the queries of one
   * batch run side by side), for benchmarks and inspection.
   */
  readonly log: {
    readonly id: string;
    readonly sql: string;
    readonly ms: number;
    readonly batch: number;
  }[] = [];
  private batches = 0;

  /** Prefer {@link sqlTable}. */
  constructor(o: SqlTableOptions) {
    this.engine = o.engine;
    this.table = o.table;
    this.where = o.where;
    this.run = o.run;
    this.schemaKnown = o.schema;
    this.connection = o.engine === "clickhouse" && !o.run
      ? {
        url: o.url!,
        user: o.user,
        password: o.password,
        database: o.database,
        settings: o.settings,
      }
      : undefined;
  }

  /** The display of the source in a notebook / console. */
  toString(): string {
    const at = this.connection ? ` at ${this.connection.url}` : "";
    return `<SQL table ${this.table}${
      this.where ? ` WHERE ${this.where}` : ""
    } (${this.engine}${at})>`;
  }

  /** The columns and their plan types, read once from the engine. */
  async schema(): Promise<SourceSchema> {
    if (this.schemaKnown) return this.schemaKnown;
    const out: Record<string, ColumnType> = {};
    if (this.connection) {
      const tsv = await clickhouseText(
        this.connection,
        `DESCRIBE TABLE ${tableName(this.table, clickhouseDialect)} FORMAT TSV`,
      );
      for (const line of tsv.split("\n")) {
        if (!line) continue;
        const [name, type] = line.split("\t");
        const t = clickhouseColumnType(type);
        if (t) out[unescapeTsv(name)] = t;
        else this.unreadable.set(unescapeTsv(name), type);
      }
    } else {
      const parts = this.table.split(".");
      const name = parts.pop()!;
      const schemaCond = parts.length
        ? `table_schema = '${parts[parts.length - 1].replace(/'/g, "''")}'`
        : "table_schema = ANY (current_schemas(false))";
      const rows = await this.run!(
        "SELECT column_name, data_type FROM information_schema.columns " +
          `WHERE table_name = '${name.replace(/'/g, "''")}' AND ${schemaCond} ` +
          "ORDER BY ordinal_position",
      );
      for (const [col, type] of rows) {
        const t = postgresColumnType(String(type));
        if (t) out[String(col)] = t;
        else this.unreadable.set(String(col), String(type));
      }
    }
    if (Object.keys(out).length === 0) {
      throw new RangeError(
        `sqlTable: table '${this.table}' has no columns the library can read (or does not exist)`,
      );
    }
    this.schemaKnown = out;
    return out;
  }

  /**
   * The plan of a formula on this table; a formula column of a type the
   * plan cannot read (a date, an array) is an error naming its type, not
   * "not found".
   * @ignore
   */
  async plan(formula: string, options: SqlPlanOptions): Promise<LmerPlan> {
    const schema = await this.schema();
    try {
      return lmerPlan(formula, schema, options);
    } catch (e) {
      for (const [name, type] of this.unreadable) {
        if (e instanceof Error && e.message.includes(`object '${name}' not found`)) {
          throw new TypeError(
            `column '${name}' of the table has type ${type}, which lmer cannot read ` +
              "(numbers, text, enums and booleans are supported): cast it in a view or query",
          );
        }
      }
      throw e;
    }
  }

  /**
   * The SQL of one aggregation query of a plan.
   * @ignore
   */
  render(q: AggQuery, plan: LmerPlan): string {
    const sql = renderQuery(
      q,
      sqlDialect(this.engine),
      { table: this.table, where: this.where },
      plan.filter,
      plan.schema,
    );
    // with a user's client, no FORMAT clause: the client chooses its format
    return this.connection ? sql : sql.replace(/\nFORMAT RowBinary$/, "");
  }

  /**
   * Run a batch of aggregation queries (concurrently) and read their rows.
   * @ignore
   */
  async execute(queries: readonly AggQuery[], plan: LmerPlan): Promise<AggResult[]> {
    const batch = this.batches++;
    return await Promise.all(queries.map(async (q) => {
      const sql = this.render(q, plan);
      const t0 = performance.now();
      const rows = this.connection
        ? await clickhouseQuery(this.connection, sql).then((b) => readRowBinary(b, q))
        : await this.run!(sql).then((r) => readRows(r, q, sql));
      this.log.push({ id: q.id, sql, ms: performance.now() - t0, batch });
      return rows;
    }));
  }
}

/**
 * A SQL table as a data source: the library aggregates it in the engine.
 *
 * @example
 * ```ts ignore
 * import { lmerFromSql, sqlTable } from "./advanced.ts";
 * const src = sqlTable({ engine: "clickhouse", url: "http://127.0.0.1:8123", table: "sleepstudy" });
 * const m = await lmerFromSql("Reaction ~ Days + (Days | Subject)", src);
 * ```
 */
export function sqlTable(options: SqlTableOptions): SqlTable {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`sqlTable: options must be an object, got ${describeValue(options)}`);
  }
  checkOptions("sqlTable", options, OPTION_NAMES);
  const { engine, table, url, run, where } = options;
  if (engine !== "clickhouse" && engine !== "postgres") {
    throw new RangeError(
      `sqlTable: 'engine' must be "clickhouse" or "postgres", got ${describeValue(engine)}`,
    );
  }
  if (typeof table !== "string" || !table.trim()) {
    throw new TypeError(`sqlTable: 'table' must be a table name, got ${describeValue(table)}`);
  }
  if (where !== undefined && (typeof where !== "string" || !where.trim())) {
    throw new TypeError(`sqlTable: 'where' must be a SQL condition, got ${describeValue(where)}`);
  }
  if (where !== undefined) {
    const problem = whereProblem(where, engine);
    if (problem) throw new RangeError(`sqlTable: 'where' condition "${where}": ${problem}`);
  }
  tableName(table, clickhouseDialect); // an empty part of a dotted name is an error here
  if (run !== undefined && typeof run !== "function") {
    throw new TypeError(`sqlTable: 'run' must be a function, got ${describeValue(run)}`);
  }
  if (engine === "postgres" && !run) {
    throw new TypeError(
      "sqlTable: engine \"postgres\" needs 'run', a function that sends one query with your " +
        "PostgreSQL client and returns its rows as arrays (the library has no PostgreSQL client)",
    );
  }
  if (engine === "clickhouse" && !run) {
    if (typeof url !== "string") {
      throw new TypeError(
        `sqlTable: engine "clickhouse" needs 'url' (its HTTP interface, e.g. ` +
          `"http://127.0.0.1:8123"), got ${describeValue(url)}`,
      );
    }
    let u: URL | undefined;
    try {
      u = new URL(url);
    } catch { /* reported below */ }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) {
      throw new TypeError(`sqlTable: 'url' must be an http(s) URL, got "${url}"`);
    }
  }
  return new SqlTable(options);
}

/** Whether a value is a {@link SqlTable}. */
export function isSqlTable(x: unknown): x is SqlTable {
  return x instanceof SqlTable;
}

// ---------------------------------------------------------------- schema

/** A ClickHouse column type as the plan reads it (undefined: not usable). */
export function clickhouseColumnType(type: string): ColumnType | undefined {
  let t = type.trim();
  for (;;) {
    const m = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (!m) break;
    t = m[2];
  }
  if (/^(U?Int\d+|Float\d+|Decimal.*)$/.test(t)) return "number";
  if (/^(String|FixedString.*|Enum\d*\(.*)$/.test(t)) return "string";
  if (t === "Bool" || t === "Boolean") return "logical";
  return undefined;
}

/** A PostgreSQL data type as the plan reads it. */
export function postgresColumnType(type: string): ColumnType | undefined {
  const t = type.toLowerCase();
  if (/^(smallint|integer|bigint|real|double precision|numeric|decimal)/.test(t)) return "number";
  if (/^(text|character varying|character|varchar|char|"char"|name|citext)/.test(t)) {
    return "string";
  }
  if (t === "boolean") return "logical";
  return undefined;
}

function unescapeTsv(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === "t" ? "\t" : c === "n" ? "\n" : c));
}

// ---------------------------------------------------------------- results

/** A ClickHouse RowBinary result of one query (types as the dialect selects them). */
function readRowBinary(bytes: Uint8Array, q: AggQuery): AggResult {
  const r = new RowBinaryReader(bytes);
  const keys: KeyValue[][] = q.keys.map(() => []);
  const n: number[] = [];
  const values: Record<string, number[]> = {};
  for (const a of q.aggs) values[a.name] = [];
  while (!r.done) {
    q.keys.forEach((p, k) => {
      keys[k].push(
        p.type === "string" ? r.str() : p.type === "logical" ? r.u8() !== 0 : r.f64(),
      );
    });
    n.push(r.u64());
    for (const a of q.aggs) values[a.name].push(r.f64());
  }
  return { keys, n, values };
}

/** Rows from a user's client → an aggregation result (numbers may come as text). */
function readRows(rows: readonly SqlRow[], q: AggQuery, sql: string): AggResult {
  const width = outputNames(q).length;
  const keys: KeyValue[][] = q.keys.map(() => []);
  const n: number[] = [];
  const values: Record<string, number[]> = {};
  for (const a of q.aggs) values[a.name] = [];
  const num = (v: SqlRow[number], what: string): number => {
    const x = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number(v);
    if (v === null || v === "" || (typeof v === "string" && Number.isNaN(x) && v !== "NaN")) {
      throw new TypeError(
        `sqlTable: the query's ${what} is ${describeValue(v)}, not a number:\n${sql}`,
      );
    }
    return x;
  };
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== width) {
      throw new TypeError(
        `sqlTable: 'run' must return rows as arrays of ${width} values (the SELECT list), ` +
          `got ${describeValue(row)}`,
      );
    }
    q.keys.forEach((p, k) => {
      const v = row[k];
      keys[k].push(
        p.type === "string"
          ? String(v)
          : p.type === "logical"
          ? v === true || v === "t" || v === "true" || v === 1 || v === "1"
          : num(v, "key"),
      );
    });
    n.push(num(row[q.keys.length], "count"));
    q.aggs.forEach((a, i) => values[a.name].push(num(row[q.keys.length + 1 + i], a.name)));
  }
  return { keys, n, values };
}

// ---------------------------------------------------------------- lmerSql

/** One query of a fit's SQL. */
export interface LmerSqlQuery {
  /** The stage: 1 levels and counts, 2 moments (centring), 3 the blocks of A. */
  readonly stage: 1 | 2 | 3;
  /** What it computes: "rows", "levels:g", "moments", "term:0", "pair:1:0", "ff". */
  readonly id: string;
  /** The SQL text. */
  readonly sql: string;
}

/** The SQL of an lmer fit on a table (see {@link lmerSql}). */
export interface LmerSql {
  /** The dialect. */
  readonly engine: SqlDialectName;
  /** The queries in the order a fit runs them. */
  readonly queries: readonly LmerSqlQuery[];
  /** All queries, separated by blank lines, each headed by a comment naming it. */
  toString(): string;
  /** The notebook display: the queries as text and in a preformatted HTML block. */
  [JUPYTER_DISPLAY](): MimeBundle;
}

/**
 * The SQL a fit of `formula` on a SQL table runs: stage 1 (row counts,
 * factor levels), stage 2 (the moments that decide the centring; sent with
 * stage 1 when X has no factor, whose columns need the levels), stage 3
 * (one GROUP BY query per block family: per random-effects term its
 * diagonal blocks and FᵀZ, per pair of terms the sparse crossed or nested
 * blocks, and FᵀF). Stages 2 and 3 depend on the data (the levels define
 * the contrasts, the means the centring), so this runs stages 1 and 2 on
 * the source; stage 3, the expensive one, is only written.
 *
 * @example
 * ```ts ignore
 * const sql = await lmerSql("Reaction ~ Days + (Days | Subject)", source);
 * console.log(String(sql)); // -- stage 1: rows … -- stage 3: term:0 SELECT … GROUP BY …
 * ```
 */
export async function lmerSql(
  formula: string,
  source: SqlTable,
  options: SqlPlanOptions = {},
): Promise<LmerSql> {
  checkSource("lmerSql", source);
  const plan = await source.plan(formula, options);
  // the moments go with the level queries when X has no factor (one scan less)
  const early = earlyMoments(plan);
  const q1 = levelQueries(plan);
  const r1 = await source.execute(early ? [...q1, early] : q1, plan);
  const lv = readLevels(plan, q1, r1);
  const q2 = early ?? momentsQuery(plan, lv);
  const mo = readMoments(plan, lv, early ? r1[q1.length] : (await source.execute([q2], plan))[0]);
  const q3 = blockQueries(plan, lv, mo);
  const queries: LmerSqlQuery[] = [
    ...q1.map((q) => ({ stage: 1 as const, id: q.id, sql: source.render(q, plan) })),
    { stage: 2 as const, id: q2.id, sql: source.render(q2, plan) },
    ...q3.map((q) => ({ stage: 3 as const, id: q.id, sql: source.render(q, plan) })),
  ];
  const text = queries.map((q) => `-- stage ${q.stage}: ${q.id}\n${q.sql};`).join("\n\n");
  return {
    engine: source.engine,
    queries,
    toString: () => text,
    [JUPYTER_DISPLAY]: () => ({
      "text/plain": text,
      "text/html": `<pre>${escapeHtml(text)}</pre>`,
    }),
  };
}

function checkSource(fn: string, source: unknown): asserts source is SqlTable {
  // (a SqlTable of another copy of this module is refused too: instanceof)
  if (!isSqlTable(source)) {
    throw new TypeError(
      `${fn}: the data must be a SQL table made by sqlTable({ engine, table, … }), got ${
        describeValue(source)
      }`,
    );
  }
}

// ---------------------------------------------------------------- fitting

/** The three stages on the engine: the plan and its assembled cross-products. */
export async function aggregateSql(
  formula: string,
  source: SqlTable,
  options: SqlPlanOptions = {},
): Promise<{ plan: LmerPlan; fit: AssembledFit }> {
  checkSource("lmer", source);
  const plan = await source.plan(formula, options);
  return { plan, fit: await runPlanAsync(plan, (qs) => source.execute(qs, plan)) };
}

/** Milliseconds spent in each part of a fit from a SQL table. */
export interface SqlFitTimes {
  /** The three stages' queries on the engine (wall time, network included). */
  readonly aggregateMs: number;
  /** Forming the model from the blocks and optimizing (no rows touched). */
  readonly fitMs: number;
}

const fitTimes = new WeakMap<LinearMixedModel, SqlFitTimes>();

/** The time a model fitted from a SQL table spent in the engine and in the fit. */
export function sqlFitTimes(m: LinearMixedModel): SqlFitTimes | undefined {
  return fitTimes.get(m);
}

/**
 * `lmer` on a SQL table: the aggregation runs in the engine (three stages
 * of GROUP BY queries, see {@link lmerSql}), the fit runs here from the
 * returned blocks. Equal to the in-memory fit of the table's rows to
 * rounding. `lmer(formula, sqlTable(…))` comes here and returns the same
 * promise. Prior weights and offsets are not supported (an error); what
 * needs the rows afterwards (fitted values, residuals, the summary's
 * residual quantiles, figures, the bootstrap) says so.
 *
 * @example
 * ```ts ignore
 * const m = await lmerFromSql("y ~ x + (x | cluster)", sqlTable({
 *   engine: "clickhouse", url: "http://127.0.0.1:8123", table: "clark",
 * }));
 * m.fixef();
 * ```
 */
export async function lmerFromSql(
  formula: string,
  source: SqlTable,
  options: LmerOptions = {},
): Promise<LinearMixedModel> {
  checkLmerOptions(options);
  checkSource("lmer", source);
  if (options.weights !== undefined || options.offset !== undefined) {
    throw new Error(
      "lmer: weights and offset are not supported for a SQL table yet; compute them into the " +
        "formula's columns or read the rows into memory",
    );
  }
  const t0 = performance.now();
  const { plan, fit } = await aggregateSql(formula, source, { factors: options.factors });
  const t1 = performance.now();
  const m = lmerFromAggregates(plan, fit, {
    ...options,
    dataName: options.dataName ?? source.table,
  });
  fitTimes.set(m, { aggregateMs: t1 - t0, fitMs: performance.now() - t1 });
  return m;
}

registerSourceFitter({
  accepts: isSqlTable,
  fit: (formula: string, data: unknown, options: LmerOptions) =>
    lmerFromSql(formula, data as SqlTable, options),
});
