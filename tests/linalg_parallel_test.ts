/**
 * The two-thread dense Cholesky (`lib/linalg/parallel.ts`): bitwise the same
 * factor and the same failure report as the single-thread paths, and a
 * helper thread that never keeps a process alive.
 */
import assert from "node:assert/strict";
import { potf2, potrf, potrfWorkSize } from "../lib/linalg/cholesky.ts";
import { simdArena } from "../lib/linalg/simd.ts";
import { buildLmm, lFormula } from "../advanced.ts";
import {
  forceHelperShare,
  PARALLEL_MIN_ORDER,
  parallelStatus,
  setDenseThreads,
  ThreadTuner,
} from "../lib/linalg/parallel.ts";
import { setNativeLapack } from "../lib/linalg/native.ts";
import { randomSpd } from "./helpers/numeric.ts";

// Whether the helper thread takes part in a factorization must not depend on
// how a loaded machine schedules it: every shared step waits for the helper's
// first chunk, so each two-thread factorization below really uses two threads.
forceHelperShare(true);
// These tests are about the WebAssembly kernels: the optional native LAPACK
// (lib/linalg/native.ts, tested in native_lapack_test.ts) stays out of them.
setNativeLapack(false);

/**
 * `f()` (a computation with two-thread steps), asserting that the helper
 * took part. Forcing waits up to 30 s for the helper's first chunk and
 * stops after such a wait; on this shared 2-core machine, under the
 * parallel test run (a browser rendering notebooks beside it), the helper
 * was twice seen unscheduled that long. So forcing is switched on again and
 * `f` repeated, up to three times, before the test concludes that the
 * helper does not work. Results must be the same on every attempt.
 */
function withHelper<T>(f: () => T, what: string): T {
  for (let attempt = 1;; attempt++) {
    forceHelperShare(true);
    parallelStatus();
    const r = f();
    if (parallelStatus().workerChunks > 0) return r;
    assert.ok(attempt < 3, `${what}: the helper took part`);
  }
}

/** Factor `src` in a shared arena (two threads once the helper runs). */
function factorShared(src: Float64Array, n: number): { a: Float64Array; info: number } {
  const arena = simdArena(n * n + potrfWorkSize(n), true);
  if (!arena) throw new Error("no WebAssembly SIMD");
  const a = arena.alloc(n * n);
  a.set(src);
  const info = potrf(a, n, 0, n, arena.alloc(potrfWorkSize(n)), arena.kernels);
  return { a, info };
}

/** Whether this platform can run the helper at all. */
function available(): boolean {
  const arena = simdArena(PARALLEL_MIN_ORDER * PARALLEL_MIN_ORDER, true);
  return arena !== undefined && arena.kernels.memory.buffer instanceof SharedArrayBuffer;
}

/** Start the helper (setDenseThreads(2) starts it on the next large factorization). */
function ensureHelper(): void {
  setDenseThreads(2);
  const n = 600, src = randomSpd(n, 1, 2 + n / 4);
  const t0 = performance.now();
  while (parallelStatus().status !== "ready" && performance.now() - t0 < 30_000) {
    factorShared(src, n);
  }
  assert.equal(parallelStatus().status, "ready");
}

function assertLowerEqual(a: Float64Array, b: Float64Array, n: number, cols: number, what: string) {
  for (let j = 0; j < cols; j++) {
    for (let i = j; i < n; i++) {
      if (!Object.is(a[j * n + i], b[j * n + i])) {
        throw new Error(`${what}: (${i}, ${j}) ${a[j * n + i]} ≠ ${b[j * n + i]}`);
      }
    }
  }
}

Deno.test("two-thread potrf is bitwise the single-thread factor", () => {
  if (!available()) return;
  ensureHelper();
  // sizes around the threshold, ragged row groups (n mod 4) and blocks (mod 64)
  for (const n of [400, 401, 402, 403, 517, 640, 705, 833]) {
    const src = randomSpd(n, 11 + n, 2 + n / 4);
    const plain = src.slice();
    assert.equal(potrf(plain, n), -1);
    const { a, info } = withHelper(() => factorShared(src, n), `n=${n}`);
    assert.equal(info, -1);
    assertLowerEqual(a, plain, n, n, `n=${n}`);
  }
});

Deno.test("two-thread potrf reports a non-positive pivot like potf2", () => {
  if (!available()) return;
  ensureHelper();
  const n = 530;
  // break positive definiteness at column `bad` (first block, a middle block,
  // the last column, as for the response column of a rank-deficient system)
  for (const bad of [5, 200, 321, n - 1]) {
    const src = randomSpd(n, 3 + bad, 2 + n / 4);
    // make column `bad` (nearly) a copy of column 0: pivot ≤ 0 there
    for (let i = 0; i < n; i++) {
      src[bad * n + i] = src[i];
      src[i * n + bad] = src[i];
    }
    src[bad * n + bad] = src[0];
    src[bad * n + bad] -= 1e-3; // Schur complement < 0
    const u = src.slice();
    const plain = src.slice();
    const infoU = potf2(u, n);
    const infoP = potrf(plain, n);
    // (a pivot in the first 64-column block fails before any shared step)
    const { a, info } = bad >= 64
      ? withHelper(() => factorShared(src, n), `bad=${bad}`)
      : factorShared(src, n);
    assert.equal(infoU, bad);
    assert.equal(infoP, bad);
    assert.equal(info, bad);
    assert.ok(a[bad * n + bad] <= 0, "the Schur complement is left on the diagonal");
    // the finished columns and the pivot value match the blocked path's bits
    assertLowerEqual(a, plain, n, bad, `bad=${bad}`);
    assert.ok(Object.is(a[bad * n + bad], plain[bad * n + bad]), `bad=${bad}: pivot value`);
    // and potf2's to rounding
    const d = Math.abs(a[bad * n + bad] - u[bad * n + bad]);
    assert.ok(
      d <= 1e-9 * Math.abs(src[0]),
      `bad=${bad}: pivot ${a[bad * n + bad]} vs ${u[bad * n + bad]}`,
    );
  }
});

Deno.test("small matrices and unshared memory stay on one thread", () => {
  if (!available()) return;
  ensureHelper();
  const n = PARALLEL_MIN_ORDER - 1;
  const src = randomSpd(n, 5, 2 + n / 4);
  parallelStatus();
  const { a, info } = factorShared(src, n);
  assert.equal(info, -1);
  assert.equal(parallelStatus().workerChunks, 0);
  const plain = src.slice();
  potrf(plain, n);
  assertLowerEqual(a, plain, n, n, "n below the threshold");
  const m = 500, big = randomSpd(m, 9, 2 + m / 4);
  const arena = simdArena(m * m + potrfWorkSize(m), false)!;
  assert.ok(!(arena.kernels.memory.buffer instanceof SharedArrayBuffer));
  const w = arena.alloc(m * m);
  w.set(big);
  parallelStatus();
  assert.equal(potrf(w, m, 0, m, arena.alloc(potrfWorkSize(m)), arena.kernels), -1);
  assert.equal(parallelStatus().workerChunks, 0);
});

Deno.test("setDenseThreads(1) stops the helper; results unchanged", () => {
  if (!available()) return;
  ensureHelper();
  const n = 450, src = randomSpd(n, 21, 2 + n / 4);
  const two = withHelper(() => factorShared(src, n).a, "n=450");
  setDenseThreads(1);
  try {
    assert.equal(parallelStatus().status, "idle");
    const one = factorShared(src, n).a;
    assert.equal(parallelStatus().workerChunks, 0);
    assertLowerEqual(one, two, n, n, "one vs two threads");
  } finally {
    setDenseThreads(2);
  }
});

async function runScript(code: string, env: Record<string, string> = {}) {
  const url = new URL("../lib/linalg/", import.meta.url).href;
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code.replaceAll("LINALG/", url)],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code: out.code,
    ms: performance.now() - t0,
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr).trim(),
  };
}

const SCRIPT = `
import { potrf, potrfWorkSize } from "LINALG/cholesky.ts";
import { simdArena } from "LINALG/simd.ts";
import { forceHelperShare, parallelStatus, setDenseThreads } from "LINALG/parallel.ts";
import { setNativeLapack } from "LINALG/native.ts";
setNativeLapack(false);
if (Deno.env.get("LMER_THREADS") !== "1") setDenseThreads(2);
forceHelperShare(true);
const n = 700;
const arena = simdArena(n * n + potrfWorkSize(n));
const a = arena.alloc(n * n), w = arena.alloc(potrfWorkSize(n));
let s = 1;
const src = new Float64Array(n * n);
for (let j = 0; j < n; j++) {
  for (let i = j; i < n; i++) src[j * n + i] = src[i * n + j] = (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  src[j * n + j] = n;
}
const t0 = performance.now();
let used = 0, status = "idle";
while (performance.now() - t0 < 20000) {
  a.set(src);
  potrf(a, n, 0, n, w, arena.kernels);
  const st = parallelStatus();
  used += st.workerChunks;
  status = st.status;
  if (used > 0) break;
}
console.log(JSON.stringify({ status, used: used > 0 }));
`;

Deno.test("a process that used the helper exits promptly", async () => {
  if (!available()) return;
  const r = await runScript(SCRIPT);
  assert.equal(r.code, 0, r.stderr);
  // the worker is alive when the script ends (what could keep the process
  // up); whether it also took a chunk depends on the machine's load (a
  // parallel test run can starve it for the script's 20 s), so it is not
  // asserted here: the tests above force and check its share
  assert.equal(JSON.parse(r.stdout).status, "ready");
  assert.ok(r.ms < 30_000 + 20_000, `took ${r.ms} ms`);
});

Deno.test("LMER_THREADS=1 keeps the helper off", async () => {
  if (!available()) return;
  const code = SCRIPT.replace(
    "while (performance.now() - t0 < 20000)",
    "for (let r = 0; r < 30; r++)",
  );
  const r = await runScript(code, { LMER_THREADS: "1" });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { status: "idle", used: false });
});

Deno.test("two-thread potrf on a sub-matrix (offset, leading dimension > n)", () => {
  if (!available()) return;
  ensureHelper();
  const n = 466, lda = n + 7, off = 5 + 3 * lda;
  const src = randomSpd(n, 77, 2 + n / 4);
  const arena = simdArena(lda * (n + 4) + potrfWorkSize(n), true)!;
  const big = arena.alloc(lda * (n + 4));
  big.fill(-7);
  const plain = big.slice();
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) big[off + i + j * lda] = plain[off + i + j * lda] = src[i + j * n];
  }
  assert.equal(potrf(plain, n, off, lda), -1);
  const work = arena.alloc(potrfWorkSize(n));
  const input = big.slice();
  withHelper(() => {
    big.set(input);
    assert.equal(potrf(big, n, off, lda, work, arena.kernels), -1);
  }, "sub-matrix");
  for (let i = 0; i < big.length; i++) {
    if (!Object.is(big[i], plain[i])) throw new Error(`element ${i}: ${big[i]} ≠ ${plain[i]}`);
  }
});

Deno.test("lmer objective with a dense block of order 423: two threads = no SIMD, exactly", () => {
  if (!available()) return;
  ensureHelper();
  let s = 12345;
  const u = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const N = 4000;
  const a: string[] = [], b: string[] = [], x: number[] = [], y: number[] = [];
  const ea = Array.from({ length: 600 }, () => u() - 0.5);
  const eb = Array.from({ length: 420 }, () => u() - 0.5);
  for (let i = 0; i < N; i++) {
    const ia = i % 600, ib = Math.floor(u() * 420);
    a.push(`a${ia}`), b.push(`b${ib}`);
    x.push(u());
    y.push(1 + 2 * x[i] + ea[ia] + 0.7 * eb[ib] + 0.3 * (u() - 0.5));
  }
  const lf = lFormula("y ~ x + (1 | a) + (1 | b)", { y, x, a, b });
  const fast = buildLmm(lf.x, lf.mf.y, lf.mf.random, { tail: "dense" });
  const plain = buildLmm(lf.x, lf.mf.y, lf.mf.random, { simd: false, tail: "dense" });
  assert.equal(fast.denseOrder, 423);
  // a new θ at every call: at the same θ the model reuses its factorization
  for (const reml of [true, false]) {
    for (const theta of [[1, 1], [0.3, 2], [0.8, 0], [0, 0.5]]) {
      const want = plain.objective(theta, reml);
      // a new θ at each attempt too (the same θ would reuse the factor):
      // the same θ up to a factor 1 + 1e-15·attempt, compared with plain's
      let k = 0;
      withHelper(() => {
        const t = theta.map((v) => v * (1 + 1e-15 * k));
        const w = k === 0 ? want : plain.objective(t, reml);
        k++;
        assert.equal(fast.objective(t, reml), w);
      }, `θ=${theta}`);
    }
  }
});

Deno.test("no usable worker: one thread, silently", async () => {
  if (!available()) return;
  for (
    const breakIt of [
      // no node:worker_threads
      "(globalThis as any).process.getBuiltinModule = () => undefined;",
      // a Worker constructor that throws
      "(globalThis as any).process.getBuiltinModule = () => ({ Worker: class { constructor() { throw new Error('no'); } } });",
      // a worker that never reports for duty
      "(globalThis as any).process.getBuiltinModule = () => ({ Worker: class { unref() {} on() {} postMessage() {} terminate() {} } });",
    ]
  ) {
    const code = breakIt + "\n" +
      SCRIPT.replace("while (performance.now() - t0 < 20000)", "for (let r = 0; r < 40; r++)");
    const r = await runScript(code);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const out = JSON.parse(r.stdout);
    assert.equal(out.used, false);
    assert.ok(out.status === "dead" || out.status === "starting", out.status);
  }
});

Deno.test("ThreadTuner: two threads unless one is faster, rechecked periodically", () => {
  const t = new ThreadTuner();
  // before the helper is ready: single-thread baseline
  t.note(false, 100);
  const run = (calls: number, one: number, two: number) => {
    let ones = 0;
    for (let i = 0; i < calls; i++) {
      const useTwo = t.chooseTwo();
      if (!useTwo) ones++;
      t.note(useTwo, useTwo ? two : one);
    }
    return ones;
  };
  // a quiet machine: two threads win clearly, probes become rare
  assert.equal(run(15, 100, 60), 0);
  assert.equal(run(400, 100, 60), 5); // calls 16, 48, 112, 240, 368: period 16 → 128
  assert.equal(t.period, 128);
  assert.equal(t.preferOne, false);
  // the other core gets busy: the next probe (call 496) shows no gain
  assert.equal(run(81, 100, 110), 1);
  assert.equal(t.preferOne, true);
  assert.equal(t.period, 16);
  // one thread now, with a two-thread probe every 16 calls (call 511)
  assert.equal(run(16, 100, 110), 15);
  assert.equal(t.preferOne, true);
  // quiet again: the probe at call 527 wins, two threads it is
  assert.equal(run(16, 100, 60), 14);
  assert.equal(t.preferOne, false);
  assert.equal(t.period, 32);
});
