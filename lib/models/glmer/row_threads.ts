/**
 * PIRLS's row pass (μ and the unit deviances at η: one exponential and one
 * logarithm per row, most of a large glmer fit's time, with η = base (+ Xβ)
 * + Zb formed in the same chunks when the model's design is given) and its
 * working weights and response (two divisions per row) on two cores.
 *
 * For n ≥ {@link ROW_THREADS_MIN} rows (logit with 0/1 responses, or
 * Poisson), {@link SharedRows} keeps the row arrays in one
 * SharedArrayBuffer and cuts each pass into {@link ROW_CHUNKS} chunks of
 * consecutive rows. A helper thread (a `node:worker_threads` Worker started
 * on first use, unref'd so that it never keeps a process or a Jupyter kernel
 * alive) and the main thread claim chunks with compare-and-swap until none
 * is left, so a helper that is slow to wake just takes fewer. Every row is
 * computed by one thread with the same operations, and the deviance is the
 * sum of the chunks' sums in chunk order whoever computed them: the results
 * are bitwise the same on one thread or two. `setDenseThreads(1)` (or
 * `LMER_THREADS=1`) keeps the pass on one thread; anything missing (Workers,
 * shared memory, `Atomics.wait` on the main thread) does so silently.
 *
 * The worker does not import this file: the source text of the kernels
 * ({@link logitBinaryRows}, {@link logPoissonRows}, {@link logitWorkingRows},
 * {@link poissonWorkingRows}, {@link xbRows}, {@link zbRows}), of the
 * layout and chunk helpers (`rowViews`, `designViews`, `runRowChunk`) and of
 * {@link rowWorkerMain} is embedded in a `data:` module, so those functions
 * must stay self-contained (no references outside their bodies except
 * their parameters and globals).
 * @module
 */

import { type HelperWorker, parallelEnabled, spawnHelper, waitFor } from "../../linalg/parallel.ts";
import { bd0 } from "./family.ts";

/** Rows from which a pass is cut into chunks (and shared with the helper). */
export const ROW_THREADS_MIN = 4096;
/** Chunks per pass. */
export const ROW_CHUNKS = 16;

/** Control slots (Int32) and commands. */
const S = {
  state: 0, // 1 once the worker listens, -1 if it failed to start
  seq: 1, // last command number posted
  cmd: 2, // the command of seq
  claim: 3, // (tag << 8) | next chunk; -1 when closed
  finished: 4, // chunks finished in the current job
  bound: 5, // id of the rows the worker is linked to
  done: 6, // last rebind the worker acknowledged
  failed: 7, // 1 if a chunk failed in the worker
  keep: 8, // the job's `keep` flag
  workerChunks: 9, // chunks the worker ran (statistics, wrapping)
  eta: 10, // which η array the job reads (0, 1 or 2)
  inflight: 11, // 1 while the worker is claiming or running a chunk
  base: 12, // working jobs: 1 if the working response subtracts v.base
  form: 13, // row passes: η formed first (0 no, 1 base + Zb, 2 base + Xβ + Zb)
  // aic jobs read the kept logarithms when `keep`
  length: 14,
  rebind: 1,
  logit: 2,
  poisson: 3,
  logitWorking: 4,
  poissonWorking: 5,
  logitAic: 6,
  poissonAic: 7,
  tagMod: 1 << 23,
  spinMs: 1,
} as const;

/**
 * Logit link, 0/1 responses, rows [from, to): μ = e^η/(1 + e^η) with R's
 * clamping beyond ±30 (e^η kept in `ex` for μ′), and −2 Σ wt log(s),
 * s = μ or 1 − μ (kept in `logs` when `keep`). Two loops, each with one
 * transcendental call per row (faster than one loop with both).
 */
export function logitBinaryRows(
  eta: Float64Array,
  mu: Float64Array,
  ex: Float64Array,
  y: Float64Array,
  wt: Float64Array,
  logs: Float64Array,
  keep: boolean,
  from: number,
  to: number,
): number {
  logitMuRows(eta, mu, ex, from, to);
  let dev = 0;
  for (let i = from; i < to; i++) {
    const m = mu[i], yi = y[i], y1 = 1 - yi;
    const l = Math.log(yi * m + y1 * (1 - m));
    if (keep) logs[i] = l;
    dev -= 2 * wt[i] * l;
  }
  return dev;
}

/**
 * Logit link, rows [from, to): μ = e^η/(1 + e^η), with R's clamping of
 * e^η to ε and 1/ε beyond ±30 (R's linkinv and mu.eta share the one
 * exponential, kept in `ex` for μ′).
 */
export function logitMuRows(
  eta: Float64Array,
  mu: Float64Array,
  ex: Float64Array,
  from: number,
  to: number,
): void {
  const EPS = 2.220446049250313e-16, INVEPS = 1 / EPS;
  for (let i = from; i < to; i++) {
    const et = eta[i];
    const t = et < -30 ? EPS : et > 30 ? INVEPS : Math.exp(et);
    mu[i] = t / (1 + t);
    ex[i] = t;
  }
}

/**
 * Log link, Poisson, rows [from, to): μ = max(e^η, ε) and R's unit
 * deviances summed (log(y/μ) kept in `logs` when `keep`).
 */
export function logPoissonRows(
  eta: Float64Array,
  mu: Float64Array,
  y: Float64Array,
  wt: Float64Array,
  logs: Float64Array,
  keep: boolean,
  from: number,
  to: number,
): number {
  const EPS = 2.220446049250313e-16;
  for (let i = from; i < to; i++) mu[i] = Math.max(Math.exp(eta[i]), EPS);
  let dev = 0;
  for (let i = from; i < to; i++) {
    const m = mu[i];
    const yi = y[i];
    if (yi > 0) {
      const l = Math.log(yi / m);
      if (keep) logs[i] = l;
      dev += 2 * (wt[i] * (yi * l - (yi - m)));
    } else dev += 2 * (m * wt[i]);
  }
  return dev;
}

/**
 * Logit link, rows [from, to): the working weights w = wt μ′²/(μ(1 − μ))
 * and working response z = η − base + (y − μ)/μ′ (without `base`:
 * (y − μ)/μ′) at the μ and e^η of the last row pass, with R's μ′ (ε beyond
 * ±30): R's arithmetic, operation for operation.
 */
export function logitWorkingRows(
  eta: Float64Array,
  base: Float64Array | null,
  mu: Float64Array,
  ex: Float64Array,
  y: Float64Array,
  wt: Float64Array,
  w: Float64Array,
  z: Float64Array,
  from: number,
  to: number,
): void {
  const EPS = 2.220446049250313e-16;
  for (let i = from; i < to; i++) {
    const et = eta[i], t = ex[i], m = mu[i];
    const o = 1 + t;
    const mp = et > 30 || et < -30 ? EPS : t / (o * o);
    w[i] = (wt[i] * mp * mp) / (m * (1 - m));
    const r = y[i] - m;
    z[i] = base ? et - base[i] + r / mp : r / mp;
  }
}

/**
 * Log link, Poisson, rows [from, to): w = wt μ²/μ and z = η − base +
 * (y − μ)/μ (μ′ = V(μ) = μ), as R computes them.
 */
export function poissonWorkingRows(
  eta: Float64Array,
  base: Float64Array | null,
  mu: Float64Array,
  y: Float64Array,
  wt: Float64Array,
  w: Float64Array,
  z: Float64Array,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const m = mu[i];
    w[i] = (wt[i] * m * m) / m;
    const r = y[i] - m;
    z[i] = base ? eta[i] - base[i] + r / m : r / m;
  }
}

/**
 * The binomial aic's per-row terms, rows [from, to), for 0/1 responses
 * with one trial per row (prior weights that round to 1, the factor w/m
 * then 1): R's dbinom(y, 1, μ, log = TRUE) into `out` (0 where the weight
 * is 0, a row R leaves out), computed as {@link WorkingRows.aic} computes
 * it, with the logarithms the last row pass kept when `useLogs`.
 */
export function binaryAicRows(
  y: Float64Array,
  wt: Float64Array,
  mu: Float64Array,
  logs: Float64Array,
  useLogs: boolean,
  out: Float64Array,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    if (!(wt[i] > 0)) {
      out[i] = 0;
      continue;
    }
    const p = mu[i], xi = y[i];
    if (!(p > 0 && p < 1)) {
      // dbinom(x, 1, p) at p = 0 or 1 (or NaN)
      out[i] = p === 0 ? (xi === 0 ? 0 : -Infinity) : p === 1 ? (xi === 1 ? 0 : -Infinity) : NaN;
      continue;
    }
    out[i] = binaryLogDensity(xi, p, useLogs ? logs : null, i);
  }
}

/**
 * The Poisson aic's per-row terms, rows [from, to), for integer responses:
 * wt · dpois(y, μ, log = TRUE) into `out` from its per-row constants
 * −stirlerr(y) (`st`) and ½ log(2π y) (`c`), with the kept log(y/μ) when
 * `useLogs`, as {@link WorkingRows.aic} computes it.
 */
export function poissonAicRows(
  y: Float64Array,
  wt: Float64Array,
  mu: Float64Array,
  logs: Float64Array,
  useLogs: boolean,
  st: Float64Array,
  c: Float64Array,
  out: Float64Array,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    out[i] = poissonLogDensity(y[i], mu[i], st[i], c[i], useLogs ? logs[i] : undefined) * wt[i];
  }
}

/**
 * R's dbinom(x, 1, p, log = TRUE) for x ∈ {0, 1} and 0 < p < 1: with s = p
 * for a success and 1 − p for a failure, and o the other one,
 * o < 0.1 ? −bd0(1, s) − o : log(s) (Loader's saddle point with one
 * trial; 1·s and 1·o exact); s and o selected by arithmetic (x·p + 0·q =
 * p), not by a branch on x. `logs[i]`: log(s), when the caller has it.
 */
export function binaryLogDensity(
  x: number,
  p: number,
  logs: Float64Array | null,
  i: number,
): number {
  const q = 1 - p, x1 = 1 - x;
  const sp = x * p + x1 * q, op = x * q + x1 * p;
  return op < 0.1 ? -bd0(1, sp) - op : logs ? logs[i] : Math.log(sp);
}

/**
 * R's dpois(y, μ, log = TRUE) for integer y ≥ 0 from its constants
 * −stirlerr(y) (`st`) and ½ log(2π y) (`c`); `log`: log(y/μ), when the
 * caller has it.
 */
export function poissonLogDensity(
  y: number,
  m: number,
  st: number,
  c: number,
  log?: number,
): number {
  return m === 0 ? (y === 0 ? 0 : -Infinity) : y === 0 ? -m : st - bd0(y, m, log) - c;
}

/** One random-effects term as Zb reads it. */
export interface ZTermRows {
  /** Columns of the term. */
  readonly q: number;
  /** The term's first entry in b. */
  readonly offset: number;
  /** A scalar term whose z is 1 in every row (a random intercept). */
  readonly ones: boolean;
  /** Level of each row. */
  readonly index: Int32Array;
  /** The term's model-matrix rows, n × q row-major. */
  readonly z: Float64Array;
}

/**
 * out = src + Xβ for rows [from, to) (X: n × β.length column-major; `src`
 * may be `out`): each row adds x_ij β_j one column after the other, in
 * column order, over the columns with β_j ≠ 0 (R's loop skips the others),
 * up to three columns per pass over the rows.
 */
export function xbRows(
  x: Float64Array,
  n: number,
  beta: ArrayLike<number>,
  src: Float64Array,
  out: Float64Array,
  from: number,
  to: number,
): void {
  if (src !== out) { for (let i = from; i < to; i++) out[i] = src[i]; }
  const nz: number[] = [];
  for (let j = 0; j < beta.length; j++) if (beta[j] !== 0) nz.push(j);
  let t = 0;
  for (; t + 2 < nz.length; t += 3) {
    const o0 = nz[t] * n, o1 = nz[t + 1] * n, o2 = nz[t + 2] * n;
    const b0 = beta[nz[t]], b1 = beta[nz[t + 1]], b2 = beta[nz[t + 2]];
    for (let i = from; i < to; i++) {
      out[i] = out[i] + x[o0 + i] * b0 + x[o1 + i] * b1 + x[o2 + i] * b2;
    }
  }
  if (t + 1 < nz.length) {
    const o0 = nz[t] * n, o1 = nz[t + 1] * n, b0 = beta[nz[t]], b1 = beta[nz[t + 1]];
    for (let i = from; i < to; i++) out[i] = out[i] + x[o0 + i] * b0 + x[o1 + i] * b1;
  } else if (t < nz.length) {
    const o0 = nz[t] * n, b0 = beta[nz[t]];
    for (let i = from; i < to; i++) out[i] += x[o0 + i] * b0;
  }
}

/**
 * out = src + Zb for rows [from, to) (`src` may be `out`; b in Z's column
 * order), term after term: each row adds its term's z·b, summed over the
 * term's columns as lme4's sparse product sums them.
 */
export function zbRows(
  terms: readonly ZTermRows[],
  b: Float64Array,
  src: Float64Array,
  out: Float64Array,
  from: number,
  to: number,
): void {
  let s = src;
  for (let k = 0; k < terms.length; k++) {
    const { q, offset: o, ones, index, z } = terms[k];
    if (q === 1 && ones) {
      // z ≡ 1: 1·b = b exactly
      for (let i = from; i < to; i++) out[i] = s[i] + b[o + index[i]];
    } else if (q === 1) {
      // 0 + z·b = z·b: the general loop's sum for one column
      for (let i = from; i < to; i++) out[i] = s[i] + z[i] * b[o + index[i]];
    } else if (q === 2) {
      // (0 + z₀b₀) + z₁b₁ = z₀b₀ + z₁b₁
      for (let i = from; i < to; i++) {
        const c = o + 2 * index[i];
        out[i] = s[i] + (z[2 * i] * b[c] + z[2 * i + 1] * b[c + 1]);
      }
    } else {
      for (let i = from; i < to; i++) {
        const c = o + index[i] * q;
        let t = 0;
        for (let r = 0; r < q; r++) t += z[i * q + r] * b[c + r];
        out[i] = s[i] + t;
      }
    }
    s = out;
  }
  if (s !== out) { for (let i = from; i < to; i++) out[i] = s[i]; }
}

/** A model's fixed and random-effects design, as the rows' η needs it. */
export interface RowDesign {
  /** X, n × p column-major. */
  readonly x: Float64Array;
  /** Columns of X. */
  readonly p: number;
  /** The random-effects terms in lme4's order. */
  readonly terms: readonly ZTermRows[];
  /** Length of b (columns of Z). */
  readonly qTotal: number;
  /**
   * Poisson with integer responses: the aic's per-row constants
   * −stirlerr(y) and ½ log(2π y) (see {@link poissonAicRows}).
   */
  readonly poissonAic?: { readonly st: Float64Array; readonly c: Float64Array };
}

/**
 * Bytes a row of a design may take for {@link SharedRows} to copy it (X
 * and the terms' rows and levels): wider designs stay unshared (η is then
 * formed on the main thread), so that a wide X is never held twice.
 */
export const DESIGN_SHARE_MAX_BYTES = 256;

/** Bytes a row of `d` takes in a shared design buffer. */
export function designBytesPerRow(d: RowDesign): number {
  const term = (t: ZTermRows) => (t.ones ? 0 : 8 * t.q) + 4;
  return 8 * d.p + d.terms.reduce((s, t) => s + term(t), 0) + (d.poissonAic ? 16 : 0);
}

/** Where a {@link RowDesign} lies in a shared buffer (byte offsets). */
interface DesignLayout {
  readonly n: number;
  readonly p: number;
  readonly qTotal: number;
  readonly xAt: number;
  readonly bAt: number;
  readonly betaAt: number;
  /** The Poisson aic's constants (−1: none). */
  readonly stAt: number;
  readonly cAt: number;
  readonly terms: readonly {
    q: number;
    offset: number;
    ones: boolean;
    zAt: number;
    indexAt: number;
  }[];
}

/** The design's arrays in one shared buffer, with b and β. */
interface DesignViews extends RowDesign {
  /** b of the pass (Z's column order). */
  readonly b: Float64Array;
  /** β of the pass. */
  readonly beta: Float64Array;
}

/** Views of a design buffer laid out as `l` says. */
function designViews(buffer: ArrayBufferLike, l: DesignLayout): DesignViews {
  return {
    x: new Float64Array(buffer, l.xAt, l.n * l.p),
    p: l.p,
    qTotal: l.qTotal,
    b: new Float64Array(buffer, l.bAt, l.qTotal),
    beta: new Float64Array(buffer, l.betaAt, l.p),
    ...(l.stAt >= 0
      ? {
        poissonAic: {
          st: new Float64Array(buffer, l.stAt, l.n),
          c: new Float64Array(buffer, l.cAt, l.n),
        },
      }
      : {}),
    terms: l.terms.map((t) => ({
      q: t.q,
      offset: t.offset,
      ones: t.ones,
      z: new Float64Array(buffer, t.zAt, t.ones ? 0 : l.n * t.q),
      index: new Int32Array(buffer, t.indexAt, l.n),
    })),
  };
}

/** Lay out a design of n rows: the layout and the bytes it takes. */
function layoutDesign(d: RowDesign, n: number): { layout: DesignLayout; bytes: number } {
  let at = 0;
  const take = (bytes: number) => {
    const here = at;
    at += Math.ceil(bytes / 8) * 8;
    return here;
  };
  const xAt = take(8 * n * d.p);
  const terms = d.terms.map((t) => ({
    q: t.q,
    offset: t.offset,
    ones: t.ones,
    // a random intercept's z (all ones) is never read: not copied
    zAt: take(t.ones ? 0 : 8 * n * t.q),
    indexAt: take(4 * n),
  }));
  const bAt = take(8 * d.qTotal), betaAt = take(8 * d.p);
  const stAt = d.poissonAic ? take(8 * n) : -1, cAt = d.poissonAic ? take(8 * n) : -1;
  return {
    layout: { n, p: d.p, qTotal: d.qTotal, xAt, bAt, betaAt, stAt, cAt, terms },
    bytes: at,
  };
}

/** The arrays of one model's rows, as views of one shared buffer. */
interface RowViews {
  part: Float64Array;
  /** Three η arrays: two for PIRLS's alternating iterates, one for other input. */
  eta: [Float64Array, Float64Array, Float64Array];
  mu: Float64Array;
  ex: Float64Array;
  logs: Float64Array;
  y: Float64Array;
  wt: Float64Array;
  /** PIRLS's base of the working response (Xβ + offset, or the offset). */
  base: Float64Array;
  /** Working weights and response. */
  w: Float64Array;
  z: Float64Array;
  /** The aic's per-row terms. */
  aic: Float64Array;
}

/** Views of `buffer` laid out for n rows (see {@link SharedRows}). */
function rowViews(buffer: ArrayBufferLike, n: number, chunks: number): RowViews {
  const at = (k: number) => new Float64Array(buffer, (chunks + k * n) * 8, n);
  return {
    part: new Float64Array(buffer, 0, chunks),
    eta: [at(0), at(1), at(2)],
    mu: at(3),
    ex: at(4),
    logs: at(5),
    y: at(6),
    wt: at(7),
    base: at(8),
    w: at(9),
    z: at(10),
    aic: at(11),
  };
}

/** Arrays per row in a {@link SharedRows} buffer. */
const ROW_ARRAYS = 12;

/**
 * Chunk c of `chunks` over the rows in `v` (n rows) for command `cmd` (a
 * slot value of `T`): the logit or Poisson row pass at η = v.eta[which],
 * its sum into v.part[c], with η formed first from the design `d` when
 * `form` is 1 (v.base + Zb) or 2 (v.base + Xβ + Zb); or the working
 * weights and response at the last pass (`base`: whether z subtracts
 * v.base). What either thread runs for a chunk.
 */
function runRowChunk(
  k: RowKernels,
  T: typeof S,
  v: RowViews,
  d: DesignViews | null,
  n: number,
  chunks: number,
  c: number,
  cmd: number,
  keep: boolean,
  which: number,
  base: boolean,
  form: number,
): void {
  const from = Math.floor((c * n) / chunks), to = Math.floor(((c + 1) * n) / chunks);
  const eta = v.eta[which];
  if (form !== 0) {
    // η formed first: v.base (+ Xβ) + Zb
    if (!d) throw new Error("no design");
    if (form === 2) k.xbRows(d.x, n, d.beta, v.base, eta, from, to);
    k.zbRows(d.terms, d.b, form === 2 ? eta : v.base, eta, from, to);
  }
  if (cmd === T.logit) {
    v.part[c] = k.logitBinaryRows(eta, v.mu, v.ex, v.y, v.wt, v.logs, keep, from, to);
  } else if (cmd === T.poisson) {
    v.part[c] = k.logPoissonRows(eta, v.mu, v.y, v.wt, v.logs, keep, from, to);
  } else if (cmd === T.logitWorking) {
    k.logitWorkingRows(eta, base ? v.base : null, v.mu, v.ex, v.y, v.wt, v.w, v.z, from, to);
  } else if (cmd === T.poissonWorking) {
    k.poissonWorkingRows(eta, base ? v.base : null, v.mu, v.y, v.wt, v.w, v.z, from, to);
  } else if (cmd === T.logitAic) {
    k.binaryAicRows(v.y, v.wt, v.mu, v.logs, keep, v.aic, from, to);
  } else if (cmd === T.poissonAic) {
    const pc = d?.poissonAic;
    if (!pc) throw new Error("no aic constants");
    k.poissonAicRows(v.y, v.wt, v.mu, v.logs, keep, pc.st, pc.c, v.aic, from, to);
  } else throw new Error(`unknown row command ${cmd}`);
}

/** The message that links the worker to a model's rows. */
interface RowBinding {
  buffer: SharedArrayBuffer;
  n: number;
  id: number;
  seq: number;
  design?: { buffer: SharedArrayBuffer; layout: DesignLayout };
}

/** What the worker receives as `workerData`. */
interface RowWorkerData {
  readonly ctl: Int32Array;
  readonly slots: typeof S;
  readonly chunks: number;
}

/** The kernels and helpers both threads run (the worker gets their source). */
interface RowKernels {
  logitBinaryRows: typeof logitBinaryRows;
  logPoissonRows: typeof logPoissonRows;
  logitWorkingRows: typeof logitWorkingRows;
  poissonWorkingRows: typeof poissonWorkingRows;
  xbRows: typeof xbRows;
  zbRows: typeof zbRows;
  binaryAicRows: typeof binaryAicRows;
  poissonAicRows: typeof poissonAicRows;
  rowViews: typeof rowViews;
  designViews: typeof designViews;
  runRowChunk: typeof runRowChunk;
}

/** This thread's {@link RowKernels}. */
const KERNELS: RowKernels = {
  logitBinaryRows,
  logPoissonRows,
  logitWorkingRows,
  poissonWorkingRows,
  xbRows,
  zbRows,
  binaryAicRows,
  poissonAicRows,
  rowViews,
  designViews,
  runRowChunk,
};

/** The worker's program (see the module documentation). */
export function rowWorkerMain(
  data: RowWorkerData,
  port: {
    on(
      event: "message",
      listener: (msg: RowBinding) => void,
    ): unknown;
  },
  k: RowKernels,
): void {
  const { ctl, slots: T, chunks } = data;
  let v: RowViews | null = null;
  let d: DesignViews | null = null;
  let n = 0;
  let seen = 0;
  const serve = (): void => {
    for (;;) {
      // spin briefly (the next PIRLS step usually follows within a
      // millisecond), then sleep
      let seq = Atomics.load(ctl, T.seq);
      const t0 = performance.now();
      for (let i = 1; seq === seen; i++) {
        seq = Atomics.load(ctl, T.seq);
        if ((i & 255) === 0 && performance.now() - t0 > T.spinMs) break;
      }
      if (seq === seen) Atomics.wait(ctl, T.seq, seen);
      seq = Atomics.load(ctl, T.seq);
      if (seq === seen) continue;
      seen = seq;
      const cmd = ctl[T.cmd];
      if (cmd === T.rebind) return; // the message follows
      const tag = seq % T.tagMod, keep = ctl[T.keep] === 1, which = ctl[T.eta];
      const base = ctl[T.base] === 1, form = ctl[T.form];
      for (;;) {
        // announced before the claim, withdrawn after the chunk is counted:
        // a main thread that closes the claim and sees 0 here knows that no
        // chunk of an older job can still be counted in a new one
        Atomics.store(ctl, T.inflight, 1);
        const w = Atomics.load(ctl, T.claim);
        if (w < 0 || w >>> 8 !== tag || (w & 255) >= chunks) break;
        if (Atomics.compareExchange(ctl, T.claim, w, w + 1) !== w) continue;
        const c = w & 255;
        try {
          if (!v) throw new Error("no rows");
          k.runRowChunk(k, T, v, d, n, chunks, c, cmd, keep, which, base, form);
        } catch {
          Atomics.store(ctl, T.failed, 1);
        }
        Atomics.add(ctl, T.workerChunks, 1);
        Atomics.add(ctl, T.finished, 1);
        Atomics.notify(ctl, T.finished);
      }
      Atomics.store(ctl, T.inflight, 0);
      Atomics.notify(ctl, T.inflight);
    }
  };
  port.on("message", (msg) => {
    n = msg.n;
    v = k.rowViews(msg.buffer, n, chunks);
    d = msg.design ? k.designViews(msg.design.buffer, msg.design.layout) : null;
    Atomics.store(ctl, T.bound, msg.id);
    seen = msg.seq;
    Atomics.store(ctl, T.done, msg.seq);
    Atomics.notify(ctl, T.done);
    serve();
  });
  Atomics.store(ctl, T.state, 1);
  Atomics.notify(ctl, T.state);
}

/** The worker's module text. */
function rowWorkerSource(): string {
  return `import { parentPort, workerData } from "node:worker_threads";\n` +
    `const bd0 = ${bd0.toString()};\n` +
    `const logitMuRows = ${logitMuRows.toString()};\n` +
    `const binaryLogDensity = ${binaryLogDensity.toString()};\n` +
    `const poissonLogDensity = ${poissonLogDensity.toString()};\n` +
    `const k = { logitBinaryRows: ${logitBinaryRows.toString()},\n` +
    `  logPoissonRows: ${logPoissonRows.toString()},\n` +
    `  logitWorkingRows: ${logitWorkingRows.toString()},\n` +
    `  poissonWorkingRows: ${poissonWorkingRows.toString()},\n` +
    `  xbRows: ${xbRows.toString()},\n` +
    `  zbRows: ${zbRows.toString()},\n` +
    `  binaryAicRows: ${binaryAicRows.toString()},\n` +
    `  poissonAicRows: ${poissonAicRows.toString()},\n` +
    `  designViews: ${designViews.toString()},\n` +
    `  rowViews: ${rowViews.toString()},\n` +
    `  runRowChunk: ${runRowChunk.toString()} };\n` +
    `try {\n  (${rowWorkerMain.toString()})(workerData, parentPort, k);\n} catch {\n` +
    `  Atomics.store(workerData.ctl, ${S.state}, -1);\n` +
    `  Atomics.notify(workerData.ctl, ${S.state});\n}\n`;
}

type Status = "idle" | "starting" | "ready" | "dead";
let status: Status = "idle";
let worker: HelperWorker | undefined;
let ctl: Int32Array | undefined;
let seq = 0;
let boundId = 0;
let nextId = 1;
let force = false;

/** Start the worker (asynchronously); on any failure, mark it dead. */
function start(): void {
  status = "dead";
  try {
    const c = new Int32Array(new SharedArrayBuffer(S.length * 4));
    const data: RowWorkerData = { ctl: c, slots: S, chunks: ROW_CHUNKS };
    const w = spawnHelper(rowWorkerSource(), data, "lmer-rows", (gone) => {
      if (worker === gone) stop();
    });
    if (!w) return;
    worker = w;
    ctl = c;
    seq = 0;
    boundId = 0;
    status = "starting";
  } catch {
    stop();
  }
}

function stop(): void {
  const w = worker;
  worker = undefined;
  ctl = undefined;
  status = "dead";
  if (w) {
    try {
      w.terminate();
    } catch {
      // already gone
    }
  }
}

/**
 * For tests: when on, the main thread leaves every chunk of a shared pass
 * to the helper (waiting up to 30 s for it to start), so that the helper's
 * code path is taken whatever the machine's load. Results are the same.
 */
export function forceRowHelper(on: boolean): void {
  force = on;
}

let interruptNext = false;

/**
 * For tests: the next shared pass throws right after handing its job to the
 * helper, as a pass cut off by an exception or a notebook interrupt would
 * leave it (the helper still running the job's chunks).
 */
export function interruptNextRowPass(): void {
  interruptNext = true;
}

/**
 * Close any job still open (one whose pass was cut off before it ended)
 * and wait until the worker has left it, so that none of its chunks is
 * counted in the next job; false (and the helper stopped) if the worker
 * does not come back within a minute.
 */
function settled(c: Int32Array): boolean {
  Atomics.store(c, S.claim, -1);
  if (waitFor(c, S.inflight, (v) => v === 0, 60_000)) return true;
  stop();
  return false;
}

/** Chunks the helper ran since the process started (statistics for tests). */
export function rowHelperChunks(): number {
  return ctl ? Atomics.load(ctl, S.workerChunks) : 0;
}

/**
 * The row arrays of one model (n ≥ {@link ROW_THREADS_MIN}) in one shared
 * buffer, and its chunked passes.
 */
export class SharedRows {
  /** Rows. */
  readonly n: number;
  /**
   * Views: chunk sums, three η arrays, μ, e^η, the kept logarithms, y,
   * prior weights, and PIRLS's base, working weights and working response.
   */
  readonly v: RowViews;
  /** The model's design with b and β, when given (passes can form η). */
  readonly design: DesignViews | null;
  readonly #buffer: ArrayBuffer | SharedArrayBuffer;
  readonly #design: { buffer: ArrayBuffer | SharedArrayBuffer; layout: DesignLayout } | undefined;
  readonly #id = nextId++;

  /**
   * Copy y and the prior weights into a new buffer for n = y.length rows,
   * and the design (X, the terms' z and levels) into a second one.
   */
  constructor(y: Float64Array, wt: Float64Array, design?: RowDesign) {
    const n = y.length;
    this.n = n;
    const alloc = (bytes: number) =>
      typeof SharedArrayBuffer === "function"
        ? new SharedArrayBuffer(bytes)
        : new ArrayBuffer(bytes);
    this.#buffer = alloc((ROW_CHUNKS + ROW_ARRAYS * n) * 8);
    this.v = rowViews(this.#buffer, n, ROW_CHUNKS);
    this.v.y.set(y);
    this.v.wt.set(wt);
    this.design = null;
    if (design) {
      const { layout, bytes } = layoutDesign(design, n);
      const buffer = alloc(bytes);
      const d = designViews(buffer, layout);
      d.x.set(design.x);
      design.terms.forEach((t, k) => {
        if (!t.ones) d.terms[k].z.set(t.z);
        d.terms[k].index.set(t.index);
      });
      if (design.poissonAic && d.poissonAic) {
        d.poissonAic.st.set(design.poissonAic.st);
        d.poissonAic.c.set(design.poissonAic.c);
      }
      this.#design = { buffer, layout };
      this.design = d;
    }
  }

  /**
   * One pass at η = v.eta[which] (μ into v.mu, and v.ex / v.logs): the
   * kernel of `kind` on every chunk, on two threads where the helper is
   * available; the deviance is the chunk sums added in chunk order. With
   * `b` (and `beta`), η is formed first in each chunk, into v.eta[which]:
   * v.base + Zb (+ Xβ before Zb when `beta` is given), by the design's
   * arithmetic of {@link xbRows} and {@link zbRows}.
   */
  pass(
    kind: "logit" | "poisson",
    keep: boolean,
    which: number,
    b?: Float64Array,
    beta?: ArrayLike<number>,
  ): number {
    let form = 0;
    if (b) {
      const d = this.design;
      if (!d) throw new Error("these rows have no design to form η from");
      d.b.set(b);
      if (beta) d.beta.set(beta);
      form = beta ? 2 : 1;
    }
    this.#job(kind === "logit" ? S.logit : S.poisson, keep, which, false, form);
    const part = this.v.part;
    let dev = 0;
    for (let k = 0; k < ROW_CHUNKS; k++) dev += part[k];
    return dev;
  }

  /**
   * The working weights and response (into v.w, v.z) at the last
   * {@link pass} (η = v.eta[which], its μ and e^η), z less v.base when
   * `base`: every chunk on two threads where the helper is available.
   */
  working(kind: "logit" | "poisson", which: number, base: boolean): void {
    this.#job(kind === "logit" ? S.logitWorking : S.poissonWorking, false, which, base, 0);
  }

  /**
   * The family's aic at the last {@link pass}'s μ (with its kept
   * logarithms when `useLogs`): the per-row terms in chunks on two threads
   * where the helper is available, then summed here in row order, the
   * sum {@link WorkingRows.aic} forms. Poisson needs the design's
   * `poissonAic` constants.
   */
  aic(kind: "logit" | "poisson", useLogs: boolean): number {
    this.#job(kind === "logit" ? S.logitAic : S.poissonAic, useLogs, 0, false, 0);
    const t = this.v.aic;
    let s = 0;
    for (let i = 0; i < this.n; i++) s += t[i];
    return -2 * s;
  }

  /**
   * Wait until no job of these rows cut off before it ended (an
   * interrupted pass) can still write them: for a caller about to write
   * the shared arrays itself, outside a job (PIRLS's first working
   * response goes into v.z, which a cut-off working job writes). A job
   * settles by itself before it starts.
   */
  settle(): void {
    if (status === "ready" && ctl && boundId === this.#id) settled(ctl);
  }

  /** Command `cmd` on every chunk, shared with the helper where it is available. */
  #job(cmd: number, keep: boolean, which: number, base: boolean, form: number): void {
    const { v, n } = this;
    let c = this.#helper();
    if (c && !settled(c)) c = undefined;
    if (c) {
      c[S.cmd] = cmd;
      c[S.keep] = keep ? 1 : 0;
      c[S.eta] = which;
      c[S.base] = base ? 1 : 0;
      c[S.form] = form;
      Atomics.store(c, S.finished, 0);
      Atomics.store(c, S.failed, 0);
      seq++;
      Atomics.store(c, S.claim, (seq % S.tagMod) << 8);
      Atomics.store(c, S.seq, seq);
      Atomics.notify(c, S.seq);
      if (interruptNext) {
        interruptNext = false;
        throw new Error("row pass interrupted (test)");
      }
    }
    const run = (k: number) =>
      runRowChunk(KERNELS, S, v, this.design, n, ROW_CHUNKS, k, cmd, keep, which, base, form);
    if (!c) {
      for (let k = 0; k < ROW_CHUNKS; k++) run(k);
      return;
    }
    let mine = 0;
    if (!force) {
      for (;;) {
        const w = Atomics.load(c, S.claim);
        if ((w & 255) >= ROW_CHUNKS) break;
        if (Atomics.compareExchange(c, S.claim, w, w + 1) !== w) continue;
        run(w & 255);
        mine++;
      }
    }
    const ok = waitFor(c, S.finished, (f) => f + mine >= ROW_CHUNKS, 60_000);
    Atomics.store(c, S.claim, -1);
    if (!ok || Atomics.load(c, S.failed) !== 0) {
      // the helper is gone or failed: every chunk again on this thread
      // (a chunk it may still be writing gets the same numbers)
      stop();
      for (let k = 0; k < ROW_CHUNKS; k++) run(k);
    }
  }

  /** The helper's control array when it is ready and linked to these rows. */
  #helper(): Int32Array | undefined {
    if (status === "dead" || !parallelEnabled()) return undefined;
    if (status === "idle") start();
    if (status === "starting") {
      const c0 = ctl!;
      if (force) waitFor(c0, S.state, (s) => s !== 0, 30_000);
      const st = Atomics.load(c0, S.state);
      if (st === 0) return undefined;
      if (st !== 1) {
        stop();
        return undefined;
      }
      status = "ready";
    }
    const c = ctl!;
    if (boundId !== this.#id) {
      try {
        const msg = {
          buffer: this.#buffer,
          n: this.n,
          id: this.#id,
          seq: seq + 1,
          ...(this.#design ? { design: this.#design } : {}),
        } as RowBinding;
        worker!.postMessage(msg);
        c[S.cmd] = S.rebind;
        Atomics.store(c, S.seq, ++seq);
        Atomics.notify(c, S.seq);
      } catch {
        stop();
        return undefined;
      }
      const s = seq;
      if (!waitFor(c, S.done, (d) => d === s, 5_000) || Atomics.load(c, S.bound) !== this.#id) {
        stop();
        return undefined;
      }
      boundId = this.#id;
    }
    return c;
  }
}
