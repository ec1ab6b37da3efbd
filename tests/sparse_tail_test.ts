/**
 * The sparse factorization of the crossed terms' block (the tail) against
 * the dense one: the criterion, β, u, σ, the random effects and their
 * conditional sds must agree to rounding whichever path factors the tail
 * (the sparse path permutes the tail's Z columns; everything that reads the
 * factor has to undo that). The path is forced here; which one `"auto"`
 * takes is a deterministic flop count, asserted for a few designs.
 */
import assert from "node:assert/strict";
import { dataset, lmer, rng } from "../mod.ts";
import type { DataLike } from "../mod.ts";
import { buildLmm, type Lmm, type TailMode } from "../lib/models/lmer/core.ts";
import { lFormula, type LmerDevfun, optimizeLmer } from "../lib/models/lmer/fit.ts";
import { BitGraph, minimumDegreeOrder } from "../lib/linalg/min_degree.ts";
import { RefitCore } from "../lib/models/lmer/refit.ts";
import { starData } from "./helpers/simData.ts";

function build(formula: string, data: DataLike, tail: TailMode): Lmm {
  const lf = lFormula(formula, data);
  return buildLmm(lf.x, lf.mf.y, lf.mf.random, { tail });
}

function close(a: number, b: number, rel: number, label: string): void {
  const tol = rel * Math.max(1, Math.abs(b));
  assert.ok(Math.abs(a - b) <= tol, `${label}: ${a} vs ${b} (|Δ| ${Math.abs(a - b)})`);
}

function closeAll(a: ArrayLike<number>, b: ArrayLike<number>, rel: number, label: string): void {
  assert.equal(a.length, b.length, `${label}: length`);
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) {
    assert.ok(
      Math.abs(a[i] - b[i]) <= rel * scale,
      `${label}[${i}]: ${a[i]} vs ${b[i]}`,
    );
  }
}

/** Compare the sparse and dense paths at some θ and after fitting both. */
function compare(
  label: string,
  formula: string,
  data: DataLike,
  thetas: number[][],
  modes: TailMode[] = ["sparse"],
  fit = true,
): void {
  const dense = build(formula, data, "dense");
  assert.equal(dense.sparseTail, false);
  for (const mode of modes) {
    const sparse = build(formula, data, mode);
    assert.ok(sparse.sparseTail, `${label}: ${mode} path taken`);
    for (const reml of [true, false]) {
      for (const theta of thetas) {
        const at = `${label} ${mode} θ=${theta} ${reml ? "REML" : "ML"}`;
        close(
          sparse.objective(theta, reml),
          dense.objective(theta, reml),
          1e-10,
          `${at} criterion`,
        );
        const s = sparse.solve(theta, reml), d = dense.solve(theta, reml);
        closeAll(s.beta, d.beta, 1e-9, `${at} beta`);
        close(s.sigma, d.sigma, 1e-10, `${at} sigma`);
        closeAll(s.u, d.u, 1e-9, `${at} u`);
        closeAll(s.b, d.b, 1e-9, `${at} b`);
        closeAll(s.vcov, d.vcov, 1e-9, `${at} vcov`);
        closeAll(s.fitted, d.fitted, 1e-9, `${at} fitted`);
        for (let k = 0; k < d.ranef.length; k++) {
          closeAll(s.ranef[k].b, d.ranef[k].b, 1e-9, `${at} ranef ${k}`);
          closeAll(s.ranef[k].condSd, d.ranef[k].condSd, 1e-9, `${at} condSd ${k}`);
          closeAll(s.ranef[k].condVar, d.ranef[k].condVar, 1e-9, `${at} condVar ${k}`);
        }
        close(s.devcomp.ldL2, d.devcomp.ldL2, 1e-10, `${at} ldL2`);
      }
    }
    if (!fit) continue;
    // fits: the same optimum
    const frame = lFormula(formula, data);
    const devfun = (lmm: Lmm): LmerDevfun =>
      Object.assign((th: ArrayLike<number>) => lmm.objective(th, false), {
        lmm,
        reml: false,
        frame,
      });
    const fs = optimizeLmer(devfun(sparse)), fd = optimizeLmer(devfun(dense));
    close(fs.fmin, fd.fmin, 1e-10, `${label} ${mode} fitted criterion`);
    closeAll(fs.theta, fd.theta, 1e-7, `${label} ${mode} fitted θ`);
  }
}

/** Three crossed factors (and a random slope on one), random pairing. */
function crossed3(n: number, la: number, lb: number, lc: number, seed: number): DataLike {
  const r = rng(seed);
  const u = r.runif(4 * n), z = r.rnorm(la + lb + lc + n);
  const a: string[] = [], b: string[] = [], c: string[] = [];
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ia = i % la, ib = Math.floor(u[i] * lb), ic = Math.floor(u[n + i] * lc);
    a.push(`a${ia}`), b.push(`b${ib}`), c.push(`c${ic}`);
    x[i] = u[2 * n + i] - 0.5;
    y[i] = 1 + 2 * x[i] + z[ia] + 0.7 * z[la + ib] * (1 + x[i]) + 0.5 * z[la + lb + ic] +
      0.3 * z[la + lb + lc + i];
  }
  return { y, x, a, b, c };
}

/** A star-like subset: the rows of mlmRev's star in its first 12 schools. */
function starSubset(): Promise<DataLike> {
  return starData((f) => Number(f[6]) <= 12);
}

Deno.test("sparse tail = dense tail: Penicillin (1 | plate) + (1 | sample)", () => {
  compare(
    "Penicillin",
    "diameter ~ 1 + (1 | plate) + (1 | sample)",
    dataset("Penicillin"),
    [[1, 1], [0.5, 2.3], [1.5, 0]],
  );
});

Deno.test("sparse tail = dense tail: three crossed factors", () => {
  const d = crossed3(1500, 300, 60, 25, 5);
  compare("crossed3", "y ~ x + (1 | a) + (1 | b) + (1 | c)", d, [[1, 0.7, 0.5], [0.2, 1.9, 0]]);
  // a random slope in the tail (q = 2 blocks): at fixed θ only (a 5-parameter
  // fit's stopping point moves with the rounding of either path)
  compare(
    "crossed3 slope",
    "y ~ x + (1 | a) + (1 + x | b) + (1 | c)",
    d,
    [[1, 0.7, 0.2, 0.5, 0.6], [0.4, 1.2, -0.3, 0.9, 1.5]],
    ["sparse"],
    false,
  );
});

Deno.test("sparse tail = dense tail: star subset (1 | id) + (1 | tch) + (1 | sch)", async () => {
  const d = await starSubset();
  const f = "math ~ gr + cltype + sx + (1 | id) + (1 | tch) + (1 | sch)";
  compare("star subset", f, d, [[1.6, 0.86, 0.69], [0.3, 2, 0.1]], ["sparse", "auto"]);
});

Deno.test("sparse tail: automatic choice by flop count", async () => {
  const f = "math ~ gr + cltype + sx + (1 | id) + (1 | tch) + (1 | sch)";
  const star = build(f, await starSubset(), "auto");
  assert.ok(star.sparseTail, "star: teachers within schools stay sparse");
  const pen = build("diameter ~ 1 + (1 | plate) + (1 | sample)", dataset("Penicillin"), "auto");
  assert.equal(pen.sparseTail, false, "Penicillin: a 6 × 6 dense tail");
});

Deno.test("sparse tail: refits read β and (R_XᵀR_X)⁻¹ off the sparse path's dense block", async () => {
  const d = await starSubset();
  const f = "math ~ gr + cltype + sx + (1 | id) + (1 | tch) + (1 | sch)";
  const m = lmer(f, d, { REML: false });
  const core = RefitCore.fromModel(m);
  close(core.objective(m.theta, false), m.solution.objective, 1e-10, "criterion");
  closeAll(core.beta(), m.solution.beta, 1e-9, "beta");
  const cov = core.fixedCovUnscaled(m.theta);
  const s2 = m.solution.sigma ** 2;
  closeAll(cov.map((v) => v * s2), m.solution.vcov, 1e-8, "vcov");
});

Deno.test("minimum degree: a star graph eliminates its leaves first", () => {
  const g = new BitGraph(5);
  for (let i = 1; i < 5; i++) g.add(0, i);
  const o = minimumDegreeOrder(g, () => false);
  // then the hub and the last leaf tie at degree 1: the lower index goes first
  assert.deepEqual(Array.from(o.order), [1, 2, 3, 0, 4]);
  assert.equal(o.nSparse, 5);
  // each leaf's column holds itself and the hub (position 3): no fill
  assert.deepEqual(Array.from(o.colPtr), [0, 2, 4, 6, 8, 9]);
  assert.deepEqual(Array.from(o.rowIdx), [0, 3, 1, 3, 2, 3, 3, 4, 4]);
  const g2 = new BitGraph(4);
  g2.add(0, 1), g2.add(1, 2), g2.add(2, 3), g2.add(3, 0);
  const stopAt = minimumDegreeOrder(g2, (deg, left) => deg >= left - 1);
  // a 4-cycle: eliminating node 0 joins 1 and 3; then 3 nodes form a clique
  assert.equal(stopAt.nSparse, 1);
  assert.deepEqual(Array.from(stopAt.order), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(stopAt.rowIdx), [0, 1, 3]);
});
