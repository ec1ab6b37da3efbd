/**
 * Review of rng's rbinom / rpois (and the shared argument checks of rnorm,
 * runif) from a notebook user's side: what a wrong argument's message says,
 * requests too large to allocate, and that a refused call leaves the stream
 * where it was.
 */
import assert from "node:assert/strict";
import { rng } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const loose = (r: ReturnType<typeof rng>) => r as any;

Deno.test("rbinom/rpois/rnorm/runif: a string where a number belongs is named as a string", () => {
  const r = loose(rng(1));
  // before: "... got 3" and "element 1 is 0.5", as if they were numbers
  assert.throws(() => r.rbinom("3", 10, 0.5), /invalid 'n' argument: .* got a string \("3"\)$/);
  assert.throws(() => r.rpois("3", 1), /got a string \("3"\)$/);
  assert.throws(() => r.rnorm("3"), /got a string \("3"\)$/);
  assert.throws(
    () => r.rbinom(3, "10", 0.5),
    /'size' must be a number or an array of numbers, got a string \("10"\)$/,
  );
  assert.throws(
    () => r.rbinom(3, 10, ["0.5"]),
    /'prob' must contain numbers: element 1 is a string \("0.5"\)$/,
  );
  assert.throws(
    () => r.rpois(3, 3n),
    /'lambda' must be a number or an array of numbers, got bigint$/,
  );
  assert.throws(() => r.rpois(3, [1, , 3]), /element 2 is undefined$/);
  assert.throws(() => r.runif(2, "0", 1), /'min' must be a finite number, got a string \("0"\)$/);
});

Deno.test("rbinom/rpois/rnorm/runif: more draws than memory holds is a clear error", () => {
  const r = rng(1);
  for (
    const f of [() => r.rpois(2 ** 40, 1), () => r.rbinom(2 ** 40, 1, 0.5), () => r.rnorm(2 ** 40)]
  ) {
    // before: V8's "Array buffer allocation failed" / "Invalid typed array length"
    assert.throws(f, /cannot allocate 1099511627776 draws \(8192 GiB\)/);
  }
});

Deno.test("rbinom with a size >= 2^31 - 1 refuses before drawing: the stream is unchanged", () => {
  const a = rng(5), b = rng(5);
  assert.throws(
    () => a.rbinom(4, [10, 20, 3e9], 0.5),
    /size 3000000000 >= 2147483647 is not supported/,
  );
  // the pair (size 3e9, prob 0.5) first comes at the 6th draw (sizes and probs recycled)
  assert.throws(() => a.rbinom(6, [1, 3e9], [0, 1, 0.5]), /size 3000000000 >= 2147483647/);
  assert.deepEqual(Array.from(a.runif(3)), Array.from(b.runif(3)));
  // a huge size with prob 0 or 1 draws nothing and is fine, as in R
  assert.deepEqual(Array.from(a.rbinom(2, 3e9, [0, 1])), [0, 3e9]);
  assert.deepEqual(Array.from(a.runif(1)), Array.from(b.runif(1)));
});
