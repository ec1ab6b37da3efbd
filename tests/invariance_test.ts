/**
 * lmer does not depend on where the data sit or on their units: adding a
 * constant to the response (or to a covariate that has no random slope)
 * shifts the intercept exactly and leaves θ and every other estimate as it
 * was; multiplying by a factor scales the estimates. (The cross-products are
 * formed from centred columns: lib/models/lmer/centering.ts.)
 */
import assert from "node:assert/strict";
import { createData, dataset, lmer } from "../mod.ts";
import type { LinearMixedModel } from "../mod.ts";
import { datasetColumns } from "./helpers/datasets.ts";

type Columns = Record<string, (number | string | null)[]>;

function columnsOf(d: { columns: string[]; getColumn(n: string): { toArray(): unknown[] } }) {
  const out: Columns = {};
  for (const c of d.columns) out[c] = d.getColumn(c).toArray() as (number | string | null)[];
  return out;
}

const cases: { name: string; formula: string; data: Columns; y: string; x?: string }[] = [
  {
    name: "Clark default",
    formula: "y ~ x + (x | cluster)",
    data: columnsOf(createData()),
    y: "y",
  },
  {
    name: "sleepstudy",
    formula: "Reaction ~ Days + (Days | Subject)",
    data: datasetColumns("sleepstudy"),
    y: "Reaction",
  },
  {
    name: "cake, crossed",
    formula: "angle ~ temp + (1 | recipe) + (1 | replicate)",
    data: datasetColumns("cake"),
    y: "angle",
    x: "temp",
  },
];

const messages = (m: LinearMixedModel) => [...m.messages].sort();

function map(d: Columns, col: string, f: (v: number) => number): Columns {
  return { ...d, [col]: d[col].map((v) => f(Number(v))) };
}

for (const c of cases) {
  const base = lmer(c.formula, c.data);
  const b0 = base.fixef();
  const names = Object.keys(b0);
  for (const shift of [1e3, 1e4, 1e6, 1e8]) {
    Deno.test(`lmer invariance: ${c.name}, response + ${shift}`, () => {
      const m = lmer(c.formula, map(c.data, c.y, (v) => v + shift));
      m.theta.forEach((t, k) =>
        assert.ok(Math.abs(t - base.theta[k]) <= 1e-7, `θ${k}: ${t} vs ${base.theta[k]}`)
      );
      const b = m.fixef();
      // the intercept moves by the shift, to the rounding of the shifted values
      assert.ok(
        Math.abs(b["(Intercept)"] - (b0["(Intercept)"] + shift)) <=
          1e-7 * (1 + shift * 1e-8) + 4 * shift * Number.EPSILON,
        `intercept ${b["(Intercept)"]}`,
      );
      for (const n of names.slice(1)) {
        assert.ok(Math.abs(b[n] - b0[n]) <= 1e-7 * (1 + Math.abs(b0[n])), n);
      }
      assert.ok(Math.abs(m.sigma / base.sigma - 1) <= 1e-7, "sigma");
      assert.ok(
        Math.abs(m.REMLcrit() - base.REMLcrit()) <= 1e-8 * Math.abs(base.REMLcrit()),
        "criterion",
      );
      assert.deepEqual(messages(m), messages(base));
    });
  }
  for (const scale of [1e-6, 1e6]) {
    Deno.test(`lmer invariance: ${c.name}, response × ${scale}`, () => {
      const m = lmer(c.formula, map(c.data, c.y, (v) => v * scale));
      m.theta.forEach((t, k) =>
        assert.ok(Math.abs(t - base.theta[k]) <= 1e-7, `θ${k}: ${t} vs ${base.theta[k]}`)
      );
      const b = m.fixef();
      for (const n of names) {
        assert.ok(Math.abs(b[n] / scale - b0[n]) <= 1e-7 * (1 + Math.abs(b0[n])), n);
      }
      assert.ok(Math.abs(m.sigma / (base.sigma * scale) - 1) <= 1e-7, "sigma");
      assert.deepEqual(messages(m), messages(base));
    });
  }
  if (c.x) {
    const x = c.x;
    for (const shift of [1e3, 1e4, 1e6]) {
      Deno.test(`lmer invariance: ${c.name}, ${x} + ${shift}`, () => {
        const m = lmer(c.formula, map(c.data, x, (v) => v + shift));
        m.theta.forEach((t, k) =>
          assert.ok(Math.abs(t - base.theta[k]) <= 1e-7, `θ${k}: ${t} vs ${base.theta[k]}`)
        );
        const b = m.fixef();
        assert.ok(
          Math.abs(b[x] - b0[x]) <= 1e-7 * (1 + Math.abs(b0[x])),
          `${x}: ${b[x]} vs ${b0[x]}`,
        );
        // the intercept absorbs −β·shift
        const want = b0["(Intercept)"] - b0[x] * shift;
        assert.ok(
          Math.abs(b["(Intercept)"] - want) <= 1e-7 * (1 + Math.abs(want)),
          `intercept ${b["(Intercept)"]} vs ${want}`,
        );
        assert.deepEqual(messages(m), messages(base));
      });
    }
    for (const scale of [1e-6, 1e6]) {
      Deno.test(`lmer invariance: ${c.name}, ${x} × ${scale}`, () => {
        const m = lmer(c.formula, map(c.data, x, (v) => v * scale));
        m.theta.forEach((t, k) => assert.ok(Math.abs(t - base.theta[k]) <= 1e-7, `θ${k}`));
        const b = m.fixef();
        assert.ok(Math.abs(b[x] * scale - b0[x]) <= 1e-7 * (1 + Math.abs(b0[x])), x);
        assert.deepEqual(messages(m), messages(base));
      });
    }
  }
}

Deno.test("lmer invariance: the data as a polars frame and as columns fit alike", () => {
  const a = lmer("Reaction ~ Days + (Days | Subject)", dataset("sleepstudy"));
  const b = lmer("Reaction ~ Days + (Days | Subject)", datasetColumns("sleepstudy"));
  assert.deepEqual(Array.from(a.theta), Array.from(b.theta));
});
