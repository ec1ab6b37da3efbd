/**
 * R's `terms()` and `model.matrix()` on 670 random fixed-effects formulas
 * (tests/fixtures/formulas.json, written by formulas.R): term labels and
 * their order, the intercept, column names, assign, R's warnings, the matrix
 * values (first 230 formulas) to 1e-12, or an error where R errors. Plus the
 * bounds on expansion and nesting.
 */
import assert from "node:assert/strict";
import { modelFrame } from "../lib/design/modelframe.ts";
import { parseFormula } from "../lib/formula/parse.ts";
import { expandFormula, MAX_TERMS } from "../lib/formula/terms.ts";
import { FormulaError } from "../lib/formula/tokenize.ts";
import { fixture } from "./helpers/datasets.ts";

interface Case {
  formula: string;
  error?: string;
  term_labels?: string[];
  intercept?: number;
  colnames?: string[];
  assign?: number[];
  warnings?: string[];
  matrix?: number[][];
}
interface Fixture {
  data: Record<string, (number | string)[]>;
  levels: Record<string, string[]>;
  ordered: string[];
  cases: Case[];
}

const fx = fixture<Fixture>("formulas.json");
const factors = Object.fromEntries(
  Object.entries(fx.levels).map(([k, levels]) => [k, { levels, ordered: fx.ordered.includes(k) }]),
);

/** Every disagreement with R for one case (empty when it agrees). */
function compare(c: Case): string[] {
  let mf;
  try {
    mf = modelFrame(c.formula, fx.data, { factors });
  } catch (e) {
    if (c.error !== undefined) return [];
    return [`error where R has none: ${(e as Error).message.split("\n")[0]}`];
  }
  if (c.error !== undefined) return [`no error where R says: ${c.error}`];
  const out: string[] = [];
  const labels = mf.formula.fixed.terms.map((t) => t.label);
  if (JSON.stringify(labels) !== JSON.stringify(c.term_labels)) {
    out.push(`terms ${JSON.stringify(labels)} vs R ${JSON.stringify(c.term_labels)}`);
  }
  if (Number(mf.formula.fixed.intercept) !== c.intercept) out.push("intercept");
  if (JSON.stringify(mf.x.names) !== JSON.stringify(c.colnames)) {
    out.push(`colnames ${JSON.stringify(mf.x.names)} vs R ${JSON.stringify(c.colnames)}`);
  }
  if (JSON.stringify(mf.plan.assign) !== JSON.stringify(c.assign)) out.push("assign");
  if (JSON.stringify(mf.plan.warnings) !== JSON.stringify(c.warnings)) {
    out.push(`warnings ${JSON.stringify(mf.plan.warnings)} vs R ${JSON.stringify(c.warnings)}`);
  }
  if (c.matrix && out.length === 0) {
    const n = mf.x.n;
    c.matrix.forEach((row, i) =>
      row.forEach((v, j) => {
        const a = mf.x.x[j * n + i];
        if (!(Math.abs(a - v) <= 1e-12 * Math.max(1, Math.abs(v)))) {
          out.push(`X[${i},${j}] ${a} vs R ${v}`);
        }
      })
    );
  }
  return out;
}

Deno.test("terms() and model.matrix() agree with R on every formula of formulas.json", () => {
  const bad: string[] = [];
  let values = 0, errors = 0;
  for (const c of fx.cases) {
    const d = compare(c);
    if (d.length) bad.push(`${c.formula}: ${d.slice(0, 3).join("; ")}`);
    if (c.matrix) values++;
    if (c.error !== undefined) errors++;
  }
  console.log(
    `${fx.cases.length - bad.length}/${fx.cases.length} formulas agree with R ` +
      `(${values} with matrix values, ${errors} where R errors)`,
  );
  assert.ok(fx.cases.length >= 600);
  assert.deepEqual(bad, []);
});

const labels = (f: string) => expandFormula(parseFormula(f)).fixed.terms.map((t) => t.label);

Deno.test("%in% nests each left term in all right terms together", () => {
  assert.deepEqual(labels("y ~ x %in% (z + w)"), ["x:z:w"]);
  assert.deepEqual(labels("y ~ 1 + a %in% (z - z) : b"), ["a"]);
  assert.deepEqual(labels("y ~ a %in% b %in% c"), ["a:b:c"]);
  assert.deepEqual(labels("y ~ (a + b):(c + d)"), ["a:c", "a:d", "b:c", "b:d"]);
  assert.deepEqual(labels("y ~ (b - b)/z"), []);
});

Deno.test("the response on the right is kept as R's term but gives no column, with R's warnings", () => {
  const data = { y: [1, 3, 2, 5, 4, 6], x: [1, 2, 3, 4, 5, 7] };
  const mf = modelFrame("y ~ x + y", data);
  assert.deepEqual(mf.formula.fixed.terms.map((t) => t.label), ["x", "y"]);
  assert.deepEqual([...mf.x.names], ["(Intercept)", "x"]);
  assert.deepEqual([...mf.plan.warnings], [
    "the response appeared on the right-hand side and was dropped",
    "problem with term 2 in model.matrix: no columns are assigned",
  ]);
  assert.deepEqual([...modelFrame("y ~ y", data).x.names], ["(Intercept)"]);
});

Deno.test("a constant response (1 ~ x) is a FormulaError", () => {
  assert.throws(() => expandFormula(parseFormula("1 ~ x")), FormulaError);
  assert.throws(() => expandFormula(parseFormula("1 ~ x")), /response is the constant 1/);
});

Deno.test("expansion is bounded: large powers capped, too many terms refused", () => {
  assert.deepEqual(labels("y ~ (x + z)^1e9"), ["x", "z", "x:z"]);
  assert.throws(() => labels("y ~ (x + z)^1e10"), FormulaError); // R: NA power
  const v = (k: number) => Array.from({ length: k }, (_, i) => `v${i}`);
  for (const f of [`y ~ (${v(30).join(" + ")})^30`, `y ~ ${v(16).join(" * ")}`]) {
    const t0 = performance.now();
    assert.throws(() => labels(f), (e: unknown) => {
      assert.ok(e instanceof FormulaError);
      assert.match(e.message, new RegExp(`more than ${MAX_TERMS.toLocaleString("en-US")} terms`));
      return true;
    });
    assert.ok(performance.now() - t0 < 5000, `${f.slice(0, 40)}… took too long`);
  }
  assert.equal(labels(`y ~ ${v(13).join(" * ")}`).length, 8191);
});

Deno.test("deep nesting is a FormulaError naming the depth limit and position", () => {
  const cases = [
    `y ~ ${"(".repeat(1000)}x${")".repeat(1000)}`,
    `y ~ ${"-".repeat(10000)}x`,
    `y ~ x${" + x".repeat(20000)}`,
    `y ~ ${"log(".repeat(5000)}x${")".repeat(5000)}`,
    `y ~ x${":x".repeat(20000)}`,
    `y ~ x^${"-".repeat(10000)}2`,
  ];
  for (const f of cases) {
    assert.throws(() => expandFormula(parseFormula(f)), (e: unknown) => {
      assert.ok(e instanceof FormulaError, String(e));
      assert.match(e.message, /nested too deeply: more than 500 levels/);
      assert.ok(e.pos > 0);
      return true;
    });
  }
  // 450 chained terms are fine.
  assert.equal(
    labels(`y ~ ${Array.from({ length: 450 }, (_, i) => `x${i}`).join(" + ")}`).length,
    450,
  );
});

Deno.test("lm and lmer report the dropped response as R warns, and fit without it", async () => {
  const { lm, lmer } = await import("../mod.ts");
  const data = {
    y: [1.2, 3.1, 2.2, 5.3, 4.1, 6.4, 5.5, 7.9, 6.1, 8.8],
    x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    g: ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"],
  };
  const warn = [
    "the response appeared on the right-hand side and was dropped",
    "problem with term 2 in model.matrix: no columns are assigned",
  ];
  const m = lm("y ~ x + y", data);
  assert.deepEqual(Object.keys(m.coef()), ["(Intercept)", "x"]);
  assert.deepEqual(m.messages.slice(0, 2), warn);
  const ref = lm("y ~ x", data).coef();
  assert.ok(Math.abs((m.coef().x as number) - (ref.x as number)) < 1e-12);
  const mm = lmer("y ~ x + y + (1 | g)", data);
  assert.ok(warn.every((w) => mm.frameMessages.includes(w)), String(mm.frameMessages));
});

Deno.test("expressions nested up to the depth limit evaluate (no stack overflow)", async () => {
  const { lm } = await import("../mod.ts");
  const data = { y: [1, 3, 2, 5, 4, 6], x: [1, 2, 3, 4, 5, 7] };
  const deep = `y ~ I(${"(".repeat(480)}x${")".repeat(480)})`;
  assert.equal(lm(deep, data).coef()[`I(${"(".repeat(480)}x${")".repeat(480)})`] !== null, true);
  const chain = `y ~ I(${Array.from({ length: 480 }, () => "x").join(" + ")})`;
  assert.equal(Object.keys(lm(chain, data).coef()).length, 2);
});
