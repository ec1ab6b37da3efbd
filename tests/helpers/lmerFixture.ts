/**
 * Test helper shared by the lme4 comparisons (lmer.json, lmer_extra.json):
 * the fixture layout, fitting a fixture's model, and the issue's core
 * tolerances — criterion never worse than lme4's by more than 1e-7
 * relative, θ within 5e-4, fixed effects within 1e-4 standard errors, σ
 * within 1e-4 relative, standard errors within 1e-3 relative.
 */
import assert from "node:assert/strict";
import { type LinearMixedModel, lmer } from "../../mod.ts";
import type { LmerControl } from "../../advanced.ts";
import type { Cell } from "../../lib/data/frame.ts";
import { assertClose, dataset } from "./datasets.ts";

/** The fields every lmer fixture model has (see tests/fixtures/README.md). */
export interface LmerFixtureCore {
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

/** R writes length-one vectors as scalars. */
export const arr = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** What it takes to fit a fixture's model. */
export type FitSpec = Pick<LmerFixtureCore, "formula" | "REML" | "dataset" | "data">;

/** Fit a fixture's model with our lmer (CSV datasets with R's factor settings). */
export function fitFixture(m: FitSpec, control: LmerControl = {}): LinearMixedModel {
  const d = m.dataset ? dataset(m.dataset) : { data: m.data!, options: {} };
  return lmer(m.formula, d.data, {
    ...d.options,
    REML: m.REML,
    dataName: m.dataset ?? "df",
    control,
  });
}

/** The models a fixture's tests share, fitted once each (by id). */
export function fitCache<M extends FitSpec & { id: string }>(
  models: readonly M[],
): (id: string) => LinearMixedModel {
  const fits = new Map<string, LinearMixedModel>();
  return (id) => {
    let f = fits.get(id);
    if (!f) {
      const m = models.find((x) => x.id === id);
      if (!m) throw new Error(`no fixture model '${id}'`);
      f = fitFixture(m);
      fits.set(id, f);
    }
    return f;
  };
}

/** Assert the tolerances on criterion, θ, σ, fixed effects and their SEs. */
export function assertCoreAgreement(f: LinearMixedModel, m: LmerFixtureCore): void {
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
    assertClose(rows.find((r) => r.term === k)!.stdError, m.se[k], 1e-3, `SE ${k}`);
  }
  assert.deepEqual(f.ngrps(), m.ngrps, "ngrps");
  assert.equal(f.isSingular(), m.isSingular, "isSingular");
  assert.equal(f.nobs, m.nobs, "nobs");
}
