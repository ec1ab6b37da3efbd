/**
 * lmer from ClickHouse at scale (issue 14): a createData-style model with
 * random slopes, y ~ x + (x | cluster), with 1e7 rows × 1e5 clusters (the
 * library's own generator, in chunks of 1e4 clusters with their own seeds),
 * uploaded in RowBinary to a Distributed table over the two local shards
 * (tools/clickhouse/start.sh). Reports, in one run:
 *
 * - the upload time;
 * - the aggregation queries in ClickHouse (three stages, wall time from
 *   here, network included) against our in-process pass over the same rows
 *   in memory (model frame + the blocked cross-products);
 * - the fit time after the blocks arrive, from ClickHouse's blocks and from
 *   the in-memory ones (the same work: it should be the same time);
 * - the agreement of the two fits.
 *
 *   deno run -A tests/bench/clickhouse_bench.ts            # 1e7 rows
 *   deno run -A tests/bench/clickhouse_bench.ts --rows 1e6  # smaller
 *   deno run -A tests/bench/clickhouse_bench.ts --sql-only  # the ClickHouse fit of the
 *                                                            # table a previous run loaded
 *
 * LMER_CLICKHOUSE_URLS="<shard1> <shard2>" points it at running shards
 * (default: start the local cluster).
 */
import { createData } from "../../mod.ts";
import { fitDevfun, lFormula, mkLmerDevfun } from "../../lib/models/lmer/fit.ts";
import "../../lib/inference/lmerMethods.ts";
import { loadClickHouseTable } from "../../lib/sources/clickhouse.ts";
import { lmerFromSql, sqlFitTimes, sqlTable } from "../../lib/sources/sql.ts";
import { toFrame } from "../../lib/data/frame.ts";

async function shards(): Promise<string[]> {
  const env = Deno.env.get("LMER_CLICKHOUSE_URLS");
  if (env) return env.split(/\s+/).filter((u) => u);
  const out = await new Deno.Command("bash", {
    args: ["tools/clickhouse/start.sh", "--install"],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("ClickHouse could not be started (tools/clickhouse/start.sh)");
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return lines[lines.length - 1].split(" ");
}

function arg(name: string, def: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
}

async function main(): Promise<void> {
  const rows = arg("--rows", 1e7);
  const perCluster = 100, clustersPerChunk = 1e4;
  const chunkRows = perCluster * clustersPerChunk;
  const chunks = Math.max(1, Math.round(rows / chunkRows));
  const n = chunks * chunkRows;
  const urls = await shards();
  const conns = urls.map((url) => ({ url }));
  const table = "bench_clark";
  const formula = "y ~ x + (x | cluster)";
  console.log(`${n.toExponential(0)} rows, ${chunks * clustersPerChunk} clusters; shards ${urls}`);

  const sqlOnly = Deno.args.includes("--sql-only");
  const { y, x, cluster } = sqlOnly
    ? { y: new Float64Array(0), x: new Float64Array(0), cluster: new Float64Array(0) }
    : await generateAndLoad(conns, table, chunks, clustersPerChunk, perCluster);
  // ClickHouse: the three stages of GROUP BY queries, then the fit
  const src = sqlTable({ engine: "clickhouse", url: urls[0], table });
  const mSql = await lmerFromSql(formula, src);
  const times = sqlFitTimes(mSql)!;
  // the wall time of each batch of queries (a batch's queries run side by side)
  const batches = [...new Set(src.log.map((l) => l.batch))].map((b) => {
    const qs = src.log.filter((l) => l.batch === b);
    return { ids: qs.map((l) => l.id).join(", "), ms: Math.max(...qs.map((l) => l.ms)) };
  });
  const queriesMs = batches.reduce((t, b) => t + b.ms, 0);
  const s = (ms: number) => `${(ms / 1e3).toFixed(2)} s`;
  const rate = (ms: number) => `${(n / (ms / 1e3) / 1e6).toFixed(1)} M rows/s`;
  const sqlRows = [
    `| ClickHouse, all aggregation queries (2 shards) | ${s(queriesMs)} | ${rate(queriesMs)} |`,
    ...batches.map((b, i) => `|   batch ${i + 1}: ${b.ids} | ${s(b.ms)} | ${rate(b.ms)} |`),
    `| ClickHouse fit up to the blocks: schema, queries, reading and assembling the rows here | ${
      s(times.aggregateMs)
    } | |`,
    `| fit after the blocks arrive, from ClickHouse's blocks | ${s(times.fitMs)} | |`,
  ].join("\n");
  if (sqlOnly) {
    console.log(`\n| step | time | rows/s |\n| --- | --- | --- |\n${sqlRows}\n`);
    return;
  }

  // in memory: the model frame, the cross-product pass, the fit
  let t = performance.now();
  const frame = lFormula(formula, { y, x, cluster });
  const frameMs = performance.now() - t;
  t = performance.now();
  const devfun = mkLmerDevfun(frame);
  const passMs = performance.now() - t;
  t = performance.now();
  const mMem = fitDevfun(devfun, formula, {});
  const memFitMs = performance.now() - t;

  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
  const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    Math.max(...Array.from(a, (v, i) => rel(v, b[i])));
  console.log(`
| step | time | rows/s |
| --- | --- | --- |
${sqlRows}
| in memory: model frame | ${s(frameMs)} | |
| in memory: cross-product pass | ${s(passMs)} | ${rate(passMs)} |
| in memory: frame + pass | ${s(frameMs + passMs)} | ${rate(frameMs + passMs)} |
| fit after the blocks arrive, in memory | ${s(memFitMs)} | |
`);
  console.log(
    `agreement: criterion ${rel(mSql.optSummary.fmin, mMem.optSummary.fmin).toExponential(1)}` +
      ` relative, β ${
        maxRel(Object.values(mSql.fixef()), Object.values(mMem.fixef())).toExponential(1)
      },` +
      ` θ ${
        maxRel(mSql.theta, mMem.theta).toExponential(1)
      }; evaluations ${mSql.optSummary.feval}` +
      ` / ${mMem.optSummary.feval}`,
  );
  console.log(`load average: ${Deno.loadavg().map((v) => v.toFixed(1)).join(" ")}`);
}

/** Generate the rows in chunks, upload each, and keep the columns for the in-memory fit. */
async function generateAndLoad(
  conns: { url: string }[],
  table: string,
  chunks: number,
  clustersPerChunk: number,
  perCluster: number,
): Promise<{ y: Float64Array; x: Float64Array; cluster: Float64Array }> {
  // generate in chunks (createData with its own seed per chunk, clusters
  // renumbered), keep the columns for the in-memory comparison, upload each
  const chunkRows = perCluster * clustersPerChunk, n = chunks * chunkRows;
  const y = new Float64Array(n), x = new Float64Array(n), cluster = new Float64Array(n);
  let genMs = 0, loadMs = 0;
  for (let c = 0; c < chunks; c++) {
    let t = performance.now();
    const d = toFrame(
      createData({ nCluster: clustersPerChunk, obsPerCluster: perCluster, seed: 1000 + c }),
    );
    const cy = d.columns.get("y")!, cx = d.columns.get("x")!, cc = d.columns.get("cluster")!;
    if (cy.kind !== "numeric" || cx.kind !== "numeric" || cc.kind !== "numeric") {
      throw new Error("createData's columns");
    }
    const off = c * chunkRows;
    y.set(cy.values, off);
    x.set(cx.values, off);
    for (let i = 0; i < chunkRows; i++) cluster[off + i] = cc.values[i] + c * clustersPerChunk;
    genMs += performance.now() - t;
    t = performance.now();
    await loadClickHouseTable(conns[0], table, {
      y: y.subarray(off, off + chunkRows),
      x: x.subarray(off, off + chunkRows),
      cluster: cluster.subarray(off, off + chunkRows),
    }, { shards: conns, cluster: "lmer_two_shards", replace: c === 0, blockRows: 1 << 16 });
    loadMs += performance.now() - t;
  }
  console.log(
    `generated in ${(genMs / 1e3).toFixed(1)} s; uploaded (RowBinary) in ${
      (loadMs / 1e3).toFixed(1)
    } s (${(n / (loadMs / 1e3) / 1e6).toFixed(2)} M rows/s)`,
  );
  return { y, x, cluster };
}

if (import.meta.main) await main();
