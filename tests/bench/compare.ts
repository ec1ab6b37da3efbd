/**
 * Side-by-side timing of deno-lmer and R's lme4 in one run.
 *
 *   deno run -A tests/bench/compare.ts [--quick]
 *
 * Fits each model warm (in-process, data already loaded) several times and
 * reports the median; when Rscript with lme4 is installed, runs the same fits
 * in R in the same session and prints the ratio ours / lme4.
 */
import { createData, lmer, readCsv } from "../../mod.ts";
import type { DataLike } from "../../mod.ts";

const quick = Deno.args.includes("--quick");
const DATA = new URL("../../../shared/data/", import.meta.url);

interface Case {
  name: string;
  formula: string;
  data: () => DataLike;
  r: string; // R expression producing the data frame `d`
  reps: number;
}

const cases: Case[] = [
  {
    name: "Clark default",
    formula: "y ~ x + (x | cluster)",
    data: () => createData(),
    r: `d <- create_data()`,
    reps: 20,
  },
  {
    name: "sleepstudy (Days|Subject)",
    formula: "Reaction ~ Days + (Days | Subject)",
    data: () => readCsv(new URL("sleepstudy.csv", DATA)),
    r: `d <- lme4::sleepstudy`,
    reps: 20,
  },
  {
    name: "Penicillin crossed",
    formula: "diameter ~ 1 + (1 | plate) + (1 | sample)",
    data: () => readCsv(new URL("Penicillin.csv", DATA)),
    r: `d <- lme4::Penicillin`,
    reps: 20,
  },
];
if (!quick) {
  cases.push({
    name: "InstEval y ~ service*dept + (1|s) + (1|d)",
    formula: "y ~ service * dept + (1 | s) + (1 | d)",
    data: () => readCsv(new URL("InstEval.csv", DATA)),
    r: `d <- lme4::InstEval`,
    reps: 3,
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function rTimes(): Promise<Map<string, number> | null> {
  const script = `
suppressMessages({library(lme4); library(dplyr)})
create_data <- function(obs_per_cluster = 10, n_cluster = 100, intercept = 1, beta = .5, sigma = 1,
  sd_int = .5, sd_slope = .25, cor = 0, balanced = TRUE, seed = 888) {
  set.seed(seed); cluster = rep(1:n_cluster, each = obs_per_cluster); N = n_cluster * obs_per_cluster
  x = rnorm(N); varmat = matrix(c(sd_int^2, cor, cor, sd_slope^2), 2, 2)
  re = mvtnorm::rmvnorm(n_cluster, sigma = varmat)
  y = (intercept + re[cluster, 1]) + (beta + re[cluster, 2])*x + rnorm(N, sd = sigma)
  sample_frac(tibble(y, x, cluster), balanced) }
${
    cases.map((c) =>
      `local({ ${c.r}; f <- ${JSON.stringify(c.formula)}; lmer(as.formula(f), d)
  t <- sapply(1:${c.reps}, function(i) system.time(lmer(as.formula(f), d))[["elapsed"]])
  cat(${JSON.stringify(c.name)}, "\\t", median(t), "\\n") })`
    ).join("\n")
  }`;
  try {
    const p = new Deno.Command("Rscript", {
      args: ["-e", script],
      stdout: "piped",
      stderr: "piped",
    });
    const o = await p.output();
    if (!o.success) return null;
    const m = new Map<string, number>();
    for (const line of new TextDecoder().decode(o.stdout).trim().split("\n")) {
      const [k, v] = line.split("\t");
      m.set(k.trim(), Number(v) * 1000);
    }
    return m;
  } catch {
    return null;
  }
}

const ours = new Map<string, { ms: number; feval: number }>();
for (const c of cases) {
  const d = c.data();
  let m = lmer(c.formula, d); // warm-up (JIT, polars conversion paths)
  const t: number[] = [];
  for (let i = 0; i < c.reps; i++) {
    const t0 = performance.now();
    m = lmer(c.formula, d);
    t.push(performance.now() - t0);
  }
  ours.set(c.name, { ms: median(t), feval: m.optSummary.feval });
}
const r = await rTimes();
console.log(
  `${"model".padEnd(44)} ${"deno-lmer".padStart(10)} ${"lme4".padStart(10)} ${"ratio".padStart(7)}`,
);
for (const c of cases) {
  const o = ours.get(c.name)!;
  const rm = r?.get(c.name);
  console.log(
    `${c.name.padEnd(44)} ${(o.ms.toFixed(1) + " ms").padStart(10)} ${
      (rm === undefined ? "n/a" : rm.toFixed(1) + " ms").padStart(10)
    } ${(rm === undefined ? "" : (o.ms / rm).toFixed(3)).padStart(7)}`,
  );
}
if (!r) console.log("(Rscript with lme4 not found: lme4 times not measured)");
