/**
 * simulate() against lme4 1.1-31's simulate(m, nsim, seed = 101)
 * (tests/fixtures/confint.json): from lme4's exact parameters the
 * simulated responses equal R's to 1e-10 (lme4's order of draws with the
 * R-identical generator); from our own fit, to the fits' agreement. And the
 * refit machinery the bootstrap runs on (RefitCore, refit()).
 */
import assert from "node:assert/strict";
import { fitCache } from "./helpers/lmerFixture.ts";
import { lmer, rng } from "../mod.ts";
import type { Cell } from "../lib/data/frame.ts";
import { datasetColumns, fixture } from "./helpers/datasets.ts";
import {
  MAX_SIMULATION_DOUBLES,
  simulate,
  simulateResponses,
  Simulations,
} from "../lib/simulate/simulateMerMod.ts";
import { bootMer, bootMerAsync, MAX_BOOT_NSIM } from "../lib/inference/bootstrap.ts";
import { confintResult } from "../lib/inference/confint.ts";
import { JUPYTER_DISPLAY } from "../lib/display/bundle.ts";
import { refit, RefitCore } from "../lib/models/lmer/refit.ts";

interface ModelFx {
  id: string;
  formula: string;
  REML: boolean;
  dataset?: string;
  data?: Record<string, Cell[]>;
}
interface SimFx {
  model: string;
  nsim: number;
  seed: number;
  theta: number[] | number;
  beta: number[] | number;
  sigma: number;
  sims: Record<string, number[]>;
}
const fx = fixture<{ models: ModelFx[]; simulate: SimFx[] }>("confint.json");
const arr = (x: number[] | number) => (Array.isArray(x) ? x : [x]);

const fit = fitCache(fx.models);

for (const s of fx.simulate) {
  Deno.test(`simulate ${s.model} nsim=${s.nsim} seed=${s.seed} equals lme4's`, () => {
    const f = fit(s.model);
    const ref = Object.values(s.sims);
    // lme4's parameters: the simulation itself, to rounding
    const exact = simulateResponses(f, {
      nsim: s.nsim,
      seed: s.seed,
      newparams: { theta: arr(s.theta), beta: arr(s.beta), sigma: s.sigma },
    });
    ref.forEach((col, k) =>
      col.forEach((v, i) => {
        assert.ok(
          Math.abs(exact[k][i] - v) <= 1e-10 * Math.max(1, Math.abs(v)),
          `sim ${k} row ${i}`,
        );
      })
    );
    // our own fit: as close as the fits are (θ̂, σ̂, β̂ agree to ~1e-7 relative)
    const df = simulate(f, { nsim: s.nsim, seed: s.seed });
    assert.deepEqual(df.columns, ref.map((_, k) => `sim_${k + 1}`));
    assert.equal(df.height, f.nobs);
    ref.forEach((col, k) => {
      const ours = df.getColumn(`sim_${k + 1}`).toArray() as number[];
      col.forEach((v, i) => {
        assert.ok(
          Math.abs(ours[i] - v) <= 1e-6 * Math.max(1, Math.abs(v)),
          `own fit sim ${k} row ${i}`,
        );
      });
    });
  });
}

Deno.test("simulate: seed and rng(seed) agree; streams continue; bad options throw", () => {
  const f = fit("seed003_s1_REML");
  const a = simulateResponses(f, { nsim: 2, seed: 7 });
  const b = simulateResponses(f, { nsim: 2, rng: rng(7) });
  assert.deepEqual(a, b);
  const r = rng(7);
  const c1 = simulateResponses(f, { rng: r });
  const c2 = simulateResponses(f, { rng: r });
  assert.notDeepEqual(c1[0], c2[0]);
  assert.equal(simulateResponses(f).length, 1); // no seed: a random one
  assert.throws(() => simulateResponses(f, { nsim: 0 }), /nsim must be a positive integer/);
  assert.throws(() => simulateResponses(f, { seed: 1, rng: rng(1) }), /either 'seed' or 'rng'/);
  assert.throws(
    () => simulateResponses(f, { newparams: { theta: [1, 2] } }),
    /newparams.theta has 2 values, expected 1/,
  );
});

Deno.test("simulate: moments match the model (nsim = 400)", () => {
  // Dyestuff (1 | Batch): Var(y) = σ_b² + σ², Cov within a batch = σ_b²
  const f = fit("dyestuff_REML");
  const ys = simulateResponses(f, { nsim: 400, seed: 3 });
  const sb2 = (f.theta[0] * f.sigma) ** 2, s2 = f.sigma ** 2;
  let v = 0, c = 0;
  const mu = f.solution.beta[0];
  for (const y of ys) {
    v += (y[0] - mu) ** 2;
    c += (y[0] - mu) * (y[1] - mu); // rows 1 and 2 are in the same batch
  }
  v /= ys.length;
  c /= ys.length;
  assert.ok(Math.abs(v / (sb2 + s2) - 1) < 0.25, `variance ${v} vs ${sb2 + s2}`);
  assert.ok(Math.abs(c / sb2 - 1) < 0.35, `covariance ${c} vs ${sb2}`);
});

Deno.test("RefitCore: the model's own response reproduces its criterion; refits match lmer", () => {
  const f = fit("sleepstudy_slope_REML");
  const core = RefitCore.fromModel(f);
  const obj = core.objective(f.theta, true);
  assert.ok(Math.abs(obj - f.REMLcrit()) < 1e-9 * Math.abs(obj));
  core.beta().forEach((b, j) => assert.ok(Math.abs(b - f.solution.beta[j]) < 1e-9));
  // a new response: only the y parts change, and the refit equals a full lmer fit
  const [y] = simulateResponses(f, { seed: 99 });
  core.setResponse(y);
  const r = core.fit({ reml: true, start: f.theta });
  const data = { ...datasetColumns("sleepstudy"), Reaction: Array.from(y) };
  const full = lmer("Reaction ~ Days + (Days | Subject)", data);
  assert.ok(Math.abs(r.objective - full.REMLcrit()) < 1e-6, "criterion");
  r.theta.forEach((t, k) => assert.ok(Math.abs(t - full.theta[k]) < 1e-4, `theta ${k}`));
  r.beta.forEach((b, j) => assert.ok(Math.abs(b - full.solution.beta[j]) < 1e-4, `beta ${j}`));
  assert.ok(Math.abs(r.sigma / full.sigma - 1) < 1e-5, "sigma");
  // the whole model, as lme4's refit()
  const m1 = refit(f, y);
  assert.ok(Math.abs(m1.REMLcrit() - full.REMLcrit()) < 1e-6);
  assert.deepEqual(m1.thetaNames, f.thetaNames);
  assert.throws(() => core.setResponse(y.subarray(1)), /response has length 179, expected 180/);
  assert.throws(() => refit(f, [...y.subarray(1), NaN]), /response value 180 is NaN/);
});

Deno.test("RefitCore.dropColumn: β_j in an offset, cross-products only", () => {
  const f = fit("sleepstudy_slope_ML");
  const core = RefitCore.fromModel(f);
  // with β_j fixed at its conditional optimum β̂_j(θ), the reduced ML deviance
  // at θ equals the full one at θ (β profiled out either way)
  const theta = Float64Array.of(0.8, 0.1, 0.3);
  const full = core.objective(theta, false);
  const bhat = core.beta();
  for (let j = 0; j < 2; j++) {
    const fe = core.dropColumn(j);
    fe.setOffset(bhat[j]);
    const red = fe.objective(theta, false);
    assert.ok(Math.abs(red - full) < 1e-9 * Math.abs(full), `column ${j}: ${red} vs ${full}`);
    fe.setOffset(bhat[j] + 1);
    assert.ok(fe.objective(theta, false) > full);
  }
  assert.throws(() => core.dropColumn(2), /column 2 is not in 0..1/);
  assert.throws(() => core.setOffset(1), /only a core from dropColumn/);
});

Deno.test("simulate: one nobs × nsim matrix with a DataFrame's read side and a short display", () => {
  const f = fit("dyestuff_REML"); // 30 rows, 6 batches
  const sims = simulate(f, { nsim: 3, seed: 1 });
  assert.ok(sims instanceof Simulations);
  assert.equal(sims.values.length, 30 * 3);
  assert.deepEqual([sims.nrow, sims.nsim, sims.height], [30, 3, 30]);
  const list = simulateResponses(f, { nsim: 3, seed: 1 });
  list.forEach((y, s) => assert.deepEqual(sims.column(s), y));
  assert.equal(sims.get(4, 2), list[2][4]);
  assert.deepEqual(sims.getColumn("sim_2").toArray(), Array.from(list[1]));
  assert.throws(() => sims.getColumn("sim_4"), /no column 'sim_4'/);
  assert.deepEqual([...sims].length, 3);
  assert.deepEqual(sims.toDataFrame().columns, ["sim_1", "sim_2", "sim_3"]);
  assert.equal(sims.toRecords()[4].sim_3, list[2][4]);
  assert.match(String(sims), /sim_1 +sim_2 +sim_3\n1 /);
  assert.match(String(sims), /30 × 3 simulations/);

  // many simulations: one Float64Array, a display of the first ten
  const big = simulate(f, { nsim: 100_000, seed: 2 });
  assert.equal(big.values.length, 3_000_000);
  assert.ok(big.column(99_999).every(Number.isFinite));
  assert.equal(big.columns.length, 100_000);
  const bundle = big[JUPYTER_DISPLAY]();
  assert.match(bundle["text/plain"] as string, /first 10 shown, 99,990 more/);
  assert.doesNotMatch(bundle["text/plain"] as string, /sim_11/);
  assert.match(bundle["text/html"] as string, /<table/);
});

Deno.test("simulate and bootMer refuse absurd nsim before drawing, saying the limit", async () => {
  const f = fit("dyestuff_REML");
  const perSim = f.nobs + f.lmm.q; // 30 + 6
  assert.equal(MAX_SIMULATION_DOUBLES, 2e8);
  const r = rng(1);
  assert.throws(
    () => simulate(f, { nsim: 1e7, rng: r }),
    new RegExp(
      `simulate: nsim = 10000000 would hold 3.60e\\+8 numbers .*the limit is 2e\\+8 numbers ` +
        `\\(${perSim} per simulation: at most ${
          Math.floor(2e8 / perSim).toLocaleString("en-US")
        } simulations\\)`,
    ),
  );
  // nothing was drawn from the stream
  assert.deepEqual(simulate(f, { rng: r }).column(0), simulate(f, { seed: 1 }).column(0));
  assert.throws(() => simulateResponses(f, { nsim: 1e7 }), /the limit is 2e\+8 numbers/);
  assert.equal(MAX_BOOT_NSIM, 1e6);
  assert.throws(() => bootMer(f, { nsim: 1e7 }), /bootMer: nsim = 10000000 is more than the 1e\+6/);
  await assert.rejects(
    () => bootMerAsync(f, { nsim: 2e6, progress: false }),
    /more than the 1e\+6/,
  );
  assert.throws(
    () => confintResult(f, { method: "boot", nsim: 1e9 }),
    /bootMer: nsim = 1000000000 is more than/,
  );
});
