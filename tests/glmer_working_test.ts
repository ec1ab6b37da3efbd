/**
 * PIRLS's fused per-row kernels (lib/models/glmer/working.ts) against the
 * family functions they replace: μ, the unit deviances, the working weights
 * and response, and the aic must be the family's bit for bit (glmer's
 * optimizer path, and so its agreement with lme4, depends on the last bits
 * of the Laplace deviance, which takes the aic), also where the aic reads
 * the logarithms the PIRLS step took (`aicAtLast`). The sum of unit
 * deviances is R's bit for bit except with 0/1 responses and the logit
 * link, where it takes −log(s) for R's log(1/s) (within 1e-15 relative; it
 * decides only PIRLS's convergence). Linear predictors include R's clamping range (|η| > 30)
 * and the responses 0/1, proportions with weights, counts.
 */
import assert from "node:assert/strict";
import { glmFamily } from "../lib/models/glmer/family.ts";
import type { FamilySpec } from "../lib/models/glmer/family.ts";
import { WorkingRows } from "../lib/models/glmer/working.ts";
import { dataset, glmer, rng } from "../mod.ts";

/** η spread over (−40, 40) plus values at and beyond the thresholds. */
function etas(n: number, scale: number): Float64Array {
  const u = rng(7).runif(n);
  const out = Float64Array.from(u, (v) => (v - 0.5) * 2 * scale);
  out.set([-40, -30.5, -30, -29.9, 0, 29.9, 30, 30.5, 40].map((v) => v / 40 * scale * 1.3));
  return out;
}

interface Case {
  family: FamilySpec;
  y: Float64Array;
  size: Float64Array;
  weights: Float64Array;
  scale: number;
}

function cases(): [string, Case][] {
  const n = 400;
  const r = rng(11);
  const u = r.runif(n), v = r.runif(n);
  const ones = new Float64Array(n).fill(1);
  const y01 = Float64Array.from(u, (x) => (x < 0.4 ? 1 : 0));
  const sizes = Float64Array.from(v, (x) => 1 + Math.floor(x * 20));
  const prop = Float64Array.from(u, (x, i) => Math.floor(x * (sizes[i] + 1)) / sizes[i]);
  const counts = Float64Array.from(u, (x) => Math.floor(-Math.log(1 - x) * 6));
  const out: [string, Case][] = [];
  for (const link of ["logit", "probit", "cloglog"] as const) {
    const family = { family: "binomial" as const, link };
    out.push([`${link}, 0/1`, { family, y: y01, size: ones, weights: ones, scale: 40 }]);
    // cbind(): y the proportion, sizes the trials, weights = sizes
    out.push([`${link}, cbind`, { family, y: prop, size: sizes, weights: sizes, scale: 40 }]);
    // a proportion with weights = trials (sizes 1)
    out.push([`${link}, weights`, { family, y: prop, size: ones, weights: sizes, scale: 40 }]);
  }
  out.push(["poisson", {
    family: "poisson",
    y: counts,
    size: ones,
    weights: ones,
    scale: 4,
  }]);
  out.push(["poisson, weights, clamped", {
    family: "poisson",
    y: counts,
    size: ones,
    weights: sizes,
    scale: 40,
  }]);
  return out;
}

const same = (a: number, b: number) => Object.is(a, b) || (a === b);

for (const [name, c] of cases()) {
  Deno.test(`glmer working rows, ${name}: the family's numbers bit for bit`, () => {
    const f = glmFamily(c.family);
    const n = c.y.length;
    const eta = etas(n, c.scale);
    const rows = new WorkingRows(c.y, c.size, c.weights, f);
    const mu = new Float64Array(n);
    const dev = rows.evaluate(eta, mu);
    let want = 0;
    const muR = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      muR[i] = f.linkinv(eta[i]);
      want += f.devResid(c.y[i], muR[i], c.weights[i]);
    }
    for (let i = 0; i < n; i++) assert.ok(same(mu[i], muR[i]), `μ[${i}] ${mu[i]} vs ${muR[i]}`);
    if (name === "logit, 0/1") {
      assert.ok(Math.abs(dev - want) <= 1e-15 * Math.abs(want), `deviance ${dev} vs ${want}`);
    } else assert.ok(same(dev, want), `deviance ${dev} vs ${want}`);
    const base = Float64Array.from(eta, (e) => e / 3);
    const w = new Float64Array(n), z = new Float64Array(n);
    rows.working(eta, base, w, z);
    for (let i = 0; i < n; i++) {
      const me = f.muEta(eta[i]);
      const wR = (c.weights[i] * me * me) / f.variance(muR[i]);
      const zR = eta[i] - base[i] + (c.y[i] - muR[i]) / me;
      assert.ok(same(w[i], wR), `w[${i}] ${w[i]} vs ${wR}`);
      assert.ok(same(z[i], zR), `z[${i}] ${z[i]} vs ${zR}`);
    }
    const aic = rows.aic(mu);
    const aicR = f.aic(c.y, c.size, muR, c.weights);
    assert.ok(same(aic, aicR), `aic ${aic} vs ${aicR}`);
    const aicLast = rows.aicAtLast();
    assert.ok(same(aicLast, aicR), `aicAtLast ${aicLast} vs ${aicR}`);
    assert.ok(Number.isFinite(aic) && Number.isFinite(dev));
  });
}

Deno.test("glmer PIRLS: the start cache follows lp0's values, not the array", () => {
  const m = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", dataset("cbpp"), {
    family: "binomial",
  });
  const nth = m.theta.length;
  const par = m.opt.par;
  const theta = par.slice(0, nth), beta = par.slice(nth);
  const lp0 = Float64Array.from(m.opt.lp0!);
  const a = m.glmm.pirls(theta, beta, lp0);
  // the same array with other values: a different start, a different path
  lp0.forEach((v, i) => (lp0[i] = v + 0.5 * Math.sin(i)));
  const b = m.glmm.pirls(theta, beta, lp0);
  const fresh = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", dataset("cbpp"), {
    family: "binomial",
  }).glmm.pirls(theta, beta, lp0);
  assert.ok(same(b.deviance, fresh.deviance), `${b.deviance} vs ${fresh.deviance}`);
  assert.deepEqual([...b.eta], [...fresh.eta]);
  assert.ok(a.iterations !== b.iterations || !same(a.deviance, b.deviance));
});

Deno.test("glmer: Glmm.deviance is pirls(...).deviance without the copies", () => {
  const m = glmer("use ~ age + urban + (urban | district)", dataset("Contraception"), {
    family: "binomial",
  });
  const nth = m.theta.length;
  const par = m.opt.par;
  const theta = par.slice(0, nth), beta = par.slice(nth);
  for (const [th, be] of [[theta, beta], [theta.map((t) => t * 1.1), beta]]) {
    assert.ok(same(m.glmm.deviance(th, be, m.opt.lp0), m.glmm.pirls(th, be, m.opt.lp0).deviance));
    assert.ok(
      same(
        m.glmm.deviance(th, undefined, m.opt.lp0),
        m.glmm.pirls(th, undefined, m.opt.lp0).deviance,
      ),
    );
  }
  // pirls's arrays are its own: a later run does not change them
  const a = m.glmm.pirls(theta, beta, m.opt.lp0);
  const eta = a.eta.slice();
  m.glmm.deviance(theta.map((t) => t * 0.5), beta, m.opt.lp0);
  assert.deepEqual([...a.eta], [...eta]);
});
