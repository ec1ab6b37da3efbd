/**
 * lmer from a polars LazyFrame (lib/sources/): the fit from aggregated
 * cross-products equals the in-memory fit of the same rows (criterion within
 * 1e-10 relative, β within 1e-8, θ and standard errors within 1e-6 relative,
 * as the in-memory fit equals itself on permuted rows), from `df.lazy()`,
 * `pl.scanParquet` and `pl.scanCsv`; bad input gets errors naming the
 * problem; what needs the rows says so.
 */
import assert from "node:assert/strict";
import { anova, createData, dataset, lmer } from "../mod.ts";
import type { LinearMixedModel } from "../mod.ts";
import { pl } from "../lib/deps.ts";
import type { DataFrame as PlFrame, LazyDataFrame } from "../lib/deps.ts";

/** The library's DataFrame type is narrower than polars' own. */
const pf = (df: unknown): PlFrame => df as PlFrame;
import { aggregateLazy, lmerLazy } from "../lib/sources/polars.ts";
import { blockQueries, levelQueries, lmerPlan, UnsupportedTermError } from "../lib/sources/plan.ts";

function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-300));
  }
  return m;
}

function absMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The lazy fit agrees with the in-memory one at the stated tolerances. */
function assertAgree(lazy: LinearMixedModel, mem: LinearMixedModel, what: string): void {
  const crit = Math.abs(lazy.optSummary.fmin - mem.optSummary.fmin) / Math.abs(mem.optSummary.fmin);
  assert.ok(crit < 1e-10, `${what}: criterion differs by ${crit} relative`);
  assert.deepEqual(Object.keys(lazy.fixef()), Object.keys(mem.fixef()), `${what}: fixef names`);
  const b = absMax(lazy.solution.beta, mem.solution.beta);
  assert.ok(b < 1e-8, `${what}: β differs by ${b}`);
  const th = relMax(lazy.theta.map((v) => v + 1e-6), mem.theta.map((v) => v + 1e-6));
  assert.ok(th < 1e-6, `${what}: θ differs by ${th} relative`);
  const se = relMax(lazy.solution.se, mem.solution.se);
  assert.ok(se < 1e-6, `${what}: SEs differ by ${se} relative`);
  assert.equal(lazy.nobs, mem.nobs);
  assert.deepEqual(lazy.thetaNames, mem.thetaNames);
  assert.deepEqual(lazy.frameMessages, mem.frameMessages, `${what}: messages`);
  // the random effects, level by level in the same (R's) order
  const rl = lazy.ranefTables(), rm = mem.ranefTables();
  assert.deepEqual(Object.keys(rl), Object.keys(rm));
  for (const g of Object.keys(rm)) {
    assert.deepEqual(rl[g].levels, rm[g].levels, `${what}: levels of ${g}`);
    const d = absMax(rl[g].values.flat(), rm[g].values.flat());
    let scale = 1;
    for (const row of rm[g].values) for (const v of row) scale = Math.max(scale, Math.abs(v));
    assert.ok(d < 1e-6 * scale, `${what}: ranef ${g} ${d}`);
  }
}

function both(formula: string, df: unknown, lf: LazyDataFrame, what: string, REML = true) {
  const mem = lmer(formula, pf(df), { REML });
  const lazy = lmer(formula, lf, { REML });
  assertAgree(lazy, mem, what);
  return { mem, lazy };
}

Deno.test("sleepstudy: lmer from df.lazy() equals the in-memory fit (REML and ML)", () => {
  const ss = dataset("sleepstudy");
  for (const REML of [true, false]) {
    both("Reaction ~ Days + (Days | Subject)", ss, pf(ss).lazy(), `sleepstudy REML=${REML}`, REML);
  }
  // transformations, ||, and a scalar-intercept model (lme4's start from the level means)
  both("log(Reaction) ~ Days + I(Days^2) + (Days || Subject)", ss, pf(ss).lazy(), "log, I(), ||");
  both("Reaction ~ Days + (1 | Subject)", ss, pf(ss).lazy(), "intercept only");
});

Deno.test("factors, interactions, nested and crossed grouping agree with the in-memory fit", () => {
  const cake = dataset("cake"); // ordered factor temperature: polynomial contrasts
  both(
    "angle ~ recipe * temperature + (1 | recipe:replicate)",
    cake,
    pf(cake).lazy(),
    "cake (ordered factor, interaction grouping)",
  );
  const pastes = dataset("Pastes");
  both("strength ~ 1 + (1 | batch/cask)", pastes, pf(pastes).lazy(), "Pastes (nested)");
  const pen = dataset("Penicillin");
  both("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, pf(pen).lazy(), "Penicillin (crossed)");
});

Deno.test("logical and text columns, numeric-by-factor interactions, the factors option", () => {
  const ss = dataset("sleepstudy");
  const days = pf(ss).getColumn("Days").toArray() as number[];
  const df = pl.DataFrame({
    Reaction: pf(ss).getColumn("Reaction").toArray() as number[],
    Days: days,
    late: days.map((d) => d > 4),
    Subject: (pf(ss).getColumn("Subject").toArray() as string[]).map(String),
    arm: days.map((_, i) => ["b", "a", "C"][i % 3]),
  });
  both(
    "Reaction ~ Days * late + arm + (Days | Subject)",
    df,
    df.lazy(),
    "logical, text, Days:late",
  );
  both("Reaction ~ Days + (1 | Subject) + (1 | arm:late)", df, df.lazy(), "text:logical grouping");
  const levels = [...new Set(df.getColumn("Subject").toArray() as string[])].reverse();
  const factors = { Subject: { levels }, arm: { levels: ["C", "b", "a"] } };
  const f = "Reaction ~ Days + arm + (Days | Subject)";
  const mem = lmer(f, df, { factors });
  const lazy = lmer(f, df.lazy(), { factors });
  assertAgree(lazy, mem, "factors option");
  assert.deepEqual(lazy.ranefTables().Subject.levels, levels);
  assert.deepEqual(Object.keys(lazy.fixef()), ["(Intercept)", "Days", "armb", "arma"]);
});

Deno.test("Clark's default createData and InstEval agree with the in-memory fit", () => {
  const cd = createData();
  both("y ~ x + (x | cluster)", cd, pf(cd).lazy(), "createData");
  const ie = dataset("InstEval");
  both("y ~ service + (1 | s) + (1 | d) + (1 | dept)", ie, pf(ie).lazy(), "InstEval");
});

Deno.test("a 1e6-row simulation from pl.scanParquet and sleepstudy from pl.scanCsv", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deno-lmer-lazy-" });
  try {
    const big = createData({ nCluster: 100_000, obsPerCluster: 10, seed: 4 });
    const path = `${dir}/sim.parquet`;
    pf(big).writeParquet(path);
    const f = "y ~ x + (x | cluster)";
    // in memory: the rows read back from the same file
    both(f, pl.readParquet(path), pl.scanParquet(path), "1e6 rows, scanParquet");
    const csv = `${dir}/sleepstudy.csv`;
    pf(dataset("sleepstudy")).writeCSV(csv);
    both(
      "Reaction ~ Days + (Days | Subject)",
      pl.readCSV(csv),
      pl.scanCSV(csv),
      "sleepstudy, scanCsv",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("slice by slice (partial sums merged by key) equals the in-memory fit", () => {
  for (
    const [formula, name] of [
      ["Reaction ~ Days + (Days | Subject)", "sleepstudy"],
      ["angle ~ recipe * temperature + (1 | recipe:replicate)", "cake"],
      ["strength ~ 1 + (1 | batch/cask)", "Pastes"],
    ] as const
  ) {
    const df = dataset(name);
    const mem = lmer(formula, df);
    // 37-row slices: levels, sums, minima and maxima merged across slices
    assertAgree(lmerLazy(formula, pf(df).lazy(), { chunkRows: 37 }), mem, `${name}, slices`);
    assertAgree(lmerLazy(formula, pf(df).lazy(), { chunkRows: false }), mem, `${name}, whole`);
  }
});

Deno.test("missing values are dropped as R's na.omit, with lme4's message", () => {
  const ss = dataset("sleepstudy");
  const r = ss.getColumn("Reaction").toArray() as number[];
  const d = ss.getColumn("Days").toArray() as number[];
  const s = ss.getColumn("Subject").toArray() as string[];
  const df = pl.DataFrame({
    Reaction: r.map((v, i) => (i % 17 === 3 ? null : v)),
    Days: d.map((v, i) => (i % 23 === 5 ? null : v)),
    Subject: s.map((v, i) => (i === 40 ? null : String(v))),
  });
  const { mem, lazy } = both("Reaction ~ Days + (Days | Subject)", df, pf(df).lazy(), "with nulls");
  assert.ok(mem.frameMessages.some((m) => /observations deleted due to missingness/.test(m)));
  assert.equal(lazy.nobs, mem.nobs);
});

Deno.test("fitted values, residuals and the summary stream from the LazyFrame; the rest says it needs the rows", () => {
  const ss = dataset("sleepstudy");
  const f = "Reaction ~ Days + (Days | Subject)";
  const m = lmer(f, pf(ss).lazy());
  const mem = lmer(f, ss);
  // one more pass over the source: fitted values and residuals in row order
  assert.ok(absMax(m.fitted(), mem.fitted()) < 1e-8);
  assert.ok(absMax(m.residuals(), mem.residuals()) < 1e-8);
  assert.ok(absMax(m.predict(), mem.predict()) < 1e-8);
  assert.equal(String(m.summary()), String(mem.summary()));
  // predict on new data from the fitted numbers
  const nd = { Days: [0, 5], Subject: ["308", "372"] };
  assert.ok(absMax(m.predict(nd), mem.predict(nd)) < 1e-6);
  // profile intervals from the cross-products
  const ci = (x: LinearMixedModel) =>
    (pf(x.confint()).getColumn("97.5 %").toArray() as number[]).concat(
      pf(x.confint()).getColumn("2.5 %").toArray() as number[],
    );
  assert.ok(relMax(ci(m), ci(mem)) < 1e-5);
  // what needs X, Z or y row by row refuses with the way out
  for (
    const g of [
      () => m.predict(undefined, { reForm: "none" }),
      () => m.coefTable({ df: "kenward-roger" }),
      () => m.confint({ method: "boot", nsim: 2, seed: 1 }),
      () => anova(m, lmer("Reaction ~ Days + (1 | Subject)", pf(ss).lazy())),
    ]
  ) {
    assert.throws(
      g,
      /needs the rows: this model was fitted from aggregated cross-products.*collectSync\(\)/,
    );
  }
});

Deno.test("bad input: unsupported term, missing column, not a polars LazyFrame", () => {
  const lf = pf(createData()).lazy();
  assert.throws(
    () => lmer("y ~ poly(x, 2) + (1 | cluster)", lf),
    (e: unknown) =>
      e instanceof UnsupportedTermError && e.term === "poly(x, 2)" &&
      /term 'poly\(x, 2\)' cannot be computed by the data source/.test(e.message),
  );
  assert.throws(
    () => lmer("y ~ scale(x) + (1 | cluster)", lf),
    /term 'scale\(x\)' cannot be computed/,
  );
  assert.throws(
    () => lmer("y ~ x + z + (1 | cluster)", lf),
    /no column 'z'.*columns: y, x, cluster/,
  );
  assert.throws(() => lmer("y ~ x + (1 | g)", lf), /no column 'g'/);
  assert.throws(
    () => lmerLazy("y ~ x + (1 | cluster)", createData() as unknown as LazyDataFrame),
    /must be a polars LazyFrame/,
  );
  const fake = { collect: () => Promise.resolve([]), filter: () => fake };
  assert.throws(
    () => lmer("y ~ x + (1 | cluster)", fake as unknown as LazyDataFrame),
    /has collect\(\) but is not a nodejs-polars LazyFrame/,
  );
  assert.throws(
    () => lmer("y ~ x + (1 | cluster)", lf, { weights: "x" }),
    /weights and offset are not supported for a LazyFrame/,
  );
  const withList = pl.DataFrame({ y: [1, 2, 3, 4], g: ["a", "a", "b", "b"] }).lazy()
    .withColumns(pl.concatList([pl.col("y"), pl.col("y")]).alias("l"));
  assert.throws(() => lmer("y ~ l + (1 | g)", withList), /column 'l' of the LazyFrame has type/);
});

Deno.test("lme4's checks: aliased columns dropped with its message, bad grouping and response", () => {
  const ss = dataset("sleepstudy");
  const { lazy } = both(
    "Reaction ~ Days + I(2 * Days + 1) + (1 | Subject)",
    ss,
    pf(ss).lazy(),
    "rank-deficient X",
  );
  assert.match(lazy.frameMessages.join("\n"), /rank deficient so dropping 1 column/);
  const one = pl.DataFrame({ y: [1, 2, 3, 4], x: [1, 2, 3, 5], g: ["a", "a", "a", "a"] });
  assert.throws(() => lmer("y ~ x + (1 | g)", one.lazy()), /grouping factor 'g' has 1 level/);
  const flat = pl.DataFrame({ y: [2, 2, 2, 2], x: [1, 2, 3, 5], g: ["a", "a", "b", "b"] });
  assert.throws(() => lmer("y ~ x + (1 | g)", flat.lazy()), /response 'y' is constant/);
  const inf = pl.DataFrame({ y: [1, 2, Infinity, 4], x: [1, 2, 3, 5], g: ["a", "a", "b", "b"] });
  assert.throws(() => lmer("y ~ x + (1 | g)", inf.lazy()), /response 'y' has a non-finite value/);
});

Deno.test("the plan is plain data: JSON round trip, one query per block family", () => {
  const plan = lmerPlan("y ~ x + f + (x | g) + (1 | h)", {
    y: "number",
    x: "number",
    f: "string",
    g: "string",
    h: "number",
  });
  assert.deepEqual(JSON.parse(JSON.stringify(levelQueries(plan))), levelQueries(plan));
  assert.deepEqual(
    levelQueries(plan).map((q) => q.id),
    ["rows", "used", "levels:f", "levels:g", "levels:h"],
  );
  const lv = {
    nTotal: 10,
    n: 10,
    parts: new Map([
      ["f", { levels: ["a", "b"], index: new Map([["a", 0], ["b", 1]]), keys: [["a"], ["b"]] }],
      ["g", {
        levels: ["u", "v", "w"],
        index: new Map([["u", 0], ["v", 1], ["w", 2]]),
        keys: [["u"], ["v"], ["w"]],
      }],
      ["h", { levels: ["1", "2"], index: new Map([["1", 0], ["2", 1]]), keys: [[1], [2]] }],
    ]),
    groups: [] as never[],
  };
  const groups = [lv.parts.get("g")!, lv.parts.get("h")!];
  const mo = {
    n: 10,
    sum: new Float64Array(4),
    sumsq: new Float64Array(4),
    min: new Float64Array(4),
    max: new Float64Array(4),
    k: 0,
    a: Float64Array.of(0, 2, 0, 5),
  };
  const qs = blockQueries(plan, { ...lv, groups }, mo);
  assert.deepEqual(qs.map((q) => q.id), ["term:0", "term:1", "pair:1:0", "ff"]);
  assert.deepEqual(qs[2].keys.map((k) => k.column), ["h", "g"]);
  // the centred y (a = 5) appears in the products
  assert.match(JSON.stringify(qs[3].aggs.at(-1)), /"op":"sub".*"value":5/);
});

Deno.test("aggregateLazy reads only the formula's columns' aggregates", () => {
  const ss = dataset("sleepstudy");
  const { fit } = aggregateLazy("Reaction ~ Days + (Days | Subject)", pf(ss).lazy());
  assert.equal(fit.n, 180);
  assert.deepEqual(fit.names, ["(Intercept)", "Days"]);
  // level 0's ZᵀZ block: 10 observations, Σ Days = 45, Σ Days² = 285
  assert.deepEqual(Array.from(fit.a.diag[0].subarray(0, 4)), [10, 45, 45, 285]);
  assert.equal(fit.a.ff[0], 180);
});
