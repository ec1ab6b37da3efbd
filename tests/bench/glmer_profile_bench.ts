/**
 * Side-by-side timing of profile intervals for glmer fits, `confint(m)`
 * against lme4's `confint(m)` (profile.merMod for a GLMM):
 *
 *   deno run -A tests/bench/glmer_profile_bench.ts          # cbpp
 *   deno run -A tests/bench/glmer_profile_bench.ts --full   # cbpp and grouseticks
 *
 * Fits each model first (not timed), then times one profile confint per
 * model (they take seconds); when Rscript with lme4 is installed, runs the
 * same in R right after and prints the ratio ours / lme4.
 */
import { dataset, glmer } from "../../mod.ts";
import type { GlmerOptions } from "../../mod.ts";
import { confintResult } from "../../advanced.ts";

interface Case {
  name: string;
  formula: string;
  data: "cbpp" | "grouseticks";
  options: GlmerOptions;
  /** R's glmer arguments after the data. */
  rArgs: string;
}

const full = Deno.args.includes("--full");
const cases: Case[] = [
  {
    name: "cbpp, binomial, intercept per herd: 5 parameters",
    formula: "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    data: "cbpp",
    options: { family: "binomial" },
    rArgs: "family = binomial",
  },
  ...(full
    ? [{
      name: "grouseticks, Poisson, 3 intercepts: 7 parameters",
      formula: "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
      data: "grouseticks" as const,
      options: { family: "poisson" as const },
      rArgs: "family = poisson",
    }]
    : []),
];

function timeOurs(c: Case): number {
  const m = glmer(c.formula, dataset(c.data), c.options);
  const t0 = performance.now();
  confintResult(m, { method: "profile" });
  return (performance.now() - t0) / 1000;
}

async function timeR(): Promise<number[] | null> {
  const code = [
    "suppressMessages(library(lme4))",
    ...cases.map((c) =>
      `local({ d <- lme4::${c.data}; m <- glmer(${c.formula}, d, ${c.rArgs}); ` +
      `t0 <- Sys.time(); suppressMessages(confint(m)); ` +
      `cat(as.numeric(Sys.time() - t0, units = "secs"), "\\n") })`
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
console.log("| profile confint | deno-lmer | lme4 | ratio |");
console.log("| --- | ---: | ---: | ---: |");
cases.forEach((c, i) => {
  const rt = r?.[i];
  console.log(
    `| ${c.name} | ${ours[i].toFixed(2)} s | ${rt ? rt.toFixed(2) + " s" : "–"} | ${
      rt ? (ours[i] / rt).toFixed(2) : "–"
    } |`,
  );
});
