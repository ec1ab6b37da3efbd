/**
 * Review of the optional native Cholesky (lib/linalg/native.ts) from a
 * user's side: non-finite matrices fail at the same pivot on both paths,
 * arguments that would make LAPACK read or write outside the array are
 * refused, shared WebAssembly memory works, and the environment switches
 * (no FFI permission, LMER_NATIVE=0, an unusable LMER_BLAS) behave as the
 * README says. The tests that need OpenBLAS are skipped without it.
 */
import assert from "node:assert/strict";
import { potrf, potrfWorkSize } from "../lib/linalg/cholesky.ts";
import { nativeLapack, setNativeLapack } from "../lib/linalg/native.ts";
import { simdArena } from "../lib/linalg/simd.ts";
import { randomSpd } from "./helpers/numeric.ts";

const lapack = nativeLapack();
const ignore = lapack === undefined;

function factor(a: Float64Array, n: number, native: boolean): number {
  setNativeLapack(native);
  try {
    return potrf(a, n);
  } finally {
    setNativeLapack(true);
  }
}

Deno.test({
  name: "native potrf: NaN or ±Infinity in the matrix fail at the WebAssembly path's pivot",
  ignore,
  fn() {
    const n = 300;
    // [label, column, row, value]: OpenBLAS's dpotrf tests ajj <= 0 only and
    // used to report success with a factor full of NaN for the NaN cases
    const cases: [string, number, number, number, number][] = [
      ["NaN on the diagonal", 100, 100, NaN, 100],
      ["NaN below the diagonal", 10, 200, NaN, 200],
      ["Infinity below the diagonal", 10, 200, Infinity, 200],
      ["-Infinity on the diagonal", 100, 100, -Infinity, 100],
      ["NaN in the last pivot", n - 1, n - 1, NaN, n - 1],
      ["Infinity on the diagonal (no failure)", 100, 100, Infinity, -1],
    ];
    for (const [label, j, i, v, expected] of cases) {
      const a = randomSpd(n, 3);
      a[j * n + i] = v;
      const b = a.slice();
      const infoNative = factor(a, n, true), infoWasm = factor(b, n, false);
      assert.equal(infoWasm, expected, `${label}: WebAssembly`);
      assert.equal(infoNative, expected, `${label}: native`);
      if (expected >= 0) {
        assert.ok(
          Object.is(a[expected * n + expected], b[expected * n + expected]),
          `${label}: pivot ${a[expected * n + expected]} vs ${b[expected * n + expected]}`,
        );
      }
    }
  },
});

Deno.test({
  name: "nativeLapack().potrf refuses arguments that would reach outside the array",
  ignore,
  fn() {
    const l = lapack!;
    const a = Float64Array.of(4, 2, 2, 5);
    assert.throws(() => l.potrf(a, 3000, 0, 3000), /needs 9000000 elements; 'a' has 4/);
    assert.throws(() => l.potrf(a, 2, 1, 2), /needs 5 elements; 'a' has 4/);
    assert.throws(() => l.potrf(a, 2, 0, 1), /'lda' must be an integer >= max\(1, n\) = 2, got 1/);
    assert.throws(() => l.potrf(a, NaN, 0, 2), /order n must be an integer/);
    assert.throws(() => l.potrf(a, -1, 0, 2), /order n must be an integer/);
    assert.throws(() => l.potrf(a, 2, -1, 2), /'off' must be a non-negative integer, got -1/);
    assert.throws(() => l.potrf(a, 1.5, 0, 2), /order n must be an integer/);
    assert.throws(
      () => l.potrf([4, 2, 2, 5] as unknown as Float64Array, 2, 0, 2),
      /'a' must be a Float64Array, got object/,
    );
    // nothing was touched, and the valid call still works
    assert.deepEqual([...a], [4, 2, 2, 5]);
    assert.equal(l.potrf(a, 0, 0, 1), -1);
    assert.equal(l.potrf(a, 2, 0, 2), -1);
    assert.deepEqual([a[0], a[1], a[3]], [2, 1, 2]);
  },
});

Deno.test({
  name: "native potrf on a view of a shared WebAssembly memory equals it on a plain array",
  ignore,
  fn() {
    const n = 500;
    const arena = simdArena(n * n + potrfWorkSize(n), true);
    if (!arena) return;
    const src = randomSpd(n, 9);
    const a = arena.alloc(n * n), work = arena.alloc(potrfWorkSize(n));
    a.set(src);
    const plain = src.slice();
    assert.equal(potrf(a, n, 0, n, work, arena.kernels), -1);
    assert.equal(potrf(plain, n), -1);
    for (let i = 0; i < plain.length; i++) {
      if (!Object.is(a[i], plain[i])) throw new Error(`element ${i}: ${a[i]} vs ${plain[i]}`);
    }
  },
});

Deno.test("setNativeLapack takes a boolean only", () => {
  // before: setNativeLapack("false") stored a truthy string and left the native path on
  for (const v of ["false", "off", 0, 1, null, undefined]) {
    assert.throws(
      () => setNativeLapack(v as unknown as boolean),
      /setNativeLapack: expected true or false, got /,
    );
  }
  setNativeLapack(false);
  assert.equal(nativeLapack(), undefined);
  setNativeLapack(true);
  assert.equal(nativeLapack(), lapack);
});

/** Runs a module given on stdin with `deno run <flags> -`, so permissions are exactly `flags`. */
async function run(code: string, flags: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, "-"],
    env: { NO_COLOR: "1", ...env },
    clearEnv: false,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr).trim(),
  };
}

const SCRIPT = `
import { potrf } from "${new URL("../lib/linalg/cholesky.ts", import.meta.url).href}";
import { nativeLapack } from "${new URL("../lib/linalg/native.ts", import.meta.url).href}";
const n = 300;
const a = new Float64Array(n * n);
for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) a[j * n + i] = i === j ? n : 1 / (1 + i + j);
const info = potrf(a, n);
console.log(JSON.stringify({ info, native: nativeLapack()?.library ?? null, l00: a[0] }));
`;

Deno.test("without the FFI permission the WebAssembly kernels run, silently", async () => {
  const r = await run(SCRIPT, []);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), { info: -1, native: null, l00: Math.sqrt(300) });
});

Deno.test("LMER_NATIVE=0 keeps the native Cholesky off", async () => {
  const r = await run(SCRIPT, ["-A"], { LMER_NATIVE: "0" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(JSON.parse(r.stdout).native, null);
});

Deno.test("an unusable LMER_BLAS is reported once and the WebAssembly kernels run", async () => {
  const r = await run(SCRIPT, ["-A"], { LMER_BLAS: "/nonexistent/libnoblas.so" });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { info: -1, native: null, l00: Math.sqrt(300) });
  assert.match(r.stderr, /^LMER_BLAS=\/nonexistent\/libnoblas\.so: cannot use it for the native/);
  assert.match(r.stderr, /using the WebAssembly kernels$/);
  assert.equal(r.stderr.split("\n").length, 1);
});
