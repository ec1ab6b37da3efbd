/**
 * numericLevels (R's factor() of a numeric column): the integer look-up path
 * and the sorted path give what the definition says — distinct values sorted,
 * labelled by as.character, values with equal labels one level — on random
 * inputs with NaN, −0, infinities, huge integers and reals.
 */
import assert from "node:assert/strict";
import { numericLevels, rNumberLabel } from "../lib/data/factor.ts";
import { rng } from "../mod.ts";

/** The definition, directly (Set, sort, Map): slow but plain. */
function reference(values: Float64Array): { levels: string[]; codes: number[] } {
  const distinct = [...new Set(Array.from(values).filter((v) => !Number.isNaN(v)))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  const levels: string[] = [];
  const byLabel = new Map<string, number>();
  const pos = new Map<number, number>();
  for (const v of distinct) {
    const l = rNumberLabel(v);
    if (!byLabel.has(l)) (byLabel.set(l, levels.length), levels.push(l));
    pos.set(v, byLabel.get(l)!);
  }
  return { levels, codes: Array.from(values, (v) => (Number.isNaN(v) ? -1 : pos.get(v)!)) };
}

Deno.test("numericLevels equals the definition on 200 random columns (both paths)", () => {
  const r = rng(2024);
  for (let t = 0; t < 200; t++) {
    const n = 1 + Math.floor(r.runif(1)[0] * 300);
    const u = r.runif(n), kind = t % 5;
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = u[i];
      if (kind === 0) v[i] = Math.floor(x * 40) - 20; // small integers (look-up path)
      else if (kind === 1) v[i] = Math.floor(x * 1e6) * 1e9; // integers far apart (sorted path)
      else if (kind === 2) v[i] = 1e15 - 5 + Math.floor(x * 10); // labels that coincide past 1e15
      else if (kind === 3) v[i] = Math.round(x * 10) / 10 + (x < 0.3 ? 0.1 + 0.2 - 0.3 : 0); // 0.1 + 0.2 vs 0.3
      else v[i] = [NaN, -0, 0, Infinity, -Infinity, 3, 2.5][Math.floor(x * 7)];
    }
    if (n > 3) v[1] = NaN;
    const got = numericLevels(v), want = reference(v);
    assert.deepEqual(got.levels, want.levels, `case ${t} (kind ${kind})`);
    assert.deepEqual(Array.from(got.codes), want.codes, `case ${t} (kind ${kind})`);
  }
});

Deno.test("numericLevels: 2e6 integer ids in R's order, all NaN, empty", () => {
  const n = 2_000_000, v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 1 + ((i * 7919) % 100_000);
  const { levels, codes } = numericLevels(v);
  assert.equal(levels.length, 100_000);
  assert.equal(levels[0], "1");
  assert.equal(levels[99_999], "100000");
  for (let i = 0; i < n; i += 9973) assert.equal(levels[codes[i]], String(v[i]));
  assert.deepEqual(numericLevels(Float64Array.of(NaN, NaN)), {
    levels: [],
    codes: Int32Array.of(-1, -1),
  });
  assert.deepEqual(numericLevels(new Float64Array(0)), { levels: [], codes: new Int32Array(0) });
});
