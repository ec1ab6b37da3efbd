/**
 * lmer on models it was not developed against: every model in
 * tests/fixtures/lmer_extra.json (written by lmer_extra.R with lme4 1.1-31;
 * same layout as lmer.json's models). Tolerances from the issue: criterion
 * (REMLcrit for REML, deviance for ML) never worse than lme4's by more than
 * 1e-7 relative; θ within 5e-4 (absolute); fixed effects within 1e-4
 * standard errors; σ within 1e-4 relative; standard errors within 1e-3
 * relative; same fixed-effect names, θ names, ngrps, isSingular and nobs.
 *
 * Models with embedded data ("data") use the columns as they are: string
 * columns become factors, integer ids used as grouping factors become
 * factors with numerically sorted levels, null is a missing value.
 */
import assert from "node:assert/strict";
import { lmer } from "../mod.ts";
import type { Cell } from "../lib/data/frame.ts";
import { assertClose, dataset, fixture } from "./helpers/datasets.ts";

interface LmerExtraFixture {
  id: string;
  formula: string;
  REML: boolean;
  dataset?: string;
  data?: Record<string, Cell[]>;
  theta: number[] | number;
  theta_names: string[] | string;
  beta: Record<string, number>;
  se: Record<string, number>;
  sigma: number;
  deviance: number;
  REMLcrit: number | null;
  nobs: number;
  ngrps: Record<string, number>;
  isSingular: boolean;
  messages: string[];
}

const { models } = fixture<{ models: LmerExtraFixture[] }>("lmer_extra.json");
const arr = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

function fit(m: LmerExtraFixture) {
  const d = m.dataset ? dataset(m.dataset) : { data: m.data!, options: {} };
  return lmer(m.formula, d.data, { ...d.options, REML: m.REML, dataName: m.dataset ?? "df" });
}

Deno.test("lmer_extra.json holds the expected models", () => {
  assert.ok(models.length >= 12, `${models.length} models`);
  assert.equal(new Set(models.map((m) => m.id)).size, models.length, "ids are unique");
  assert.ok(models.some((m) => !m.REML), "some ML fits");
  assert.ok(models.some((m) => m.isSingular), "a singular fit");
  assert.ok(models.some((m) => m.data && Object.values(m.data).some((c) => c.includes(null))));
});

for (const m of models) {
  Deno.test(`lmer (unseen) ${m.id}: ${m.formula} agrees with lme4`, () => {
    const f = fit(m);
    assert.equal(f.REML, m.REML, "REML");
    const crit = m.REML ? m.REMLcrit! : m.deviance;
    const ours = f.REML ? f.REMLcrit() : f.deviance();
    assert.ok(ours <= crit + 1e-7 * Math.abs(crit), `criterion ${ours} worse than lme4's ${crit}`);
    assert.deepEqual([...f.thetaNames], arr(m.theta_names), "theta names");
    const theta = arr(m.theta);
    assert.equal(f.theta.length, theta.length, "length of theta");
    theta.forEach((t, k) =>
      assert.ok(Math.abs(f.theta[k] - t) <= 5e-4, `theta[${k}] ${f.theta[k]} vs ${t}`)
    );
    assertClose(f.sigma, m.sigma, 1e-4, "sigma");
    const fe = f.fixef();
    assert.deepEqual(Object.keys(fe), Object.keys(m.beta), "fixed-effect names");
    const rows = f.coefRows();
    for (const [k, b] of Object.entries(m.beta)) {
      assert.ok(
        Math.abs(fe[k] - b) <= 1e-4 * m.se[k],
        `fixef ${k}: ${fe[k]} vs ${b} (se ${m.se[k]})`,
      );
      const se = rows.find((r) => r.term === k)!.stdError;
      assertClose(se, m.se[k], 1e-3, `SE ${k}`);
    }
    assert.deepEqual(f.ngrps(), m.ngrps, "ngrps");
    assert.equal(f.isSingular(), m.isSingular, "isSingular");
    assert.equal(f.nobs, m.nobs, "nobs");
    assert.equal(f.fitted().length, m.nobs, "one fitted value per complete row");
    // lme4's messages word for word, except that lme4 always says
    // "component 1" where we name the failing component (a documented difference).
    // The gradient is a finite difference on an unconverged fit: compare it to 3 digits.
    const norm = (xs: readonly string[]) =>
      xs.map((x) =>
        x.replace(/component \d+\)/, "component #)")
          .replace(/max\|grad\| = ([\d.e+-]+)/, (_, g) => `max|grad| = ${Number(g).toPrecision(3)}`)
      );
    assert.deepEqual(norm(f.messages), norm(m.messages), "lme4's messages");
  });
}

Deno.test("lmer (unseen): rows with a missing response are dropped, as na.omit", () => {
  for (const m of models.filter((m) => m.data?.Reaction?.includes(null))) {
    const f = fit(m);
    const missing = m.data!.Reaction.filter((v) => v === null).length;
    assert.equal(f.nobs, m.data!.Reaction.length - missing);
    assert.ok(
      f.frameMessages.some((s) => s.startsWith(`${missing} observations deleted`)),
      JSON.stringify(f.frameMessages),
    );
  }
});
