/**
 * Hostile review of the data sources (issue 14): inputs a notebook user can
 * reach that broke `lmer(formula, lazyFrame)` or `lmer(formula, sqlTable(…))`.
 * Each case compares the fit from the source with the in-memory fit of the
 * same rows (criterion within 1e-10 relative, β within 1e-8, θ and standard
 * errors within 1e-6 relative to max(1, |value|)), or checks that the error
 * names the problem. The ClickHouse parts need the local two-shard cluster
 * (tools/clickhouse/start.sh, as tests/clickhouse_source_test.ts) and are
 * skipped with the reason printed when it cannot start.
 */
import assert from "node:assert/strict";
import { dataset, lmer } from "../mod.ts";
import type { LinearMixedModel } from "../mod.ts";
import { pl } from "../lib/deps.ts";
import type { DataFrame as PlFrame } from "../lib/deps.ts";

const pf = (df: unknown): PlFrame => df as PlFrame;

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    assert.ok(
      d <= tol * Math.max(1, Math.abs(b[i])),
      `${what}[${i}]: ${a[i]} vs ${b[i]} (difference ${d.toExponential(2)}, tolerance ${tol})`,
    );
  }
}

/** The agreement: criterion 1e-10 relative, β 1e-8, θ and SEs 1e-6. */
function assertSameFit(m: LinearMixedModel, ref: LinearMixedModel, what: string): void {
  const f = m.optSummary.fmin, f0 = ref.optSummary.fmin;
  assert.ok(
    Math.abs(f - f0) <= 1e-10 * Math.abs(f0),
    `${what}: criterion ${f} vs ${f0}`,
  );
  assert.deepEqual(Object.keys(m.fixef()), Object.keys(ref.fixef()), `${what}: fixef names`);
  close(Object.values(m.fixef()), Object.values(ref.fixef()), 1e-8, `${what}: β`);
  close(m.theta, ref.theta, 1e-6, `${what}: θ`);
  close(
    m.coefRows().map((r) => r.stdError),
    ref.coefRows().map((r) => r.stdError),
    1e-6,
    `${what}: SE`,
  );
  assert.equal(m.nobs, ref.nobs);
}

const ss = pf(dataset("sleepstudy"));
const REACTION = ss.getColumn("Reaction").toArray() as number[];
const DAYS = ss.getColumn("Days").toArray() as number[];
const SUBJECT = (ss.getColumn("Subject").toArray() as string[]).map(String);
const ARM = DAYS.map((d) => ["p", "q", "r"][d % 3]);

Deno.test("polars: a model column named like the aggregation's own key columns (k0, k1)", () => {
  // the group-by keys were added as columns 'k0', 'k1', … and overwrote a
  // model column of that name: a silently wrong fit
  for (
    const [f, df] of [
      ["y ~ k0 + (1 | g)", pl.DataFrame({ y: REACTION, k0: DAYS, g: SUBJECT })],
      ["y ~ k1 + (1 | g) + (1 | h)", pl.DataFrame({ y: REACTION, k1: DAYS, g: SUBJECT, h: ARM })],
      ["k0 ~ x + (x | k1)", pl.DataFrame({ k0: REACTION, x: DAYS, k1: SUBJECT })],
    ] as const
  ) {
    assertSameFit(lmer(f, df.lazy()), lmer(f, df), f);
  }
});

Deno.test("polars: fitted values when model columns are named like the row pass's own columns", () => {
  for (const name of ["__row", "__k0_0", "__b0_0", "__b0_1", "__fitted", "__resid"]) {
    const df = pl.DataFrame({ y: REACTION, [name]: DAYS, g: SUBJECT });
    const f = `y ~ \`${name}\` + (\`${name}\` | g)`;
    const lazy = lmer(f, df.lazy()), mem = lmer(f, df);
    assertSameFit(lazy, mem, f);
    close(lazy.fitted(), mem.fitted(), 1e-8, `${f}: fitted`);
    close(lazy.residuals(), mem.residuals(), 1e-8, `${f}: residuals`);
  }
});
