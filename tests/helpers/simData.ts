/**
 * Data generators shared by tests and benchmarks (tests/bench/compare.ts):
 * simulated designs from R-identical random streams, so the R side of a
 * benchmark can build the same data, and the star rows of mlmRev exported to
 * tests/bench/data/star.csv.gz.
 */
import { rng } from "../../mod.ts";
import type { DataLike } from "../../mod.ts";

/**
 * 200 schools x 20 classes x 100,000 students (2 rows each), 200,000 rows:
 * y = school + class + student effects + noise, all N(0, 1) from rng(1).
 */
export function nestedSchools(): {
  y: Float64Array;
  school: string[];
  class: string[];
  student: string[];
} {
  const n = 200_000;
  const z = rng(1).rnorm(200 + 4000 + 100_000 + n);
  const school: string[] = [], cls: string[] = [], student: string[] = [];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = i >> 1;
    school.push(`s${s % 200}`);
    cls.push(`c${Math.floor(s / 200) % 20}`);
    student.push(`p${s}`);
    y[i] = z[s % 200] + z[200 + (s % 4000)] + z[4200 + s] + z[104_200 + i];
  }
  return { y, school, class: cls, student };
}

/** The design of {@link crossedPair}. */
export interface CrossedPairDesign {
  /** rows */
  n: number;
  /** seed of the rng stream */
  seed: number;
  /** levels of a */
  la: number;
  /** levels of b */
  lb: number;
  /** intercept */
  b0: number;
  /** scale of b's effects */
  sb: number;
  /** stride picking each row's noise from the last n normals */
  step: number;
}

/**
 * y ~ x + (1|a) + (1|b): two crossed factors with levels drawn uniformly
 * (runif(2n)), from normals z = rnorm(la + lb + n): a's effects z[0..la),
 * b's z[la..la+lb) scaled by sb, x = z[la+lb+i] and the noise
 * z[la+lb + (i·step mod n)]; y = b0 + 0.5 x + effects + noise.
 */
export function crossedPair(d: CrossedPairDesign): DataLike {
  const { n, la, lb, b0, sb, step } = d, r = rng(d.seed);
  const u = r.runif(2 * n), z = r.rnorm(la + lb + n);
  const a: string[] = [], b: string[] = [];
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ia = Math.floor(u[i] * la), ib = Math.floor(u[n + i] * lb);
    a.push(`a${ia}`), b.push(`b${ib}`);
    x[i] = z[la + lb + i];
    y[i] = b0 + 0.5 * x[i] + z[ia] + sb * z[la + ib] + z[la + lb + ((i * step) % n)];
  }
  return { y, x, a, b };
}

/**
 * mlmRev's star (the complete cases lmer's model frame keeps, 24,611 rows;
 * tests/bench/data/star.csv.gz): math as numbers, every other column as
 * strings; only the rows whose fields `keep` accepts.
 */
export async function starData(
  keep: (fields: string[]) => boolean = () => true,
): Promise<DataLike> {
  const gz = await Deno.readFile(new URL("../bench/data/star.csv.gz", import.meta.url));
  const text = await new Response(
    new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  const lines = text.trim().split("\n");
  const names = lines[0].split(",");
  const cols: string[][] = names.map(() => []);
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].split(",");
    if (!keep(f)) continue;
    f.forEach((v, j) => cols[j].push(v));
  }
  const d: Record<string, string[] | Float64Array> = {};
  names.forEach((nm, j) => d[nm] = nm === "math" ? Float64Array.from(cols[j], Number) : cols[j]);
  return d as DataLike;
}
