/**
 * lm against R: every model in tests/fixtures/lm.json (written by lm.R),
 * coefficients, SEs, t, p, sigma, R², F, logLik, AIC, BIC, fitted and
 * residuals within 1e-10 relative, aliased coefficients as R's NA.
 */
import assert from "node:assert/strict";
import { lm } from "../mod.ts";
import type { Cell } from "../lib/data/frame.ts";
import { assertClose, dataset, fixture } from "./helpers/datasets.ts";

interface LmFixture {
  id: string;
  formula: string;
  dataset?: string;
  data?: Record<string, Cell[]>;
  coef: Record<string, number | null>;
  se: Record<string, number | null>;
  t: Record<string, number | null>;
  p: Record<string, number | null>;
  sigma: number;
  r_squared: number;
  adj_r_squared: number;
  fstatistic: { value: number; numdf: number; dendf: number };
  f_p_value: number;
  logLik: number;
  AIC: number;
  BIC: number;
  df_residual: number;
  nobs: number;
  fitted: number[];
  residuals: number[];
  aliased: string[];
  predict?: { newdata: Record<string, number[]>; fit: number[] };
  summary_text: string;
}

const { models } = fixture<{ models: LmFixture[] }>("lm.json");
const TOL = 1e-10; // relative, as the issue requires

function fit(m: LmFixture) {
  if (m.dataset) {
    const d = dataset(m.dataset);
    return lm(m.formula, d.data, d.options);
  }
  return lm(m.formula, m.data!);
}

for (const m of models) {
  Deno.test(`lm ${m.id}: ${m.formula} agrees with R`, () => {
    const f = fit(m);
    const coef = f.coef();
    assert.deepEqual(Object.keys(coef), Object.keys(m.coef), "coefficient names and order");
    const rows = new Map(f.coefRows().map((r) => [r.term, r]));
    for (const [name, value] of Object.entries(m.coef)) {
      if (value === null) {
        assert.equal(coef[name], null, `${name} should be aliased (NA)`);
        continue;
      }
      const r = rows.get(name)!;
      assertClose(r.estimate, value, TOL, `${name} estimate`);
      assertClose(r.stdError, m.se[name]!, TOL, `${name} SE`);
      assertClose(r.statistic, m.t[name]!, TOL, `${name} t`);
      assertClose(r.pValue, m.p[name]!, 1e-9, `${name} p`, 1e-300);
    }
    assert.deepEqual([...f.aliased], m.aliased);
    assertClose(f.sigma, m.sigma, TOL, "sigma");
    assertClose(f.rSquared, m.r_squared, TOL, "R²");
    assertClose(f.adjRSquared, m.adj_r_squared, TOL, "adjusted R²");
    assertClose(f.fStatistic!.value, m.fstatistic.value, TOL, "F");
    assert.equal(f.fStatistic!.numdf, m.fstatistic.numdf);
    assert.equal(f.fStatistic!.dendf, m.fstatistic.dendf);
    assertClose(f.logLik(), m.logLik, TOL, "logLik");
    assertClose(f.AIC(), m.AIC, TOL, "AIC");
    assertClose(f.BIC(), m.BIC, TOL, "BIC");
    assert.equal(f.dfResidual, m.df_residual);
    assert.equal(f.nobs, m.nobs);
    const fitted = f.fitted(), res = f.residuals();
    m.fitted.forEach((v, i) => assertClose(fitted[i], v, TOL, `fitted[${i}]`));
    // Residuals can be near zero: compare on the scale of the response.
    const scale = Math.max(...m.fitted.map(Math.abs));
    m.residuals.forEach((v, i) =>
      assertClose(res[i], v, TOL * scale / Math.max(Math.abs(v), 1e-300), `residual[${i}]`)
    );
    if (m.predict) {
      const p = f.predict(m.predict.newdata);
      m.predict.fit.forEach((v, i) => assertClose(p[i], v, TOL, `predict[${i}]`));
    }
  });
}

Deno.test("lm summary text follows R's summary.lm layout (coefficients block)", () => {
  for (const m of models) {
    const ours = String(fit(m).summary()).replaceAll("‘", "'").replaceAll("’", "'");
    const block = (s: string) =>
      s.slice(s.indexOf("Coefficients"), s.indexOf("Residual standard error"));
    assert.equal(block(ours), block(m.summary_text), `${m.id} coefficients block`);
    const tail = (s: string) => s.slice(s.indexOf("Residual standard error")).trim();
    assert.equal(tail(ours), tail(m.summary_text), `${m.id} closing lines`);
  }
});

Deno.test("lm: unseen factor level in newdata is an error naming the level", () => {
  const d = dataset("Pastes");
  const f = lm("strength ~ batch", d.data);
  assert.throws(() => f.predict({ batch: ["A", "Z"] }), /factor 'batch' has level 'Z'/);
});

Deno.test("lm: bad input gives clear errors", () => {
  const d = dataset("sleepstudy").data;
  assert.throws(() => lm("Reaction ~ Dayz", d), /unknown column 'Dayz' \(did you mean 'Days'\?\)/);
  assert.throws(() => lm("Reaction ~ (Days + 1", d), /unbalanced parenthesis at 12/);
  assert.throws(() => lm("Reaction ~ Days", { Reaction: [], Days: [] }), /data has no rows/);
  assert.throws(() => lm("Subject ~ Days", d), /response 'Subject' is not numeric/);
  assert.throws(() => lm("Reaction ~ Days + (1 | Subject)", d), /need lmer\(\)/);
});

Deno.test("lm: rows with missing values are dropped and counted", () => {
  const f = lm("y ~ x", { y: [1, 2, null, 4, 5.5], x: [1, 2, 3, NaN, 5] });
  assert.equal(f.nobs, 3);
  assert.equal(f.nDropped, 2);
  assert.match(String(f.summary()), /\(2 observations deleted due to missingness\)/);
});
