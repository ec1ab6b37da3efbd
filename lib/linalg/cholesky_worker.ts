/**
 * The helper thread of the two-thread dense Cholesky (`parallel.ts`), and
 * the work-sharing code both threads run.
 *
 * The worker does not import this file: the source text of
 * {@link choleskyWorkerMain}, {@link claimChunk} and {@link runChunk}
 * (`Function.prototype.toString`) is embedded in a `data:` module
 * ({@link choleskyWorkerSource}), so the worker starts without resolving any
 * file, whether the library was loaded from disk, a URL or a registry. These
 * functions must therefore stay self-contained: no references to anything
 * outside their bodies except their parameters and globals.
 *
 * Protocol, on an Int32Array `ctl` over a SharedArrayBuffer (indices in
 * {@link CTL}). A command (a panel solve, or a trailing update) is cut into
 * chunks that write disjoint parts of the matrix; the main thread writes the
 * command, its arguments and a fresh `claim` word (job tag, next chunk), bumps
 * `seq` and notifies. Both threads then claim chunks with compare-and-swap on
 * `claim` until none is left, running each with their own instance of the
 * same WebAssembly kernels on the shared memory; the worker counts its chunks
 * in `wdone`. The main thread returns once every chunk is done and closes the
 * claim word before it writes the next command. So if the worker is slow to
 * wake (or descheduled), the main thread simply does more chunks; a worker
 * that wakes late finds the job's tag gone and claims nothing.
 *
 * To switch to another memory the main thread posts `{ memory, id, seq }` and
 * sends the `rebind` command, on which the worker leaves its blocking loop so
 * that its event loop can deliver the message.
 * @module
 */

/** Slots of the control array, command codes and limits. */
export const CTL = {
  /** 1 once the worker is listening, -1 if it failed to start. */
  state: 0,
  /** Last command sequence number posted by the main thread. */
  seq: 1,
  /** Last sequence number the worker has seen through (rebind only). */
  done: 2,
  /** The command of `seq`. */
  cmd: 3,
  /** Id of the memory the worker is linked to. */
  bound: 4,
  /** Set to 1 if a chunk failed in the worker (its results are then void). */
  failed: 5,
  /** Time the worker spent on chunks (µs, wrapping; statistics only). */
  busyUs: 6,
  /** Claim word: (job tag << 8) | next chunk; -1 when closed. */
  claim: 7,
  /** Chunks the worker completed in the current job. */
  wdone: 8,
  /** Number of chunks of the current job. */
  nChunks: 9,
  /** 1 while the main thread is inside a factorization (more jobs coming). */
  active: 23,
  /** First of the command's arguments. */
  args: 10,
  /** First of the chunk boundaries (`nChunks + 1` values). */
  bounds: 24,
  /** Most chunks per job (the claim word has 8 bits for the index). */
  maxChunks: 64,
  /** Length of the control array. */
  length: 24 + 64 + 1,
  /** Job tags are taken modulo this (23 bits: claim stays positive). */
  tagMod: 1 << 23,
  /** Command: leave the blocking loop and receive a memory message. */
  rebind: 1,
  /**
   * Command: panel solve and packing. Args: b, m, kb, l, ld, pack. Chunk c
   * covers row groups [bounds[c], bounds[c + 1]), the last one also the rows
   * of the partial group: panelSolve on those rows, then packRows.
   */
  panel: 2,
  /**
   * Command: trailing update. Args: pack, kb, mg, c, ldc. Chunk c is
   * syrkTiles on tile columns [bounds[c], bounds[c + 1]).
   */
  syrk: 3,
  /**
   * How long (ms) a waiting thread spins before it sleeps. The worker spins
   * only while `active` (between the steps of a factorization, where the next
   * job follows within microseconds and waking a sleeping thread can take
   * much longer); otherwise it sleeps at once, leaving the core to others.
   */
  spinMs: 1,
} as const;

/** The kernels as the work-sharing code calls them (byte offsets). */
export interface ChunkKernels {
  /** See `DenseKernels.syrkTiles`. */
  syrkTiles(
    pack: number,
    kb: number,
    mg: number,
    c: number,
    ldc: number,
    gj0: number,
    gj1: number,
  ): void;
  /** See `DenseKernels.packRows`. */
  packRows(p: number, lda: number, kb: number, g0: number, g1: number, pack: number): void;
  /** See `DenseKernels.panelSolve`. */
  panelSolve(b: number, m: number, kb: number, l: number, ld: number): void;
}

/**
 * Claim the next chunk of the job tagged `tag`: its index, or -1 if none is
 * left (or the job is over). `S` is {@link CTL}.
 */
export function claimChunk(ctl: Int32Array, S: typeof CTL, tag: number, nChunks: number): number {
  for (;;) {
    const w = Atomics.load(ctl, S.claim);
    if (w < 0 || w >>> 8 !== tag) return -1;
    const c = w & 255;
    if (c >= nChunks) return -1;
    if (Atomics.compareExchange(ctl, S.claim, w, w + 1) === w) return c;
  }
}

/** Run chunk `c` of command `cmd` (arguments in `ctl`, see {@link CTL} = `S`). */
export function runChunk(
  ex: ChunkKernels,
  ctl: Int32Array,
  S: typeof CTL,
  cmd: number,
  c: number,
): void {
  const a = S.args;
  const g0 = ctl[S.bounds + c], g1 = ctl[S.bounds + c + 1];
  if (cmd === S.panel) {
    const b = ctl[a], m = ctl[a + 1], kb = ctl[a + 2], l = ctl[a + 3], ld = ctl[a + 4];
    const last = c === ctl[S.nChunks] - 1;
    const rows = (last ? m : 4 * g1) - 4 * g0;
    ex.panelSolve(b + 32 * g0, rows, kb, l, ld);
    ex.packRows(b, ld, kb, g0, g1, ctl[a + 5]);
  } else if (cmd === S.syrk) {
    ex.syrkTiles(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], g0, g1);
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
}

/** What the worker receives as `workerData`. */
export interface CholeskyWorkerData {
  /** The control array (see {@link CTL}). */
  readonly ctl: Int32Array;
  /** The kernels' module, compiled for a shared memory. */
  readonly module: WebAssembly.Module;
  /** {@link CTL}. */
  readonly slots: typeof CTL;
}

/** The parts of `node:worker_threads`' `parentPort` the worker uses. */
export interface CholeskyWorkerPort {
  /** Subscribe to messages from the main thread. */
  on(
    event: "message",
    listener: (msg: { memory: WebAssembly.Memory; id: number; seq: number }) => void,
  ): unknown;
}

/** The work-sharing functions, passed to the worker's program. */
export interface ChunkLib {
  /** {@link claimChunk}. */
  claimChunk: typeof claimChunk;
  /** {@link runChunk}. */
  runChunk: typeof runChunk;
}

/** The worker's program (see the module documentation). */
export function choleskyWorkerMain(
  data: CholeskyWorkerData,
  port: CholeskyWorkerPort,
  lib: ChunkLib,
): void {
  const { ctl, module, slots: S } = data;
  let ex: ChunkKernels | null = null;
  let seen = 0;
  const pause = (Atomics as unknown as { pause?: () => void }).pause;
  const serve = (): void => {
    for (;;) {
      // spin briefly while a factorization is under way, then sleep
      let seq = Atomics.load(ctl, S.seq);
      if (seq === seen) {
        const t0 = performance.now();
        for (let i = 1; seq === seen && Atomics.load(ctl, S.active) === 1; i++) {
          if (pause) pause();
          seq = Atomics.load(ctl, S.seq);
          if ((i & 255) === 0 && performance.now() - t0 > S.spinMs) break;
        }
      }
      if (seq === seen) Atomics.wait(ctl, S.seq, seen);
      seq = Atomics.load(ctl, S.seq);
      if (seq === seen) continue;
      seen = seq;
      const cmd = ctl[S.cmd];
      if (cmd === S.rebind) return; // the memory message follows
      const tag = seq % S.tagMod, n = ctl[S.nChunks];
      for (let c; (c = lib.claimChunk(ctl, S, tag, n)) >= 0;) {
        const t0 = performance.now();
        try {
          if (!ex) throw new Error("no memory");
          lib.runChunk(ex, ctl, S, cmd, c);
        } catch {
          Atomics.store(ctl, S.failed, 1);
        }
        ctl[S.busyUs] += Math.round((performance.now() - t0) * 1000);
        Atomics.add(ctl, S.wdone, 1);
        Atomics.notify(ctl, S.wdone);
      }
    }
  };
  port.on("message", (msg) => {
    try {
      const inst = new WebAssembly.Instance(module, { env: { memory: msg.memory } });
      ex = inst.exports as unknown as ChunkKernels;
      Atomics.store(ctl, S.bound, msg.id);
    } catch {
      ex = null;
      Atomics.store(ctl, S.failed, 1);
    }
    seen = msg.seq;
    Atomics.store(ctl, S.done, msg.seq);
    Atomics.notify(ctl, S.done);
    serve();
  });
  // warm-up on a scratch memory, so that V8 has the kernels in its optimizing
  // tier before the first command (a long call never switches tiers midway)
  try {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    new Float64Array(memory.buffer).fill(0.5);
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    const w = inst.exports as unknown as ChunkKernels;
    for (let r = 0; r < 8; r++) {
      w.panelSolve(0, 128, 64, 0, 128); // a 128 × 64 panel at 0, pack at 128 KiB
      w.packRows(0, 128, 64, 0, 32, 131072);
      w.syrkTiles(131072, 64, 32, 0, 128, 0, 32);
    }
  } catch {
    // only an optimization
  }
  Atomics.store(ctl, S.state, 1);
  Atomics.notify(ctl, S.state);
}

/** The worker's module text: a `node:worker_threads` entry calling {@link choleskyWorkerMain}. */
export function choleskyWorkerSource(): string {
  return `import { parentPort, workerData } from "node:worker_threads";\n` +
    `const lib = { claimChunk: ${claimChunk.toString()},\n` +
    `  runChunk: ${runChunk.toString()} };\n` +
    `try {\n  (${choleskyWorkerMain.toString()})(workerData, parentPort, lib);\n} catch {\n` +
    `  Atomics.store(workerData.ctl, ${CTL.state}, -1);\n` +
    `  Atomics.notify(workerData.ctl, ${CTL.state});\n}\n`;
}
