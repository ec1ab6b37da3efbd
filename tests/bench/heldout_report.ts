/**
 * Results table for the held-out lme4 fits (tests/fixtures/heldout.json):
 * how our default lmer's criterion compares with lme4's, and θ agreement.
 *
 *   deno run -A tests/bench/heldout_report.ts [--all]
 *
 * --all also prints one line per fit.
 */
import { classify, compareHeldout, type HeldoutClass, heldoutFixture } from "../helpers/heldout.ts";

const fx = heldoutFixture();
const all = Deno.args.includes("--all");
const counts: Record<HeldoutClass, number> = {
  "equal1e-10": 0,
  "equal1e-7": 0,
  better: 0,
  worse: 0,
};
const notable: string[] = [];
let thetaMax = 0;
let thetaMaxId = "";
let thetaMaxClean = 0;
let thetaMaxCleanId = "";
let restarted = 0;
const thetaWithin = { "1e-6": 0, "5e-4": 0 };
for (const m of fx.models) {
  const c = compareHeldout(fx, m);
  const cls = classify(c.rel);
  counts[cls]++;
  if (c.restarts.length) restarted++;
  if (c.thetaMaxAbs <= 1e-6) thetaWithin["1e-6"]++;
  if (c.thetaMaxAbs <= 5e-4) thetaWithin["5e-4"]++;
  if (!(c.thetaMaxAbs <= thetaMax)) [thetaMax, thetaMaxId] = [c.thetaMaxAbs, m.id];
  if (cls !== "better" && cls !== "worse" && !(c.thetaMaxAbs <= thetaMaxClean)) {
    [thetaMaxClean, thetaMaxCleanId] = [c.thetaMaxAbs, m.id];
  }
  const alt = (m as { alt_criterion?: Record<string, number> }).alt_criterion;
  const line = `${m.id.padEnd(36)} ${cls.padEnd(10)} ours ${c.ours.toFixed(6).padStart(13)} ` +
    `lme4 ${c.lme4.toFixed(6).padStart(13)} rel ${c.rel.toExponential(2).padStart(9)} ` +
    `max|dθ| ${c.thetaMaxAbs.toExponential(2)}` +
    (c.restarts.length ? ` restarts ${c.restarts.length}` : "");
  if (all) console.log(line);
  if (cls === "better" || cls === "worse") {
    notable.push(
      `| ${m.id} | \`${m.formula.replaceAll("|", "\\|")}\` | ${c.ours.toFixed(6)} | ${
        c.lme4.toFixed(6)
      } | ` +
        `${c.rel.toExponential(2)} | ${
          alt ? `${alt.bobyqa.toFixed(6)} / ${alt.Nelder_Mead.toFixed(6)}` : ""
        } | ${m.messages.join("; ").replace(/\n.*/g, "").replaceAll("|", "\\|")} |`,
    );
  }
}

const n = fx.models.length;
console.log(
  `Held-out set: ${n} lmer fits (${fx.models.filter((m) => m.REML).length} REML, ` +
    `${fx.models.filter((m) => !m.REML).length} ML) on ${fx.datasets.length} datasets, ` +
    `lme4 ${fx.lme4}; ${
      fx.models.filter((m) => m.messages.some((s) => s.startsWith("Model failed"))).length
    } ` +
    `with lme4 gradient-check failures; ${restarted} of ours restarted.\n`,
);
console.log("| criterion vs lme4 (relative)                | fits |");
console.log("| ------------------------------------------- | ---: |");
console.log(`| equal within 1e-10                          | ${counts["equal1e-10"]} |`);
console.log(`| equal within 1e-7 (not 1e-10)               | ${counts["equal1e-7"]} |`);
console.log(`| better (lower) by more than 1e-7            | ${counts.better} |`);
console.log(`| worse by more than 1e-7                     | ${counts.worse} |`);
console.log(
  `\nmax |θ − θ_lme4| over all fits: ${thetaMax.toExponential(2)} (${thetaMaxId}); ` +
    `over fits equal within 1e-7: ${thetaMaxClean.toExponential(2)} (${thetaMaxCleanId}); ` +
    `max |θ − θ_lme4| ≤ 1e-6 in ${thetaWithin["1e-6"]} fits, ≤ 5e-4 in ${thetaWithin["5e-4"]}`,
);
if (notable.length) {
  console.log(
    "\n| fit | formula | ours | lme4 | rel | lme4 bobyqa / Nelder_Mead | lme4 messages |\n" +
      "| --- | --- | ---: | ---: | ---: | ---: | --- |",
  );
  for (const l of notable) console.log(l);
}
