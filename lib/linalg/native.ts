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
 * diagonal (checked by a test), so callers see the same contract. A NaN
 * pivot fails too (OpenBLAS itself would carry NaN through to "success").
 * A set `LMER_BLAS` that cannot be used is reported once on `console.warn`.
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
   * non-positive or NaN pivot. Throws a RangeError when the matrix does not
   * fit in `a` (LAPACK would read and write past it).
   */
  potrf(a: Float64Array, n: number, off: number, lda: number): number;
  /**
   * The inverse of the n × n lower-triangular matrix at `a[off..]` (LAPACK's
   * `dtrtri`, column-major, leading dimension lda), in place; undefined when
   * the library does not export `dtrtri_`. The caller ensures a non-zero
   * diagonal (a factor from {@link NativeLapack.potrf} that succeeded).
   */
  readonly trtri?: (a: Float64Array, n: number, off: number, lda: number) => void;
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
  if (typeof on !== "boolean") {
    throw new TypeError(
      `setNativeLapack: expected true or false, got ${
        typeof on === "string" ? JSON.stringify(on) : String(on)
      }`,
    );
  }
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

/**
 * Refuse arguments that would make LAPACK read or write outside `a`: the
 * WebAssembly path only reads NaN past the end of a typed array, the native
 * one would corrupt memory.
 */
function checkArgs(a: Float64Array, n: number, off: number, lda: number): void {
  if (!(a instanceof Float64Array)) {
    throw new TypeError(`potrf: 'a' must be a Float64Array, got ${a === null ? "null" : typeof a}`);
  }
  const int = (v: number) => typeof v === "number" && Number.isInteger(v) && v >= 0;
  if (!int(n) || n > 2147483647) {
    throw new RangeError(`potrf: the order n must be an integer in [0, 2147483647], got ${n}`);
  }
  if (!int(off)) throw new RangeError(`potrf: 'off' must be a non-negative integer, got ${off}`);
  if (!int(lda) || lda < Math.max(1, n) || lda > 2147483647) {
    throw new RangeError(
      `potrf: 'lda' must be an integer >= max(1, n) = ${Math.max(1, n)}, got ${lda}`,
    );
  }
  if (n > 0 && off + (n - 1) * lda + n > a.length) {
    throw new RangeError(
      `potrf: a ${n} × ${n} matrix at offset ${off} with leading dimension ${lda} needs ` +
        `${off + (n - 1) * lda + n} elements; 'a' has ${a.length}`,
    );
  }
}

/**
 * The first diagonal element (of the factor LAPACK reported as finished)
 * that is not > 0, or -1. OpenBLAS's dpotrf tests `ajj <= 0` only, so a NaN
 * in the matrix runs through to a "successful" factor full of NaN, where the
 * WebAssembly path (and reference LAPACK) stop at the first NaN pivot. NaN
 * spreads from row j of the factor to every later row and never to an
 * earlier one, so the first NaN on the diagonal is exactly that pivot.
 */
function firstBadPivot(a: Float64Array, n: number, off: number, lda: number): number {
  for (let j = 0; j < n; j++) if (!(a[off + j * lda + j] > 0)) return j;
  return -1;
}

function load(): NativeLapack | null {
  const off = envGet("LMER_NATIVE");
  if (off === "0" || off === "off" || off === "false") return null;
  if (!ffiGranted()) return null;
  const own = envGet("LMER_BLAS");
  const failures: string[] = [];
  for (const name of candidates()) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(name, SYMBOLS);
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
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
      try {
        const p = extra.symbols.openblas_get_corename();
        if (p) core = new Deno.UnsafePointerView(p).getCString();
      } finally {
        extra.close();
      }
    } catch {
      // not OpenBLAS: any LAPACK exporting dpotrf_ will do
    }
    const uplo = new Uint8Array([76]); // 'L'
    // Two int32 words each, the high one 0: a LAPACK built with 64-bit
    // integers (ILP64) then reads the same little-endian values instead of
    // running past the buffers.
    const nBuf = new Int32Array(2), ldaBuf = new Int32Array(2), info = new Int32Array(2);
    const potrf = (a: Float64Array, n: number, o: number, lda: number): number => {
      checkArgs(a, n, o, lda);
      if (n === 0) return -1;
      nBuf[0] = n;
      ldaBuf[0] = lda;
      info[0] = info[1] = 0;
      lib.symbols.dpotrf_(uplo, nBuf, o === 0 ? a : a.subarray(o), ldaBuf, info);
      if (info[0] < 0) throw new Error(`dpotrf: argument ${-info[0]} had an illegal value`);
      return info[0] === 0 ? firstBadPivot(a, n, o, lda) : info[0] - 1;
    };
    // a self-check: a 2 × 2 with a known factor
    const t = Float64Array.of(4, 2, 2, 5);
    if (potrf(t, 2, 0, 2) !== -1 || t[0] !== 2 || t[1] !== 1 || t[3] !== 2) {
      failures.push(`${name}: dpotrf_ gave a wrong factor of a 2 × 2 test matrix`);
      lib.close();
      continue;
    }
    return { library: name, core, potrf, trtri: loadTrtri(name, uplo) };
  }
  // Say so when the library asked for by name is unusable (OpenBLAS simply
  // absent is not worth a message: the WebAssembly kernels are the default).
  if (own) {
    console.warn(
      `LMER_BLAS=${own}: cannot use it for the native Cholesky (${
        failures.join("; ")
      }); using the WebAssembly kernels`,
    );
  }
  return null;
}

/** LAPACK's dtrtri from the same library, when it exports it. */
function loadTrtri(
  name: string,
  uplo: Uint8Array,
): ((a: Float64Array, n: number, off: number, lda: number) => void) | undefined {
  let lib;
  try {
    lib = Deno.dlopen(
      name,
      {
        dtrtri_: {
          parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
          result: "void",
        },
      } as const,
    );
  } catch {
    return undefined;
  }
  const diag = new Uint8Array([78]); // 'N': not unit-triangular
  const nBuf = new Int32Array(2), ldaBuf = new Int32Array(2), info = new Int32Array(2);
  return (a, n, off, lda) => {
    checkArgs(a, n, off, lda);
    if (n === 0) return;
    nBuf[0] = n;
    ldaBuf[0] = lda;
    info[0] = info[1] = 0;
    lib.symbols.dtrtri_(uplo, diag, nBuf, off === 0 ? a : a.subarray(off), ldaBuf, info);
    if (info[0] !== 0) throw new Error(`dtrtri: info ${info[0]} (a zero pivot or a bad argument)`);
  };
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
