/// <reference lib="dom" />
/**
 * No two text labels of a figure overlap: every figure the demo makes
 * (demo/main.ts: the three seed-003 scenarios' pooling and weight plots,
 * Clark's six settings' shrinkage plots, still and animated, the caterpillar
 * and diagnostics plots; cbpp's glmer figures, and those of VerbAgg in
 * notebook 04) is laid out by Chromium, which measures each
 * `<text>`'s box (getBoundingClientRect, after every transform) in the fonts
 * a reader's browser uses (DejaVu Sans here); boxes may not overlap, and
 * labels side by side on one line keep 3 px apart.
 * Also checks that the weight plot's multiplier labels and the pooling
 * legend are told apart. Needs chromium (.ci/run installs it); skipped with
 * a message otherwise.
 */
import assert from "node:assert/strict";
import { findChromium } from "./helpers/chromium.ts";
import {
  caterpillarPlot,
  clusterTrial,
  createData,
  type CreateDataOptions,
  dataset,
  diagnosticsPlot,
  type Figure,
  glmer,
  lm,
  lmer,
  poolingPlot,
  shrinkagePlot,
  weightPlot,
} from "../mod.ts";
import { glmerShrinkagePlot } from "../advanced.ts";

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn("figure_layout_test: skipped (needs chromium)");

/** The demo's figures, by name. */
function demoFigures(): [string, Figure][] {
  const out: [string, Figure][] = [];
  const scenarios = [
    { seed: 824523 },
    { seed: 1324523, clusterSizes: [2, 10, 10, 10, 2, 10, 10, 100] },
    { seed: 1324523, sdCluster: 1, effect: 1 },
  ];
  scenarios.forEach((opts, k) => {
    const df = clusterTrial(opts);
    const linear = lm("dependent ~ predictor", df);
    const mmodel = lmer("dependent ~ predictor + (1 | cluster)", df);
    out.push([
      `scenario ${k + 1} pooling`,
      poolingPlot(linear, mmodel, { x: "predictor", group: "cluster", points: k === 2 }),
    ]);
    out.push([`scenario ${k + 1} weights`, weightPlot(mmodel, { multipliers: [0.25, 4] })]);
  });
  const settings: CreateDataOptions[] = [
    {},
    { sdInt: 1, sdSlope: 1 },
    { sdInt: 0.25, sdSlope: 1 },
    { obsPerCluster: 3 },
    { obsPerCluster: 100 },
    { balanced: 0.5, sdInt: 0.5, sdSlope: 0.5, sigma: 0.25 },
  ];
  settings.forEach((opts, k) => {
    const mod = lmer("y ~ x + (x | cluster)", createData(opts));
    out.push([`Clark setting ${k + 1} shrinkage`, shrinkagePlot(mod)]);
    out.push([`Clark setting ${k + 1} animated`, shrinkagePlot(mod, { animate: true })]);
    out.push([
      `Clark setting ${k + 1} in Clark's window`,
      shrinkagePlot(mod, { zoom: { intercept: 0.5, slope: 0.25 } }),
    ]);
    if (k === 0) {
      out.push(["Clark caterpillar", caterpillarPlot(mod)]);
      out.push(["Clark caterpillar, narrow", caterpillarPlot(mod, { panelWidth: 180 })]);
      out.push(["Clark diagnostics", diagnosticsPlot(mod)]);
    }
  });
  const cbpp = dataset("cbpp");
  const gm = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, {
    family: "binomial",
  });
  out.push(["cbpp herd shrinkage", glmerShrinkagePlot(gm)]);
  out.push(["cbpp herd shrinkage by period", glmerShrinkagePlot(gm, { by: "period" })]);
  out.push(["cbpp caterpillar", caterpillarPlot(gm)]);
  out.push(["cbpp diagnostics", diagnosticsPlot(gm)]);
  const pois = glmer("incidence ~ period + offset(log(size)) + (1 | herd)", cbpp, {
    family: "poisson",
  });
  out.push(["cbpp Poisson diagnostics", diagnosticsPlot(pois)]);
  const va = glmer(
    "r2 ~ (Anger + Gender + btype + situ) + (1 | id) + (1 | item)",
    dataset("VerbAgg"),
    {
      family: "binomial",
    },
  );
  out.push(["VerbAgg subject shrinkage", glmerShrinkagePlot(va)]);
  out.push(["VerbAgg item shrinkage", glmerShrinkagePlot(va, { group: "item" })]);
  out.push(["VerbAgg item caterpillar", caterpillarPlot(va, { group: "item" })]);
  out.push(["VerbAgg diagnostics", diagnosticsPlot(va)]);
  return out;
}

interface Box {
  text: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

Deno.test({
  name: "no two text labels overlap in any figure the demo makes (Chromium's text metrics)",
  ignore: !CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const figures = demoFigures();
    const { default: puppeteer } = await import("npm:puppeteer-core@25.16.0");
    const profile = await Deno.makeTempDir({ prefix: "deno-lmer-layout-" });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM!,
      headless: true,
      userDataDir: profile,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    const problems: string[] = [];
    try {
      const page = await browser.newPage();
      for (const [name, fig] of figures) {
        await page.setContent(
          `<!DOCTYPE html><html><body style="margin:0">${fig.toSVG()}</body></html>`,
        );
        const boxes: Box[] = await page.evaluate(() =>
          [...document.querySelectorAll("svg text")].flatMap((t) => {
            const r = t.getBoundingClientRect();
            const text = (t.textContent ?? "").trim();
            return text && r.width > 0
              ? [{ text, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom }]
              : [];
          })
        );
        assert.ok(boxes.length > 5, `${name}: only ${boxes.length} labels measured`);
        // A glyph box includes the font's ascent and descent: lines of text
        // set 15 px apart at 12 px have boxes that overlap by ~1 px. Overlap
        // counts when it exceeds 1.5 px both ways; labels side by side on
        // one line (such as tick labels of adjacent panels) need a 3 px gap.
        const tol = 1.5, gap = 3;
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], b = boxes[j];
            const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
            const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
            if (h > tol && w > (h > 6 ? -gap : tol)) {
              problems.push(
                `${name}: "${a.text}" and "${b.text}" overlap by ${w.toFixed(1)} × ${
                  h.toFixed(1)
                } px`,
              );
            }
          }
        }
      }
    } finally {
      await browser.close();
      await Deno.remove(profile, { recursive: true });
    }
    assert.deepEqual(problems, [], problems.join("\n"));
  },
});

Deno.test("pooling legend: the lines and the cluster means have different colours", () => {
  const df = clusterTrial({ seed: 824523 });
  const fig = poolingPlot(
    lm("dependent ~ predictor", df),
    lmer("dependent ~ predictor + (1 | cluster)", df),
    { x: "predictor", group: "cluster" },
  );
  const colour = (label: string) => fig.legend.find((l) => l.label.startsWith(label))!.color;
  const means = [colour("Observed cluster mean"), colour("Partially pooled")];
  for (const line of [colour("lm (complete pooling)"), colour("lmer fixed effects")]) {
    assert.ok(!means.includes(line), `a line drawn in a cluster mean's colour ${line}`);
  }
});

Deno.test("caterpillar: the PNG's caption does not ask to hover (a PNG has none)", async () => {
  const mod = lmer("y ~ x + (x | cluster)", createData());
  const fig = caterpillarPlot(mod);
  assert.match(fig.caption!, /hover/);
  const { decodePng } = await import("./helpers/png.ts");
  const png = decodePng(await fig.toPNG({ scale: 1 }));
  assert.ok(png.width > 100);
  // The still caption is the one rasterized: render both captions and compare sizes of text.
  const svgNoHover = fig.with({ caption: fig.caption!.replace(/: hover.*$/, ".") });
  const same = decodePng(await svgNoHover.toPNG({ scale: 1 }));
  assert.deepEqual(png.rgba, same.rgba, "the PNG shows the caption without 'hover'");
});
