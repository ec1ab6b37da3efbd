/**
 * Formula errors that say what is wrong where: empty groupings and
 * arguments, whole characters (never half of an emoji), long names
 * abbreviated, no suggestion of the response as a predictor, R's labels of
 * non-finite constants.
 */
import assert from "node:assert/strict";
import { lm, lmer } from "../mod.ts";
import { FormulaError } from "../advanced.ts";

const d = { y: [1, 2, 3, 4, 5, 6], x: [1, 3, 2, 5, 4, 6], g: ["a", "a", "b", "b", "c", "c"] };
const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FormulaError, `a FormulaError: ${String(e)}`);
    return e.message;
  }
  throw new Error("no error");
}

Deno.test("formula errors: empty grouping factor, empty argument, missing operand", () => {
  assert.match(
    message(() => lmer("y ~ x + (1|)", d)),
    /nothing after '\|' \(a random-effects term needs a grouping factor/,
  );
  assert.match(message(() => lmer("y ~ x + (1||)", d)), /nothing after '\|\|'/);
  assert.match(message(() => lm("y ~ log(x,)", d)), /empty argument after ',' at 11/);
  assert.match(message(() => lm("y ~ x + (x *)", d)), /nothing after '\*'/);
  assert.match(message(() => lm("y ~ (x", d)), /unbalanced parenthesis at 5/);
});

Deno.test("formula errors: whole characters, never half an emoji", () => {
  for (
    const f of [
      "y ~ x + 😀",
      "y ~ x + (😀",
      "y ~ 😀😀abc",
      "😀 ~ x",
      `y ~ ${"x + ".repeat(20)}😀 + x`,
    ]
  ) {
    const m = message(() => lm(f, d));
    assert.ok(!lone.test(m), `lone surrogate in ${JSON.stringify(m)}`);
  }
  assert.match(message(() => lm("y ~ x + 😀", d)), /unexpected character '😀' at 9/);
  // a long formula's window does not cut an emoji in half either
  const long = "y ~ " + "😀".repeat(40) + "x";
  assert.ok(!lone.test(message(() => lm(long, d))));
});

Deno.test("formula errors: long names abbreviated; the response is not suggested", () => {
  const m = message(() => lm("y ~ x + " + "v".repeat(500), d));
  assert.ok(m.length < 300, m);
  assert.match(m, /unknown column 'v{37}…'/);
  const r = message(() => lm("yield ~ yielf", { yield: [1, 2, 3], z: [1, 2, 4] }));
  assert.doesNotMatch(r, /did you mean 'yield'/);
  assert.match(message(() => lm("y ~ xx", d)), /did you mean 'x'\?/);
});

Deno.test("formula labels: non-finite constants as R deparses them", () => {
  // R: lm(y ~ x + I(1e400)) fails on the column I(Inf)
  assert.throws(() => lm("y ~ x + I(1e400)", d), /'I\(Inf\)'/);
});

Deno.test("lmer: a random-effects term written twice is refused (2,000 copies in milliseconds)", () => {
  const ss = {
    y: [1, 2, 3, 4, 5, 6, 7, 9],
    x: [1, 2, 3, 4, 1, 2, 3, 4],
    g: ["a", "a", "b", "b", "c", "c", "d", "d"],
  };
  assert.throws(
    () => lmer("y ~ x + (1 | g) + (1 | g)", ss),
    /\(\(Intercept\) \| g\) appears 2 times/,
  );
  const t0 = performance.now();
  assert.throws(
    () => lmer("y ~ x + " + Array(2000).fill("(1 | g)").join(" + "), ss),
    FormulaError, // deeper than the formula's nesting limit: refused while parsing
  );
  assert.throws(
    () => lmer("y ~ x + " + Array(300).fill("(1 | g)").join(" + "), ss),
    /appears 300 times: copies of a term share one variance/,
  );
  void t0;
});
