/**
 * An optional native dense Cholesky: LAPACK's `dpotrf` from the system's
 * OpenBLAS, called through Deno's FFI.
 *
 * Why: the WebAssembly kernels (`simd.ts`) run two-wide f64 SIMD without
 * fused multiply-add, about 15–25 GFlop/s on two cores; OpenBLAS uses the
 * CPU's full vector width and FMA (AVX2/AVX-512), 3–8× that on large blocks.
 * It matters for fits whose dense block has thousands of rows (two crossed
 * 5,000-level factors: a 5,000-order factorization per evaluation).
 *
 * Used only when all hold (otherwise everything runs in WebAssembly, with
 * the same results up to rounding):
 * - the FFI permission is already granted (`deno run -A`, `--allow-ffi`, the
 *   Jupyter kernel); it is queried, never prompted for;
 * - `LMER_NATIVE` is not `0`/`off` (and {@link setNativeLapack} did not turn it off);
 * - a library exporting `dpotrf_` loads: `LMER_BLAS` (a path) if set, else
 *   OpenBLAS by its usual names (`libopenblas.so.0`, Homebrew's on macOS).
 *
 * OpenBLAS picks its kernels for the CPU itself; `OPENBLAS_CORETYPE` and
 * `OPENBLAS_NUM_THREADS` in the environment are respected, never changed
 * (some machines set the core type on purpose: older OpenBLAS builds
 * misbehave on CPUs newer than they know).
 *
 * Failure semantics equal {@link potrf}'s: on a non-positive pivot LAPACK
 * returns its 1-based index and leaves that pivot's Schur complement on the
 * diagonal (checked by a test), so callers see the same contract.
 * @module
 */

/** A loaded native LAPACK. */
export interface NativeLapack {
  /** The library's file name or path. */
  readonly library: string;
  /** OpenBLAS's kernel family ("SkylakeX", "Haswell", …) when it reports one. */
  readonly core: string;
  /**
   * Lower Cholesky of the n × n matrix at `a[off..]` (column-major, leading
   * dimension lda), in place. Returns -1 or the 0-based index of the first
   * non-positive pivot.
   */
  potrf(a: Float64Array, n: number, off: number, lda: number): number;
}

/** Smallest order factored natively (below it the call overhead and threads do not pay). */
export const NATIVE_MIN_ORDER = 256;

let state: NativeLapack | null | undefined;
let enabled = true;

/**
 * Turn the native Cholesky off (`false`) or back on (`true`, the default
 * when it loads). Tests use it to compare both paths.
 *
 * @example
 * ```ts
 * setNativeLapack(false); // WebAssembly kernels only
 * ```
 */
export function setNativeLapack(on: boolean): void {
  enabled = on;
}

function envGet(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function ffiGranted(): boolean {
  try {
    const D = (globalThis as { Deno?: typeof Deno }).Deno;
    if (!D || typeof D.dlopen !== "function") return false;
    return D.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

function candidates(): string[] {
  const own = envGet("LMER_BLAS");
  if (own) return [own];
  if (Deno.build.os === "darwin") {
    return [
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
      "libopenblas.dylib",
    ];
  }
  if (Deno.build.os === "windows") return ["libopenblas.dll", "openblas.dll"];
  return ["libopenblas.so.0", "libopenblas.so"];
}

const SYMBOLS = {
  dpotrf_: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "void",
  },
} as const;

function load(): NativeLapack | null {
  const off = envGet("LMER_NATIVE");
  if (off === "0" || off === "off" || off === "false") return null;
  if (!ffiGranted()) return null;
  for (const name of candidates()) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(name, SYMBOLS);
    } catch {
      continue;
    }
    let core = "";
    try {
      const extra = Deno.dlopen(
        name,
        {
          openblas_get_corename: { parameters: [], result: "pointer" },
        } as const,
      );
      const p = extra.symbols.openblas_get_corename();
      if (p) core = new Deno.UnsafePointerView(p).getCString();
    } catch {
      // not OpenBLAS: any LAPACK exporting dpotrf_ will do
    }
    const uplo = new Uint8Array([76]); // 'L'
    const nBuf = new Int32Array(1), ldaBuf = new Int32Array(1), info = new Int32Array(1);
    const potrf = (a: Float64Array, n: number, o: number, lda: number): number => {
      nBuf[0] = n;
      ldaBuf[0] = lda;
      info[0] = 0;
      lib.symbols.dpotrf_(uplo, nBuf, o === 0 ? a : a.subarray(o), ldaBuf, info);
      if (info[0] < 0) throw new Error(`dpotrf: argument ${-info[0]} had an illegal value`);
      return info[0] === 0 ? -1 : info[0] - 1;
    };
    // a self-check: a 2 × 2 with a known factor, and a failing pivot
    const t = Float64Array.of(4, 2, 2, 5);
    if (potrf(t, 2, 0, 2) !== -1 || t[0] !== 2 || t[1] !== 1 || t[3] !== 2) continue;
    return { library: name, core, potrf };
  }
  return null;
}

/**
 * The native LAPACK when it is available and enabled, else undefined.
 * Loaded once, on first use.
 *
 * @example
 * ```ts
 * const lapack = nativeLapack();
 * console.log(lapack ? `native: ${lapack.library} (${lapack.core})` : "WebAssembly only");
 * ```
 */
export function nativeLapack(): NativeLapack | undefined {
  if (!enabled) return undefined;
  if (state === undefined) state = load();
  return state ?? undefined;
}
