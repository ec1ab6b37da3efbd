/**
 * Test helpers: the library's datasets (lib/datasets, the same data frames the
 * R fixture scripts read from lme4 and mlmRev), and fixture loading.
 */
import type { DataFrame } from "../../lib/data/table.ts";
import type { DataOptions } from "../../lib/design/modelframe.ts";
import { dataset as libDataset, type DatasetName } from "../../lib/datasets/mod.ts";

/** A dataset as the library ships it, and the options a fit needs (none). */
export interface Dataset {
  data: DataFrame;
  options: DataOptions;
}

/** Load one of the shipped datasets by its R name. */
export function dataset(name: string): Dataset {
  return { data: libDataset(name as DatasetName), options: {} };
}

/** A shipped dataset as plain columns (for tests that edit values). */
export function datasetColumns(name: string): Record<string, (number | string | null)[]> {
  const df = libDataset(name as DatasetName);
  const out: Record<string, (number | string | null)[]> = {};
  for (const c of df.columns) out[c] = df.getColumn(c).toArray() as (number | string | null)[];
  return out;
}

/** Read a JSON fixture from tests/fixtures. */
export function fixture<T>(file: string): T {
  return JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${file}`, import.meta.url)));
}

/** Relative difference |a − b| / max(|b|, floor). */
export function relDiff(a: number, b: number, floor = 1e-300): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), floor);
}

/** Assert |a − b| ≤ tol·max(|b|, floor) with a readable message. */
export function assertClose(
  actual: number,
  expected: number,
  tol: number,
  what: string,
  floor = 1e-12,
): void {
  const d = Math.abs(actual - expected);
  if (!(d <= tol * Math.max(Math.abs(expected), floor))) {
    throw new Error(
      `${what}: got ${actual}, expected ${expected} (rel diff ${
        relDiff(actual, expected)
      } > ${tol})`,
    );
  }
}
