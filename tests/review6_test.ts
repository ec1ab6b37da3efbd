/**
 * Review of the shared row buffers (row_threads.ts, working.ts, pirls.ts):
 * PIRLS keeps its working weights and response in the buffer the row
 * helper writes, and writes the first iteration's working response there
 * itself, outside a job. A working job cut off before it ended (an
 * interrupt) leaves the helper running its chunks; the next PIRLS run must
 * not let them overwrite that response.
 */
import assert from "node:assert/strict";
import { forceRowHelper, interruptNextRowPass } from "../lib/models/glmer/row_threads.ts";
import type { WorkingRows } from "../lib/models/glmer/working.ts";
import { setDenseThreads } from "../lib/linalg/parallel.ts";
import { glmer, rng } from "../mod.ts";

Deno.test("PIRLS after a cut-off working job: the helper's stale chunks do not overwrite the first working response", () => {
  const n = 40_000;
  const r = rng(3);
  const x = r.rnorm(n), u = r.runif(n);
  const g = Array.from({ length: n }, (_, i) => "g" + Math.floor(i / 20));
  const y = Float64Array.from(
    u,
    (v, i) => (v < 1 / (1 + Math.exp(-0.5 * x[i] + Math.sin(Math.floor(i / 20)))) ? 1 : 0),
  );
  const m = glmer("y ~ x + (1 | g)", { y, x, g }, { family: "binomial" });
  const glmm = m.glmm;
  const theta = Float64Array.from(m.theta);
  const lp0 = Float64Array.from(m.linearPredictor());
  // lme4's stage 1 (β by PIRLS): the first iteration's z goes straight to the solve
  const want = glmm.deviance(theta, undefined, lp0);
  const rows = (glmm as unknown as { rows(): WorkingRows }).rows();
  const buf = rows.rowBuffers();
  assert.ok(buf, "a large model's rows are shared");
  setDenseThreads(2);
  forceRowHelper(true);
  try {
    for (let rep = 0; rep < 20; rep++) {
      // a working job at η and base far from the fit's, so that its z differs
      buf.eta[0].fill(3);
      buf.base.fill(-2);
      // let the helper fall asleep, as between a user's calls
      const t0 = performance.now();
      while (performance.now() - t0 < 5);
      interruptNextRowPass();
      assert.throws(() => rows.working(buf.eta[0], buf.base, buf.w, buf.z), /interrupted/);
      const got = glmm.deviance(theta, undefined, lp0);
      assert.ok(Object.is(got, want), `repetition ${rep}: deviance ${got} vs ${want}`);
    }
  } finally {
    forceRowHelper(false);
    setDenseThreads("auto");
  }
});
