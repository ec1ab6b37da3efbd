/**
 * The formula syntax lme4 users write (issue 10), against R and lme4
 * (tests/fixtures/syntax.json, written by syntax.R): offset() in the
 * formula (lm, lmer, predict on new data), named and extra arguments of
 * scale/log/poly, orthogonal poly() and its reuse by predict, factor(),
 * as.numeric(), comparisons and logical operators, logical columns,
 * backquoted and non-ASCII names, `.`, parenthesised sums of random terms
 * and lme4's "very different scales" warning.
 */
import assert from "node:assert/strict";
import { emmeans, lm, lmer, lmList } from "../mod.ts";
import type { Cell } from "../lib/data/frame.ts";
import { expandFormula } from "../lib/formula/terms.ts";
import { parseFormula } from "../lib/formula/parse.ts";
import { assertClose, fixture } from "./helpers/datasets.ts";

type Columns = Record<string, Cell[]>;
interface Case {
  id: string;
  kind: "lm" | "lmer";
  formula: string;
  data: string;
  offset?: string;
  colnames: string[];
  assign?: number[];
  matrix?: number[][];
  coef?: Record<string, number | null>;
  beta?: Record<string, number>;
  theta?: number[];
  sigma?: number;
  criterion?: number;
  messages?: string[];
  groups?: string[];
  warnings: string[];
  fitted: number[];
  newdata?: Columns;
  predict?: number[];
}

interface EmmCase {
  id: string;
  kind: "lm" | "lmer";
  formula: string;
  data: string;
  offset?: string;
  specs: string;
  df_method?: "satterthwaite";
  levels: string[];
  emmean: number[];
  se: number[];
  df: number[];
}

const fx = fixture<{ data: Record<string, Columns>; cases: Case[]; emmeans: EmmCase[] }>(
  "syntax.json",
);
const SCALE_WARNING = "Some predictor variables are on very different scales: consider rescaling";

function closeAll(got: ArrayLike<number>, want: readonly number[], tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) assertClose(got[i], want[i], tol, `${what}[${i}]`, 1);
}

for (const c of fx.cases.filter((c) => c.kind === "lm")) {
  Deno.test(`syntax (lm) ${c.id}: ${c.formula} as R`, () => {
    const data = fx.data[c.data];
    const m = lm(c.formula, data, c.offset ? { offset: c.offset } : {});
    const mf = m.modelFrame;
    assert.deepEqual(mf.x.names, c.colnames, "model.matrix column names");
    assert.deepEqual(mf.plan.assign, c.assign, "assign");
    const n = mf.x.n;
    c.matrix!.forEach((row, i) =>
      row.forEach((v, j) => assertClose(mf.x.x[j * n + i], v, 1e-13, `X[${i}, ${j}]`, 1))
    );
    const coef = m.coef();
    assert.deepEqual(Object.keys(coef), Object.keys(c.coef!));
    for (const [k, v] of Object.entries(c.coef!)) {
      if (v === null) assert.equal(coef[k], null, `${k} aliased`);
      else assertClose(coef[k]!, v, 1e-9, `coef ${k}`, 1e-6);
    }
    closeAll(m.fitted(), c.fitted, 1e-10, "fitted");
    if (c.predict) closeAll(m.predict(c.newdata!), c.predict, 1e-9, "predict(newdata)");
  });
}

for (const c of fx.cases.filter((c) => c.kind === "lmer")) {
  Deno.test(`syntax (lmer) ${c.id}: ${c.formula} as lme4`, () => {
    const data = fx.data[c.data];
    const m = lmer(c.formula, data, c.offset ? { offset: c.offset } : {});
    assert.deepEqual(Object.keys(m.fixef()), c.colnames, "X column names");
    assert.deepEqual(Object.keys(m.ranef()), c.groups, "grouping factor names");
    // lme4's warning while building X (check.scaleX; lme4 prints it under
    // "fit warnings"), among the messages from building the model
    assert.equal(
      m.frameMessages.includes(SCALE_WARNING),
      c.warnings.includes(SCALE_WARNING),
      `scale warning: ours ${JSON.stringify(m.frameMessages)}, lme4 ${JSON.stringify(c.warnings)}`,
    );
    if (c.warnings.includes(SCALE_WARNING)) {
      // lme4's print(summary(m)) lists it under "fit warnings:"
      assert.ok(String(m.summary()).includes(`\nfit warnings:\n${SCALE_WARNING}\n`));
    }
    // `y ~ . + (1 | g)`: lme4 puts g among the fixed effects too (as R's `.`
    // does), a model whose θ is not identified; only the columns are compared.
    if (c.id === "lmer_dot") return;
    assertClose(m.REMLcrit(), c.criterion!, 1e-9, "REML criterion");
    closeAll(m.theta, c.theta!, 1e-4, "theta");
    for (const [k, v] of Object.entries(c.beta!)) assertClose(m.fixef()[k], v, 1e-5, `beta ${k}`);
    assertClose(m.sigma, c.sigma!, 1e-5, "sigma");
    closeAll(m.fitted(), c.fitted, 1e-6, "fitted");
    if (c.predict) closeAll(m.predict(c.newdata!), c.predict, 1e-6, "predict(newdata)");
  });
}

Deno.test("syntax: predict on new data with offsets given as options", () => {
  const d = fx.data.d;
  const nd = { x: [1, 2], o: [0, 1], w2: [1, 1], g: ["g1", "g2"] };
  // lm: a column name is read from the new data (R evaluates offset = w2 there); numbers cannot be
  const a = lm("y ~ x", d, { offset: "w2" }), b = lm("y ~ x + offset(w2)", d);
  assert.deepEqual(a.predict(nd), b.predict(nd));
  const w2 = (d.w2 as number[]).slice();
  assert.throws(() => lm("y ~ x", d, { offset: w2 }).predict(nd), /offset given as numbers/);
  assert.throws(() => a.predict({ x: [1] }), /need a numeric column 'w2'/);
  // lmer: lme4 leaves the option out of new-data predictions; we refuse
  assert.throws(() => lmer("y ~ x + (1 | g)", d, { offset: "w2" }).predict(nd), /offset option/);
  assert.equal(lmer("y ~ x + offset(o) + (1 | g)", d).predict(nd).length, 2);
});

Deno.test("syntax: parsing of R's operators, strings, named arguments and names", () => {
  const labels = (f: string) => expandFormula(parseFormula(f)).fixed.terms.map((t) => t.label);
  assert.deepEqual(
    labels("y ~ I(!a == 'x') + I(a & b | !c) + x > 2"),
    [
      'I(!a == "x")',
      "I(a & b | !c)",
      'I(!a == "x") + I(a & b | !c) + x > 2',
    ].slice(2),
  );
  assert.deepEqual(labels("y ~ scale(x, center = FALSE) + log(x, 2) + `a b` + höhe + offset(o)"), [
    "scale(x, center = FALSE)",
    "log(x, 2)",
    "`a b`",
    "höhe",
  ]);
  assert.deepEqual(expandFormula(parseFormula("y ~ x + offset(o)")).fixed.offsets, [1]);
  // lme4's findbars: bars inside a parenthesised sum
  const mf = expandFormula(parseFormula("y ~ x + ((1 | g) + z + (0 + x | h))"));
  assert.deepEqual(mf.fixed.terms.map((t) => t.label), ["x", "z"]);
  assert.deepEqual(mf.random.map((r) => r.groupLabel), ["g", "h"]);
  assert.throws(() => parseFormula('y ~ I(f == "a)'), /unterminated string/);
  assert.throws(() => lm("y ~ scale(x, centre = FALSE)", fx.data.d), /unknown argument 'centre'/);
  assert.throws(() => lm("y ~ poly(x, 8)", fx.data.d), /degree' must be less than/);
});

for (const c of fx.emmeans) {
  Deno.test(`syntax: emmeans of ${c.kind}(${c.formula}) as R's emmeans`, () => {
    const data = fx.data[c.data];
    const opts = c.offset ? { offset: c.offset } : {};
    const m = c.kind === "lm" ? lm(c.formula, data, opts) : lmer(c.formula, data, opts);
    const t = emmeans(m, c.specs, c.df_method ? { df: c.df_method } : {});
    assert.deepEqual(t.getColumn(c.specs).toArray(), c.levels);
    closeAll(t.getColumn("emmean").toArray() as number[], c.emmean, 1e-6, "emmean");
    closeAll(t.getColumn("SE").toArray() as number[], c.se, 1e-5, "SE");
    closeAll(t.getColumn("df").toArray() as number[], c.df, 1e-4, "df");
  });
}

Deno.test("syntax: a logical column as R: bTRUE even when every value is TRUE; as a grouping factor", () => {
  const d = fx.data.d;
  const sub = { y: d.y.slice(0, 10), x: d.x.slice(0, 10), b: new Array(10).fill(true) };
  // R: coef(lm(y ~ x + b)) has bTRUE = NA (aliased with the intercept)
  assert.deepEqual(Object.keys(lm("y ~ x + b", sub).coef()), ["(Intercept)", "x", "bTRUE"]);
  assert.equal(lm("y ~ x + b", sub).coef().bTRUE, null);
  // lme4: REMLcrit(lmer(y ~ x + (1 | b), d)) = 118.9225 (singular)
  assertClose(lmer("y ~ x + (1 | b)", d).REMLcrit(), 118.9225, 1e-6, "REMLcrit");
});

Deno.test("syntax: lmList refuses offset() rather than leaving it out", () => {
  assert.throws(() => lmList("y ~ x + offset(o) | g", fx.data.d), /lmList: offset\(\) terms/);
});

Deno.test("syntax: a logical response is fitted as 0/1 (R's lm)", () => {
  const d = { b: [true, false, true, true, false], x: [1, 2, 3, 4, 5] };
  // R: coef(lm(b ~ x)) = 0.9, -0.1; coef(lm(I(x > 2) ~ x)) = -0.3, 0.3
  const a = lm("b ~ x", d).coef(), c = lm("I(x > 2) ~ x", d).coef();
  assertClose(a["(Intercept)"]!, 0.9, 1e-12, "b ~ x intercept");
  assertClose(a.x!, -0.1, 1e-12, "b ~ x slope");
  assertClose(c["(Intercept)"]!, -0.3, 1e-12, "I(x > 2) ~ x intercept");
  assertClose(c.x!, 0.3, 1e-12, "I(x > 2) ~ x slope");
});
