/**
 * Test helpers: lme4's datasets from ../shared/data with the factor
 * settings they have in R (cake's temperature is an ordered factor), and
 * fixture loading.
 */
import { readCsv } from "../../lib/data/csv.ts";
import type { Cell } from "../../lib/data/frame.ts";
import type { DataOptions } from "../../lib/design/modelframe.ts";

const DATA_DIR = new URL("../../../shared/data/", import.meta.url);

/** A dataset as columns plus the options that reproduce R's factor types. */
export interface Dataset {
  data: Record<string, Cell[]>;
  options: DataOptions;
}

const cache = new Map<string, Dataset>();

/** Load one of lme4's datasets by its CSV name. */
export function dataset(name: string): Dataset {
  let d = cache.get(name);
  if (!d) {
    const data = readCsv(new URL(`${name}.csv`, DATA_DIR));
    const options: DataOptions = name === "cake"
      ? {
        factors: {
          temperature: { levels: ["175", "185", "195", "205", "215", "225"], ordered: true },
          replicate: { levels: Array.from({ length: 15 }, (_, i) => String(i + 1)) },
        },
      }
      : {};
    d = { data, options };
    cache.set(name, d);
  }
  return d;
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
