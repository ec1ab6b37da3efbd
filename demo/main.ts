/**
 * `deno task demo`: reproduce the worked examples the library was built
 * from, print the results as R would, and write out/: demo.txt (the printed
 * results), figures/ (every figure as SVG and PNG, Clark's also as animated
 * SVG) and notebooks/ (HTML exports of the notebooks, when nbconvert is
 * installed). Running it twice on unchanged code writes the same bytes.
 *
 * - Cross Validated question "Mixed models of lme4 and nlme giving too much
 *   weight for small clusters" (https://stats.stackexchange.com/q/630190):
 *   the question's three scenarios from its R seeds, lm against lmer, the
 *   answer's shrinkage table, emmeans; and the closed form of partial pooling
 *   from the questions https://stats.stackexchange.com/q/637869 ("Why does
 *   Partial Pooling occur in Mixed Effects Regressions?") and
 *   https://stats.stackexchange.com/q/142209.
 * - Michael Clark, "Shrinkage in Mixed Effects Models" (2019,
 *   https://m-clark.github.io/posts/2019-05-14-shrinkage-in-mixed-models/):
 *   create_data() and lmer(y ~ x + (x | cluster)) for the post's six settings.
 * - lme4's cbpp GLMM, glmer(cbind(incidence, size - incidence) ~ period +
 *   (1 | herd), family = binomial): its figures (partial pooling on the
 *   probability scale, caterpillar, binned residuals).
 */
import {
  caterpillarPlot,
  clusterTrial,
  createData,
  type CreateDataOptions,
  dataset,
  diagnosticsPlot,
  emmeans,
  type Figure,
  glmer,
  JUPYTER_DISPLAY,
  lm,
  lmer,
  partialPoolingParts,
  poolingPlot,
  poolingTable,
  shrinkagePlot,
  weightPlot,
} from "../mod.ts";
import { glmerShrinkagePlot } from "../advanced.ts";
import { findPython } from "../tools/python.ts";

const OUT = new URL("../out/", import.meta.url);
await Deno.mkdir(new URL("figures/", OUT), { recursive: true });

const out: string[] = [];
const say = (s = "") => {
  console.log(s);
  out.push(s);
};
const rule = (title: string) => say(`\n${"=".repeat(78)}\n${title}\n${"=".repeat(78)}`);
/** A table as R prints a data.frame (the text/plain of its notebook display). */
const tableText = (t: object) =>
  (t as Record<symbol, () => { "text/plain": string }>)[JUPYTER_DISPLAY]()["text/plain"];

const figures: string[] = [];
/** Write a figure as SVG and PNG into out/figures/. */
let pngProblem = "";
async function saveFigure(fig: Figure, name: string): Promise<void> {
  await fig.save(new URL(`figures/${name}.svg`, OUT));
  // PNG needs a font for the labels (Debian: fonts-dejavu-core): without one,
  // keep going with the SVGs and say why once.
  try {
    if (!pngProblem) await fig.save(new URL(`figures/${name}.png`, OUT));
  } catch (e) {
    pngProblem = (e as Error).message;
    console.warn(`PNG figures skipped: ${pngProblem}`);
  }
  figures.push(name);
}

const scenarios = [
  {
    name: "scenario 1: set.seed(824523), sizes 2,10,10,10 | 2,10,10,10, sd 3, effect 5",
    opts: { seed: 824523 },
  },
  {
    name: "scenario 2: set.seed(1324523), sizes 2,10,10,10 | 2,10,10,100, sd 3, effect 5",
    opts: { seed: 1324523, clusterSizes: [2, 10, 10, 10, 2, 10, 10, 100] },
  },
  {
    name: "scenario 3: set.seed(1324523), sizes 2,10,10,10 | 2,10,10,10, sd 1, effect 1",
    opts: { seed: 1324523, sdCluster: 1, effect: 1 },
  },
];

const SMALL_CLUSTERS = "https://stats.stackexchange.com/q/630190";
rule(`Why does lme4 seem biased toward small clusters? (${SMALL_CLUSTERS})`);
for (const [k, s] of scenarios.entries()) {
  say(`\n--- ${s.name} ---`);
  const df = clusterTrial(s.opts);
  const linear = lm("dependent ~ predictor", df);
  say(
    String(linear.summary()).replace(
      "lm(formula = dependent ~ predictor)",
      "lm(formula = dependent ~ predictor, data = df)",
    ),
  );
  const mmodel = lmer("dependent ~ predictor + (1 | cluster)", df, { dataName: "df" });
  say(String(mmodel.summary()));
  say("Per-cluster shrinkage (the answer's table):");
  say(tableText(poolingTable(linear, mmodel)));
  say("\nemmeans(linear, ~predictor):");
  say(tableText(emmeans(linear, "predictor")));
  say("\nemmeans(mmodel, ~predictor)  (Kenward-Roger df):");
  say(tableText(emmeans(mmodel, "predictor")));
  const pp = partialPoolingParts(mmodel);
  const diff = Math.max(
    ...pp.weightedAverage.map((v, j) => Math.abs(v - pp.conditionalMode[j])),
  );
  say(
    `\nClosed form (precision-weighted average) vs conditional modes: max |diff| = ${
      diff.toExponential(2)
    }`,
  );
  await saveFigure(
    poolingPlot(linear, mmodel, { x: "predictor", group: "cluster", points: k === 2 }),
    `seed003-scenario${k + 1}-pooling`,
  );
  await saveFigure(
    weightPlot(mmodel, { multipliers: [0.25, 4] }),
    `seed003-scenario${k + 1}-weights`,
  );
}

const settings: [string, CreateDataOptions][] = [
  ["default: create_data()", {}],
  ["create_data(sd_int = 1, sd_slope = 1)", { sdInt: 1, sdSlope: 1 }],
  ["create_data(sd_int = .25, sd_slope = 1)", { sdInt: 0.25, sdSlope: 1 }],
  ["create_data(obs_per_cluster = 3)", { obsPerCluster: 3 }],
  ["create_data(obs_per_cluster = 100)", { obsPerCluster: 100 }],
  ["create_data(balanced = .5, sd_int = .5, sd_slope = .5, sigma = .25)", {
    balanced: 0.5,
    sdInt: 0.5,
    sdSlope: 0.5,
    sigma: 0.25,
  }],
];
rule(
  "Clark (2019), Shrinkage in Mixed Effects Models " +
    "(https://m-clark.github.io/posts/2019-05-14-shrinkage-in-mixed-models/)",
);
// Each figure shows every cluster (the default window); the post's fixed
// window is shrinkagePlot(mod, { zoom: { intercept: 0.5, slope: 0.25 } }).
for (const [k, [name, opts]] of settings.entries()) {
  say(`\n--- ${name} ---`);
  const df = createData(opts);
  const mod = lmer("y ~ x + (x | cluster)", df, { dataName: "df" });
  say(String(mod.summary()));
  await saveFigure(shrinkagePlot(mod), `clark-setting${k + 1}-shrinkage`);
  await Deno.writeTextFile(
    new URL(`figures/clark-setting${k + 1}-shrinkage-animated.svg`, OUT),
    shrinkagePlot(mod, { animate: true }).toSVG(),
  );
  if (k === 0) {
    await saveFigure(caterpillarPlot(mod), "clark-default-caterpillar");
    await saveFigure(diagnosticsPlot(mod), "clark-default-diagnostics");
  }
}

rule("lme4's cbpp: a binomial GLMM (glmer)");
{
  const gm = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", dataset("cbpp"), {
    family: "binomial",
    dataName: "cbpp",
  });
  say(String(gm.summary()));
  await saveFigure(glmerShrinkagePlot(gm, { by: "period" }), "cbpp-herd-shrinkage");
  await saveFigure(caterpillarPlot(gm), "cbpp-caterpillar");
  await saveFigure(diagnosticsPlot(gm), "cbpp-diagnostics");
}

// HTML exports of the notebooks (from their committed outputs).
const python = findPython(["nbconvert"]);
if (python) {
  const root = new URL("../", import.meta.url);
  const nbs = [...Deno.readDirSync(new URL("notebooks/", root))]
    .map((e) => e.name).filter((n) => n.endsWith(".ipynb")).sort();
  const res = await new Deno.Command(python, {
    args: [
      "-m",
      "nbconvert",
      "--to",
      "html",
      "--output-dir",
      new URL("notebooks/", OUT).pathname,
      ...nbs.map((n) => `notebooks/${n}`),
    ],
    cwd: root,
    stdout: "null",
    stderr: "null",
  }).output();
  say(
    res.success ? `\nwrote out/notebooks/*.html (${nbs.length} notebooks)` : "\nnbconvert failed",
  );
} else {
  say("\n(no Python with nbconvert found: no HTML export of the notebooks)");
}

await Deno.writeTextFile(new URL("demo.txt", OUT), out.join("\n") + "\n");
console.log(
  `\nwrote out/demo.txt and ${figures.length} figures (SVG${
    pngProblem ? "" : " + PNG"
  }) in out/figures/`,
);
