/**
 * Hostile review of glmer inference (issue 13): inputs an R user tries in a
 * notebook. Each test here failed before its fix (see the commit messages):
 * - confint's `parm` given as one string, as R's `parm = "theta_"`, was
 *   split into characters ("unknown parameter 't'");
 * - anova mixed a quadrature (nAGQ > 1) fit with a Laplace fit: their
 *   log-likelihoods differ by a constant (cbpp: −50.0 vs −92.0 for the same
 *   model), so lme4's table gives a meaningless χ² (109.65, p < 2.2e-16);
 * - confint's level "0.9" (a string) passed by coercion;
 * - isSingular's tol was not checked ("x" gave false);
 * - m.devfun() at a non-finite parameter ended in PIRLS' "(maxstephalfit)";
 * Plus invariances the review checked: row permutation and relabelled
 * grouping levels leave the deviance, profile intervals and emmeans alone.
 */
import assert from "node:assert/strict";
import { anova, caterpillarPlot, confint, diagnosticsPlot, emmeans, glmer } from "../mod.ts";
import { glmerShrinkagePlot } from "../advanced.ts";
import type { DataFrame, GeneralizedLinearMixedModel } from "../mod.ts";
import { datasetColumns } from "./helpers/datasets.ts";

const F1 = "cbind(incidence, size - incidence) ~ period + (1 | herd)";
const F0 = "cbind(incidence, size - incidence) ~ 1 + (1 | herd)";
const cbpp = datasetColumns("cbpp") as Record<string, (number | string | null)[]>;
let fits: Record<string, GeneralizedLinearMixedModel> | undefined;
function m(id: "m1" | "m0" | "m25" | "m0agq0"): GeneralizedLinearMixedModel {
  fits ??= {};
  return fits[id] ??= id === "m1"
    ? glmer(F1, cbpp, { family: "binomial" })
    : id === "m0"
    ? glmer(F0, cbpp, { family: "binomial" })
    : id === "m25"
    ? glmer(F1, cbpp, { family: "binomial", nAGQ: 25 })
    : glmer(F0, cbpp, { family: "binomial", nAGQ: 0 });
}
const values = (d: DataFrame, cols: string[]) =>
  cols.flatMap((c) => d.getColumn(c).toArray() as (number | null)[]);

Deno.test('review glmer: confint parm as one string, as R\'s parm = "theta_"', () => {
  const all = confint(m("m1"), { method: "Wald" });
  const th = confint(m("m1"), { method: "Wald", parm: "theta_" as unknown as string[] });
  assert.deepEqual(th.getColumn("parameter").toArray(), [".sig01"]);
  const b = confint(m("m1"), { method: "Wald", parm: "period2" as unknown as string[] });
  assert.deepEqual(b.getColumn("parameter").toArray(), ["period2"]);
  assert.equal(b.getColumn("2.5 %").toArray()[0], all.getColumn("2.5 %").toArray()[2]);
  assert.throws(
    () => confint(m("m1"), { method: "Wald", parm: [2] as unknown as string[] }),
    /confint: parm must be parameter names .*got a number \(2\)/,
  );
});

Deno.test("review glmer: confint level must be a number", () => {
  assert.throws(
    () => confint(m("m1"), { method: "Wald", level: "0.9" as unknown as number }),
    /confint: level must be a number in \(0, 1\), got a string \("0.9"\)/,
  );
});

Deno.test("review glmer: anova refuses a quadrature fit against a Laplace fit", () => {
  assert.throws(
    () => anova(m("m0"), m("m25")),
    /anova: .*nAGQ = 25.*nAGQ = 1.*not comparable/,
  );
  // two Laplace fits and an nAGQ = 0 fit (also Laplace's scale) still compare
  const t = anova({ a: m("m0agq0"), b: m("m1") });
  assert.equal(t.getColumn("model").toArray().length, 2);
});

Deno.test("review glmer: isSingular checks its tol", () => {
  assert.equal(m("m1").isSingular(), false);
  assert.equal(m("m1").isSingular(1), true); // θ = 0.64 < 1
  for (const bad of ["x", -1, NaN]) {
    assert.throws(
      () => m("m1").isSingular(bad as number),
      /isSingular: tol must be a non-negative number/,
    );
  }
});

Deno.test("review glmer: devfun names a non-finite parameter", () => {
  const dev = m("m1").devfun();
  const p = [...m("m1").theta, ...m("m1").beta];
  // −2 log L (not deviance()) to PIRLS' restart from lme4's lp0 (lme4:
  // 184.0531301546 against its logLik's 184.0531327791)
  assert.ok(Math.abs(dev(p) + 2 * m("m1").logLik()) < 1e-5);
  p[2] = NaN;
  assert.throws(() => dev(p), /devfun: parameter 3 \(beta 2\) is NaN/);
});

Deno.test("review glmer: row permutation and relabelled herds change nothing", () => {
  const n = cbpp.herd.length;
  const perm = Array.from({ length: n }, (_, i) => (i * 17 + 5) % n);
  const permuted: typeof cbpp = {};
  for (const k in cbpp) permuted[k] = perm.map((i) => cbpp[k][i]);
  const relabelled = { ...cbpp, herd: cbpp.herd.map((h) => `H${100 - Number(h)}`) };
  const cols = ["2.5 %", "97.5 %"];
  const base = m("m1");
  const ci0 = values(confint(base), cols);
  const em0 = values(emmeans(base, "period", { type: "response" }), ["prob", "lowerCL"]);
  for (const data of [permuted, relabelled]) {
    const other = glmer(F1, data, { family: "binomial" });
    assert.ok(Math.abs(other.deviance() - base.deviance()) < 1e-8);
    values(confint(other), cols).forEach((v, i) =>
      assert.ok(Math.abs(v! - ci0[i]!) < 1e-8, `profile limit ${i}: ${v} vs ${ci0[i]}`)
    );
    // emmeans' SEs use lme4's finite-difference Hessian (vcov), whose
    // evaluations stop PIRLS at its tolerance: ~1e-6 relative, not 1e-8
    values(emmeans(other, "period", { type: "response" }), ["prob", "lowerCL"]).forEach(
      (v, i) => assert.ok(Math.abs(v! - em0[i]!) < 1e-5 * Math.abs(em0[i]!), `emmeans ${i}`),
    );
  }
});

Deno.test("review glmer: GLMM figures name a misspelt option or a bad size", () => {
  const fit = m("m1");
  // glmerShrinkagePlot(m, { bye: "period" }) drew the plot without its split
  assert.throws(
    () => glmerShrinkagePlot(fit, { bye: "period" } as unknown as { by: string }),
    /glmerShrinkagePlot: unknown option 'bye' \(did you mean 'by'\?\)/,
  );
  assert.throws(
    () => caterpillarPlot(fit, { levl: 0.9 } as unknown as { level: number }),
    /caterpillarPlot: unknown option 'levl' \(did you mean 'level'\?\)/,
  );
  assert.throws(
    () => diagnosticsPlot(fit, { panelWidht: 300 } as unknown as { panelWidth: number }),
    /diagnosticsPlot: unknown option 'panelWidht' \(did you mean 'panelWidth'\?\)/,
  );
  for (const bad of [-5, NaN, "300"]) {
    assert.throws(
      () => diagnosticsPlot(fit, { panelWidth: bad as number }),
      /diagnosticsPlot: panelWidth must be a positive number of pixels/,
    );
    assert.throws(
      () => glmerShrinkagePlot(fit, { height: bad as number }),
      /glmerShrinkagePlot: height must be a positive number of pixels/,
    );
    assert.throws(
      () => caterpillarPlot(fit, { panelWidth: bad as number }),
      /caterpillarPlot: panelWidth must be a positive number of pixels/,
    );
  }
  assert.equal(glmerShrinkagePlot(fit, { by: "period", panelWidth: 400 }).panels.length, 2);
});
