/**
 * Tests of the BOBYQA optimizer (lib/optim).
 *
 * Reference values marked "NLopt" come from R 4.2.2 with nloptr 2.0.3 on
 * NLopt 2.7.1 (Debian bookworm), run with lme4's nloptwrap settings:
 *
 *   o <- list(algorithm = "NLOPT_LN_BOBYQA", xtol_abs = 1e-8,
 *             ftol_abs = 1e-8, maxeval = 1e5)   # + nloptr's xtol_rel = 1e-4
 *   r <- nloptr(x0, f, lb = lb, ub = ub, opts = o)
 *   sprintf("%.17g", r$solution); r$iterations; r$status
 *
 * with f written with scalar loops (R's sum() accumulates in long double).
 * Our implementation follows NLopt's arithmetic, so these runs agree to the
 * last bit and in the number of evaluations. Values marked "lme4" come from
 * lme4 1.1-31 fits (`getME(fit, "theta")`, `REMLcrit`, `optinfo$feval`).
 */
import assert from "node:assert/strict";
import { bobyqa, defaultInitialStep } from "../lib/optim/mod.ts";

/** The extended Rosenbrock function (pairs of coordinates). */
function rosenbrock(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i += 2) {
    s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  }
  return s;
}

const TIGHT = { xtolRel: 0, ftolAbs: 0, xtolAbs: 1e-10 };

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = "x",
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${what}[${i}] = ${actual[i]}, expected ${expected[i]} within ${tol}`,
    );
  }
}

Deno.test("Rosenbrock 2-D from (-1.2, 1): minimum to 1e-6, as NLopt", () => {
  const r = bobyqa(rosenbrock, [-1.2, 1], TIGHT);
  assertClose(r.x, [1, 1], 1e-6);
  assert.ok(r.fval < 1e-12);
  // NLopt with xtol_rel = 0, ftol_abs = 0, xtol_abs = 1e-10:
  assertClose(r.x, [0.99999999999954958, 0.99999999999909628], 1e-15);
  assert.equal(r.feval, 194);
  assert.equal(r.status, "xtol_reached");
  assert.equal(r.code, 4);
});

Deno.test("Rosenbrock 2-D with lme4's settings: NLopt's 169 evaluations", () => {
  const r = bobyqa(rosenbrock, [-1.2, 1]);
  assert.equal(r.feval, 169);
  assert.equal(r.status, "xtol_reached");
  assertClose(r.x, [1.000007912941713, 1.0000159180447032], 1e-15);
  assert.equal(r.fval, 6.3462862920128123e-11);
  // rhobeg = |x0[0]| = 1.2 after rescaling; rhoend = xtol_rel * rhobeg.
  assert.equal(r.settings.rhobeg, 1.2);
  assert.ok(Math.abs(r.settings.rhoend - 1.2e-4) < 1e-18);
  assert.match(r.message, /^NLOPT_XTOL_REACHED/);
});

Deno.test("Rosenbrock 4-D: minimum to 1e-6; default settings as NLopt", () => {
  const x0 = [-1.2, 1, -1.2, 1];
  const tight = bobyqa(rosenbrock, x0, TIGHT);
  assertClose(tight.x, [1, 1, 1, 1], 1e-6);
  assert.equal(tight.feval, 618);
  assertClose(
    tight.x,
    [0.99999999995776379, 0.9999999999161896, 1.0000000000319416, 1.0000000000632128],
    1e-15,
  );
  const dflt = bobyqa(rosenbrock, x0);
  assert.equal(dflt.feval, 481);
  assert.equal(dflt.status, "success");
  assert.equal(dflt.fval, 4.1231168154920924e-8);
});

Deno.test("active lower bound: the minimum is exactly on the bound", () => {
  const f = (x: Float64Array) => (x[0] + 1) ** 2 + (x[1] - 2) ** 2;
  const r = bobyqa(f, [1, 1], { lower: [0, -Infinity] });
  assert.equal(r.x[0], 0);
  assert.ok(Math.abs(r.x[1] - 2) < 1e-8);
  assert.equal(r.fval, 1);
  assert.equal(r.feval, 15); // NLopt: x = (0, 2), 15 evaluations
});

Deno.test("upper bounds and a box: minimum on the upper face", () => {
  const f = (x: Float64Array) => (x[0] - 3) ** 2 + (x[1] + 0.5) ** 2;
  const r = bobyqa(f, [0, 0], { lower: [-1, -1], upper: [2, 1] });
  assert.equal(r.x[0], 2);
  assert.ok(Math.abs(r.x[1] + 0.5) < 1e-6);
  for (let i = 0; i < 2; i++) assert.ok(r.x[i] >= -1 && r.x[i] <= [2, 1][i]);
});

Deno.test("one dimension: BOBYQA with npt = 3, as NLopt and lme4 run it", () => {
  const free = bobyqa((x) => (x[0] - 2) ** 2 + 1, [0]);
  assert.deepEqual(Array.from(free.x), [2]);
  assert.equal(free.fval, 1);
  assert.equal(free.feval, 10); // NLopt: 10
  const bounded = bobyqa((x) => (x[0] + 1) ** 2, [1], { lower: [0] });
  assert.deepEqual(Array.from(bounded.x), [0]);
  assert.equal(bounded.feval, 9); // NLopt: 9
});

Deno.test("flat direction: terminates, other coordinates right", () => {
  const f = (x: Float64Array) => (x[0] - 1) ** 2 + (x[2] + 2) ** 2;
  const r = bobyqa(f, [0, 0, 0]);
  assertClose(r.x, [1, 0, -2], 1e-8);
  assert.equal(r.fval, 0);
  assert.equal(r.feval, 31); // NLopt: 31
});

Deno.test("quadratic in 10-D: the exact minimiser, and NLopt's run", () => {
  // f = sum i (x_i - 1/i)^2 + 0.5 sum (x_i - x_{i+1})^2: solve grad f = 0.
  const n = 10;
  const f = (x: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s = s + (i + 1) * (x[i] - 1 / (i + 1)) ** 2;
    for (let i = 0; i < n - 1; i++) s = s + 0.5 * (x[i] - x[i + 1]) ** 2;
    return s;
  };
  const exact = solveTridiagonalMinimiser(n);
  const r = bobyqa(f, new Array(n).fill(0), TIGHT);
  assertClose(r.x, exact, 1e-7);
  const dflt = bobyqa(f, new Array(n).fill(0));
  assert.equal(dflt.feval, 71); // NLopt: 71
  assertClose(dflt.x, exact, 1e-4);
  assert.equal(dflt.x[0], 0.84402545763614945);
});

/** Minimiser of the 10-D test quadratic: a tridiagonal solve (Thomas). */
function solveTridiagonalMinimiser(n: number): number[] {
  // d/dx_i: 2 i (x_i - 1/i) + (x_i - x_{i-1}) + (x_i - x_{i+1}) = 0.
  const a = new Array(n).fill(-1), c = new Array(n).fill(-1);
  const b = Array.from({ length: n }, (_, i) => {
    return 2 * (i + 1) + (i > 0 ? 1 : 0) + (i < n - 1 ? 1 : 0);
  });
  const d = new Array(n).fill(2);
  for (let i = 1; i < n; i++) {
    const w = a[i] / b[i - 1];
    b[i] -= w * c[i - 1];
    d[i] -= w * d[i - 1];
  }
  const x = new Array(n).fill(0);
  x[n - 1] = d[n - 1] / b[n - 1];
  for (let i = n - 2; i >= 0; i--) x[i] = (d[i] - c[i] * x[i + 1]) / b[i];
  return x;
}

Deno.test("maxeval is honoured", () => {
  const r = bobyqa(rosenbrock, [-1.2, 1], { maxeval: 20 });
  assert.equal(r.feval, 20);
  assert.equal(r.status, "maxeval_reached");
  assert.equal(r.code, 5);
  assert.equal(r.fval, 4.0302535338068965); // NLopt: the best of the 20
  let calls = 0;
  bobyqa((x) => (calls++, rosenbrock(x)), [-1.2, 1], { maxeval: 3 });
  assert.equal(calls, 3); // even within the initial 2n + 1 points
});

Deno.test("ftol_abs stops after a tiny improvement, as NLopt", () => {
  const f = (x: Float64Array) => 1e-9 * ((x[0] - 1) ** 2 + (x[1] - 2) ** 2);
  const r = bobyqa(f, [0, 0]);
  assert.equal(r.status, "ftol_reached");
  assert.equal(r.feval, 6);
  assertClose(r.x, [0.70710678118654757, 1.7071067811865475], 0);
});

Deno.test("NaN in a region: no crash, converges around it", () => {
  // log of a negative number is NaN; the initial step 0.5 from 0.2 hits it.
  const f = (x: Float64Array) => (Math.log(x[0]) - 0.5) ** 2 + (x[1] - 1) ** 2;
  const r = bobyqa(f, [0.2, 3], { rhobeg: 0.5, xtolRel: 0, xtolAbs: 1e-9 });
  assert.ok(r.nonFiniteEvals >= 1);
  assert.ok(Number.isFinite(r.fval));
  assertClose(r.x, [Math.exp(0.5), 1], 1e-6);
});

Deno.test("Infinity in a region is treated like NaN", () => {
  // A hidden constraint x0 <= 0.9 cutting off the minimum (1, -1): the run
  // ends near the constrained minimum (0.9, -1), f = 0.01, without crashing.
  // (Hidden constraints are met only as a barrier, so only roughly.)
  const f = (x: Float64Array) => x[0] > 0.9 ? Infinity : (x[0] - 1) ** 2 + (x[1] + 1) ** 2;
  const r = bobyqa(f, [0, 0]);
  assert.ok(r.nonFiniteEvals >= 1);
  assert.ok(r.x[0] <= 0.9);
  assert.ok(Number.isFinite(r.fval) && r.fval < 0.0125);
  assertClose(r.x, [0.9, -1], 0.05);
});

Deno.test("f never finite: status failure, fval NaN; -Infinity stops", () => {
  const bad = bobyqa(() => NaN, [0, 0]);
  assert.equal(bad.status, "failure");
  assert.ok(Number.isNaN(bad.fval));
  assert.ok(bad.code < 0);
  const minf = bobyqa((x) => (x[0] > 0.5 ? -Infinity : x[0] ** 2), [0, 0]);
  assert.equal(minf.status, "stopval_reached");
  assert.equal(minf.fval, -Infinity);
  assert.ok(minf.x[0] > 0.5);
});

Deno.test("lme4-like shape: boundary optimum exactly 0, as NLopt", () => {
  // theta = (t11, t21, t22): t22 wants to be negative but is bounded by 0.
  const f = (x: Float64Array) =>
    (x[0] - 0.9) ** 2 * 3 + (x[1] - 0.3 * x[0]) ** 2 +
    2 * Math.log1p(x[2] ** 2) + 0.5 * x[2] ** 2 + 10;
  const r = bobyqa(f, [1, 0, 1], { lower: [0, -Infinity, 0] });
  assert.equal(r.x[2], 0);
  assertClose(r.x, [0.9, 0.27, 0], 5e-4);
  assert.equal(r.feval, 33); // NLopt: 33
  assertClose(r.x, [0.90000014048480326, 0.27000029577635148, 0], 1e-15);
  // The start heuristics of NLopt for this start: 0.75 for a diagonal
  // element (3/4 of the distance to its bound 0), 1 for an off-diagonal.
  assert.deepEqual(Array.from(r.settings.initialStep), [0.75, 1, 0.75]);
  assert.equal(r.settings.rhobeg, 0.75);
  assert.ok(Math.abs(r.settings.rhoend - 7.5e-5) < 1e-18);
});

Deno.test("a 20-D problem with a finite box, as NLopt", () => {
  const n = 20;
  const trid = (x: Float64Array) => {
    let a = 0, b = 0;
    for (let i = 0; i < n; i++) a = a + (x[i] - 1) ** 2;
    for (let i = 1; i < n; i++) b = b + x[i] * x[i - 1];
    return a - b;
  };
  const r = bobyqa(trid, new Array(n).fill(0), {
    lower: new Array(n).fill(-400),
    upper: new Array(n).fill(400),
  });
  assert.equal(r.feval, 625); // NLopt: 625, f = -1519.9999631701212
  assert.equal(r.fval, -1519.9999631701212);
  // The minimiser is x_i = i (n + 1 - i), f = -n (n + 4) (n - 1) / 6.
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(r.x[i] - (i + 1) * (n - i)) < 0.02);
  }
});

Deno.test("many RESCUE calls near machine precision, as NLopt", () => {
  // Powell's singular function run to xtol_abs = 1e-16: rounding errors
  // damage H eight times; NLopt's RESCUE path gives these exact numbers.
  const f = (x: Float64Array) =>
    (x[0] + 10 * x[1]) ** 2 + 5 * (x[2] - x[3]) ** 2 +
    (x[1] - 2 * x[2]) ** 4 + 10 * (x[0] - x[3]) ** 4;
  const r = bobyqa(f, [3, -1, 0, 1], {
    xtolRel: 0,
    ftolAbs: 0,
    xtolAbs: 1e-16,
  });
  assert.equal(r.feval, 2159);
  assert.equal(r.fval, 1.1040661477760926e-25);
  assert.equal(r.status, "xtol_reached");
});

Deno.test("coordinates with lower == upper are held fixed (NLopt elimdim)", () => {
  const seen: number[] = [];
  const f = (x: Float64Array) => {
    seen.push(x[1]);
    return (x[0] + 1) ** 2 + (x[1] - 2) ** 2 + (x[2] - 3) ** 2;
  };
  const r = bobyqa(f, [1, 1, 1], { lower: [0, 1, -Infinity], upper: [Infinity, 1, Infinity] });
  assert.deepEqual(Array.from(r.x), [0, 1, 3]);
  assert.equal(r.fval, 2);
  assert.equal(r.feval, 16); // NLopt: 16
  assert.ok(seen.every((v) => v === 1));
  const allFixed = bobyqa((x) => x[0] + x[1], [1, 2], { lower: [1, 2], upper: [1, 2] });
  assert.equal(allFixed.feval, 1);
  assert.equal(allFixed.fval, 3);
});

Deno.test("the start is moved to a bound or rhobeg inside it (Powell)", () => {
  const first: number[][] = [];
  const f = (x: Float64Array) => {
    if (first.length === 0) first.push(Array.from(x));
    return (x[0] - 1) ** 2 + (x[1] - 3) ** 2 + (x[2] + 1) ** 2 + x[3] ** 2;
  };
  // With rhobeg 0.5: 0.1 above the lower bound 0 goes to 0.5; 0.3 below the
  // upper bound 2 goes to 1.5; 0.05 below the upper bound 0 goes to -0.5;
  // a start on a bound stays there.
  bobyqa(f, [0.1, 1.7, -0.05, 0], {
    lower: [0, -Infinity, -3, 0],
    upper: [Infinity, 2, 0, Infinity],
    rhobeg: 0.5,
  });
  assert.deepEqual(first[0], [0.5, 1.5, -0.5, 0]);
});

Deno.test("every evaluated point is within the bounds", () => {
  const lower = [0, -1, -Infinity, 0.25];
  const upper = [Infinity, 1.5, 0.5, 1.25];
  const f = (x: Float64Array) => {
    for (let i = 0; i < 4; i++) {
      assert.ok(x[i] >= lower[i] && x[i] <= upper[i], `x[${i}] = ${x[i]}`);
    }
    return (x[0] + 1) ** 2 + (x[1] - 3) ** 2 + (x[2] - 2) ** 2 +
      (x[3] - 0.3) ** 2 + x[0] * x[3];
  };
  const r = bobyqa(f, [1, 0, 0, 1], { lower, upper });
  assertClose(r.x, [0, 1.5, 0.5, 0.3], 1e-4);
});

Deno.test("NLopt's default initial step heuristic", () => {
  const inf = Infinity;
  assert.deepEqual(
    Array.from(defaultInitialStep([1, 0, 1], [0, -inf, 0], [inf, inf, inf])),
    [0.75, 1, 0.75],
  );
  // Unbounded: |x| (sign kept), or 1 at 0; on a bound: 1; in a box: a
  // quarter of its width unless a bound is nearer.
  assert.deepEqual(
    Array.from(
      defaultInitialStep(
        [-1.2, 0, 0, 0, 3.9],
        [-inf, -inf, 0, -400, 0],
        [inf, inf, inf, 400, 4],
      ),
    ),
    [-1.2, 1, 1, 200, (4 - 3.9) * 0.75],
  );
});

Deno.test("invalid arguments throw RangeError", () => {
  const f = (x: Float64Array) => x[0] ** 2;
  assert.throws(() => bobyqa(f, [-1], { lower: [0] }), RangeError);
  assert.throws(() => bobyqa(f, [0], { lower: [1], upper: [0] }), RangeError);
  assert.throws(() => bobyqa(f, [0, 0], { lower: [0] }), RangeError);
  assert.throws(
    () => bobyqa(f, [0], { lower: [0], upper: [0.5], rhobeg: 1 }),
    RangeError,
  );
});

Deno.test("settings record what was used", () => {
  const r = bobyqa((x) => x[0] ** 2 + x[1] ** 2, [1, 1], { maxeval: 500 });
  const s = r.settings;
  assert.equal(s.algorithm, "BOBYQA");
  assert.equal(s.npt, 5);
  assert.equal(s.maxeval, 500);
  assert.equal(s.ftolAbs, 1e-8);
  assert.equal(s.xtolRel, 1e-4);
  assert.deepEqual(Array.from(s.xtolAbs), [1e-8, 1e-8]);
  assert.deepEqual(Array.from(s.lower), [-Infinity, -Infinity]);
});

// ---------------------------------------------------------------------------
// lme4's profiled criteria on real data: the optimizer should reproduce
// lme4's fits (theta within 5e-4, criterion to 1e-7 relative), and here it
// does to ~1e-8 with lme4's exact numbers of evaluations.

/**
 * The profiled REML or ML criterion of a linear mixed model with one
 * grouping factor, computed densely from the mixed model equations
 * (small problems only): M = [L'Z'ZL + I, L'Z'X; X'ZL, X'X] = R'R.
 */
function lmmCriterion(
  y: number[],
  x: number[][],
  z: number[][],
  group: number[],
  nLevels: number,
  reml: boolean,
): (theta: Float64Array) => number {
  const n = y.length, p = x[0].length, q = z[0].length;
  const qt = nLevels * q, m = qt + p;
  return (theta) => {
    const lambda = new Float64Array(q * q); // lower triangle, column-major θ
    for (let j = 0, t = 0; j < q; j++) {
      for (let i = j; i < q; i++) lambda[i * q + j] = theta[t++];
    }
    const mm = new Float64Array(m * m), rhs = new Float64Array(m);
    const row = new Float64Array(m);
    let yy = 0;
    for (let r = 0; r < n; r++) {
      row.fill(0);
      for (let j = 0; j < q; j++) {
        let s = 0;
        for (let i = 0; i < q; i++) s += z[r][i] * lambda[i * q + j];
        row[group[r] * q + j] = s;
      }
      for (let j = 0; j < p; j++) row[qt + j] = x[r][j];
      for (let a = 0; a < m; a++) {
        if (row[a] === 0) continue;
        rhs[a] += row[a] * y[r];
        for (let b = 0; b < m; b++) mm[a * m + b] += row[a] * row[b];
      }
      yy += y[r] * y[r];
    }
    for (let a = 0; a < qt; a++) mm[a * m + a] += 1;
    for (let j = 0; j < m; j++) { // Cholesky, lower triangle in place
      let s = mm[j * m + j];
      for (let k = 0; k < j; k++) s -= mm[j * m + k] ** 2;
      mm[j * m + j] = Math.sqrt(s);
      for (let i = j + 1; i < m; i++) {
        let v = mm[i * m + j];
        for (let k = 0; k < j; k++) v -= mm[i * m + k] * mm[j * m + k];
        mm[i * m + j] = v / mm[j * m + j];
      }
    }
    let fitted = 0;
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let v = rhs[i];
      for (let k = 0; k < i; k++) v -= mm[i * m + k] * c[k];
      c[i] = v / mm[i * m + i];
      fitted += c[i] * c[i];
    }
    const r2 = yy - fitted; // penalized residual sum of squares
    let logdetL = 0, logdetRX = 0;
    for (let i = 0; i < qt; i++) logdetL += 2 * Math.log(mm[i * m + i]);
    for (let i = qt; i < m; i++) logdetRX += 2 * Math.log(mm[i * m + i]);
    if (!reml) return logdetL + n * (1 + Math.log((2 * Math.PI * r2) / n));
    const nu = n - p;
    return logdetL + logdetRX + nu * (1 + Math.log((2 * Math.PI * r2) / nu));
  };
}

// lme4's sleepstudy: Reaction, 18 subjects x days 0..9, in row order.
const REACTION = [
  249.56,
  258.7047,
  250.8006,
  321.4398,
  356.8519,
  414.6901,
  382.2038,
  290.1486,
  430.5853,
  466.3535,
  222.7339,
  205.2658,
  202.9778,
  204.707,
  207.7161,
  215.9618,
  213.6303,
  217.7272,
  224.2957,
  237.3142,
  199.0539,
  194.3322,
  234.32,
  232.8416,
  229.3074,
  220.4579,
  235.4208,
  255.7511,
  261.0125,
  247.5153,
  321.5426,
  300.4002,
  283.8565,
  285.133,
  285.7973,
  297.5855,
  280.2396,
  318.2613,
  305.3495,
  354.0487,
  287.6079,
  285,
  301.8206,
  320.1153,
  316.2773,
  293.3187,
  290.075,
  334.8177,
  293.7469,
  371.5811,
  234.8606,
  242.8118,
  272.9613,
  309.7688,
  317.4629,
  309.9976,
  454.1619,
  346.8311,
  330.3003,
  253.8644,
  283.8424,
  289.555,
  276.7693,
  299.8097,
  297.171,
  338.1665,
  332.0265,
  348.8399,
  333.36,
  362.0428,
  265.4731,
  276.2012,
  243.3647,
  254.6723,
  279.0244,
  284.1912,
  305.5248,
  331.5229,
  335.7469,
  377.299,
  241.6083,
  273.9472,
  254.4907,
  270.8021,
  251.4519,
  254.6362,
  245.4523,
  235.311,
  235.7541,
  237.2466,
  312.3666,
  313.8058,
  291.6112,
  346.1222,
  365.7324,
  391.8385,
  404.2601,
  416.6923,
  455.8643,
  458.9167,
  236.1032,
  230.3167,
  238.9256,
  254.922,
  250.7103,
  269.7744,
  281.5648,
  308.102,
  336.2806,
  351.6451,
  256.2968,
  243.4543,
  256.2046,
  255.5271,
  268.9165,
  329.7247,
  379.4445,
  362.9184,
  394.4872,
  389.0527,
  250.5265,
  300.0576,
  269.8939,
  280.5891,
  271.8274,
  304.6336,
  287.7466,
  266.5955,
  321.5418,
  347.5655,
  221.6771,
  298.1939,
  326.8785,
  346.8555,
  348.7402,
  352.8287,
  354.4266,
  360.4326,
  375.6406,
  388.5417,
  271.9235,
  268.4369,
  257.2424,
  277.6566,
  314.8222,
  317.2135,
  298.1353,
  348.1229,
  340.28,
  366.5131,
  225.264,
  234.5235,
  238.9008,
  240.473,
  267.5373,
  344.1937,
  281.1481,
  347.5855,
  365.163,
  372.2288,
  269.8804,
  272.4428,
  277.8989,
  281.7895,
  279.1705,
  284.512,
  259.2658,
  304.6306,
  350.7807,
  369.4692,
  269.4117,
  273.474,
  297.5968,
  310.6316,
  287.1726,
  329.6076,
  334.4818,
  343.2199,
  369.1417,
  364.1236,
];
const DAYS_X = REACTION.map((_, i) => [1, i % 10]);
const SUBJECT = REACTION.map((_, i) => Math.floor(i / 10));

Deno.test("sleepstudy (Days | Subject), REML: lme4's fit", () => {
  const dev = lmmCriterion(REACTION, DAYS_X, DAYS_X, SUBJECT, 18, true);
  // lme4's devfun at the start (1, 0, 1): 1773.6803306160002.
  assert.ok(Math.abs(dev(Float64Array.of(1, 0, 1)) - 1773.6803306160002) < 1e-9);
  const r = bobyqa(dev, [1, 0, 1], { lower: [0, -Infinity, 0] });
  const theta = [0.96674177396741234, 0.015169058896036137, 0.23090995320779453];
  assertClose(r.x, theta, 1e-7, "theta");
  assert.ok(Math.abs(r.fval / 1743.6282719599519 - 1) < 1e-12);
  assert.equal(r.feval, 43); // lme4: optinfo$feval = 43
  assert.equal(r.status, "xtol_reached"); // lme4: NLOPT_XTOL_REACHED
});

Deno.test("sleepstudy (Days | Subject), ML: lme4's fit", () => {
  const dev = lmmCriterion(REACTION, DAYS_X, DAYS_X, SUBJECT, 18, false);
  const r = bobyqa(dev, [1, 0, 1], { lower: [0, -Infinity, 0] });
  const theta = [0.92919060527824848, 0.018165754720411969, 0.22264320561261811];
  assertClose(r.x, theta, 1e-7, "theta");
  assert.ok(Math.abs(r.fval / 1751.9393444889909 - 1) < 1e-12);
  assert.equal(r.feval, 53); // lme4: 53
  assert.equal(r.status, "success"); // lme4: NLOPT_SUCCESS
});

Deno.test("Dyestuff and Dyestuff2 (1 | Batch): one theta, lme4's fits", () => {
  // lme4 starts a model with only (1 | g) terms at theta = sqrt(v / v.e),
  // v = var(ave(y, g)), v.e = var(y) - v (mkLmerDevfun); those starts are
  // used here: 0.97876050342587007 and 0.34088338593018469.
  const batch = Array.from({ length: 30 }, (_, i) => Math.floor(i / 5));
  const one = batch.map(() => [1]);
  const dyestuff = [
    1545,
    1440,
    1440,
    1520,
    1580,
    1540,
    1555,
    1490,
    1560,
    1495,
    1595,
    1550,
    1605,
    1510,
    1560,
    1445,
    1440,
    1595,
    1465,
    1545,
    1595,
    1630,
    1515,
    1635,
    1625,
    1520,
    1455,
    1450,
    1480,
    1445,
  ];
  const r = bobyqa(
    lmmCriterion(dyestuff, one, one, batch, 6, true),
    [0.97876050342587007],
    { lower: [0] },
  );
  assertClose(r.x, [0.84832378321882296], 1e-7, "theta");
  assert.ok(Math.abs(r.fval / 319.65427684225739 - 1) < 1e-12);
  assert.equal(r.feval, 17); // lme4: 17

  const dyestuff2 = [
    7.298,
    3.846,
    2.434,
    9.566,
    7.99,
    5.22,
    6.556,
    0.608,
    11.788,
    -0.892,
    0.11,
    10.386,
    13.434,
    5.51,
    8.166,
    2.212,
    4.852,
    7.092,
    9.288,
    4.98,
    0.282,
    9.014,
    4.458,
    9.446,
    7.198,
    1.722,
    4.782,
    8.106,
    0.758,
    3.758,
  ];
  const r2 = bobyqa(
    lmmCriterion(dyestuff2, one, one, batch, 6, true),
    [0.34088338593018469],
    { lower: [0] },
  );
  assert.equal(r2.x[0], 0); // a singular fit: exactly on the boundary
  assert.ok(Math.abs(r2.fval / 161.82827781228843 - 1) < 1e-12);
  assert.equal(r2.feval, 10); // lme4: 10
});
