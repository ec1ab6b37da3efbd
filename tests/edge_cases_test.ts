/**
 * Data reading and edge cases against R's answers (tests/fixtures/edge_cases.json,
 * written by edge_cases.R): numbers as factor labels, read.csv of CSV texts,
 * summary.lm of degenerate fits, confint.lm, simulate.lm; and the errors that
 * name the problem instead of an internal message.
 */
import assert from "node:assert/strict";
import { fixture } from "./helpers/datasets.ts";
import { numericLevels, rNumberLabel } from "../lib/data/factor.ts";
import { makeNames, parseCsv } from "../lib/data/csv.ts";
import { lm } from "../lib/models/lm.ts";
import {
  anova,
  clusterTrial,
  confint,
  createData,
  emmeans,
  lmer,
  poolingTable,
  simulate,
} from "../mod.ts";
import { dataset } from "../lib/datasets/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
const fx: Json = fixture("edge_cases.json");

Deno.test("numbers become factor labels as R's as.character (15 significant digits)", () => {
  const { values, labels } = fx.factor_labels;
  values.forEach((v: number, i: number) => {
    // Integer values below 1e15 print in full: R prints an integer column that way
    // ("100000"), a double one as "1e+05"; our numeric columns do not know which.
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return;
    assert.equal(rNumberLabel(v), labels[i], `as.character(${v})`);
  });
  assert.equal(rNumberLabel(100000), "100000");
});

Deno.test("values that print the same are one factor level (0.1 + 0.2 and 0.3), as R's factor()", () => {
  const nf = fx.numeric_factor;
  const { levels, codes } = numericLevels(Float64Array.from(nf.values));
  assert.deepEqual(levels, nf.levels);
  assert.deepEqual(Array.from(codes, (c) => c + 1), nf.codes);
  const fit = lm("y ~ factor(g)", nf.lm_data);
  const coef = fit.coef();
  assert.deepEqual(Object.keys(coef), Object.keys(nf.lm_coef));
  for (const [k, v] of Object.entries(nf.lm_coef)) {
    assert.ok(Math.abs(coef[k]! - (v as number)) < 1e-10, `${k}: ${coef[k]} vs ${v}`);
  }
  // a grouping factor in lmer's sense too: one level per label
  const fit2 = lm("y ~ g2", { y: nf.lm_data.y, g2: nf.lm_data.g.map((x: number) => x) }, {
    factors: { g2: {} },
  });
  assert.deepEqual(Object.keys(fit2.coef()), ["(Intercept)", "g20.2", "g20.3"]);
});

Deno.test("parseCsv reads CSV texts as R's read.csv", () => {
  for (const c of fx.csv) {
    const got = parseCsv(c.text);
    assert.deepEqual(Object.keys(got), c.names, `${c.id}: names`);
    for (const name of c.names) {
      const want = c.columns[name];
      const col = got[name];
      want.values.forEach((w: string, i: number) => {
        const v = col[i];
        const where = `${c.id}: ${name}[${i + 1}]`;
        if (w === "NA") return assert.equal(v, null, where);
        if (want.type === "numeric" || want.type === "integer") {
          if (typeof v === "string") {
            // the one deliberate difference: a quoted number stays text (a factor level)
            assert.ok(c.text.includes(`"${v}"`) && Number(v) === Number(w), where);
            return;
          }
          assert.equal(typeof v, "number", where);
          if (w === "NaN") assert.ok(Number.isNaN(v), where);
          else {assert.equal(
              v,
              w === "Inf" ? Infinity : w === "-Inf" ? -Infinity : Number(w),
              where,
            );}
        } else if (want.type === "logical") assert.equal(v, w === "TRUE", where);
        else assert.equal(v, w, where);
      });
    }
  }
});

Deno.test("parseCsv: quoted fields stay text, logical columns, R's make.names", () => {
  const d = parseCsv('a,b,c,if\n"308",T,"x",1\n"309",F,,2\n');
  assert.deepEqual(d, { a: ["308", "309"], b: [true, false], c: ["x", ""], "if.": [1, 2] });
  assert.deepEqual(makeNames(["x", "x.1", "x", "x"]), ["x", "x.1", "x.2", "x.3"]);
  assert.deepEqual(makeNames([".5a", "_a", "a-b", "é"]), ["X.5a", "X_a", "a.b", "é"]);
});

const close = (a: number, b: number, tol = 1e-10) =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const kindOf = (v: number) =>
  Number.isNaN(v) ? "NaN" : v === Infinity ? "Inf" : v === -Infinity ? "-Inf" : "finite";

Deno.test("lm on constant y and with zero residual df: R's summary.lm numbers and warning", () => {
  for (const c of fx.lm_edge) {
    const fit = lm(c.formula, c.data);
    const rows = fit.coefRows();
    const names = Object.keys(c.se_kind).length === rows.length && !Array.isArray(c.se_kind)
      ? Object.keys(c.se_kind)
      : rows.map((r) => r.term);
    rows.forEach((r, i) => {
      const nm = names[i];
      const pick = (o: Json) => Array.isArray(o) ? o[i] : o[nm];
      assert.ok(close(r.estimate, pick(c.coef), 1e-9), `${c.id} ${nm} estimate`);
      assert.equal(kindOf(r.stdError), pick(c.se_kind), `${c.id} ${nm} SE`);
      if (pick(c.se_kind) === "finite") assert.ok(close(r.stdError, pick(c.se)), `${c.id} ${nm}`);
      assert.equal(kindOf(r.statistic), pick(c.t_kind), `${c.id} ${nm} t`);
      assert.equal(kindOf(r.pValue), pick(c.p_kind), `${c.id} ${nm} p`);
    });
    assert.equal(kindOf(fit.sigma), c.sigma_kind, `${c.id} sigma`);
    if (c.sigma !== null) assert.ok(close(fit.sigma, c.sigma), `${c.id} sigma`);
    assert.equal(kindOf(fit.rSquared), c.r_squared_kind, `${c.id} R²`);
    if (c.r_squared !== null) assert.ok(close(fit.rSquared, c.r_squared), `${c.id} R²`);
    assert.equal(kindOf(fit.adjRSquared), c.adj_r_squared_kind, `${c.id} adjusted R²`);
    if (c.fstatistic === null) assert.equal(fit.fStatistic, null);
    else {
      assert.equal(fit.fStatistic!.numdf, c.fstatistic.numdf);
      assert.equal(fit.fStatistic!.dendf, c.fstatistic.dendf);
      assert.ok(Number.isNaN(fit.fStatistic!.value) === (c.fstatistic.value === null));
    }
    for (const w of c.warnings) assert.ok(fit.messages.includes(w), `${c.id}: ${w}`);
    if (!c.warnings.length) {
      assert.ok(!fit.messages.some((m) => /perfect fit/.test(m)), `${c.id}: no warning`);
    }
  }
});

Deno.test("lmer options: REML must be a boolean, control settings finite, start finite", () => {
  const d = {
    y: [1, 2, 3, 4, 5, 7, 2, 3, 1],
    x: [1, 2, 3, 1, 2, 3, 1, 2, 3],
    g: ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
  };
  // deno-lint-ignore no-explicit-any
  const bad = (o: any) => () => lmer("y ~ x + (1 | g)", d, o);
  assert.throws(bad({ REML: "no" }), /lmer: 'REML' must be true or false, got a string \("no"\)/);
  assert.throws(bad({ REML: 0 }), /'REML' must be true or false, got a number \(0\)/);
  assert.throws(
    bad({ control: { xtolAbs: NaN } }),
    /lmer: control: 'xtolAbs' must be a finite number, got NaN/,
  );
  assert.throws(
    bad({ control: { ftolAbs: Infinity } }),
    /'ftolAbs' must be a finite number, got Infinity/,
  );
  assert.throws(
    bad({ control: { maxeval: "10" } }),
    /'maxeval' must be a finite number, got a string/,
  );
  assert.throws(
    bad({ control: { xtolabs: 1e-8 } }),
    /unknown option 'xtolabs' \(did you mean 'xtolAbs'\?\)/,
  );
  assert.throws(
    bad({ control: { calcDerivs: "yes" } }),
    /control 'calcDerivs' must be true or false/,
  );
  assert.throws(
    bad({ start: [NaN] }),
    /lmer: 'start' must hold finite numbers, entry 1 is a number \(NaN\)/,
  );
  assert.throws(
    bad({ reml: false }),
    /lmer: unknown option 'reml' \(did you mean 'REML'\?\); known options: factors, REML, control, start, dataName/,
  );
  assert.throws(bad({ ["x".repeat(200)]: 1 }), /unknown option 'x{40}… \(200 characters\)'/);
  assert.throws(
    () => lm("y ~ x", d, { factor: { g: {} } } as never),
    /lm: unknown option 'factor' \(did you mean 'factors'\?\)/,
  );
  assert.ok(lmer("y ~ x + (1 | g)", d, { REML: false, control: { xtolAbs: 1e-9 } }));
});

Deno.test("duplicated levels in a factors spec are an error, as R's factor(x, levels)", () => {
  // R: factor(c("a", "b"), levels = c("a", "a", "b")) errors
  assert.equal(fx.factor_duplicated_levels, "factor level [2] is duplicated");
  assert.throws(
    () =>
      lm("y ~ g", { y: [1, 2, 3], g: ["a", "b", "a"] }, {
        factors: { g: { levels: ["a", "a", "b"] } },
      }),
    /factor level \[2\] "a" is duplicated/,
  );
});

Deno.test("confint of an lm fit is R's confint.lm (t intervals, '2.5 %' / '97.5 %')", () => {
  const ss = dataset("sleepstudy");
  for (const c of fx.confint_lm) {
    const fit = lm(c.formula, ss);
    for (const ci of [fit.confint({ level: c.level }), confint(fit, { level: c.level })]) {
      assert.deepEqual(ci.columns, ["parameter", ...c.colnames]);
      assert.deepEqual(ci.getColumn("parameter").toArray(), c.names);
      const lo = ci.getColumn(c.colnames[0]).toArray() as (number | null)[];
      const hi = ci.getColumn(c.colnames[1]).toArray() as (number | null)[];
      c.lower.forEach((w: number | null, i: number) => {
        if (w === null) return assert.equal(lo[i], null, `${c.id} ${c.names[i]}`);
        assert.ok(close(lo[i]!, w, 1e-12), `${c.id} ${c.names[i]} lower ${lo[i]} vs ${w}`);
        assert.ok(close(hi[i]!, c.upper[i], 1e-12), `${c.id} ${c.names[i]} upper`);
      });
    }
  }
  const fit = lm("Reaction ~ Days", ss);
  assert.deepEqual(fit.confint({ parm: ["Days"] }).getColumn("parameter").toArray(), ["Days"]);
  assert.throws(
    () => fit.confint({ parm: ["day"] }),
    /confint: unknown coefficient 'day'; coefficients: \(Intercept\), Days/,
  );
  assert.throws(() => fit.confint({ level: 95 }), /'level' must be between 0 and 1, got 95/);
  assert.throws(
    () => confint(fit, { method: "Wald" } as never),
    /confint: unknown option 'method'; known options: level, parm/,
  );
});

Deno.test("simulate of an lm fit is R's simulate.lm: fitted + rnorm(n * nsim, 0, sigma)", () => {
  const s = fx.simulate_lm;
  const fit = lm(s.formula, dataset(s.dataset));
  const sims = simulate(fit, { nsim: s.nsim, seed: s.seed });
  assert.deepEqual(sims.columns, Object.keys(s.sims));
  for (const [name, want] of Object.entries(s.sims) as [string, number[]][]) {
    const got = sims.getColumn(name).toArray() as number[];
    want.forEach((w, i) => assert.ok(close(got[i], w, 1e-13), `${name}[${i}]: ${got[i]} vs ${w}`));
  }
});

Deno.test("errors name the problem instead of an internal message", () => {
  const ss = dataset("sleepstudy");
  const m = lmer("Reaction ~ Days + (1 | Subject)", ss);
  const f = lm("Reaction ~ Days", ss);
  // deno-lint-ignore no-explicit-any
  const any = (x: unknown) => x as any;
  assert.throws(
    () => anova(m, any(null)),
    /anova: argument 2 is null, not a fitted lm\(\), lmer\(\) or glmer\(\) model/,
  );
  assert.throws(
    () => anova(m, any({})),
    /anova: argument 2 is an object, not a fitted lm\(\), lmer\(\) or glmer\(\) model/,
  );
  assert.throws(() => anova(any(null)), /anova: expected fitted models.*got null/);
  assert.throws(() => anova({ m, x: any(3) }), /anova: 'x' is a number \(3\), not a fitted/);
  assert.throws(
    () => simulate(m, { rng: any({}) }),
    /simulate: 'rng' must be a random stream made by rng\(seed\), got an object/,
  );
  assert.throws(
    () => simulate(m, any({ nSim: 2 })),
    /simulate: unknown option 'nSim' \(did you mean 'nsim'\?\)/,
  );
  assert.throws(
    () => simulate(m, { seed: any("1") }),
    /simulate: 'seed' must be a finite number, got a string \("1"\)/,
  );
  assert.throws(
    () => simulate(any(null)),
    /simulate: expected a fitted lmer\(\), glmer\(\) or lm\(\) model, got null/,
  );
  assert.throws(
    () => poolingTable(any(m), any(f)),
    /poolingTable: the arguments are swapped: give the lm\(\) fit first/,
  );
  assert.throws(
    () => poolingTable(f, any(f)),
    /poolingTable: the second argument must be an lmer\(\) fit, got a LinearModel/,
  );
  assert.throws(
    () => emmeans(m, any(5)),
    /emmeans: specs must be a factor name or an array of names.*got a number \(5\)/,
  );
  assert.throws(
    () => emmeans(m, "Subject", any({ levl: 0.9 })),
    /emmeans: unknown option 'levl' \(did you mean 'level'\?\); known options: df, level/,
  );
  assert.throws(() => createData(any(null)), /createData: options must be an object, got null/);
  assert.throws(
    () => createData(any({ nCluster: "10" })),
    /createData: 'nCluster' must be an integer >= 1, got a string \("10"\)/,
  );
  assert.throws(
    () => createData(any({ nClusters: 5 })),
    /createData: unknown option 'nClusters' \(did you mean 'nCluster'\?\); known options: obsPerCluster, nCluster, /,
  );
  assert.throws(() => clusterTrial(any(null)), /clusterTrial: options must be an object, got null/);
  assert.throws(
    () => clusterTrial(any({ seed: 1, clusterSize: [2, 2] })),
    /clusterTrial: unknown option 'clusterSize' \(did you mean 'clusterSizes'\?\)/,
  );
  assert.throws(
    () => clusterTrial(any({ seed: "1" })),
    /clusterTrial: 'seed' must be a finite number, got a string/,
  );
  assert.throws(
    () => confint(any(null)),
    /confint: expected a fitted lmer\(\), glmer\(\) or lm\(\) model, got null/,
  );
  assert.throws(
    () => confint(m, any({ methd: "Wald" })),
    /confint: unknown option 'methd' \(did you mean 'method'\?\)/,
  );
  const nd = { Days: ["a", "b"], Subject: ["308", "309"] };
  assert.throws(
    () => m.predict(nd),
    /'Days' was numeric in the data the model was fitted to, but the new data has text\/factor values \("a", "b"\)/,
  );
  assert.throws(
    () => f.predict({ Days: ["a"] }),
    /'Days' was numeric in the data the model was fitted to/,
  );
  assert.throws(
    () => m.predict({ Days: [1], Subject: ["308"] }, { reForm: any("bogus") }),
    /predict: 'reForm' must be "full" .* or "none" .*, got a string \("bogus"\)/,
  );
  assert.throws(
    () => m.predict(undefined, any({ allowNewLevel: true })),
    /predict: unknown option 'allowNewLevel' \(did you mean 'allowNewLevels'\?\)/,
  );
  const long = "a".repeat(500);
  assert.throws(
    () => createData(any({ [long]: 1 })),
    (e: Error) => e.message.length < 300 && /a{40}… \(500 characters\)/.test(e.message),
  );
});
