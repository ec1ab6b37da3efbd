/**
 * Figures of glmer fits (lib/plots): glmerShrinkagePlot's proportions,
 * conditional and population-level predictions against lme4's (fixture
 * tests/fixtures/glmer_plots.R: cbpp, and VerbAgg's items with the subjects'
 * effects kept), the binned residuals and the Poisson dispersion ratio of
 * diagnosticsPlot, caterpillarPlot's modes and intervals from lme4's
 * conditional variances, notebook bundles, byte-identical re-rendering and
 * the errors. cbpp's fit equals lme4's to 1e-14 in θ and β
 * (tests/glmer_test.ts), so its plotted numbers are held to 1e-10 relative
 * (measured: 1e-14 for proportions and bins, 1.4e-13 for the modes and
 * conditional sds); VerbAgg's fit agrees to 3e-5, its items' numbers to 2e-5
 * (measured 1.3e-6).
 */
import assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "../lib/display/bundle.ts";
import { glmer } from "../lib/models/glmer/fit.ts";
import type { GeneralizedLinearMixedModel } from "../lib/models/glmer/model.ts";
import { lmer } from "../lib/models/lmer/fit.ts";
import {
  binnedResiduals,
  caterpillarPlot,
  diagnosticsPlot,
  type Figure,
  glmerShrinkagePlot,
} from "../lib/plots/mod.ts";
import { binCount } from "../lib/plots/diagnostics.ts";
import { assertClose, dataset, fixture } from "./helpers/datasets.ts";

interface Fixture {
  cbpp: {
    herds: string[];
    raw: number[];
    cond: number[];
    pop: number[];
    cells: { herd: string[]; period: string[]; raw: number[]; cond: number[]; pop: number[] };
    period_pop: number[];
    ranef: number[];
    condsd: number[];
    binned: { fitted: number; resid: number; se: number }[];
  };
  cbpp_poisson: { dispersion: number };
  verbagg_item: { items: string[]; raw: number[]; cond: number[]; pop: number[] };
}
const R = fixture<Fixture>("glmer_plots.json");
const TOL = 1e-10;
const TOL_VERBAGG = 2e-5;

const cbppData = dataset("cbpp").data;
const cbpp = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbppData, {
  family: "binomial",
});

interface CellRow {
  level: string;
  by: string;
  w: number;
  raw: number;
  cond: number;
  pop: number;
}

/** The data of the first mark of a panel with the given class name. */
function markData<T>(fig: Figure, panel: number, cls: string): T[] {
  const marks = (fig.panels[panel].marks ?? []) as unknown as {
    className?: string;
    data?: T[];
  }[];
  const mark = marks.find((k) => k?.className === cls);
  assert.ok(mark?.data, `panel ${panel} has a mark '${cls}'`);
  return mark.data;
}

const count = (svg: string, cls: string, tag: string) =>
  (svg.match(new RegExp(`<g[^>]*class="${cls}"[^>]*>([\\s\\S]*?)</g>`))?.[1] ?? "")
    .split(`<${tag}`).length - 1;

Deno.test("glmerShrinkagePlot: cbpp's herd proportions, conditional and population predictions equal lme4's", () => {
  const fig = glmerShrinkagePlot(cbpp, { by: "period" });
  assert.equal(fig.panels.length, 2);
  const pooled = markData<CellRow>(fig, 0, "lmer-raw");
  assert.deepEqual(pooled.map((c) => c.level), R.cbpp.herds);
  pooled.forEach((c, h) => {
    assertClose(c.raw, R.cbpp.raw[h], 1e-14, `herd ${c.level} raw`);
    assertClose(c.cond, R.cbpp.cond[h], TOL, `herd ${c.level} conditional`);
    assertClose(c.pop, R.cbpp.pop[h], TOL, `herd ${c.level} population`);
  });
  // Trials per herd: sum of size.
  const sizes = cbppData.getColumn("size").toArray() as number[];
  const herd = (cbppData.getColumn("herd").toArray() as string[]).map(String);
  for (const c of pooled) {
    const w = sizes.reduce((s, v, i) => s + (herd[i] === c.level ? v : 0), 0);
    assert.equal(c.w, w);
  }
  // Right panel: one cell per row of cbpp (herd × period), and the population curve.
  const split = markData<CellRow>(fig, 1, "lmer-conditional");
  assert.equal(split.length, 56);
  const key = (h: string, p: string) => `${h}/${p}`;
  const rIndex = new Map(R.cbpp.cells.herd.map((h, i) => [key(h, R.cbpp.cells.period[i]), i]));
  for (const c of split) {
    const i = rIndex.get(key(c.level, c.by))!;
    assert.ok(i !== undefined, `cell ${c.level}/${c.by} in R's rows`);
    assertClose(c.raw, R.cbpp.cells.raw[i], 1e-14, `cell ${c.level}/${c.by} raw`, 1e-6);
    assertClose(c.cond, R.cbpp.cells.cond[i], TOL, `cell ${c.level}/${c.by} conditional`);
    assertClose(c.pop, R.cbpp.cells.pop[i], TOL, `cell ${c.level}/${c.by} population`);
  }
  const curve = markData<{ pop: number }>(fig, 1, "lmer-population-curve");
  curve.forEach((c, k) => assertClose(c.pop, R.cbpp.period_pop[k], TOL, `period ${k + 1}`));
  // Shrinkage: every conditional prediction lies between the raw proportion
  // and … not necessarily the population (weights mix), but it moves toward it.
  for (const c of pooled) {
    assert.ok(Math.abs(c.cond - c.pop) < Math.abs(c.raw - c.pop), `herd ${c.level} moved toward`);
  }
  const svg = fig.toSVG();
  assert.equal(count(svg, "lmer-raw", "circle"), 15);
  assert.equal(count(svg, "lmer-population", "path") + count(svg, "lmer-population", "line"), 15);
  assert.ok(fig.caption!.includes("smaller half of the herds"));
  assert.equal(svg, glmerShrinkagePlot(cbpp, { by: "period" }).toSVG(), "byte-identical");
});

Deno.test("glmerShrinkagePlot: VerbAgg's items pulled toward their predictions with the subjects' effects kept (lme4's re.form = ~(1 | id))", () => {
  const va = dataset("VerbAgg").data;
  const m = glmer("r2 ~ (Anger + Gender + btype + situ) + (1 | id) + (1 | item)", va, {
    family: "binomial",
  });
  const fig = glmerShrinkagePlot(m, { group: "item" });
  const rows = markData<CellRow & { pos: number }>(fig, 0, "lmer-raw");
  assert.deepEqual(rows.map((c) => c.level), R.verbagg_item.items);
  rows.forEach((c, k) => {
    assertClose(c.raw, R.verbagg_item.raw[k], 1e-14, `item ${c.level} raw`);
    assertClose(c.cond, R.verbagg_item.cond[k], TOL_VERBAGG, `item ${c.level} conditional`);
    assertClose(c.pop, R.verbagg_item.pop[k], TOL_VERBAGG, `item ${c.level} population`);
  });
  // Every item has 316 answers: items are ranked by raw proportion.
  const byPos = [...rows].sort((a, b) => a.pos - b.pos);
  assert.deepEqual(byPos.map((c) => c.pos), rows.map((_, k) => k + 1));
  for (let k = 1; k < byPos.length; k++) assert.ok(byPos[k].raw >= byPos[k - 1].raw);
  assert.ok(fig.caption!.includes("ranked by raw proportion"));
});

Deno.test("diagnosticsPlot of a binomial glmer fit: binned residuals equal the fixture's, QQ of the modes", () => {
  const fig = diagnosticsPlot(cbpp);
  assert.equal(fig.panels.length, 2);
  assert.equal(binCount(56), 10);
  assert.equal(binCount(7584), 87);
  assert.equal(binCount(8), 4);
  const bins = markData<{ fitted: number; resid: number; se: number; n: number }>(
    fig,
    0,
    "lmer-binned-residuals",
  );
  assert.equal(bins.length, R.cbpp.binned.length);
  bins.forEach((b, k) => {
    const r = R.cbpp.binned[k];
    assertClose(b.fitted, r.fitted, TOL, `bin ${k} fitted`);
    // Residual means are differences of nearby numbers: absolute tolerance.
    assert.ok(Math.abs(b.resid - r.resid) < 1e-12, `bin ${k} residual ${b.resid} vs ${r.resid}`);
    assertClose(b.se, r.se, TOL, `bin ${k} SE`);
  });
  const outside = R.cbpp.binned.filter((b) => Math.abs(b.resid) > 2 * b.se).length;
  assert.ok(fig.caption!.includes(`here ${outside} of 10 outside`), fig.caption);
  const svg = fig.toSVG();
  assert.equal(count(svg, "lmer-binned-residuals", "circle"), 10);
  assert.equal(count(svg, "lmer-qq-ranef", "circle"), 15);
  assert.ok(svg.includes("Binned residuals") && svg.includes("Conditional mode (logit scale)"));
  assert.ok(!svg.includes("Normal QQ: scaled residuals"), "no normal QQ of GLMM residuals");
  // binnedResiduals by hand: two bins of two.
  const small = binnedResiduals([0.2, 0.4, 0.6, 0.8], [0, 1, 1, 1], [1, 1, 1, 1], 2);
  assertClose(small[0].resid, 0.2, 1e-14, "bin 1");
  assertClose(small[1].resid, 0.3, 1e-14, "bin 2");
  assertClose(small[0].se, Math.sqrt(0.2 * 0.8 + 0.4 * 0.6) / 2, 1e-14, "bin 1 SE");
});

Deno.test("diagnosticsPlot of a Poisson glmer fit: Pearson residuals vs fitted, lme4's dispersion ratio", () => {
  const m = glmer("incidence ~ period + offset(log(size)) + (1 | herd)", cbppData, {
    family: "poisson",
  });
  const fig = diagnosticsPlot(m);
  assert.equal(fig.panels.length, 2);
  const pts = markData<{ fitted: number; resid: number }>(fig, 0, "lmer-residuals");
  const pr = m.residuals("pearson");
  assert.deepEqual(pts.map((p) => p.resid), [...pr]);
  const ratio = Number(/Σ r²\/\(n − p\) = ([\d.]+)/.exec(fig.caption!)![1]);
  assertClose(ratio, R.cbpp_poisson.dispersion, 1e-3, "dispersion (4 digits)");
  assert.ok(fig.toSVG().includes("Pearson residuals vs fitted"));
});

Deno.test("caterpillarPlot of a glmer fit: lme4's modes ± 1.96 conditional sds on the logit scale", () => {
  const fig = caterpillarPlot(cbpp);
  const rows = markData<{ level: string; value: number; lo: number; hi: number }>(
    fig,
    0,
    "lmer-modes",
  );
  assert.equal(rows.length, 15);
  for (const r of rows) {
    const h = R.cbpp.herds.indexOf(r.level);
    assertClose(r.value, R.cbpp.ranef[h], TOL, `herd ${r.level} mode`);
    assertClose(r.hi - r.value, 1.96 * R.cbpp.condsd[h], TOL, `herd ${r.level} interval`);
  }
  assert.ok(fig.subtitle!.startsWith("glmer(cbind(incidence, size - incidence) ~ period"));
  assert.ok(fig.caption!.includes("logit (link) scale"));
});

Deno.test("glmer figures display as notebook bundles (text/html <img>, image/png, text/plain)", () => {
  const figs: Figure[] = [
    glmerShrinkagePlot(cbpp),
    glmerShrinkagePlot(cbpp, { by: "period" }),
    caterpillarPlot(cbpp),
    diagnosticsPlot(cbpp),
  ];
  for (const fig of figs) {
    const b = fig[JUPYTER_DISPLAY]();
    assert.deepEqual(Object.keys(b).sort(), ["image/png", "text/html", "text/plain"]);
    assert.match(b["text/html"]!, /^<img src="data:image\/svg\+xml;base64,/);
    assert.ok(!/id="plot-[a-z]+-\d+/.test(fig.toSVG()), "no per-process ids");
  }
});

Deno.test("glmer figures: clear errors for other models and unknown names", () => {
  const sleep = lmer("Reaction ~ Days + (1 | Subject)", dataset("sleepstudy").data);
  assert.throws(
    () => glmerShrinkagePlot(sleep as unknown as GeneralizedLinearMixedModel),
    /glmerShrinkagePlot needs a fitted generalized linear mixed model from glmer\(\); got an lmer\(\) fit \(LinearMixedModel\)\. For an lmer\(\) fit use shrinkagePlot/,
  );
  assert.throws(
    () => glmerShrinkagePlot(cbpp, { group: "farm" }),
    /glmerShrinkagePlot: 'farm' is not a grouping factor of the model .* \(its grouping factors: 'herd'\)/,
  );
  assert.throws(
    () => glmerShrinkagePlot(cbpp, { by: "season" }),
    /by 'season' is not a column of the model's data \(columns: herd, incidence, size, period\)/,
  );
  // A numeric column with many values is not a factor to split by.
  const many = {
    y: Array.from({ length: 80 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0),
    x: Array.from({ length: 80 }, (_, i) => i),
    g: Array.from({ length: 80 }, (_, i) => `g${i % 8}`),
  };
  const mm = glmer("y ~ 1 + (1 | g)", many, { family: "binomial" });
  assert.throws(
    () => glmerShrinkagePlot(mm, { by: "x" }),
    /glmerShrinkagePlot: by 'x' has 80 distinct values; give a factor with at most 30 levels/,
  );
  assert.throws(
    () => caterpillarPlot(cbpp, { group: "farm" }),
    /caterpillarPlot: 'farm' is not a grouping factor/,
  );
  assert.throws(
    () => caterpillarPlot("m" as never),
    /caterpillarPlot needs a fitted mixed model from lmer\(\) or glmer\(\); got a string/,
  );
});
