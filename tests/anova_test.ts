/**
 * anova() against lme4's anova (tests/fixtures/perCluster.json, written by
 * perCluster.R): REML fits refitted by ML with lme4's message, rows sorted
 * by npar, npar/Df exact, logLik/AIC/BIC/deviance within 1e-7 relative,
 * Chisq and p within 1e-5 relative (the ML refit's optimum is only as exact
 * as the optimizer's tolerance), an lm among the models, and models fitted
 * to different data rejected.
 */
import assert from "node:assert/strict";
import type { Cell } from "../lib/data/frame.ts";
import { anova, anovaLRT, type AnovaModel } from "../lib/inference/anova.ts";
import { lm } from "../lib/models/lm.ts";
import { lmer } from "../lib/models/lmer/fit.ts";
import { LinearMixedModel } from "../lib/models/lmer/model.ts";
import { assertClose, dataset, datasetColumns, fixture } from "./helpers/datasets.ts";

interface AnovaFixture {
  id: string;
  call: string;
  dataset?: string;
  data?: Record<string, Cell[]>;
  models: { name: string; kind: "lm" | "lmer"; formula: string; REML?: boolean }[];
  messages: string[];
  table: {
    model: string[];
    npar: number[];
    AIC: number[];
    BIC: number[];
    logLik: number[];
    deviance: number[];
    Chisq: (number | null)[];
    Df: (number | null)[];
    pValue: (number | null)[];
  };
  refit_theta: Record<string, number[]>;
}

const fx = fixture<{ anova: AnovaFixture[] }>("perCluster.json");

/** The models of a case, by name, in the order of R's call. */
function fitModels(c: AnovaFixture): Record<string, AnovaModel> {
  const data = c.dataset ? dataset(c.dataset).data : c.data!;
  const byName = new Map(
    c.models.map((m) => [
      m.name,
      m.kind === "lm" ? lm(m.formula, data) : lmer(m.formula, data, { REML: m.REML }),
    ]),
  );
  const order = c.call.replace(/^anova\(|\)$/g, "").split(", ");
  return Object.fromEntries(order.map((nm) => [nm, byName.get(nm)!]));
}

for (const c of fx.anova) {
  Deno.test(`anova ${c.id}: ${c.call} agrees with lme4`, () => {
    const res = anovaLRT(fitModels(c));
    const t = c.table;
    assert.deepEqual(res.messages, c.messages);
    assert.deepEqual(res.rows.map((r) => r.model), t.model, "rows sorted by npar");
    res.rows.forEach((r, k) => {
      const what = `${r.model}`;
      assert.equal(r.npar, t.npar[k], `${what} npar`);
      assert.equal(r.Df, t.Df[k], `${what} Df`);
      for (const key of ["AIC", "BIC", "logLik", "deviance"] as const) {
        assertClose(r[key], t[key][k], 1e-7, `${what} ${key}`);
      }
      if (k === 0) {
        assert.deepEqual([r.Chisq, r.Df, r.pValue], [null, null, null]);
        return;
      }
      assertClose(r.Chisq!, t.Chisq[k]!, 1e-5, `${what} Chisq`);
      if (t.pValue[k] === null) assert.equal(r.pValue, null, `${what} p (Df 0: NA)`);
      else assertClose(r.pValue!, t.pValue[k]!, 1e-5, `${what} p`);
    });
    // The refits are ML fits near lme4's refitML optimum.
    res.models.forEach((m, k) => {
      if (!(m instanceof LinearMixedModel)) return;
      assert.equal(m.REML, false);
      const want = c.refit_theta[t.model[k]];
      want.forEach((v, i) => assertClose(m.theta[i], v, 1e-3, `${t.model[k]} theta[${i}]`, 1e-2));
    });
  });
}

Deno.test("anova(m0, m1): the DataFrame, rows named by formula", () => {
  const ss = dataset("sleepstudy").data;
  const m1 = lmer("Reaction ~ Days + (Days | Subject)", ss);
  const m0 = lmer("Reaction ~ Days + (1 | Subject)", ss);
  const tab = anova(m1, m0);
  assert.deepEqual(tab.columns, [
    "model",
    "npar",
    "AIC",
    "BIC",
    "logLik",
    "deviance",
    "Chisq",
    "Df",
    "pValue",
  ]);
  const recs = tab.toRecords();
  assert.deepEqual(recs.map((r) => r.model), [m0.formula, m1.formula]);
  assert.deepEqual([recs[0].Chisq, recs[0].Df, recs[0].pValue], [null, null, null]);
  assertClose(recs[1].Chisq as number, 42.13929854201638, 1e-5, "Chisq");
  // The inputs are untouched: still REML fits.
  assert.equal(m0.REML, true);
  // A record names the rows; refit: false compares the REML criteria as given.
  const noRefit = anovaLRT({ m0, m1 }, { refit: false });
  assert.deepEqual(noRefit.messages, []);
  assertClose(noRefit.rows[0].logLik, m0.logLik(), 1e-15, "REML logLik kept");
  assert.deepEqual(anova({ a: m0, b: m1 }).getColumn("model").toArray(), ["a", "b"]);
});

Deno.test("anova: models fitted to different data are an error", () => {
  const ss = datasetColumns("sleepstudy");
  const m0 = lmer("Reaction ~ Days + (1 | Subject)", ss);
  const fewer = Object.fromEntries(Object.entries(ss).map(([k, v]) => [k, v.slice(0, 170)]));
  assert.throws(
    () => anova(m0, lmer("Reaction ~ Days + (Days | Subject)", fewer)),
    /not all fitted to the same size of dataset.*180.*170/,
  );
  const changed = { ...ss, Reaction: ss.Reaction.map((v, i) => (i === 7 ? Number(v) + 1 : v)) };
  assert.throws(
    () => anova(m0, lmer("Reaction ~ Days + (Days | Subject)", changed)),
    /same data: the response of .* differs .*observation 8/,
  );
  assert.throws(
    () => anova(m0, lmer("log(Reaction) ~ Days + (1 | Subject)", ss)),
    /response .* differs/,
  );
  assert.throws(() => anova(m0), /at least two models/);
  assert.throws(
    () => anova(lm("Reaction ~ 1", ss), lm("Reaction ~ Days", ss)),
    /at least one model must be an lmer\(\) fit/,
  );
});
