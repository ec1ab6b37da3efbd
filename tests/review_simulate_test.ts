/**
 * Review of simulate() for glmer (and the newparams it shares with lmer)
 * from a notebook user's side: lme4's spellings that mean something else
 * here, scalars where R takes a length-1 vector, wrong types, and the
 * memory guard refusing before anything is allocated or drawn.
 */
import assert from "node:assert/strict";
import { dataset, glmer, lmer, rng, simulate } from "../mod.ts";

// deno-lint-ignore no-explicit-any
type Loose = any;

const cbpp = glmer(
  "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  dataset("cbpp"),
  { family: "binomial" },
);
const sleep = lmer("Reaction ~ Days + (1 | Subject)", dataset("sleepstudy"));

Deno.test("simulate(glmer): reForm null (R's re.form = NULL means the fitted effects) is refused, not read as none", () => {
  // before: null fell back to "none", the opposite of what lme4's re.form = NULL means
  assert.throws(
    () => simulate(cbpp, { reForm: null as Loose }),
    /'reForm' must be "none" .* or "full" \(the fitted ones, re.form = NULL\), got null/,
  );
  // undefined is the default
  assert.deepEqual(
    Array.from(simulate(cbpp, { reForm: undefined, seed: 3 }).values),
    Array.from(simulate(cbpp, { seed: 3 }).values),
  );
});

Deno.test("simulate: newparams.theta / beta / sigma as a number is R's length-1 vector", () => {
  // before: "newparams.theta has undefined values, expected 1"
  const a = simulate(cbpp, { seed: 5, newparams: { theta: 0.5 as Loose } });
  const b = simulate(cbpp, { seed: 5, newparams: { theta: [0.5] } });
  assert.deepEqual(Array.from(a.values), Array.from(b.values));
  const c = simulate(sleep, { seed: 5, newparams: { theta: 0.9 as Loose, sigma: 20 } });
  const d = simulate(sleep, { seed: 5, newparams: { theta: [0.9], sigma: 20 } });
  assert.deepEqual(Array.from(c.values), Array.from(d.values));
});

Deno.test("simulate: newparams of the wrong type are named, for glmer and lmer fits", () => {
  const sim: Loose = simulate;
  for (const m of [cbpp, sleep]) {
    // before: a string's characters were counted ("has 3 values"), its
    // elements reported as numbers ("1 is not a finite number")
    assert.throws(
      () => sim(m, { newparams: { theta: "0.5" } }),
      /newparams.theta must be a number or an array of numbers, got a string \("0.5"\)/,
    );
    assert.throws(
      () => sim(m, { newparams: { theta: ["1"] } }),
      /newparams.theta\[1\] is a string \("1"\), not a finite number/,
    );
    assert.throws(
      () => sim(m, { newparams: { theta: [NaN] } }),
      /newparams.theta\[1\] is a number \(NaN\), not a finite number/,
    );
    assert.throws(
      () => sim(m, { newparams: { beta: [1] } }),
      /newparams.beta has 1 values, expected/,
    );
    assert.throws(
      () => sim(m, { newparams: { theta: null } }),
      /newparams.theta must be a number or an array of numbers, got null/,
    );
  }
  // lmer: before, null was an internal TypeError and a misspelt name was ignored
  assert.throws(
    () => simulate(sleep, { newparams: null as Loose }),
    /newparams: options must be an object, got null/,
  );
  assert.throws(
    () => simulate(sleep, { newparams: { sigm: 2 } as Loose }),
    /unknown option 'sigm'.*sigma/,
  );
  assert.throws(
    () => simulate(sleep, { newparams: { sigma: "2" as Loose } }),
    /newparams.sigma must be a finite number >= 0, got a string \("2"\)/,
  );
  assert.throws(
    () => simulate(sleep, { newparams: { sigma: -1 } }),
    /newparams.sigma must be a finite number >= 0, got a number \(-1\)/,
  );
});

Deno.test("simulate(glmer): the memory guard refuses before drawing; the stream is untouched", () => {
  const r = rng(11), ref = rng(11);
  assert.throws(() => simulate(cbpp, { nsim: 1e7, rng: r }), /at most 1,092,896 simulations/);
  assert.throws(() => simulate(cbpp, { nsim: 2 ** 60, rng: r }), /Simulate in batches/);
  assert.deepEqual(Array.from(r.runif(2)), Array.from(ref.runif(2)));
});
