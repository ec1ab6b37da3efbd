/**
 * A second thread for the large dense Cholesky ({@link potrf}).
 *
 * When a matrix of order ≥ {@link PARALLEL_MIN_ORDER} lives in a shared
 * WebAssembly memory (`simdArena` makes large arenas shared), `potrf` shares
 * each panel solve and each trailing update with a helper thread: a
 * `node:worker_threads` Worker running the same WebAssembly kernels on the
 * same memory. The step is cut into chunks (row blocks, tile columns) that
 * both threads claim with compare-and-swap until none is left (so a helper
 * that is slow to wake, or descheduled, just takes fewer), synchronised with
 * `Atomics.wait`/`notify` (protocol in `cholesky_worker.ts`). Every output
 * element is computed by one thread with the same operations in the same
 * order, so the factor is bitwise identical to the single-thread one.
 *
 * The worker is started lazily, once single-thread factorizations of large
 * matrices have taken {@link START_AFTER_MS} ms in all (so small fits never
 * pay its ~50 ms start-up), is reused by every later factorization, and is
 * unref'd: it never keeps the process (or a Jupyter kernel) alive. Anything
 * missing (Workers, shared memory, `Atomics.wait` on the main thread, a
 * worker that fails to start) leaves the single-thread path in place, without
 * a message.
 *
 * By default ("auto") the factorization uses two threads but checks every so
 * often that they are faster than one (they are not on a machine whose other
 * core is busy), see {@link ThreadTuner}. Disable it with the environment
 * variable `LMER_THREADS=1` (read when environment access is granted; `2`
 * forces two threads) or by calling {@link setDenseThreads}`(1)`.
 * @module
 */

import type { DenseKernels } from "./simd.ts";
import {
  type CholeskyWorkerData,
  choleskyWorkerSource,
  claimChunk,
  CTL,
  runChunk,
} from "./cholesky_worker.ts";

/** Smallest order `potrf` factors with two threads. */
export const PARALLEL_MIN_ORDER = 400;

/** Single-thread time (ms) on eligible matrices after which the worker starts. */
export const START_AFTER_MS = 150;

/**
 * Longest waits (ms) for the worker before giving up on it: for a chunk it is
 * computing (the factorization then throws), and for the acknowledgement of a
 * new memory (the factorization then runs on one thread).
 */
const TIMEOUT_MS = 60_000, BIND_TIMEOUT_MS = 5_000;

/**
 * Longest wait for the worker's first chunk under {@link forceHelperShare}
 * (tests only). Generous: on a 2-core machine running other test processes
 * the helper was seen to need more than 2 s to be scheduled, and a test then
 * saw "the helper took no part"; after one such wait forcing stops, so a
 * helper that never answers costs this once.
 */
const FORCE_WAIT_MS = 30_000;

/** State of the helper thread. */
export type HelperStatus = "idle" | "starting" | "ready" | "dead";

/** The parts of a `node:worker_threads` Worker the helpers use. */
export interface HelperWorker {
  /** Let the process exit while the worker runs. */
  unref(): void;
  /** Stop the worker. */
  terminate(): unknown;
  /** Send a message (delivered by the worker's event loop). */
  postMessage(msg: unknown): void;
  /** Subscribe to "error" and "exit". */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** How many threads large factorizations use (see {@link setDenseThreads}). */
export type DenseThreads = 1 | 2 | "auto";

let threads: DenseThreads | undefined; // undefined: not decided yet
let status: HelperStatus = "idle";
let worker: HelperWorker | undefined;
let ctl: Int32Array | undefined;
let bound: WeakRef<WebAssembly.Memory> | undefined; // not keeping an arena alive
let seq = 0;
let serialMs = 0;
let waitMs = 0;
let busyBase = 0;
let workerChunks = 0; // chunks the worker ran since the last parallelStatus()
let forceShare = false;
const memoryIds = new WeakMap<WebAssembly.Memory, number>();
let nextMemoryId = 1;

/**
 * Threads for large dense factorizations from now on: 1 (single-thread), 2
 * (two whenever the helper is available), or "auto" (the default): two, but
 * every so often one factorization runs on one thread and is compared with
 * its neighbour, and if two threads are not clearly faster (a busy machine,
 * where the helper only competes with other processes for the cores) one
 * thread is used until the next comparison. The environment variable
 * `LMER_THREADS` (1, 2 or auto; read when environment access is granted)
 * sets the initial value. Switching to 1 stops the worker; switching back
 * may start a new one. All settings give bitwise the same results. The
 * setting also governs glmer's row pass (fits of 4,096 rows or more, see
 * `lib/models/glmer/row_threads.ts`): 1 keeps it on one thread, otherwise
 * it shares the rows with its own helper whenever that is available.
 *
 * @example
 * ```ts
 * setDenseThreads(1); // reproduce single-thread timings
 * ```
 */
export function setDenseThreads(n: DenseThreads): void {
  threads = n;
  tuners.clear();
  if (n === 1) stop("idle");
}

/** Whether two-thread factorization is enabled (not whether it is available). */
export function parallelEnabled(): boolean {
  if (threads === undefined) threads = envThreads();
  return threads !== 1;
}

/** `LMER_THREADS` if environment access is granted (never prompts), else "auto". */
function envThreads(): DenseThreads {
  try {
    const d = (globalThis as { Deno?: typeof Deno }).Deno;
    if (!d) return "auto";
    const st = d.permissions.querySync({ name: "env", variable: "LMER_THREADS" });
    if (st.state !== "granted") return "auto";
    const v = d.env.get("LMER_THREADS")?.trim();
    return v === "1" ? 1 : v === "2" ? 2 : "auto";
  } catch {
    return "auto";
  }
}

/**
 * The "auto" choice between one and two threads for factorizations of one
 * order: two, except that every `period` calls the other mode is tried once
 * and timed against the call just before; if two threads were not at least 3%
 * faster, one thread is preferred until the next comparison. The period is
 * 16 calls, doubled (to at most 128) after each clear win of two threads
 * (< 0.8 × the single-thread time), so that a quiet machine rarely pays for a
 * single-thread probe.
 */
export class ThreadTuner {
  private calls = 0;
  private readonly at: [number, number] = [-Infinity, -Infinity];
  private readonly ms: [number, number] = [NaN, NaN];
  /** Calls between comparisons. */
  period = 16;
  /** Whether one thread is currently preferred. */
  preferOne = false;

  /** Whether the next factorization should use two threads. */
  chooseTwo(): boolean {
    const c = ++this.calls;
    const pref = this.preferOne ? 0 : 1;
    return (c - this.at[1 - pref] >= this.period ? 1 - pref : pref) === 1;
  }

  /**
   * Record the time of a complete factorization (on two threads or one). Calls
   * made before any {@link chooseTwo} count as one single-thread baseline.
   */
  note(two: boolean, ms: number): void {
    const mode = two ? 1 : 0, other = 1 - mode;
    this.at[mode] = this.calls;
    this.ms[mode] = ms;
    const probe = mode !== (this.preferOne ? 0 : 1);
    if (probe && this.at[other] === this.calls - 1) {
      const ratio = this.ms[1] / this.ms[0];
      this.preferOne = !(ratio < 0.97);
      this.period = ratio < 0.8 ? Math.min(128, 2 * this.period) : 16;
    }
  }
}

const tuners = new Map<number, ThreadTuner>();

function tunerFor(n: number): ThreadTuner {
  let t = tuners.get(n);
  if (!t) {
    if (tuners.size >= 16) tuners.clear();
    tuners.set(n, t = new ThreadTuner());
  }
  return t;
}

/**
 * Record a factorization of order `n` in `kernels`' memory that took `ms`, on
 * two threads or one; `complete` if it ran to the end (no early non-positive
 * pivot). Only matrices in a shared memory count.
 */
export function noteFactorTime(
  kernels: DenseKernels,
  n: number,
  two: boolean,
  ms: number,
  complete: boolean,
): void {
  if (!isShared(kernels.memory) || !parallelEnabled()) return;
  if (!two) serialMs += ms;
  if (complete) tunerFor(n).note(two, ms);
}

/**
 * The two threads' shared steps of a blocked Cholesky, on matrices in one
 * shared memory (byte offsets; see `DenseKernels`). Each call returns when the
 * step is complete; it throws if the worker failed or stopped responding.
 */
export interface DenseHelper {
  /** A factorization starts: the worker may spin between its steps. */
  begin(): void;
  /** The factorization is over: the worker sleeps until the next one. */
  end(): void;
  /**
   * B ← B L⁻ᵀ for the m × kb panel at `b` (factor L at `l`, leading dimension
   * `ld`), then pack its full 4-row groups into `pack`.
   */
  panel(b: number, m: number, kb: number, l: number, ld: number, pack: number): void;
  /**
   * The tiles of the full row groups of C −= P Pᵀ (`syrkTiles` on columns
   * [0, mg)); `meanwhile` runs on this thread once the worker is under way.
   */
  syrk(pack: number, kb: number, mg: number, c: number, ldc: number, meanwhile?: () => void): void;
}

/** Chunks per panel solve and per trailing update. */
const PANEL_CHUNKS = 16, SYRK_CHUNKS = 32;

let kern: DenseKernels | undefined; // this thread's kernels for the bound memory

const helper: DenseHelper = {
  begin() {
    Atomics.store(ctl!, CTL.active, 1);
  },
  end() {
    if (ctl) Atomics.store(ctl, CTL.active, 0);
  },
  panel(b, m, kb, l, ld, pack) {
    const c = ctl!, a = CTL.args, full = m >> 2;
    c[a] = b, c[a + 1] = m, c[a + 2] = kb, c[a + 3] = l, c[a + 4] = ld, c[a + 5] = pack;
    const per = Math.max(1, Math.ceil(full / PANEL_CHUNKS));
    let n = 0;
    for (let g = 0; g < full; g += per) c[CTL.bounds + n++] = g;
    if (n === 0) n = 1, c[CTL.bounds] = 0; // no full group: one chunk of rows
    c[CTL.bounds + n] = full;
    share(CTL.panel, n);
  },
  syrk(pack, kb, mg, c0, ldc, meanwhile) {
    const c = ctl!, a = CTL.args;
    c[a] = pack, c[a + 1] = kb, c[a + 2] = mg, c[a + 3] = c0, c[a + 4] = ldc;
    // tile columns in chunks of about equal work (column gj has mg − gj tiles)
    const total = (mg * (mg + 1)) / 2;
    let n = 0, g = 0, done = 0;
    c[CTL.bounds] = 0;
    for (let t = 1; t < SYRK_CHUNKS && g < mg; t++) {
      const target = (total * t) / SYRK_CHUNKS;
      while (g < mg && done + (mg - g) <= target) done += mg - g++;
      if (g > c[CTL.bounds + n]) c[CTL.bounds + ++n] = g;
    }
    if (c[CTL.bounds + n] < mg || n === 0) c[CTL.bounds + ++n] = mg;
    share(CTL.syrk, n, meanwhile);
  },
};

const pause = (Atomics as unknown as { pause?: () => void }).pause;

/**
 * Post command `cmd` (arguments and chunk bounds already in ctl) as a job of
 * `n` chunks, run `meanwhile`, take chunks until none is left, wait for the
 * worker's, and close the job.
 */
function share(cmd: number, n: number, meanwhile?: () => void): void {
  const c = ctl!, k = kern!;
  c[CTL.cmd] = cmd;
  c[CTL.nChunks] = n;
  Atomics.store(c, CTL.wdone, 0);
  const s = ++seq, tag = s % CTL.tagMod;
  Atomics.store(c, CTL.claim, tag << 8);
  Atomics.store(c, CTL.seq, s);
  Atomics.notify(c, CTL.seq);
  let mine = 0, lost = false;
  try {
    if (forceShare) awaitFirstClaim(c, tag);
    meanwhile?.();
    for (let ch; (ch = claimChunk(c, CTL, tag, n)) >= 0;) {
      mine++;
      runChunk(k, c, CTL, cmd, ch);
    }
  } finally {
    // close the job (normally every chunk is claimed by now), then wait for
    // the chunks the worker claimed
    const theirs = (Atomics.exchange(c, CTL.claim, -1) & 255) - mine;
    workerChunks += theirs;
    const t0 = performance.now();
    const ok = waitFor(c, CTL.wdone, (v) => v >= theirs, TIMEOUT_MS);
    waitMs += performance.now() - t0;
    if (!ok) {
      lost = true;
      stop("dead");
    }
  }
  if (lost) throw new Error("dense Cholesky: the helper thread stopped responding");
  if (Atomics.load(c, CTL.failed) !== 0) {
    stop("dead");
    throw new Error("dense Cholesky: the helper thread failed");
  }
}

/**
 * Tests only ({@link forceHelperShare}): wait until the worker has claimed the
 * first chunk of the job tagged `tag`, or at most {@link FORCE_WAIT_MS} (then
 * this thread goes on alone, and a test sees that the helper took no part).
 */
function awaitFirstClaim(c: Int32Array, tag: number): void {
  const t0 = performance.now();
  for (;;) {
    const w = Atomics.load(c, CTL.claim);
    if (w < 0 || w >>> 8 !== tag || (w & 255) >= 1) return;
    if (performance.now() - t0 > FORCE_WAIT_MS) {
      // the helper is not answering: stop forcing (every later step would
      // wait as long again), and let the test see that it took no part
      forceShare = false;
      return;
    }
    if (pause) pause();
    Atomics.wait(c, CTL.claim, w, 1);
  }
}

/**
 * For tests: when on, every shared step of a two-thread factorization waits
 * until the helper thread has taken its first chunk, so that whether the
 * helper took part no longer depends on how the OS schedules it (on a loaded
 * machine the main thread may otherwise finish every chunk first). Results
 * are the same either way; only the split of the work changes.
 */
export function forceHelperShare(on: boolean): void {
  forceShare = on;
}

/**
 * Wait until `test(ctl[slot])` holds: spin for {@link CTL.spinMs}, then sleep
 * on the slot. False after `timeout` ms. (Also glmer's row helper's wait.)
 */
export function waitFor(
  c: Int32Array,
  slot: number,
  test: (v: number) => boolean,
  timeout: number,
): boolean {
  if (test(Atomics.load(c, slot))) return true;
  const t0 = performance.now();
  // the clock is read every 256 spins: reading it is a runtime call that
  // costs more than a spin, and it would delay seeing the slot change
  for (let i = 1;; i++) {
    if (pause) pause();
    if (test(Atomics.load(c, slot))) return true;
    if ((i & 255) === 0 && performance.now() - t0 >= CTL.spinMs) break;
  }
  for (;;) {
    const v = Atomics.load(c, slot);
    if (test(v)) return true;
    if (performance.now() - t0 > timeout) return false;
    Atomics.wait(c, slot, v, 1000);
  }
}

/**
 * The helper for matrices in `kernels`' memory, or undefined to factor on
 * one thread (disabled, unavailable, not started yet, or not a shared memory).
 * Never blocks for long: starting the worker is asynchronous (apart from the
 * Worker constructor itself), binding it to a new memory waits for one
 * message round trip.
 */
export function parallelHelper(kernels: DenseKernels, n: number): DenseHelper | undefined {
  if (status === "dead" || !parallelEnabled()) return undefined;
  const memory = kernels.memory;
  if (!isShared(memory)) return undefined;
  if (status === "idle") {
    // the helper starts once single-thread work shows it would pay off
    if (serialMs >= START_AFTER_MS) start(kernels.module);
    return undefined;
  }
  if (status === "starting") {
    const st = Atomics.load(ctl!, CTL.state);
    if (st === 0) return undefined;
    if (st !== 1) {
      stop("dead");
      return undefined;
    }
    status = "ready";
  }
  if (!tunerFor(n).chooseTwo() && threads === "auto") return undefined;
  if (bound?.deref() !== memory && !bind(memory)) return undefined;
  kern = kernels;
  return helper;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer === "function" && memory.buffer instanceof SharedArrayBuffer;
}

/** Start the worker (asynchronously); on any failure, mark it dead. */
function start(module: WebAssembly.Module): void {
  status = "dead";
  try {
    const c = new Int32Array(new SharedArrayBuffer(CTL.length * 4));
    const data: CholeskyWorkerData = { ctl: c, module, slots: CTL };
    const w = spawnHelper(choleskyWorkerSource(), data, "lmer-cholesky", (gone) => {
      if (worker === gone) stop("dead");
    });
    if (!w) return;
    worker = w; // from here on, stop() terminates it
    ctl = c;
    busyBase = 0;
    seq = 0;
    bound = undefined;
    status = "starting";
  } catch {
    stop("dead");
  }
}

/**
 * A `node:worker_threads` Worker running the module text `source` with
 * `workerData`, unref'd (it never keeps the process alive), with `onGone`
 * called when it errors or exits; undefined where Workers, shared memory or
 * `Atomics.wait` on this thread are missing. Shared by the dense helper and
 * glmer's row helper (`lib/models/glmer/row_threads.ts`).
 */
export function spawnHelper(
  source: string,
  workerData: unknown,
  name: string,
  onGone: (w: HelperWorker) => void,
): HelperWorker | undefined {
  const proc = (globalThis as {
    process?: { getBuiltinModule?(id: string): unknown };
  }).process;
  const wt = proc?.getBuiltinModule?.("node:worker_threads") as
    | { Worker?: new (url: URL, opts: unknown) => HelperWorker }
    | undefined;
  if (!wt?.Worker || typeof SharedArrayBuffer !== "function") return undefined;
  // Atomics.wait must be allowed on this thread (it is not in browsers)
  const probe = new Int32Array(new SharedArrayBuffer(4));
  if (Atomics.wait(probe, 0, 1, 0) !== "not-equal") return undefined;
  const url = new URL(`data:text/javascript,${encodeURIComponent(source)}`);
  const w = new wt.Worker(url, { workerData, name });
  w.unref();
  w.on("error", () => onGone(w));
  w.on("exit", () => onGone(w));
  return w;
}

/** Link the worker to `memory`; false (and the worker stopped) on failure. */
function bind(memory: WebAssembly.Memory): boolean {
  let id = memoryIds.get(memory);
  if (id === undefined) memoryIds.set(memory, id = nextMemoryId++);
  const c = ctl!;
  try {
    // the message first: the worker looks for it when it sees the command
    worker!.postMessage({ memory, id, seq: seq + 1 });
    c[CTL.cmd] = CTL.rebind;
    Atomics.store(c, CTL.seq, ++seq);
    Atomics.notify(c, CTL.seq);
  } catch {
    stop("dead");
    return false;
  }
  const s = seq;
  if (
    !waitFor(c, CTL.done, (v) => v === s, BIND_TIMEOUT_MS) ||
    Atomics.load(c, CTL.failed) !== 0 ||
    Atomics.load(c, CTL.bound) !== id
  ) {
    stop("dead");
    return false;
  }
  bound = new WeakRef(memory);
  return true;
}

function stop(next: HelperStatus): void {
  const w = worker;
  worker = undefined;
  ctl = undefined;
  bound = undefined;
  kern = undefined;
  status = next;
  if (next === "idle") serialMs = 0;
  if (w) {
    try {
      w.terminate();
    } catch {
      // already gone
    }
  }
}

/** Diagnostics for tests and benchmarks (see {@link parallelStatus}). */
export interface ParallelStatus {
  /** The setting ({@link setDenseThreads}). */
  threads: DenseThreads;
  /** The worker: not started, starting, usable, or given up on. */
  status: HelperStatus;
  /** Single-thread factorization time that counts towards starting it (ms). */
  serialMs: number;
  /** Time the main thread waited for the worker since the last call (ms). */
  waitMs: number;
  /** Time the worker spent running chunks since the last call (ms). */
  workerMs: number;
  /** Chunks of work the worker ran since the last call. */
  workerChunks: number;
}

/** The worker's state and, since the previous call, its and the main thread's waits. */
export function parallelStatus(): ParallelStatus {
  const busy = ctl ? Atomics.load(ctl, CTL.busyUs) : 0;
  const out = {
    threads: threads ?? "auto",
    status,
    serialMs,
    waitMs,
    workerMs: ((busy - busyBase) | 0) / 1000,
    workerChunks,
  };
  busyBase = busy;
  workerChunks = 0;
  waitMs = 0;
  return out;
}
