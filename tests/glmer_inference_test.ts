/**
 * Inference for glmer fits against lme4 1.1-31 and emmeans 1.8.4
 * (tests/fixtures/glmer_inference.json, written by glmer_inference.R):
 * - anova(m1, m0) of nested cbpp fits: npar, AIC, BIC, logLik, deviance,
 *   Chisq within 1e-6 relative, p within 1e-5 relative, the printed text
 *   identical (R's ASCII quotes in the signif. legend aside);
 * - confint Wald: within 1e-4 relative (the SEs come from lme4's
 *   finite-difference Hessian, which our fit reproduces to ~1e-5), NA rows
 *   for θ; confint profile (lme4's profile.merMod for GLMMs) within 1e-4
 *   relative on cbpp and grouseticks (measured: 1e-14 on cbpp, 1.3e-5 on
 *   grouseticks), the zero lower limit of grouseticks' .sig03 exactly; cbpp
 *   with nAGQ = 25 (the quadrature deviance profiled) within 1e-5;
 * - emmeans on the link and response scales for a binomial (cbpp ~ period)
 *   and two Poisson fits (grouseticks ~ YEAR; cbpp's incidence with
 *   offset(log(size))): rebuilt from lme4's β̂ and vcov through our grid
 *   within 1e-10; end to end (our fit) within 1e-6 relative, 5e-5 for
 *   grouseticks, whose fit agrees with lme4's to ~1e-5; the printed text
 *   identical;
 * - m.devfun() is lme4's getME(m, "devfun"); isSingular on a singular fit;
 * - bad input: clear errors.
 */
import assert from "node:assert/strict";
import { anova, confint, dataset, emmeans, glmer, JUPYTER_DISPLAY, lmer } from "../mod.ts";
import type { DataFrame, GeneralizedLinearMixedModel } from "../mod.ts";
import { confintResult, emmGrid } from "../advanced.ts";

type Num = number | null;
interface Ci {
  parameters: string[];
  lower: Num[];
  upper: Num[];
}
interface EmmTable {
  columns: string[];
  levels: string[];
  estimate: number[];
  SE: number[];
  df: (number | string)[];
  lower: number[];
  upper: number[];
  text: string;
}
const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/glmer_inference.json", import.meta.url)),
) as {
  grouseticks_formula: string;
  offset_formula: string;
  anova: {
    models: { id: string; formula: string }[];
    rows: string[];
    npar: number[];
    AIC: number[];
    BIC: number[];
    logLik: number[];
    deviance: number[];
    Chisq: Num[];
    Df: Num[];
    p: Num[];
    text: string;
  };
  confint: Record<"cbpp" | "grouseticks", { wald: Ci; profile: Ci; profile_text: string }> & {
    cbpp_level90: Ci;
    cbpp_nAGQ25: Ci & { wald: Ci };
  };
  emmeans: {
    id: string;
    spec: string;
    beta: number[];
    vcov: number[][];
    link: EmmTable;
    response: EmmTable;
  }[];
  singular: { formula: string; isSingular: boolean; theta: number[]; wald: Ci };
};

const CBPP1 = "cbind(incidence, size - incidence) ~ period + (1 | herd)";
const cbpp = dataset("cbpp");
let cache: Record<string, GeneralizedLinearMixedModel> = {};
type ModelId = "cbpp" | "cbpp0" | "grouseticks" | "cbpp_poisson_offset";
function model(id: ModelId): GeneralizedLinearMixedModel {
  if (cache[id]) return cache[id];
  const m = id === "grouseticks"
    ? glmer(fx.grouseticks_formula, dataset("grouseticks"), { family: "poisson" })
    : id === "cbpp_poisson_offset"
    ? glmer(fx.offset_formula, cbpp, { family: "poisson" })
    : glmer(fx.anova.models.find((x) => x.id === (id === "cbpp" ? "m1" : "m0"))!.formula, cbpp, {
      family: "binomial",
      dataName: "cbpp",
    });
  cache = { ...cache, [id]: m };
  return m;
}

function close(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  assert.ok(err <= rel, `${what}: ${actual} vs lme4 ${expected} (relative error ${err} > ${rel})`);
}

function column(df: DataFrame, name: string): (number | null)[] {
  return df.getColumn(name).toArray() as (number | null)[];
}

function textOf(x: unknown): string {
  return (x as Record<symbol, () => Record<string, string>>)[JUPYTER_DISPLAY]()["text/plain"];
}

/**
 * Limits within `rel` relative to the larger of the row's two limits (a limit
 * near 0, e.g. grouseticks' intercept at −0.012, is compared on the scale of
 * its interval).
 */
function checkCi(df: DataFrame, ref: Ci, rel: number, what: string): void {
  assert.deepEqual(df.getColumn("parameter").toArray(), ref.parameters);
  const lo = column(df, "2.5 %"), up = column(df, "97.5 %");
  const close = (got: number, want: number, scale: number, msg: string) => {
    const err = Math.abs(got - want) / scale;
    assert.ok(err <= rel, `${msg}: ${got} vs lme4 ${want} (error ${err} > ${rel} of ${scale})`);
  };
  ref.parameters.forEach((p, i) => {
    const scale = Math.max(Math.abs(ref.lower[i] ?? 0), Math.abs(ref.upper[i] ?? 0));
    for (
      const [got, want, side] of [[lo[i], ref.lower[i], "lower"], [
        up[i],
        ref.upper[i],
        "upper",
      ]] as const
    ) {
      if (want === null) assert.equal(got, null, `${what} ${p} ${side}: lme4 gives NA`);
      else if (want === 0) assert.equal(got, 0, `${what} ${p} ${side}: lme4's bound 0`);
      else close(got as number, want, scale, `${what} ${p} ${side}`);
    }
  });
}

Deno.test("anova of nested glmer fits: lme4's table, order by npar and text", () => {
  const m1 = model("cbpp"), m0 = model("cbpp0");
  const a = anova({ m1, m0 });
  const r = fx.anova;
  assert.deepEqual(a.getColumn("model").toArray(), r.rows);
  assert.deepEqual(a.getColumn("npar").toArray(), r.npar);
  for (const k of ["AIC", "BIC", "logLik", "deviance"] as const) {
    column(a, k).forEach((v, i) => close(v as number, r[k][i], 1e-6, `${k}[${i}]`));
  }
  assert.equal(column(a, "Chisq")[0], null);
  assert.equal(column(a, "pValue")[0], null);
  close(column(a, "Chisq")[1] as number, r.Chisq[1]!, 1e-6, "Chisq");
  assert.equal(column(a, "Df")[1], r.Df[1]);
  close(column(a, "pValue")[1] as number, r.p[1]!, 1e-5, "Pr(>Chisq)");
  assert.equal(textOf(a).replace(/[‘’]/g, "'"), r.text);
  // the HTML table is there too
  const html = (a as unknown as Record<symbol, () => Record<string, string>>)[JUPYTER_DISPLAY]()[
    "text/html"
  ];
  assert.match(html, /<table/);
  // as arguments: rows named by formula, same numbers
  const b = anova(m0, m1);
  assert.deepEqual(b.getColumn("model").toArray(), [m0.formula, m1.formula]);
  assert.deepEqual(column(b, "Chisq"), column(a, "Chisq"));
});

Deno.test("anova: glmer fits of different data, sizes or kinds are clear errors", () => {
  const m1 = model("cbpp");
  const rows = cbpp.toRecords() as Record<string, string | number>[];
  const sub = glmer(CBPP1, rows.slice(0, 50), { family: "binomial" });
  assert.throws(() => anova(m1, sub), /not all fitted to the same size of dataset/);
  // one more trial in the first herd-period: same successes, other proportions
  const bigger = rows.map((r, i) => (i === 0 ? { ...r, size: (r.size as number) + 1 } : r));
  const shifted = glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", bigger, {
    family: "binomial",
  });
  assert.throws(() => anova(m1, shifted), /same data/);
  const gauss = lmer("incidence ~ period + (1 | herd)", cbpp);
  assert.throws(
    () => anova(m1, gauss),
    (e: Error) => e instanceof TypeError && /glmer\(\) fit .* can only be compared/.test(e.message),
  );
  assert.throws(() => anova(m1), /at least two models/);
});

for (const id of ["cbpp", "grouseticks"] as const) {
  Deno.test(`confint Wald ${id}: lme4's intervals, NA for the variance parameters`, () => {
    checkCi(confint(model(id), { method: "Wald" }), fx.confint[id].wald, 1e-4, `${id} Wald`);
  });
  Deno.test(`confint profile ${id}: lme4's profile.merMod for a GLMM within 1e-4`, () => {
    const r = confintResult(model(id), { method: "profile" });
    checkCi(r.toDataFrame(), fx.confint[id].profile, 1e-4, `${id} profile`);
    if (id === "cbpp") {
      // the same optimizer path as lme4's: R's printed table digit for digit
      assert.equal(r.toString().split("\n").slice(0, 6).join("\n"), fx.confint[id].profile_text);
    }
  });
}

Deno.test("confint of an nAGQ = 25 fit profiles the quadrature deviance, as lme4", () => {
  const m = glmer(CBPP1, cbpp, { family: "binomial", nAGQ: 25 });
  const ref = fx.confint.cbpp_nAGQ25;
  // m.devfun() at the optimum is the fit's AGQ deviance (lme4: equal to 1e-12)
  close(m.devfun()([...m.theta, ...m.beta]), m.deviance(), 1e-9, "AGQ devfun at the optimum");
  checkCi(confint(m, { quiet: true }), ref, 1e-5, "nAGQ = 25 profile");
  checkCi(confint(m, { method: "Wald" }), ref.wald, 1e-4, "nAGQ = 25 Wald");
});

Deno.test("confint profile of one parameter is that parameter's row of the full profile", () => {
  const m = model("cbpp");
  const df = confint(m, { parm: ["period2"], quiet: true }); // profile: lme4's default method
  assert.deepEqual(df.getColumn("parameter").toArray(), ["period2"]);
  const ref = fx.confint.cbpp.profile, i = ref.parameters.indexOf("period2");
  close(column(df, "2.5 %")[0] as number, ref.lower[i]!, 1e-4, "period2 lower");
  close(column(df, "97.5 %")[0] as number, ref.upper[i]!, 1e-4, "period2 upper");
});

Deno.test("confint Wald at level 0.9 and a subset of parameters", () => {
  const m = model("cbpp");
  const df = confint(m, { method: "Wald", level: 0.9 });
  const ref = fx.confint.cbpp_level90;
  assert.deepEqual(df.columns, ["parameter", "5 %", "95 %"]);
  const lo = column(df, "5 %"), up = column(df, "95 %");
  ref.parameters.forEach((p, i) => {
    if (ref.lower[i] === null) return assert.equal(lo[i], null);
    close(lo[i] as number, ref.lower[i]!, 1e-4, `${p} lower`);
    close(up[i] as number, ref.upper[i]!, 1e-4, `${p} upper`);
  });
  // the model's method is the same function (installed by mod.ts)
  assert.deepEqual(
    m.confint({ method: "Wald", level: 0.9 }).toRecords(),
    df.toRecords(),
  );
  const only = confint(m, { method: "Wald", parm: ["beta_"] });
  assert.deepEqual(only.getColumn("parameter").toArray(), ref.parameters.slice(1));
});

for (const e of fx.emmeans) {
  Deno.test(`emmeans ${e.id} ~ ${e.spec}: the grid and back-transformation give emmeans' numbers from lme4's β̂ and vcov to 1e-10`, () => {
    const m = model(e.id as ModelId);
    const g = emmGrid(m, e.spec);
    const fam = m.frame.family;
    const z = 1.959963984540054;
    const kept = m.fixedNames.map((nm) => g.columns.indexOf(nm));
    g.L.forEach((lFull, i) => {
      const l = kept.map((j) => lFull[j]);
      // emmeans adds the offset at its mean over the data (0 without one)
      const off = m.frame.offset.reduce((s, v) => s + v, 0) / m.nobs;
      const eta = l.reduce((s, v, a) => s + v * e.beta[a], off);
      let v = 0;
      l.forEach((la, a) => l.forEach((lb, b) => (v += la * e.vcov[a][b] * lb)));
      const se = Math.sqrt(v);
      close(eta, e.link.estimate[i], 1e-10, "link emmean");
      close(se, e.link.SE[i], 1e-10, "link SE");
      close(eta - z * se, e.link.lower[i], 1e-10, "link asymp.LCL");
      close(fam.linkinv(eta), e.response.estimate[i], 1e-10, "response");
      close(Math.abs(fam.muEta(eta)) * se, e.response.SE[i], 1e-10, "response SE");
      close(fam.linkinv(eta + z * se), e.response.upper[i], 1e-10, "response asymp.UCL");
    });
  });
  for (const type of ["link", "response"] as const) {
    Deno.test(`emmeans ${e.id} ~ ${e.spec} (${type}): emmeans' numbers and text`, () => {
      const m = model(e.id as ModelId);
      const ref = e[type];
      // end to end, within the fit's agreement with lme4: cbpp's β̂ equals lme4's to
      // ~1e-9 and its Hessian-based SEs to 2.2e-7; grouseticks' β̂ to ~1e-5 relative
      const tol = e.id === "grouseticks" ? 5e-5 : 1e-6;
      const df = emmeans(m, e.spec, { type });
      const est = ref.columns[1];
      assert.deepEqual(df.columns, [e.spec, est, "SE", "df", "lowerCL", "upperCL"]);
      assert.deepEqual(df.getColumn(e.spec).toArray().map(String), ref.levels);
      ref.levels.forEach((lv, i) => {
        close(column(df, est)[i] as number, ref.estimate[i], tol, `${lv} ${est}`);
        close(column(df, "SE")[i] as number, ref.SE[i], tol, `${lv} SE`);
        // limits relative to the interval's scale (grouseticks' 95 lower limit is −0.012)
        const scale = Math.max(Math.abs(ref.lower[i]), Math.abs(ref.upper[i]));
        for (const [col, want] of [["lowerCL", ref.lower[i]], ["upperCL", ref.upper[i]]] as const) {
          const err = Math.abs((column(df, col)[i] as number) - want) / scale;
          assert.ok(err <= tol, `${lv} ${col}: ${column(df, col)[i]} vs ${want} (${err} > ${tol})`);
        }
        assert.equal(column(df, "df")[i], Infinity);
      });
      assert.equal(textOf(df), ref.text);
    });
  }
}

Deno.test("emmeans on the response scale is the back-transformed link scale", () => {
  const m = model("cbpp");
  const link = emmGrid(m, "period"), resp = emmGrid(m, "period", { type: "response" });
  const inv = (x: number) => 1 / (1 + Math.exp(-x));
  link.emmean.forEach((eta, i) => {
    close(resp.emmean[i], inv(eta), 1e-14, "prob");
    close(resp.lower[i], inv(link.lower[i]), 1e-14, "lower");
    close(resp.se[i], inv(eta) * (1 - inv(eta)) * link.se[i], 1e-12, "delta-method SE");
  });
  assert.equal(resp.estimateName, "prob");
  assert.equal(link.estimateName, "emmean");
  // level 0.9: narrower, and said so
  const g90 = emmeans(m, "period", { level: 0.9 });
  assert.match(textOf(g90), /Confidence level used: 0.9 /);
});

Deno.test("m.devfun() is lme4's deviance function: its value at the optimum", () => {
  const m = model("cbpp");
  const d = m.devfun();
  // lme4: getME(m, "devfun")(c(theta, beta)) - deviance = -2.624423e-6 (rebuilt lp0)
  close(d([...m.theta, ...m.beta]) - m.deviance(), -2.624423e-6, 1e-4, "devfun(opt) - deviance");
  assert.throws(() => d([1, 2]), /expected 5 parameters/);
});

Deno.test("isSingular on a singular glmer fit (lme4: TRUE)", () => {
  const s = fx.singular;
  const m = glmer(s.formula, cbpp, { family: "binomial" });
  assert.equal(m.isSingular(), s.isSingular);
  assert.equal(model("cbpp").isSingular(), false);
  const ci = confint(m, { method: "Wald", quiet: true });
  assert.deepEqual(ci.getColumn("parameter").toArray(), s.wald.parameters);
  assert.deepEqual(column(ci, "2.5 %").slice(0, 2), [null, null]);
});

Deno.test("glmer inference: bad input is a clear error", () => {
  const m = model("cbpp");
  assert.throws(() => confint(m, { method: "boot" }), /"boot" is not available for glmer/);
  // lme4's nAGQ = 0 fit has no deviance function of (θ, β) either (its profile fails)
  const m0 = glmer(CBPP1, cbpp, { family: "binomial", nAGQ: 0 });
  assert.throws(() => confint(m0, { method: "profile", quiet: true }), /nAGQ = 0 has no deviance/);
  assert.equal(confint(m0, { method: "Wald" }).height, 5);
  assert.throws(
    () => confint(m, { method: "Wald", parm: [".sigma"] }),
    /unknown parameter '.sigma'/,
  );
  assert.throws(() => confint(m, { method: "Wald", level: 2 }), /level must be in \(0, 1\)/);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => emmeans(m, "period", { type: "probability" as any }),
    /'type' must be "link" or "response"/,
  );
  assert.throws(
    () => emmeans(m, "period", { df: "kenward-roger" }),
    /glmer\(\) fit has asymptotic \(z\) inference/,
  );
  assert.throws(() => emmeans(m, "herd"), /'herd' is not in the fixed-effects part/);
  assert.throws(() => emmeans(m, "perod"), /did you mean 'period'/);
  assert.throws(
    () => anova(m, 3 as unknown as GeneralizedLinearMixedModel),
    /argument 2 is .* not a fitted lm\(\), lmer\(\) or glmer\(\)/,
  );
});
