/**
 * lmer on a SQL table (issue 14): the aggregation plan written as SQL, run
 * by ClickHouse on a Distributed table over a two-shard cluster on this
 * machine (tools/clickhouse/start.sh), and by PostgreSQL for the second
 * dialect (tools/postgres/start.sh); the fit from the returned blocks must
 * equal the in-memory fit of the same rows: criterion within 1e-10
 * relative, β within 1e-8, θ, σ and the standard errors within 1e-6
 * (relative to max(1, |value|)). Data go to ClickHouse in RowBinary, so
 * both fits see the same doubles.
 *
 * The servers: .ci/run starts both and passes their addresses in
 * LMER_CLICKHOUSE_URLS / LMER_POSTGRES; without them this test runs the
 * start scripts itself (installing Debian's packages when it may). A test
 * that needs a server that cannot be started is skipped with the reason
 * printed.
 */
import assert from "node:assert/strict";
import { anova, createData, dataset, lmer } from "../mod.ts";
import type { LinearMixedModel } from "../mod.ts";
import {
  ClickHouseError,
  isSqlTable,
  lmerFromSql,
  lmerSql,
  loadClickHouseTable,
  sqlTable,
} from "../advanced.ts";
import type { ClickHouseConnection, SqlRow } from "../advanced.ts";
import { decodeRowBinary } from "../lib/sources/clickhouse.ts";
import {
  clickhouseDialect,
  postgresDialect,
  renderExpr,
  renderQuery,
} from "../lib/sources/sql_dialect.ts";
import { UnsupportedTermError } from "../lib/sources/plan.ts";
import { toFrame } from "../lib/data/frame.ts";
import type { DataLike } from "../lib/data/frame.ts";
import { assertAllClose as close } from "./helpers/numeric.ts";

const ROOT = new URL("../", import.meta.url);
const decoder = new TextDecoder();

/** Run a start script; its last stdout line, or the reason it failed. */
async function startScript(
  path: string,
  args: string[],
): Promise<{ line: string } | { reason: string }> {
  try {
    const out = await new Deno.Command("bash", {
      args: [path, ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = decoder.decode(out.stdout).trim().split("\n");
    if (out.success) return { line: lines[lines.length - 1] };
    const err = decoder.decode(out.stderr).trim().split("\n");
    return { reason: err[err.length - 1] || `exit code ${out.code}` };
  } catch (e) {
    return { reason: (e as Error).message };
  }
}

const ch: { shards: ClickHouseConnection[] } | { reason: string } = await (async () => {
  const env = Deno.env.get("LMER_CLICKHOUSE_URLS");
  const r = env ? { line: env } : await startScript("tools/clickhouse/start.sh", ["--install"]);
  if ("reason" in r) return r;
  const urls = r.line.split(/\s+/).filter((u) => u);
  if (urls.length !== 2) return { reason: `expected two shard URLs, got "${r.line}"` };
  return { shards: urls.map((url) => ({ url })) };
})();
if ("reason" in ch) {
  console.warn(`clickhouse_source_test: ClickHouse tests skipped: ${ch.reason}`);
}

const pg: { conn: string } | { reason: string } = await (async () => {
  const env = Deno.env.get("LMER_POSTGRES");
  const r = env ? { line: env } : await startScript("tools/postgres/start.sh", ["--install"]);
  return "reason" in r ? r : { conn: r.line };
})();
if ("reason" in pg) {
  console.warn(`clickhouse_source_test: PostgreSQL runs skipped: ${pg.reason}`);
}

const CLUSTER = "lmer_two_shards";
const suffix = `${Deno.pid}`;

/** Load data into a Distributed table over both shards; returns its name. */
async function loadCH(name: string, data: DataLike, blockRows = 64): Promise<string> {
  if ("reason" in ch) throw new Error(ch.reason);
  const table = `t_${name}_${suffix}`;
  const r = await loadClickHouseTable(ch.shards[0], table, data, {
    shards: ch.shards,
    cluster: CLUSTER,
    blockRows,
  });
  // the rows really are on both shards
  assert.equal(r.rowsPerShard.length, 2);
  assert.ok(r.rowsPerShard.every((k) => k > 0), `rows per shard ${r.rowsPerShard}`);
  return table;
}

async function dropCH(table: string): Promise<void> {
  if ("reason" in ch) return;
  const post = async (url: string, sql: string) => {
    const res = await fetch(url, { method: "POST", body: sql });
    await res.arrayBuffer();
  };
  await post(ch.shards[0].url, `DROP TABLE IF EXISTS ${table}`);
  for (const s of ch.shards) await post(s.url, `DROP TABLE IF EXISTS ${table}_local`);
}

function chSource(table: string, where?: string) {
  if ("reason" in ch) throw new Error(ch.reason);
  return sqlTable({ engine: "clickhouse", url: ch.shards[0].url, table, where });
}

/** The agreement: criterion 1e-10 relative, β 1e-8, θ, σ, SEs 1e-6. */
function assertSameFit(m: LinearMixedModel, ref: LinearMixedModel): void {
  const f = m.optSummary.fmin, f0 = ref.optSummary.fmin;
  assert.ok(
    Math.abs(f - f0) <= 1e-10 * Math.abs(f0),
    `criterion ${f} vs ${f0} (relative ${(Math.abs(f - f0) / Math.abs(f0)).toExponential(2)})`,
  );
  assert.deepEqual(Object.keys(m.fixef()), Object.keys(ref.fixef()));
  close(Object.values(m.fixef()), Object.values(ref.fixef()), 1e-8, "β");
  close(m.theta, ref.theta, 1e-6, "θ");
  close([m.sigma], [ref.sigma], 1e-6, "σ");
  close(m.coefRows().map((r) => r.stdError), ref.coefRows().map((r) => r.stdError), 1e-6, "SE");
  assert.equal(m.nobs, ref.nobs);
  assert.deepEqual(m.ngrps(), ref.ngrps());
}

const SLEEP = "Reaction ~ Days + (Days | Subject)";
const CLARK = "y ~ x + (x | cluster)";
const ignoreCH = "reason" in ch;
const ignorePG = "reason" in pg;

Deno.test({
  name: "sleepstudy from a Distributed ClickHouse table equals the in-memory fit",
  ignore: ignoreCH,
  fn: async () => {
    const data = dataset("sleepstudy");
    const table = await loadCH("sleepstudy", data);
    try {
      const src = chSource(table);
      const m = await lmer(SLEEP, src);
      assertSameFit(m, lmer(SLEEP, data));
      // ML too
      assertSameFit(await lmer(SLEEP, src, { REML: false }), lmer(SLEEP, data, { REML: false }));
      // the aggregation ran on the Distributed table: each stage's queries were sent
      assert.ok(src.log.some((l) => l.id === "term:0"));
      assert.ok(src.log.some((l) => l.id === "ff"));
      // post-fit methods that need rows say so
      assert.throws(() => m.fitted(), /needs the rows/);
      assert.throws(() => m.residuals(), /needs the rows/);
      // the summary prints (a notebook shows the model): lme4's text after
      // the scaled residuals, which it says need the rows
      const ref = lmer(SLEEP, data);
      const text = String(m.summary()), refText = String(ref.summary());
      assert.match(text, /^Scaled residuals: not available \(they need the rows/m);
      assert.match(text, new RegExp(`Data: ${table}`));
      const tail = (t: string) => t.slice(t.indexOf("Random effects:"));
      assert.equal(tail(text), tail(refText));
      // predictions on new data need no rows
      const newdata = { Days: [0, 4.5, 9], Subject: ["308", "335", "372"] };
      close(m.predict(newdata), ref.predict(newdata), 1e-8, "predict(newdata)");
      // profile intervals from the blocks; anova's refit needs the response
      const ci = (x: LinearMixedModel) => {
        const t = x.confint();
        return [...t.getColumn("2.5 %").toArray(), ...t.getColumn("97.5 %").toArray()] as number[];
      };
      close(ci(m), ci(ref), 1e-5, "profile confint");
      assert.throws(() => anova(m, m), /needs the rows/);
    } finally {
      await dropCH(table);
    }
  },
});

Deno.test({
  name: "Clark's createData() from ClickHouse equals the in-memory fit",
  ignore: ignoreCH,
  fn: async () => {
    const data = createData({ seed: 888 });
    const table = await loadCH("clark", data, 100);
    try {
      const m = await lmerFromSql(CLARK, chSource(table));
      const ref = lmer(CLARK, data);
      assertSameFit(m, ref);
      assert.equal(m.nobs, 1000);
    } finally {
      await dropCH(table);
    }
  },
});

Deno.test({
  name:
    "a 1e6-row simulation (10,000 clusters, random slopes) from ClickHouse equals the in-memory fit",
  ignore: ignoreCH,
  fn: async () => {
    const data = createData({ obsPerCluster: 100, nCluster: 10_000, seed: 2024 });
    const table = await loadCH("sim1e6", data, 65_536);
    try {
      const m = await lmerFromSql(CLARK, chSource(table));
      assertSameFit(m, lmer(CLARK, data));
      assert.equal(m.nobs, 1_000_000);
    } finally {
      await dropCH(table);
    }
  },
});

Deno.test({
  name: "InstEval (73,421 rows, three crossed factors) from ClickHouse equals the in-memory fit",
  ignore: ignoreCH,
  fn: async () => {
    const data = dataset("InstEval");
    const table = await loadCH("insteval", data, 4096);
    try {
      const f = "y ~ service + (1 | s) + (1 | d) + (1 | dept)";
      const src = chSource(table);
      const m = await lmer(f, src);
      assertSameFit(m, lmer(f, data));
      // three crossed terms: three pairs of levels, each its own GROUP BY
      assert.equal(src.log.filter((l) => l.id.startsWith("pair:")).length, 3);
      // the notebook display of the model (lme4's text and HTML tables)
      const bundle = (m as unknown as Record<symbol, () => Record<string, string>>)[
        Symbol.for("Jupyter.display")
      ]();
      assert.match(bundle["text/plain"], /Scaled residuals: not available/);
      assert.match(bundle["text/html"], /need the rows/);
    } finally {
      await dropCH(table);
    }
  },
});

/** sleepstudy with missing values in every kind of column, and a text factor. */
function sleepWithGaps(): Record<string, (number | string | null)[]> {
  const f = toFrame(dataset("sleepstudy"));
  const get = (n: string) => f.columns.get(n)!;
  const r = get("Reaction"), d = get("Days"), s = get("Subject");
  if (r.kind !== "numeric" || d.kind !== "numeric" || s.kind !== "factor") throw new Error("types");
  const out: Record<string, (number | string | null)[]> = {
    Reaction: [],
    Days: [],
    Subject: [],
    phase: [],
  };
  for (let i = 0; i < f.nrow; i++) {
    out.Reaction.push(i % 17 === 3 ? null : r.values[i]);
    out.Days.push(i % 23 === 5 ? null : d.values[i]);
    out.Subject.push(i % 29 === 7 ? null : s.levels[s.codes[i]]);
    out.phase.push(d.values[i] < 3 ? "early" : d.values[i] < 7 ? "middle" : "late");
  }
  return out;
}

Deno.test({
  name: "ClickHouse: missing values dropped as R does; text factors, interactions, log()",
  ignore: ignoreCH,
  fn: async () => {
    const data = sleepWithGaps();
    const table = await loadCH("gaps", data, 40);
    try {
      const src = chSource(table);
      for (
        const f of [
          SLEEP,
          "Reaction ~ phase * Days + log(Days + 1) + (1 | Subject)",
          "log(Reaction) ~ I(Days^2) + sqrt(Days) + (1 | Subject) + (0 + Days | Subject)",
        ]
      ) {
        const ref = lmer(f, data);
        const m = await lmer(f, src);
        assertSameFit(m, ref);
        assert.deepEqual(m.frameMessages, ref.frameMessages, f);
      }
      assert.ok(
        lmer(SLEEP, data).frameMessages.some((x) =>
          /observations deleted due to missingness/.test(x)
        ),
      );
    } finally {
      await dropCH(table);
    }
  },
});

Deno.test({
  name: "ClickHouse: a 'where' condition selects rows as filtering them in memory does",
  ignore: ignoreCH,
  fn: async () => {
    const data = dataset("sleepstudy");
    const table = await loadCH("where", data);
    try {
      const m = await lmer(SLEEP, chSource(table, "Days >= 2"));
      const f = toFrame(data);
      const days = f.columns.get("Days"), re = f.columns.get("Reaction");
      const subj = f.columns.get("Subject");
      if (days?.kind !== "numeric" || re?.kind !== "numeric" || subj?.kind !== "factor") {
        throw new Error("sleepstudy's columns");
      }
      const keep: Record<string, (number | string)[]> = { Reaction: [], Days: [], Subject: [] };
      for (let i = 0; i < f.nrow; i++) {
        if (!(days.values[i] >= 2)) continue;
        keep.Reaction.push(re.values[i]);
        keep.Days.push(days.values[i]);
        keep.Subject.push(subj.levels[subj.codes[i]]);
      }
      const ref = lmer(SLEEP, keep);
      assert.equal(m.nobs, 144);
      assertSameFit(m, ref);
    } finally {
      await dropCH(table);
    }
  },
});

Deno.test({
  name: "ClickHouse: crossed (Penicillin) and nested (Pastes) grouping; the generated SQL",
  ignore: ignoreCH,
  fn: async () => {
    const pen = dataset("Penicillin"), pastes = dataset("Pastes");
    const tPen = await loadCH("penicillin", pen, 30);
    const tPastes = await loadCH("pastes", pastes, 20);
    try {
      const crossed = "diameter ~ 1 + (1 | plate) + (1 | sample)";
      const nested = "strength ~ 1 + (1 | batch/cask)";
      assertSameFit(await lmer(crossed, chSource(tPen)), lmer(crossed, pen));
      assertSameFit(await lmer(nested, chSource(tPastes)), lmer(nested, pastes));

      // crossed: one GROUP BY per term and one GROUP BY (plate, sample) for Z_2ᵀZ_1
      const sc = await lmerSql(crossed, chSource(tPen));
      assert.deepEqual(sc.queries.map((q) => `${q.stage}:${q.id}`), [
        "1:rows",
        "1:used",
        "1:levels:plate",
        "1:levels:sample",
        "2:moments",
        "3:term:0",
        "3:term:1",
        "3:pair:1:0",
        "3:ff",
      ]);
      const pair = sc.queries.find((q) => q.id === "pair:1:0")!.sql;
      assert.match(pair, /toString\(assumeNotNull\(`sample`\)\) AS lmer_k0/);
      assert.match(pair, /toString\(assumeNotNull\(`plate`\)\) AS lmer_k1/);
      assert.match(pair, /GROUP BY lmer_k0, lmer_k1\nFORMAT RowBinary$/);
      assert.match(pair, new RegExp(`FROM \`${tPen}\`\nWHERE`));
      const term0 = sc.queries.find((q) => q.id === "term:0")!.sql;
      assert.match(term0, /sum\(lmer_c1\) AS lmer_fz1_0/);
      assert.match(term0, /GROUP BY lmer_k0\n/);
      // the centred response: y − ȳ with ȳ as the exact bytes of the double
      assert.match(term0, /- reinterpretAsFloat64\(unhex\('[0-9a-f]{16}'\)\) \/\* 2[0-9.]+ \*\//);
      assert.match(String(sc), /^-- stage 1: rows\n/);
      // a notebook shows the queries
      const bundle = (sc as unknown as Record<symbol, () => Record<string, string>>)[
        Symbol.for("Jupyter.display")
      ]();
      assert.equal(bundle["text/plain"], String(sc));
      assert.match(bundle["text/html"], /^<pre>-- stage 1: rows\n/);

      // nested: the interaction's occurring combinations, and the pair of
      // terms grouped by both columns
      const sn = await lmerSql(nested, chSource(tPastes));
      const ids = sn.queries.map((q) => q.id);
      assert.ok(ids.includes("levels:cask:batch") || ids.includes("levels:batch:cask"), `${ids}`);
      const np = sn.queries.find((q) => q.id.startsWith("pair:"))!.sql;
      assert.match(np, /GROUP BY lmer_k0, lmer_k1\n/);
      assert.match(np, /`batch`/);
      assert.match(np, /`cask`/);
    } finally {
      await dropCH(tPen);
      await dropCH(tPastes);
    }
  },
});

Deno.test({
  name: "ClickHouse: bad input gets clear errors",
  ignore: ignoreCH,
  fn: async () => {
    const data = dataset("sleepstudy");
    const table = await loadCH("bad", data);
    try {
      const src = chSource(table);
      await assert.rejects(
        lmer("Reaction ~ poly(Days, 2) + (1 | Subject)", src),
        (e: unknown) =>
          e instanceof UnsupportedTermError && e.term === "poly(Days, 2)" &&
          /term 'poly\(Days, 2\)' cannot be computed by the data source/.test(e.message),
      );
      await assert.rejects(
        lmer("Reaction ~ Dayz + (1 | Subject)", src),
        /the data source has no column 'Dayz'/,
      );
      await assert.rejects(
        lmer(SLEEP, chSource(`no_such_table_${suffix}`)),
        (e: unknown) => e instanceof ClickHouseError && /doesn't exist/.test(e.message),
      );
      await assert.rejects(
        lmer(SLEEP, chSource(table, "Dayz > 1")),
        (e: unknown) => e instanceof ClickHouseError && /Dayz/.test(e.message),
      );
      await assert.rejects(
        lmer(SLEEP, src, { weights: "Days" }),
        /weights and offset are not supported for a SQL table/,
      );
      await assert.rejects(lmer(SLEEP, src, { REML: "no" as unknown as boolean }), /'REML'/);
      await assert.rejects(
        lmer(SLEEP, chSource(table, "Days > 100")),
        /no complete rows|data has no rows/,
      );
    } finally {
      await dropCH(table);
    }
  },
});

Deno.test("sqlTable: options are checked, with messages naming the option", async () => {
  const url = "http://127.0.0.1:9";
  assert.throws(
    () => sqlTable({ engine: "mysql" as "postgres", table: "t" }),
    /'engine' must be "clickhouse" or "postgres"/,
  );
  assert.throws(
    () => sqlTable({ engine: "clickhouse", table: "", url }),
    /'table' must be a table name/,
  );
  assert.throws(() => sqlTable({ engine: "clickhouse", table: "t" }), /needs 'url'/);
  assert.throws(
    () => sqlTable({ engine: "clickhouse", table: "t", url: "ftp://x" }),
    /'url' must be an http\(s\) URL/,
  );
  assert.throws(() => sqlTable({ engine: "postgres", table: "t" }), /needs 'run'/);
  assert.throws(
    () => sqlTable({ engine: "clickhouse", table: "t", url, tabel: "x" } as never),
    /tabel/,
  );
  assert.ok(isSqlTable(sqlTable({ engine: "clickhouse", table: "t", url })));
  await assert.rejects(lmerSql(SLEEP, { table: "t" } as never), /made by sqlTable/);
  // an engine that does not answer
  await assert.rejects(
    lmer(SLEEP, sqlTable({ engine: "clickhouse", table: "t", url: "http://127.0.0.1:1" })),
    (e: unknown) => e instanceof ClickHouseError && /cannot reach ClickHouse/.test(e.message),
  );
  // a user's client that returns rows of the wrong shape
  const bad = sqlTable({
    engine: "postgres",
    table: "t",
    schema: { Reaction: "number", Days: "number", Subject: "string" },
    run: () => Promise.resolve([["x"]]),
  });
  await assert.rejects(
    lmer(SLEEP, bad),
    /'run' must return rows as arrays of 1 values|not a number/,
  );
});

Deno.test("the dialects: exact literals, R's NaN/Inf semantics, RowBinary decoding", () => {
  // ClickHouse 18.16 reads decimal text inexactly: non-integers go as bytes
  assert.equal(clickhouseDialect.number(3), "3");
  assert.equal(clickhouseDialect.number(4.5), "4.5");
  assert.equal(
    clickhouseDialect.number(0.1),
    "reinterpretAsFloat64(unhex('9a9999999999b93f')) /* 0.1 */",
  );
  assert.equal(postgresDialect.number(0.1), "0.1::float8");
  const x = { op: "col", column: "x" } as const;
  assert.equal(
    renderExpr({ op: "fn", fn: "log", arg: x }, postgresDialect, { x: "number" }),
    `(CASE WHEN CAST("x" AS float8) > 0 THEN ln(CAST("x" AS float8)) WHEN CAST("x" AS float8) = 0 ` +
      `THEN '-Infinity'::float8 ELSE 'NaN'::float8 END)`,
  );
  assert.equal(
    renderExpr({ op: "fn", fn: "log", arg: x }, clickhouseDialect, { x: "number" }),
    "log(toFloat64(assumeNotNull(`x`)))",
  );
  const q = renderQuery(
    {
      id: "term:0",
      filtered: true,
      keys: [{ column: "g", type: "string" }],
      aggs: [{ name: "zz0_0", fn: "sum", expr: { op: "mul", left: x, right: x } }],
    },
    postgresDialect,
    { table: "db.t", where: "x < 3" },
    [{ kind: "number", expr: x }, { kind: "key", part: { column: "g", type: "string" } }],
    { x: "number", g: "string" },
  );
  assert.equal(
    q,
    [
      "SELECT lmer_k0,",
      "  count(*) AS lmer_n,",
      "  sum(lmer_c0 * lmer_c0) AS lmer_zz0_0",
      "FROM (",
      "  SELECT",
      `    CAST("g" AS text) AS lmer_k0, -- level of g`,
      `    CAST("x" AS float8) AS lmer_c0 -- x`,
      `  FROM "db"."t"`,
      "  WHERE (x < 3)",
      `    AND "x" IS NOT NULL`,
      `    AND "g" IS NOT NULL`,
      `    AND CAST("x" AS float8) <> 'NaN'::float8`,
      ") AS lmer_rows",
      "GROUP BY lmer_k0",
    ].join("\n"),
  );
  assert.throws(
    () =>
      renderQuery(
        { id: "ff", filtered: false, keys: [], aggs: [] },
        postgresDialect,
        {
          table: "t",
        },
        [],
        { lmer_x: "number" },
      ),
    /column 'lmer_x' of the table: names starting with 'lmer_'/,
  );
  // ("a", 1.0), then a NULL string and 2^53 as UInt64
  const bytes = new Uint8Array([
    1,
    0x61,
    0,
    0,
    0,
    0,
    0,
    0,
    0xf0,
    0x3f,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0x20,
    0,
  ]);
  assert.deepEqual(decodeRowBinary(bytes.subarray(0, 10), ["String", "Float64"]), [["a", 1]]);
  assert.deepEqual(decodeRowBinary(bytes.subarray(10), ["Nullable(String)", "UInt64"]), [[
    null,
    2 ** 53,
  ]]);
  assert.throws(() => decodeRowBinary(bytes.subarray(0, 6), ["String", "Float64"]), /ends early/);
});

// ---------------------------------------------------------------- PostgreSQL

/** psql with the test server's connection string. */
async function psql(args: string[], stdin?: string): Promise<string> {
  if ("reason" in pg) throw new Error(pg.reason);
  const cmd = new Deno.Command("psql", {
    args: [pg.conn, "-X", "-q", "-v", "ON_ERROR_STOP=1", ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (!out.success) throw new Error(`psql: ${decoder.decode(out.stderr).trim()}`);
  return decoder.decode(out.stdout);
}

/** Rows of CSV text (RFC 4180 quoting; an unquoted empty field is NULL). */
function parseCsvRows(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [], field = "", quoted = false, inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"' && text[i + 1] === '"') (field += '"', i++);
      else if (c === '"') inQuotes = false;
      else field += c;
    } else if (c === '"') (inQuotes = true, quoted = true);
    else if (c === "," || c === "\n") {
      row.push(field === "" && !quoted ? null : field);
      field = "";
      quoted = false;
      if (c === "\n") (rows.push(row), row = []);
    } else field += c;
  }
  return rows;
}

/** Load data into a PostgreSQL table: float8 and text columns, numbers as shortest decimals. */
async function loadPG(name: string, data: DataLike): Promise<string> {
  const table = `t_${name}_${suffix}`;
  const f = toFrame(data);
  const cols = f.names.map((n) => f.columns.get(n)!);
  const ddl = f.names.map((n, j) => `"${n}" ${cols[j].kind === "numeric" ? "float8" : "text"}`);
  await psql(["-c", `DROP TABLE IF EXISTS ${table}`, "-c", `CREATE TABLE ${table} (${ddl})`]);
  const lines: string[] = [];
  for (let i = 0; i < f.nrow; i++) {
    lines.push(
      cols.map((c) => {
        if (c.kind === "numeric") return Number.isNaN(c.values[i]) ? "" : String(c.values[i]);
        return c.codes[i] < 0 ? "" : `"${c.levels[c.codes[i]].replace(/"/g, '""')}"`;
      }).join(","),
    );
  }
  await psql(["-c", `COPY ${table} FROM STDIN WITH (FORMAT csv)`], lines.join("\n") + "\n");
  return table;
}

function pgSource(table: string) {
  const run = async (sql: string): Promise<SqlRow[]> =>
    parseCsvRows(await psql(["-c", `COPY (${sql}) TO STDOUT WITH (FORMAT csv)`]));
  return sqlTable({ engine: "postgres", table, run });
}

Deno.test({
  name: "PostgreSQL dialect: the same SQL plan run by PostgreSQL equals the in-memory fit",
  ignore: ignorePG,
  fn: async () => {
    const cases: [string, DataLike, string][] = [
      ["gaps", sleepWithGaps(), "Reaction ~ phase * Days + log(Days + 1) + (1 | Subject)"],
      ["penicillin", dataset("Penicillin"), "diameter ~ 1 + (1 | plate) + (1 | sample)"],
      ["pastes", dataset("Pastes"), "strength ~ 1 + (1 | batch/cask)"],
      ["clark", createData({ seed: 888 }), CLARK],
    ];
    // the cases run side by side (each psql call costs ~0.3 s of start-up here)
    await Promise.all(cases.map(async ([name, data, f]) => {
      const table = await loadPG(name, data);
      try {
        const src = pgSource(table);
        assertSameFit(await lmer(f, src), lmer(f, data));
        if (name === "penicillin") {
          const sql = await lmerSql(f, src);
          const pair = sql.queries.find((q) => q.id === "pair:1:0")!.sql;
          assert.match(pair, /GROUP BY lmer_k0, lmer_k1$/);
          assert.match(pair, /CAST\("sample" AS text\) AS lmer_k0/);
          assert.match(pair, /\) AS lmer_rows\n/);
        }
      } finally {
        await psql(["-c", `DROP TABLE IF EXISTS ${table}`]);
      }
    }));
  },
});
