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
