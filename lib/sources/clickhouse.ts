/**
 * ClickHouse over its HTTP interface, with plain `fetch`: SQL in the POST
 * body, results and uploads in RowBinary (ClickHouse's row-wise binary
 * format: little-endian numbers, strings as a varint length and bytes, a
 * Nullable value as a 0/1 null byte and then the value).
 *
 * Numbers travel in binary both ways because ClickHouse 18.16 (Debian's
 * package) parses decimal text floats inexactly: about 1% of values come
 * out one ulp off, which would make a fit from ClickHouse differ from the
 * in-memory fit of the same data by more than summation order does.
 * @module
 */
import { type DataLike, type Frame, toFrame } from "../data/frame.ts";

/** Where a ClickHouse server answers and as whom. */
export interface ClickHouseConnection {
  /** The HTTP interface, e.g. "http://127.0.0.1:8123". */
  readonly url: string;
  /** User (default: the server's "default"). */
  readonly user?: string;
  /** Password of that user. */
  readonly password?: string;
  /** Database the unqualified table names refer to (default: the server's). */
  readonly database?: string;
  /** Query settings sent with every request, e.g. `{ max_threads: 2 }`. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/** An error ClickHouse reported (its code and message), or a failed request. */
export class ClickHouseError extends Error {
  /** ClickHouse's error code ("Code: 60" → 60), when it sent one. */
  readonly code: number | undefined;
  /** An error with ClickHouse's message and code. */
  constructor(message: string, code?: number) {
    super(message);
    this.name = "ClickHouseError";
    this.code = code;
  }
}

function requestUrl(conn: ClickHouseConnection, params: Record<string, string>): string {
  let u: URL;
  try {
    u = new URL(conn.url);
  } catch {
    throw new TypeError(`clickhouse: 'url' must be an http(s) URL, got "${conn.url}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`clickhouse: 'url' must be an http(s) URL, got "${conn.url}"`);
  }
  // the HTTP interface prepends a `query` parameter to the body, and the
  // connection's own parameters have options of their own: neither may come
  // in through the URL or the settings
  const own = ["query", "database", "user", "password", "default_format"];
  for (const k of own) {
    if (u.searchParams.has(k)) {
      throw new RangeError(
        `clickhouse: the url must not carry '${k}' (got "${conn.url}")` +
          (k === "query" ? "" : `: use the '${k}' option`),
      );
    }
    if (conn.settings && Object.hasOwn(conn.settings, k)) {
      throw new RangeError(
        `clickhouse: '${k}' is not a query setting` +
          (k === "query" ? "" : `: use the connection's '${k}' option`),
      );
    }
  }
  if (conn.database) u.searchParams.set("database", conn.database);
  for (const [k, v] of Object.entries(conn.settings ?? {})) u.searchParams.set(k, String(v));
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

async function post(
  conn: ClickHouseConnection,
  body: Uint8Array | string,
  params: Record<string, string>,
  what: string,
): Promise<Uint8Array> {
  const headers: Record<string, string> = {};
  if (conn.user !== undefined) headers["X-ClickHouse-User"] = conn.user;
  if (conn.password !== undefined) headers["X-ClickHouse-Key"] = conn.password;
  let res: Response;
  try {
    res = await fetch(requestUrl(conn, params), {
      method: "POST",
      headers,
      body: body as BodyInit,
    });
  } catch (e) {
    throw new ClickHouseError(
      `cannot reach ClickHouse at ${conn.url} (${what}): ${(e as Error).message}`,
    );
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) {
    const text = new TextDecoder().decode(bytes).trim();
    const m = /^Code: (\d+)/.exec(text);
    // "Code: 60, e.displayText() = DB::Exception: Table … doesn't exist., e.what() = …"
    const msg = text.replace(/^Code: \d+, e\.displayText\(\) = /, "").replace(
      /, e\.what\(\) = .*$/s,
      "",
    );
    throw new ClickHouseError(
      `ClickHouse at ${conn.url} refused ${what}: ${msg.slice(0, 600)}`,
      m ? Number(m[1]) : undefined,
    );
  }
  return bytes;
}

/**
 * Run one statement and return the response's bytes (for a SELECT, the
 * rows in the FORMAT the statement names).
 *
 * @example
 * ```ts ignore
 * const bytes = await clickhouseQuery({ url: "http://127.0.0.1:8123" }, "SELECT 1 FORMAT RowBinary");
 * ```
 */
export function clickhouseQuery(conn: ClickHouseConnection, sql: string): Promise<Uint8Array> {
  return post(conn, sql, {}, `the query ${abbreviate(sql)}`);
}

/**
 * Run one statement and return the response as text (DDL, or a SELECT in a
 * text format).
 *
 * @example
 * ```ts ignore
 * await clickhouseText({ url: "http://127.0.0.1:8123" }, "SELECT version()"); // "18.16.1\n"
 * ```
 */
export async function clickhouseText(conn: ClickHouseConnection, sql: string): Promise<string> {
  return new TextDecoder().decode(await clickhouseQuery(conn, sql));
}

/** The first words of a statement, for messages. */
function abbreviate(sql: string): string {
  const s = sql.replace(/\s+/g, " ").trim();
  return `"${s.length > 80 ? s.slice(0, 77) + "..." : s}"`;
}

// ---------------------------------------------------------------------------
// RowBinary

/** The column types the library writes and reads. */
export type RowBinaryType =
  | "Float64"
  | "Nullable(Float64)"
  | "String"
  | "Nullable(String)"
  | "UInt64"
  | "Int64";

/** A reader over RowBinary bytes; each call consumes one value. */
export class RowBinaryReader {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private pos = 0;
  // fatal: invalid UTF-8 must not become U+FFFD (two levels would merge, and
  // the SQL's lookups of the decoded text would match no row)
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Whether every byte has been read. */
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }
  private need(k: number): void {
    if (this.pos + k > this.bytes.length) {
      throw new ClickHouseError(
        `RowBinary result ends early (byte ${this.pos} of ${this.bytes.length}, ${k} more needed):` +
          " the result's columns do not have the types the query asked for",
      );
    }
  }
  /** A Float64. */
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** A UInt8. */
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  /** A UInt64 (exact below 2⁵³). */
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return Number(v);
  }
  /** An Int64 (exact within ±2⁵³). */
  i64(): number {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return Number(v);
  }
  /** A String (UTF-8). */
  str(): string {
    let len = 0, shift = 0;
    for (;;) {
      this.need(1);
      const b = this.bytes[this.pos++];
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    this.need(len);
    const raw = this.bytes.subarray(this.pos, this.pos + len);
    let s: string;
    try {
      s = this.decoder.decode(raw);
    } catch {
      const hex = [...raw.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new ClickHouseError(
        `a text value in the result is not valid UTF-8 (bytes ${hex}${len > 16 ? " …" : ""}): ` +
          "lmer reads text columns as UTF-8 levels; convert the column in a view (e.g. hex(column))",
      );
    }
    this.pos += len;
    return s;
  }
  /** A Nullable's null flag: true when the value is NULL (and no value follows). */
  isNull(): boolean {
    this.need(1);
    return this.bytes[this.pos++] === 1;
  }
  /** One value of a given type; NULL as null. */
  read(type: RowBinaryType): number | string | null {
    switch (type) {
      case "Float64":
        return this.f64();
      case "Nullable(Float64)":
        return this.isNull() ? null : this.f64();
      case "String":
        return this.str();
      case "Nullable(String)":
        return this.isNull() ? null : this.str();
      case "UInt64":
        return this.u64();
      case "Int64":
        return this.i64();
    }
  }
}

/**
 * Decode a RowBinary result whose columns have the given types, into rows.
 *
 * @example
 * ```ts
 * import { decodeRowBinary } from "./clickhouse.ts";
 * const b = new Uint8Array([1, 0x61, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // ("a", 1.0)
 * decodeRowBinary(b, ["String", "Float64"]); // [["a", 1]]
 * ```
 */
export function decodeRowBinary(
  bytes: Uint8Array,
  types: readonly RowBinaryType[],
): (number | string | null)[][] {
  const r = new RowBinaryReader(bytes);
  const rows: (number | string | null)[][] = [];
  while (!r.done) rows.push(types.map((t) => r.read(t)));
  return rows;
}

/** A growable byte buffer for RowBinary uploads. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private readonly encoder = new TextEncoder();
  private reserve(k: number): void {
    if (this.length + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  str(s: string): void {
    const b = this.encoder.encode(s);
    this.reserve(b.length + 10);
    let len = b.length;
    while (len >= 0x80) {
      this.buf[this.length++] = (len & 0x7f) | 0x80;
      len = Math.floor(len / 128);
    }
    this.buf[this.length++] = len;
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

// ---------------------------------------------------------------------------
// Loading data

/** Options of {@link loadClickHouseTable}. */
export interface LoadOptions {
  /**
   * The servers of the cluster's shards, in the cluster's order (default:
   * the connection's server alone). Rows are dealt out to the shards' local
   * tables in consecutive blocks of `blockRows`, round robin.
   */
  readonly shards?: readonly ClickHouseConnection[];
  /** The cluster (remote_servers) of the Distributed table (needed with more than one shard). */
  readonly cluster?: string;
  /** Rows per block sent to one shard (default 65,536). */
  readonly blockRows?: number;
  /**
   * Drop and re-create the tables if they exist (default true); false
   * appends the rows to existing tables (created when missing), e.g. to
   * upload data in chunks.
   */
  readonly replace?: boolean;
}

/** What {@link loadClickHouseTable} created. */
export interface LoadedTable {
  /** The table to query: the Distributed table, or the local table with one shard. */
  readonly table: string;
  /** The local table on each shard. */
  readonly localTable: string;
  /** Rows sent to each shard. */
  readonly rowsPerShard: readonly number[];
  /** The ClickHouse column types, by column name. */
  readonly columns: Readonly<Record<string, RowBinaryType>>;
}

/** A ClickHouse identifier, back-quoted. */
export function clickhouseIdent(name: string): string {
  return "`" + name.replace(/\\/g, "\\\\").replace(/`/g, "\\`") + "`";
}

/**
 * Upload data (a polars DataFrame, rows, or columns) to ClickHouse: numeric
 * columns as Nullable(Float64), factors and strings as Nullable(String)
 * (their labels), missing values as NULL, all in RowBinary. With several
 * shards, each shard gets a MergeTree table `<table>_local` and the first
 * shard a Distributed table `<table>` over the cluster, so queries on
 * `<table>` run on every shard and are merged by the first.
 *
 * @example
 * ```ts ignore
 * const shards = [{ url: "http://127.0.0.1:18123" }, { url: "http://127.0.0.1:18133" }];
 * await loadClickHouseTable(shards[0], "sleepstudy", dataset("sleepstudy"), {
 *   shards, cluster: "lmer_two_shards",
 * });
 * ```
 */
export async function loadClickHouseTable(
  conn: ClickHouseConnection,
  table: string,
  data: DataLike | Frame,
  options: LoadOptions = {},
): Promise<LoadedTable> {
  if (typeof table !== "string" || table === "" || table.includes(".")) {
    // sqlTable reads "db.t" as table t of database db; a table created here
    // under the name "db.t" would not be the one it reads
    throw new RangeError(
      `loadClickHouseTable: table must be a plain table name, got ${JSON.stringify(table)}` +
        " (give the database in the connection's 'database' option)",
    );
  }
  const frame = isFrame(data) ? data : toFrame(data);
  const shards = options.shards ?? [conn];
  if (shards.length === 0) throw new RangeError("loadClickHouseTable: 'shards' is empty");
  if (shards.length > 1 && !options.cluster) {
    throw new RangeError(
      "loadClickHouseTable: a Distributed table over several shards needs the 'cluster' name",
    );
  }
  const blockRows = options.blockRows ?? 65536;
  const distributed = shards.length > 1 || options.cluster !== undefined;
  const localTable = distributed ? `${table}_local` : table;
  const columns: Record<string, RowBinaryType> = {};
  for (const name of frame.names) {
    columns[name] = frame.columns.get(name)!.kind === "numeric"
      ? "Nullable(Float64)"
      : "Nullable(String)";
  }
  const schema = frame.names.map((n) => `${clickhouseIdent(n)} ${columns[n]}`).join(", ");
  const replace = options.replace ?? true;
  for (const s of shards) {
    if (replace) await clickhouseText(s, `DROP TABLE IF EXISTS ${clickhouseIdent(localTable)}`);
    await clickhouseText(
      s,
      `CREATE TABLE ${replace ? "" : "IF NOT EXISTS "}${clickhouseIdent(localTable)} ` +
        `(${schema}) ENGINE = MergeTree() ORDER BY tuple()`,
    );
  }
  if (distributed) {
    if (replace) await clickhouseText(conn, `DROP TABLE IF EXISTS ${clickhouseIdent(table)}`);
    // (backslashes escaped too: a database name ending in '\\' must not open the string)
    const db = conn.database
      ? `'${conn.database.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`
      : "currentDatabase()";
    await clickhouseText(
      conn,
      `CREATE TABLE ${replace ? "" : "IF NOT EXISTS "}${clickhouseIdent(table)} AS ` +
        `${clickhouseIdent(localTable)} ` +
        `ENGINE = Distributed(${clickhouseIdent(options.cluster!)}, ${db}, ${
          clickhouseIdent(localTable)
        })`,
    );
  }
  // RowBinary bodies, one per shard: its blocks of rows in order, sent
  // whenever a body passes 32 MB (so a large upload never sits in memory whole)
  const insert = `INSERT INTO ${clickhouseIdent(localTable)} FORMAT RowBinary`;
  const writers = shards.map(() => new ByteWriter());
  const flush = (s: number) => {
    const w = writers[s];
    if (!w.length) return Promise.resolve();
    writers[s] = new ByteWriter();
    return post(shards[s], w.bytes(), { query: insert }, `the upload to ${localTable}`).then(
      () => {},
    );
  };
  const rowsPerShard = shards.map(() => 0);
  const cols = frame.names.map((n) => frame.columns.get(n)!);
  for (let start = 0, b = 0; start < frame.nrow; start += blockRows, b++) {
    const s = b % shards.length;
    const w = writers[s];
    const end = Math.min(frame.nrow, start + blockRows);
    for (let i = start; i < end; i++) {
      for (const c of cols) {
        if (c.kind === "numeric") {
          const v = c.values[i];
          if (Number.isNaN(v)) w.u8(1);
          else (w.u8(0), w.f64(v));
        } else {
          const code = c.codes[i];
          if (code < 0) w.u8(1);
          else (w.u8(0), w.str(c.levels[code]));
        }
      }
    }
    rowsPerShard[s] += end - start;
    if (w.length > 32 << 20) await flush(s);
  }
  await Promise.all(shards.map((_, s) => flush(s)));
  return { table, localTable, rowsPerShard, columns };
}

function isFrame(x: unknown): x is Frame {
  return typeof x === "object" && x !== null && (x as Frame).columns instanceof Map &&
    typeof (x as Frame).nrow === "number";
}
