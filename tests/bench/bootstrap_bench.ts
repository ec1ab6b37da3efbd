/**
 * Cost of the parametric bootstrap per replicate, and of the profile.
 *
 *   deno bench -A tests/bench/bootstrap_bench.ts     # Deno.bench cases
 *   deno run -A tests/bench/bootstrap_bench.ts       # a report: ms per replicate,
 *                                                    # evaluations per refit, and
 *                                                    # the same with a full refit()
 *
 * A replicate is: simulate one response (lme4's draws), rewrite the y parts
 * of the cross-products (RefitCore.setResponse), re-optimise θ from θ̂. The
 * baseline "full refit" builds a new model (all cross-products, checks,
 * derivatives) per replicate, as lme4's refit() does.
 */
import { createData, dataset, lmer } from "../../mod.ts";
import type { LinearMixedModel } from "../../lib/models/lmer/model.ts";
import { bootMer } from "../../lib/inference/bootstrap.ts";
import { profile } from "../../lib/inference/profile.ts";
import { refit, RefitCore } from "../../lib/models/lmer/refit.ts";
import { simulateResponses } from "../../lib/simulate/simulateMerMod.ts";

const models: Record<string, () => LinearMixedModel> = {
  "sleepstudy (Days | Subject)": () =>
    lmer("Reaction ~ Days + (Days | Subject)", dataset("sleepstudy")),
  "Clark default y ~ x + (x | cluster)": () => lmer("y ~ x + (x | cluster)", createData()),
};

for (const [name, make] of Object.entries(models)) {
  const m = make();
  const ys = simulateResponses(m, { nsim: 64, seed: 1 });
  const core = RefitCore.fromModel(m);
  let k = 0;
  Deno.bench(`${name}: one bootstrap replicate (y parts + refit)`, { group: name }, () => {
    core.setResponse(ys[k++ % ys.length]);
    core.fit({ reml: m.REML, start: m.theta });
  });
  Deno.bench(`${name}: full refit() per replicate (baseline)`, { group: name }, () => {
    refit(m, ys[k++ % ys.length]);
  });
}
Deno.bench("sleepstudy (Days | Subject): profile, all 6 parameters", () => {
  profile(models["sleepstudy (Days | Subject)"]());
});

/** The report printed by `deno run`. */
function report(): void {
  console.log("parametric bootstrap, per replicate (warm, median of 3 runs of nsim = 200)\n");
  for (const [name, make] of Object.entries(models)) {
    const m = make();
    bootMer(m, { nsim: 20, seed: 9 }); // warm-up
    const runs = [1, 2, 3].map((s) => bootMer(m, { nsim: 200, seed: s }));
    runs.sort((a, b) => a.msPerReplicate - b.msPerReplicate);
    const b = runs[1];
    const evals = b.evaluations / b.nsim;
    const ys = simulateResponses(m, { nsim: 20, seed: 4 });
    const t0 = performance.now();
    for (const y of ys) refit(m, y);
    const full = (performance.now() - t0) / ys.length;
    console.log(
      `${name} (n = ${m.nobs}, θ of length ${m.theta.length}, ${m.REML ? "REML" : "ML"})`,
    );
    console.log(
      `  bootstrap replicate: ${b.msPerReplicate.toFixed(3)} ms ` +
        `(${evals.toFixed(0)} criterion evaluations per refit, ` +
        `${((1000 * b.msPerReplicate) / evals).toFixed(1)} µs each)`,
    );
    console.log(`  full refit() instead: ${full.toFixed(3)} ms per replicate`);
    console.log(
      `  nsim = 500 (lme4's confint default): ~${(0.5 * b.msPerReplicate).toFixed(2)} s\n`,
    );
  }
  const m = models["sleepstudy (Days | Subject)"]();
  profile(m);
  const pr = profile(m);
  console.log(
    `profile of sleepstudy (Days | Subject), 6 parameters: ${pr.seconds.toFixed(3)} s ` +
      `(${pr.evaluations} evaluations)`,
  );
}

if (import.meta.main) report();
