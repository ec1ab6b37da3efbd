/**
 * Optional WebAssembly SIMD acceleration of the dense Cholesky
 * ({@link potrf}): matrices placed in a {@link SimdArena} (Float64Array views
 * on one WebAssembly memory) are updated by the f64x2 kernels of
 * `simd_source.ts`, about 2.5× faster than the plain JavaScript loops, with
 * bitwise-identical results. Where WebAssembly SIMD is unavailable,
 * {@link simdArena} returns undefined and callers use ordinary arrays.
 * @module
 */

import { SIMD_WASM_BASE64 } from "./simd_binary.ts";

/** The kernels, addressing their memory by byte offset. */
export interface DenseKernels {
  /** The memory every matrix passed to the kernels must live in. */
  readonly memory: WebAssembly.Memory;
  /** Interior tiles of C −= P Pᵀ (see `syrkLowerPacked`). */
  syrkInterior(pack: number, kb: number, mg: number, c: number, ldc: number): void;
  /** B ← B L⁻ᵀ for an m × kb panel (see `potrf`). */
  panelSolve(b: number, m: number, kb: number, l: number, ld: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly (SIMD) is not supported. */
function simdModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bin = atob(SIMD_WASM_BASE64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    compiled = new WebAssembly.Module(bytes);
  } catch {
    compiled = null;
  }
  return compiled;
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

  /** Build an arena for `doubles` Float64 values, or undefined without SIMD. */
  static create(doubles: number): SimdArena | undefined {
    const mod = simdModule();
    if (!mod) return undefined;
    const bytes = doubles * 8 + 64;
    const pages = Math.max(1, Math.ceil(bytes / 65536));
    if (pages > 65536) return undefined;
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      const inst = new WebAssembly.Instance(mod, { env: { memory } });
      const ex = inst.exports as unknown as Omit<DenseKernels, "memory">;
      return new SimdArena({
        memory,
        syrkInterior: ex.syrkInterior,
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
 * available (the caller then allocates plain Float64Arrays).
 *
 * @example
 * ```ts
 * const arena = simdArena(100 * 100 + potrfWorkSize(100));
 * const a = arena ? arena.alloc(100 * 100) : new Float64Array(100 * 100);
 * ```
 */
export function simdArena(doubles: number): SimdArena | undefined {
  return SimdArena.create(doubles);
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
