/**
 * The held-out lme4 fits (tests/fixtures/heldout.json, written by
 * tests/fixtures/heldout.R): fixture layout, fitting one with our default
 * lmer, and comparing its criterion and θ with lme4's. Shared by
 * tests/heldout_test.ts and tests/bench/heldout_report.ts.
 */
import { type LinearMixedModel, lmer } from "../../mod.ts";
import type { Cell } from "../../lib/data/frame.ts";
import type { FactorSpec } from "../../lib/design/modelframe.ts";
import { fixture } from "./datasets.ts";

/** One dataset: the used columns, and every factor's level order. */
export interface HeldoutDataset {
  name: string;
  source: string;
  nrow: number;
  data: Record<string, Cell[]>;
  /** Every factor column (R's level order, ordered or not); `[]` in R's JSON when none. */
  factors: Record<string, FactorSpec> | [];
}

/** One lme4 fit (see the header of heldout.R). */
export interface HeldoutModel {
  id: string;
  formula: string;
  REML: boolean;
  /** Name of the dataset in `datasets`. */
  data: string;
  /** REMLcrit for REML fits, deviance for ML fits. */
  criterion: number;
  theta: number[];
  theta_names: string[];
  beta: Record<string, number>;
  se: Record<string, number>;
  sigma: number;
  nobs: number;
  isSingular: boolean;
  messages: string[];
  fit_warnings: string[];
  feval: number;
}

/** The whole fixture. */
export interface HeldoutFixture {
  lme4: string;
  datasets: HeldoutDataset[];
  models: HeldoutModel[];
}

/** tests/fixtures/heldout.json. */
export function heldoutFixture(): HeldoutFixture {
  return fixture<HeldoutFixture>("heldout.json");
}

/** Fit a held-out model with our default lmer (restarts included). */
export function fitHeldout(fx: HeldoutFixture, m: HeldoutModel): LinearMixedModel {
  const d = fx.datasets.find((x) => x.name === m.data);
  if (!d) throw new Error(`${m.id}: no dataset '${m.data}'`);
  const factors = Array.isArray(d.factors) ? {} : d.factors;
  return lmer(m.formula, d.data, { REML: m.REML, factors, dataName: m.data });
}

/** Our fit against lme4's. */
export interface HeldoutComparison {
  id: string;
  formula: string;
  /** Our criterion (REMLcrit or deviance). */
  ours: number;
  /** lme4's. */
  lme4: number;
  /** (ours − lme4) / |lme4|: negative when ours is lower (better). */
  rel: number;
  /** max_k |θ_k − θ_lme4,k|. */
  thetaMaxAbs: number;
  /** Our convergence messages. */
  messages: readonly string[];
  /** Our restarts' criteria (and whether kept), if any. */
  restarts: readonly { fmin: number; kept: boolean }[];
  /** lme4's convergence messages. */
  lme4Messages: readonly string[];
}

/** Fit one model and compare it with lme4. */
export function compareHeldout(fx: HeldoutFixture, m: HeldoutModel): HeldoutComparison {
  const f = fitHeldout(fx, m);
  const ours = f.REML ? f.REMLcrit() : f.deviance();
  let thetaMaxAbs = 0;
  m.theta.forEach((t, k) => thetaMaxAbs = Math.max(thetaMaxAbs, Math.abs(f.theta[k] - t)));
  if (f.theta.length !== m.theta.length) thetaMaxAbs = NaN;
  return {
    id: m.id,
    formula: m.formula,
    ours,
    lme4: m.criterion,
    rel: (ours - m.criterion) / Math.abs(m.criterion),
    thetaMaxAbs,
    messages: f.messages,
    restarts: (f.optSummary.restarts ?? []).map((r) => ({ fmin: r.fmin, kept: r.kept })),
    lme4Messages: m.messages,
  };
}

/** Classes of the criterion difference. */
export type HeldoutClass = "equal1e-10" | "equal1e-7" | "better" | "worse";

/** Within 1e-10 relative, within 1e-7, better (lower) by more than 1e-7, or worse by more. */
export function classify(rel: number): HeldoutClass {
  if (Math.abs(rel) <= 1e-10) return "equal1e-10";
  if (Math.abs(rel) <= 1e-7) return "equal1e-7";
  return rel < 0 ? "better" : "worse";
}
