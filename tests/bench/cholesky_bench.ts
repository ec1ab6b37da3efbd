/**
 * The large dense Cholesky (`potrf`) on one thread and on two.
 *
 *   deno bench -A tests/bench/cholesky_bench.ts      # Deno.bench cases
 *   deno run -A tests/bench/cholesky_bench.ts [n…]   # paired report (default
 *                                                    # n = 300 400 600 800 1159)
 *
 * The single-thread case factors a matrix in an ordinary WebAssembly memory,
 * the two-thread case the same matrix in a shared one (`parallel.ts`). The
 * report interleaves the two, one factorization each in turn, so that the
 * machine's speed changes hit both alike, and prints medians, their ratio, the
 * main thread's waits for the helper and the helper's computing time (both
 * per factorization), and checks that the factors are bitwise equal. 1159 is the order of the dense block of
 * the InstEval fits. When the native LAPACK loads (lib/linalg/native.ts), a
 * third column times its dpotrf on the same matrix, interleaved likewise.
 */
import { potrf, potrfWorkSize } from "../../lib/linalg/cholesky.ts";
import { type SimdArena, simdArena } from "../../lib/linalg/simd.ts";
import { parallelStatus, setDenseThreads } from "../../lib/linalg/parallel.ts";
import { nativeLapack, setNativeLapack } from "../../lib/linalg/native.ts";
import { randomSpd } from "../helpers/numeric.ts";

interface Case {
  a: Float64Array;
  work: Float64Array;
  arena: SimdArena;
}

function setup(n: number, shared: boolean): Case {
  const arena = simdArena(n * n + potrfWorkSize(n), shared);
  if (!arena) throw new Error("no WebAssembly SIMD here");
  return { a: arena.alloc(n * n), work: arena.alloc(potrfWorkSize(n)), arena };
}

/** One WebAssembly factorization (the native LAPACK is kept out). */
function factor(c: Case, src: Float64Array, n: number): number {
  c.a.set(src);
  setNativeLapack(false);
  const t = performance.now();
  const info = potrf(c.a, n, 0, n, c.work, c.arena.kernels);
  const dt = performance.now() - t;
  setNativeLapack(true);
  if (info !== -1) throw new Error("not SPD");
  return dt;
}

/** One factorization by the native LAPACK (lib/linalg/native.ts). */
function factorNative(a: Float64Array, src: Float64Array, n: number): number {
  a.set(src);
  const t = performance.now();
  if (nativeLapack()!.potrf(a, n, 0, n) !== -1) throw new Error("not SPD");
  return performance.now() - t;
}

/** Start the helper and let both threads' kernels reach V8's optimizing tier. */
function warmUp(): void {
  const n = 1159, src = randomSpd(n, 1, n);
  const c = setup(n, true);
  for (let r = 0; r < 8 || (r < 40 && parallelStatus().status !== "ready"); r++) factor(c, src, n);
  const one = setup(n, false);
  for (let r = 0; r < 3; r++) factor(one, src, n);
}

const median = (x: number[]) => {
  const s = x.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

if (import.meta.main) {
  setDenseThreads(2);
  const sizes = Deno.args.length ? Deno.args.map(Number) : [300, 400, 600, 800, 1159];
  warmUp();
  console.log(`helper: ${parallelStatus().status}`);
  const lapack = nativeLapack();
  console.log(`native: ${lapack ? `${lapack.library} (${lapack.core})` : "not loaded"}`);
  console.log(
    "    n   one thread   two threads   ratio   main waits   helper work   equal     native  two/native",
  );
  for (const n of sizes) {
    const src = randomSpd(n, 7 + n, n);
    const one = setup(n, false), two = setup(n, true);
    const reps = Math.max(9, Math.min(41, Math.round(2e9 / (n * n * n)))) | 1;
    const t1: number[] = [], t2: number[] = [], t3: number[] = [];
    const plain = new Float64Array(n * n);
    let wait = 0, busy = 0;
    for (let r = 0; r < reps; r++) {
      if (lapack) t3.push(factorNative(plain, src, n));
      t1.push(factor(one, src, n));
      parallelStatus();
      t2.push(factor(two, src, n));
      const st = parallelStatus();
      wait += st.waitMs;
      busy += st.workerMs;
    }
    let equal = true;
    for (let j = 0; j < n && equal; j++) {
      for (let i = j; i < n; i++) {
        if (one.a[j * n + i] !== two.a[j * n + i]) {
          equal = false;
          break;
        }
      }
    }
    const m1 = median(t1), m2 = median(t2), m3 = lapack ? median(t3) : NaN;
    console.log(
      `${String(n).padStart(5)} ${m1.toFixed(2).padStart(9)} ms ${m2.toFixed(2).padStart(10)} ms` +
        ` ${(m1 / m2).toFixed(2).padStart(6)}× ${(wait / reps).toFixed(2).padStart(9)} ms` +
        ` ${(busy / reps).toFixed(2).padStart(10)} ms   ${equal}` +
        ` ${m3.toFixed(2).padStart(8)} ms ${(m2 / m3).toFixed(2).padStart(8)}×`,
    );
  }
} else {
  warmUp();
  for (const n of [400, 1159]) {
    const src = randomSpd(n, 7 + n, n);
    const one = setup(n, false), two = setup(n, true);
    Deno.bench(`potrf n=${n}, one thread`, { group: `n=${n}`, baseline: true }, () => {
      factor(one, src, n);
    });
    Deno.bench(`potrf n=${n}, two threads`, { group: `n=${n}` }, () => {
      factor(two, src, n);
    });
  }
}
