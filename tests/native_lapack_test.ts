/**
 * The optional native dense Cholesky (lib/linalg/native.ts: LAPACK's dpotrf
 * from the system's OpenBLAS through FFI) keeps `potrf`'s contract: the same
 * factor up to rounding, the same failing pivot with its Schur complement on
 * the diagonal, and lmer fits equal to the WebAssembly path's.
 *
 * `.ci/run` installs OpenBLAS (Debian's libopenblas0), so in CI these tests
 * run; elsewhere they are skipped with the reason printed.
 */
import assert from "node:assert/strict";
import { potrf } from "../lib/linalg/cholesky.ts";
import { NATIVE_MIN_ORDER, nativeLapack, setNativeLapack } from "../lib/linalg/native.ts";
import { lmer } from "../mod.ts";
import { randomSpd } from "./helpers/numeric.ts";
import { crossedPair } from "./helpers/simData.ts";

const lapack = nativeLapack();
const ignore = lapack === undefined;
if (ignore) console.log("native LAPACK not loaded (no OpenBLAS or no FFI permission): skipped");

/** potrf with the native path on or off. */
function factor(a: Float64Array, n: number, native: boolean, off = 0, lda = n): number {
  setNativeLapack(native);
  try {
    return potrf(a, n, off, lda);
  } finally {
    setNativeLapack(true);
  }
}

Deno.test({
  name: "native potrf gives the WebAssembly factor to 1e-12",
  ignore,
  fn() {
    for (const n of [NATIVE_MIN_ORDER, 300, 701]) {
      const a = randomSpd(n, n), b = a.slice();
      assert.equal(factor(a, n, true), -1);
      assert.equal(factor(b, n, false), -1);
      let worst = 0;
      for (let j = 0; j < n; j++) {
        for (let i = j; i < n; i++) {
          worst = Math.max(worst, Math.abs(a[j * n + i] - b[j * n + i]) / Math.abs(b[j * n + j]));
        }
      }
      assert.ok(worst < 1e-12, `n = ${n}: largest difference ${worst}`);
    }
  },
});

Deno.test({
  name: "native potrf on a sub-matrix (offset, leading dimension > n)",
  ignore,
  fn() {
    const n = 300, lda = 317, off = 5 * lda + 9;
    const src = randomSpd(n, 11);
    const big = new Float64Array(lda * (n + 6)).fill(Number.NaN);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) big[off + j * lda + i] = src[j * n + i];
    const plain = src.slice();
    assert.equal(factor(big, n, true, off, lda), -1);
    assert.equal(factor(plain, n, false), -1);
    for (let j = 0; j < n; j++) {
      for (let i = j; i < n; i++) {
        assert.ok(Math.abs(big[off + j * lda + i] - plain[j * n + i]) < 1e-12 * n);
      }
    }
    // nothing outside the sub-matrix was touched
    assert.ok(Number.isNaN(big[off - 1]) && Number.isNaN(big[off + n]));
  },
});

Deno.test({
  name: "native potrf reports the failing pivot and leaves its Schur complement",
  ignore,
  fn() {
    for (const [n, bad] of [[300, 250], [400, 399], [500, 3]]) {
      // A = BᵀB with row `bad` of B a combination of the two before it, then
      // A[bad, bad] lowered: pivot `bad` is the first non-positive one, its
      // Schur complement -1e-3 up to rounding.
      let s = 5;
      const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
      const B = new Float64Array(n * n).map(rnd);
      for (let k = 0; k < n; k++) {
        B[k * n + bad] = 0.5 * B[k * n + bad - 1] + 0.25 * B[k * n + Math.max(bad - 2, 0)];
      }
      const a = new Float64Array(n * n);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          let v = 0;
          for (let k = 0; k < n; k++) v += B[k * n + i] * B[k * n + j];
          a[j * n + i] = v;
        }
      }
      a[bad * n + bad] -= 1e-3;
      const b = a.slice();
      assert.equal(factor(a, n, true), bad);
      assert.equal(factor(b, n, false), bad);
      assert.ok(Math.abs(a[bad * n + bad] + 1e-3) < 1e-9, `Schur complement ${a[bad * n + bad]}`);
      assert.ok(Math.abs(a[bad * n + bad] - b[bad * n + bad]) < 1e-9);
    }
  },
});

Deno.test({
  name: "lmer with a 600-order dense block: native and WebAssembly fits agree",
  ignore,
  fn() {
    const data = crossedPair({ n: 6000, seed: 17, la: 300, lb: 600, b0: 2, sb: 0.6, step: 31 });
    const fit = (native: boolean) => {
      setNativeLapack(native);
      try {
        return lmer("y ~ x + (1 | a) + (1 | b)", data, { control: { progress: false } });
      } finally {
        setNativeLapack(true);
      }
    };
    const m1 = fit(true), m0 = fit(false);
    assert.ok(
      Math.abs(m1.optSummary.fmin - m0.optSummary.fmin) < 1e-11 * Math.abs(m0.optSummary.fmin),
      `criterion ${m1.optSummary.fmin} vs ${m0.optSummary.fmin}`,
    );
    for (let k = 0; k < 2; k++) {
      assert.ok(Math.abs(m1.theta[k] - m0.theta[k]) < 1e-6, `θ ${m1.theta[k]} vs ${m0.theta[k]}`);
    }
  },
});
