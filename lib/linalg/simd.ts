/**
 * Optional WebAssembly SIMD acceleration of the dense Cholesky
 * ({@link potrf}): matrices placed in a {@link SimdArena} (Float64Array views
 * on one WebAssembly memory) are updated by the f64x2 kernels of
 * `simd_source.ts`, about 2.5× faster than the plain JavaScript loops, with
 * bitwise-identical results. Where WebAssembly SIMD is unavailable,
 * {@link simdArena} returns undefined and callers use ordinary arrays.
 *
 * Large arenas use a shared memory when the platform allows it, so that
 * `parallel.ts` can split the factorization with a worker thread.
 * @module
 */

import { SIMD_WASM_BASE64, SIMD_WASM_SHARED_BASE64 } from "./simd_binary.ts";
import { PARALLEL_MIN_ORDER, parallelEnabled } from "./parallel.ts";

/** The kernels, addressing their memory by byte offset. */
export interface DenseKernels {
  /** The memory every matrix passed to the kernels must live in. */
  readonly memory: WebAssembly.Memory;
  /** The compiled module (shared or ordinary memory import) behind them. */
  readonly module: WebAssembly.Module;
  /**
   * C −= P Pᵀ on the 4 × 4 tiles of column groups gj0 ≤ gj < gj1, rows
   * groups gj ≤ gi < mg (full groups only; see `syrkLowerPacked`).
   */
  syrkTiles(
    pack: number,
    kb: number,
    mg: number,
    c: number,
    ldc: number,
    gj0: number,
    gj1: number,
  ): void;
  /** Pack the full 4-row groups g0 ≤ g < g1 of a panel (see `syrkLowerPacked`). */
  packRows(p: number, lda: number, kb: number, g0: number, g1: number, pack: number): void;
  /** B ← B L⁻ᵀ for an m × kb panel (see `potrf`). */
  panelSolve(b: number, m: number, kb: number, l: number, ld: number): void;
}

const compiled: (WebAssembly.Module | null | undefined)[] = [undefined, undefined];

/**
 * The compiled module (for a shared or an ordinary memory), or null where
 * WebAssembly (SIMD, or shared memory) is not supported.
 */
export function simdModule(shared: boolean): WebAssembly.Module | null {
  const i = shared ? 1 : 0;
  const done = compiled[i];
  if (done !== undefined) return done;
  let mod: WebAssembly.Module | null = null;
  try {
    const bin = atob(shared ? SIMD_WASM_SHARED_BASE64 : SIMD_WASM_BASE64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    mod = new WebAssembly.Module(bytes);
  } catch {
    mod = null;
  }
  compiled[i] = mod;
  return mod;
}

/**
 * A fixed-size WebAssembly memory handing out Float64Array views, with the
 * kernels bound to it. Its memory never grows, so views stay valid.
 */
export class SimdArena {
  /** The kernels bound to this arena's memory. */
  readonly kernels: DenseKernels;
  private next = 0;
  private readonly capacity: number;

  private constructor(kernels: DenseKernels, capacity: number) {
    this.kernels = kernels;
    this.capacity = capacity;
  }

  /**
   * Build an arena for `doubles` Float64 values, or undefined without SIMD.
   * With `shared`, the memory is a shared one if the platform supports it
   * (else an ordinary one).
   */
  static create(doubles: number, shared = false): SimdArena | undefined {
    const bytes = doubles * 8 + 64;
    const pages = Math.max(1, Math.ceil(bytes / 65536));
    if (pages > 65536) return undefined;
    if (shared) {
      const arena = SimdArena.build(pages, true);
      if (arena) return arena;
    }
    return SimdArena.build(pages, false);
  }

  private static build(pages: number, shared: boolean): SimdArena | undefined {
    const mod = simdModule(shared);
    if (!mod) return undefined;
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
      const inst = new WebAssembly.Instance(mod, { env: { memory } });
      const ex = inst.exports as unknown as Omit<DenseKernels, "memory" | "module">;
      return new SimdArena({
        memory,
        module: mod,
        syrkTiles: ex.syrkTiles,
        packRows: ex.packRows,
        panelSolve: ex.panelSolve,
      }, pages * 65536);
    } catch {
      return undefined;
    }
  }

  /** A zeroed view of `n` doubles (8-byte aligned) in the arena. */
  alloc(n: number): Float64Array {
    const at = this.next;
    if (at + n * 8 > this.capacity) throw new Error("SimdArena exhausted");
    this.next = at + n * 8;
    return new Float64Array(this.kernels.memory.buffer, at, n);
  }
}

/**
 * An arena for `doubles` values, or undefined where WebAssembly SIMD is not
 * available (the caller then allocates plain Float64Arrays). Arenas large
 * enough for a matrix that `potrf` factors with two threads (order ≥
 * {@link PARALLEL_MIN_ORDER}) use a shared memory, unless `shared` says
 * otherwise or two-thread factorization is disabled (`parallel.ts`).
 *
 * @example
 * ```ts
 * const arena = simdArena(100 * 100 + potrfWorkSize(100));
 * const a = arena ? arena.alloc(100 * 100) : new Float64Array(100 * 100);
 * ```
 */
export function simdArena(doubles: number, shared?: boolean): SimdArena | undefined {
  const share = shared ??
    (doubles >= PARALLEL_MIN_ORDER * PARALLEL_MIN_ORDER && parallelEnabled());
  return SimdArena.create(doubles, share);
}

/** The kernels if `arrays` all live in their memory, else undefined. */
export function kernelsFor(
  kernels: DenseKernels | undefined,
  ...arrays: Float64Array[]
): DenseKernels | undefined {
  if (!kernels) return undefined;
  const buf = kernels.memory.buffer;
  return arrays.every((a) => a.buffer === buf) ? kernels : undefined;
}
