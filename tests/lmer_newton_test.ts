/**
 * The exact gradient, the average-information Hessian and the Newton path
 * of lmer (lib/models/lmer/gradient.ts, newton.ts; issue 11's large crossed
 * designs):
 * - the gradient against central differences of the criterion (REML, ML,
 *   three crossed terms, a scalar slope term, prior weights, an offset);
 * - the information matrix against the finite-difference Hessian at the
 *   optimum;
 * - Newton fits against lme4's (fixtures written by R: lmer.R, heldout.R)
 *   and against our BOBYQA fits, never worse by more than 1e-7 relative;
 * - its fallbacks (a singular fit finishes with BOBYQA), its invariance to
 *   shifting and scaling y and to the order of the rows, and bad input.
 */
import assert from "node:assert/strict";
import { lmer } from "../mod.ts";
import type { DataLike, LmerOptions } from "../mod.ts";
import { nativeLapack } from "../lib/linalg/native.ts";
import { NEWTON_MIN_ORDER } from "../lib/models/lmer/fit.ts";
import { newtonMinimize } from "../lib/models/lmer/newton.ts";
import { crossedPair } from "./helpers/simData.ts";
import { dataset, fixture } from "./helpers/datasets.ts";
import { heldoutFixture } from "./helpers/heldout.ts";
import { rng } from "../mod.ts";

/** A crossed design's columns (crossedPair's, typed). */
interface Crossed {
  [column: string]: Float64Array | string[];
  y: Float64Array;
  x: Float64Array;
  a: string[];
  b: string[];
}
const crossed = (d: Parameters<typeof crossedPair>[0]) => crossedPair(d) as unknown as Crossed;
const small = crossed({ n: 4000, seed: 4, la: 200, lb: 150, b0: 1, sb: 0.7, step: 7919 });
const F2 = "y ~ x + (1 | a) + (1 | b)";

/** Central differences of the criterion, step h. */
function numericGradient(f: (th: number[]) => number, th: number[], h = 1e-5): number[] {
  return th.map((_, k) => {
    const a = [...th], b = [...th];
    a[k] += h;
    b[k] -= h;
    return (f(a) - f(b)) / (2 * h);
  });
}

/** A third crossed factor c and a prior weight per row of `small`. */
function withExtras(): DataLike {
  const r = rng(8);
  const u = r.runif(small.y.length);
  const c = Array.from(u, (v) => `c${Math.floor(v * 60)}`);
  const w = Array.from(r.runif(small.y.length), (v) => 0.5 + v);
  const off = Array.from(r.rnorm(small.y.length), (v) => 0.1 * v);
  return { ...small, c, w, off };
}

const gradientCases: { name: string; formula: string; options: LmerOptions; data: DataLike }[] = [
  { name: "two crossed factors, REML", formula: F2, options: {}, data: small },
  { name: "two crossed factors, ML", formula: F2, options: { REML: false }, data: small },
  {
    name: "three crossed factors and a scalar slope term",
    formula: "y ~ x + (1 | a) + (1 | b) + (1 | c) + (0 + x | b)",
    options: {},
    data: withExtras(),
  },
  {
    name: "prior weights and an offset, ML",
    formula: F2,
    options: { REML: false, weights: "w", offset: "off" },
    data: withExtras(),
  },
];

for (const c of gradientCases) {
  Deno.test(`gradient: ${c.name} equals central differences to 1e-6`, () => {
    const m = lmer(c.formula, c.data, { ...c.options, control: { optimizer: "bobyqa" } });
    const lmm = m.devfun.lmm;
    assert.ok(lmm.derivativesSupported);
    const K = m.theta.length;
    const points = [[...m.theta], [...m.theta].map((t, k) => t * (k % 2 ? 1.6 : 0.5) + 0.05)];
    for (const th of points) {
      const d = lmm.derivatives(th, m.REML);
      assert.equal(d.objective, m.devfun(th), "the criterion is the devfun's");
      const fd = numericGradient((t) => m.devfun(t), th);
      for (let k = 0; k < K; k++) {
        // central differences with h = 1e-5 are good to ~1e-7 relative here
        const tol = 1e-6 * Math.max(1, Math.abs(fd[k]));
        assert.ok(
          Math.abs(d.gradient[k] - fd[k]) <= tol,
          `θ ${th} k ${k}: ${d.gradient[k]} vs ${fd[k]}`,
        );
      }
    }
  });
}

Deno.test("gradient: the information matrix is within 8% of the Hessian at the optimum", () => {
  for (const REML of [true, false]) {
    const m = lmer(F2, small, { REML, control: { optimizer: "newton" } });
    const lmm = m.devfun.lmm;
    const th = [...m.theta];
    const info = lmm.derivatives(th, REML).information;
    const h = 1e-4;
    for (let j = 0; j < 2; j++) {
      const a = [...th], b = [...th];
      a[j] += h;
      b[j] -= h;
      const ga = lmm.derivatives(a, REML).gradient, gb = lmm.derivatives(b, REML).gradient;
      for (let i = 0; i < 2; i++) {
        const hij = (ga[i] - gb[i]) / (2 * h);
        const scale = Math.sqrt(info[0] * info[3]);
        assert.ok(
          Math.abs(info[i * 2 + j] - hij) <= 0.08 * scale,
          `REML ${REML} (${i},${j}): AI ${info[i * 2 + j]} vs Hessian ${hij}`,
        );
      }
    }
    assert.equal(info[1], info[2], "symmetric");
  }
});

/** lme4's fits from the committed fixtures that the Newton path applies to. */
interface Golden {
  id: string;
  formula: string;
  REML: boolean;
  data: DataLike;
  factors?: LmerOptions["factors"];
  criterion: number;
  theta: number[];
  beta: number[];
}

function goldens(): Golden[] {
  const out: Golden[] = [];
  const lm = fixture<{ models: Record<string, unknown>[] }>("lmer.json").models;
  for (const id of ["penicillin_REML", "penicillin_ML"]) {
    const m = lm.find((x) => x.id === id) as Record<string, unknown> | undefined;
    if (!m) throw new Error(`lmer.json has no ${id}`);
    const data = dataset(m.dataset as string).data as DataLike;
    out.push({
      id,
      formula: m.formula as string,
      REML: m.REML as boolean,
      data,
      criterion: (m.REML ? m.REMLcrit : m.deviance) as number,
      theta: m.theta as number[],
      beta: Object.values(m.beta as Record<string, number>),
    });
  }
  const hx = heldoutFixture();
  for (const id of ["scotssec_crossed_REML", "scotssec_crossed_ML", "insteval_crossed_REML"]) {
    const m = hx.models.find((x) => x.id === id);
    if (!m) throw new Error(`heldout.json has no ${id}`);
    const d = hx.datasets.find((x) => x.name === m.data)!;
    out.push({
      id,
      formula: m.formula,
      REML: m.REML,
      data: d.data as DataLike,
      factors: Array.isArray(d.factors) ? {} : d.factors,
      criterion: m.criterion,
      theta: m.theta,
      beta: Object.values(m.beta),
    });
  }
  return out;
}

for (const g of goldens()) {
  Deno.test(`newton: ${g.id} (${g.formula}) agrees with lme4 and is never worse`, () => {
    const m = lmer(g.formula, g.data, {
      REML: g.REML,
      factors: g.factors,
      control: { optimizer: "newton" },
    });
    const ours = m.REML ? m.REMLcrit() : m.deviance();
    // never worse than lme4 by more than 1e-7 relative (issue 11's rule)
    assert.ok(
      ours <= g.criterion + 1e-7 * Math.abs(g.criterion),
      `${ours} vs lme4 ${g.criterion} (${m.optSummary.optimizer}: ${m.optSummary.message})`,
    );
    // both are optima of the same criterion: θ to lme4's own tolerance
    g.theta.forEach((t, k) => assert.ok(Math.abs(m.theta[k] - t) <= 2e-4 * Math.max(1, t)));
    const beta = Object.values(m.fixef());
    g.beta.forEach((b, k) => assert.ok(Math.abs(beta[k] - b) <= 1e-4 * Math.max(1, Math.abs(b))));
    assert.ok(m.optSummary.optimizer.startsWith("Newton"));
    assert.ok(m.optSummary.feval <= 30, `${m.optSummary.feval} evaluations`);
  });
}

Deno.test("newton: reaches BOBYQA's criterion in at most 6 evaluations on crossed designs", () => {
  for (const seed of [4, 7, 11]) {
    const d = crossedPair({ n: 6000, seed, la: 300, lb: 250, b0: 1, sb: 0.7, step: 7919 });
    for (const REML of [true, false]) {
      const a = lmer(F2, d, { REML, control: { optimizer: "bobyqa" } });
      const b = lmer(F2, d, { REML, control: { optimizer: "newton" } });
      const fa = a.optSummary.fmin, fb = b.optSummary.fmin;
      assert.equal(b.optSummary.optimizer, "Newton");
      assert.equal(b.optSummary.status, "converged");
      assert.ok(b.optSummary.feval <= 6, `seed ${seed}: ${b.optSummary.feval} evaluations`);
      assert.ok(fb <= fa + 1e-7 * Math.abs(fa), `seed ${seed} REML ${REML}: ${fb} vs ${fa}`);
      a.theta.forEach((t, k) => assert.ok(Math.abs(b.theta[k] - t) <= 1e-4));
      // the fitted model is built at Newton's point (its factorization reused)
      assert.equal(REML ? b.REMLcrit() : b.deviance(), fb);
    }
  }
});

Deno.test("newton: a singular fit (a factor without variance) finishes with BOBYQA", () => {
  const r = rng(21);
  const n = 3000;
  const ia = Array.from(r.runif(n), (v) => Math.floor(v * 100));
  const ib = Array.from(r.runif(n), (v) => Math.floor(v * 80));
  const ea = r.rnorm(100), e = r.rnorm(n);
  // the noise centred within each level of b: b's level means differ only
  // through a's effects, so b's variance is estimated at 0
  const sum = new Float64Array(80), cnt = new Float64Array(80);
  ib.forEach((l, i) => (sum[l] += e[i], cnt[l]++));
  const y = ia.map((l, i) => ea[l] + e[i] - sum[ib[i]] / cnt[ib[i]]);
  const data = { y, a: ia.map((l) => `a${l}`), b: ib.map((l) => `b${l}`) };
  const nt = lmer("y ~ 1 + (1 | a) + (1 | b)", data, { control: { optimizer: "newton" } });
  const bq = lmer("y ~ 1 + (1 | a) + (1 | b)", data, { control: { optimizer: "bobyqa" } });
  assert.ok(bq.theta[1] < 1e-3, `b's θ ${bq.theta[1]}`);
  assert.equal(nt.optSummary.optimizer, "Newton, then BOBYQA");
  assert.ok(nt.REMLcrit() <= bq.REMLcrit() + 1e-7 * Math.abs(bq.REMLcrit()));
  assert.ok(Math.abs(nt.theta[0] - bq.theta[0]) <= 1e-4);
  assert.deepEqual(nt.messages, bq.messages);
});

Deno.test("newton: invariant to shifting and scaling y and to the order of the rows", () => {
  const base = lmer(F2, small, { control: { optimizer: "newton" } });
  const n = small.y.length;
  for (const [shift, scale] of [[1e6, 1], [0, 1e-6], [1e4, 1e6]]) {
    const y = Float64Array.from(small.y, (v) => (v + shift) * scale);
    const m = lmer(F2, { ...small, y }, { control: { optimizer: "newton" } });
    base.theta.forEach((t, k) => assert.ok(Math.abs(m.theta[k] - t) <= 1e-6, `${shift} ${scale}`));
    const b0 = base.fixef().x, b1 = m.fixef().x;
    assert.ok(Math.abs(b1 / scale - b0) <= 1e-6 * Math.abs(b0));
  }
  const perm = Array.from({ length: n }, (_, i) => (i * 7919) % n);
  const pick = <T>(xs: ArrayLike<T>) => perm.map((i) => xs[i]);
  const m = lmer(F2, { y: pick(small.y), x: pick(small.x), a: pick(small.a), b: pick(small.b) }, {
    control: { optimizer: "newton" },
  });
  base.theta.forEach((t, k) => assert.ok(Math.abs(m.theta[k] - t) <= 1e-6));
});

Deno.test("newton: the automatic choice takes it for a dense block of 2,000+ rows with native LAPACK", () => {
  const d = crossedPair({
    n: 20 * NEWTON_MIN_ORDER,
    seed: 5,
    la: NEWTON_MIN_ORDER,
    lb: NEWTON_MIN_ORDER,
    b0: 1,
    sb: 0.7,
    step: 7919,
  });
  const m = lmer(F2, d);
  const native = nativeLapack()?.trtri !== undefined;
  assert.equal(m.optSummary.optimizer, native ? "Newton" : "BOBYQA");
  // the small designs keep lme4's BOBYQA (and its evaluation path)
  assert.equal(lmer(F2, small).optSummary.optimizer, "BOBYQA");
});

Deno.test("newton: bad settings and unsupported models get clear errors", () => {
  assert.throws(
    () => lmer(F2, small, { control: { optimizer: "newtn" as "newton" } }),
    /control 'optimizer' must be "auto", "bobyqa" or "newton", got a string \("newtn"\)/,
  );
  const sleep = dataset("sleepstudy").data as DataLike;
  assert.throws(
    () => lmer("Reaction ~ Days + (Days | Subject)", sleep, { control: { optimizer: "newton" } }),
    /optimizer "newton" needs every random-effects term scalar/,
  );
  // one evaluation allowed: it stops there and says so
  const m = lmer(F2, small, { control: { optimizer: "newton", maxeval: 1, restart: false } });
  assert.equal(m.optSummary.feval, 1);
  assert.match(m.optSummary.message, /budget/);
});

Deno.test("newtonMinimize: reflects at 0 and stops on a non-positive-definite Hessian", () => {
  // f(x) = (x² − 4)², even: from x = −1 the step crosses 0 and is reflected
  const fg = (x: Float64Array) => ({
    objective: (x[0] * x[0] - 4) ** 2,
    gradient: Float64Array.of(4 * x[0] * (x[0] * x[0] - 4)),
    information: Float64Array.of(8 * x[0] * x[0]),
  });
  const r = newtonMinimize(fg, Float64Array.of(-1));
  assert.equal(r.status, "converged");
  assert.ok(Math.abs(r.x[0] - 2) < 1e-6, String(r.x[0]));
  const s = newtonMinimize(
    (x) => ({ ...fg(x), information: Float64Array.of(-1) }),
    Float64Array.of(1),
  );
  assert.equal(s.status, "singular_hessian");
  assert.equal(s.feval, 1);
});

Deno.test("newtonMinimize: the last step is checked by the criterion alone when it gains as predicted", () => {
  const calls: boolean[] = [];
  const fg = (x: Float64Array, derivatives: boolean) => {
    calls.push(derivatives);
    return {
      objective: (x[0] * x[0] - 4) ** 2,
      gradient: Float64Array.of(4 * x[0] * (x[0] * x[0] - 4)),
      information: Float64Array.of(12 * x[0] * x[0] - 16), // the exact second derivative
    };
  };
  const r = newtonMinimize(fg, Float64Array.of(2.5));
  assert.equal(r.status, "converged");
  assert.match(r.message, /a last step with predicted decrease/);
  assert.ok(Math.abs(r.x[0] - 2) < 1e-7, String(r.x[0]));
  assert.deepEqual(calls.slice(-1), [false], "the last evaluation without derivatives");
  assert.equal(calls.filter((d) => !d).length, 1);
  // twice the true second derivative: each step gains 1.5 times the
  // prediction, so each criterion-only point gets its derivatives next (at
  // the same θ) and the iteration goes on to the gradient test
  const calls2: [number, boolean][] = [];
  const r2 = newtonMinimize((x, d) => {
    calls2.push([x[0], d]);
    return { ...fg(x, d), information: Float64Array.of(2 * (12 * x[0] * x[0] - 16)) };
  }, Float64Array.of(2.001));
  assert.equal(r2.status, "converged");
  assert.match(r2.message, /at most ftolAbs/);
  assert.ok(calls2.some(([, d]) => !d));
  calls2.forEach(([x, d], i) => {
    if (!d) assert.deepEqual(calls2[i + 1], [x, true]);
  });
});

Deno.test("derivatives invert the factor in place: the next use at the same θ refactors", () => {
  const m = lmer(F2, small, { control: { optimizer: "bobyqa" } });
  const lmm = m.devfun.lmm, th = [...m.theta];
  const f0 = m.devfun(th);
  const d0 = lmm.derivatives(th, true);
  assert.equal(m.devfun(th), f0);
  // twice in a row at the same θ: the same numbers
  const d1 = lmm.derivatives(th, true);
  assert.deepEqual([...d1.gradient], [...d0.gradient]);
  assert.deepEqual([...d1.information], [...d0.information]);
  const s = lmm.solve(th, true);
  assert.deepEqual([...s.beta], Object.values(m.fixef()));
  assert.equal(s.objective, f0);
});
