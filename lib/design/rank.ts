/**
 * lme4's `check.rankX = "message+drop.cols"`: drop the columns of X that are
 * (numerically) combinations of earlier ones, with lme4's message. Shared
 * by lmer and glmer.
 * @module
 */
import { householderQR } from "../linalg/householder.ts";
import type { FixedDesign } from "./reterm.ts";

/**
 * X without its aliased columns (pivoted QR), the indices of the columns
 * kept, and lme4's message when any were dropped.
 */
export function dropAliasedColumns(
  x: FixedDesign,
): { x: FixedDesign; kept: readonly number[]; message?: string } {
  const { n } = x;
  const qr = householderQR(x.x, n, x.p);
  if (!qr.aliased.length) return { x, kept: qr.kept };
  const k = qr.aliased.length;
  const message = `fixed-effect model matrix is rank deficient so dropping ${k} column${
    k > 1 ? "s" : ""
  } / coefficient${k > 1 ? "s" : ""} (${qr.aliased.map((j) => x.names[j]).join(", ")})`;
  const xs = new Float64Array(n * qr.kept.length);
  qr.kept.forEach((j, c) => xs.set(x.x.subarray(j * n, j * n + n), c * n));
  return {
    x: { x: xs, n, p: qr.kept.length, names: qr.kept.map((j) => x.names[j]) },
    kept: qr.kept,
    message,
  };
}
