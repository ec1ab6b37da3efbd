/**
 * Formula parsing, term expansion and model matrices against R's
 * `model.matrix` (tests/fixtures/modelmatrix.json, written by modelmatrix.R),
 * and the formula errors a user sees.
 */
import assert from "node:assert/strict";
import { modelFrame, parseFormula } from "../advanced.ts";
import { expandFormula } from "../lib/formula/terms.ts";
import { assertClose, dataset, fixture } from "./helpers/datasets.ts";

interface MMCase {
  dataset: string;
  formula: string;
  colnames: string[];
  matrix_head: number[][];
  assign: number[];
}

const { cases } = fixture<{ cases: MMCase[] }>("modelmatrix.json");

for (const c of cases) {
  Deno.test(`model.matrix ${c.dataset}: ${c.formula}`, () => {
    const d = dataset(c.dataset);
    const mf = modelFrame(c.formula, d.data, d.options);
    assert.deepEqual([...mf.x.names], c.colnames);
    assert.deepEqual([...mf.plan.assign], c.assign);
    const n = mf.x.n;
    c.matrix_head.forEach((row, i) =>
      row.forEach((v, j) => assertClose(mf.x.x[j * n + i], v, 1e-12, `X[${i},${j}]`, 1e-12))
    );
  });
}

const labels = (f: string) => expandFormula(parseFormula(f)).fixed.terms.map((t) => t.label);

Deno.test("term expansion follows R's terms()", () => {
  assert.deepEqual(labels("y ~ a * b"), ["a", "b", "a:b"]);
  assert.deepEqual(labels("y ~ a * b * c - a:b:c"), ["a", "b", "c", "a:b", "a:c", "b:c"]);
  assert.deepEqual(labels("y ~ (a + b + c)^2"), ["a", "b", "c", "a:b", "a:c", "b:c"]);
  assert.deepEqual(labels("y ~ a/b"), ["a", "a:b"]);
  assert.deepEqual(labels("y ~ (a + b)/c"), ["a", "b", "a:b:c"]);
  assert.deepEqual(labels("y ~ b %in% a"), ["b:a"]);
  assert.deepEqual(labels("y ~ I(x^2) + log(x + 1)"), ["I(x^2)", "log(x + 1)"]);
  assert.equal(expandFormula(parseFormula("y ~ 0 + a")).fixed.intercept, false);
  assert.equal(expandFormula(parseFormula("y ~ a - 1")).fixed.intercept, false);
  assert.equal(expandFormula(parseFormula("y ~ -1 + a")).fixed.intercept, false);
  assert.equal(expandFormula(parseFormula("y ~ a + 1")).fixed.intercept, true);
});

Deno.test("random terms: (x | g), (x || g), nesting and interaction grouping", () => {
  const r = (f: string) =>
    expandFormula(parseFormula(f)).random.map((t) =>
      `${t.lhs.intercept ? "1" : "0"}${
        t.lhs.terms.map((x) => "+" + x.label).join("")
      }|${t.groupLabel}`
    );
  assert.deepEqual(r("y ~ x + (x | g)"), ["1+x|g"]);
  assert.deepEqual(r("y ~ (0 + x | g)"), ["0+x|g"]);
  assert.deepEqual(r("y ~ (x || g)"), ["1|g", "0+x|g"]);
  assert.deepEqual(r("y ~ (1 | a/b)"), ["1|b:a", "1|a"]);
  assert.deepEqual(r("y ~ (1 | a:b) + (1 | c)"), ["1|a:b", "1|c"]);
  assert.deepEqual(expandFormula(parseFormula("y ~ x + (x | g)")).fixed.terms.map((t) => t.label), [
    "x",
  ]);
});

Deno.test("formula errors name the problem and the position", () => {
  assert.throws(() => parseFormula("y ~ (x + z"), /unbalanced parenthesis at 5/);
  assert.throws(
    () => parseFormula("Reaction ~ Days + (Days | Subject"),
    /unbalanced parenthesis at 19/,
  );
  assert.throws(() => parseFormula("y ~ x)"), /unbalanced parenthesis at 6/);
  assert.throws(() => parseFormula("y x"), /unexpected 'x' at 3|missing '~'/);
  assert.throws(() => parseFormula("y ~"), /nothing on the right of '~'/);
  assert.throws(() => parseFormula("y ~ x $ z"), /unexpected character '\$' at 7/);
  // lme4 reads a bare `y ~ x | g` as one random term (| binds loosest); elsewhere it is an error.
  assert.equal(expandFormula(parseFormula("y ~ x | g")).random.length, 1);
  assert.throws(() => expandFormula(parseFormula("y ~ w + (z | g):w")), /must stand on its own/);
  // Inside a call, `|` is R's logical 'or' (I(x > 2 | z < 1)), not a random term.
  assert.equal(expandFormula(parseFormula("y ~ I(x | g)")).random.length, 0);
  assert.throws(() => expandFormula(parseFormula("y ~ 2 + x")), /a number \(2\) cannot be a term/);
  const d = dataset("sleepstudy").data;
  assert.throws(
    () => modelFrame("Reaction ~ Dayz", d),
    /unknown column 'Dayz' \(did you mean 'Days'\?\) at 12/,
  );
  assert.throws(() => modelFrame("Reaction ~ Days + (1 | Subjct)", d), /did you mean 'Subject'/);
  assert.throws(() => modelFrame("Reaction ~ foo(Days)", d), /unknown function 'foo\(\)'/);
});

Deno.test("data shapes: rows, columns and polars give the same frame", async () => {
  const { pl } = await import("../lib/deps.ts");
  const cols = { y: [1, 2, 3.5, 4], g: ["b", "a", "b", "a"] };
  const rows = cols.y.map((y, i) => ({ y, g: cols.g[i] }));
  const df = pl.DataFrame(cols);
  for (const data of [cols, rows, df]) {
    const mf = modelFrame("y ~ g", data);
    assert.deepEqual([...mf.x.names], ["(Intercept)", "gb"]);
    assert.deepEqual([...mf.x.x], [1, 1, 1, 1, 1, 0, 1, 0]);
  }
  // Booleans become factors FALSE < TRUE; numeric grouping factors sort numerically.
  const mf = modelFrame("y ~ flag + (1 | id)", {
    y: [1, 2, 3, 4],
    flag: [true, false, true, false],
    id: [10, 9, 10, 100],
  });
  assert.deepEqual([...mf.x.names], ["(Intercept)", "flagTRUE"]);
  assert.deepEqual([...mf.random[0].levels], ["9", "10", "100"]);
});
