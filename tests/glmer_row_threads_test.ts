/**
 * PIRLS's row pass on two threads (lib/models/glmer/row_threads.ts): for
 * n ≥ ROW_THREADS_MIN the pass is cut into chunks, and whether the helper
 * thread or the main thread computes a chunk must not change a bit — μ,
 * e^η, the kept logarithms, the chunked deviance sum, and so whole fits.
 * The helper's path is forced (forceRowHelper: the main thread leaves every
 * chunk to it), so these tests do not depend on the machine's load.
 */
import assert from "node:assert/strict";
import { glmFamily } from "../lib/models/glmer/family.ts";
import { WorkingRows } from "../lib/models/glmer/working.ts";
import {
  DESIGN_SHARE_MAX_BYTES,
  designBytesPerRow,
  forceRowHelper,
  interruptNextRowPass,
  logitBinaryRows,
  logPoissonRows,
  ROW_CHUNKS,
  ROW_THREADS_MIN,
  rowHelperChunks,
  type ZTermRows,
} from "../lib/models/glmer/row_threads.ts";
import { setDenseThreads } from "../lib/linalg/parallel.ts";
import { glmer, rng } from "../mod.ts";

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
};

/** η over (−35, 35) (R's logit clamping at ±30 included) or (−4, 4) for Poisson. */
function etas(n: number, scale: number, seed: number): Float64Array {
  const u = rng(seed).runif(n);
  return Float64Array.from(u, (v) => (v - 0.5) * 2 * scale);
}

interface Pass {
  mu: Float64Array;
  dev: number;
  aic: number;
  w: Float64Array;
  z: Float64Array;
  /** The working response less a base (PIRLS's Xβ + offset). */
  zBase: Float64Array;
}

/** A row pass and its working quantities: three jobs (ROW_CHUNKS chunks each). */
function pass(rows: WorkingRows, eta: Float64Array): Pass {
  const n = eta.length;
  const mu = new Float64Array(n);
  const dev = rows.evaluate(eta, mu);
  const w = new Float64Array(n), z = new Float64Array(n), zBase = new Float64Array(n);
  rows.working(eta, undefined, w, z);
  const base = Float64Array.from(eta, (v, i) => v / 2 + (i % 7));
  rows.working(eta, base, new Float64Array(n), zBase);
  // R's working response: η − base + (y − μ)/μ′
  for (let i = 0; i < n; i += 97) {
    assert.ok(Object.is(zBase[i], eta[i] - base[i] + z[i]), `z[${i}]`);
  }
  return { mu, dev, aic: rows.aicAtLast(), w, z, zBase };
}

/** Run `f` with the helper forced (every chunk on it) and put things back. */
function withHelper<T>(f: () => T): { value: T; chunks: number } {
  setDenseThreads(2);
  forceRowHelper(true);
  const before = rowHelperChunks();
  try {
    const value = f();
    return { value, chunks: rowHelperChunks() - before };
  } finally {
    forceRowHelper(false);
    setDenseThreads("auto");
  }
}

function oneThread<T>(f: () => T): T {
  setDenseThreads(1);
  try {
    return f();
  } finally {
    setDenseThreads("auto");
  }
}

// sizes at the threshold, just above it with an uneven last chunk, and larger
const sizes = [ROW_THREADS_MIN, ROW_THREADS_MIN + 37, 3 * ROW_THREADS_MIN + 5];

for (const n of sizes) {
  Deno.test(`row helper, logit 0/1, n = ${n}: helper and main thread give the same bits`, () => {
    const r = rng(n);
    const y = Float64Array.from(r.runif(n), (v) => (v < 0.35 ? 1 : 0));
    const wt = new Float64Array(n).fill(1);
    const f = glmFamily({ family: "binomial", link: "logit" });
    const eta = etas(n, 35, n + 1);
    const one = oneThread(() => pass(new WorkingRows(y, wt, wt, f), eta));
    const two = withHelper(() => pass(new WorkingRows(y, wt, wt, f), eta));
    assert.equal(two.chunks, 3 * ROW_CHUNKS, "the helper ran every chunk of the three jobs");
    assert.ok(same(one.mu, two.value.mu), "μ");
    assert.ok(same(one.w, two.value.w) && same(one.z, two.value.z), "working weights and response");
    assert.ok(same(one.zBase, two.value.zBase), "working response less a base");
    assert.ok(Object.is(one.dev, two.value.dev), `deviance ${one.dev} vs ${two.value.dev}`);
    assert.ok(Object.is(one.aic, two.value.aic), `aic ${one.aic} vs ${two.value.aic}`);
    // the chunked sum is the kernel's chunk sums in order, and μ the family's
    let want = 0;
    const mu = new Float64Array(n), ex = new Float64Array(n), lg = new Float64Array(n);
    for (let c = 0; c < ROW_CHUNKS; c++) {
      const from = Math.floor((c * n) / ROW_CHUNKS), to = Math.floor(((c + 1) * n) / ROW_CHUNKS);
      want += logitBinaryRows(eta, mu, ex, y, wt, lg, true, from, to);
    }
    assert.ok(Object.is(one.dev, want));
    assert.ok(same(one.mu, mu));
    let dr = 0;
    for (let i = 0; i < n; i++) {
      assert.ok(Object.is(mu[i], f.linkinv(eta[i])), `μ[${i}]`);
      dr += f.devResid(y[i], mu[i], 1);
    }
    assert.ok(Math.abs(one.dev - dr) <= 1e-13 * dr, `${one.dev} vs R's ${dr}`);
    assert.ok(Object.is(one.aic, f.aic(y, wt, mu, wt)), "aic");
  });
}

Deno.test("row helper, Poisson with zeros and prior weights: the same bits", () => {
  const n = ROW_THREADS_MIN + 1001;
  const r = rng(3);
  const y = Float64Array.from(r.runif(n), (v) => Math.floor(-Math.log(1 - v) * 2));
  const wt = Float64Array.from(r.runif(n), (v) => (v < 0.05 ? 0 : 1 + Math.floor(v * 3)));
  const ones = new Float64Array(n).fill(1);
  const f = glmFamily({ family: "poisson", link: "log" });
  const eta = etas(n, 4, 9);
  const one = oneThread(() => pass(new WorkingRows(y, ones, wt, f), eta));
  const two = withHelper(() => pass(new WorkingRows(y, ones, wt, f), eta));
  assert.equal(two.chunks, 3 * ROW_CHUNKS);
  assert.ok(same(one.mu, two.value.mu) && same(one.w, two.value.w) && same(one.z, two.value.z));
  assert.ok(same(one.zBase, two.value.zBase));
  assert.ok(Object.is(one.dev, two.value.dev) && Object.is(one.aic, two.value.aic));
  const mu = new Float64Array(n), lg = new Float64Array(n);
  let want = 0;
  for (let c = 0; c < ROW_CHUNKS; c++) {
    const from = Math.floor((c * n) / ROW_CHUNKS), to = Math.floor(((c + 1) * n) / ROW_CHUNKS);
    want += logPoissonRows(eta, mu, y, wt, lg, true, from, to);
  }
  assert.ok(Object.is(one.dev, want));
  assert.ok(Object.is(one.aic, f.aic(y, ones, mu, wt)), "aic");
});

/** A binary model of n rows in `g` clusters with a random slope. */
function binaryData(n: number, g: number, seed: number) {
  const r = rng(seed);
  const re = r.rnorm(2 * g), x = r.rnorm(n), u = r.runif(n);
  const y = new Float64Array(n);
  const cluster: string[] = [];
  for (let i = 0; i < n; i++) {
    const j = i % g;
    cluster.push(`c${j}`);
    const eta = -0.3 + 0.7 * re[j] + (0.4 + 0.3 * re[g + j]) * x[i];
    y[i] = u[i] < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { y, x, cluster };
}

Deno.test("glmer with the row helper: the one-thread fit, bit for bit", () => {
  const d = binaryData(ROW_THREADS_MIN + 3000, 150, 21);
  const fit = () => {
    const m = glmer("y ~ x + (x | cluster)", d, { family: "binomial" });
    return [m.deviance(), m.devianceResid(), ...m.theta, ...Object.values(m.fixef())];
  };
  const one = oneThread(fit);
  const two = withHelper(fit);
  assert.ok(two.chunks > 0);
  assert.ok(same(one, two.value), `${one} vs ${two.value}`);
});

Deno.test("glmer Poisson with the row helper: the one-thread fit, bit for bit", () => {
  const n = ROW_THREADS_MIN + 500, g = 120;
  const r = rng(8);
  const re = r.rnorm(g), x = r.rnorm(n);
  const grp = Array.from({ length: n }, (_, i) => `g${i % g}`);
  const y = Float64Array.from(
    x,
    (v, i) => r.rpois(1, Math.exp(0.2 + 0.3 * v + 0.5 * re[i % g]))[0],
  );
  const fit = () => {
    const m = glmer("y ~ x + (1 | grp)", { y, x, grp }, { family: "poisson" });
    return [m.deviance(), m.devianceResid(), ...m.theta, ...Object.values(m.fixef())];
  };
  const one = oneThread(fit);
  const two = withHelper(fit);
  assert.ok(two.chunks > 0);
  assert.ok(same(one, two.value), `${one} vs ${two.value}`);
});

Deno.test("a process whose glmer used the row helper exits by itself", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const rt = new URL("../lib/models/glmer/row_threads.ts", import.meta.url).href;
  const code = `
import { glmer, rng } from "${mod}";
import { forceRowHelper, rowHelperChunks, ROW_THREADS_MIN } from "${rt}";
forceRowHelper(true);
const n = ROW_THREADS_MIN + 10, r = rng(1), x = r.rnorm(n), u = r.runif(n);
const g = Array.from({ length: n }, (_, i) => "g" + (i % 50));
const y = Float64Array.from(u, (v, i) => (v < 1 / (1 + Math.exp(-x[i])) ? 1 : 0));
glmer("y ~ x + (1 | g)", { y, x, g }, { family: "binomial" });
console.log(rowHelperChunks());
`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.ok(Number(new TextDecoder().decode(out.stdout).trim()) > 0, "the helper ran chunks");
});

Deno.test("row helper: a pass cut off after handing out its job does not spoil the next one", () => {
  const n = 4 * ROW_THREADS_MIN + 3;
  const r = rng(17);
  const y = Float64Array.from(r.runif(n), (v) => (v < 0.5 ? 1 : 0));
  const wt = new Float64Array(n).fill(1);
  const f = glmFamily({ family: "binomial", link: "logit" });
  const eta1 = etas(n, 35, 5), eta2 = etas(n, 3, 6);
  const want = oneThread(() => pass(new WorkingRows(y, wt, wt, f), eta2));
  for (let rep = 0; rep < 5; rep++) {
    const got = withHelper(() => {
      const rows = new WorkingRows(y, wt, wt, f);
      interruptNextRowPass();
      assert.throws(() => rows.evaluate(eta1, new Float64Array(n)), /interrupted/);
      // the helper may still be running the cut-off job's chunks
      return pass(rows, eta2);
    });
    assert.ok(same(want.mu, got.value.mu), `μ (repetition ${rep})`);
    assert.ok(Object.is(want.dev, got.value.dev), `deviance ${want.dev} vs ${got.value.dev}`);
    assert.ok(same(want.w, got.value.w) && Object.is(want.aic, got.value.aic));
  }
});

for (const fam of ["binomial", "poisson"] as const) {
  Deno.test(`row pass forming η = base (+ Xβ) + Zb in its chunks, and the aic (${fam}): the numbers of the plain computation`, () => {
    // four kinds of terms (random intercept, scalar slope, two and three
    // columns), X with a zero coefficient (skipped, as R's loop skips it)
    const n = 2 * ROW_THREADS_MIN + 11;
    const r = rng(31);
    const nl = [40, 25, 30, 12];
    const qs = [1, 1, 2, 3];
    let offset = 0;
    const scale = fam === "poisson" ? 0.3 : 1;
    const terms: ZTermRows[] = qs.map((q, k) => {
      const index = Int32Array.from(r.runif(n), (u) => Math.floor(u * nl[k]));
      const z = k === 0 ? new Float64Array(n).fill(1) : r.rnorm(n * q);
      const t = { q, offset, ones: k === 0, index, z };
      offset += nl[k] * q;
      return t;
    });
    const p = 4;
    const x = new Float64Array(n * p);
    x.fill(1, 0, n);
    x.set(r.rnorm(3 * n), n);
    const design = { x, p, terms, qTotal: offset };
    const b = r.rnorm(offset).map((v) => v * scale), beta = Float64Array.of(0.3, -0.2, 0, 0.7);
    const base = r.rnorm(n).map((v) => v * scale);
    // Poisson: counts with zeros; binomial: 0/1, a few rows of weight 0
    const y = fam === "poisson"
      ? Float64Array.from(r.runif(n), (v) => Math.floor(-Math.log(1 - v) * 1.5))
      : Float64Array.from(r.runif(n), (v) => (v < 0.4 ? 1 : 0));
    const wt = Float64Array.from(r.runif(n), (v) => (v < 0.02 ? 0 : 1));
    const ones = new Float64Array(n).fill(1);
    const f = glmFamily(
      fam === "poisson" ? { family: "poisson", link: "log" } : {
        family: "binomial",
        link: "logit",
      },
    );
    // the plain computation, row by row
    const plain = (withX: boolean) =>
      Float64Array.from(base, (v, i) => {
        let e = v;
        if (withX) {
          for (let j = 0; j < p; j++) if (beta[j] !== 0) e = e + x[j * n + i] * beta[j];
        }
        for (const t of terms) {
          let s = 0;
          for (let c = 0; c < t.q; c++) s += t.z[i * t.q + c] * b[t.offset + t.index[i] * t.q + c];
          e = e + s;
        }
        return e;
      });
    for (const withX of [false, true]) {
      const want = plain(withX);
      // without a design: η given, the aic summed on this thread
      const ref = oneThread(() => pass(new WorkingRows(y, ones, wt, f), want));
      assert.ok(Object.is(ref.aic, f.aic(y, ones, ref.mu, wt)), "the family's aic");
      const formed = (rows: WorkingRows) => {
        const buf = rows.rowBuffers()!;
        assert.ok(rows.formsEta);
        const dev = rows.evaluateFormed(buf.eta[1], buf.mu, base, b, withX ? beta : undefined);
        return { eta: buf.eta[1].slice(), mu: buf.mu.slice(), dev, aic: rows.aicAtLast() };
      };
      const one = oneThread(() => formed(new WorkingRows(y, ones, wt, f, design)));
      const two = withHelper(() => formed(new WorkingRows(y, ones, wt, f, design)));
      assert.equal(two.chunks, 2 * ROW_CHUNKS, "the pass and the aic's terms on the helper");
      for (const got of [one, two.value]) {
        for (let i = 0; i < n; i++) assert.equal(got.eta[i], want[i], `η[${i}] (X: ${withX})`);
        assert.ok(same(got.mu, ref.mu), "μ");
        assert.ok(Object.is(got.dev, ref.dev), `deviance ${got.dev} vs ${ref.dev}`);
        assert.ok(Object.is(got.aic, ref.aic), `aic ${got.aic} vs ${ref.aic}`);
      }
    }
  });
}

Deno.test("a wide design is not copied for the helper (η formed on the main thread)", () => {
  const n = ROW_THREADS_MIN + 5;
  const index = new Int32Array(n);
  const term = { q: 2, offset: 0, ones: false, index, z: new Float64Array(2 * n) };
  const y = new Float64Array(n), ones = new Float64Array(n).fill(1);
  const f = glmFamily({ family: "binomial", link: "logit" });
  const design = (p: number) => ({ x: new Float64Array(n * p), p, terms: [term], qTotal: 2 });
  // 8 bytes per X column, 8q + 4 per term
  assert.equal(designBytesPerRow(design(3)), 24 + 20);
  // a random intercept's z (all ones) is not copied: its levels only
  const intercept = { q: 1, offset: 0, ones: true, index, z: new Float64Array(n).fill(1) };
  assert.equal(designBytesPerRow({ ...design(3), terms: [intercept, term] }), 24 + 4 + 20);
  const widest = Math.floor((DESIGN_SHARE_MAX_BYTES - 20) / 8);
  assert.ok(new WorkingRows(y, ones, ones, f, design(widest)).formsEta);
  assert.ok(!new WorkingRows(y, ones, ones, f, design(widest + 1)).formsEta);
});
