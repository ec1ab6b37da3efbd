/**
 * The shipped datasets (lib/datasets): every column as R has it (checked
 * against tests/fixtures/datasets.json, written by datasets_export.R from
 * lme4 and mlmRev), factor level order and orderedness carried through polars
 * Categorical columns, and fits that need no factor options.
 */
import assert from "node:assert/strict";
import { dataset, datasetNames, lm, lmer } from "../mod.ts";
import type { DatasetName } from "../mod.ts";
import { pl } from "../lib/deps.ts";
import { toFrame } from "../lib/data/frame.ts";
import { categoricalSeries } from "../lib/data/categorical.ts";
import { assertClose, fixture } from "./helpers/datasets.ts";
import type { LmerFixtureCore } from "./helpers/lmerFixture.ts";

interface ColumnCheck {
  name: string;
  type: "factor" | "ordered" | "integer" | "numeric";
  n_na: number;
  levels?: string[];
  code_sum?: number;
  sum?: number;
  sum_sq?: number;
  first: (string | number | null)[];
}
interface DatasetCheck {
  name: string;
  package: string;
  nrow: number;
  columns: ColumnCheck[];
}
const checks = fixture<{ datasets: DatasetCheck[] }>("datasets.json").datasets;

Deno.test("datasets: the names are R's, in the fixture's order", () => {
  assert.deepEqual(datasetNames(), checks.map((c) => c.name));
  for (
    const n of ["sleepstudy", "Dyestuff", "Dyestuff2", "Penicillin", "Pastes", "cake", "cbpp"]
      .concat(["InstEval", "VerbAgg", "grouseticks", "Contraception"])
  ) assert.ok(datasetNames().includes(n as DatasetName), n);
});

for (const c of checks) {
  Deno.test(`datasets: ${c.name} is R's ${c.package}::${c.name}, column by column`, () => {
    const df = dataset(c.name as DatasetName);
    assert.equal(df.height, c.nrow);
    assert.deepEqual(df.columns, c.columns.map((k) => k.name));
    const frame = toFrame(df);
    for (const k of c.columns) {
      const col = frame.columns.get(k.name)!;
      if (k.type === "factor" || k.type === "ordered") {
        assert.equal(col.kind, "factor", k.name);
        if (col.kind !== "factor") continue;
        // all of R's levels occur in these datasets, so the levels read back
        // from the Categorical are R's, in R's order
        assert.deepEqual(col.levels, k.levels, `${c.name}$${k.name} levels`);
        assert.equal(col.ordered, k.type === "ordered", `${c.name}$${k.name} ordered`);
        let na = 0, sum = 0;
        for (const code of col.codes) code < 0 ? na++ : (sum += code + 1);
        assert.equal(na, k.n_na, `${c.name}$${k.name} NA`);
        assert.equal(sum, k.code_sum, `${c.name}$${k.name} codes`);
        assert.deepEqual(
          Array.from(col.codes.slice(0, k.first.length), (v) => col.levels[v]),
          k.first,
        );
      } else {
        assert.equal(col.kind, "numeric", k.name);
        if (col.kind !== "numeric") continue;
        let na = 0, sum = 0, sq = 0;
        for (const v of col.values) Number.isNaN(v) ? na++ : (sum += v, sq += v * v);
        assert.equal(na, k.n_na, `${c.name}$${k.name} NA`);
        // R sums in long double: agreement to the rounding of the sum
        // (relative to the sum of |values|, for centred columns)
        const scale = Math.sqrt(c.nrow * k.sum_sq!);
        assert.ok(Math.abs(sum - k.sum!) <= 1e-13 * scale, `${c.name}$${k.name} sum ${sum}`);
        assertClose(sq, k.sum_sq!, 1e-13, `${c.name}$${k.name} sum of squares`, 1);
        assert.deepEqual(Array.from(col.values.slice(0, k.first.length)), k.first);
        const dtype = String(df.getColumn(k.name).dtype);
        assert.equal(dtype, k.type === "integer" ? "DataType(Int32)" : "DataType(Float64)");
      }
    }
  });
}

Deno.test("datasets: cake needs no factor options (ordered temperature: contr.poly)", () => {
  const f = fixture<{ models: LmerFixtureCore[] }>("lmer.json").models
    .find((m) => m.id === "cake_recipe_x_temperature_REML")!;
  const m = lmer("angle ~ recipe * temperature + (1 | recipe:replicate)", dataset("cake"));
  for (const [k, v] of Object.entries(f.beta)) assertClose(m.fixef()[k], v, 1e-7, k);
  assertClose(m.REMLcrit(), f.deviance, 1e-10, "REML criterion");
});

Deno.test("datasets: orderedness and level order survive polars operations", () => {
  const cake = dataset("cake") as unknown as pl.DataFrame;
  // keep temperatures 185..215 and reverse the rows: still an ordered factor
  // with R's levels (a subset keeps unused levels, as in R; the model frame
  // drops them)
  const sub = cake.filter(pl.col("temp").gt(180).and(pl.col("temp").lt(220))).reverse();
  const t = toFrame(sub as never).columns.get("temperature")!;
  assert.equal(t.kind, "factor");
  if (t.kind === "factor") {
    assert.deepEqual(t.levels, ["175", "185", "195", "205", "215", "225"]);
    assert.equal(t.ordered, true);
  }
  // replicate 1..15 stays in numeric order (not "1", "10", "11", ...)
  const r = toFrame(cake.sort("angle") as never).columns.get("replicate")!;
  assert.equal(
    r.kind === "factor" && r.levels.join(","),
    Array.from({ length: 15 }, (_, i) => i + 1).join(","),
  );
  // a fit on the subset: temperature has 4 levels, so 3 polynomial columns
  const m = lm("angle ~ temperature", sub as never);
  assert.deepEqual(Object.keys(m.coef()), [
    "(Intercept)",
    "temperature.L",
    "temperature.Q",
    "temperature.C",
  ]);
});

Deno.test("datasets: Categorical columns: registered level order, else R's sorted order", () => {
  const g = categoricalSeries("g", ["zeta", "alpha", "mid"], Int32Array.from([2, 0, -1, 1, 0]));
  const df = pl.DataFrame([g, pl.Series("y", [1, 2, 3, 4, 5])]);
  const f = toFrame(df as never).columns.get("g")!;
  assert.equal(f.kind, "factor");
  if (f.kind === "factor") {
    assert.deepEqual(f.levels, ["zeta", "alpha", "mid"]);
    assert.deepEqual(Array.from(f.codes), [2, 0, -1, 1, 0]);
    assert.equal(f.ordered, false);
  }
  // a Categorical the library did not make reads as strings do (R's sorted
  // order), whatever codes polars' global string cache gave its values
  const other = pl.DataFrame([
    pl.Series("h", ["mid", "zeta", null, "alpha", "zeta"]).cast(
      pl.Categorical,
    ),
  ]);
  const h = toFrame(other as never).columns.get("h")!;
  assert.equal(h.kind === "factor" && h.levels.join(","), "alpha,mid,zeta");
  // values outside the registered set: not that factor (sorted order)
  const g2 = pl.DataFrame([pl.Series("g", ["zeta", "omega"]).cast(pl.Categorical)]);
  const f2 = toFrame(g2 as never).columns.get("g")!;
  assert.equal(f2.kind === "factor" && f2.levels.join(","), "omega,zeta");
});

Deno.test("datasets: each call returns a frame of its own; unknown names are named", () => {
  const a = dataset("sleepstudy"), b = dataset("sleepstudy");
  assert.notEqual(a, b);
  assert.equal(a.height, b.height);
  assert.throws(
    () => dataset("instEval" as DatasetName),
    /unknown dataset "instEval".*did you mean 'InstEval'/,
  );
  assert.throws(
    () => dataset("nope" as DatasetName),
    /unknown dataset "nope"; available: sleepstudy, /,
  );
  assert.throws(() => dataset(undefined as unknown as DatasetName), /unknown dataset/);
  assert.throws(() => dataset("toString" as DatasetName), /unknown dataset "toString"/);
});

Deno.test("datasets: a frame spread into columns ({ ...df, y }) is data too", () => {
  const df = dataset("sleepstudy");
  const y = (df.getColumn("Reaction").toArray() as number[]).map((v) => v + 1);
  const m = lmer("Reaction ~ Days + (Days | Subject)", { ...df, Reaction: y } as never);
  const base = lmer("Reaction ~ Days + (Days | Subject)", df);
  assertClose(m.fixef()["(Intercept)"], base.fixef()["(Intercept)"] + 1, 1e-9, "intercept + 1");
});
