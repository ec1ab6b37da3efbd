/**
 * Test helpers for numerical comparisons: entry-by-entry closeness of two
 * arrays, and reproducible random symmetric positive definite matrices.
 */
import assert from "node:assert/strict";

/** |a − b| ≤ tol · max(1, |b|), entry by entry (equal lengths first). */
export function assertAllClose(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    assert.ok(
      d <= tol * Math.max(1, Math.abs(b[i])),
      `${what}[${i}]: ${a[i]} vs ${b[i]} (difference ${d.toExponential(2)}, tolerance ${tol})`,
    );
  }
}

/**
 * An n × n symmetric matrix (column-major) with off-diagonal entries uniform
 * in (−1/2, 1/2) from a Park-Miller stream started at `seed`, and `diag` on
 * the diagonal; the default n/4 + 1 makes it diagonally dominant enough to be
 * positive definite at the orders the tests use.
 */
export function randomSpd(n: number, seed: number, diag = n / 4 + 1): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  const a = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) a[j * n + i] = a[i * n + j] = rnd();
    a[j * n + j] = diag;
  }
  return a;
}
