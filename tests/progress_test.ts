/**
 * Progress of long fits: reported through the control callback after 2 s,
 * at most every 0.5 s, with a final report; short fits report nothing; the
 * fit is the same with and without it.
 */
import assert from "node:assert/strict";
import { createData, lmer } from "../mod.ts";
import { type FitProgress, progressLine } from "../advanced.ts";
import { notebookSink, ProgressTracker } from "../lib/models/lmer/progress.ts";

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
  // first report at evaluation 20 (2.0 s), then every 0.5 s (25, 30, …),
  // then the final one
  assert.deepEqual(
    seen.map((p) => p.feval),
    [20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 80],
  );
  assert.ok(seen.slice(0, -1).every((p) => !p.done) && seen.at(-1)!.done);
  assert.equal(seen[4].fmin, f(39)); // evaluation 40 was a bad point
  assert.equal(seen.at(-1)!.fmin, f(80));
  assert.equal(seen[0].elapsedMs, 2000);
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

Deno.test("progress in a notebook: one output, updated in place, ending with the total", () => {
  const sent: { type: string; content: Record<string, unknown> }[] = [];
  const sink = notebookSink({
    broadcast(type, content) {
      sent.push({ type, content });
      return undefined; // Deno 2.9's kernel returns nothing here
    },
  });
  sink({ feval: 20, fmin: 12.5, elapsedMs: 2000, done: false });
  sink({ feval: 25, fmin: 12.25, elapsedMs: 2500, done: false });
  sink({ feval: 31, fmin: 12.125, elapsedMs: 3100, done: true });
  assert.deepEqual(sent.map((s) => s.type), [
    "display_data",
    "update_display_data",
    "update_display_data",
  ]);
  const ids = sent.map((s) => (s.content.transient as { display_id: string }).display_id);
  assert.equal(new Set(ids).size, 1);
  const text = (i: number) => (sent[i].content.data as Record<string, string>)["text/plain"];
  assert.equal(text(0), "lmer: 20 evaluations, criterion 12.50000000, 2.0 s");
  assert.equal(text(2), "lmer: 31 evaluations in 3.1 s, criterion 12.12500000");
  // a kernel whose broadcast throws does not fail the fit
  const bad = notebookSink({
    broadcast: () => {
      throw new Error("closed");
    },
  });
  bad({ feval: 1, fmin: 1, elapsedMs: 1, done: false });
});
