/**
 * Figures are reproducible byte for byte: Plot numbers its clip-path (and
 * marker, pattern) ids per process, and a figure renumbers them and prefixes
 * them with a hash of its markup. Rendering the same figure twice gives the
 * same SVG; two different figures on one page share no id; every reference
 * points to an id of its own figure.
 */
import assert from "node:assert/strict";
import { lmer } from "../lib/models/lmer/fit.ts";
import { createData } from "../lib/simulate/mod.ts";
import { Figure, shrinkagePlot } from "../lib/plots/mod.ts";
import { stableIds } from "../lib/plots/figure.ts";
import { Plot } from "../lib/plots/plot.ts";

const ids = (svg: string) => [...svg.matchAll(/\bid="([^"]*)"/g)].map((m) => m[1]);
const refs = (svg: string) => [...svg.matchAll(/(?:url\(#|href="#)([^")]*)/g)].map((m) => m[1]);

const m1 = lmer("y ~ x + (x | cluster)", createData({ nCluster: 20 }));
const m2 = lmer("y ~ x + (x | cluster)", createData({ nCluster: 20, seed: 1 }));

/** A figure whose marks are clipped (Plot gives each clipped mark a clip-path id). */
function clipped(n: number): Figure {
  const data = Array.from({ length: n }, (_, i) => ({ a: i, b: i * i }));
  return new Figure({
    title: `clipped ${n}`,
    panels: [
      { marks: [Plot.dot(data, { x: "a", y: "b", clip: true })] },
      { marks: [Plot.line(data, { x: "a", y: "b", clip: true })], x: { domain: [0, n / 2] } },
    ],
  });
}

Deno.test("the same figure rendered twice is byte-identical SVG", () => {
  const a = shrinkagePlot(m1).toSVG();
  // Another figure in between advances Plot's own id counter.
  shrinkagePlot(m2).toSVG();
  const b = shrinkagePlot(m1).toSVG();
  assert.ok(ids(a).length > 0, "the shrinkage figure has clip-path ids");
  assert.equal(a, b);
  assert.equal(clipped(5).toSVG(), clipped(5).toSVG());
  assert.equal(
    shrinkagePlot(m1, { animate: true }).toSVG(),
    shrinkagePlot(m1, { animate: true }).toSVG(),
  );
});

Deno.test("different figures on one page share no id, and references stay within their figure", () => {
  const svgs = [shrinkagePlot(m1), shrinkagePlot(m2), clipped(5), clipped(6)].map((f) => f.toSVG());
  const seen = new Map<string, number>();
  svgs.forEach((svg, k) => {
    const own = ids(svg);
    assert.ok(own.length > 0, `figure ${k} has ids`);
    assert.equal(new Set(own).size, own.length, `figure ${k}: ids unique within the figure`);
    for (const id of own) {
      assert.ok(!seen.has(id), `id ${id} of figure ${k} also in figure ${seen.get(id)}`);
      seen.set(id, k);
      assert.ok(!/^plot-/.test(id), `Plot's per-process id ${id} left in figure ${k}`);
    }
    for (const r of refs(svg)) assert.ok(own.includes(r), `figure ${k}: #${r} has no element`);
  });
  // A page holding all of them: every id once.
  const page = svgs.join("");
  assert.equal(new Set(ids(page)).size, ids(page).length);
});

Deno.test("stableIds renumbers Plot's ids in order and keeps references pointing at them", () => {
  const markup = '<clipPath id="plot-clip-7"/><g clip-path="url(#plot-clip-7)"/>' +
    '<clipPath id="plot-clip-3"/><use href="#plot-clip-3"/><g class="plot-d6a7b5"/>';
  const out = stableIds(markup);
  const [first, second] = ids(out);
  assert.match(first, /^lmer-[0-9a-z]+-clip-1$/);
  assert.match(second, /^lmer-[0-9a-z]+-clip-2$/);
  assert.deepEqual(refs(out), [first, second]);
  assert.ok(out.includes('class="plot-d6a7b5"'), "class names are not ids");
  // The same markup under other per-process numbers gives the same result.
  assert.equal(
    stableIds(markup.replaceAll("clip-7", "clip-70").replaceAll("clip-3", "clip-30")),
    out,
  );
  assert.equal(stableIds("<g/>"), "<g/>");
});
