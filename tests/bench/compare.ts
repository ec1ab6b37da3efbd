/**
 * Side-by-side timing of deno-lmer and R's lme4 in one run.
 *
 *   deno run -A tests/bench/compare.ts            # small models + InstEval
 *   deno run -A tests/bench/compare.ts --quick    # small models only
 *   deno run -A tests/bench/compare.ts --large    # + 1e6 rows and InstEval model 2
 *   deno run -A tests/bench/compare.ts --grouping # only the interaction/nesting grouping factors
 *   deno run -A tests/bench/compare.ts --crossed  # only the large crossed designs (star, 5000 x 5000)
 *   deno run -A tests/bench/compare.ts --glmer    # the glmer models of glmer_bench.ts (add --quick: the small two)
 *
 * Fits each model warm (in-process, data already loaded) several times and
 * reports the median; when Rscript with lme4 is installed, runs the same fits
 * in R in the same session and prints the ratio ours / lme4, and the growth
 * of this process's resident memory during our fit. The crossed cases also
 * report the time per criterion evaluation (ours: the optimizer's time over
 * its evaluations; lme4's: its devfun timed at the optimum).
 */
import { createData, dataset, lmer, rng } from "../../mod.ts";
import type { DataLike, LmerOptions } from "../../mod.ts";
import { glmerCases, runGlmerBench } from "./glmer_bench.ts";
import { crossedPair, nestedSchools, starData } from "../helpers/simData.ts";

if (Deno.args.includes("--glmer")) {
  // glmer and lme4's glmer fitted alternately (see glmer_bench.ts); nothing else
  await runGlmerBench(glmerCases(Deno.args.includes("--quick")));
  Deno.exit(0);
}

const quick = Deno.args.includes("--quick");
const large = Deno.args.includes("--large");
const grouping = Deno.args.includes("--grouping");
const crossed = Deno.args.includes("--crossed");

interface Case {
  name: string;
  formula: string;
  data: () => DataLike | Promise<DataLike>;
  r: string; // R code that defines the data frame `d`
  reps: number;
  /** lmer options (R: the same as extra arguments, `rArgs`). */
  options?: LmerOptions;
  rArgs?: string;
  /** Not run in R, with the reason. */
  rSkip?: string;
  /** Report the time per criterion evaluation. */
  perEval?: boolean;
}

const cases: Case[] = [
  {
    name: "Clark default, y ~ x + (x | cluster)",
    formula: "y ~ x + (x | cluster)",
    data: () => createData(),
    r: `d <- create_data()`,
    reps: 20,
  },
  {
    name: "sleepstudy (Days | Subject)",
    formula: "Reaction ~ Days + (Days | Subject)",
    data: () => dataset("sleepstudy"),
    r: `d <- lme4::sleepstudy`,
    reps: 20,
  },
  {
    name: "Penicillin (1 | plate) + (1 | sample)",
    formula: "diameter ~ 1 + (1 | plate) + (1 | sample)",
    data: () => dataset("Penicillin"),
    r: `d <- lme4::Penicillin`,
    reps: 20,
  },
];
cases.push({
  name: "createData(100 obs x 1000 clusters): y ~ x + (x | cluster)",
  formula: "y ~ x + (x | cluster)",
  data: () => createData({ obsPerCluster: 100, nCluster: 1000 }),
  r: `d <- create_data(obs_per_cluster = 100, n_cluster = 1000)`,
  reps: 5,
});
if (!quick) {
  cases.push({
    name: "InstEval y ~ service * dept + (1 | s) + (1 | d)",
    formula: "y ~ service * dept + (1 | s) + (1 | d)",
    data: () => dataset("InstEval"),
    r: `d <- lme4::InstEval`,
    reps: 3,
  });
}
if (large) {
  cases.push({
    name: "InstEval 1 + service + (1|s) + (1|d) + (1|dept:service)",
    formula: "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)",
    data: () => dataset("InstEval"),
    r: `d <- lme4::InstEval`,
    reps: 1,
  }, {
    name: "1e6 rows x 10,000 clusters, y ~ x + (x | cluster)",
    formula: "y ~ x + (x | cluster)",
    data: () => createData({ obsPerCluster: 100, nCluster: 10000 }),
    r: `d <- create_data(obs_per_cluster = 100, n_cluster = 10000)`,
    reps: 1,
  });
}
const CREATE = "createData(obsPerCluster: 100, nCluster: 1000)";

// Grouping factors that are interactions or deep nestings: only the
// combinations that occur are levels (a Cartesian product of the levels
// would be 4e8, 1e9 and 2e9 labels). The same data in R from the same
// R-identical random streams.

/** 200 schools x 20 classes x 100,000 students (2 rows each), 200,000 rows. */
const nestedData = (): DataLike => nestedSchools();
const NESTED_R =
  `n <- 200000; set.seed(1); z <- rnorm(200 + 4000 + 100000 + n); s <- (0:(n-1)) %/% 2
  d <- data.frame(school = paste0("s", s %% 200), class = paste0("c", (s %/% 200) %% 20), student = paste0("p", s))
  d$y <- z[s %% 200 + 1] + z[200 + s %% 4000 + 1] + z[4200 + s + 1] + z[104200 + 1:n]`;

/** Three 1000-level numeric factors, 10,000 combinations a:b:c on 20,000 rows. */
function abcData(): DataLike {
  const n = 20_000, r = rng(2);
  const u = r.runif((3 * n) / 2), z = r.rnorm(n / 2 + n);
  const a = new Float64Array(n), b = new Float64Array(n), c = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = i >> 1;
    a[i] = Math.floor(u[k] * 1000);
    b[i] = Math.floor(u[n / 2 + k] * 1000);
    c[i] = Math.floor(u[n + k] * 1000);
    y[i] = a[i] / 500 + z[k] + z[n / 2 + i];
  }
  return { y, a, b, c };
}
const ABC_R =
  `n <- 20000; set.seed(2); u <- runif(3 * n / 2); z <- rnorm(n / 2 + n); k <- (0:(n-1)) %/% 2
  d <- data.frame(a = floor(u[k + 1] * 1000), b = floor(u[n/2 + k + 1] * 1000), c = floor(u[n + k + 1] * 1000))
  d$y <- d$a / 500 + z[k + 1] + z[n/2 + 1:n]`;

/** One 6-level factor g, 1200 rows. */
function g12Data(): DataLike {
  const n = 1200, z = rng(3).rnorm(n);
  const y = new Float64Array(n), g: string[] = [];
  for (let i = 0; i < n; i++) {
    g.push("abcdef"[i % 6]);
    y[i] = (i % 6) + z[i];
  }
  return { y, g };
}
const G12_R = `n <- 1200; set.seed(3); z <- rnorm(n)
  d <- data.frame(g = c("a","b","c","d","e","f")[(0:(n-1)) %% 6 + 1]); d$y <- (0:(n-1)) %% 6 + z`;

const groupingCases: Case[] = [{
  name: "(1|a) + (1|a:b:c), 3 x 1000 levels, 20k rows",
  formula: "y ~ 1 + (1 | a) + (1 | a:b:c)",
  data: abcData,
  r: ABC_R,
  reps: 5,
}, {
  name: "(1 | g:g:...:g), 12 copies of a 6-level g",
  formula: "y ~ 1 + (1 | g:g:g:g:g:g:g:g:g:g:g:g)",
  data: g12Data,
  r: G12_R,
  reps: 5,
}];
const nestedCase: Case = {
  name: "(1 | school/class/student), 100k students, 200k rows",
  formula: "y ~ 1 + (1 | school/class/student)",
  data: nestedData,
  r: NESTED_R,
  reps: 1,
};

// Large crossed designs. mlmRev's star (the complete cases of the columns
// used, 24,611 rows, as lmer's model frame keeps them; exported once from R
// into tests/bench/data/star.csv.gz, 178 kB): about 10,770 students x 1,374
// teachers x 80 schools. After the students (the head), the teachers and
// schools are factored sparsely. The R side uses mlmRev::star directly.
const starRows = (): Promise<DataLike> => starData();

/** y ~ x + (1|a) + (1|b): two crossed 5,000-level factors paired at random, 100,000 rows. */
function crossed5000(): DataLike {
  return crossedPair({ n: 100_000, seed: 4, la: 5000, lb: 5000, b0: 1, sb: 0.7, step: 7919 });
}
const crossedCases: Case[] = [{
  name: "star math ~ gr+cltype+sx+(1|id)+(1|tch)+(1|sch), ML",
  formula: "math ~ gr + cltype + sx + (1 | id) + (1 | tch) + (1 | sch)",
  data: starRows,
  r: `d <- mlmRev::star`,
  options: { REML: false },
  rArgs: "REML = FALSE",
  reps: 3,
  perEval: true,
}, {
  name: "y ~ x + (1|a) + (1|b), 5000 x 5000 levels, 100k rows",
  formula: "y ~ x + (1 | a) + (1 | b)",
  data: crossed5000,
  r: "",
  rSkip: "lme4 did not finish in 15 minutes",
  reps: 1,
  perEval: true,
}];
if (grouping) cases.splice(0, cases.length, ...groupingCases, nestedCase);
else if (crossed) cases.splice(0, cases.length, ...crossedCases);
else if (!quick) cases.push(...groupingCases, ...(large ? [nestedCase] : []));

const PER_EVAL = " (per evaluation)";
const EVALS = " (evaluations)";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The same fits in R, timed by system.time; null when R or lme4 is missing. */
async function rTimes(): Promise<Map<string, number> | null> {
  const fits = cases.filter((c) => !c.rSkip).map((c) => {
    const fit = `lmer(f, d${c.rArgs ? ", " + c.rArgs : ""})`;
    const perEval = c.perEval
      ? `m <- ${fit}; dv <- lmer(f, d${c.rArgs ? ", " + c.rArgs : ""}, devFunOnly = TRUE)
  th <- getME(m, "theta"); dv(th); te <- system.time(for (i in 1:10) dv(th))[["elapsed"]] / 10
  cat(${JSON.stringify(c.name + PER_EVAL)}, "\\t", te, "\\n", sep = "")
  cat(${JSON.stringify(c.name + EVALS)}, "\\t", m@optinfo$feval / 1000, "\\n", sep = "")`
      : "";
    return `local({ ${c.r}; f <- as.formula(${JSON.stringify(c.formula)})
  ${c.reps > 1 ? fit : ""}
  t <- sapply(1:${c.reps}, function(i) system.time(${fit})[["elapsed"]])
  cat(${JSON.stringify(c.name)}, "\\t", median(t), "\\n", sep = "")
  ${perEval} })`;
  }).join("\n");
  const script = `
suppressMessages({library(lme4); library(dplyr)})
create_data <- function(obs_per_cluster = 10, n_cluster = 100, intercept = 1, beta = .5, sigma = 1,
  sd_int = .5, sd_slope = .25, cor = 0, balanced = TRUE, seed = 888) {
  set.seed(seed); cluster = rep(1:n_cluster, each = obs_per_cluster); N = n_cluster * obs_per_cluster
  x = rnorm(N); varmat = matrix(c(sd_int^2, cor, cor, sd_slope^2), 2, 2)
  re = mvtnorm::rmvnorm(n_cluster, sigma = varmat)
  y = (intercept + re[cluster, 1]) + (beta + re[cluster, 2])*x + rnorm(N, sd = sigma)
  sample_frac(tibble(y, x, cluster), balanced) }
local({ create_data(obs_per_cluster = 100, n_cluster = 1000)
  t <- sapply(1:5, function(i) system.time(create_data(obs_per_cluster = 100, n_cluster = 1000))[["elapsed"]])
  cat(${JSON.stringify(CREATE)}, "\\t", median(t), "\\n", sep = "") })
${fits}`;
  try {
    const o = await new Deno.Command("Rscript", {
      args: ["-e", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!o.success) return null;
    const m = new Map<string, number>();
    for (const line of new TextDecoder().decode(o.stdout).trim().split("\n")) {
      const [k, v] = line.split("\t");
      m.set(k, Number(v) * 1000);
    }
    return m;
  } catch {
    return null;
  }
}

const ours = new Map<string, { ms: number; mb: number }>();
{
  createData({ obsPerCluster: 100, nCluster: 1000 });
  const t: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    createData({ obsPerCluster: 100, nCluster: 1000 });
    t.push(performance.now() - t0);
  }
  ours.set(CREATE, { ms: median(t), mb: 0 });
}
/** The optimizer each per-evaluation case used (lme4's BOBYQA, or Newton for large crossed fits). */
const optimizers = new Map<string, string>();
for (const c of cases) {
  const d = await c.data();
  if (c.reps > 1) lmer(c.formula, d, c.options); // warm-up (JIT); the one-shot large cases run cold
  const t: number[] = [];
  let mb = 0;
  for (let i = 0; i < c.reps; i++) {
    const rss0 = Deno.memoryUsage().rss;
    const t0 = performance.now();
    const m = lmer(c.formula, d, c.options);
    t.push(performance.now() - t0);
    mb = Math.max(mb, (Deno.memoryUsage().rss - rss0) / 2 ** 20);
    if (c.perEval && i === c.reps - 1) {
      const { elapsedMs, feval } = m.optSummary;
      ours.set(c.name + PER_EVAL, { ms: elapsedMs / feval, mb: 0 });
      ours.set(c.name + EVALS, { ms: feval, mb: 0 });
      optimizers.set(c.name, m.optSummary.optimizer);
    }
  }
  ours.set(c.name, { ms: median(t), mb });
}
const r = await rTimes();
console.log(
  `${"model".padEnd(58)} ${"deno-lmer".padStart(11)} ${"lme4".padStart(11)} ${
    "ratio".padStart(7)
  } ${"+RSS MB".padStart(8)}`,
);
const rows = [CREATE, ...cases.map((c) => c.name)];
for (const c of cases) if (c.perEval) rows.push(c.name + PER_EVAL, c.name + EVALS);
for (const name of rows) {
  const o = ours.get(name)!;
  const rm = r?.get(name);
  const unit = name.endsWith(EVALS) ? "" : " ms";
  const mine = name.endsWith(EVALS) ? o.ms.toFixed(0) : o.ms.toFixed(1) + unit;
  const theirs = rm === undefined
    ? "n/a"
    : name.endsWith(EVALS)
    ? rm.toFixed(0)
    : rm.toFixed(1) + unit;
  console.log(
    `${name.padEnd(58)} ${mine.padStart(11)} ${theirs.padStart(11)} ${
      (rm === undefined || name.endsWith(EVALS) ? "" : (o.ms / rm).toFixed(3)).padStart(7)
    } ${o.mb ? o.mb.toFixed(0).padStart(8) : ""}`,
  );
}
for (const c of cases) if (c.rSkip) console.log(`(${c.name}: not run in R, ${c.rSkip})`);
for (const [name, opt] of optimizers) console.log(`(${name}: optimizer ${opt})`);
if (!r) console.log("(Rscript with lme4 not found: lme4 times not measured)");
