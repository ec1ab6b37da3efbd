/**
 * simulate() of glmer fits against lme4 1.1-31's simulate(m, nsim, seed)
 * (tests/fixtures/glmer_simulate.json, written by glmer_simulate.R): every
 * simulated count, proportion, success/failure and factor level identical
 * (===), from our own fits and from lme4's θ and β (newparams), for cbind,
 * proportion-with-weights, 0/1, factor and Poisson (with offset) responses,
 * re.form = NA (new random effects) and re.form = NULL (fitted modes).
 */
import assert from "node:assert/strict";
import { dataset, type GeneralizedLinearMixedModel, glmer, rng, simulate } from "../mod.ts";
import type { GlmerOptions } from "../mod.ts";
import { GlmerSimulations, MAX_SIMULATION_DOUBLES } from "../advanced.ts";
import { pl } from "../lib/deps.ts";
import type { DataFrame } from "../lib/deps.ts";
import { JUPYTER_DISPLAY } from "../lib/display/bundle.ts";
import { cachedFits, derivedData } from "./helpers/glmerFixture.ts";

interface Case {
  id: string;
  formula: string;
  family: "binomial" | "poisson";
  dataset: string;
  weights: string | null;
  offset: string | null;
  derived: Record<string, string> | null;
  nsim: number;
  seed: number;
  reForm: "NA" | "NULL";
  nobs: number;
  theta: number[];
  beta: Record<string, number>;
  kind: "numeric" | "cbind" | "factor";
  sims?: Record<string, number[]>;
  successes?: Record<string, number[]>;
  failures?: Record<string, number[]>;
  colnames?: string[];
  codes?: Record<string, number[]>;
  levels?: string[];
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/glmer_simulate.json", import.meta.url)),
) as { cases: Case[] };

const fit = cachedFits((c: Case): GeneralizedLinearMixedModel => {
  const options: GlmerOptions = {
    family: c.family,
    ...(c.weights ? { weights: c.weights } : {}),
    ...(c.offset ? { offset: c.offset } : {}),
  };
  return glmer(c.formula, derivedData(c.dataset, c.derived), options);
});

/**
 * Every value identical, or at most `allowed` differences in the whole
 * case (counted in `budget`); reports how many differ and the first.
 */
function assertSame(
  got: ArrayLike<number>,
  want: number[],
  what: string,
  budget = { allowed: 0, used: 0 },
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const bad: number[] = [];
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) bad.push(i);
  budget.used += bad.length;
  assert.ok(
    budget.used <= budget.allowed,
    `${what}: ${bad.length} of ${want.length} differ, first row ${bad[0] + 1}: ${
      got[bad[0]]
    } vs lme4 ${want[bad[0]]}`,
  );
}

/**
 * Draws that may differ when simulating from our own fit: lme4's fit of
 * `contraception` stops before convergence (max|grad| 0.0025 > tol 0.002; its
 * β differs from ours by up to 1.1e-4 relative, θ by 5e-5), so a
 * Bernoulli draw whose uniform falls between the two fits' probabilities
 * flips: 1 of its 7,736 draws at seed 99. From lme4's θ and β (newparams)
 * every draw is identical, and the other fits agree closely enough that all
 * their draws are identical.
 */
const OWN_FIT_MISMATCHES: Record<string, number> = { contraception: 2 };

/** Compare one simulate() result with the fixture case. */
function check(sims: GlmerSimulations, c: Case, what: string, allowed = 0): void {
  const budget = { allowed, used: 0 };
  assert.ok(sims instanceof GlmerSimulations, what);
  assert.equal(sims.kind, c.kind, `${what}: kind`);
  assert.equal(sims.nsim, c.nsim);
  assert.equal(sims.height, c.nobs);
  assert.deepEqual(sims.columns, Array.from({ length: c.nsim }, (_, k) => `sim_${k + 1}`));
  if (c.kind === "numeric") {
    Object.values(c.sims ?? {}).forEach((v, k) =>
      assertSame(sims.column(k), v, `${what} sim ${k + 1}`, budget)
    );
  } else if (c.kind === "cbind") {
    assert.deepEqual(sims.responseNames, c.colnames);
    Object.values(c.successes ?? {}).forEach((v, k) =>
      assertSame(sims.column(k), v, `${what} successes sim ${k + 1}`, budget)
    );
    Object.values(c.failures ?? {}).forEach((v, k) =>
      assertSame(sims.failures!.column(k), v, `${what} failures sim ${k + 1}`, budget)
    );
    // as.data.frame(simulate(m)): two columns per simulation, R's V<j> for an unnamed one
    const df = sims.toDataFrame();
    const [a, b] = c.colnames!.map((nm, j) => nm || `V${j + 1}`);
    assert.deepEqual(
      df.columns,
      Array.from({ length: c.nsim }, (_, k) => [`sim_${k + 1}.${a}`, `sim_${k + 1}.${b}`]).flat(),
    );
    for (let k = 0; k < c.nsim; k++) {
      assert.deepEqual(df.getColumn(`sim_${k + 1}.${a}`).toArray(), Array.from(sims.column(k)));
      assert.deepEqual(
        df.getColumn(`sim_${k + 1}.${b}`).toArray(),
        Array.from(sims.failures!.column(k)),
      );
    }
  } else {
    assert.deepEqual(sims.levels, c.levels);
    Object.values(c.codes ?? {}).forEach((v, k) => {
      assertSame(sims.column(k), v, `${what} codes sim ${k + 1}`, budget);
      const labels = sims.labels(k);
      Array.from(sims.column(k)).forEach((code, i) => assert.equal(labels[i], c.levels![code]));
    });
    // as.data.frame(simulate(m)): factor columns of level names
    const df = sims.toDataFrame();
    for (let k = 0; k < c.nsim; k++) {
      assert.deepEqual(df.getColumn(`sim_${k + 1}`).toArray(), sims.labels(k));
    }
  }
}

for (const c of fx.cases) {
  const name = `simulate ${c.id} nsim=${c.nsim} seed=${c.seed} re.form=${c.reForm}`;
  Deno.test(`${name}: identical to lme4 from our fit`, () => {
    const m = fit(c);
    const sims = simulate(m, {
      nsim: c.nsim,
      seed: c.seed,
      reForm: c.reForm === "NA" ? "none" : "full",
    });
    check(sims, c, name, OWN_FIT_MISMATCHES[c.id] ?? 0);
  });
  if (c.reForm === "NA") {
    Deno.test(`${name}: identical to lme4 from lme4's theta and beta`, () => {
      const m = fit(c);
      assert.deepEqual([...m.fixedNames], Object.keys(c.beta));
      const sims = simulate(m, {
        nsim: c.nsim,
        seed: c.seed,
        newparams: { theta: c.theta, beta: Object.values(c.beta) },
      });
      check(sims, c, `${name} (lme4's parameters)`);
    });
  }
}

const byId = (id: string) => fx.cases.find((c) => c.id === id)!;

Deno.test("glmer simulate: seed and rng(seed) agree, and the stream continues", () => {
  const c = byId("grouseticks");
  const m = fit(c);
  const a = simulate(m, { nsim: 2, seed: 42 });
  const r = rng(42);
  const b = simulate(m, { nsim: 2, rng: r });
  assert.deepEqual(a.values, b.values);
  // a continued stream goes on where the first call stopped (R without a seed)
  const next = simulate(m, { nsim: 1, rng: r });
  const r2 = rng(42);
  simulate(m, { nsim: 2, rng: r2 });
  assert.deepEqual(next.values, simulate(m, { nsim: 1, rng: r2 }).values);
  assert.notDeepEqual(next.column(0), a.column(0));
});

Deno.test("glmer simulate: reForm 'full' draws no random effects", () => {
  // with the fitted modes the stream is used by rbinom alone
  const c = byId("cbpp");
  const m = fit(c);
  const sims = simulate(m, { nsim: 1, seed: 5, reForm: "full" });
  const r = rng(5);
  const mu = m.fitted();
  const w = m.frame.weights;
  assertSame(sims.column(0), Array.from(r.rbinom(m.nobs, w, mu)), "rbinom(n, w, mu)");
});

Deno.test("glmer simulate: display shows successes and failures, factor levels", () => {
  const cb = simulate(fit(byId("cbpp")), { nsim: 2, seed: 1 });
  const text = cb.toString();
  assert.match(text, /sim_1\.incidence/);
  assert.match(text, /sim_1\.2/);
  assert.match(text, /56 × 2 simulations of \(successes, failures\)/);
  assert.match(cb[JUPYTER_DISPLAY]()["text/html"] as string, /sim_2\.incidence/);
  const fac = simulate(fit(byId("contraception")), { nsim: 1, seed: 3 });
  assert.match(fac.toString(), /\b[NY]\b/);
  assert.throws(() => cb.labels(0), /not a factor/);
});

Deno.test("glmer simulate: bad input gets clear errors; memory guard before drawing", () => {
  const m = fit(byId("cbpp"));
  assert.throws(() => simulate(m, { nsim: 0 }), /nsim must be a positive integer/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => simulate(m, { reForm: "NA" as any }), /'reForm' must be "none"/);
  assert.throws(
    () => simulate(m, { reForm: "full", newparams: { beta: [0, 0, 0, 0] } }),
    /'newparams' needs reForm "none"/,
  );
  assert.throws(() => simulate(m, { newparams: { beta: [1] } }), /newparams.beta has 1 values/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => simulate(m, { newparams: { sigma: 1 } as any }), /unknown option 'sigma'/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => simulate(m, { nsims: 2 } as any), /unknown option 'nsims'/);
  const big = Math.ceil(MAX_SIMULATION_DOUBLES / (3 * m.nobs)) + 1;
  assert.throws(() => simulate(m, { nsim: big, seed: 1 }), /the limit is 2e\+8 numbers/);
});

Deno.test("glmer simulate: non-integer binomial weights are refused as lme4 does", () => {
  const d = dataset("cbpp") as unknown as DataFrame;
  const inc = d.getColumn("incidence").toArray() as number[];
  const size = d.getColumn("size").toArray() as number[];
  const data = d
    .withColumn(pl.Series("prop", inc.map((v, i) => v / size[i])))
    .withColumn(pl.Series("w", size.map((s) => s * 1.5)));
  const m = glmer("prop ~ period + (1 | herd)", data, { family: "binomial", weights: "w" });
  assert.throws(() => simulate(m, { seed: 1 }), /cannot simulate from non-integer prior.weights/);
});
