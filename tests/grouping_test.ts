/**
 * Grouping factors that are interactions or nestings (`a:b`, `a/b`,
 * `a:b:c`): only the combinations that occur, in lme4's level order (its
 * `a %i% b`: first factor varying slowest, unused combinations dropped),
 * against tests/fixtures/grouping.json (written by grouping.R with lme4
 * 1.1-31); and a nesting with 100,000 levels, whose Cartesian product of
 * levels (4e8) would not fit in memory.
 */
import assert from "node:assert/strict";
import { lmer, rng } from "../mod.ts";
import type { Cell } from "../lib/data/frame.ts";
import { fixture } from "./helpers/datasets.ts";
import { nestedSchools } from "./helpers/simData.ts";

interface GroupingFx {
  a_levels: string[];
  data: Record<string, Cell[]>;
  fits: {
    formula: string;
    nobs: number;
    flist: Record<string, string[]>;
    ranef: Record<string, { levels: string[]; values: number[] }>;
    theta: number[];
    REMLcrit: number;
  }[];
}
const fx = fixture<GroupingFx>("grouping.json");

for (const f of fx.fits) {
  Deno.test(`grouping factor levels in lme4's order: ${f.formula}`, () => {
    const m = lmer(f.formula, fx.data, { factors: { a: { levels: fx.a_levels } } });
    assert.equal(m.nobs, f.nobs);
    const tabs = m.ranefTables();
    assert.deepEqual(Object.keys(tabs).sort(), Object.keys(f.ranef).sort());
    for (const [g, r] of Object.entries(f.ranef)) {
      assert.deepEqual([...tabs[g].levels], r.levels, `levels of ${g}`);
      r.values.forEach((v, l) =>
        assert.ok(Math.abs(tabs[g].values[l][0] - v) < 1e-4, `ranef ${g} ${r.levels[l]}`)
      );
    }
    f.theta.forEach((t, k) => assert.ok(Math.abs(m.theta[k] - t) < 5e-4, `theta ${k}`));
    assert.ok(m.REMLcrit() <= f.REMLcrit * (1 + 1e-7));
    // predict() on the data rebuilds the interaction levels for new rows: at the fitted
    // rows the fitted values (a combination seen only in a dropped row is a new level)
    const pred = m.predict(fx.data, { allowNewLevels: true }), fitted = m.fitted();
    m.frame.mf.rows.forEach((row, i) =>
      assert.ok(Math.abs(pred[row] - fitted[i]) < 1e-9, `predict row ${row}`)
    );
  });
}

Deno.test("grouping factor: school/class/student with 100,000 students fits", () => {
  // 200 schools x 20 classes x 100,000 students, 2 rows each: 200,000 rows
  const m = lmer("y ~ 1 + (1 | school/class/student)", nestedSchools());
  const tabs = m.ranefTables();
  // lme4 names the factor "student:(class:school)"
  const g3 = tabs["student:(class:school)"] ?? tabs["student:class:school"];
  assert.ok(g3, `grouping factors: ${Object.keys(tabs)}`);
  assert.equal(g3.levels.length, 100_000);
  assert.equal(g3.values.length, 100_000);
  // levels(lFormula(...)$reTrms$flist[[1]]) in R
  assert.deepEqual(g3.levels.slice(0, 6), [
    "p0:c0:s0",
    "p1:c0:s1",
    "p10:c0:s10",
    "p100:c0:s100",
    "p1000:c5:s0",
    "p10000:c10:s0",
  ]);
  assert.deepEqual(g3.levels.slice(-2), ["p99998:c19:s198", "p99999:c19:s199"]);
  assert.equal(tabs["class:school"].levels.length, 4000);
  // theta as lme4 1.1-31 on the same data (its fit: 27 s, 436 MB)
  [1.00383, 1.033086, 0.921063].forEach((t, k) =>
    assert.ok(Math.abs(m.theta[k] - t) < 1e-3, `theta ${k}: ${m.theta[k]}`)
  );
});

Deno.test("factor specs with 40,000 levels: used and unused columns, unknown column", () => {
  const nl = 40_000, n = 2 * nl;
  const z = rng(5).rnorm(n + nl);
  const label = (k: number) => `g${String(k).padStart(5, "0")}`;
  const g: string[] = [], h: string[] = [], y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % nl;
    g.push(label(k));
    h.push(label(nl - 1 - k));
    y[i] = z[n + k] + z[i];
  }
  const levels = Array.from({ length: nl }, (_, k) => label(nl - 1 - k)); // reversed order
  const data = { y, g, h };
  const m = lmer("y ~ 1 + (1 | g)", data, { factors: { g: { levels }, h: { levels } } });
  const tab = m.ranefTables().g;
  assert.equal(tab.levels.length, nl);
  assert.equal(tab.levels[0], "g39999");
  assert.equal(tab.levels[nl - 1], "g00000");
  // h is not in the formula: recoded (with the given levels) when read
  const hc = m.frame.mf.frame.columns.get("h");
  assert.ok(hc?.kind === "factor");
  assert.equal(hc.levels[0], "g39999");
  assert.equal(hc.levels[hc.codes[0]], "g39999");
  assert.equal(hc.levels[hc.codes[1]], "g39998");
  // the same fit as with the default (sorted) level order, levels reversed
  const m0 = lmer("y ~ 1 + (1 | g)", data);
  assert.ok(Math.abs(m.REMLcrit() - m0.REMLcrit()) < 1e-8 * Math.abs(m0.REMLcrit()));
  const t0 = m0.ranefTables().g;
  assert.ok(Math.abs(tab.values[0][0] - t0.values[nl - 1][0]) < 1e-8);
  // errors: an unknown column; a used column with a value outside its levels
  assert.throws(
    () => lmer("y ~ 1 + (1 | g)", data, { factors: { nope: { levels } } }),
    /factors: unknown column 'nope'/,
  );
  assert.throws(
    () => lmer("y ~ 1 + (1 | g)", data, { factors: { g: { levels: levels.slice(1) } } }),
    /factors: column 'g' has values not in its levels: g39999/,
  );
});
