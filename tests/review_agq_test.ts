/**
 * Review of glmer with adaptive Gauss-Hermite quadrature (nAGQ > 1) from a
 * notebook user's side: the AGQ deviance function moves exactly as the
 * mathematics says under row permutation, level relabelling and rescaling
 * or negating the random slope's covariate; and `start` values that lme4
 * refuses (or reads as θ) give a clear answer instead of an internal error.
 */
import assert from "node:assert/strict";
import { dataset, glmer } from "../mod.ts";
import { agqDevfun } from "../lib/models/glmer/agq.ts";
import { rel } from "./helpers/glmerFixture.ts";

// deno-lint-ignore no-explicit-any
type Loose = any;

/** cbpp as columns, optionally with rows reordered / herds renamed. */
function cbpp(order?: number[], rename?: (h: string) => string) {
  const rows = dataset("cbpp").toRecords() as Record<string, unknown>[];
  const idx = order ?? rows.map((_, i) => i);
  const herd = (i: number) => String(rows[i].herd);
  return {
    herd: idx.map((i) => (rename ? rename(herd(i)) : herd(i))),
    period: idx.map((i) => String(rows[i].period)),
    incidence: idx.map((i) => Number(rows[i].incidence)),
    size: idx.map((i) => Number(rows[i].size)),
    x: idx.map((i) => ((i * 7) % 11) / 5 - 1),
  };
}

function devfun(formula: string, data: Loose, nAGQ: number) {
  const m = glmer(formula, data, { family: "binomial", nAGQ }) as Loose;
  return { m, f: agqDevfun(m.glmm, m.opt.lp0, nAGQ) };
}

const F = "cbind(incidence, size - incidence) ~ period + (1 | herd)";

Deno.test("AGQ deviance: invariant under row permutation and level relabelling", () => {
  const base = devfun(F, cbpp(), 9);
  const n = base.m.nobs;
  const perm = Array.from({ length: n }, (_, i) => (i * 23) % n);
  assert.equal(new Set(perm).size, n);
  const permuted = devfun(F, cbpp(perm), 9);
  const relabelled = devfun(F, cbpp(undefined, (h) => `herd_${100 - Number(h)}`), 9);
  for (const par of [[0.65, -1.4, -1, -1.1, -1.6], [2, 0, 0, 0, 0], [0.05, -3, 1, 1, 1]]) {
    const v = base.f(par);
    assert.ok(rel(permuted.f(par), v) < 1e-10, `permuted at ${par}: ${permuted.f(par)} vs ${v}`);
    assert.ok(rel(relabelled.f(par), v) < 1e-10, `relabelled at ${par}`);
  }
  assert.ok(rel(permuted.m.deviance(), base.m.deviance()) < 1e-9);
  assert.ok(rel(relabelled.m.deviance(), base.m.deviance()) < 1e-9);
});

Deno.test("AGQ deviance: scaling the random slope's covariate by c scales θ and β_x by 1/c", () => {
  const G = "cbind(incidence, size - incidence) ~ x + (0 + x | herd)";
  const d = cbpp();
  const a = devfun(G, d, 7);
  const b = devfun(G, { ...d, x: d.x.map((v) => 10 * v) }, 7);
  const c = devfun(G, { ...d, x: d.x.map((v) => -v) }, 7);
  for (const [t, b0, b1] of [[0.8, -1.9, 0.5], [2, 0, -1], [0.1, -2, 0]]) {
    const v = a.f([t, b0, b1]);
    assert.ok(rel(b.f([t / 10, b0, b1 / 10]), v) < 1e-9, `scaled at ${[t, b0, b1]}`);
    assert.ok(rel(c.f([t, b0, -b1]), v) < 1e-12, `negated at ${[t, b0, b1]}`);
  }
});

Deno.test("glmer start: lme4's readings and clear refusals", () => {
  const d = cbpp();
  const fit = (start: unknown) =>
    glmer(F, d, { family: "binomial", nAGQ: 5, start: start as Loose });
  // a number is θ, as lme4's numeric start (before: silently ignored)
  const five = fit(0.4), arr = fit([0.4]);
  assert.equal(five.deviance(), arr.deviance());
  assert.deepEqual(Array.from(five.theta), Array.from(arr.theta));
  // before: "Cannot read properties of null (reading 'length')"
  assert.throws(() => fit(null), /glmer: 'start' must be θ .* or \{ theta, fixef \}, got null/);
  // before: bobyqa's "bounds 0 fail 0 <= NaN <= Infinity"
  assert.throws(
    () => fit({ theta: [NaN] }),
    /start theta herd.\(Intercept\) must be a finite number, got a number \(NaN\)/,
  );
  assert.throws(
    () => fit({ theta: [-1] }),
    /must be >= 0, got -1 \(lme4: Starting values violate bounds\)/,
  );
  // before: "fixed-effect model matrix is rank deficient" for an infinite θ
  assert.throws(
    () => fit({ theta: [Infinity] }),
    /must be a finite number, got a number \(Infinity\)/,
  );
  // before: PIRLS's step-halving failure
  assert.throws(
    () => fit({ fixef: [NaN, 0, 0, 0] }),
    /start fixef \(Intercept\) must be a finite number/,
  );
  // before: a string's characters were read as numbers
  assert.throws(
    () => fit({ theta: "1" }),
    /start theta must be a number or an array of numbers, got a string/,
  );
  assert.throws(() => fit({ thetas: [1] }), /unknown option 'thetas'/);
  assert.throws(() => fit({ fixef: [1, 2] }), /incorrect number of fixef components \(!=4\)/);
  assert.throws(() => fit([1, 2]), /incorrect number of theta components \(!=1\)/);
});
