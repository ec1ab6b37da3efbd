/**
 * Simulated responses held as one column-major n × nsim matrix of doubles
 * (simulation s in `values[s·n .. s·n + n)`), with the read side of a
 * DataFrame (`columns` sim_1 … sim_nsim, `height`, `getColumn`) and a
 * display that shows the first rows and simulations. One Float64Array in
 * place of nsim named columns: a million simulations of 20 rows take
 * 160 MB instead of a table with a million properties.
 *
 * Simulations are refused above {@link MAX_SIMULATION_DOUBLES} numbers,
 * before anything is drawn.
 * @module
 */
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";
import { tableBundle, tableText } from "../display/table.ts";
import { dataFrame } from "../data/frame.ts";
import type { DataFrame, SeriesLike } from "../data/table.ts";

/**
 * The most numbers a simulation may hold: (nobs + number of random effects)
 * × nsim ≤ 2e8 doubles, i.e. 1.6 GB. Above that {@link simulate} refuses
 * with a message saying how many simulations fit.
 */
export const MAX_SIMULATION_DOUBLES = 2e8;

/**
 * Refuse a simulation that would hold more than
 * {@link MAX_SIMULATION_DOUBLES} numbers: `perSim` doubles for each of
 * `nsim` simulations.
 *
 * @example
 * ```ts
 * import { checkSimulationSize } from "./simulations.ts";
 * checkSimulationSize("simulate", 20 + 6, 1000); // fine
 * // checkSimulationSize("simulate", 20 + 6, 1e7) throws: at most 7,692,307 simulations
 * ```
 */
export function checkSimulationSize(what: string, perSim: number, nsim: number): void {
  const doubles = perSim * nsim;
  if (doubles <= MAX_SIMULATION_DOUBLES) return;
  const most = Math.floor(MAX_SIMULATION_DOUBLES / perSim);
  throw new RangeError(
    `${what}: nsim = ${nsim} would hold ${doubles.toExponential(2)} numbers ` +
      `(${(doubles * 8 / 2 ** 30).toFixed(1)} GiB); the limit is ` +
      `${MAX_SIMULATION_DOUBLES.toExponential(0)} numbers (${perSim} per simulation: ` +
      `at most ${most.toLocaleString("en-US")} simulations). Simulate in batches, ` +
      `passing one { rng } stream to each call.`,
  );
}

const SHOW_SIMS = 10;
const SHOW_ROWS = 50;

/**
 * nsim simulated responses of n observations: a column store with the read
 * side of a DataFrame. `column(s)` is simulation s (0-based) without a copy;
 * `toDataFrame()` gives a real polars DataFrame.
 *
 * @example
 * ```ts
 * import { Simulations } from "./simulations.ts";
 * const s = new Simulations(Float64Array.of(1, 2, 3, 4, 5, 6), 3, 2);
 * console.log(s.columns, Array.from(s.column(1))); // ["sim_1", "sim_2"] [4, 5, 6]
 * ```
 */
export class Simulations implements DataFrame {
  /** Column-major n × nsim values: simulation s is values[s·n .. s·n + n). */
  readonly values: Float64Array;
  /** Observations (rows) per simulation. */
  readonly nrow: number;
  /** Number of simulations (columns). */
  readonly nsim: number;

  /** Wrap `values` (column-major, nrow × nsim) without copying. */
  constructor(values: Float64Array, nrow: number, nsim: number) {
    if (values.length !== nrow * nsim) {
      throw new RangeError(`Simulations: ${values.length} values for ${nrow} × ${nsim}`);
    }
    this.values = values;
    this.nrow = nrow;
    this.nsim = nsim;
  }

  /** Rows (as a DataFrame's height). */
  get height(): number {
    return this.nrow;
  }

  /** Column names sim_1 … sim_nsim (as lme4's simulate). */
  get columns(): string[] {
    return Array.from({ length: this.nsim }, (_, s) => `sim_${s + 1}`);
  }

  /** Simulation s (0-based), a view into {@link values}. */
  column(s: number): Float64Array {
    if (!(Number.isInteger(s) && s >= 0 && s < this.nsim)) {
      throw new RangeError(`simulation ${s} out of range 0..${this.nsim - 1}`);
    }
    return this.values.subarray(s * this.nrow, (s + 1) * this.nrow);
  }

  /** Value of row i (0-based) in simulation s (0-based). */
  get(i: number, s: number): number {
    return this.values[s * this.nrow + i];
  }

  /** A column by its name "sim_k" (as a DataFrame's getColumn). */
  getColumn(name: string): SeriesLike {
    const m = /^sim_(\d+)$/.exec(name);
    const k = m ? Number(m[1]) : NaN;
    if (!(k >= 1 && k <= this.nsim)) {
      throw new RangeError(`no column '${name}' (columns sim_1 … sim_${this.nsim})`);
    }
    const v = this.column(k - 1);
    return { toArray: () => Array.from(v), dtype: "Float64", length: v.length };
  }

  /** The simulations one by one (views). */
  *[Symbol.iterator](): IterableIterator<Float64Array> {
    for (let s = 0; s < this.nsim; s++) yield this.column(s);
  }

  /** Rows as objects { sim_1, …, sim_nsim } (all simulations: large for a large nsim). */
  toRecords(): Record<string, number>[] {
    const names = this.columns;
    return Array.from({ length: this.nrow }, (_, i) => {
      const r: Record<string, number> = {};
      names.forEach((c, s) => (r[c] = this.get(i, s)));
      return r;
    });
  }

  /** A nodejs-polars DataFrame with one column per simulation (a copy). */
  toDataFrame(): DataFrame {
    const cols: Record<string, Float64Array> = {};
    for (let s = 0; s < this.nsim; s++) cols[`sim_${s + 1}`] = this.column(s);
    return dataFrame(cols);
  }

  #head(): Record<string, Float64Array> {
    const cols: Record<string, Float64Array> = {};
    const rows = Math.min(this.nrow, SHOW_ROWS);
    for (let s = 0; s < Math.min(this.nsim, SHOW_SIMS); s++) {
      cols[`sim_${s + 1}`] = this.column(s).subarray(0, rows);
    }
    return cols;
  }

  #note(): string {
    const more = this.nsim - SHOW_SIMS;
    return `${this.nrow} × ${this.nsim} simulations` +
      (more > 0 ? ` (first ${SHOW_SIMS} shown, ${more.toLocaleString("en-US")} more)` : "") +
      (this.nrow > SHOW_ROWS ? `, first ${SHOW_ROWS} rows shown` : "");
  }

  /** R-like text of the first rows and simulations. */
  toString(): string {
    return tableText(this.#head()) + "\n" + this.#note();
  }

  /** Notebook display: the first rows and simulations, and the dimensions. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return {
      "text/plain": this.toString(),
      "text/html": tableBundle(this.#head())["text/html"] +
        `<div style="font-size:11px;color:#666">${this.#note()}</div>`,
    };
  }
}
