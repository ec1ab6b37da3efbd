/**
 * Test helper shared by the glmer comparisons with lme4 (glmer.json,
 * glmer_agq.json, glmer_simulate.json): the fields every glmer fixture model
 * has, the shipped dataset with a fixture's derived columns, a per-id cache
 * of fits, and the small asserts those tests use.
 */
import assert from "node:assert/strict";
import { dataset, type GeneralizedLinearMixedModel } from "../../mod.ts";
import type { LinkName } from "../../advanced.ts";
import { pl } from "../../lib/deps.ts";
import type { DataFrame } from "../../lib/deps.ts";

/** The fields glmer.json and glmer_agq.json models share (see tests/fixtures/README.md). */
export interface GlmerFixtureModel {
  id: string;
  formula: string;
  dataset: string;
  family: "binomial" | "poisson";
  link: LinkName;
  derived?: Record<string, string>;
  weights?: string;
  offset?: string;
  nobs: number;
  deviance: number;
  deviance_resid: number;
  logLik: number;
  AIC: number;
  BIC: number;
  df_resid: number;
  theta: number[];
  beta: Record<string, number>;
  se: Record<string, number>;
  ranef: Record<string, { levels: string[]; columns: string[]; values: Record<string, number[]> }>;
  ranef_condsd: Record<string, number[]>;
  fitted: number[];
  eta: number[];
  feval: number;
  messages: string[];
  devfun_at: { label: string; pars: number[]; value: number | null }[];
  summary_text: string;
}

/**
 * The shipped dataset (R's level orders) with the columns the fixture
 * scripts derive: prop = incidence / size, logsize = log(size), use01 =
 * (use == "Y") as 0/1.
 */
export function derivedData(
  name: string,
  derived: Record<string, string> | null | undefined,
): DataFrame {
  let d = dataset(name as "cbpp") as unknown as DataFrame;
  const num = (c: string) => d.getColumn(c).toArray() as number[];
  if (derived?.prop) {
    d = d.withColumn(pl.Series("prop", num("incidence").map((v, i) => v / num("size")[i])));
  }
  if (derived?.logsize) d = d.withColumn(pl.Series("logsize", num("size").map(Math.log)));
  if (derived?.use01) {
    const use = d.getColumn("use").toArray() as string[];
    d = d.withColumn(pl.Series("use01", use.map((v) => (v === "Y" ? 1 : 0))));
  }
  return d;
}

/** `make` memoised by the case's id: each fixture model is fitted once per test file. */
export function cachedFits<C extends { id: string }>(
  make: (c: C) => GeneralizedLinearMixedModel,
): (c: C) => GeneralizedLinearMixedModel {
  const fits = new Map<string, GeneralizedLinearMixedModel>();
  return (c) => {
    let m = fits.get(c.id);
    if (!m) {
      m = make(c);
      fits.set(c.id, m);
    }
    return m;
  };
}

/** fn throws an error of class cls whose message contains msg. */
export function throwsWith(fn: () => unknown, cls: ErrorConstructor, msg: string): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof cls && (e as Error).message.includes(msg),
    `expected ${cls.name} with '${msg}'`,
  );
}

/** |a − b| / |b| (no floor: b is never 0 where it is used). */
export const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

/** Summary texts compared with ASCII quotes (as the fixture), without trailing blanks. */
export function normalizeSummary(s: string): string {
  return s.replace(/[‘’]/g, "'").replace(/[ \t]+$/gm, "").trim();
}
