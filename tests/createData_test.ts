// Clark's create_data(): lib/simulate against tests/fixtures/createData.json,
// made by tests/fixtures/createData.R (R 4.2.2, dplyr 1.0.10, mvtnorm 1.1-3)
// with the six settings of the blog post plus one with a non-zero covariance.

import assert from "node:assert/strict";
import { createData, type CreateDataOptions } from "../lib/simulate/mod.ts";

interface Setting {
  name: string;
  options: CreateDataOptions;
  nrow: number;
  y: number[];
  x: number[];
  cluster: number[];
}

const fx: { R: string; settings: Setting[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/createData.json", import.meta.url)),
);

/** Column values as numbers. */
function column(df: ReturnType<typeof createData>, name: string): number[] {
  return df.getColumn(name).toArray() as number[];
}

Deno.test("createData: the post's settings reproduce R's rows, values and order", () => {
  for (const s of fx.settings) {
    const df = createData(s.options);
    assert.deepEqual(df.columns, ["y", "x", "cluster"], s.name);
    assert.equal(df.height, s.nrow, s.name);
    const y = column(df, "y");
    const x = column(df, "x");
    const cluster = column(df, "cluster");
    assert.deepEqual(cluster, s.cluster, `${s.name}: cluster`);
    if ((s.options.cor ?? 0) === 0) {
      // Diagonal covariance: every value is bit-identical to R's.
      assert.deepEqual(x, s.x, `${s.name}: x`);
      assert.deepEqual(y, s.y, `${s.name}: y`);
    } else {
      // Non-diagonal covariance: R's LAPACK eigenvectors vs our Jacobi ones.
      assert.deepEqual(x, s.x, `${s.name}: x`);
      for (let i = 0; i < y.length; i++) {
        assert.ok(
          Math.abs(y[i] - s.y[i]) <= 1e-14 * (1 + Math.abs(s.y[i])),
          `${s.name}: y[${i}] ${y[i]} vs R ${s.y[i]}`,
        );
      }
    }
  }
});

Deno.test("createData: column types, cluster sizes and defaults", () => {
  const df = createData();
  assert.deepEqual(
    df.columns.map((name) => String(df.getColumn(name).dtype)),
    ["DataType(Float64)", "DataType(Float64)", "DataType(Int32)"],
  );
  assert.equal(df.height, 1000);
  // Balanced: each of the 100 clusters has 10 rows (only the order is shuffled).
  const counts = new Map<number, number>();
  for (const c of column(df, "cluster")) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 100);
  assert.ok([...counts.values()].every((n) => n === 10));
  // Explicit defaults and R's balanced = TRUE give the same data.
  const same = createData({
    obsPerCluster: 10,
    nCluster: 100,
    intercept: 1,
    beta: 0.5,
    sigma: 1,
    sdInt: 0.5,
    sdSlope: 0.25,
    cor: 0,
    balanced: true,
    seed: 888,
  });
  assert.deepEqual(column(same, "y"), column(df, "y"));
  assert.notDeepEqual(column(createData({ seed: 1 }), "y"), column(df, "y"));
});

Deno.test("createData: balanced = 0 / false keeps no rows; obsPerCluster = 0 is empty", () => {
  assert.equal(createData({ balanced: 0 }).height, 0);
  assert.equal(createData({ balanced: false }).height, 0);
  assert.equal(createData({ obsPerCluster: 0 }).height, 0);
});

Deno.test("createData: sigma = 0 draws no noise, as rnorm(N, sd = 0)", () => {
  const df = createData({ sigma: 0, nCluster: 5, obsPerCluster: 4 });
  assert.equal(df.height, 20);
  assert.ok(column(df, "y").every(Number.isFinite));
});

Deno.test("createData: invalid arguments fail before any work, naming the argument", () => {
  assert.throws(() => createData({ balanced: 1.5 }), /'balanced'.*\[0, 1\].*1\.5/);
  assert.throws(() => createData({ balanced: -0.1 }), /'balanced'.*-0\.1/);
  assert.throws(() => createData({ balanced: NaN }), /'balanced'.*NaN/);
  assert.throws(() => createData({ obsPerCluster: -1 }), /'obsPerCluster'.*-1/);
  assert.throws(() => createData({ obsPerCluster: 2.5 }), /'obsPerCluster'.*2\.5/);
  assert.throws(() => createData({ nCluster: -3 }), /'nCluster'.*-3/);
  assert.throws(() => createData({ nCluster: 0 }), /'nCluster'.*>= 1/);
  assert.throws(() => createData({ nCluster: 1.5 }), /'nCluster'/);
  assert.throws(() => createData({ sigma: -1 }), /'sigma' must be >= 0/);
  assert.throws(() => createData({ beta: Infinity }), /'beta' must be a finite/);
  assert.throws(() => createData({ cor: 0.5 }), /'cor' is a covariance.*0\.125/);
  assert.throws(() => createData({ seed: 2 ** 32 }), /not a valid integer/);
});
