/**
 * Side-by-side timing of deno-lmer and R's lme4 in one run.
 *
 *   deno run -A tests/bench/compare.ts            # small models + InstEval
 *   deno run -A tests/bench/compare.ts --quick    # small models only
 *   deno run -A tests/bench/compare.ts --large    # + 1e6 rows and InstEval model 2
 *
 * Fits each model warm (in-process, data already loaded) several times and
 * reports the median; when Rscript with lme4 is installed, runs the same fits
 * in R in the same session and prints the ratio ours / lme4, and the growth
 * of this process's resident memory during our fit.
 */
import { createData, dataset, lmer } from "../../mod.ts";
import type { DataLike } from "../../mod.ts";

const quick = Deno.args.includes("--quick");
const large = Deno.args.includes("--large");

interface Case {
  name: string;
  formula: string;
  data: () => DataLike;
  r: string; // R code that defines the data frame `d`
  reps: number;
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The same fits in R, timed by system.time; null when R or lme4 is missing. */
async function rTimes(): Promise<Map<string, number> | null> {
  const fits = cases.map((c) =>
    `local({ ${c.r}; f <- as.formula(${JSON.stringify(c.formula)})
  ${c.reps > 1 ? "lmer(f, d)" : ""}
  t <- sapply(1:${c.reps}, function(i) system.time(lmer(f, d))[["elapsed"]])
  cat(${JSON.stringify(c.name)}, "\\t", median(t), "\\n", sep = "") })`
  ).join("\n");
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
for (const c of cases) {
  const d = c.data();
  if (c.reps > 1) lmer(c.formula, d); // warm-up (JIT); the one-shot large cases run cold
  const t: number[] = [];
  let mb = 0;
  for (let i = 0; i < c.reps; i++) {
    const rss0 = Deno.memoryUsage().rss;
    const t0 = performance.now();
    lmer(c.formula, d);
    t.push(performance.now() - t0);
    mb = Math.max(mb, (Deno.memoryUsage().rss - rss0) / 2 ** 20);
  }
  ours.set(c.name, { ms: median(t), mb });
}
const r = await rTimes();
console.log(
  `${"model".padEnd(58)} ${"deno-lmer".padStart(11)} ${"lme4".padStart(11)} ${
    "ratio".padStart(7)
  } ${"+RSS MB".padStart(8)}`,
);
for (const name of [CREATE, ...cases.map((c) => c.name)]) {
  const o = ours.get(name)!;
  const rm = r?.get(name);
  console.log(
    `${name.padEnd(58)} ${(o.ms.toFixed(1) + " ms").padStart(11)} ${
      (rm === undefined ? "n/a" : rm.toFixed(1) + " ms").padStart(11)
    } ${(rm === undefined ? "" : (o.ms / rm).toFixed(3)).padStart(7)} ${
      o.mb ? o.mb.toFixed(0).padStart(8) : ""
    }`,
  );
}
if (!r) console.log("(Rscript with lme4 not found: lme4 times not measured)");
