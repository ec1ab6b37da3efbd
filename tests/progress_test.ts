/**
 * Progress of long fits: reported through the control callback after 2 s,
 * at most every 0.5 s, with a final report; short fits report nothing; the
 * fit is the same with and without it.
 */
import assert from "node:assert/strict";
import { createData, lmer } from "../mod.ts";
import { type FitProgress, progressLine } from "../advanced.ts";
import { ProgressTracker } from "../lib/models/lmer/progress.ts";

Deno.test("progress: a short fit reports nothing and the callback does not change the fit", () => {
  const d = createData({ nCluster: 30 });
  const seen: FitProgress[] = [];
  const a = lmer("y ~ x + (x | cluster)", d, { control: { progress: (p) => seen.push(p) } });
  const b = lmer("y ~ x + (x | cluster)", d, { control: { progress: false } });
  assert.equal(seen.length, 0);
  assert.deepEqual(Array.from(a.theta), Array.from(b.theta));
});

Deno.test("progress: after 2 s, every 0.5 s, the best criterion so far, and a last report", () => {
  // a clock that advances 100 ms per evaluation (what a slow fit looks like)
  let t = 0;
  const seen: FitProgress[] = [];
  const tr = new ProgressTracker((p) => seen.push(p), () => t);
  const f = (k: number) => 100 + 50 / k; // decreasing criterion
  for (let k = 1; k <= 80; k++) {
    t += 100;
    tr.note(k === 40 ? 1e9 : f(k)); // a bad point does not raise the best
  }
  tr.finish();
  // the clock is read every 8 evaluations: first report at evaluation 24
  // (2.4 s), then every 0.5 s or more (32, 40, …), then the final one
  assert.deepEqual(seen.map((p) => p.feval), [24, 32, 40, 48, 56, 64, 72, 80, 80]);
  assert.ok(seen.slice(0, -1).every((p) => !p.done) && seen.at(-1)!.done);
  assert.equal(seen[2].fmin, f(39));
  assert.equal(seen.at(-1)!.fmin, f(80));
  assert.equal(seen[0].elapsedMs, 2400);
  assert.match(
    progressLine({ feval: 120, fmin: 1743.6283, elapsedMs: 3400, done: false }),
    /^lmer: 120 evaluations, criterion 1743\.628300, 3\.4 s$/,
  );
});

Deno.test("progress: bad settings are named", () => {
  const d = createData({ nCluster: 10 });
  assert.throws(
    () => lmer("y ~ x + (1 | cluster)", d, { control: { progress: "yes" as never } }),
    /control 'progress' must be "auto", false or a function/,
  );
});
