/**
 * Seed 003's simulated data from the library's R-identical random numbers
 * equal the data R generated (embedded in tests/fixtures/lm.json by lm.R).
 */
import assert from "node:assert/strict";
import { clusterTrial, lm } from "../mod.ts";
import { fixture } from "./helpers/datasets.ts";

interface LmData {
  id: string;
  data?: { dependent: number[]; predictor: string[]; cluster: number[] };
}
const { models } = fixture<{ models: LmData[] }>("lm.json");
const scenarios: Record<string, Parameters<typeof clusterTrial>[0]> = {
  seed003_s1: { seed: 824523 },
  seed003_s2: { seed: 1324523, clusterSizes: [2, 10, 10, 10, 2, 10, 10, 100] },
  seed003_s3: { seed: 1324523, sdCluster: 1, effect: 1 },
};

for (const [id, opts] of Object.entries(scenarios)) {
  Deno.test(`clusterTrial ${id} is bit-identical to R's data`, () => {
    const want = models.find((m) => m.id === id)!.data!;
    const df = clusterTrial(opts);
    assert.deepEqual(df.getColumn("dependent").toArray(), want.dependent);
    assert.deepEqual(df.getColumn("predictor").toArray(), want.predictor);
    assert.deepEqual(df.getColumn("cluster").toArray(), want.cluster);
  });
}

Deno.test("seed 003 scenario 1: lm coefficients 1.5898, 2.9627 from generated data", () => {
  const c = lm("dependent ~ predictor", clusterTrial({ seed: 824523 })).coef();
  assert.equal(c["(Intercept)"]!.toFixed(4), "1.5898");
  assert.equal(c["predictorintervention"]!.toFixed(4), "2.9627");
});

Deno.test("clusterTrial: bad sizes are clear errors", () => {
  assert.throws(
    () => clusterTrial({ seed: 1, clusterSizes: [2, 3, 4] }),
    /even number of clusters/,
  );
  assert.throws(
    () => clusterTrial({ seed: 1, clusterSizes: [2, -3] }),
    /clusterSizes\[1\] must be a positive/,
  );
});
