/**
 * The lmer numerical core against lme4 (tests/fixtures/lmer.json, lme4
 * 1.1-31) and against a dense brute-force computation on synthetic designs
 * that the fixtures do not cover (three terms, nested + crossed, q > 1 in the
 * dense tail). X and the random-effects terms are built by hand here, so these
 * tests do not depend on the formula / design layers.
 */
import assert from "node:assert/strict";
import type { FixedDesign, ReTerm } from "../lib/design/reterm.ts";
import { buildLmm, type Lmm } from "../lib/models/lmer/core.ts";
import { termOrder } from "../lib/models/lmer/structure.ts";
import { potf2, potrf, potrfWorkSize } from "../lib/linalg/cholesky.ts";
import { simdArena } from "../lib/linalg/simd.ts";
import { crossprodLower, trtriLower } from "../lib/linalg/triangular.ts";
import { type Column, type Factor, factor, interaction } from "./helpers/csv.ts";
import { datasetColumns } from "./helpers/datasets.ts";

// ---------------------------------------------------------------- fixtures

interface RanefTable {
  levels: string[];
  columns: string[];
  values: number[][];
  condsd: number[][];
}
interface FixtureModel {
  id: string;
  REML: boolean;
  dataset?: string;
  data?: Record<string, Column>;
  theta: number[];
  theta_names: string[];
  lower: (number | null)[];
  beta: Record<string, number>;
  se: Record<string, number>;
  vcov: number[][];
  vcov_names: string[];
  sigma: number;
  deviance: number;
  devcomp: Record<string, number | null>;
  ranef: Record<string, RanefTable>;
  fitted: number[];
  residuals: number[];
  devfun_at: { label: string; theta: number[]; value: number }[];
}

const fixtures: FixtureModel[] = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/lmer.json", import.meta.url)),
).models;

const csvCache = new Map<string, Record<string, Column>>();
/** A shipped dataset as plain columns (factor columns as their labels). */
function csv(name: string): Record<string, Column> {
  let d = csvCache.get(name);
  if (!d) {
    d = datasetColumns(name) as Record<string, Column>;
    csvCache.set(name, d);
  }
  return d;
}

// ---------------------------------------------------- hand-built designs

interface Design {
  x: FixedDesign;
  y: Float64Array;
  terms: ReTerm[];
}

const num = (c: Column): Float64Array => Float64Array.from(c, Number);
const ones = (n: number): Float64Array => new Float64Array(n).fill(1);

function fixed(cols: [string, Float64Array][]): FixedDesign {
  const n = cols[0][1].length;
  const x = new Float64Array(n * cols.length);
  cols.forEach(([, v], j) => x.set(v, j * n));
  return { x, n, p: cols.length, names: cols.map(([name]) => name) };
}

/** Treatment-contrast dummies for every level but the first. */
function dummies(name: string, f: Factor): [string, Float64Array][] {
  return f.levels.slice(1).map((l, k) => [
    `${name}${l}`,
    Float64Array.from(f.index, (i) => (i === k + 1 ? 1 : 0)),
  ]);
}

function reTerm(group: string, f: Factor, cols: [string, Float64Array][]): ReTerm {
  const n = f.index.length;
  const q = cols.length;
  const z = new Float64Array(n * q);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < q; c++) z[i * q + c] = cols[c][1][i];
  }
  return { group, levels: f.levels, index: f.index, cnames: cols.map(([c]) => c), z };
}

/**
 * R's contr.poly(k) (scores 1..k): Gram–Schmidt residuals of the centred
 * powers, normalized (R's make.poly: Q·diag(R) of the QR of the powers).
 */
function contrPoly(k: number): number[][] {
  const s = Array.from({ length: k }, (_, i) => i + 1 - (k + 1) / 2);
  const cols: number[][] = [];
  for (let d = 0; d < k; d++) {
    const v = s.map((x) => x ** d);
    for (const u of cols) {
      const dot = v.reduce((a, x, i) => a + x * u[i], 0);
      for (let i = 0; i < k; i++) v[i] -= dot * u[i];
    }
    const nrm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    cols.push(v.map((x) => x / nrm));
  }
  return cols.slice(1); // drop the constant
}

function design(m: FixtureModel): Design | undefined {
  const base = m.id.replace(/_(REML|ML)$/, "");
  const d = m.data ?? csv(m.dataset ?? "");
  const int: [string, Float64Array] = ["(Intercept)", ones(d[Object.keys(d)[0]].length)];
  switch (base) {
    case "sleepstudy_slope":
    case "sleepstudy_uncorr":
    case "sleepstudy_two_terms":
    case "sleepstudy_int":
    case "sleepstudy_slope_only": {
      const s = factor(d.Subject);
      const days: [string, Float64Array] = ["Days", num(d.Days)];
      const x = base === "sleepstudy_slope_only" ? fixed([int]) : fixed([int, days]);
      const terms = base === "sleepstudy_slope"
        ? [reTerm("Subject", s, [int, days])]
        : base === "sleepstudy_int"
        ? [reTerm("Subject", s, [int])]
        : base === "sleepstudy_slope_only"
        ? [reTerm("Subject", s, [days])]
        : [reTerm("Subject", s, [int]), reTerm("Subject", s, [days])];
      return { x, y: num(d.Reaction), terms };
    }
    case "dyestuff":
    case "dyestuff2":
      return { x: fixed([int]), y: num(d.Yield), terms: [reTerm("Batch", factor(d.Batch), [int])] };
    case "penicillin":
    case "penicillin_plate_only": {
      const terms = [reTerm("plate", factor(d.plate), [int])];
      if (base === "penicillin") terms.push(reTerm("sample", factor(d.sample), [int]));
      return { x: fixed([int]), y: num(d.diameter), terms };
    }
    case "pastes_nested": {
      const batch = factor(d.batch);
      const cb = interaction(factor(d.cask), batch);
      return {
        x: fixed([int]),
        y: num(d.strength),
        terms: [reTerm("batch", batch, [int]), reTerm("cask:batch", cb, [int])],
      };
    }
    case "pastes_batch_sample":
      return {
        x: fixed([int]),
        y: num(d.strength),
        terms: [reTerm("batch", factor(d.batch), [int]), reTerm("sample", factor(d.sample), [int])],
      };
    case "cake_recipe_temp": {
      const recipe = factor(d.recipe);
      return {
        x: fixed([int, ...dummies("recipe", recipe), ["temp", num(d.temp)]]),
        y: num(d.angle),
        terms: [reTerm("replicate", factor(d.replicate), [int])],
      };
    }
    case "cake_recipe_x_temperature": {
      const recipe = factor(d.recipe);
      const temp = factor(d.temperature, ["175", "185", "195", "205", "215", "225"]);
      const poly = contrPoly(6);
      const pn = [".L", ".Q", ".C", "^4", "^5"];
      const tcols: [string, Float64Array][] = poly.map((c, k) => [
        `temperature${pn[k]}`,
        Float64Array.from(temp.index, (i) => c[i]),
      ]);
      const rd = dummies("recipe", recipe);
      const inter: [string, Float64Array][] = [];
      for (const [tn, tv] of tcols) {
        for (const [rn, rv] of rd) inter.push([`${rn}:${tn}`, rv.map((v, i) => v * tv[i])]);
      }
      const rr = interaction(recipe, factor(d.replicate));
      return {
        x: fixed([int, ...rd, ...tcols, ...inter]),
        y: num(d.angle),
        terms: [reTerm("recipe:replicate", rr, [int])],
      };
    }
    default:
      if (base.startsWith("clark")) {
        const xx: [string, Float64Array] = ["x", num(d.x)];
        return {
          x: fixed([int, xx]),
          y: num(d.y),
          terms: [reTerm("cluster", factor(d.cluster), [int, xx])],
        };
      }
      if (base.startsWith("seed003")) {
        return {
          x: fixed([int, ...dummies("predictor", factor(d.predictor))]),
          y: num(d.dependent),
          terms: [reTerm("cluster", factor(d.cluster), [int])],
        };
      }
      return undefined;
  }
}

// ------------------------------------------------------------- comparison

/** |a − e| ≤ tol · max(|e|, scale). */
function close(a: number, e: number, tol: number, scale: number, what: string): void {
  const ok = Math.abs(a - e) <= tol * Math.max(Math.abs(e), scale);
  assert.ok(ok, `${what}: got ${a}, expected ${e} (tol ${tol}, scale ${scale})`);
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function checkModel(m: FixtureModel, lmm: Lmm): void {
  assert.deepEqual(lmm.thetaNames, m.theta_names, "theta names");
  assert.deepEqual(Array.from(lmm.lower), m.lower.map((v) => (v === null ? -Infinity : v)));

  // lme4's devfun at five θ: the criterion is a smooth function evaluated by a
  // different algorithm (sparse CHOLMOD + explicit β, u); agreement is at the
  // 1e-12 level (measured worst 1.7e-12), 1e-10 relative leaves room for
  // platform rounding.
  for (const pt of m.devfun_at) {
    close(lmm.objective(pt.theta, m.REML), pt.value, 1e-10, 0, `${m.id} devfun at ${pt.label}`);
  }

  const s = lmm.solve(m.theta, m.REML);
  // fixed effects: 1e-8 relative, or 1e-10 of the largest |β| for β near 0
  // (an entry that is 0 in exact arithmetic is rounding noise on both sides);
  // same for vcov; se, σ and the devcomp pieces 1e-8 relative (measured
  // worst: 2e-12 for β, 8e-13 for vcov and ldRX2)
  const betaE = m.vcov_names.map((nm) => m.beta[nm]);
  const bScale = maxAbs(betaE);
  betaE.forEach((e, j) => close(s.beta[j], e, 1e-8, 1e-2 * bScale, `${m.id} beta ${j}`));
  m.vcov_names.forEach((nm, j) => close(s.se[j], m.se[nm], 1e-8, 0, `${m.id} se ${nm}`));
  const p = m.vcov_names.length;
  const vScale = maxAbs(m.vcov.flat());
  m.vcov.forEach((row, i) =>
    row.forEach((e, j) => close(s.vcov[j * p + i], e, 1e-8, 1e-2 * vScale, `${m.id} vcov`))
  );
  close(s.sigma, m.sigma, 1e-8, 0, `${m.id} sigma`);
  close(s.objective, m.deviance, 1e-10, 0, `${m.id} criterion`);
  for (const k of ["ldL2", "ldRX2", "wrss", "ussq", "pwrss", "sigmaML", "sigmaREML"] as const) {
    const e = m.devcomp[k] as number;
    close(
      s.devcomp[k],
      e,
      1e-8,
      1e-8 * Math.abs(m.devcomp.pwrss as number),
      `${m.id} devcomp ${k}`,
    );
  }

  // random effects and conditional sds, per grouping factor and column
  // (several terms may share a factor, as in (Days || Subject)): 1e-7
  // relative to the column's largest value (measured worst 8e-13); fitted
  // values and residuals 1e-7 relative (measured worst 1e-11)
  for (const [group, tab] of Object.entries(m.ranef)) {
    tab.columns.forEach((cname, c) => {
      const t = s.ranef.find((r) => r.info.group === group && r.info.cnames.includes(cname));
      assert.ok(t, `${m.id}: no term for ${group} ${cname}`);
      assert.deepEqual(t.info.term.levels, tab.levels, `${m.id} ${group} levels`);
      const r = t.info.cnames.indexOf(cname);
      const q = t.info.q;
      const vals = tab.values.map((row) => row[c]);
      const sds = tab.condsd.map((row) => row[c]);
      const vs = maxAbs(vals), ss = maxAbs(sds);
      vals.forEach((e, l) =>
        close(t.b[l * q + r], e, 1e-7, vs, `${m.id} ranef ${group} ${cname} ${l}`)
      );
      sds.forEach((e, l) =>
        close(t.condSd[l * q + r], e, 1e-7, ss, `${m.id} condsd ${group} ${cname} ${l}`)
      );
    });
  }
  const fs = maxAbs(m.fitted);
  m.fitted.forEach((e, i) => close(s.fitted[i], e, 1e-7, 1e-3 * fs, `${m.id} fitted ${i}`));
  m.residuals.forEach((e, i) => close(s.residuals[i], e, 1e-7, 1e-3 * fs, `${m.id} residual ${i}`));
}

for (const m of fixtures) {
  const d = design(m);
  if (!d) continue;
  Deno.test(`lmer core vs lme4: ${m.id}`, () => {
    const lmm = buildLmm(d.x, d.y, d.terms);
    checkModel(m, lmm);
  });
}

Deno.test("every lmer fixture model has a hand-built design", () => {
  const missing = fixtures.filter((m) => !design(m)).map((m) => m.id);
  assert.deepEqual(missing, []);
});

// ------------------------------------------------------------ structure

Deno.test("term order follows lme4 (rev(order(nl)), ties reversed)", () => {
  assert.deepEqual(termOrder([2, 18, 18]), [2, 1, 0]);
  assert.deepEqual(termOrder([18, 18, 2]), [0, 1, 2]); // no increase: untouched
  assert.deepEqual(termOrder([10, 30]), [1, 0]);
  assert.deepEqual(termOrder([5]), [0]);
});

Deno.test("theta names and bounds for a 3-column term (lme4 layout)", () => {
  const n = 4;
  const f = factor(["a", "b", "a", "b"]);
  const lmm = buildLmm(
    fixed([["(Intercept)", ones(n)]]),
    Float64Array.of(1, 2, 4, 3),
    [reTerm("g", f, [["(Intercept)", ones(n)], ["x", Float64Array.of(1, 2, 3, 5)], [
      "I(x^2)",
      Float64Array.of(1, 4, 9, 25),
    ]])],
  );
  assert.deepEqual(lmm.thetaNames, [
    "g.(Intercept)",
    "g.x.(Intercept)",
    "g.I(x^2).(Intercept)",
    "g.x",
    "g.I(x^2).x",
    "g.I(x^2)",
  ]);
  assert.deepEqual(Array.from(lmm.lower), [0, -Infinity, -Infinity, 0, -Infinity, 0]);
  assert.deepEqual(Array.from(lmm.thetaStart), [1, 0, 0, 1, 0, 1]);
});

Deno.test("rank-deficient X gives a clear error, not NaN", () => {
  const d = csv("sleepstudy");
  const n = d.Reaction.length;
  const days = num(d.Days);
  const lmm = buildLmm(
    fixed([["(Intercept)", ones(n)], ["Days", days], ["Days2", days.map((v) => 2 * v)]]),
    num(d.Reaction),
    [reTerm("Subject", factor(d.Subject), [["(Intercept)", ones(n)]])],
  );
  assert.throws(() => lmm.objective([1], true), /rank deficient/);
});

// ------------------------------------------------------------- linalg

function randomSpd(n: number, seed: number): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  const b = Float64Array.from({ length: n * n }, rnd);
  const a = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      let t = i === j ? n : 0;
      for (let k = 0; k < n; k++) t += b[i * n + k] * b[j * n + k];
      a[j * n + i] = t;
    }
  }
  return a;
}

Deno.test("blocked potrf equals unblocked potf2 (sizes across block edges)", () => {
  for (const n of [1, 5, 63, 64, 65, 130, 203]) {
    const a = randomSpd(n, 7 + n);
    const b = a.slice();
    assert.equal(potrf(a, n), -1);
    assert.equal(potf2(b, n), -1);
    for (let j = 0; j < n; j++) {
      for (let i = j; i < n; i++) {
        close(a[j * n + i], b[j * n + i], 1e-12, 1, `potrf n=${n} (${i},${j})`);
      }
    }
  }
});

Deno.test("SIMD potrf is bitwise identical to the JavaScript path", () => {
  const n = 203; // several blocks and a ragged edge
  const a = randomSpd(n, 99);
  const arena = simdArena(n * n + potrfWorkSize(n));
  if (!arena) return; // no WebAssembly SIMD here: nothing to compare
  const w = arena.alloc(n * n);
  w.set(a);
  assert.equal(potrf(w, n, 0, n, arena.alloc(potrfWorkSize(n)), arena.kernels), -1);
  assert.equal(potrf(a, n), -1);
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) assert.equal(w[j * n + i], a[j * n + i]);
  }
});

Deno.test("objective with and without SIMD agree exactly (dense block of order 103)", () => {
  const d = synthetic(
    600,
    21,
    (i, u) => ({ g: [`a${i % 150}`, `b${Math.floor(u() * 100)}`], x: u() }),
    (
      [a, b],
      x,
    ) => [
      reTerm("a", a, [["(Intercept)", ones(x.length)]]),
      reTerm("b", b, [["(Intercept)", ones(x.length)]]),
    ],
  );
  const fast = buildLmm(d.x, d.y, d.terms, { tail: "dense" });
  const plain = buildLmm(d.x, d.y, d.terms, { simd: false, tail: "dense" });
  assert.equal(fast.denseOrder, 103);
  for (const theta of [[1, 1], [0.3, 2], [0, 0.5]]) {
    assert.equal(fast.objective(theta, true), plain.objective(theta, true));
  }
});

Deno.test("potrf reports the first non-positive pivot and leaves its value", () => {
  const a = Float64Array.of(4, 2, 2, 1); // [[4,2],[2,1]]: singular
  assert.equal(potf2(a, 2), 1);
  close(a[3], 0, 0, 1e-15, "Schur complement");
});

Deno.test("trtriLower and crossprodLower give (L Lᵀ)⁻¹", () => {
  const n = 70;
  const a = randomSpd(n, 3);
  const l = a.slice();
  potrf(l, n);
  for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) l[j * n + i] = 0;
  trtriLower(l, n, 0, n);
  const inv = new Float64Array(n * n);
  crossprodLower(l, n, 0, n, inv);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      let t = 0;
      for (let k = 0; k < n; k++) t += a[k * n + i] * inv[j * n + k];
      close(t, i === j ? 1 : 0, 1e-12, 1, `A·A⁻¹ (${i},${j})`);
    }
  }
});

// ----------------------------------------- synthetic designs vs dense math

/** Seeded uniform(0,1). */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** Plain dense Cholesky (reference, independent of lib/linalg). */
function refChol(a: number[][]): number[][] {
  const n = a.length;
  const l = a.map(() => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    let d = a[j][j];
    for (let k = 0; k < j; k++) d -= l[j][k] ** 2;
    l[j][j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = s / l[j][j];
    }
  }
  return l;
}

/** Solve (L Lᵀ) x = b for each column of b. */
function refSolve(l: number[][], b: number[][]): number[][] {
  const n = l.length;
  return b[0].map((_, c) => {
    const x = b.map((r) => r[c]);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < i; k++) x[i] -= l[i][k] * x[k];
      x[i] /= l[i][i];
    }
    for (let i = n - 1; i >= 0; i--) {
      for (let k = i + 1; k < n; k++) x[i] -= l[k][i] * x[k];
      x[i] /= l[i][i];
    }
    return x;
  }).reduce((rows: number[][], col, c) => {
    col.forEach((v, i) => ((rows[i] ??= [])[c] = v));
    return rows;
  }, []);
}

/**
 * The criterion, β and conditional variances by brute force: V = I + ZΛΛᵀZᵀ
 * (n × n), GLS for β, r² = (y − Xβ)ᵀV⁻¹(y − Xβ) (which equals the penalized
 * RSS), log|V| = log|ΛᵀZᵀZΛ + I| (determinant lemma) and
 * condVar = σ²Λ(ΛᵀZᵀZΛ + I)⁻¹Λᵀ.
 */
function bruteForce(d: Design, theta: number[], reml: boolean) {
  const { n, p } = d.x;
  const lmm = buildLmm(d.x, d.y, d.terms);
  // dense ZΛ in lme4's column order
  const zl: number[][] = Array.from({ length: n }, () => new Array<number>(lmm.q).fill(0));
  for (const t of lmm.terms) {
    const q = t.q;
    const T = new Array<number>(q * q).fill(0);
    let at = t.thetaOffset;
    for (let j = 0; j < q; j++) for (let i = j; i < q; i++) T[j * q + i] = theta[at++];
    for (let i = 0; i < n; i++) {
      const l = t.term.index[i];
      for (let c = 0; c < q; c++) {
        let s = 0;
        for (let r = c; r < q; r++) s += t.term.z[i * q + r] * T[c * q + r];
        zl[i][t.zOffset + l * q + c] = s;
      }
    }
  }
  const v = zl.map((ri, i) =>
    zl.map((rj, j) => ri.reduce((s, x, k) => s + x * rj[k], 0) + (i === j ? 1 : 0))
  );
  const lv = refChol(v);
  const ldV = 2 * lv.reduce((s, r, i) => s + Math.log(r[i]), 0);
  const xm = Array.from(
    { length: n },
    (_, i) => Array.from({ length: p }, (_, j) => d.x.x[j * n + i]),
  );
  const vix = refSolve(lv, xm);
  const viy = refSolve(lv, Array.from(d.y, (y) => [y])).map((r) => r[0]);
  const xtvx = xm[0].map((_, a) =>
    xm[0].map((_, b) => xm.reduce((s, r, i) => s + r[a] * vix[i][b], 0))
  );
  const xtvy = xm[0].map((_, a) => xm.reduce((s, r, i) => s + r[a] * viy[i], 0));
  const lx = refChol(xtvx);
  const beta = refSolve(lx, xtvy.map((v) => [v])).map((r) => r[0]);
  const res = Array.from(d.y, (y, i) => y - xm[i].reduce((s, x, j) => s + x * beta[j], 0));
  const vires = refSolve(lv, res.map((r) => [r])).map((r) => r[0]);
  const r2 = res.reduce((s, r, i) => s + r * vires[i], 0);
  const ldRX2 = 2 * lx.reduce((s, r, i) => s + Math.log(r[i]), 0);
  const crit = reml
    ? ldV + ldRX2 + (n - p) * (1 + Math.log((2 * Math.PI * r2) / (n - p)))
    : ldV + n * (1 + Math.log((2 * Math.PI * r2) / n));
  // (ΛᵀZᵀZΛ + I)⁻¹
  const q = lmm.q;
  const m = Array.from(
    { length: q },
    (_, a) =>
      Array.from(
        { length: q },
        (_, b) => zl.reduce((s, r) => s + r[a] * r[b], 0) + (a === b ? 1 : 0),
      ),
  );
  const minv = refSolve(refChol(m), m.map((_, i) => m.map((_, j) => (i === j ? 1 : 0))));
  return { crit, beta, r2, minv, lmm };
}

/** A synthetic data set with `n` rows and the given grouping factors. */
function synthetic(
  n: number,
  seed: number,
  make: (i: number, u: () => number) => { g: string[]; x: number },
  terms: (f: Factor[], x: Float64Array) => ReTerm[],
): Design {
  const u = rng(seed);
  const rows = Array.from({ length: n }, (_, i) => make(i, u));
  const x = Float64Array.from(rows, (r) => r.x);
  const fs = rows[0].g.map((_, k) => factor(rows.map((r) => r.g[k])));
  const y = Float64Array.from(rows, (r, i) => 3 + 2 * r.x + Math.sin(i) * 2 + u());
  return {
    x: fixed([["(Intercept)", ones(n)], ["x", x]]),
    y,
    terms: terms(fs, x),
  };
}

/** label, design, θ, expected order of the dense block (which terms stay sparse). */
const synthCases: [string, Design, number[], number][] = [
  [
    // crossed: slopes on the largest factor, intercepts + slopes in the dense tail
    "crossed, q>1 in head and tail",
    synthetic(
      90,
      11,
      (i, u) => ({
        g: [`a${i % 12}`, `b${Math.floor(u() * 4)}`, `c${Math.floor(u() * 3)}`],
        x: u() * 4,
      }),
      (
        [a, b, c],
        x,
      ) => [
        reTerm("a", a, [["(Intercept)", ones(x.length)], ["x", x]]),
        reTerm("b", b, [["(Intercept)", ones(x.length)]]),
        reTerm("c", c, [["(Intercept)", ones(x.length)], ["x", x]]),
      ],
    ),
    [0.8, 0.2, 0.5, 1.3, 0.6, -0.3, 0.4],
    4 + 3 * 2 + 3, // b and c dense, plus [X y]
  ],
  [
    // a nested in b (both stay block diagonal: a two-term head), c crossed
    "nested head + crossed tail",
    synthetic(
      80,
      5,
      (i, u) => ({
        g: [`a${i % 20}`, `b${(i % 20) % 5}`, `c${Math.floor(u() * 3)}`],
        x: u() * 2,
      }),
      (
        [a, b, c],
        x,
      ) => [
        reTerm("a", a, [["(Intercept)", ones(x.length)]]),
        reTerm("b", b, [["(Intercept)", ones(x.length)], ["x", x]]),
        reTerm("c", c, [["(Intercept)", ones(x.length)]]),
      ],
    ),
    [0.7, 1.1, -0.4, 0.9, 0.5],
    3 + 3, // only c dense
  ],
  [
    // (x || g) + crossed (1 | h)
    "same factor split + crossed",
    synthetic(60, 9, (i, u) => ({ g: [`g${i % 10}`, `h${i % 4}`], x: u() * 3 }), ([g, h], x) => [
      reTerm("g", g, [["(Intercept)", ones(x.length)]]),
      reTerm("g", g, [["x", x]]),
      reTerm("h", h, [["(Intercept)", ones(x.length)]]),
    ]),
    [1.2, 0.3, 0.8],
    4 + 3, // only h dense
  ],
];

// levels without observations (the design side should drop them, as lme4
// does; the core must still be right): empty block columns in the head
{
  const [, d, theta, order] = synthCases[1];
  const withUnused = (t: ReTerm): ReTerm => ({ ...t, levels: [...t.levels, "unused"] });
  synthCases.push([
    "unobserved levels",
    { ...d, terms: [withUnused(d.terms[0]), withUnused(d.terms[1]), d.terms[2]] },
    theta,
    order,
  ]);
}

for (const [label, d, theta, order] of synthCases) {
  Deno.test(`lmer core vs dense brute force: ${label}`, () => {
    for (const reml of [true, false]) {
      const ref = bruteForce(d, theta, reml);
      const lmm = ref.lmm;
      assert.equal(lmm.denseOrder, order, "terms kept sparse");
      // both routes are exact up to rounding on well-conditioned small systems
      close(lmm.objective(theta, reml), ref.crit, 1e-11, 0, `${label} criterion`);
      close(lmm.parts(theta).pwrss, ref.r2, 1e-10, 0, `${label} r2`);
      const s = lmm.solve(theta, reml);
      ref.beta.forEach((b, j) => close(s.beta[j], b, 1e-9, 1, `${label} beta ${j}`));
      const s2 = s.sigma ** 2;
      for (const t of lmm.terms) {
        const cv = s.ranef.find((r) => r.info === t)!.condVar;
        const q = t.q;
        const T = new Array<number>(q * q).fill(0);
        let at = t.thetaOffset;
        for (let j = 0; j < q; j++) for (let i = j; i < q; i++) T[j * q + i] = theta[at++];
        for (let l = 0; l < t.nLevels; l++) {
          const o = t.zOffset + l * q;
          for (let r = 0; r < q; r++) {
            for (let c = 0; c < q; c++) {
              let e = 0;
              for (let a = 0; a < q; a++) {
                for (let b = 0; b < q; b++) {
                  e += T[a * q + r] * ref.minv[o + a][o + b] * T[b * q + c];
                }
              }
              close(
                cv[l * q * q + c * q + r],
                s2 * e,
                1e-9,
                s2 * 1e-6,
                `${label} condVar ${t.group} ${l}`,
              );
            }
          }
        }
      }
    }
  });
}
