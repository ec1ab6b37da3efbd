/**
 * SQL text for the aggregation plan (lib/sources/plan.ts): one `SELECT …
 * GROUP BY` per {@link AggQuery}, in two dialects — ClickHouse (run through
 * its HTTP interface, results in RowBinary) and PostgreSQL (whose numeric
 * semantics DuckDB and most warehouses share). The dialects differ in
 * casts, the math functions and their domain errors, NaN tests, exact
 * number literals and the result format; the query shape is the same:
 *
 * ```sql
 * SELECT <key> AS lmer_k0, count(*) AS lmer_n, sum(<product>) AS lmer_zz0_0, …
 * FROM <table>
 * WHERE (<where>) AND <na.omit: every variable non-null and not NaN>
 * GROUP BY <key>
 * ```
 * @module
 */
import type {
  AggQuery,
  ColumnType,
  FactorPart,
  FilterItem,
  KeyValue,
  MathFn,
  NumExpr,
  SourceSchema,
} from "./plan.ts";

/** The SQL dialects the generator writes. */
export type SqlDialectName = "clickhouse" | "postgres";

/** How one dialect spells the pieces of an aggregation query. */
export interface SqlDialect {
  /** The dialect's name. */
  readonly name: SqlDialectName;
  /** A quoted identifier. */
  ident(name: string): string;
  /** A number literal that the engine reads as exactly this double. */
  number(v: number): string;
  /** A string literal. */
  string(s: string): string;
  /** A boolean literal. */
  boolean(b: boolean): string;
  /** A numeric (or logical) column read as a double (its NULLs filtered out by the WHERE clause). */
  column(name: string, type: ColumnType): string;
  /** A grouping column as selected and compared (text, double or boolean). */
  key(part: FactorPart): string;
  /** A math function with R's semantics (NaN outside the domain, ±Inf at poles). */
  fn(f: MathFn, arg: string): string;
  /** a / b with R's semantics (x/0 = ±Inf, 0/0 = NaN); `bConst`: b is a non-zero constant. */
  div(a: string, b: string, bConst: boolean): string;
  /** a ^ b. */
  pow(a: string, b: string): string;
  /** The condition "this double is not NaN". */
  notNaN(e: string): string;
  /** An aggregate over a double expression. */
  agg(fn: "sum" | "min" | "max", e: string): string;
  /** The row count. */
  readonly count: string;
  /** Text after the query (ClickHouse: the result format). */
  readonly suffix: string;
}

/** Identifiers as ClickHouse quotes them: back quotes, backslash escapes. */
function backquote(name: string): string {
  return "`" + name.replace(/\\/g, "\\\\").replace(/`/g, "\\`") + "`";
}

/** The shortest decimal that reads back as v (JavaScript's), in SQL form. */
function decimal(v: number): string {
  return String(v).replace("e+", "e");
}

/** The 8 bytes of a double, little-endian, in hex. */
function hexLE(v: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * ClickHouse (checked on 18.16): columns through `assumeNotNull` (the WHERE
 * clause drops NULLs) and `toFloat64`; numbers that are not integers as the
 * bytes of the double (`reinterpretAsFloat64(unhex(…))`, with the decimal
 * in a comment), because 18.16 reads decimal text inexactly in its input
 * formats (1–2% of values one ulp off through TabSeparated; its SQL literals
 * were exact in 60,000 tries, but nothing need depend on that); `log1p` and
 * `expm1`, which 18.16 lacks, by Kahan's accurate formulas; results in
 * RowBinary.
 */
export const clickhouseDialect: SqlDialect = {
  name: "clickhouse",
  ident: backquote,
  number(v) {
    if (Number.isInteger(v) && Math.abs(v) <= 2 ** 53) return decimal(v);
    // a short binary fraction (4.5, 0.25) is read exactly by any parser
    if (Number.isInteger(v * 1024) && Math.abs(v) < 2 ** 40) return decimal(v);
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    return `reinterpretAsFloat64(unhex('${hexLE(v)}')) /* ${decimal(v)} */`;
  },
  string: (s) => "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'",
  boolean: (b) => (b ? "1" : "0"),
  column: (name) => `toFloat64(assumeNotNull(${backquote(name)}))`,
  key(part) {
    const c = `assumeNotNull(${backquote(part.column)})`;
    if (part.type === "string") return `toString(${c})`;
    if (part.type === "logical") return `toUInt8(${c})`;
    return `toFloat64(${c})`;
  },
  fn(f, x) {
    switch (f) {
      case "log1p":
        // Kahan: log(1+x)·x/((1+x)−1) is accurate where 1+x rounds
        return `if((1 + ${x}) = 1, ${x}, log(1 + ${x}) * ${x} / ((1 + ${x}) - 1))`;
      case "expm1":
        // Kahan: (e^x − 1)·x / log(e^x)
        return `if(exp(${x}) = 1, ${x}, if(exp(${x}) - 1 = -1, -1, ` +
          `(exp(${x}) - 1) * ${x} / log(exp(${x}))))`;
      default:
        return `${f}(${x})`;
    }
  },
  div: (a, b) => `(${a} / ${b})`,
  pow: (a, b) => `pow(${a}, ${b})`,
  notNaN: (e) => `NOT isNaN(${e})`,
  agg: (fn, e) => `${fn}(${e})`,
  count: "count()",
  suffix: "FORMAT RowBinary",
};

/** PostgreSQL's special doubles. */
const PG_NAN = "'NaN'::float8", PG_INF = "'Infinity'::float8", PG_NINF = "'-Infinity'::float8";

/**
 * PostgreSQL (checked on 15): columns cast to float8; PostgreSQL raises an
 * error where R returns NaN or ±Inf (log of a non-positive number, sqrt of a
 * negative one, division by zero), so those are written as CASE expressions
 * that give R's values, which the WHERE clause then treats as R's na.omit
 * does. Decimal literals are read exactly (strtod).
 */
export const postgresDialect: SqlDialect = {
  name: "postgres",
  ident: (name) => '"' + name.replace(/"/g, '""') + '"',
  number(v) {
    if (Number.isNaN(v)) return PG_NAN;
    if (!Number.isFinite(v)) return v > 0 ? PG_INF : PG_NINF;
    return `${decimal(v)}::float8`;
  },
  string: (s) => "'" + s.replace(/'/g, "''") + "'",
  boolean: (b) => (b ? "TRUE" : "FALSE"),
  column: (name, type) =>
    type === "logical"
      ? `CAST(CAST(${postgresDialect.ident(name)} AS integer) AS float8)`
      : `CAST(${postgresDialect.ident(name)} AS float8)`,
  key(part) {
    const c = postgresDialect.ident(part.column);
    if (part.type === "string") return `CAST(${c} AS text)`;
    if (part.type === "logical") return `CAST(${c} AS boolean)`;
    return `CAST(${c} AS float8)`;
  },
  fn(f, x) {
    const logOf = (name: string, arg: string) =>
      `(CASE WHEN ${arg} > 0 THEN ${name}(${arg}) WHEN ${arg} = 0 THEN ${PG_NINF} ` +
      `ELSE ${PG_NAN} END)`;
    switch (f) {
      case "log":
        return logOf("ln", x);
      case "log10":
        return logOf("log", x);
      case "log2":
        return `(${logOf("ln", x)} / ln(2::float8))`;
      case "log1p":
        // Kahan's accurate log(1+x) (PostgreSQL has no log1p)
        return `(CASE WHEN ${x} > -1 THEN (CASE WHEN 1 + ${x} = 1 THEN ${x} ELSE ` +
          `ln(1 + ${x}) * ${x} / ((1 + ${x}) - 1) END) WHEN ${x} = -1 THEN ${PG_NINF} ` +
          `ELSE ${PG_NAN} END)`;
      case "expm1":
        return `(CASE WHEN exp(${x}) = 1 THEN ${x} WHEN exp(${x}) - 1 = -1 THEN -1::float8 ` +
          `ELSE (exp(${x}) - 1) * ${x} / ln(exp(${x})) END)`;
      case "sqrt":
        return `(CASE WHEN ${x} >= 0 THEN sqrt(${x}) ELSE ${PG_NAN} END)`;
      default:
        return `${f}(${x})`;
    }
  },
  div(a, b, bConst) {
    if (bConst) return `(${a} / ${b})`;
    return `(CASE WHEN ${b} <> 0 THEN ${a} / ${b} WHEN ${a} > 0 THEN ${PG_INF} ` +
      `WHEN ${a} < 0 THEN ${PG_NINF} ELSE ${PG_NAN} END)`;
  },
  pow: (a, b) => `power(${a}, ${b})`,
  notNaN: (e) => `${e} <> ${PG_NAN}`,
  agg: (fn, e) => `${fn}(${e})`,
  count: "count(*)",
  suffix: "",
};

/** The dialect of a name. */
export function sqlDialect(name: SqlDialectName): SqlDialect {
  return name === "clickhouse" ? clickhouseDialect : postgresDialect;
}

/** A key value as a literal of its column's type. */
function keyLiteral(d: SqlDialect, v: KeyValue): string {
  if (typeof v === "string") return d.string(v);
  if (typeof v === "boolean") return d.boolean(v);
  return d.number(v);
}

/** Whether an expression is a non-zero constant. */
function isNonZeroConst(e: NumExpr): boolean {
  return e.op === "const" && e.value !== 0 && Number.isFinite(e.value);
}

/**
 * A row expression as SQL: a double-valued expression in the dialect.
 *
 * @example
 * ```ts
 * import { postgresDialect, renderExpr } from "./sql_dialect.ts";
 * renderExpr({ op: "fn", fn: "log", arg: { op: "col", column: "x" } }, postgresDialect, { x: "number" });
 * // (CASE WHEN CAST("x" AS float8) > 0 THEN ln(CAST("x" AS float8)) WHEN … END)
 * ```
 */
export function renderExpr(e: NumExpr, d: SqlDialect, schema: SourceSchema = {}): string {
  const r = (x: NumExpr) => renderExpr(x, d, schema);
  switch (e.op) {
    case "col":
      return d.column(e.column, schema[e.column] ?? "number");
    case "const":
      return d.number(e.value);
    case "neg":
      return `(-${r(e.arg)})`;
    case "add":
      return `(${r(e.left)} + ${r(e.right)})`;
    case "sub":
      return `(${r(e.left)} - ${r(e.right)})`;
    case "mul":
      return `${r(e.left)} * ${r(e.right)}`;
    case "div":
      return d.div(r(e.left), r(e.right), isNonZeroConst(e.right));
    case "pow":
      return d.pow(r(e.left), r(e.right));
    case "fn":
      return d.fn(e.fn, r(e.arg));
    case "lookup": {
      if (e.keys.length === 0) return d.number(0);
      const k = d.key(e.part);
      const arms = e.keys.map((key, i) =>
        `WHEN ${k} = ${keyLiteral(d, key)} THEN ${d.number(e.values[i])}`
      );
      return `(CASE ${arms.join(" ")} ELSE ${d.number(0)} END)`;
    }
  }
}

/** The WHERE conditions of R's na.omit for the plan's filter. */
export function renderFilter(
  filter: readonly FilterItem[],
  d: SqlDialect,
  schema: SourceSchema = {},
): string[] {
  const out: string[] = [];
  const nullChecked = new Set<string>();
  const colsOf = (e: NumExpr, into: Set<string>) => {
    if (e.op === "col") into.add(e.column);
    else if (e.op === "lookup") into.add(e.part.column);
    else if (e.op === "neg" || e.op === "fn") colsOf(e.arg, into);
    else if (e.op !== "const") (colsOf(e.left, into), colsOf(e.right, into));
  };
  const cols = new Set<string>();
  for (const f of filter) {
    if (f.kind === "key") cols.add(f.part.column);
    else colsOf(f.expr, cols);
  }
  for (const c of cols) {
    if (nullChecked.has(c)) continue;
    nullChecked.add(c);
    out.push(`${d.ident(c)} IS NOT NULL`);
  }
  for (const f of filter) {
    if (f.kind !== "number") continue;
    // a plain column can be NaN too (R's NaN is NA to na.omit)
    out.push(d.notNaN(renderExpr(f.expr, d, schema)));
  }
  return out;
}

/** Where the rows come from: a table and an optional condition. */
export interface SqlFrom {
  /** Table name; a dotted name (db.table) is quoted part by part. */
  readonly table: string;
  /** A SQL condition on the rows (written in the engine's dialect), e.g. "year >= 2020". */
  readonly where?: string;
}

/**
 * Why a `where` condition cannot be pasted into the generated SQL, or null
 * when it can: it must be one condition that stays inside the parentheses
 * the SQL puts around it (`1) OR (1` would escape them and undo the
 * missing-value filter after it), with no `;` ending the statement and no
 * unterminated string, quoted name or comment. Strings, quoted names and
 * comments are skipped as the dialect reads them (ClickHouse: backslash
 * escapes; PostgreSQL: doubled quotes, E'…' strings, $tag$ strings, nested
 * block comments).
 *
 * @example
 * ```ts
 * import { whereProblem } from "./sql_dialect.ts";
 * whereProblem("year >= 2020", "postgres"); // null
 * whereProblem("1) OR (1", "clickhouse"); // "')' at character 2 closes a parenthesis …"
 * ```
 */
export function whereProblem(where: string, dialect: SqlDialectName): string | null {
  let depth = 0;
  const ch = dialect === "clickhouse";
  for (let i = 0; i < where.length;) {
    const c = where[i];
    if (c === "'" || c === '"' || (ch && c === "`")) {
      // PostgreSQL: E'…' strings take backslash escapes; others do not
      const prev = where[i - 1] ?? "";
      const eString = !ch && c === "'" && /[eE]/.test(prev) && !/[\w$]/.test(where[i - 2] ?? "");
      const escapes = ch || eString;
      let j = i + 1, closed = false;
      while (j < where.length) {
        if (escapes && where[j] === "\\") {
          j += 2;
          continue;
        }
        if (where[j] === c) {
          if (where[j + 1] === c) {
            j += 2; // a doubled quote
            continue;
          }
          closed = true;
          break;
        }
        j++;
      }
      if (!closed) {
        return `the ${c === "'" ? "string" : "quoted name"} at character ${i + 1} is not closed`;
      }
      i = j + 1;
      continue;
    }
    if (!ch && c === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(where.slice(i));
      if (tag && !/[\w]/.test(where[i - 1] ?? "")) {
        const end = where.indexOf(tag[0], i + tag[0].length);
        if (end < 0) return `the ${tag[0]} string at character ${i + 1} is not closed`;
        i = end + tag[0].length;
        continue;
      }
    }
    if (c === "-" && where[i + 1] === "-") {
      const end = where.indexOf("\n", i);
      i = end < 0 ? where.length : end + 1;
      continue;
    }
    if (c === "/" && where[i + 1] === "*") {
      let nest = 1, j = i + 2;
      while (j < where.length && nest > 0) {
        if (where[j] === "*" && where[j + 1] === "/") (nest--, j += 2);
        else if (!ch && where[j] === "/" && where[j + 1] === "*") (nest++, j += 2);
        else j++;
      }
      if (nest > 0) return `the comment at character ${i + 1} is not closed`;
      i = j;
      continue;
    }
    if (c === "(") depth++;
    else if (c === ")") {
      if (--depth < 0) {
        return `')' at character ${i + 1} closes a parenthesis the condition did not open`;
      }
    } else if (c === ";") {
      return `';' at character ${i + 1} would end the statement (give one condition)`;
    }
    i++;
  }
  return depth > 0 ? `${depth} parenthesis(es) not closed` : null;
}

/**
 * A table name quoted part by part ("db.table"); an empty part is an error
 * naming the table.
 */
export function tableName(table: string, d: Pick<SqlDialect, "ident">): string {
  const parts = table.split(".");
  if (parts.some((p) => p.trim() === "")) {
    throw new RangeError(
      `table name "${table}": a dotted name needs a name on each side of every '.' ` +
        '(e.g. "db.table")',
    );
  }
  return parts.map((p) => d.ident(p)).join(".");
}

/** Output column names of a query, in order (keys, n, aggregates). */
export function outputNames(q: AggQuery): string[] {
  return [...q.keys.map((_, k) => `lmer_k${k}`), "lmer_n", ...q.aggs.map((a) => `lmer_${a.name}`)];
}

/** The names the generated SQL gives its own columns (they must not be the table's). */
export const RESERVED_PREFIX = "lmer_";

/**
 * A row expression in R-like text, for the comments that say what each
 * model column of the SQL is.
 */
export function describeExpr(e: NumExpr): string {
  const wrap = (x: NumExpr) =>
    x.op === "add" || x.op === "sub" || x.op === "neg" ? `(${describeExpr(x)})` : describeExpr(x);
  switch (e.op) {
    case "col":
      return e.column;
    case "const":
      return String(e.value);
    case "neg":
      return `-${wrap(e.arg)}`;
    case "add":
      return `${describeExpr(e.left)} + ${describeExpr(e.right)}`;
    case "sub":
      return `${describeExpr(e.left)} - ${wrap(e.right)}`;
    case "mul":
      return `${wrap(e.left)} * ${wrap(e.right)}`;
    case "div":
      return `${wrap(e.left)} / ${wrap(e.right)}`;
    case "pow":
      return `${wrap(e.left)}^${wrap(e.right)}`;
    case "fn":
      return `${e.fn}(${describeExpr(e.arg)})`;
    case "lookup": {
      const arms = e.keys.map((k, i) =>
        `${typeof k === "string" ? JSON.stringify(k) : k}: ${e.values[i]}`
      );
      return `coding of ${e.part.column} {${arms.join(", ")}}`;
    }
  }
}

/**
 * Whether ClickHouse types an expression as Float64 (a column read as a
 * double, a math function, a division or power); integer constants and
 * integer codings are UInt8 there, and their sums would be integers.
 */
function isDouble(e: NumExpr): boolean {
  switch (e.op) {
    case "col":
    case "fn":
    case "div":
    case "pow":
      return true;
    case "const":
      return false;
    case "lookup":
      return e.values.some((v) => !Number.isInteger(v));
    case "neg":
      return isDouble(e.arg);
    default:
      return isDouble(e.left) || isDouble(e.right);
  }
}

/** The factors of an aggregate's expression: a product's two sides, or the expression. */
function factorsOf(e: NumExpr): NumExpr[] {
  return e.op === "mul" ? [e.left, e.right] : [e];
}

/** A comment that cannot end early. */
function comment(text: string): string {
  return `-- ${text.replace(/[\r\n]+/g, " ").slice(0, 120)}`;
}

/**
 * One aggregation query as SQL text. Each model column (a factor of the
 * aggregated products: a column of X, y or z, centred where the plan
 * centres it) is computed once per row under a name `lmer_c<i>`, with a
 * comment saying what it is; the aggregates multiply these names. In
 * ClickHouse the names are `WITH` expression aliases (a subquery would stop
 * a Distributed table from aggregating on the shards); in PostgreSQL they
 * are the columns of a subquery.
 *
 * @example
 * ```ts
 * import { clickhouseDialect, renderQuery } from "./sql_dialect.ts";
 * renderQuery(
 *   { id: "levels:g", filtered: true, keys: [{ column: "g", type: "string" }], aggs: [] },
 *   clickhouseDialect,
 *   { table: "t" },
 * );
 * // WITH toString(assumeNotNull(`g`)) AS lmer_k0 SELECT lmer_k0, count() AS lmer_n FROM `t` …
 * ```
 */
export function renderQuery(
  q: AggQuery,
  d: SqlDialect,
  from: SqlFrom,
  filter: readonly FilterItem[] = [],
  schema: SourceSchema = {},
): string {
  const names = outputNames(q);
  const clash = Object.keys(schema).find((c) => c.toLowerCase().startsWith(RESERVED_PREFIX));
  if (clash) {
    throw new RangeError(
      `column '${clash}' of the table: names starting with '${RESERVED_PREFIX}' are the ` +
        "generated SQL's own; rename the column (or select it under another name in a view)",
    );
  }
  // the model columns the aggregates multiply, each computed once
  const cols = new Map<string, { name: string; expr: NumExpr }>();
  const colOf = (e: NumExpr) => {
    const key = JSON.stringify(e);
    let c = cols.get(key);
    if (!c) cols.set(key, c = { name: `lmer_c${cols.size}`, expr: e });
    return c.name;
  };
  const aggs = q.aggs.map((a, i) => {
    const f = factorsOf(a.expr).map(colOf);
    return `${d.agg(a.fn, f.join(" * "))} AS ${names[q.keys.length + 1 + i]}`;
  });
  const defs = [
    ...q.keys.map((p, i) => ({ sql: d.key(p), name: names[i], note: `level of ${p.column}` })),
    ...[...cols.values()].map((c) => ({
      sql: d.name === "clickhouse" && !isDouble(c.expr)
        ? `toFloat64(${renderExpr(c.expr, d, schema)})`
        : renderExpr(c.expr, d, schema),
      name: c.name,
      note: describeExpr(c.expr),
    })),
  ];
  const where: string[] = [];
  if (from.where) {
    const problem = whereProblem(from.where, d.name);
    if (problem) throw new RangeError(`'where' condition "${from.where}": ${problem}`);
    // its own lines: a trailing -- comment must not swallow the parenthesis
    where.push(from.where.includes("--") ? `(${from.where}\n)` : `(${from.where})`);
  }
  if (q.filtered) where.push(...renderFilter(filter, d, schema));
  const table = tableName(from.table, d);
  const whereSql = where.length ? `WHERE ${where.join("\n  AND ")}` : "";
  const keyNames = names.slice(0, q.keys.length);
  const outer = [...keyNames, `${d.count} AS lmer_n`, ...aggs];
  const group = keyNames.length ? `GROUP BY ${keyNames.join(", ")}` : "";
  const lines: string[] = [];
  if (d.name === "clickhouse") {
    if (defs.length) {
      lines.push("WITH");
      defs.forEach((x, i) =>
        lines.push(`  ${x.sql} AS ${x.name}${i < defs.length - 1 ? "," : ""} ${comment(x.note)}`)
      );
    }
    lines.push(`SELECT ${outer.join(",\n  ")}`, `FROM ${table}`);
    if (whereSql) lines.push(whereSql);
  } else {
    lines.push(`SELECT ${outer.join(",\n  ")}`);
    if (defs.length) {
      lines.push("FROM (", "  SELECT");
      defs.forEach((x, i) =>
        lines.push(`    ${x.sql} AS ${x.name}${i < defs.length - 1 ? "," : ""} ${comment(x.note)}`)
      );
      lines.push(`  FROM ${table}`);
      if (whereSql) lines.push("  " + whereSql.replace(/\n/g, "\n  "));
      lines.push(") AS lmer_rows");
    } else {
      lines.push(`FROM ${table}`);
      if (whereSql) lines.push(whereSql);
    }
  }
  if (group) lines.push(group);
  if (d.suffix) lines.push(d.suffix);
  return lines.join("\n");
}
