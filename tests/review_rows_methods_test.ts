/**
 * Review of glmer's two-thread row pass: after a fit of ≥ ROW_THREADS_MIN
 * rows, the model's methods (fitted values, residuals, predictions,
 * simulate and refit, anova, profile confidence intervals) and the deviance
 * functions of two models evaluated alternately (each pass relinks the
 * helper to the other model's rows) give the one-thread numbers bit for
 * bit. The helper is forced (forceRowHelper), so the helper's path is taken
 * whatever the machine's load.
 */
import assert from "node:assert/strict";
import {
  forceRowHelper,
  ROW_THREADS_MIN,
  rowHelperChunks,
} from "../lib/models/glmer/row_threads.ts";
import { setDenseThreads } from "../lib/linalg/parallel.ts";
import { anova, confint, glmer, rng, simulate } from "../mod.ts";

function everything(): { numbers: number[]; tables: string } {
  const n = ROW_THREADS_MIN + 4, g = 60;
  const r = rng(5);
  const re = r.rnorm(g), x = r.rnorm(n), u = r.runif(n);
  const grp = Array.from({ length: n }, (_, i) => `g${i % g}`);
  const y = Float64Array.from(
    u,
    (v, i) => (v < 1 / (1 + Math.exp(-(-0.3 + 0.6 * x[i] + 0.8 * re[i % g]))) ? 1 : 0),
  );
  const cnt = Float64Array.from(
    x,
    (v, i) => r.rpois(1, Math.exp(0.2 + 0.3 * v + 0.5 * re[i % g]))[0],
  );
  const d = { y, x, grp, cnt };
  const a = glmer("y ~ x + (1 | grp)", d, { family: "binomial" });
  const b = glmer("cnt ~ x + (1 | grp)", d, { family: "poisson" });
  const a0 = glmer("y ~ 1 + (1 | grp)", d, { family: "binomial" });
  const fa = a.devfun(), fb = b.devfun();
  const pa = [...a.theta, ...a.beta], pb = [...b.theta, ...b.beta];
  const numbers = [fa(pa), fb(pb), fa(pa.map((v) => 1.01 * v)), fb(pb), fa(pa)];
  for (const m of [a, b]) {
    numbers.push(m.deviance(), m.devianceResid(), ...m.theta, ...m.beta, ...m.se());
    numbers.push(...m.fitted(), ...m.predict());
    for (const t of ["deviance", "pearson", "response", "working"] as const) {
      numbers.push(...m.residuals(t));
    }
  }
  const sim = Float64Array.from(simulate(a, { nsim: 1, seed: 3 }).column(0) as ArrayLike<number>);
  numbers.push(
    ...sim,
    glmer("y ~ x + (1 | grp)", { ...d, y: sim }, { family: "binomial" }).deviance(),
  );
  // every column at full precision (a DataFrame's text rounds and elides)
  const tables = JSON.stringify(
    [anova(a0, a), confint(b, { method: "profile", quiet: true })].map((t) => t.toRecords()),
  );
  return { numbers, tables };
}

Deno.test("review rows: glmer's methods on a ≥ 4,096-row fit, helper and one thread alike", () => {
  setDenseThreads(1);
  let one;
  try {
    one = everything();
  } finally {
    setDenseThreads("auto");
  }
  setDenseThreads(2);
  forceRowHelper(true);
  const before = rowHelperChunks();
  let two;
  try {
    two = everything();
  } finally {
    forceRowHelper(false);
    setDenseThreads("auto");
  }
  assert.ok(rowHelperChunks() > before, "the helper ran chunks");
  assert.equal(one.numbers.length, two.numbers.length);
  const bad = one.numbers.findIndex((v, i) => !Object.is(v, two.numbers[i]));
  assert.equal(bad, -1, `number ${bad}: ${one.numbers[bad]} vs ${two.numbers[bad]}`);
  assert.equal(one.tables, two.tables);
});
