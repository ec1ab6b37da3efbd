/**
 * Prior weights and offsets in lmer (and lm), against lme4 / R
 * (tests/fixtures/weights.R): the weighted REML/ML criterion, θ, β, SEs, σ,
 * logLik, fitted values and residuals.
 */
import assert from "node:assert/strict";
import { lm, lmer, simulate } from "../mod.ts";
import { assertClose, fixture } from "./helpers/datasets.ts";

interface WModel {
  id: string;
  kind: "lm" | "lmer";
  formula: string;
  REML?: boolean;
  weights?: string;
  offset?: string;
  data: Record<string, (number | string)[]>;
  criterion?: number;
  theta?: number[] | number;
  beta: Record<string, number>;
  se: Record<string, number>;
  sigma: number;
  logLik: number;
  fitted: number[];
  residuals: number[];
  pearson?: number[];
  messages?: string[];
}

const models = fixture<{ models: WModel[] }>("weights.json").models;
const arr = (x: number[] | number | undefined) => (Array.isArray(x) ? x : [x ?? NaN]);

for (const m of models.filter((m) => m.kind === "lmer")) {
  Deno.test(`lmer weights/offset: ${m.id} agrees with lme4`, () => {
    const f = lmer(m.formula, m.data, { REML: m.REML, weights: m.weights, offset: m.offset });
    const crit = m.REML ? f.REMLcrit() : f.deviance();
    // never worse than lme4's by more than 1e-7 relative
    assert.ok(
      crit <= m.criterion! + 1e-7 * Math.abs(m.criterion!),
      `criterion ${crit} vs ${m.criterion}`,
    );
    assertClose(crit, m.criterion!, 1e-7, "criterion", 1);
    arr(m.theta).forEach((t, k) => assert.ok(Math.abs(f.theta[k] - t) < 1e-4, `θ${k}`));
    for (const [k, v] of Object.entries(m.beta)) assertClose(f.fixef()[k], v, 1e-6, k, 1);
    const se = f.coefTable().getColumn("stdError").toArray() as number[];
    Object.values(m.se).forEach((v, j) => assertClose(se[j], v, 1e-4, `se ${j}`));
    assertClose(f.sigma, m.sigma, 1e-5, "sigma");
    assertClose(f.logLik(), m.logLik, 1e-7, "logLik", 1);
    const fit = f.fitted(), res = f.residuals();
    m.fitted.forEach((v, i) =>
      assert.ok(Math.abs(fit[i] - v) < 1e-5 * (1 + Math.abs(v)), `fitted ${i}`)
    );
    m.residuals.forEach((v, i) =>
      assert.ok(Math.abs(res[i] - v) < 1e-5 * (1 + Math.abs(v)), `residual ${i}`)
    );
    const scaled = f.residuals({ scaled: true });
    m.pearson!.forEach((v, i) =>
      assert.ok(Math.abs(scaled[i] * f.sigma - v) < 1e-5 * (1 + Math.abs(v)), `pearson ${i}`)
    );
    assert.deepEqual([...f.messages], m.messages ?? []);
  });
}

Deno.test("lmer weights and offset: bad input is named", () => {
  const m = models.find((m) => m.id === "sleepstudy_w_REML")!;
  const f = "Reaction ~ Days + (1 | Subject)";
  assert.throws(() => lmer(f, m.data, { weights: "nope" }), /weights: no column 'nope'/);
  assert.throws(() => lmer(f, m.data, { weights: [1, 2] }), /weights: 2 values for 180 rows/);
  const neg = m.data.w.map((v, i) => (i === 3 ? -1 : Number(v)));
  assert.throws(() => lmer(f, m.data, { weights: neg }), /positive/);
  const nan = m.data.w.map((v, i) => (i === 5 ? NaN : Number(v)));
  assert.throws(() => lmer(f, m.data, { weights: nan }), /weights: row 6 has NaN/);
  assert.throws(
    () => lmer(f, m.data, { offset: "Subject" }),
    /offset: column 'Subject' is not numeric/,
  );
  const withOff = models.find((m) => m.id === "sleepstudy_off_REML")!.data;
  const off = lmer(f, withOff, { offset: "off" });
  assert.throws(() => off.predict({ Days: [1], Subject: ["308"] }), /has an offset/);
  const w = lmer(f, m.data, { weights: "w" });
  assert.throws(() => w.coefTable({ df: "kenward-roger" }), /Kenward-Roger is not available/);
  assert.throws(
    () => w.confint({ method: "profile" }),
    /not available yet for models with prior weights/,
  );
  // Satterthwaite's df work (the weights' constant does not enter derivatives)
  assert.ok(
    Number.isFinite(w.coefTable({ df: "satterthwaite" }).getColumn("df").toArray()[1] as number),
  );
});

Deno.test("lmer weights: weights 4 everywhere: residual sd σ/2 per observation, same fit", () => {
  const m = models.find((m) => m.id === "sleepstudy_w_REML")!;
  const f = "Reaction ~ Days + (Days | Subject)";
  const plain = lmer(f, m.data);
  const four = lmer(f, m.data, { weights: m.data.w.map(() => 4) });
  // residual variance σ²/4 = the unweighted σ²: σ doubles, θ = sd(b)/σ halves,
  // β stays. The optimizers start from the same θ, not from equivalent ones,
  // so compare the optima through the unweighted criterion.
  const twice = Array.from(four.theta, (t) => 2 * t);
  const at = plain.lmm.objective(twice, true);
  assert.ok(at - plain.REMLcrit() < 1e-7 * plain.REMLcrit(), `${at} vs ${plain.REMLcrit()}`);
  plain.theta.forEach((t, k) =>
    assert.ok(Math.abs(twice[k] - t) < 1e-4, `θ${k}: ${four.theta[k]} vs ${t}/2`)
  );
  assertClose(four.sigma, 2 * plain.sigma, 1e-6, "σ doubles with weights 4");
  for (const [k, v] of Object.entries(plain.fixef())) assertClose(four.fixef()[k], v, 1e-6, k);
  // a constant offset is absorbed by the intercept
  const shifted = lmer(f, m.data, { offset: m.data.w.map(() => 100) });
  assertClose(
    shifted.fixef()["(Intercept)"] + 100,
    plain.fixef()["(Intercept)"],
    1e-9,
    "intercept",
  );
  plain.theta.forEach((t, k) =>
    assert.ok(Math.abs(shifted.theta[k] - t) < 1e-7, `θ${k}: ${shifted.theta[k]} vs ${t}`)
  );
});

for (const m of models.filter((m) => m.kind === "lm")) {
  Deno.test(`lm weights/offset: ${m.id} agrees with R`, () => {
    const f = lm(m.formula, m.data, { weights: m.weights, offset: m.offset });
    const coef = f.coef();
    for (const [k, v] of Object.entries(m.beta)) assertClose(coef[k]!, v, 1e-10, k, 1);
    const se = f.coefTable().getColumn("stdError").toArray() as number[];
    Object.values(m.se).forEach((v, j) => assertClose(se[j], v, 1e-10, `se ${j}`));
    assertClose(f.sigma, m.sigma, 1e-10, "sigma");
    // R 4.2.2's summary.lm counts the offset into the explained sum of
    // squares; later R (and we) subtract it first: recompute R's newer value
    // from R's fitted values and residuals where there is an offset
    let r2 = (m as unknown as { r_squared: number }).r_squared;
    if (m.offset) {
      const w = m.weights ? m.data[m.weights].map(Number) : m.fitted.map(() => 1);
      const off = m.data[m.offset].map(Number);
      const fo = m.fitted.map((v, i) => v - off[i]);
      const sw = w.reduce((a, b) => a + b, 0);
      const mean = fo.reduce((a, v, i) => a + w[i] * v, 0) / sw;
      const mss = fo.reduce((a, v, i) => a + w[i] * (v - mean) ** 2, 0);
      const rss = m.residuals.reduce((a, r, i) => a + w[i] * r * r, 0);
      r2 = mss / (mss + rss);
    }
    assertClose(f.rSquared, r2, 1e-10, "R²");
    assertClose(f.logLik(), m.logLik, 1e-10, "logLik", 1);
    const fit = f.fitted(), res = f.residuals();
    m.fitted.forEach((v, i) => assertClose(fit[i], v, 1e-10, `fitted ${i}`, 1));
    m.residuals.forEach((v, i) => assertClose(res[i], v, 1e-9, `residual ${i}`, 1));
  });
}

Deno.test("lm weights: bad input is named; zero weights leave the residual df", () => {
  const m = models.find((m) => m.id === "lm_sleepstudy_w")!;
  assert.throws(() => lm("Reaction ~ Days", m.data, { weights: "nope" }), /weights: no column/);
  const neg = m.data.w.map((v, i) => (i === 0 ? -1 : Number(v)));
  assert.throws(() => lm("Reaction ~ Days", m.data, { weights: neg }), /negative/);
  const zero = m.data.w.map((v, i) => (i < 10 ? 0 : Number(v)));
  const f = lm("Reaction ~ Days", m.data, { weights: zero });
  assert.equal(f.dfResidual, 180 - 10 - 2);
});

Deno.test("simulate with an offset or weights: the offset in the mean, noise sd σ/√w", () => {
  const mo = models.find((m) => m.id === "sleepstudy_off_REML")!;
  const off = lmer(mo.formula, mo.data, { offset: "off" });
  const plain = simulate(off, { nsim: 1, seed: 7, newparams: { sigma: 0, theta: [0] } });
  // σ = 0 and θ = 0: the simulation is Xβ + offset exactly
  const want = off.predict(undefined, { reForm: "none" });
  plain.column(0).forEach((v, i) => assertClose(v, want[i], 1e-12, `row ${i}`, 1));
  assert.throws(() => off.confint({ method: "boot", nsim: 2 }), /bootstrap is not available yet/);
  const mw = models.find((m) => m.id === "sleepstudy_w_REML")!;
  const w = lmer("Reaction ~ Days + (1 | Subject)", mw.data, { weights: "w" });
  // θ = 0: residuals of a simulation are σ e / √w; with the same seed, an
  // unweighted copy draws the same e
  const a = simulate(w, { nsim: 1, seed: 3, newparams: { theta: [0] } }).column(0);
  const eta = w.predict(undefined, { reForm: "none" });
  const e = a.map((v, i) => (v - eta[i]) * Math.sqrt(Number(mw.data.w[i])) / w.sigma);
  const u = lmer("Reaction ~ Days + (1 | Subject)", mw.data);
  const b = simulate(u, { nsim: 1, seed: 3, newparams: { theta: [0] } }).column(0);
  const eta0 = u.predict(undefined, { reForm: "none" });
  b.forEach((v, i) => assertClose((v - eta0[i]) / u.sigma, e[i], 1e-9, `draw ${i}`, 1));
});
