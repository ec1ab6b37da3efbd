/**
 * Figures (lib/plots): notebook bundles, SVG structure (marks match the
 * data, axis labels, xmlns), PNGs with text actually drawn, one rendering in
 * headless Chromium, and clear errors for unsupported models and unknown
 * names.
 */
import assert from "node:assert/strict";
import { parseHTML } from "../lib/plots/plot.ts";
import { JUPYTER_DISPLAY } from "../lib/display/bundle.ts";
import { lm } from "../lib/models/lm.ts";
import { lmer } from "../lib/models/lmer/fit.ts";
import { clusterTrial, createData } from "../lib/simulate/mod.ts";
import {
  caterpillarPlot,
  diagnosticsPlot,
  Figure,
  poolingPlot,
  shrinkagePlot,
  weightPlot,
} from "../lib/plots/mod.ts";
import { Plot } from "../lib/plots/plot.ts";
import { dataset } from "./helpers/datasets.ts";
import { darkPixels, decodePng, nonWhitePixels } from "./helpers/png.ts";
import { findChromium, screenshot } from "./helpers/chromium.ts";

// ---- models shared by the tests (fitted once) -------------------------------

const clark = lmer("y ~ x + (x | cluster)", createData());
const unbalanced = lmer(
  "y ~ x + (x | cluster)",
  createData({ balanced: 0.5, sdInt: 0.5, sdSlope: 0.5, sigma: 0.25 }),
);
const trial = clusterTrial({ seed: 824523 });
const trialLm = lm("dependent ~ predictor", trial);
const trialLmer = lmer("dependent ~ predictor + (1 | cluster)", trial);
const ss = dataset("sleepstudy").data;
const sleep = lmer("Reaction ~ Days + (Days | Subject)", ss);

interface El {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(sel: string): ArrayLike<El>;
  querySelector(sel: string): El | null;
}

/** Parse an SVG string into a queryable element (linkedom). */
function parseSvg(svg: string): El {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${svg}</body></html>`) as unknown as {
    document: { querySelector(s: string): El | null };
  };
  const root = document.querySelector("svg");
  assert.ok(root, "the markup holds an <svg>");
  return root;
}

const count = (root: El, sel: string) => root.querySelectorAll(sel).length;
const texts = (root: El) => Array.from(root.querySelectorAll("text"), (t) => t.textContent ?? "");

function assertBundle(fig: Figure): void {
  const b = fig[JUPYTER_DISPLAY]();
  assert.deepEqual(Object.keys(b).sort(), ["image/png", "text/html", "text/plain"]);
  const svg = fig.toSVG();
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), "standalone SVG has xmlns");
  // text/html: an <img> of the SVG (sanitizers keep it; they strip inline <svg>).
  const html = b["text/html"]!;
  const m = /^<img src="data:image\/svg\+xml;base64,([^"]+)" width="(\d+)" height="(\d+)"/.exec(
    html,
  );
  assert.ok(m, "text/html is an <img> of the SVG");
  const bytes = Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0));
  assert.equal(new TextDecoder().decode(bytes), svg, "the <img> holds the figure's SVG");
  assert.ok(!html.replace(/<script>[^<]*<\/script>$/, "").includes("<svg"), "no inline SVG");
  // image/png: the (still) figure at 1 px per SVG unit.
  const png = Uint8Array.from(atob(b["image/png"]!), (c) => c.charCodeAt(0));
  assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71], "PNG signature");
  const view = new DataView(png.buffer);
  assert.deepEqual([view.getUint32(16), view.getUint32(20)], [Number(m[2]), Number(m[3])]);
  assert.ok(!/<script/i.test(svg), "no scripts");
  assert.ok(!svg.includes("<style"), "no <style> (sanitizers strip it; the SVG must not need it)");
  assert.ok(b["text/plain"].length > 20 && !b["text/plain"].includes("<"));
  assert.equal(svg, fig.toSVG());
  // Well-formed XML: resvg's parser would reject anything else; check tags balance here.
  const open = (svg.match(/<[a-zA-Z][^>]*[^/]>/g) ?? []).length;
  const close = (svg.match(/<\/[a-zA-Z]+>/g) ?? []).length;
  assert.equal(open, close, "every element is closed");
}

// ---- bundles ----------------------------------------------------------------

Deno.test("every figure displays as text/html (an <img> of the SVG), image/png and text/plain", () => {
  for (
    const fig of [
      shrinkagePlot(clark),
      shrinkagePlot(clark, { animate: true }),
      poolingPlot(trialLm, trialLmer, { x: "predictor", group: "cluster" }),
      poolingPlot(trialLm, trialLmer, { x: "predictor", group: "cluster", points: true }),
      weightPlot(trialLmer),
      caterpillarPlot(sleep),
      diagnosticsPlot(clark),
      diagnosticsPlot(trialLm),
    ]
  ) assertBundle(fig);
});

// ---- shrinkage --------------------------------------------------------------

Deno.test("shrinkagePlot: a dot per cluster for each fit, arrows, the black hole, labels", () => {
  const fig = shrinkagePlot(clark);
  const svg = parseSvg(fig.toSVG());
  assert.equal(count(svg, "g.lmer-ols circle"), 100);
  assert.equal(count(svg, "g.lmer-mixed circle"), 100);
  assert.equal(count(svg, "g.lmer-shrinkage path"), 100);
  const t = texts(svg);
  for (const label of ["Intercept", "Slope of x", "Per-cluster OLS fit (no pooling)"]) {
    assert.ok(t.includes(label), `text '${label}' present`);
  }
  assert.ok(fig.caption!.includes("100 clusters of 10 observations"));
  // By default the window holds every cluster, before and after pooling.
  const coefs = clark.coefTables().cluster.values;
  const [xd, yd] = [fig.options.x, fig.options.y].map((s) => (s as { domain: number[] }).domain);
  for (const [a, b] of coefs) {
    assert.ok(a > xd[0] && a < xd[1] && b > yd[0] && b < yd[1], "every mixed estimate inside");
  }
  assert.ok(!fig.caption!.includes("clipped"));
  // zoom: true is the population average ± 3 estimated SDs.
  const zoomed = shrinkagePlot(clark, { zoom: true });
  assert.ok(zoomed.caption!.includes("± 3 SD of the random effects"));
  const vc = clark.varCorrTerms()[0];
  const fe = clark.fixef();
  const x = zoomed.options.x as { domain: number[] };
  assert.ok(Math.abs(x.domain[1] - (fe["(Intercept)"] + 3 * Math.sqrt(vc.cov[0][0]))) < 1e-12);
  // Arrows are drawn over the points and stop at the edge of the mixed-model point.
  const marks = fig.toSVG().match(/class="lmer-[a-z-]+"/g)!;
  assert.ok(marks.lastIndexOf('class="lmer-shrinkage"') > marks.indexOf('class="lmer-mixed"'));
});

Deno.test("shrinkagePlot: per-cluster OLS equals lm within each cluster", () => {
  const fig = shrinkagePlot(clark, { zoom: false });
  const svg = parseSvg(fig.toSVG());
  // Tooltips carry the numbers: check cluster 1 against lm on its rows.
  const title = Array.from(svg.querySelectorAll("g.lmer-ols circle title"), (e) => e.textContent)
    .find((s) => s?.startsWith("cluster 1 "));
  assert.ok(title);
  const df = createData();
  const cl = df.getColumn("cluster").toArray() as number[];
  const ys = df.getColumn("y").toArray() as number[], xs = df.getColumn("x").toArray() as number[];
  const keep = cl.map((c, i) => (c === 1 ? i : -1)).filter((i) => i >= 0);
  const c = lm("y ~ x", { y: keep.map((i) => ys[i]), x: keep.map((i) => xs[i]) }).coef();
  const [a, b] = title!.split("\n")[1].replace("OLS: ", "").split(", ").map((s) =>
    Number(s.replace("−", "-"))
  );
  assert.ok(Math.abs(a - c["(Intercept)"]!) < 1e-3 * Math.max(1, Math.abs(a)));
  assert.ok(Math.abs(b - c.x!) < 1e-3 * Math.max(1, Math.abs(b)));
});

Deno.test("shrinkagePlot: point size is cluster size in unbalanced data", () => {
  const fig = shrinkagePlot(unbalanced);
  const radii = new Set(
    Array.from(
      parseSvg(fig.toSVG()).querySelectorAll("g.lmer-mixed circle"),
      (c) => c.getAttribute("r"),
    ),
  );
  assert.ok(radii.size > 3, "radii vary with n");
  assert.match(fig.caption!, /Point area ∝ cluster size \(n = \d+ to \d+\)/);
  const balanced = parseSvg(shrinkagePlot(clark).toSVG());
  assert.equal(
    new Set(
      Array.from(balanced.querySelectorAll("g.lmer-mixed circle"), (c) => c.getAttribute("r")),
    )
      .size,
    1,
  );
});

Deno.test("shrinkagePlot: animate gives SMIL movement, no scripts, and a still PNG", async () => {
  const fig = shrinkagePlot(clark, { animate: true, duration: 4 });
  const svg = fig.toSVG();
  const root = parseSvg(svg);
  assert.equal(count(root, "g.lmer-moving circle"), 100);
  assert.equal(count(root, "g.lmer-moving circle animate"), 300, "cx, cy and fill per cluster");
  assert.equal(count(root, "g.lmer-traces line animate"), 200);
  assert.ok(svg.includes('dur="4s"') && svg.includes('repeatCount="indefinite"'));
  assert.ok(!/<script/i.test(svg));
  assert.ok(fig.animated);
  const png = decodePng(await fig.toPNG({ scale: 1 }));
  assert.ok(nonWhitePixels(png) > 5000);
});

Deno.test("shrinkagePlot: zoom with given SDs reproduces Clark's fixed window", () => {
  const fig = shrinkagePlot(clark, { zoom: { intercept: 0.5, slope: 0.25 } });
  const fe = clark.fixef();
  assert.deepEqual((fig.options.y as { domain: number[] }).domain, [
    fe.x - 0.75,
    fe.x + 0.75,
  ]);
  assert.match(fig.caption!, /given SD 0\.5 for the intercept, 0\.25 for the slope/);
});

// ---- pooling ----------------------------------------------------------------

Deno.test("poolingPlot: a black and a red crossbar per cluster, lm solid, lmer dashed", () => {
  const fig = poolingPlot(trialLm, trialLmer, { x: "predictor", group: "cluster" });
  const svg = parseSvg(fig.toSVG());
  assert.equal(count(svg, "g.lmer-observed-means line"), 8);
  assert.equal(count(svg, "g.lmer-pooled-means line"), 8);
  assert.equal(count(svg, "g.lmer-line-solid path"), 1);
  assert.equal(count(svg, "g.lmer-line-dashed path"), 1);
  const observed = svg.querySelector("g.lmer-observed-means");
  const pooled = svg.querySelector("g.lmer-pooled-means");
  assert.equal(observed!.getAttribute("stroke"), "black");
  assert.equal(pooled!.getAttribute("stroke"), "#e31a1c");
  const t = texts(svg);
  for (const label of ["control", "intervention", "predictor", "dependent"]) {
    assert.ok(t.includes(label), `text '${label}' present`);
  }
  // The answer's table: cluster 5 (n = 2) moves most, by 0.2208.
  assert.match(fig.caption!, /largest move is cluster 5 \(n = 2\): 0\.221/);
  // The lm line passes through the arm means 1.5898 and 4.5526 (at x = 1 and 2).
  const lmMark = fig.options.marks!.find((m) =>
    (m as { className?: string }).className === "lmer-line-solid"
  );
  assert.ok(lmMark);
});

Deno.test("poolingPlot: points adds the observations before and after, and the shifted lm", () => {
  const fig = poolingPlot(trialLm, trialLmer, {
    x: "predictor",
    group: "cluster",
    points: true,
  });
  const svg = parseSvg(fig.toSVG());
  assert.equal(count(svg, "g.lmer-observed-points circle"), 64);
  assert.equal(count(svg, "g.lmer-pooled-points circle"), 64);
  assert.equal(count(svg, "g.lmer-line-dashed path"), 2, "lmer and the refitted lm");
  const before = svg.querySelector("g.lmer-observed-points");
  const after = svg.querySelector("g.lmer-pooled-points");
  assert.ok(Number(before!.getAttribute("fill-opacity")) < 1, "before: transparent");
  assert.equal(after!.getAttribute("fill-opacity"), null, "after: opaque");
  // Coloured by cluster: 8 fills.
  const fills = new Set(
    Array.from(svg.querySelectorAll("g.lmer-pooled-points circle"), (c) => c.getAttribute("fill")),
  );
  assert.equal(fills.size, 8);
  assert.ok(texts(svg).includes("cluster 5"), "cluster colours in the legend");
});

// ---- weights, caterpillar, diagnostics ---------------------------------------

Deno.test("weightPlot: the weight curve, one dot per cluster size, components in the caption", () => {
  const fig = weightPlot(trialLmer, { multipliers: [0.25, 4] });
  const svg = parseSvg(fig.toSVG());
  assert.equal(count(svg, "g.lmer-weight-clusters circle"), 2, "sizes 2 and 10");
  assert.equal(count(svg, "g.lmer-weight-curve path"), 1);
  assert.equal(count(svg, "g.lmer-weight-alternative path"), 2);
  const vc = trialLmer.varCorrRows();
  const s2a = vc[0].vcov, s2 = trialLmer.sigma ** 2;
  assert.ok(fig.caption!.includes(`σ_a² = ${Number(s2a.toPrecision(4))}`));
  assert.ok(fig.caption!.includes(`σ² = ${Number(s2.toPrecision(4))}`));
  const w2 = 2 * s2a / (2 * s2a + s2);
  const tip = Array.from(
    svg.querySelectorAll("g.lmer-weight-clusters circle title"),
    (t) => t.textContent ?? "",
  )[0];
  assert.ok(tip.startsWith(`n = 2: weight ${Number(w2.toPrecision(4))}`), tip);
  assert.ok(texts(svg).some((t) => t.startsWith("Cluster size n_j")));
});

Deno.test("caterpillarPlot: a mode and a ±1.96 condSd interval per level, a panel per term", () => {
  const fig = caterpillarPlot(sleep);
  assert.equal(fig.panels.length, 2);
  const svg = parseSvg(fig.toSVG());
  assert.equal(count(svg, "g.lmer-modes circle"), 36);
  assert.equal(count(svg, "g.lmer-intervals path"), 36);
  const tab = sleep.ranefTables().Subject;
  const l = tab.levels.indexOf("308");
  const v = tab.values[l][0], sd = tab.condSd[l][0];
  const tip = Array.from(svg.querySelectorAll("g.lmer-modes circle title"), (t) => t.textContent)
    .find((s) => s?.startsWith("Subject 308:"))!;
  const nums = tip.replace("Subject 308:", "").match(/[−-]?[\d.]+/g)!.map((s) =>
    Number(s.replace("−", "-"))
  );
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.abs(b);
  assert.ok(close(nums[0], v) && close(nums[1], v - 1.96 * sd) && close(nums[2], v + 1.96 * sd));
  const t = texts(svg);
  assert.ok(t.includes("(Intercept)") && t.includes("Days") && t.includes("308"));
  // Many levels: ranks instead of names.
  const many = parseSvg(caterpillarPlot(clark).toSVG());
  assert.equal(count(many, "g.lmer-modes circle"), 200);
});

Deno.test("diagnosticsPlot: residuals vs fitted and QQ plots for lmer and lm", () => {
  const fig = diagnosticsPlot(clark);
  assert.equal(fig.panels.length, 4);
  const svg = parseSvg(fig.toSVG());
  assert.equal(count(svg, "g.lmer-residuals circle"), 1000);
  assert.equal(count(svg, "g.lmer-qq-residuals circle"), 1000);
  assert.equal(count(svg, "g.lmer-qq-ranef circle"), 200);
  assert.equal(count(svg, "g.lmer-qqline path"), 3);
  const t = texts(svg);
  for (const label of ["Fitted value", "Residual", "Theoretical normal quantile"]) {
    assert.ok(t.includes(label), `text '${label}' present`);
  }
  const lmFig = diagnosticsPlot(lm("Reaction ~ Days", ss));
  assert.equal(lmFig.panels.length, 2);
  assert.equal(count(parseSvg(lmFig.toSVG()), "g.lmer-residuals circle"), 180);
});

// ---- PNG --------------------------------------------------------------------

Deno.test("PNG: text is drawn (title, axis labels and caption regions are not blank)", async () => {
  // Text alone: if no font were found, resvg would draw nothing at all.
  const textOnly = new Figure({
    title: "Only text here",
    caption: "A caption line",
    panels: [{ width: 200, height: 40, axis: null, marks: [] }],
  });
  const t = decodePng(await textOnly.toPNG({ scale: 1 }));
  assert.ok(darkPixels(t) > 300, `text pixels drawn: ${darkPixels(t)}`);

  const fig = poolingPlot(trialLm, trialLmer, { x: "predictor", group: "cluster" });
  const bytes = await fig.toPNG();
  assert.deepEqual([...bytes.subarray(1, 4)], [80, 78, 71]);
  const img = decodePng(bytes);
  const svg = parseSvg(fig.toSVG());
  const scale = img.width / Number(svg.getAttribute("width"));
  assert.equal(scale, 2);
  // Title: the first 40 SVG pixels from the top, left half.
  assert.ok(darkPixels(img, 0, 0, img.width / 2, 40 * scale) > 500, "title drawn");
  // Caption: the last 60 SVG pixels.
  assert.ok(darkPixels(img, 0, img.height - 60 * scale, img.width, img.height) > 500, "caption");
  // x tick labels: a band above the axis label, below the plot (around "control").
  assert.ok(nonWhitePixels(img) > 0.02 * img.width * img.height);
});

Deno.test("PNG: a missing font is an error, not a figure without labels", async () => {
  const fig = new Figure({ panels: [{ marks: [Plot.ruleY([0])] }] });
  await assert.rejects(
    () => fig.toPNG({ fontFiles: [] }),
    /no font for the labels.*fonts-dejavu-core/,
  );
});

// ---- restyling and saving ---------------------------------------------------

Deno.test("Figure.with adds marks and merges Plot options; save writes svg, png, html", async () => {
  const fig = shrinkagePlot(clark);
  const more = fig.with({
    title: "Restyled",
    options: { width: 500, y: { label: "slope" } },
    marks: [Plot.text([{ x: 1, y: 0.5 }], { x: "x", y: "y", text: () => "note", className: "my" })],
  });
  assert.equal(more.title, "Restyled");
  assert.equal(more.options.width, 500);
  const y = more.options.y as { label: string; domain: number[] };
  assert.equal(y.label, "slope");
  assert.deepEqual(y.domain, (fig.options.y as { domain: number[] }).domain, "domain kept");
  const svg = parseSvg(more.toSVG());
  assert.equal(count(svg, "g.my text"), 1);
  assert.ok(texts(svg).includes("Restyled"));
  assert.equal(fig.options.marks!.length + 1, more.options.marks!.length, "original unchanged");

  const dir = await Deno.makeTempDir();
  try {
    await fig.save(`${dir}/f.svg`);
    await fig.save(`${dir}/f.png`, { scale: 1 });
    await fig.save(`${dir}/f.html`);
    assert.ok((await Deno.readTextFile(`${dir}/f.svg`)).startsWith("<svg xmlns"));
    assert.ok(decodePng(await Deno.readFile(`${dir}/f.png`)).width > 600);
    assert.ok((await Deno.readTextFile(`${dir}/f.html`)).includes("<svg xmlns"));
    await assert.rejects(() => fig.save(`${dir}/f.pdf`), /use a \.svg, \.png or \.html/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- bad input ----------------------------------------------------------------

Deno.test("bad input: unsupported models and unknown names give clear messages", () => {
  assert.throws(
    () => shrinkagePlot(trialLm as never),
    /shrinkagePlot needs a fitted mixed model from lmer\(\); got an lm\(\) fit/,
  );
  assert.throws(
    () => caterpillarPlot({} as never),
    /caterpillarPlot needs a fitted mixed model.*got an object/,
  );
  assert.throws(
    () => diagnosticsPlot(42 as never),
    /diagnosticsPlot needs a fitted model from lm\(\), lmer\(\) or glmer\(\); got a number/,
  );
  assert.throws(
    () => weightPlot(clark),
    /weightPlot is for random-intercept models.*\(\(Intercept\) \+ x \| cluster\)/,
  );
  assert.throws(
    () => caterpillarPlot(clark, { group: "school" }),
    /'school' is not a grouping factor of the model y ~ x \+ \(x \| cluster\) \(its grouping factors: 'cluster'\)/,
  );
  assert.throws(
    () => shrinkagePlot(clark, { group: "school" }),
    /'school' is not a grouping factor/,
  );
  assert.throws(
    () => shrinkagePlot(clark, { slope: "z" }),
    /'z' is not a slope of the model's fixed effects \(choices: x\)/,
  );
  assert.throws(
    () => shrinkagePlot(trialLmer),
    /'predictorintervention' does not vary within any level of 'cluster'/,
  );
  assert.throws(
    () => poolingPlot(trialLm, trialLmer, { x: "arm", group: "cluster" }),
    /x 'arm' is not a column of the model's data \(columns: dependent, predictor, cluster\)/,
  );
  assert.throws(
    () => poolingPlot(trialLm, trialLmer, { x: "predictor", group: "site" }),
    /group 'site' is neither a grouping factor of the model \(cluster\) nor a column/,
  );
  assert.throws(
    () => poolingPlot(trialLmer as never, trialLmer, { x: "predictor" }),
    /poolingPlot \(first argument\) needs a fitted linear model from lm\(\); got an lmer\(\) fit/,
  );
  assert.throws(
    () => poolingPlot(lm("Reaction ~ Days", ss), trialLmer, { x: "predictor" }),
    /fit both to the same data/,
  );
});

// ---- headless Chromium ----------------------------------------------------------

const chromium = findChromium();
if (!chromium) {
  console.warn(
    "plots_test: skipping the headless Chromium test: no chromium found " +
      "(Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome)",
  );
}

Deno.test({
  name: "Chromium renders the inline-SVG HTML of a figure (screenshot not blank)",
  ignore: !chromium,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const fig = poolingPlot(trialLm, trialLmer, { x: "predictor", group: "cluster" });
      await fig.save(`${dir}/fig.html`);
      const shot = `${dir}/shot.png`;
      await screenshot(chromium!, `file://${dir}/fig.html`, shot, {
        width: 700,
        height: 900,
        profileDir: `${dir}/profile`,
      });
      const img = decodePng(await Deno.readFile(shot));
      assert.equal(img.width, 700);
      // The figure fills most of the page: lines, bars and text are drawn.
      const nonWhite = nonWhitePixels(img);
      assert.ok(nonWhite > 0.02 * img.width * img.height, `non-white pixels: ${nonWhite}`);
      assert.ok(darkPixels(img, 0, 0, 700, 45) > 300, "the title is drawn");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
