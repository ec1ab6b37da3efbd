/**
 * Side-by-side timing of `glmer` and lme4's `glmer` (issue 13):
 *
 *   deno run -A tests/bench/glmer_bench.ts           # cbpp, grouseticks, VerbAgg, Contraception
 *   deno run -A tests/bench/glmer_bench.ts --quick   # cbpp and grouseticks
 *
 * Fits each model warm (in-process, data loaded) several times and reports
 * the median; when Rscript with lme4 (and mlmRev) is installed, runs the same
 * fits in R in the same session and prints the ratio ours / lme4.
 */
import { dataset, glmer } from "../../mod.ts";
import type { GlmerOptions } from "../../mod.ts";

interface Case {
  name: string;
  formula: string;
  data: string;
  options: GlmerOptions;
  /** R's glmer arguments after the data. */
  rArgs: string;
  /** R code that loads the data frame `d`. */
  r: string;
  reps: number;
}

const quick = Deno.args.includes("--quick");
const cases: Case[] = [
  {
    name: "cbpp, binomial (1 | herd)",
    formula: "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    data: "cbpp",
    options: { family: "binomial" },
    rArgs: "family = binomial",
    r: "d <- lme4::cbpp",
    reps: 7,
  },
  {
    name: "grouseticks, Poisson, 3 intercepts",
    formula: "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
    data: "grouseticks",
    options: { family: "poisson" },
    rArgs: "family = poisson",
    r: "d <- lme4::grouseticks",
    reps: 3,
  },
  ...(quick ? [] : [
    {
      name: "VerbAgg, binomial, crossed (7,584 rows)",
      formula: "r2 ~ (Anger + Gender + btype + situ) + (1 | id) + (1 | item)",
      data: "VerbAgg",
      options: { family: "binomial" as const },
      rArgs: "family = binomial",
      r: "d <- lme4::VerbAgg",
      reps: 3,
    },
    {
      name: "Contraception, (urban | district)",
      formula: "use ~ age + I(age^2) + urban + livch + (urban | district)",
      data: "Contraception",
      options: { family: "binomial" as const },
      rArgs: "family = binomial",
      r: "data(Contraception, package = 'mlmRev'); d <- Contraception",
      reps: 3,
    },
  ]),
];

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function timeOurs(c: Case): number {
  const d = dataset(c.data as "cbpp");
  glmer(c.formula, d, c.options);
  const t: number[] = [];
  for (let k = 0; k < c.reps; k++) {
    const t0 = performance.now();
    glmer(c.formula, d, c.options);
    t.push((performance.now() - t0) / 1000);
  }
  return median(t);
}

async function timeR(): Promise<number[] | null> {
  const code = [
    "suppressMessages(library(lme4))",
    ...cases.map((c) =>
      `local({ ${c.r}; f <- ${c.formula}; glmer(f, d, ${c.rArgs}); ` +
      `t <- replicate(${c.reps}, { t0 <- Sys.time(); glmer(f, d, ${c.rArgs}); ` +
      `as.numeric(Sys.time() - t0, units = "secs") }); cat(median(t), "\\n") })`
    ),
  ].join("\n");
  try {
    const out = await new Deno.Command("Rscript", { args: ["-e", code], stderr: "null" })
      .output();
    if (!out.success) return null;
    return new TextDecoder().decode(out.stdout).trim().split(/\s+/).map(Number);
  } catch {
    return null;
  }
}

const ours = cases.map(timeOurs);
const r = await timeR();
console.log("| model | deno-lmer | lme4 | ratio |");
console.log("| --- | ---: | ---: | ---: |");
cases.forEach((c, i) => {
  const rt = r?.[i];
  console.log(
    `| ${c.name} | ${ours[i].toFixed(3)} s | ${rt ? rt.toFixed(3) + " s" : "–"} | ${
      rt ? (ours[i] / rt).toFixed(2) : "–"
    } |`,
  );
});
