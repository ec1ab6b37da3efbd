/**
 * The weighted cross-products each PIRLS step refills
 * (lib/models/glmer/wsystem.ts) against a plain reference: one loop over
 * the rows that adds every weighted product to its entry in row order.
 * The refill has specialized passes (FᵀWF several pairs at a time or all
 * at once for up to three columns, mostly-zero X columns over their
 * non-zero rows, terms whose rows come grouped by level, random slopes),
 * each meant to give the same sums; the designs below take each of them.
 * FᵀWF is Σ (w F_rr)·F_c in row order in every pass, so it must agree to
 * the bit; the random-effects blocks form some products in another
 * association on some paths, so they agree within 1e-13 relative.
 */
import assert from "node:assert/strict";
import type { FixedDesign, ReTerm } from "../lib/design/reterm.ts";
import { findBlock } from "../lib/models/lmer/cholesky.ts";
import type { CrossProducts } from "../lib/models/lmer/crossprod.ts";
import { termInfo } from "../lib/models/lmer/structure.ts";
import { WeightedSystem } from "../lib/models/glmer/wsystem.ts";
import { rng } from "../mod.ts";

interface Design {
  x: FixedDesign;
  terms: ReTerm[];
}

/** A term over `nl` levels with q columns (intercept first unless `slopeOnly`). */
function term(
  group: string,
  index: Int32Array,
  nl: number,
  cols: Float64Array[],
  intercept: boolean,
): ReTerm {
  const n = index.length;
  const q = cols.length + (intercept ? 1 : 0);
  const z = new Float64Array(n * q);
  for (let r = 0; r < n; r++) {
    let c = 0;
    if (intercept) z[r * q + c++] = 1;
    for (const v of cols) z[r * q + c++] = v[r];
  }
  const cnames = [...(intercept ? ["(Intercept)"] : []), ...cols.map((_, i) => `x${i}`)];
  return {
    group,
    levels: Array.from({ length: nl }, (_, i) => `${group}${i}`),
    index,
    cnames,
    z,
  };
}

/** X with an intercept, `dense` normal columns and `dummy` 0/1 columns (20% ones). */
function design(n: number, dense: number, dummy: number, seed: number): FixedDesign {
  const r = rng(seed);
  const p = 1 + dense + dummy;
  const x = new Float64Array(n * p);
  x.fill(1, 0, n);
  for (let j = 0; j < dense; j++) x.set(r.rnorm(n), (1 + j) * n);
  for (let j = 0; j < dummy; j++) {
    x.set(Float64Array.from(r.runif(n), (u) => (u < 0.2 ? 1 : 0)), (1 + dense + j) * n);
  }
  return { x, n, p, names: Array.from({ length: p }, (_, j) => `c${j}`) };
}

const noX = (n: number): FixedDesign => ({ x: new Float64Array(0), n, p: 0, names: [] });

/** Levels in runs (rows grouped by level) or scattered. */
function levels(n: number, nl: number, grouped: boolean, seed: number): Int32Array {
  if (grouped) return Int32Array.from({ length: n }, (_, i) => Math.floor((i * nl) / n));
  const u = rng(seed).runif(n);
  return Int32Array.from(u, (v) => Math.min(nl - 1, Math.floor(v * nl)));
}

function designs(): [string, Design][] {
  const n = 3000;
  const r = rng(3);
  const s1 = r.rnorm(n), s2 = r.rnorm(n);
  const g = levels(n, 60, true, 0), h = levels(n, 25, false, 5), k = levels(n, 40, false, 6);
  const slope = (name: string, idx: Int32Array, nl: number) => term(name, idx, nl, [s1], true);
  return [
    ["random slopes, grouped rows, p = 2", {
      x: design(n, 1, 0, 1),
      terms: [slope("g", g, 60)],
    }],
    ["random slopes, grouped rows, β fixed", { x: noX(n), terms: [slope("g", g, 60)] }],
    ["random slopes, grouped rows, p = 3 with a dummy", {
      x: design(n, 1, 1, 3),
      terms: [slope("g", g, 60)],
    }],
    ["random slopes, scattered rows, p = 1", { x: design(n, 0, 0, 1), terms: [slope("h", h, 25)] }],
    ["random slopes, scattered rows, p = 3", { x: design(n, 2, 0, 2), terms: [slope("h", h, 25)] }],
    ["two crossed intercepts, dummies (mostly-zero columns)", {
      x: design(n, 1, 3, 4),
      terms: [term("g", g, 60, [], true), term("h", h, 25, [], true)],
    }],
    ["intercept and scalar slope terms, dummies, p = 6", {
      x: design(n, 3, 2, 7),
      terms: [term("h", h, 25, [], true), term("k", k, 40, [s2], false)],
    }],
    ["three columns and a crossed intercept", {
      x: design(n, 2, 1, 8),
      terms: [term("g", g, 60, [s1, s2], true), term("k", k, 40, [], true)],
    }],
    ["scalar intercept, β fixed", { x: noX(n), terms: [term("k", k, 40, [], true)] }],
  ];
}

/** Every weighted product added to its entry of A, row after row. */
function reference(
  x: FixedDesign,
  terms: ReturnType<typeof termInfo>,
  a: CrossProducts,
  w: Float64Array,
  z: Float64Array,
): CrossProducts {
  const { n, p } = x;
  const nf = p + 1;
  const F = (f: number, r: number) => (f < p ? x.x[f * n + r] : z[r]);
  const ff = new Float64Array(nf * nf);
  const diag = terms.map((t) => new Float64Array(t.nLevels * t.q * t.q));
  const fz = terms.map((t) => new Float64Array(t.nLevels * t.q * nf));
  const off = terms.map((_, i) =>
    terms.map((_, j) => j < i ? new Float64Array(a.off[i][j].values.length) : undefined)
  );
  for (let r = 0; r < n; r++) {
    const wr = w[r];
    for (let c = 0; c < nf; c++) {
      for (let rr = c; rr < nf; rr++) ff[c * nf + rr] += (wr * F(rr, r)) * F(c, r);
    }
    terms.forEach((t, ti) => {
      const q = t.q, zk = t.term.z, l = t.term.index[r];
      for (let c = 0; c < q; c++) {
        const zc = zk[r * q + c] * wr;
        for (let rr = 0; rr < q; rr++) diag[ti][l * q * q + c * q + rr] += zk[r * q + rr] * zc;
        for (let f = 0; f < nf; f++) fz[ti][(l * q + c) * nf + f] += F(f, r) * zc;
      }
      for (let j = 0; j < ti; j++) {
        const tj = terms[j], qj = tj.q, zj = tj.term.z;
        const pos = findBlock(a.off[ti][j], tj.term.index[r], l);
        for (let c = 0; c < qj; c++) {
          const zc = zj[r * qj + c] * wr;
          for (let rr = 0; rr < q; rr++) {
            off[ti][j]![pos * q * qj + c * q + rr] += zk[r * q + rr] * zc;
          }
        }
      }
    });
  }
  for (let c = 0; c < nf; c++) for (let rr = 0; rr < c; rr++) ff[c * nf + rr] = ff[rr * nf + c];
  return {
    n,
    p,
    diag,
    fz,
    ff,
    off: off.map((row, i) =>
      row.map((v, j) => (v ? { ...a.off[i][j], values: v } : a.off[i][j])).slice(0, i)
    ),
  };
}

function closeTo(got: Float64Array, want: Float64Array, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    assert.ok(
      d <= 1e-13 * Math.max(1, Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

for (const [name, d] of designs()) {
  Deno.test(`weighted cross-products: ${name}`, () => {
    const terms = termInfo(d.terms);
    const sys = new WeightedSystem(d.x, terms);
    const n = d.x.n;
    const r = rng(21);
    // two steps with different weights: the second refill must not keep
    // anything of the first
    for (const step of [0, 1]) {
      const w = Float64Array.from(r.runif(n), (u) => 0.01 + u * (step + 1));
      const z = r.rnorm(n);
      const a = sys.crossProductsAt(w, z);
      const want = reference(d.x, terms, a, w, z);
      assert.deepEqual(Array.from(a.ff), Array.from(want.ff), "FᵀWF bit for bit");
      terms.forEach((_, i) => {
        closeTo(a.diag[i], want.diag[i], `diag ${i}`);
        closeTo(a.fz[i], want.fz[i], `fz ${i}`);
        for (let j = 0; j < i; j++) {
          closeTo(a.off[i][j].values, want.off[i][j].values, `off ${i},${j}`);
        }
      });
    }
  });
}

Deno.test("weighted cross-products: a non-finite weight reaches FᵀWF as in the plain sum", () => {
  // mostly-zero columns are summed over their non-zero rows only when every
  // weighted value is finite (0·∞ would be NaN in the plain sum)
  const n = 500;
  const x = design(n, 1, 2, 9);
  const terms = termInfo([term("k", levels(n, 10, false, 3), 10, [], true)]);
  const sys = new WeightedSystem(x, terms);
  const w = new Float64Array(n).fill(0.5);
  const z = rng(2).rnorm(n);
  w[17] = Infinity;
  const a = sys.crossProductsAt(w, z);
  const want = reference(x, terms, a, w, z);
  assert.deepEqual(Array.from(a.ff), Array.from(want.ff));
  assert.ok(a.ff.some((v) => Number.isNaN(v)), "0·∞ terms make NaN entries");
});
