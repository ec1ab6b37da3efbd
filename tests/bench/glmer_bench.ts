/**
 * Side-by-side timing of `glmer` and lme4's `glmer` (issue 13):
 *
 *   deno run -A tests/bench/glmer_bench.ts           # cbpp, grouseticks, VerbAgg, Contraception, simulated 1e5 rows
 *   deno run -A tests/bench/glmer_bench.ts --quick   # cbpp and grouseticks
 *   deno run -A tests/bench/glmer_bench.ts --sim     # only the simulated 1e5-row model
 *   deno run -A tests/bench/glmer_bench.ts --big     # a simulated 1e6-row model (lme4: minutes)
 *
 * (also `deno run -A tests/bench/compare.ts --glmer`). Each model is fitted
 * warm (in-process, data loaded): one fit of each side first (not for the
 * simulated model, whose fits take seconds to a minute), then ours and
 * lme4's alternately, one fit at a time, so both see the same machine load;
 * the medians and their ratio are printed with the load averages. lme4 runs
 * in one R process that takes the fits to time on its standard input. The
 * simulated model's data are generated here with the library's `rng` and
 * handed to R as a temporary CSV file (removed afterwards).
 */
import { dataset, glmer, rng } from "../../mod.ts";
import type { DataLike, GlmerOptions } from "../../mod.ts";

/** One benchmark model. */
export interface GlmerCase {
  /** Label in the table. */
  readonly name: string;
  /** The formula (the same in R). */
  readonly formula: string;
  /** The data for our fit. */
  readonly data: () => DataLike;
  /** Our options. */
  readonly options: GlmerOptions;
  /** R's glmer arguments after the data. */
  readonly rArgs: string;
  /** R code that defines the data frame `d` (may read the CSV at `csv`). */
  readonly r: string;
  /** Timed fits of each side. */
  readonly reps: number;
  /** When set, the data are written to a temporary CSV for R (R code reads `csv`). */
  readonly csv?: boolean;
  /** Fit once on each side before timing (default true; a minute-long lme4 fit needs none). */
  readonly warm?: boolean;
}

/**
 * The simulated binomial model: `nCluster` clusters of `perCluster` rows,
 * x ~ N(0, 1), a random intercept (sd 0.8) and slope (sd 0.3), fixed effects
 * (−0.5, 0.5), y ~ Bernoulli(logit⁻¹ η) from the library's R-identical
 * generators (seed 13).
 */
export function simulatedBinomial(nCluster = 1000, perCluster = 100): DataLike {
  const n = nCluster * perCluster;
  const r = rng(13);
  const re = r.rnorm(2 * nCluster);
  const x = r.rnorm(n);
  const u = r.runif(n);
  const y = new Float64Array(n);
  const cluster: string[] = [];
  for (let i = 0; i < n; i++) {
    const j = Math.floor(i / perCluster);
    cluster.push(`c${String(j).padStart(4, "0")}`);
    const eta = -0.5 + 0.8 * re[j] + (0.5 + 0.3 * re[nCluster + j]) * x[i];
    y[i] = u[i] < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { y, x, cluster };
}

/** The glmer benchmark models (`quick`: the two small ones; `simOnly`: the simulated one). */
export function glmerCases(quick = false, simOnly = false): GlmerCase[] {
  const sim: GlmerCase = {
    name: "simulated binomial, 1e5 rows, (x | cluster) x 1000",
    formula: "y ~ x + (x | cluster)",
    data: () => simulatedBinomial(),
    options: { family: "binomial" },
    rArgs: "family = binomial",
    r: "d <- read.csv(csv, colClasses = c('numeric', 'numeric', 'factor'))",
    reps: 3,
    csv: true,
    warm: false,
  };
  if (simOnly) return [sim];
  const small: GlmerCase[] = [
    shipped(
      "cbpp, binomial (1 | herd)",
      "cbind(incidence, size - incidence) ~ period + (1 | herd)",
      "cbpp",
      "binomial",
      "d <- lme4::cbpp",
      9,
    ),
    shipped(
      "grouseticks, Poisson, 3 intercepts",
      "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
      "grouseticks",
      "poisson",
      "d <- lme4::grouseticks",
      5,
    ),
  ];
  if (quick) return small;
  return [
    ...small,
    shipped(
      "VerbAgg, binomial, crossed (7,584 rows)",
      "r2 ~ (Anger + Gender + btype + situ) + (1 | id) + (1 | item)",
      "VerbAgg",
      "binomial",
      "d <- lme4::VerbAgg",
      5,
    ),
    shipped(
      "Contraception, (urban | district)",
      "use ~ age + I(age^2) + urban + livch + (urban | district)",
      "Contraception",
      "binomial",
      "data(Contraception, package = 'mlmRev'); d <- Contraception",
      5,
    ),
    sim,
  ];
}

/** A model on one of the shipped datasets; `r` loads the same data frame into `d` in R. */
function shipped(
  name: string,
  formula: string,
  data: "cbpp" | "grouseticks" | "VerbAgg" | "Contraception",
  family: "binomial" | "poisson",
  r: string,
  reps: number,
): GlmerCase {
  return {
    name,
    formula,
    data: () => dataset(data),
    options: { family },
    rArgs: `family = ${family}`,
    r,
    reps,
  };
}

/** The columns of a DataLike record as CSV (numbers in full precision). */
function toCsv(d: Record<string, ArrayLike<number | string>>): string {
  const names = Object.keys(d);
  const n = d[names[0]].length;
  const lines = [names.join(",")];
  for (let i = 0; i < n; i++) lines.push(names.map((k) => String(d[k][i])).join(","));
  return lines.join("\n") + "\n";
}

/** An R process that fits case i (1-based) on each line "i" and answers its elapsed seconds. */
class RFitter {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor(code: string) {
    this.#proc = new Deno.Command("Rscript", {
      args: ["-e", code],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = lines(this.#proc.stdout)[Symbol.asyncIterator]();
  }

  /** One lme4 fit of case i (0-based): [seconds, deviance], NaN when R failed. */
  async fit(i: number): Promise<[number, number]> {
    await this.#writer.write(new TextEncoder().encode(`${i + 1}\n`));
    const r = await this.#lines.next();
    if (r.done) return [NaN, NaN];
    const [t, dev] = r.value.split(/\s+/).map(Number);
    return [t, dev];
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#proc.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let k;
    while ((k = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, k).trim();
      buf = buf.slice(k + 1);
    }
  }
  if (buf.trim()) yield buf.trim();
}

const median = (v: number[]) => {
  const s = v.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** Whether Rscript with lme4 runs here. */
async function haveLme4(): Promise<boolean> {
  try {
    const o = await new Deno.Command("Rscript", {
      args: ["-e", "suppressMessages(library(lme4))"],
      stdout: "null",
      stderr: "null",
    }).output();
    return o.success;
  } catch {
    return false;
  }
}

/** One row of the result table. */
export interface GlmerTiming {
  readonly name: string;
  /** Median seconds of our fits. */
  readonly ours: number;
  /** Median seconds of lme4's fits (NaN without R). */
  readonly lme4: number;
  /** Deviances (−2 logLik) of the last fits, ours and lme4's (NaN without R). */
  readonly deviance: readonly [number, number];
}

/**
 * Time the cases, ours and lme4's alternately, and print a table of the
 * medians and ratios with the load averages before and after.
 */
export async function runGlmerBench(cases: readonly GlmerCase[]): Promise<GlmerTiming[]> {
  const datas = cases.map((c) => c.data());
  const tmp: string[] = [];
  const rData = cases.map((c, i) => {
    if (!c.csv) return c.r;
    const f = Deno.makeTempFileSync({ suffix: ".csv" });
    tmp.push(f);
    Deno.writeTextFileSync(f, toCsv(datas[i] as Record<string, ArrayLike<number | string>>));
    return `csv <- ${JSON.stringify(f)}; ${c.r}`;
  });
  const useR = await haveLme4();
  // R: all data loaded first; each case a function that fits once and
  // returns c(elapsed, deviance); line i on stdin runs case i
  const code = [
    "suppressMessages(library(lme4))",
    "fits <- list(",
    cases.map((c, i) =>
      `  local({ ${rData[i]}; f <- ${c.formula}; function() { t0 <- proc.time()[["elapsed"]]; ` +
      `m <- glmer(f, d, ${c.rArgs}); c(proc.time()[["elapsed"]] - t0, -2 * as.numeric(logLik(m))) } })`
    ).join(",\n"),
    ")",
    "con <- file('stdin'); open(con)",
    "while (length(line <- readLines(con, n = 1)) > 0) {",
    "  r <- tryCatch(fits[[as.integer(line)]](), error = function(e) c(NaN, NaN))",
    "  cat(sprintf('%.6f %.10f', r[1], r[2]), '\\n'); flush(stdout())",
    "}",
  ].join("\n");
  const r = useR ? new RFitter(code) : undefined;
  const out: GlmerTiming[] = [];
  const load0 = loadavg();
  try {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i];
      const d = datas[i];
      const ours: number[] = [], theirs: number[] = [];
      let devOurs = NaN, devR = NaN;
      // warm-up of both sides (JIT, R's first-call costs)
      if (c.warm ?? true) {
        glmer(c.formula, d, c.options);
        await r?.fit(i);
      }
      for (let k = 0; k < c.reps; k++) {
        const t0 = performance.now();
        const m = glmer(c.formula, d, c.options);
        ours.push((performance.now() - t0) / 1000);
        devOurs = m.deviance();
        if (r) {
          const [t, dev] = await r.fit(i);
          theirs.push(t);
          devR = dev;
        }
      }
      out.push({
        name: c.name,
        ours: median(ours),
        lme4: median(theirs),
        deviance: [devOurs, devR],
      });
    }
  } finally {
    await r?.close();
    for (const f of tmp) Deno.removeSync(f);
  }
  const load1 = loadavg();
  console.log("| model | deno-lmer | lme4 | ratio | deviance (ours − lme4) |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const t of out) {
    const has = !Number.isNaN(t.lme4);
    console.log(
      `| ${t.name} | ${t.ours.toFixed(3)} s | ${has ? t.lme4.toFixed(3) + " s" : "–"} | ${
        has ? (t.ours / t.lme4).toFixed(2) : "–"
      } | ${has ? (t.deviance[0] - t.deviance[1]).toExponential(1) : "–"} |`,
    );
  }
  console.log(
    `(medians of alternating fits; load average (1, 5, 15 min) ${load0} before, ${load1} after, ${navigator.hardwareConcurrency} cores)`,
  );
  if (!r) console.log("(Rscript with lme4 not found: lme4 times not measured)");
  return out;
}

/**
 * A million-row binary model for `--big`: 10,000 clusters of 100 rows, a
 * random intercept (sd 0.7), y ~ Bernoulli(logit⁻¹(−0.4 + 0.5 x + b)) from
 * the library's generators (seed 3). One fit on each side, no warm-up
 * (lme4 takes minutes).
 */
export function bigBinomialCase(): GlmerCase {
  return {
    name: "simulated binomial, 1e6 rows, (1 | g) x 10,000",
    formula: "y ~ x + (1 | g)",
    data: () => {
      const n = 1_000_000, nG = 10_000;
      const r = rng(3);
      const re = r.rnorm(nG), x = r.rnorm(n), u = r.runif(n);
      const y = new Float64Array(n), g: string[] = [];
      for (let i = 0; i < n; i++) {
        const j = i % nG;
        g.push(`g${j}`);
        const eta = -0.4 + 0.5 * x[i] + 0.7 * re[j];
        y[i] = u[i] < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
      }
      return { y, x, g };
    },
    options: { family: "binomial" },
    rArgs: "family = binomial",
    r: "d <- read.csv(csv, colClasses = c('numeric', 'numeric', 'factor'))",
    reps: 1,
    csv: true,
    warm: false,
  };
}

if (import.meta.main) {
  await runGlmerBench(
    Deno.args.includes("--big")
      ? [bigBinomialCase()]
      : glmerCases(Deno.args.includes("--quick"), Deno.args.includes("--sim")),
  );
}
