/**
 * lmer from Parquet files larger than we want in memory: a Clark-style
 * simulation (`createData`, random intercepts and slopes) written in chunks
 * to Parquet, then `y ~ x + (x | cluster)` fitted from
 * `pl.scanParquet("dir/*.parquet")` in a child process, which reports the
 * aggregation pass (rows/s; stages: levels, moments, blocks), the fit
 * from the blocks, and its peak RSS (VmHWM).
 *
 *   deno run -A tests/bench/lazy_bench.ts                  # 1e6 rows x 1e5 clusters
 *   deno run -A tests/bench/lazy_bench.ts --rows 1e7 --clusters 1e5 --memory
 *   deno run -A tests/bench/lazy_bench.ts --big            # 1e8 rows x 1e5 clusters (~2 GB on disk)
 *
 * Flags: --rows N, --clusters K (default rows/10), --chunk R rows per file
 * (default 1e6), --dir D (keep the files there; default a temporary folder,
 * removed), --engine streaming|in-memory (polars' engine, default
 * streaming), --memory (also fit the collected rows in memory, for the
 * time, the peak RSS and the agreement), --reuse (use the files already in
 * --dir).
 */
import { createData, lmer } from "../../mod.ts";
import { pl } from "../../lib/deps.ts";
import type { DataFrame as PlFrame } from "../../lib/deps.ts";
import { aggregateLazy, lmerFromAggregates } from "../../lib/sources/polars.ts";
import type { LinearMixedModel } from "../../lib/models/lmer/model.ts";

const FORMULA = "y ~ x + (x | cluster)";

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}
const has = (name: string) => Deno.args.includes(`--${name}`);
const num = (name: string, d: number) => (flag(name) === undefined ? d : Number(flag(name)));

/** Peak resident set size of this process (MB), from /proc. */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds used so far by this process (all threads, polars' included), from /proc. */
function cpuSeconds(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

if (has("child")) {
  // the measured process: fit from the Parquet files and report
  const dir = flag("dir")!;
  const engine = (flag("engine") ?? "streaming") as "streaming" | "in-memory";
  const t0 = performance.now(), c0 = cpuSeconds();
  const report = (m: LinearMixedModel, extra: Record<string, unknown>) =>
    console.log(JSON.stringify({
      ...extra,
      n: m.nobs,
      fmin: m.optSummary.fmin,
      theta: [...m.theta],
      beta: [...m.solution.beta],
      peakRssMb: peakRssMb(),
    }));
  if (has("in-memory-fit")) {
    const df = pl.scanParquet(`${dir}/*.parquet`).collectSync();
    const t1 = performance.now(), c1 = cpuSeconds();
    const m = lmer(FORMULA, df, { control: { progress: false } });
    report(m, {
      readMs: t1 - t0,
      fitMs: performance.now() - t1,
      fitCpu: cpuSeconds() - c1,
    });
  } else {
    const { plan, fit, ms } = aggregateLazy(FORMULA, pl.scanParquet(`${dir}/*.parquet`), {
      engine,
    });
    const t1 = performance.now(), c1 = cpuSeconds();
    const m = lmerFromAggregates(plan, fit, { control: { progress: false } });
    report(m, {
      aggMs: t1 - t0,
      aggCpu: c1 - c0,
      stages: ms,
      fitMs: performance.now() - t1,
      fitCpu: cpuSeconds() - c1,
    });
  }
  Deno.exit(0);
}

const big = has("big");
const rows = num("rows", big ? 1e8 : 1e6);
const clusters = num("clusters", big ? 1e5 : Math.max(2, Math.round(rows / 10)));
const chunkRows = num("chunk", 1e6);
const obsPerCluster = Math.round(rows / clusters);
if (obsPerCluster * clusters !== rows) {
  throw new RangeError("--rows must be a multiple of --clusters");
}
// whole clusters per file
const clustersPerChunk = Math.max(1, Math.floor(chunkRows / obsPerCluster));
const keep = flag("dir") !== undefined;
const dir = flag("dir") ?? await Deno.makeTempDir({ prefix: "deno-lmer-lazy-bench-" });
await Deno.mkdir(dir, { recursive: true });

let genMs = 0;
if (!has("reuse")) {
  const t = performance.now();
  let file = 0;
  for (let c0 = 0; c0 < clusters; c0 += clustersPerChunk) {
    const nc = Math.min(clustersPerChunk, clusters - c0);
    // the library's generator, one seed per chunk; cluster ids made global
    const chunk =
      (createData({ nCluster: nc, obsPerCluster, seed: 1000 + file }) as unknown as PlFrame)
        .withColumns(pl.col("cluster").add(c0).alias("cluster"));
    chunk.writeParquet(`${dir}/part-${String(file++).padStart(5, "0")}.parquet`);
  }
  genMs = performance.now() - t;
}
let bytes = 0;
for (const e of Deno.readDirSync(dir)) {
  if (e.name.endsWith(".parquet")) bytes += Deno.statSync(`${dir}/${e.name}`).size;
}

async function child(extra: string[]): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--child", "--dir", dir, ...extra],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the measured child process failed");
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

const engine = flag("engine") ?? "streaming";
const lazy = await child(["--engine", engine]);
const aggS = (lazy.aggMs as number) / 1000, aggCpu = lazy.aggCpu as number;
const load = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
const round = (_: string, v: unknown) => (typeof v === "number" ? Math.round(v) : v);
console.log(
  `lmer ${FORMULA} from pl.scanParquet: ${rows.toExponential(0)} rows x ${clusters} clusters, ` +
    `${(bytes / 2 ** 20).toFixed(0)} MB of Parquet` +
    (genMs ? ` (written in ${(genMs / 1000).toFixed(1)} s)` : ""),
);
console.log(
  `  aggregation (polars ${engine}; levels, moments, blocks): ${aggS.toFixed(2)} s = ` +
    `${(rows / aggS / 1e6).toFixed(2)} M rows/s wall; ${aggCpu.toFixed(2)} CPU s = ` +
    `${(rows / aggCpu / 1e6).toFixed(2)} M rows per CPU second ` +
    `(load average ${load}; stages ms: ${JSON.stringify(lazy.stages, round)})`,
);
console.log(
  `  fit from the blocks: ${((lazy.fitMs as number) / 1000).toFixed(2)} s ` +
    `(${(lazy.fitCpu as number).toFixed(2)} CPU s); ` +
    `peak RSS of the fitting process ${(lazy.peakRssMb as number).toFixed(0)} MB`,
);
console.log(`  theta ${JSON.stringify(lazy.theta)} beta ${JSON.stringify(lazy.beta)}`);
if (has("memory")) {
  const mem = await child(["--in-memory-fit"]);
  const relCrit = Math.abs((lazy.fmin as number) - (mem.fmin as number)) /
    Math.abs(mem.fmin as number);
  console.log(
    `  in memory (collect + lmer): read ${((mem.readMs as number) / 1000).toFixed(2)} s, ` +
      `fit ${((mem.fitMs as number) / 1000).toFixed(2)} s ` +
      `(${(mem.fitCpu as number).toFixed(2)} CPU s), peak RSS ${
        (mem.peakRssMb as number).toFixed(0)
      } MB; criterion differs by ${relCrit.toExponential(1)} relative`,
  );
}
if (!keep) await Deno.remove(dir, { recursive: true });
